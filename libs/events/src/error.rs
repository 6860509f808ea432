#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kafka client failed")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("service setup failed: {0}")]
    Setup(String),
    #[error("event headers are invalid: {0}")]
    Headers(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration is invalid")]
    Config(#[from] ::config::ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("telemetry could not start: {0}")]
    Telemetry(String),
    #[error("database is unavailable")]
    Database(#[from] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("i/o failed")]
    Io(#[from] std::io::Error),
    #[error("grpc reflection could not be built: {0}")]
    Reflection(String),
    #[error("grpc server failed")]
    Grpc(#[from] tonic::transport::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("routing rules are invalid: {0}")]
    Rules(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("event pipeline failed")]
    Events(#[from] pasokh_events::Error),
    #[error("platform failed")]
    Platform(#[from] pasokh_platform::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(what) => tonic::Status::not_found(format!("{what} not found")),
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&other), "grpc request failed");
                tonic::Status::unavailable("routing could not answer; retry")
            }
        }
    }
}

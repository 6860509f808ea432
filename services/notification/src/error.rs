use pasokh_platform::error_code::{ErrorCode, HasErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("event pipeline failed")]
    Events(#[from] pasokh_events::Error),
    #[error("platform failed")]
    Platform(#[from] pasokh_platform::Error),
    #[error("configuration is invalid: {0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Database(_) | Error::Events(_) | Error::Platform(_) | Error::Config(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        let code = error.error_code();
        match error {
            Error::NotFound(_) => code.status(error.to_string()),
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&other), "grpc request failed");
                code.status("notification could not answer; retry")
            }
        }
    }
}

use pasokh_domain::FieldError;
use pasokh_platform::auth::AuthError;
use pasokh_platform::error_code::{ErrorCode, HasErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("event pipeline failed")]
    Events(#[from] pasokh_events::Error),
    #[error("platform failed")]
    Platform(#[from] pasokh_platform::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Error::Invalid(error)
    }
}

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Invalid(_) => ErrorCode::ValidationFailed,
            Error::Auth(auth) => auth.error_code(),
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::Config(_) | Error::Database(_) | Error::Events(_) | Error::Platform(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        let code = error.error_code();
        match &error {
            Error::Config(_) | Error::Database(_) | Error::Events(_) | Error::Platform(_) => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&error), "grpc request failed");
                tonic::Status::new(code.grpc_code(), "reporting could not answer; retry")
            }
            Error::Invalid(field) => {
                tonic::Status::new(code.grpc_code(), format!("{}: {} ({})", field.field, field.message, field.code))
            }
            other => tonic::Status::new(code.grpc_code(), other.to_string()),
        }
    }
}

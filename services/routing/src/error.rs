use pasokh_domain::{FieldError, InvalidTransition};
use pasokh_platform::auth::AuthError;
use pasokh_platform::error_code::{ErrorCode, HasErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("routing rules are invalid: {0}")]
    Rules(String),
    #[error("holidays are invalid: {0}")]
    Holidays(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{field}: {message}")]
    Invalid { field: &'static str, code: &'static str, message: String },
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    #[error("{0}")]
    Refused(String),
    /// the officer acted on an older version of the case than the one stored
    #[error("the case changed: version {current}, the command expected {expected}")]
    VersionConflict { expected: u64, current: u64 },
    #[error("unauthenticated: {0}")]
    Unauthenticated(#[from] AuthError),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("intake could not answer")]
    Intake(#[source] tonic::Status),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("event pipeline failed")]
    Events(#[from] pasokh_events::Error),
    #[error("platform failed")]
    Platform(#[from] pasokh_platform::Error),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, code, message: message.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Invalid { .. } => ErrorCode::ValidationFailed,
            Error::Transition(_) | Error::Refused(_) => ErrorCode::Conflict,
            Error::VersionConflict { .. } => ErrorCode::VersionConflict,
            Error::Unauthenticated(reason) => reason.error_code(),
            Error::Forbidden(_) => ErrorCode::Forbidden,
            // routing's own failures and its peers' are worth a retry: the command was not applied
            Error::Rules(_)
            | Error::Holidays(_)
            | Error::Config(_)
            | Error::Intake(_)
            | Error::Database(_)
            | Error::Events(_)
            | Error::Platform(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        use tonic_types::{ErrorDetails, StatusExt};
        let code = error.error_code();
        match error {
            Error::Invalid { field, code: field_code, message } => {
                pasokh_platform::error_code::invalid_fields(&[FieldError::new(field, field_code, message)])
            }
            Error::VersionConflict { expected, current } => {
                let mut details = ErrorDetails::new();
                details.set_error_info(
                    code.as_str(),
                    pasokh_platform::error_code::ERROR_INFO_DOMAIN,
                    std::collections::HashMap::from([("current_version".to_owned(), current.to_string())]),
                );
                tonic::Status::with_error_details(
                    code.grpc_code(),
                    format!("{}: the case is at version {current}, not {expected}; read it again", code.as_str()),
                    details,
                )
            }
            Error::Unauthenticated(reason) => reason.into(),
            Error::NotFound(_) | Error::Transition(_) | Error::Refused(_) | Error::Forbidden(_) => {
                code.status(error.to_string())
            }
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&other), "grpc request failed");
                code.status("routing could not answer; retry")
            }
        }
    }
}

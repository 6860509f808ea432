use pasokh_domain::InvalidTransition;
use pasokh_platform::auth::AuthError;

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

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        use tonic_types::{ErrorDetails, StatusExt};
        match error {
            Error::NotFound(what) => tonic::Status::not_found(format!("{what} not found")),
            Error::Invalid { field, code, message } => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(field, format!("{code}: {message}"));
                details.set_error_info(
                    "validation_failed",
                    "pasokh.mcls.gov.ir",
                    std::collections::HashMap::from([(field.to_owned(), code.to_owned())]),
                );
                tonic::Status::with_error_details(tonic::Code::InvalidArgument, format!("{field}: {message}"), details)
            }
            Error::Transition(invalid) => tonic::Status::failed_precondition(invalid.to_string()),
            Error::Refused(reason) => tonic::Status::failed_precondition(reason),
            Error::VersionConflict { expected, current } => {
                let mut details = ErrorDetails::new();
                details.set_error_info(
                    "version_conflict",
                    "pasokh.mcls.gov.ir",
                    std::collections::HashMap::from([("current_version".to_owned(), current.to_string())]),
                );
                tonic::Status::with_error_details(
                    tonic::Code::Aborted,
                    format!("version_conflict: the case is at version {current}, not {expected}; read it again"),
                    details,
                )
            }
            Error::Unauthenticated(reason) => reason.into(),
            Error::Forbidden(reason) => tonic::Status::permission_denied(reason),
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&other), "grpc request failed");
                tonic::Status::unavailable("routing could not answer; retry")
            }
        }
    }
}

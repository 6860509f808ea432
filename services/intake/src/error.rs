use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pasokh_domain::ValidationErrors;
use pasokh_platform::error_code::ErrorCode;
use pasokh_platform::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Validation(#[from] ValidationErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("not authenticated: {0}")]
    Unauthenticated(pasokh_platform::auth::AuthError),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("request body refused: {1}")]
    BodyRejected(u16, String),
    #[error("too many requests: {1}")]
    RateLimited(std::time::Duration, &'static str),
    #[error("too many petitions are waiting to be written")]
    Overloaded,
    #[error("{0}")]
    Unavailable(String),
    /// The connection failed while the batch was being committed: it may or may not be stored.
    /// Retrying with the same `Idempotency-Key` is safe either way; without one it may file twice.
    #[error("the petition store failed while committing; whether it was saved is unknown")]
    OutcomeUnknown,
    #[error("the Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("event pipeline failed")]
    Events(#[from] pasokh_events::Error),
    #[error("platform failed")]
    Platform(#[from] pasokh_platform::Error),
    #[error("configuration is invalid: {0}")]
    Config(String),
}

/// A refused token, by the shared error code: the provider down, a caller not allowed, or no valid token.
impl From<pasokh_platform::auth::AuthError> for Error {
    fn from(error: pasokh_platform::auth::AuthError) -> Self {
        use pasokh_platform::error_code::ErrorCode;
        match error.code() {
            ErrorCode::Unavailable => Error::Unavailable(error.to_string()),
            ErrorCode::Forbidden => Error::Forbidden(error.to_string()),
            _ => Error::Unauthenticated(error),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let problem = match self {
            Error::Validation(errors) => Problem::validation(errors),
            Error::NotFound(what) => Problem::not_found(what),
            Error::UnsupportedMediaType => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the request body as application/json",
            ),
            Error::MalformedJson(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "malformed_json", "the request body is not valid JSON")
                    .with_detail(detail)
            }
            Error::Unauthenticated(reason) => {
                let code = ErrorCode::Unauthenticated;
                let mut response = Problem::new(code.http_status(), code.as_str(), "a valid bearer token is required")
                    .with_detail(reason.to_string())
                    .into_response();
                response
                    .headers_mut()
                    .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
                return response;
            }
            Error::Forbidden(detail) => {
                let code = ErrorCode::Forbidden;
                Problem::new(code.http_status(), code.as_str(), "this token may not do this").with_detail(detail)
            }
            Error::Conflict(code, detail) => Problem::new(StatusCode::CONFLICT, code, detail),
            Error::BodyRejected(413, detail) => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is too large")
                    .with_detail(detail)
            }
            Error::BodyRejected(_, detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "malformed_body", "the request body could not be read")
                    .with_detail(detail)
            }
            Error::RateLimited(wait, what) => return crate::http::limits::too_many(wait, what),
            Error::Overloaded => {
                let mut response = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "intake is at capacity; nothing was saved, please retry shortly",
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
                return response;
            }
            Error::Unavailable(detail) => Problem::unavailable(detail),
            Error::OutcomeUnknown => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "outcome_unknown",
                "the petition store failed while saving; it may or may not be saved",
            )
            .with_detail("retry with the same Idempotency-Key: you get the original answer if it was saved"),
            Error::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            ),
            Error::Database(error) if is_unavailable(&error) => {
                tracing::warn!(%error, "database unavailable");
                Problem::unavailable("the petition store is unavailable; nothing was saved, please retry")
            }
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&other), "request failed");
                Problem::internal()
            }
        };
        problem.into_response()
    }
}

fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed)
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Validation(errors) => {
                use tonic_types::{ErrorDetails, StatusExt};
                let mut details = ErrorDetails::new();
                for error in &errors.errors {
                    details
                        .add_bad_request_violation(error.field.clone(), format!("{}: {}", error.code, error.message));
                }
                let codes: std::collections::HashMap<String, String> =
                    errors.errors.iter().map(|e| (e.field.clone(), e.code.to_owned())).collect();
                details.set_error_info("validation_failed", "pasokh.mcls.gov.ir", codes);
                tonic::Status::with_error_details(
                    tonic::Code::InvalidArgument,
                    format!("{} invalid field(s)", errors.errors.len()),
                    details,
                )
            }
            Error::NotFound(what) => tonic::Status::not_found(format!("{what} not found")),
            Error::Unauthenticated(reason) => reason.into(),
            Error::Forbidden(reason) => ErrorCode::Forbidden.status(reason),
            Error::Conflict(_, reason) => ErrorCode::Conflict.status(reason),
            Error::Overloaded => tonic::Status::resource_exhausted("intake is at capacity; retry shortly"),
            Error::RateLimited(_, what) => tonic::Status::resource_exhausted(what),
            Error::Unavailable(detail) => tonic::Status::unavailable(detail),
            Error::OutcomeUnknown => tonic::Status::unavailable(
                "outcome unknown: the store failed while committing; retry with the same idempotency key",
            ),
            Error::IdempotencyKeyReused => {
                tonic::Status::already_exists("this idempotency key was already used with a different request")
            }
            Error::Database(ref e) if is_unavailable(e) => tonic::Status::unavailable("database unavailable"),
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&other), "grpc request failed");
                tonic::Status::internal("internal error")
            }
        }
    }
}

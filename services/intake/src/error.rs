use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pasokh_domain::ValidationErrors;
use pasokh_platform::error_code::{ErrorCode, HasErrorCode};
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
    /// the petition's or event's state refuses this; the code says which state
    #[error("{1}")]
    Conflict(ErrorCode, String),
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
        match error.code() {
            ErrorCode::Unavailable => Error::Unavailable(error.to_string()),
            ErrorCode::Forbidden => Error::Forbidden(error.to_string()),
            _ => Error::Unauthenticated(error),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::ValidationFailed,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Error::MalformedJson(_) => ErrorCode::MalformedJson,
            Error::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::Conflict(code, _) => *code,
            Error::BodyRejected(413, _) => ErrorCode::BodyTooLarge,
            Error::BodyRejected(..) => ErrorCode::MalformedBody,
            Error::RateLimited(..) => ErrorCode::RateLimited,
            Error::Overloaded => ErrorCode::Overloaded,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::OutcomeUnknown => ErrorCode::OutcomeUnknown,
            Error::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Error::Database(error) if is_unavailable(error) => ErrorCode::Unavailable,
            Error::Database(_) | Error::Events(_) | Error::Platform(_) | Error::Config(_) => ErrorCode::Internal,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.error_code();
        let problem = match self {
            Error::Validation(errors) => Problem::validation(errors),
            Error::NotFound(what) => Problem::not_found(what),
            Error::MalformedJson(detail) | Error::BodyRejected(_, detail) | Error::Forbidden(detail) => {
                Problem::of(code).with_detail(detail)
            }
            Error::Unauthenticated(reason) => {
                let mut response = Problem::of(code).with_detail(reason.to_string()).into_response();
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            Error::Conflict(_, detail) => Problem::new(code, detail),
            Error::RateLimited(wait, what) => return crate::http::limits::too_many(wait, what),
            Error::Overloaded => {
                let mut response = Problem::of(code).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
            Error::Unavailable(detail) => Problem::unavailable(detail),
            Error::OutcomeUnknown => Problem::of(code)
                .with_detail("retry with the same Idempotency-Key: you get the original answer if it was saved"),
            Error::Database(error) if code == ErrorCode::Unavailable => {
                tracing::warn!(%error, "database unavailable");
                Problem::unavailable("the petition store is unavailable; nothing was saved, please retry")
            }
            Error::UnsupportedMediaType | Error::IdempotencyKeyReused => Problem::of(code),
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&other), "request failed");
                Problem::of(code)
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
        let code = error.error_code();
        match error {
            Error::Validation(errors) => pasokh_platform::error_code::invalid_fields(&errors.errors),
            Error::Unauthenticated(reason) => reason.into(),
            Error::OutcomeUnknown => {
                code.status(format!("{}: {}; retry with the same idempotency key", code.as_str(), code.title()))
            }
            Error::Database(_) | Error::Events(_) | Error::Platform(_) | Error::Config(_)
                if code == ErrorCode::Internal =>
            {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&error), "grpc request failed");
                code.status(code.title())
            }
            other => code.status(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pasokh_domain::FieldError;

    fn every_kind() -> Vec<Error> {
        vec![
            Error::Validation(ValidationErrors { errors: vec![FieldError::new("mobile", "mobile_format", "bad")] }),
            Error::NotFound("petition"),
            Error::UnsupportedMediaType,
            Error::MalformedJson("expected value".into()),
            Error::Unauthenticated(pasokh_platform::auth::AuthError::Expired),
            Error::Forbidden("a desk operator may not".into()),
            Error::Conflict(ErrorCode::AlreadyRated, "already rated".into()),
            Error::Conflict(ErrorCode::DeskEventClosed, "closed".into()),
            Error::BodyRejected(413, "over 64 KiB".into()),
            Error::BodyRejected(400, "connection reset".into()),
            Error::RateLimited(std::time::Duration::from_secs(3), "too many for this mobile"),
            Error::Overloaded,
            Error::Unavailable("routing is down".into()),
            Error::OutcomeUnknown,
            Error::IdempotencyKeyReused,
            Error::Database(sqlx::Error::PoolTimedOut),
            Error::Database(sqlx::Error::RowNotFound),
            Error::Config("bad".into()),
        ]
    }

    /// Before the one table, a malformed body was 400 over HTTP and INTERNAL over gRPC.
    #[tokio::test]
    async fn http_and_grpc_answers_both_come_from_the_errors_row_of_the_table() {
        for (for_http, for_grpc) in every_kind().into_iter().zip(every_kind()) {
            let code = for_http.error_code();
            let response = for_http.into_response();
            assert_eq!(response.status(), code.http_status(), "{code:?} over HTTP");
            let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
            let problem: serde_json::Value = serde_json::from_slice(&body).expect("problem+json");
            assert_eq!(problem["code"], code.as_str(), "{code:?}: problem code");
            assert_eq!(problem["status"], code.http_status().as_u16(), "{code:?}: problem status");
            let status = tonic::Status::from(for_grpc);
            assert_eq!(status.code(), code.grpc_code(), "{code:?} over gRPC");
            use tonic_types::StatusExt;
            let reason = status.get_error_details().error_info().map(|info| info.reason.clone());
            assert_eq!(reason.as_deref(), Some(code.as_str()), "{code:?}: gRPC's ErrorInfo names the problem code");
        }
    }

    #[test]
    fn a_lost_database_is_unavailable_and_a_bug_is_internal() {
        assert_eq!(Error::Database(sqlx::Error::PoolTimedOut).error_code(), ErrorCode::Unavailable);
        assert_eq!(Error::Database(sqlx::Error::RowNotFound).error_code(), ErrorCode::Internal);
        assert_eq!(Error::BodyRejected(413, String::new()).error_code(), ErrorCode::BodyTooLarge);
    }
}

//! The one table of error codes (quickwit's `ServiceErrorCode` pattern): each
//! code maps once onto an HTTP status, a gRPC code, the problem+json `code`
//! and a title, so HTTP and gRPC callers see the same failure the same way.
//! Every service's error type says which code it is ([`HasErrorCode`]); the
//! HTTP and gRPC conversions read the table and never pick a status of their own.
use axum::http::StatusCode;

/// The domain of every `google.rpc.ErrorInfo` our gRPC errors carry.
pub const ERROR_INFO_DOMAIN: &str = "pasokh.mcls.gov.ir";

/// A failure's stable name: the problem+json `code` is the variant's name in snake_case
/// (`ValidationFailed` is `validation_failed`); the rest of its row is in [`ErrorCode::row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    ValidationFailed,
    MalformedJson,
    MalformedBody,
    BodyTooLarge,
    UnsupportedMediaType,
    Unauthenticated,
    Forbidden,
    NotFound,
    /// the resource's state does not allow this (a routed case cannot be closed)
    Conflict,
    /// the caller acted on an older version than the one stored; read again
    VersionConflict,
    ReplyNotRequested,
    RatingNotOpen,
    AlreadyRated,
    DeskEventClosed,
    IdempotencyKeyReused,
    RateLimited,
    /// the service is at capacity; nothing was done
    Overloaded,
    /// the request took longer than its budget; nothing is known to be done
    Timeout,
    /// the store failed while committing: the write may or may not be durable
    OutcomeUnknown,
    /// a dependency (database, identity provider, another service) is unreachable
    Unavailable,
    /// the identity provider refused or failed a sign-in
    ProviderFailed,
    Internal,
}

/// One row of the table.
struct Row {
    http: StatusCode,
    grpc: tonic::Code,
    title: &'static str,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = <ErrorCode as strum::VariantArray>::VARIANTS;

    fn row(self) -> Row {
        use tonic::Code as G;
        let (http, grpc, title) = match self {
            ErrorCode::ValidationFailed => {
                (StatusCode::BAD_REQUEST, G::InvalidArgument, "the request has invalid fields")
            }
            ErrorCode::MalformedJson => {
                (StatusCode::BAD_REQUEST, G::InvalidArgument, "the request body is not valid JSON")
            }
            ErrorCode::MalformedBody => {
                (StatusCode::BAD_REQUEST, G::InvalidArgument, "the request body could not be read")
            }
            ErrorCode::BodyTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, G::InvalidArgument, "the request body is too large")
            }
            ErrorCode::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, G::InvalidArgument, "send the request body as application/json")
            }
            ErrorCode::Unauthenticated => {
                (StatusCode::UNAUTHORIZED, G::Unauthenticated, "a valid bearer token is required")
            }
            ErrorCode::Forbidden => (StatusCode::FORBIDDEN, G::PermissionDenied, "this token may not do this"),
            ErrorCode::NotFound => (StatusCode::NOT_FOUND, G::NotFound, "not found"),
            ErrorCode::Conflict => {
                (StatusCode::CONFLICT, G::FailedPrecondition, "the current state does not allow this")
            }
            ErrorCode::VersionConflict => {
                (StatusCode::CONFLICT, G::Aborted, "it changed since you read it; read it again")
            }
            ErrorCode::ReplyNotRequested => {
                (StatusCode::CONFLICT, G::FailedPrecondition, "the unit has not asked for information")
            }
            ErrorCode::RatingNotOpen => {
                (StatusCode::CONFLICT, G::FailedPrecondition, "there is no response to rate yet")
            }
            ErrorCode::AlreadyRated => (StatusCode::CONFLICT, G::FailedPrecondition, "this response was already rated"),
            ErrorCode::DeskEventClosed => (StatusCode::CONFLICT, G::FailedPrecondition, "this desk event is not open"),
            // gRPC's ALREADY_EXISTS is the documented answer for a reused key (docs/api/errors.md)
            ErrorCode::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                G::AlreadyExists,
                "this Idempotency-Key was already used with a different request",
            ),
            ErrorCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, G::ResourceExhausted, "too many requests"),
            ErrorCode::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                G::ResourceExhausted,
                "the service is at capacity; nothing was saved, please retry shortly",
            ),
            ErrorCode::Timeout => {
                (StatusCode::SERVICE_UNAVAILABLE, G::DeadlineExceeded, "the request took too long; retry")
            }
            ErrorCode::OutcomeUnknown => (
                StatusCode::SERVICE_UNAVAILABLE,
                G::Unavailable,
                "the store failed while saving; it may or may not be saved",
            ),
            ErrorCode::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, G::Unavailable, "the service is temporarily unavailable")
            }
            ErrorCode::ProviderFailed => {
                (StatusCode::BAD_GATEWAY, G::Unavailable, "the identity provider failed the sign-in")
            }
            ErrorCode::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, G::Internal, "the service failed; the request was not applied")
            }
        };
        Row { http, grpc, title }
    }

    pub fn http_status(self) -> StatusCode {
        self.row().http
    }

    pub fn grpc_code(self) -> tonic::Code {
        self.row().grpc
    }

    /// The problem+json `code` (and the last segment of its `type` URI).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The problem+json `title`: for people, and free to change.
    pub fn title(self) -> &'static str {
        self.row().title
    }

    /// A gRPC status of this code, carrying the problem code as `google.rpc.ErrorInfo.reason`:
    /// a gRPC client switches on the same stable code an HTTP client reads from the problem.
    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt};
        let details = ErrorDetails::with_error_info(self.as_str(), ERROR_INFO_DOMAIN, std::collections::HashMap::new());
        tonic::Status::with_error_details(self.grpc_code(), message, details)
    }
}

/// `INVALID_ARGUMENT` for invalid fields, as every service answers it over gRPC: a `BadRequest`
/// violation per field (`code: message`), and the `ErrorInfo` of `validation_failed` whose metadata
/// maps each field to its code, so a client finds "which field, which rule" without parsing text.
pub fn invalid_fields(errors: &[pasokh_domain::FieldError]) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    let code = ErrorCode::ValidationFailed;
    let mut details = ErrorDetails::new();
    for error in errors {
        details.add_bad_request_violation(error.field.clone(), format!("{}: {}", error.code, error.message));
    }
    let codes: std::collections::HashMap<String, String> =
        errors.iter().map(|e| (e.field.clone(), e.code.to_owned())).collect();
    details.set_error_info(code.as_str(), ERROR_INFO_DOMAIN, codes);
    let message = match errors {
        [one] => format!("{}: {}", one.field, one.message),
        many => format!("{} invalid field(s)", many.len()),
    };
    tonic::Status::with_error_details(code.grpc_code(), message, details)
}

/// An error that knows its row of the table; HTTP and gRPC answers are derived from it.
pub trait HasErrorCode {
    fn error_code(&self) -> ErrorCode;
}

impl HasErrorCode for crate::auth::AuthError {
    fn error_code(&self) -> ErrorCode {
        self.code()
    }
}

impl From<crate::auth::AuthError> for tonic::Status {
    fn from(error: crate::auth::AuthError) -> Self {
        error.code().status(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_http_status_one_grpc_code_and_a_distinct_name() {
        let expected = [
            ("validation_failed", 400, tonic::Code::InvalidArgument),
            ("malformed_json", 400, tonic::Code::InvalidArgument),
            ("malformed_body", 400, tonic::Code::InvalidArgument),
            ("body_too_large", 413, tonic::Code::InvalidArgument),
            ("unsupported_media_type", 415, tonic::Code::InvalidArgument),
            ("unauthenticated", 401, tonic::Code::Unauthenticated),
            ("forbidden", 403, tonic::Code::PermissionDenied),
            ("not_found", 404, tonic::Code::NotFound),
            ("conflict", 409, tonic::Code::FailedPrecondition),
            ("version_conflict", 409, tonic::Code::Aborted),
            ("reply_not_requested", 409, tonic::Code::FailedPrecondition),
            ("rating_not_open", 409, tonic::Code::FailedPrecondition),
            ("already_rated", 409, tonic::Code::FailedPrecondition),
            ("desk_event_closed", 409, tonic::Code::FailedPrecondition),
            ("idempotency_key_reused", 422, tonic::Code::AlreadyExists),
            ("rate_limited", 429, tonic::Code::ResourceExhausted),
            ("overloaded", 503, tonic::Code::ResourceExhausted),
            ("timeout", 503, tonic::Code::DeadlineExceeded),
            ("outcome_unknown", 503, tonic::Code::Unavailable),
            ("unavailable", 503, tonic::Code::Unavailable),
            ("provider_failed", 502, tonic::Code::Unavailable),
            ("internal", 500, tonic::Code::Internal),
        ];
        assert_eq!(ErrorCode::ALL.len(), expected.len(), "every code is in this list");
        // the names are a published contract (docs/api/errors.md): renaming a variant must fail here
        for (code, (name, http, grpc)) in ErrorCode::ALL.iter().zip(expected) {
            assert_eq!((code.as_str(), code.http_status().as_u16(), code.grpc_code()), (name, http, grpc), "{code:?}");
            assert!(!code.title().is_empty(), "{code:?} has a title");
        }
        let names: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "codes are distinct");
        assert!(names.iter().all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')), "snake_case codes");
    }

    #[test]
    fn invalid_fields_name_each_field_and_its_rule() {
        use tonic_types::StatusExt;
        let errors = [
            pasokh_domain::FieldError::new("mobile", "mobile_format", "mobile must be an Iranian mobile"),
            pasokh_domain::FieldError::new("text", "text_too_short", "text is too short"),
        ];
        let status = invalid_fields(&errors);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status.message(), "2 invalid field(s)");
        let details = status.get_error_details();
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "validation_failed");
        assert_eq!(info.metadata["text"], "text_too_short");
        let violations = &details.bad_request().expect("BadRequest").field_violations;
        assert_eq!(violations[0].field, "mobile");
        assert_eq!(violations[0].description, "mobile_format: mobile must be an Iranian mobile");
        assert_eq!(invalid_fields(&errors[..1]).message(), "mobile: mobile must be an Iranian mobile");
    }

    #[test]
    fn authentication_failures_are_unauthenticated_and_refusals_permission_denied() {
        use crate::auth::AuthError;
        assert_eq!(tonic::Status::from(AuthError::Expired).code(), tonic::Code::Unauthenticated);
        assert_eq!(tonic::Status::from(AuthError::ClientNotAllowed("x".into())).code(), tonic::Code::PermissionDenied);
        assert_eq!(tonic::Status::from(AuthError::ProviderUnavailable("down".into())).code(), tonic::Code::Unavailable);
    }
}

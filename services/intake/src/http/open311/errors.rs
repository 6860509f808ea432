//! Refusals the GeoReport way: a list of `{code, description}` in the format asked for.

use axum::http::StatusCode;
use axum::response::Response;
use pasokh_domain::ValidationErrors;
use pasokh_platform::error_code::{ErrorCode, HasErrorCode};
use serde_json::{Value, json};

use super::format::{Format, render};
use crate::Error;

/// Errors the GeoReport way: a list of `{code, description}`.
pub(super) fn errors(format: Format, status: StatusCode, descriptions: &[String]) -> Response {
    let body: Vec<Value> = descriptions.iter().map(|d| json!({"code": status.as_u16(), "description": d})).collect();
    render(format, status, "errors", &Value::Array(body))
}

pub(super) fn validation(format: Format, invalid: &ValidationErrors) -> Response {
    let descriptions: Vec<String> =
        invalid.errors.iter().map(|e| format!("{} ({}): {}", e.field, e.code, e.message)).collect();
    errors(format, StatusCode::BAD_REQUEST, &descriptions)
}

/// A petition the filing pipeline refused, the GeoReport way, with the error table's status.
pub(super) fn refused(format: Format, error: Error) -> Response {
    let code = error.error_code();
    let description = match error {
        Error::Validation(invalid) => return validation(format, &invalid),
        // the mobile's budget is answered as on every API: problem+json with Retry-After
        Error::RateLimited(wait, what) => return crate::http::limits::too_many(wait, what),
        Error::Overloaded => "intake is at capacity; nothing was saved, retry".to_owned(),
        Error::Database(_) if code == ErrorCode::Unavailable => {
            "the petition store is unavailable; nothing was saved, retry".to_owned()
        }
        error if code == ErrorCode::Internal => {
            tracing::error!(error = %pasokh_platform::tasks::error_chain(&error), "open311 request failed");
            "the request was not applied".to_owned()
        }
        error => error.to_string(),
    };
    errors(format, code.http_status(), &[description])
}

pub(super) fn unknown_resource(format: Format) -> Response {
    errors(format, StatusCode::NOT_FOUND, &["no such resource".to_owned()])
}

/// Why a call is refused before it is looked at: status and description.
pub(super) type Refusal = (StatusCode, String);

pub(super) type Failure = Box<dyn FnOnce(Format) -> Response + Send>;

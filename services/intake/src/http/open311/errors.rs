//! Refusals the GeoReport way: a list of `{code, description}` in the format asked for.

use axum::http::StatusCode;
use axum::response::Response;
use pasokh_domain::ValidationErrors;
use serde_json::{Value, json};

use super::format::{Format, render};

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

pub(super) fn unknown_resource(format: Format) -> Response {
    errors(format, StatusCode::NOT_FOUND, &["no such resource".to_owned()])
}

/// Why a call is refused before it is looked at: status and description.
pub(super) type Refusal = (StatusCode, String);

pub(super) type Failure = Box<dyn FnOnce(Format) -> Response + Send>;

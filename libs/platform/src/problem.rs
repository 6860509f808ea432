//! RFC 9457 `application/problem+json` responses with a stable machine `code`.
use axum::http::{HeaderValue, StatusCode, header};

use crate::error_code::ErrorCode;
use axum::response::{IntoResponse, Response};
use pasokh_domain::{FieldError, ValidationErrors};
use serde::Serialize;

pub const PROBLEM_BASE: &str = "https://pasokh.mcls.gov.ir/problems/";

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of `code`, with the status the one table gives it and a title of the caller's.
    pub fn new(code: ErrorCode, title: impl Into<String>) -> Self {
        Self {
            type_uri: format!("{PROBLEM_BASE}{}", code.as_str()),
            title: title.into(),
            status: code.http_status().as_u16(),
            code: code.as_str(),
            detail: None,
            errors: Vec::new(),
        }
    }

    /// A problem of `code` with the table's own title.
    pub fn of(code: ErrorCode) -> Self {
        Self::new(code, code.title())
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        let count = errors.errors.len();
        let mut problem = Self::of(ErrorCode::ValidationFailed)
            .with_detail(format!("{count} field(s) failed validation; see `errors`"));
        problem.errors = errors.errors;
        problem
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn internal() -> Self {
        Self::of(ErrorCode::Internal)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::of(ErrorCode::Unavailable).with_detail(detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

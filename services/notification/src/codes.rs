//! One-time codes: the citizen's site (the web's own service account, nobody
//! else) asks notification to text a 6-digit code to a mobile, so "my
//! petitions" is shown only to whoever holds that phone. The code is generated,
//! checked and expired by the web; notification only delivers it, at once and
//! outside the delivery queue, because a code that arrives late is useless.
use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pasokh_domain::{FieldError, Mobile, ValidationErrors};
use pasokh_platform::auth::TokenVerifier;
use pasokh_platform::error_code::ErrorCode;
use pasokh_platform::problem::Problem;
use serde::Deserialize;

use crate::dispatch::{Gateway, Sent};

#[derive(Clone)]
pub(crate) struct CodeSender {
    pub verifier: Arc<TokenVerifier>,
    /// client ids that may ask for codes (the web's)
    pub allowed: BTreeSet<String>,
    pub gateway: Gateway,
}

#[derive(Deserialize)]
pub(crate) struct CodeRequest {
    mobile: Option<String>,
    code: Option<String>,
    /// a stable id from the caller, so a retried request is one message at the gateway
    request_id: Option<String>,
}

/// `POST /v1/one-time-codes` `{mobile, code, request_id}`: 202 once the gateway took the message.
#[tracing::instrument(skip_all)]
pub(crate) async fn send(State(sender): State<CodeSender>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Err(error) = sender.verifier.service(authorization, &sender.allowed).await {
        let code = error.code();
        return Problem::new(code, error.to_string()).into_response();
    }
    let body: CodeRequest = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => {
            return Problem::new(ErrorCode::MalformedJson, "the body is not the JSON expected")
                .with_detail(error.to_string())
                .into_response();
        }
    };
    let mut errors = ValidationErrors::default();
    let mobile = match body.mobile.as_deref() {
        Some(raw) => errors.check("mobile", Mobile::parse(raw)),
        None => {
            errors.push(FieldError::new("mobile", "field_missing", "mobile is required"));
            None
        }
    };
    let code = body.code.as_deref().unwrap_or_default();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new("code", "code_format", "code must be 6 digits"));
    }
    let request_id = body.request_id.as_deref().unwrap_or_default();
    if request_id.is_empty() || request_id.len() > 100 {
        errors.push(FieldError::new("request_id", "field_missing", "request_id is required (at most 100 characters)"));
    }
    let Some(mobile) = mobile.filter(|_| errors.is_empty()) else {
        return Problem::validation(errors).into_response();
    };
    let text = format!(
        "سامانه پاسخ: کد یکبارمصرف شما {} است و تا ۲ دقیقه اعتبار دارد. آن را به کسی ندهید.",
        pasokh_domain::persian_digits(code)
    );
    // the caller's request id is the idempotency key: a retried request is one message
    match sender.gateway.send(request_id, mobile.as_str(), &text).await {
        Sent::Accepted { .. } => {
            tracing::info!(request_id, "one-time code sent");
            StatusCode::ACCEPTED.into_response()
        }
        Sent::Retry { detail, .. } | Sent::Refused { detail } => {
            tracing::warn!(detail, "the SMS gateway did not take a one-time code");
            Problem::unavailable("the SMS gateway did not take the message; retry").into_response()
        }
    }
}

//! The HTTP half of every POST that creates something: JSON and its `Idempotency-Key` read once
//! ([`IdempotentJson`]), a petition filed through [`crate::submission`], anything else claimed
//! and answered with its key here.
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pasokh_domain::{IdempotencyKey, ValidationErrors};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::store::NewPetition;
use crate::store::idempotency::{self as keys, IdempotencyClaim, PreviousAnswer};
use crate::submission::Filed;
use crate::{Error, Result};

pub(crate) const HEADER: &str = "idempotency-key";

/// Reads the optional `Idempotency-Key` header.
pub(crate) fn key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>> {
    let Some(raw) = headers.get(HEADER) else { return Ok(None) };
    let parsed = raw
        .to_str()
        .map_err(|_| {
            pasokh_domain::FieldError::new(
                "Idempotency-Key",
                "idempotency_key_invalid",
                "Idempotency-Key must be ASCII",
            )
        })
        .and_then(IdempotencyKey::parse);
    parsed.map(Some).map_err(|e| Error::Validation(ValidationErrors { errors: vec![e] }))
}

/// Hash of the request body as JSON, independent of key order and whitespace.
pub(crate) fn request_hash(value: &serde_json::Value) -> Vec<u8> {
    fn canonical(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    canonical(&map[key], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(value, &mut text);
    Sha256::digest(text.as_bytes()).to_vec()
}

pub(crate) fn require_json(headers: &HeaderMap) -> Result<()> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json_media_type);
    if is_json { Ok(()) } else { Err(Error::UnsupportedMediaType) }
}

/// Whether a `Content-Type` names JSON: the essence (before any parameter) is
/// `application/json` or `application/<something>+json`. Only the essence counts: a CORS-safe
/// `text/plain;x=+json` from another site's page is not JSON.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else { return false };
    let suffixed = subtype.strip_suffix("+json").is_some_and(|name| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.".contains(&b))
    });
    kind == "application" && (subtype == "json" || suffixed)
}

/// The body of a JSON POST as a value (415 for another media type, 400 for bad JSON).
pub(crate) fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<serde_json::Value> {
    require_json(headers)?;
    parse_json(body)
}

fn parse_json(body: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(body).map_err(|e| Error::MalformedJson(e.to_string()))
}

/// A JSON POST past its transport checks, in this order: body limit (413), JSON media type (415),
/// JSON syntax (400), the `Idempotency-Key` (400), which becomes a claim on `POST <path>`. The
/// handler then files it as a petition ([`Self::file`]) or starts whatever else it creates
/// ([`Self::begin`]); either way a retry is answered from the stored answer before the body is
/// interpreted.
pub(crate) struct IdempotentJson {
    value: serde_json::Value,
    claim: Option<IdempotencyClaim>,
}

impl FromRequest<AppState> for IdempotentJson {
    type Rejection = Error;

    async fn from_request(request: Request, state: &AppState) -> Result<Self> {
        let is_json = require_json(request.headers());
        let key = key(request.headers());
        let operation = format!("POST {}", request.uri().path());
        let body = super::body_or_413(Bytes::from_request(request, state).await)?;
        is_json?;
        let value = parse_json(&body)?;
        let claim = state.submissions.claim(&operation, key?.as_ref(), request_hash(&value));
        Ok(Self { value, claim })
    }
}

/// What a non-petition POST does next (zero2prod's `NextAction`).
pub(crate) enum NextAction<T> {
    /// a retry: the answer the key got before
    ReturnSavedAnswer(Response),
    /// the parsed body, and the key's claim to write with whatever the request creates
    StartProcessing(T, Option<IdempotencyClaim>),
}

impl IdempotentJson {
    /// Files the body as a petition through the one pipeline ([`crate::submission`]); 201 with
    /// `Location`, or the first answer again (`Idempotent-Replayed: true`).
    pub(crate) async fn file(
        self,
        state: &AppState,
        parse: impl FnOnce(serde_json::Value) -> Result<NewPetition>,
    ) -> Result<Response> {
        let value = self.value;
        Ok(match state.submissions.file(self.claim, || parse(value)).await? {
            Filed::Accepted { answer } => created(StatusCode::CREATED, answer, false),
            Filed::Replayed(previous) => replayed(previous),
        })
    }

    /// For a POST that creates something other than a petition: the stored answer of a retry,
    /// else the body as `T` and the claim to write with what it creates ([`claim`], [`commit_created`]).
    pub(crate) async fn begin<T: serde::de::DeserializeOwned>(self, state: &AppState) -> Result<NextAction<T>> {
        if let Some(previous) = state.submissions.previous(self.claim.as_ref()).await? {
            return Ok(NextAction::ReturnSavedAnswer(replayed(previous)));
        }
        let input = serde_json::from_value(self.value).map_err(|e| Error::MalformedJson(e.to_string()))?;
        Ok(NextAction::StartProcessing(input, self.claim))
    }
}

fn replayed(previous: PreviousAnswer) -> Response {
    created(StatusCode::from_u16(previous.status).unwrap_or(StatusCode::CREATED), previous.body, true)
}

fn created(status: StatusCode, body: serde_json::Value, replayed: bool) -> Response {
    let location = body["tracking_code"].as_str().map(|code| format!("/v1/petitions/{code}"));
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

pub(crate) fn ttl(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
}

/// Claims the key inside `tx` before the caller writes: `Some(answer)` when a
/// concurrent request with the same key won (the caller rolls back and returns it).
pub(crate) async fn claim(
    state: &AppState,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    claim: Option<&IdempotencyClaim>,
) -> Result<Option<Response>> {
    let Some(claim) = claim else { return Ok(None) };
    if keys::claim_one(tx, claim).await? {
        return Ok(None);
    }
    let previous = state.submissions.previous(Some(claim)).await?.ok_or(Error::IdempotencyKeyReused)?;
    Ok(Some(replayed(previous)))
}

/// Stores the answer with the claim and commits; returns the 201.
pub(crate) async fn commit_created(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    claim: Option<&IdempotencyClaim>,
    document: &impl serde::Serialize,
) -> Result<Response> {
    // the answer is stored as JSON beside the key, and replayed from there
    let body = serde_json::to_value(document).map_err(|e| Error::Config(format!("the answer is not JSON: {e}")))?;
    if let Some(claim) = claim {
        keys::store_one(&mut tx, claim, StatusCode::CREATED.as_u16(), &body).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_json_essence_is_json() {
        for json in
            ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/problem+json"]
        {
            assert!(is_json_media_type(json), "{json}");
        }
        for other in [
            "text/plain;x=+json",
            "text/plain; charset=+json",
            "application/json-seq",
            "application/+json",
            "json",
            "",
            "multipart/form-data; boundary=+json",
        ] {
            assert!(!is_json_media_type(other), "{other}");
        }
    }
}

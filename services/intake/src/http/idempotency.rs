//! `Idempotency-Key` on every POST that creates a petition.
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pasokh_domain::{IdempotencyKey, ValidationErrors};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::store::NewPetition;
use crate::store::idempotency::{self as keys, IdempotencyClaim};
use crate::store::writer::{Submission, Written};
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
    serde_json::from_slice(body).map_err(|e| Error::MalformedJson(e.to_string()))
}

/// The answer the claimed key got before, replayed; 422 when it went with another request.
async fn replay(state: &AppState, claim: &IdempotencyClaim) -> Result<Option<Response>> {
    Ok(keys::previous_answer(&state.pool, claim)
        .await?
        .map(|answer| created(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::CREATED), answer.body, true)))
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

/// The whole POST: JSON body → (replay?) → parse → group-commit write → 201.
pub(crate) async fn create_petition(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    route: &str,
    parse: impl FnOnce(serde_json::Value) -> Result<NewPetition>,
) -> Result<Response> {
    let value = json_body(headers, body)?;
    let idempotency = match start(state, headers, route, &value).await? {
        Start::Replay(answer) => return Ok(answer),
        Start::Fresh(claim) => claim,
    };
    let petition = parse(value)?;
    state
        .limits
        .petitions_per_mobile
        .check(petition.mobile.as_str())
        .map_err(|wait| Error::RateLimited(wait, "too many petitions from this mobile"))?;
    match state.writer.write(Submission { petition, idempotency: idempotency.clone() }).await? {
        Written::Accepted { accepted, response } => {
            state.relay_waker.notify_one();
            tracing::info!(petition_id = %accepted.id, route, "petition accepted");
            Ok(created(StatusCode::CREATED, response, false))
        }
        // a concurrent request with the same key won: answer as it was answered
        Written::KeyAlreadyUsed => match &idempotency {
            Some(claim) => replay(state, claim).await?.ok_or(Error::IdempotencyKeyReused),
            None => Err(Error::IdempotencyKeyReused),
        },
    }
}

pub(crate) fn ttl(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
}

/// The first half of a non-petition POST: the stored answer when the request is a retry,
/// else the claim to write with whatever the request creates.
enum Start {
    Replay(Response),
    Fresh(Option<IdempotencyClaim>),
}

async fn start(state: &AppState, headers: &HeaderMap, route: &str, value: &serde_json::Value) -> Result<Start> {
    let Some(key) = key(headers)? else { return Ok(Start::Fresh(None)) };
    let claim = IdempotencyClaim::new(
        &format!("POST {route}"),
        state.province,
        key.as_str(),
        request_hash(value),
        state.idempotency_ttl,
    );
    match replay(state, &claim).await? {
        Some(answer) => Ok(Start::Replay(answer)),
        None => Ok(Start::Fresh(Some(claim))),
    }
}

/// A JSON POST that creates something other than a petition, past its prologue.
pub(crate) enum Begun<T> {
    /// a retry: the answer the key got before
    Replay(Response),
    /// the parsed body, and the key's claim to write with whatever the request creates
    Fresh(T, Option<IdempotencyClaim>),
}

/// The prologue every such POST shares, in this order: body limit (413), JSON (415, 400), the
/// `Idempotency-Key` (a replay answers before the body is interpreted), then the body as `T`.
pub(crate) async fn begin<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
    route: &str,
) -> Result<Begun<T>> {
    let body = super::body_or_413(body)?;
    let value = json_body(headers, &body)?;
    let claim = match start(state, headers, route, &value).await? {
        Start::Replay(answer) => return Ok(Begun::Replay(answer)),
        Start::Fresh(claim) => claim,
    };
    let input = serde_json::from_value(value).map_err(|e| Error::MalformedJson(e.to_string()))?;
    Ok(Begun::Fresh(input, claim))
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
    Ok(Some(replay(state, claim).await?.ok_or(Error::IdempotencyKeyReused)?))
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

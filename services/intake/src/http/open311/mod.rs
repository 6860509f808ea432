//! Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under
//! `/open311/v2/`: categories are services, their organisation is the group,
//! the province is the jurisdiction. Responses in JSON or XML by extension;
//! errors in the specification's format. Every call needs an `api_key`: the
//! requests carry citizens' petitions, so they are for registered partners.
//!
//! `format` writes JSON or XML as the specification spells them, `errors` answers refusals the
//! GeoReport way, `georeport` maps between GeoReport's services and requests and Pasokh's
//! categories and petitions; this file has the handlers and what they check first.
mod errors;
mod format;
mod georeport;

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use pasokh_domain::CategoryCode;
use serde_json::{Value, json};

use self::errors::{Failure, Refusal, errors, refused, unknown_resource};
use self::format::{Format, render, split_format};
use self::georeport::{created, parse_request, request_json, service_definition, service_list};
use crate::http::AppState;
use crate::store;
use crate::store::NewPetition;

/// The partner whose `api_key` (form/query field, or the `X-Api-Key` header that keeps it out of access
/// logs) this is; 403 otherwise. Keys are compared as SHA-256 digests in constant time, against every
/// partner, so timing says nothing about how close a guess was.
fn authorise(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    params: &HashMap<String, String>,
) -> Result<String, Refusal> {
    use subtle::ConstantTimeEq;
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| params.get("api_key").map(String::as_str))
        .unwrap_or_default()
        .trim();
    let presented = crate::config::sha256(key);
    let mut found = None;
    for (partner, digest) in state.open311_keys.iter() {
        if bool::from(digest.ct_eq(&presented)) && !key.is_empty() {
            found = Some(partner.clone());
        }
    }
    found.ok_or_else(|| (StatusCode::FORBIDDEN, "a valid api_key is required".to_owned()))
}

/// 404 unless `jurisdiction_id` (optional) is this deployment's province.
fn jurisdiction(state: &AppState, params: &HashMap<String, String>) -> Result<(), Refusal> {
    match params.get("jurisdiction_id").map(|j| j.trim()).filter(|j| !j.is_empty()) {
        Some(j) if !j.eq_ignore_ascii_case(&state.province.to_string()) => Err((
            StatusCode::NOT_FOUND,
            format!("jurisdiction_id {j} is served by that province's intake; this one serves {}", state.province),
        )),
        _ => Ok(()),
    }
}

/// `GET /open311/v2/{resource}`: discovery, services, service definitions, requests.
#[utoipa::path(get, path = "/open311/v2/{resource}", tag = "open311",
    params(
        ("resource" = String, Path, description = "discovery, services or requests, with .json or .xml"),
        ("api_key" = String, Query), ("jurisdiction_id" = Option<String>, Query),
        ("service_request_id" = Option<String>, Query), ("service_code" = Option<String>, Query),
        ("start_date" = Option<String>, Query), ("end_date" = Option<String>, Query), ("status" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "JSON or XML by extension", content_type = "application/json"),
        (status = 400, description = "GeoReport errors: [{code, description}]", content_type = "application/json"),
        (status = 403, description = "api_key missing or unknown", content_type = "application/json"),
        (status = 404, description = "no such resource or another jurisdiction", content_type = "application/json"),
        (status = 503, description = "store unavailable", content_type = "application/json"),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(resource): Path<String>,
    headers: axum::http::HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some((name, format)) = split_format(&resource) else { return unknown_resource(Format::Json) };
    if let Err((status, description)) = jurisdiction(&state, &params) {
        return errors(format, status, &[description]);
    }
    match name {
        "discovery" => render(
            format,
            StatusCode::OK,
            "discovery",
            &json!({
                "changeset": "2026-11-29T00:00:00Z",
                "contact": "Centre for Inspection, Performance Evaluation and Public Communications, Ministry of Cooperatives, Labour and Social Welfare",
                "key_service": "Ask the ministry's public-communications centre for an api_key",
                "endpoints": [{
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": "/open311/v2",
                    "changeset": "2026-11-29T00:00:00Z",
                    "type": "production",
                    "formats": ["application/json", "text/xml"]
                }]
            }),
        ),
        "services" => render(format, StatusCode::OK, "services", &service_list()),
        "requests" => match authorise(&state, &headers, &params) {
            Err((status, description)) => errors(format, status, &[description]),
            Ok(partner) => match list_requests(&state, &partner, &params).await {
                Ok(rows) => {
                    let requests: Vec<Value> = rows.iter().map(|row| request_json(row, None)).collect();
                    render(format, StatusCode::OK, "service_requests", &Value::Array(requests))
                }
                Err(response) => response(format),
            },
        },
        _ => unknown_resource(format),
    }
}

/// `GET /open311/v2/{collection}/{id}`: a service definition or one request.
#[utoipa::path(get, path = "/open311/v2/{collection}/{resource}", tag = "open311",
    params(
        ("collection" = String, Path, description = "services or requests"),
        ("resource" = String, Path, description = "service_code or service_request_id, with .json or .xml"),
        ("api_key" = String, Query), ("jurisdiction_id" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "JSON or XML by extension", content_type = "application/json"),
        (status = 400, description = "GeoReport errors: [{code, description}]", content_type = "application/json"),
        (status = 403, description = "api_key missing or unknown", content_type = "application/json"),
        (status = 404, description = "no such resource or another jurisdiction", content_type = "application/json"),
        (status = 503, description = "store unavailable", content_type = "application/json"),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path((collection, resource)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some((id, format)) = split_format(&resource) else { return unknown_resource(Format::Json) };
    if let Err((status, description)) = jurisdiction(&state, &params) {
        return errors(format, status, &[description]);
    }
    match collection.as_str() {
        "services" => match CategoryCode::parse(id) {
            Ok(code) => render(format, StatusCode::OK, "service_definition", &service_definition(&code)),
            Err(_) => errors(format, StatusCode::NOT_FOUND, &[format!("no service {id}")]),
        },
        "requests" => {
            let partner = match authorise(&state, &headers, &params) {
                Ok(partner) => partner,
                Err((status, description)) => return errors(format, status, &[description]),
            };
            let params = HashMap::from([("service_request_id".to_owned(), id.to_owned())]);
            match list_requests(&state, &partner, &params).await {
                Ok(rows) => match rows.first() {
                    Some(row) => {
                        let live = live_case(&state, row.id).await;
                        render(format, StatusCode::OK, "service_requests", &json!([request_json(row, live.as_ref())]))
                    }
                    None => errors(format, StatusCode::NOT_FOUND, &[format!("no request {id}")]),
                },
                Err(response) => response(format),
            }
        }
        _ => unknown_resource(format),
    }
}

/// Requests `partner` filed in this province matching the GeoReport filters, newest first (at most 1000):
/// a partner never sees petitions filed on the web, at a desk or by another partner.
async fn list_requests(
    state: &AppState,
    partner: &str,
    params: &HashMap<String, String>,
) -> Result<Vec<store::RequestRow>, Failure> {
    let bad =
        |message: String| -> Failure { Box::new(move |format| errors(format, StatusCode::BAD_REQUEST, &[message])) };
    let ids: Option<Vec<String>> = params.get("service_request_id").map(|ids| {
        ids.split(',').map(|id| pasokh_domain::normalize_digits(id.trim())).filter(|id| !id.is_empty()).collect()
    });
    let time = |name: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, Failure> {
        match params.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
                .map(|t| Some(t.with_timezone(&chrono::Utc)))
                .map_err(|_| bad(format!("{name} must be a W3C date-time such as 2026-11-29T09:00:00+03:30"))),
        }
    };
    let (start, end) = (time("start_date")?, time("end_date")?);
    let status = match params.get("status").map(|s| s.to_ascii_lowercase()) {
        None => None,
        Some(s) if s == "open" || s == "closed" => Some(s == "closed"),
        Some(other) => return Err(bad(format!("status must be open or closed, not {other}"))),
    };
    let service_codes: Option<Vec<String>> =
        params.get("service_code").map(|codes| codes.split(',').map(|c| c.trim().to_owned()).collect());
    let filter = store::RequestFilter {
        province: state.province.to_string(),
        filed_by: partner.to_owned(),
        tracking_codes: ids,
        categories: service_codes,
        from: start,
        until: end,
        closed: status,
    };
    let rows = store::requests(&state.pool, &filter).await.map_err(|error| -> Failure {
        tracing::error!(%error, "open311 request listing failed");
        Box::new(|format| {
            errors(format, StatusCode::SERVICE_UNAVAILABLE, &["the petition store is unavailable".to_owned()])
        })
    })?;
    Ok(rows)
}

/// The case routing holds for a petition; `None` when routing has none yet or cannot be reached.
async fn live_case(state: &AppState, petition: uuid::Uuid) -> Option<pasokh_proto::routing::v1::Case> {
    let mut routing = state.routing.clone();
    let mut request =
        tonic::Request::new(pasokh_proto::routing::v1::GetCaseRequest { petition_id: petition.to_string() });
    request.set_timeout(std::time::Duration::from_secs(2));
    routing.get_case(request).await.ok().map(tonic::Response::into_inner)
}

/// `POST /open311/v2/requests.{json,xml}`, form-encoded.
#[utoipa::path(post, path = "/open311/v2/{resource}", tag = "open311",
    params(("resource" = String, Path, description = "requests.json or requests.xml"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded",
        description = "api_key, jurisdiction_id, service_code, description, phone, attribute[national_id], attribute[kind]"),
    responses(
        (status = 201, description = "[{service_request_id, service_notice, account_id}]", content_type = "application/json"),
        (status = 413, description = "body too large", content_type = "application/json"),
        (status = 415, description = "not form-encoded", content_type = "application/json"),
        (status = 422, description = "Idempotency-Key used with another request", content_type = "application/json"),
        (status = 400, description = "GeoReport errors: [{code, description}]", content_type = "application/json"),
        (status = 403, description = "api_key missing or unknown", content_type = "application/json"),
        (status = 404, description = "no such resource or another jurisdiction", content_type = "application/json"),
        (status = 429, description = "rate limited", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "at capacity; nothing saved", content_type = "application/json"),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn post(
    State(state): State<AppState>,
    Path(resource): Path<String>,
    headers: axum::http::HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let format = match split_format(&resource) {
        Some(("requests", format)) => format,
        Some((_, format)) => return unknown_resource(format),
        None => return unknown_resource(Format::Json),
    };
    let params = match form {
        Ok(Form(params)) => params,
        Err(rejection) => return errors(format, rejection.status(), &[rejection.body_text()]),
    };
    let partner = match authorise(&state, &headers, &params).and_then(|p| jurisdiction(&state, &params).map(|_| p)) {
        Ok(partner) => partner,
        Err((status, description)) => return errors(format, status, &[description]),
    };
    // an Idempotency-Key works here as on every POST; the answer is rebuilt from the stored one
    let Ok(key) = crate::http::idempotency::key(&headers) else {
        let description = "Idempotency-Key must be 1–255 visible ASCII characters".to_owned();
        return errors(format, StatusCode::BAD_REQUEST, &[description]);
    };
    let hash = crate::http::idempotency::request_hash(&json!(params));
    let claim = state.submissions.claim("POST /open311/v2/requests", key.as_ref(), hash);
    let parse = || Ok(NewPetition { filed_by: Some(partner.clone()), ..parse_request(&state, &params)? });
    match state.submissions.file(claim, parse).await {
        Ok(filed) => created(format, filed.answer()["tracking_code"].as_str().unwrap_or_default()),
        Err(error) => refused(format, error),
    }
}

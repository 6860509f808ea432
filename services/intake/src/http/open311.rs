//! Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under
//! `/open311/v2/`: categories are services, their organisation is the group,
//! the province is the jurisdiction. Responses in JSON or XML by extension;
//! errors in the specification's format. Every call needs an `api_key`: the
//! requests carry citizens' petitions, so they are for registered partners.
use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pasokh_domain::{
    CaseStatus, CategoryCode, Channel, CitizenRef, FieldError, Mobile, NationalId, PetitionKind, PetitionText,
    ValidationErrors, categories, organisations,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use crate::store::NewPetition;
use crate::store::writer::{IdempotencyClaim, Submission, Written};
use crate::{Error, store};

/// `services.json` → (`services`, Json)
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

fn split_format(resource: &str) -> Option<(&str, Format)> {
    if let Some(name) = resource.strip_suffix(".json") {
        Some((name, Format::Json))
    } else {
        resource.strip_suffix(".xml").map(|name| (name, Format::Xml))
    }
}

/// The element name of an array's items in GeoReport XML.
fn singular(name: &str) -> &str {
    match name {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        "keywords" => "keyword",
        _ => "item",
    }
}

/// Text as XML 1.0 character data: markup escaped, and characters XML 1.0 cannot carry at all
/// (controls other than tab and newlines, U+FFFE, U+FFFF; they can arrive in an echoed query
/// parameter) replaced by U+FFFD, so a partner's parser never meets a malformed document.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}' => {
                out.push(c)
            }
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

fn write_xml(name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for item in items {
                write_xml(singular(name), item, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(fields) => {
            out.push_str(&format!("<{name}>"));
            for (key, field) in fields {
                write_xml(key, field, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(text) => out.push_str(&format!("<{name}>{}</{name}>", escape(text))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn render(format: Format, status: StatusCode, root: &str, body: &Value) -> Response {
    match format {
        Format::Json => (status, axum::Json(body)).into_response(),
        Format::Xml => {
            let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
            write_xml(root, body, &mut xml);
            (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
        }
    }
}

/// Errors the GeoReport way: a list of `{code, description}`.
fn errors(format: Format, status: StatusCode, descriptions: &[String]) -> Response {
    let body: Vec<Value> = descriptions.iter().map(|d| json!({"code": status.as_u16(), "description": d})).collect();
    render(format, status, "errors", &Value::Array(body))
}

fn validation(format: Format, invalid: &ValidationErrors) -> Response {
    let descriptions: Vec<String> =
        invalid.errors.iter().map(|e| format!("{} ({}): {}", e.field, e.code, e.message)).collect();
    errors(format, StatusCode::BAD_REQUEST, &descriptions)
}

fn unknown_resource(format: Format) -> Response {
    errors(format, StatusCode::NOT_FOUND, &["no such resource".to_owned()])
}

/// Why a call is refused before it is looked at: status and description.
type Refusal = (StatusCode, String);

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

fn group(organisation: &str) -> String {
    organisations()
        .iter()
        .find(|o| o.code == organisation)
        .map_or_else(|| organisation.to_owned(), |o| o.name_fa.clone())
}

fn service_list() -> Value {
    Value::Array(
        categories()
            .iter()
            .map(|c| {
                json!({
                    "service_code": c.code.as_str(),
                    "service_name": c.name_fa,
                    "description": c.name_en,
                    "metadata": true,
                    "type": "realtime",
                    "keywords": c.name_en.to_lowercase(),
                    "group": group(&c.organisation),
                })
            })
            .collect(),
    )
}

fn service_definition(code: &CategoryCode) -> Value {
    let kinds: Vec<Value> = PetitionKind::ALL.iter().map(|k| json!({"key": k.as_str(), "name": k.as_str()})).collect();
    json!({
        "service_code": code.as_str(),
        "attributes": [
            {
                "variable": true, "code": "national_id", "datatype": "string", "required": true, "order": 1,
                "datatype_description": "10-digit Iranian national id (کد ملی)",
                "description": "National id of the citizen; checked, never published"
            },
            {
                "variable": true, "code": "kind", "datatype": "singlevaluelist", "required": false, "order": 2,
                "datatype_description": "", "description": "Kind of petition (default: request)", "values": kinds
            }
        ]
    })
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

type Failure = Box<dyn FnOnce(Format) -> Response + Send>;

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

/// A request as GeoReport shows it: the live case from routing when there is one, else intake's view.
fn request_json(row: &store::RequestRow, live: Option<&pasokh_proto::routing::v1::Case>) -> Value {
    let category = categories().iter().find(|c| c.code.as_str() == row.category);
    let status = live.and_then(|case| CaseStatus::parse(&case.status)).unwrap_or(if row.closed {
        CaseStatus::Closed
    } else {
        CaseStatus::Submitted
    });
    let closed = matches!(status, CaseStatus::Closed | CaseStatus::Rejected | CaseStatus::Merged);
    let agency = live
        .map(|case| group(&case.organisation))
        .or_else(|| category.map(|c| group(&c.organisation)))
        .unwrap_or_default();
    let updated = live
        .and_then(|case| pasokh_events::lifecycle::from_timestamp(case.updated_at.as_ref()))
        .unwrap_or(row.created_at);
    json!({
        "service_request_id": row.tracking_code,
        "status": if closed { "closed" } else { "open" },
        "status_notes": status.label_fa(),
        "service_name": category.map(|c| c.name_fa.clone()).unwrap_or_default(),
        "service_code": row.category,
        "agency_responsible": agency,
        "requested_datetime": row.created_at.to_rfc3339(),
        "updated_datetime": updated.to_rfc3339(),
        "address": "",
        "zipcode": "",
    })
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
    let claim = match idempotency_claim(&state, &headers, &params).await {
        Ok(Claimed::Replay(code)) => return created(format, &code),
        Ok(Claimed::Fresh(claim)) => claim,
        Err(response) => return response(format),
    };
    let petition = match parse_request(&state, &params) {
        Ok(petition) => NewPetition { filed_by: Some(partner.clone()), ..petition },
        Err(invalid) => return validation(format, &invalid),
    };
    if let Err(wait) = state.limits.petitions_per_mobile.check(petition.mobile.as_str()) {
        return crate::http::limits::too_many(wait, "too many petitions from this mobile");
    }
    match state.writer.write(Submission { petition, idempotency: claim.clone() }).await {
        Ok(Written::Accepted { accepted, .. }) => {
            state.relay_waker.notify_one();
            tracing::info!(petition_id = %accepted.id, partner, "petition accepted over open311");
            created(format, accepted.tracking_code.as_str())
        }
        Ok(Written::KeyAlreadyUsed) => match idempotency_claim(&state, &headers, &params).await {
            Ok(Claimed::Replay(code)) => created(format, &code),
            _ => errors(
                format,
                StatusCode::UNPROCESSABLE_ENTITY,
                &["the Idempotency-Key was used with another request".to_owned()],
            ),
        },
        Err(Error::Overloaded) | Err(Error::Unavailable(_)) => errors(
            format,
            StatusCode::SERVICE_UNAVAILABLE,
            &["intake is at capacity; nothing was saved, retry".to_owned()],
        ),
        Err(error) => {
            tracing::error!(error = %pasokh_platform::tasks::error_chain(&error), "open311 request failed");
            errors(format, StatusCode::INTERNAL_SERVER_ERROR, &["the request was not applied".to_owned()])
        }
    }
}

fn created(format: Format, tracking_code: &str) -> Response {
    let body = json!([{
        "service_request_id": tracking_code,
        "service_notice": format!("درخواست ثبت شد. کد رهگیری: {tracking_code}"),
        "account_id": Value::Null,
    }]);
    render(format, StatusCode::CREATED, "service_requests", &body)
}

enum Claimed {
    /// a retry: the tracking code of the petition the first request filed
    Replay(String),
    Fresh(Option<IdempotencyClaim>),
}

async fn idempotency_claim(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Claimed, Failure> {
    let key = crate::http::idempotency::key(headers).map_err(|_| -> Failure {
        Box::new(|format| {
            errors(
                format,
                StatusCode::BAD_REQUEST,
                &["Idempotency-Key must be 1–255 visible ASCII characters".to_owned()],
            )
        })
    })?;
    let Some(key) = key else { return Ok(Claimed::Fresh(None)) };
    let claim = IdempotencyClaim::new(
        "POST /open311/v2/requests",
        state.province,
        key.as_str(),
        crate::http::idempotency::request_hash(&json!(params)),
        state.idempotency_ttl,
    );
    match crate::store::writer::previous_answer(&state.pool, &claim).await {
        Ok(None) => Ok(Claimed::Fresh(Some(claim))),
        Ok(Some(answer)) => Ok(Claimed::Replay(answer.body["tracking_code"].as_str().unwrap_or_default().to_owned())),
        Err(Error::IdempotencyKeyReused) => Err(Box::new(|format| {
            errors(
                format,
                StatusCode::UNPROCESSABLE_ENTITY,
                &["the Idempotency-Key was used with another request".to_owned()],
            )
        })),
        Err(_) => Err(Box::new(|format| {
            errors(format, StatusCode::SERVICE_UNAVAILABLE, &["the petition store is unavailable".to_owned()])
        })),
    }
}

/// GeoReport fields → a petition: `service_code` is the category, `description` the text,
/// `phone` the mobile, `attribute[national_id]` and `attribute[kind]` the rest.
fn parse_request(state: &AppState, params: &HashMap<String, String>) -> Result<NewPetition, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let field = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.trim().is_empty());
    let mut required = |name: &str, value: Option<&str>| -> Option<String> {
        let value = value.map(str::to_owned);
        if value.is_none() {
            errors.push(FieldError::new(name, "field_missing", format!("{name} is required")));
        }
        value
    };
    let national_id = required("attribute[national_id]", field("attribute[national_id]"));
    let phone = required("phone", field("phone"));
    let service_code = required("service_code", field("service_code"));
    let description = required("description", field("description"));
    let national_id = national_id.and_then(|v| errors.check("attribute[national_id]", NationalId::parse(&v)));
    let mobile = phone.and_then(|v| errors.check("phone", Mobile::parse(&v)));
    let category = service_code.and_then(|v| errors.check("service_code", CategoryCode::parse(&v)));
    let text = description.and_then(|v| errors.check("description", PetitionText::parse(&v)));
    let kind = errors.check("attribute[kind]", PetitionKind::parse(field("attribute[kind]").unwrap_or("request")));
    match (national_id, mobile, category, text, kind) {
        (Some(national_id), Some(mobile), Some(category), Some(text), Some(kind)) if errors.is_empty() => {
            Ok(NewPetition {
                id: Uuid::now_v7(),
                province: state.province,
                citizen_ref: CitizenRef::derive(&state.citizen_ref_key, &national_id),
                national_id,
                mobile,
                category,
                kind,
                channel: Channel::Open311,
                text,
                desk_event_id: None,
                county: None,
                attachments: Vec::new(),
                letter: None,
                on_spot_answer: None,
                filed_by: None,
                repeat_of: None,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_never_carries_a_character_xml_forbids() {
        let escaped = escape("status \u{1}\u{1f} <b>&\u{fffe}\u{ffff} تهران\t\n");
        assert_eq!(escaped, "status \u{fffd}\u{fffd} &lt;b&gt;&amp;\u{fffd}\u{fffd} تهران\t\n");
    }

    #[test]
    fn xml_follows_georeport_element_names_and_escapes_text() {
        let mut xml = String::new();
        write_xml("services", &json!([{"service_code": "a&b", "metadata": true, "keywords": null}]), &mut xml);
        assert_eq!(
            xml,
            "<services><service><service_code>a&amp;b</service_code><metadata>true</metadata><keywords/></service></services>"
        );
        let mut xml = String::new();
        write_xml("errors", &json!([{"code": 403, "description": "<no>"}]), &mut xml);
        assert_eq!(xml, "<errors><error><code>403</code><description>&lt;no&gt;</description></error></errors>");
    }
}

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pasokh_domain::{CaseStatus, Mobile, TrackingCode, ValidationErrors, format_jalali};
use pasokh_events::lifecycle::from_timestamp;
use pasokh_proto::routing::v1::GetCaseRequest;
use serde::{Deserialize, Serialize};

use super::{AppState, idempotency};
use crate::http::idempotency::IdempotentJson;
use crate::petitions::{Filer, PetitionInput, check_filer};
use crate::{Error, Result, store};

/// `POST /v1/petitions`: 201 with the tracking code once the petition is durably stored.
#[utoipa::path(post, path = "/v1/petitions", tag = "petitions",
    request_body(content = crate::petitions::PetitionInput, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key and body gets the original answer")),
    responses(
        (status = 201, description = "filed; the answer carries the tracking code", body = crate::petitions::SubmittedResponse),
        crate::http::openapi::CreateProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn submit(State(state): State<AppState>, request: IdempotentJson) -> Result<Response> {
    let (province, key) = (state.province, &state.citizen_ref_key);
    request
        .file(&state, |value| {
            let input: PetitionInput =
                serde_json::from_value(value).map_err(|e| Error::MalformedJson(e.to_string()))?;
            let petition = input.parse(province, key)?;
            check_filer(&petition, Filer::Citizen)?;
            Ok(petition)
        })
        .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatusQuery {
    /// the mobile the petition was filed with
    mobile: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StatusResponse {
    tracking_code: String,
    status: String,
    status_fa: &'static str,
    province: String,
    category: String,
    kind: String,
    channel: String,
    #[schema(value_type = String, format = DateTime)]
    submitted_at: DateTime<Utc>,
    submitted_at_jalali: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    organisation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution_due_jalali: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    resolution_due: Option<DateTime<Utc>>,
    /// false when routing could not be asked and the status is intake's own
    status_is_current: bool,
    /// the unit handling it, e.g. `sso/IR-23`, once routed
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    first_response_due: Option<DateTime<Utc>>,
    /// each change of status and what the unit wrote to the citizen with it, oldest first
    timeline: Vec<TimelineItem>,
}

/// One step of the petition's history as its citizen reads it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TimelineItem {
    #[schema(value_type = String, format = DateTime)]
    at: DateTime<Utc>,
    at_jalali: String,
    status: String,
    status_fa: &'static str,
    /// submitted, routed, info_requested, responded, …
    action: String,
    /// the unit's question, response or interim reason; empty when it wrote nothing
    message: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct LookupInput {
    /// the mobile the petition was filed with
    mobile: Option<String>,
}

/// `POST /v1/petitions/{tracking_code}/status` with `{"mobile": …}`: the mobile stays out of URLs,
/// proxy logs and browser history. Both must match, or the answer is the same 404.
#[utoipa::path(post, path = "/v1/petitions/{tracking_code}/status", tag = "petitions",
    params(("tracking_code" = String, Path, description = "12 digits")),
    request_body(content = LookupInput, content_type = "application/json"),
    responses(
        (status = 200, description = "the petition's current status", body = StatusResponse),
        (status = 400, description = "malformed tracking code, mobile or body", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "no petition with this code and mobile", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not JSON", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "too many lookups for this code, mobile or address", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "unavailable", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    Path(raw_code): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StatusResponse>> {
    let body = super::body_or_413(body)?;
    let value = idempotency::json_body(&headers, &body)?;
    let input: LookupInput = serde_json::from_value(value).map_err(|e| Error::MalformedJson(e.to_string()))?;
    current_status(&state, &raw_code, input.mobile.as_deref()).await
}

/// `GET /v1/petitions/{tracking_code}?mobile=…`: deprecated for the POST look-up, which keeps the
/// mobile out of URLs; answered with `Deprecation` and a `Link` to its successor until clients moved.
#[utoipa::path(get, path = "/v1/petitions/{tracking_code}", tag = "petitions",
    params(("tracking_code" = String, Path, description = "12 digits"), StatusQuery),
    responses(
        (status = 200, description = "the petition's current status", body = StatusResponse),
        (status = 400, description = "malformed tracking code or mobile", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "no petition with this code and mobile", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "too many lookups", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "unavailable", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
    )
)]
#[deprecated = "use POST /v1/petitions/{tracking_code}/status"]
#[tracing::instrument(skip_all)]
pub(crate) async fn status(
    State(state): State<AppState>,
    Path(raw_code): Path<String>,
    Query(query): Query<StatusQuery>,
) -> Result<Response> {
    let found = current_status(&state, &raw_code, query.mobile.as_deref()).await?;
    let mut response = found.into_response();
    let headers = response.headers_mut();
    headers.insert("deprecation", HeaderValue::from_static("true"));
    if let Ok(link) = HeaderValue::from_str(&format!("</v1/petitions/{raw_code}/status>; rel=\"successor-version\"")) {
        headers.insert(axum::http::header::LINK, link);
    }
    Ok(response)
}

async fn current_status(state: &AppState, raw_code: &str, raw_mobile: Option<&str>) -> Result<Json<StatusResponse>> {
    let mut errors = ValidationErrors::default();
    let code = errors.check("tracking_code", TrackingCode::parse(raw_code));
    let mobile = match raw_mobile {
        Some(raw) => errors.check("mobile", Mobile::parse(raw)),
        None => {
            errors.push(pasokh_domain::FieldError::new("mobile", "field_missing", "mobile is required"));
            None
        }
    };
    let (Some(code), Some(mobile)) = (code, mobile) else {
        return Err(errors.into());
    };
    state.limits.check_citizen_lookup(code.as_str(), mobile.as_str())?;
    let petition = store::find_for_citizen(&state.pool, &code, &mobile).await?.ok_or(Error::NotFound("petition"))?;

    let mut routing = state.routing.clone();
    let mut request = tonic::Request::new(GetCaseRequest { petition_id: petition.id.to_string() });
    request.set_timeout(Duration::from_secs(2));
    // the case and its timeline are asked for at once: a look-up waits for one round trip, not two
    let (case, timeline) = tokio::join!(routing.get_case(request), citizen_timeline(state, petition.id));
    let case = match case {
        Ok(response) => Some(Some(response.into_inner())),
        Err(status) if status.code() == tonic::Code::NotFound => Some(None),
        Err(status) => {
            tracing::warn!(error = %status, "routing unavailable for status lookup");
            None
        }
    };
    let status_is_current = case.is_some();
    let case = case.flatten();
    let timeline = if case.is_some() { timeline } else { Vec::new() };
    let status = case.as_ref().and_then(|c| CaseStatus::parse(&c.status)).unwrap_or(CaseStatus::Submitted);
    let resolution_due = case.as_ref().and_then(|c| from_timestamp(c.resolution_due.as_ref()));
    Ok(Json(StatusResponse {
        tracking_code: petition.tracking_code.to_string(),
        status: status.as_str().to_owned(),
        status_fa: status.label_fa(),
        province: petition.province.to_string(),
        category: petition.category.to_string(),
        kind: petition.kind.to_string(),
        channel: petition.channel.to_string(),
        submitted_at: petition.created_at,
        submitted_at_jalali: format_jalali(pasokh_domain::tehran_date(petition.created_at)),
        organisation: case.as_ref().map(|c| c.organisation.clone()).filter(|o| !o.is_empty()),
        resolution_due_jalali: resolution_due.map(|d| format_jalali(pasokh_domain::tehran_date(d))),
        resolution_due,
        status_is_current,
        unit: case.as_ref().map(|c| c.unit.clone()).filter(|u| !u.is_empty()),
        first_response_due: case.as_ref().and_then(|c| from_timestamp(c.first_response_due.as_ref())),
        timeline,
    }))
}

/// The case's history for its citizen, from routing; empty when routing cannot say (the status still shows).
async fn citizen_timeline(state: &AppState, petition_id: uuid::Uuid) -> Vec<TimelineItem> {
    let mut routing = state.routing.clone();
    let mut request = tonic::Request::new(GetCaseRequest { petition_id: petition_id.to_string() });
    request.set_timeout(Duration::from_secs(2));
    let entries = match routing.get_citizen_timeline(request).await {
        Ok(timeline) => timeline.into_inner().entries,
        Err(status) if status.code() == tonic::Code::NotFound => return Vec::new(),
        Err(status) => {
            tracing::warn!(error = %status, "routing gave no timeline");
            return Vec::new();
        }
    };
    entries
        .into_iter()
        .filter_map(|entry| {
            let at = from_timestamp(entry.at.as_ref())?;
            let status = CaseStatus::parse(&entry.status)?;
            Some(TimelineItem {
                at,
                at_jalali: format_jalali(pasokh_domain::tehran_date(at)),
                status: status.as_str().to_owned(),
                status_fa: status.label_fa(),
                action: entry.action,
                message: entry.message,
            })
        })
        .collect()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct MobileInput {
    /// the mobile whose petitions are listed
    mobile: Option<String>,
}

/// A mobile's petition, as "my petitions" lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MobilePetition {
    #[schema(value_type = String)]
    tracking_code: TrackingCode,
    #[schema(value_type = String)]
    category: pasokh_domain::CategoryCode,
    #[schema(value_type = String)]
    kind: pasokh_domain::PetitionKind,
    #[schema(value_type = String)]
    channel: pasokh_domain::Channel,
    status: &'static str,
    status_fa: &'static str,
    organisation: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    submitted_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    resolution_due: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MobilePetitions {
    petitions: Vec<MobilePetition>,
}

/// `POST /v1/citizens/petitions` with `{"mobile": …}`, for the web's service account only: the
/// mobile's petitions in this province with their status. The web asks only after the citizen
/// proved, with a one-time code sent to that mobile, that the phone is theirs.
#[utoipa::path(post, path = "/v1/citizens/petitions", tag = "petitions", security(("bearer" = [])),
    request_body(content = MobileInput, content_type = "application/json"),
    responses(
        (status = 200, description = "the mobile's petitions, newest first", body = MobilePetitions),
        (status = 400, description = "malformed mobile", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        crate::http::openapi::AuthProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn of_mobile(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let authorization = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    state.verifier.service(authorization, &state.citizen_listing_clients).await.map_err(Error::from)?;
    let body = super::body_or_413(body)?;
    let input: MobileInput = serde_json::from_value(idempotency::json_body(&headers, &body)?)
        .map_err(|e| Error::MalformedJson(e.to_string()))?;
    let mut errors = ValidationErrors::default();
    let mobile = match input.mobile.as_deref() {
        Some(raw) => errors.check("mobile", Mobile::parse(raw)),
        None => {
            errors.push(pasokh_domain::FieldError::new("mobile", "field_missing", "mobile is required"));
            None
        }
    };
    let Some(mobile) = mobile else { return Err(errors.into()) };
    let petitions = store::petitions_of_mobile(&state.pool, &state.province.to_string(), &mobile).await?;
    let mut listed = Vec::with_capacity(petitions.len());
    for petition in petitions {
        let mut routing = state.routing.clone();
        let mut request = tonic::Request::new(GetCaseRequest { petition_id: petition.id.to_string() });
        request.set_timeout(Duration::from_secs(2));
        let case = routing.get_case(request).await.ok().map(tonic::Response::into_inner);
        let status = case.as_ref().and_then(|c| CaseStatus::parse(&c.status)).unwrap_or(CaseStatus::Submitted);
        let due = case.as_ref().and_then(|c| from_timestamp(c.resolution_due.as_ref()));
        listed.push(MobilePetition {
            tracking_code: petition.tracking_code,
            category: petition.category,
            kind: petition.kind,
            channel: petition.channel,
            status: status.as_str(),
            status_fa: status.label_fa(),
            organisation: case.as_ref().map(|c| c.organisation.clone()).filter(|o| !o.is_empty()),
            submitted_at: petition.created_at,
            resolution_due: due,
        });
    }
    Ok(Json(MobilePetitions { petitions: listed }).into_response())
}

//! The citizen at the desk: their earlier petitions (so a repeat joins the open case), and a
//! walk-in registered with the fewest fields, optionally resolved on the spot.
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use pasokh_domain::{Channel, FieldError, ValidationErrors, format_jalali};
use serde::Deserialize;
use uuid::Uuid;

use super::{FiledForCitizen, OpenEvent, bounded_text};
use crate::http::idempotency::IdempotentJson;
use crate::http::{AppState, idempotency};
use crate::store::desk::{self};
use crate::{Error, Result};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CitizenLookup {
    /// the walk-in's national id (8–10 digits, any digit set); in the body, never in a URL
    national_id: Option<String>,
}

/// A citizen's earlier petition, as the desk sees it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CitizenPetition {
    #[schema(value_type = String)]
    tracking_code: pasokh_domain::TrackingCode,
    #[schema(value_type = String)]
    category: pasokh_domain::CategoryCode,
    category_fa: String,
    #[schema(value_type = String, format = DateTime)]
    submitted_at: chrono::DateTime<chrono::Utc>,
    submitted_at_jalali: String,
    status: &'static str,
    status_fa: &'static str,
    /// still open (`CaseStatus::is_open`): a repeat joins it
    open: bool,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CitizenPetitions {
    petitions: Vec<CitizenPetition>,
}

/// `POST /v1/desk-events/{id}/citizen-petitions` with `{"national_id": …}`: the citizen's petitions
/// in this province of the last year, with their status at routing, so a repeat joins the open case.
#[utoipa::path(post, path = "/v1/desk-events/{id}/citizen-petitions", tag = "service desk", security(("bearer" = [])),
    params(("id" = String, Path, description = "desk event id")),
    request_body(content = CitizenLookup, content_type = "application/json"),
    responses(
        (status = 200, description = "the citizen's petitions, newest first", body = CitizenPetitions),
        (status = 400, description = "malformed national id", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        crate::http::openapi::AuthProblems,
        crate::http::openapi::DeskEventProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn citizen_petitions(
    State(state): State<AppState>,
    OpenEvent { event, .. }: OpenEvent,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let body = crate::http::body_or_413(body)?;
    let input: CitizenLookup = serde_json::from_value(idempotency::json_body(&headers, &body)?)
        .map_err(|e| Error::MalformedJson(e.to_string()))?;
    let mut errors = ValidationErrors::default();
    let national_id = match input.national_id.as_deref() {
        Some(raw) => errors.check("national_id", pasokh_domain::NationalId::parse(raw)),
        None => {
            errors.push(FieldError::new("national_id", "field_missing", "national_id is required"));
            None
        }
    };
    let Some(national_id) = national_id else { return Err(errors.into()) };
    let citizen_ref = pasokh_domain::CitizenRef::derive(&state.citizen_ref_key, &national_id);
    let earlier = desk::petitions_of_citizen(&state.pool, &event.province.to_string(), citizen_ref.as_str()).await?;
    let mut listed = Vec::with_capacity(earlier.len());
    for petition in earlier {
        let status = case_status(&state, petition.id).await;
        let status = status.unwrap_or(if petition.resolved_on_spot {
            pasokh_domain::CaseStatus::Closed
        } else {
            pasokh_domain::CaseStatus::Submitted
        });
        listed.push(CitizenPetition {
            category_fa: petition.category.category().name_fa.clone(),
            tracking_code: petition.tracking_code,
            category: petition.category,
            submitted_at: petition.created_at,
            submitted_at_jalali: format_jalali(pasokh_domain::tehran_date(petition.created_at)),
            status: status.as_str(),
            status_fa: status.label_fa(),
            open: status.is_open(),
        });
    }
    Ok(Json(CitizenPetitions { petitions: listed }).into_response())
}

/// The case's status at routing; none when routing does not know it (yet) or cannot be asked.
async fn case_status(state: &AppState, petition_id: Uuid) -> Option<pasokh_domain::CaseStatus> {
    let mut routing = state.routing.clone();
    let mut request =
        tonic::Request::new(pasokh_proto::routing::v1::GetCaseRequest { petition_id: petition_id.to_string() });
    request.set_timeout(std::time::Duration::from_secs(2));
    let case = routing.get_case(request).await.ok()?.into_inner();
    pasokh_domain::CaseStatus::parse(&case.status)
}

/// The answer given face to face.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct OnSpot {
    answer: Option<String>,
}

/// A walk-in: the fewest fields an operator must type.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct WalkInInput {
    #[serde(flatten)]
    citizen: FiledForCitizen,
    resolved_on_spot: Option<OnSpot>,
    /// tracking code of the citizen's open petition this visit repeats: routing adds it to that case
    repeat_of: Option<String>,
}

/// `POST /v1/desk-events/{id}/petitions`: registers a walk-in; optionally resolved on the spot.
#[utoipa::path(post, path = "/v1/desk-events/{id}/petitions", tag = "service desk", security(("bearer" = [])),
    params(("id" = String, Path, description = "desk event id"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = WalkInInput, content_type = "application/json"),
    responses(
        (status = 201, description = "filed (status closed when resolved on the spot)", body = crate::petitions::SubmittedResponse),
        crate::http::openapi::CreateProblems,
        crate::http::openapi::AuthProblems,
        crate::http::openapi::DeskEventProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn register_walk_in(
    State(state): State<AppState>,
    OpenEvent { event, .. }: OpenEvent,
    request: IdempotentJson,
) -> Result<Response> {
    let (province, key) = (state.province, &state.citizen_ref_key);
    request
        .file(&state, |value| {
            let input: WalkInInput = serde_json::from_value(value).map_err(|e| Error::MalformedJson(e.to_string()))?;
            let petition = input.citizen.petition(Channel::Desk, Some(event.id));
            let mut errors = ValidationErrors::default();
            let answer = input
                .resolved_on_spot
                .map(|spot| bounded_text(&mut errors, "resolved_on_spot.answer", spot.answer.as_deref(), 10, 4000));
            let repeat_of = match input.repeat_of.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                None => None,
                Some(raw) => match errors.check("repeat_of", pasokh_domain::TrackingCode::parse(raw)) {
                    Some(code) if code.province() != province => {
                        errors.push(FieldError::new(
                            "repeat_of",
                            "repeat_of_other_province",
                            "a repeat joins a petition of this province",
                        ));
                        None
                    }
                    code => code,
                },
            };
            if repeat_of.is_some() && answer.is_some() {
                errors.push(FieldError::new(
                    "repeat_of",
                    "repeat_resolved_on_spot",
                    "a visit resolved on the spot is its own petition, not a repeat",
                ));
            }
            let parsed = petition.parse(province, key);
            match parsed {
                Ok(mut petition) if errors.is_empty() => {
                    petition.on_spot_answer = answer.flatten();
                    petition.repeat_of = repeat_of;
                    Ok(petition)
                }
                Ok(_) => Err(errors.into()),
                Err(mut invalid) => {
                    invalid.errors.extend(errors.errors);
                    Err(invalid.into())
                }
            }
        })
        .await
}

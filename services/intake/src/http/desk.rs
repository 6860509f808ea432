//! The service desk (میز خدمت): events, walk-in registration, on-the-spot
//! resolution, face-to-face meetings with officials; and scanned letters.
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pasokh_domain::Action;
use pasokh_domain::{FieldError, Letter, ValidationErrors, format_jalali, normalize_text, organisations};
use pasokh_events::lifecycle;
use pasokh_platform::error_code::ErrorCode;
use pasokh_proto::events::v1::desk_activity::Body as DeskBody;
use pasokh_proto::events::v1::{DeskClosed, DeskOpened, MeetingHeld};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::StaffMember;
use super::{AppState, idempotency};
use crate::petitions::{AttachmentInput, PetitionInput};
use crate::store::desk::{self, DeskEvent, NewMeeting};
use crate::{Error, Result};

fn bounded_text(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    min: usize,
    max: usize,
) -> Option<String> {
    let text = normalize_text(value.unwrap_or_default());
    let chars = text.chars().count();
    if chars == 0 {
        errors.push(FieldError::new(field, "field_missing", format!("{field} is required")));
        return None;
    }
    if chars < min || chars > max {
        errors.push(FieldError::new(field, "text_length", format!("{field} must have {min}–{max} characters")));
        return None;
    }
    Some(text)
}

fn timestamp(errors: &mut ValidationErrors, field: &str, value: Option<&str>) -> Option<DateTime<Utc>> {
    match value.map(DateTime::parse_from_rfc3339) {
        Some(Ok(time)) => Some(time.with_timezone(&Utc)),
        Some(Err(_)) => {
            errors.push(FieldError::new(
                field,
                "timestamp_invalid",
                format!("{field} must be RFC 3339, e.g. 2026-12-04T09:00:00+03:30"),
            ));
            None
        }
        None => {
            errors.push(FieldError::new(field, "field_missing", format!("{field} is required")));
            None
        }
    }
}

fn organisation_codes(errors: &mut ValidationErrors, field: &str, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .enumerate()
        .filter_map(|(i, code)| {
            let code = code.trim().to_ascii_lowercase();
            if organisations().iter().any(|o| o.code == code) {
                Some(code)
            } else {
                errors.push(FieldError::new(
                    format!("{field}[{i}]"),
                    "organisation_unknown",
                    "not a known organisation code",
                ));
                None
            }
        })
        .collect()
}

/// A service-desk event.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct DeskEventInput {
    title: Option<String>,
    venue: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(default)]
    organisations: Vec<String>,
}

fn event_json(event: &DeskEvent) -> serde_json::Value {
    serde_json::json!({
        "id": event.id,
        "province": event.province,
        "title": event.title,
        "venue": event.venue,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "starts_at_jalali": format_jalali(pasokh_domain::tehran_date(event.starts_at)),
        "organisations": event.organisations,
    })
}

/// `POST /v1/desk-events` (supervisor of this province).
#[utoipa::path(post, path = "/v1/desk-events", tag = "service desk", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body(content = DeskEventInput, content_type = "application/json"),
    responses(
        (status = 201, description = "created", body = crate::http::openapi::DeskEventDocument),
        crate::http::openapi::CreateProblems,
        crate::http::openapi::AuthProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn create_event(
    State(state): State<AppState>,
    staff: StaffMember,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let claims = staff.require(Action::ManageDeskEvents, &state)?;
    let (input, claim): (DeskEventInput, _) =
        match idempotency::begin(&state, &headers, body, "/v1/desk-events").await? {
            idempotency::Begun::Replay(answer) => return Ok(answer),
            idempotency::Begun::Fresh(input, claim) => (input, claim),
        };
    let mut errors = ValidationErrors::default();
    let title = bounded_text(&mut errors, "title", input.title.as_deref(), 3, 200);
    let venue = bounded_text(&mut errors, "venue", input.venue.as_deref(), 3, 200);
    let starts_at = timestamp(&mut errors, "starts_at", input.starts_at.as_deref());
    let ends_at = timestamp(&mut errors, "ends_at", input.ends_at.as_deref());
    if let (Some(start), Some(end)) = (starts_at, ends_at)
        && (end <= start || end - start > chrono::Duration::days(31))
    {
        errors.push(FieldError::new(
            "ends_at",
            "event_window_invalid",
            "an event ends after it starts and lasts at most 31 days",
        ));
    }
    let organisations = organisation_codes(&mut errors, "organisations", &input.organisations);
    let (Some(title), Some(venue), Some(starts_at), Some(ends_at)) = (title, venue, starts_at, ends_at) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let event = DeskEvent {
        id: Uuid::now_v7(),
        province: state.province.to_string(),
        title,
        venue,
        starts_at,
        ends_at,
        organisations,
        closed_at: None,
    };
    let mut tx = state.pool.begin().await?;
    if let Some(answer) = idempotency::claim(&state, &mut tx, claim.as_ref()).await? {
        return Ok(answer);
    }
    desk::insert_event(&mut tx, &event, &claims.name).await?;
    let opened = DeskOpened {
        title: event.title.clone(),
        venue: event.venue.clone(),
        starts_at: Some(lifecycle::timestamp(event.starts_at)),
        ends_at: Some(lifecycle::timestamp(event.ends_at)),
        organisations: event.organisations.clone(),
    };
    publish_activity(&state, &mut tx, &event, DeskBody::Opened(opened)).await?;
    let created = idempotency::commit_created(tx, claim.as_ref(), event_json(&event)).await?;
    state.relay_waker.notify_one();
    tracing::info!(desk_event = %event.id, province = %event.province, "desk event created");
    Ok(created)
}

/// `GET /v1/desk-events`: this province's current and coming events.
#[utoipa::path(get, path = "/v1/desk-events", tag = "service desk", security(("bearer" = [])),
    responses(
        (status = 200, description = "current and coming events", body = crate::http::openapi::DeskEventList),
        crate::http::openapi::AuthProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_events(State(state): State<AppState>, staff: StaffMember) -> Result<Response> {
    staff.require(Action::FileAtDesk, &state)?;
    let events = desk::current_events(&state.pool, &state.province.to_string()).await?;
    Ok(Json(serde_json::json!({ "events": events.iter().map(event_json).collect::<Vec<_>>() })).into_response())
}

/// Enqueues what happened at the desk on the desk activity topic, in the caller's transaction.
async fn publish_activity(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    event: &DeskEvent,
    body: DeskBody,
) -> Result<()> {
    let activity = pasokh_events::desk::new_activity(event.id, &event.province, body);
    let source = format!("//pasokh/intake/{}", state.province);
    let message = pasokh_events::desk::outbox_message(&state.desk_topic, &source, &activity)
        .ok_or_else(|| Error::Config("desk activity could not be encoded".into()))?;
    pasokh_events::outbox::enqueue(tx, &message).await?;
    Ok(())
}

/// The event of this province, if the holder may do `action` at its desks.
async fn province_event(state: &AppState, staff: &StaffMember, id: &str, action: Action) -> Result<DeskEvent> {
    let claims = staff.require(action, state)?;
    let id = Uuid::parse_str(id).map_err(|_| Error::NotFound("desk event"))?;
    let event = desk::event(&state.pool, id).await?.ok_or(Error::NotFound("desk event"))?;
    if claims.province.is_none_or(|p| p.to_string() != event.province) {
        return Err(Error::Forbidden("this desk event belongs to another province".into()));
    }
    Ok(event)
}

/// The event, if the holder may register at it now.
async fn open_event(state: &AppState, staff: &StaffMember, id: &str) -> Result<DeskEvent> {
    let event = province_event(state, staff, id, Action::FileAtDesk).await?;
    if event.closed_at.is_some() {
        return Err(Error::Conflict(ErrorCode::DeskEventClosed, "this desk event was closed".into()));
    }
    let now = Utc::now();
    // a day's grace either side: desks set up early and paperwork finishes late
    if now < event.starts_at - chrono::Duration::days(1) || now > event.ends_at + chrono::Duration::days(1) {
        return Err(Error::Conflict(ErrorCode::DeskEventClosed, "this desk event is not open for registration".into()));
    }
    Ok(event)
}

/// `POST /v1/desk-events/{id}/close` (supervisor of this province): the desk packed up; closing twice is harmless.
#[utoipa::path(post, path = "/v1/desk-events/{id}/close", tag = "service desk", security(("bearer" = [])),
    params(("id" = String, Path, description = "desk event id")),
    responses(
        (status = 200, description = "closed", body = crate::http::openapi::DeskEventDocument),
        crate::http::openapi::AuthProblems,
        crate::http::openapi::DeskEventProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn close_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffMember,
) -> Result<Response> {
    let event = province_event(&state, &staff, &id, Action::ManageDeskEvents).await?;
    let mut tx = state.pool.begin().await?;
    if desk::close_event(&mut tx, event.id, &staff.0.name).await? {
        publish_activity(&state, &mut tx, &event, DeskBody::Closed(DeskClosed {})).await?;
        tx.commit().await?;
        state.relay_waker.notify_one();
        tracing::info!(desk_event = %event.id, "desk event closed");
    }
    let event = desk::event(&state.pool, event.id).await?.ok_or(Error::NotFound("desk event"))?;
    Ok(Json(event_json(&event)).into_response())
}

/// `GET /v1/desk-events/{id}/summary`: the event's live counter.
#[utoipa::path(get, path = "/v1/desk-events/{id}/summary", tag = "service desk", security(("bearer" = [])),
    params(("id" = String, Path, description = "desk event id")),
    responses(
        (status = 200, description = "counts so far", body = crate::store::desk::EventCounts),
        crate::http::openapi::AuthProblems,
        crate::http::openapi::DeskEventProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn event_summary(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffMember,
) -> Result<Response> {
    let event = province_event(&state, &staff, &id, Action::FileAtDesk).await?;
    Ok(Json(desk::event_counts(&state.pool, &event).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CitizenLookup {
    /// the walk-in's national id (8–10 digits, any digit set); in the body, never in a URL
    national_id: Option<String>,
}

/// `POST /v1/desk-events/{id}/citizen-petitions` with `{"national_id": …}`: the citizen's petitions
/// in this province of the last year, with their status at routing, so a repeat joins the open case.
#[utoipa::path(post, path = "/v1/desk-events/{id}/citizen-petitions", tag = "service desk", security(("bearer" = [])),
    params(("id" = String, Path, description = "desk event id")),
    request_body(content = CitizenLookup, content_type = "application/json"),
    responses(
        (status = 200, description = "the citizen's petitions, newest first", body = crate::http::openapi::CitizenPetitions),
        (status = 400, description = "malformed national id", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        crate::http::openapi::AuthProblems,
        crate::http::openapi::DeskEventProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn citizen_petitions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffMember,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let event = open_event(&state, &staff, &id).await?;
    let body = super::body_or_413(body)?;
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
    let earlier = desk::petitions_of_citizen(&state.pool, &event.province, citizen_ref.as_str()).await?;
    let mut listed = Vec::with_capacity(earlier.len());
    for petition in earlier {
        let status = case_status(&state, petition.id).await;
        let status = status.unwrap_or(if petition.resolved_on_spot {
            pasokh_domain::CaseStatus::Closed
        } else {
            pasokh_domain::CaseStatus::Submitted
        });
        let category = pasokh_domain::CategoryCode::parse(&petition.category).ok();
        listed.push(serde_json::json!({
            "tracking_code": petition.tracking_code,
            "category": petition.category,
            "category_fa": category.map(|c| c.category().name_fa.clone()),
            "submitted_at": petition.created_at,
            "submitted_at_jalali": format_jalali(pasokh_domain::tehran_date(petition.created_at)),
            "status": status.as_str(),
            "status_fa": status.label_fa(),
            "open": !matches!(status, pasokh_domain::CaseStatus::Closed | pasokh_domain::CaseStatus::Rejected | pasokh_domain::CaseStatus::Merged),
        }));
    }
    Ok(Json(serde_json::json!({ "petitions": listed })).into_response())
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
    national_id: Option<String>,
    mobile: Option<String>,
    category: Option<String>,
    text: Option<String>,
    kind: Option<String>,
    county: Option<String>,
    attachments: Option<Vec<AttachmentInput>>,
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
    Path(id): Path<String>,
    staff: StaffMember,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let event = open_event(&state, &staff, &id).await?;
    let body = super::body_or_413(body)?;
    let (province, key) = (state.province, &state.citizen_ref_key);
    let route = format!("/v1/desk-events/{}/petitions", event.id);
    idempotency::create_petition(&state, &headers, &body, &route, |value| {
        let input: WalkInInput = serde_json::from_value(value).map_err(|e| Error::MalformedJson(e.to_string()))?;
        let petition = PetitionInput {
            national_id: input.national_id,
            mobile: input.mobile,
            province: None,
            category: input.category,
            kind: Some(input.kind.unwrap_or_else(|| "request".into())),
            channel: Some("desk".into()),
            text: input.text,
            county: input.county,
            attachments: input.attachments,
            desk_event_id: Some(event.id.to_string()),
        };
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct MeetingInput {
    official_name: Option<String>,
    official_title: Option<String>,
    organisation: Option<String>,
    tracking_code: Option<String>,
    notes: Option<String>,
    /// what the official promised to do, up to 2000 characters
    promise: Option<String>,
    /// by when: `YYYY-MM-DD` or Jalali `YYYY/MM/DD`; required with a promise, not before today
    promise_due: Option<String>,
}

/// An official's promise and its due date: both or neither.
fn promise(
    errors: &mut ValidationErrors,
    text: Option<&str>,
    due: Option<&str>,
    today: chrono::NaiveDate,
) -> (Option<String>, Option<chrono::NaiveDate>) {
    let text = normalize_text(text.unwrap_or_default());
    let due = due.map(str::trim).filter(|d| !d.is_empty());
    if text.is_empty() {
        if due.is_some() {
            errors.push(FieldError::new("promise", "field_missing", "a due date needs the promise it is for"));
        }
        return (None, None);
    }
    if text.chars().count() > 2000 {
        errors.push(FieldError::new("promise", "text_length", "promise must have at most 2000 characters"));
    }
    let due = match due.map(|d| (d, pasokh_domain::parse_date(d))) {
        None => {
            errors.push(FieldError::new("promise_due", "field_missing", "a promise needs its due date"));
            None
        }
        Some((_, None)) => {
            errors.push(FieldError::new(
                "promise_due",
                "date_invalid",
                "promise_due must be YYYY-MM-DD or Jalali YYYY/MM/DD",
            ));
            None
        }
        Some((_, Some(date))) if date < today => {
            errors.push(FieldError::new("promise_due", "date_in_past", "promise_due cannot be before today"));
            None
        }
        Some((_, Some(date))) => Some(date),
    };
    (Some(text), due)
}

/// `POST /v1/desk-events/{id}/meetings`: a citizen met an official face to face.
#[utoipa::path(post, path = "/v1/desk-events/{id}/meetings", tag = "service desk", security(("bearer" = [])),
    params(("id" = String, Path, description = "desk event id"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = MeetingInput, content_type = "application/json"),
    responses(
        (status = 201, description = "recorded", body = crate::http::openapi::MeetingDocument),
        crate::http::openapi::CreateProblems,
        crate::http::openapi::AuthProblems,
        crate::http::openapi::DeskEventProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn record_meeting(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffMember,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let event = open_event(&state, &staff, &id).await?;
    let route = format!("/v1/desk-events/{}/meetings", event.id);
    let (input, claim): (MeetingInput, _) = match idempotency::begin(&state, &headers, body, &route).await? {
        idempotency::Begun::Replay(answer) => return Ok(answer),
        idempotency::Begun::Fresh(input, claim) => (input, claim),
    };
    let mut errors = ValidationErrors::default();
    let name = bounded_text(&mut errors, "official_name", input.official_name.as_deref(), 3, 200);
    let title = bounded_text(&mut errors, "official_title", input.official_title.as_deref(), 2, 200);
    let organisation =
        organisation_codes(&mut errors, "organisation", &[input.organisation.unwrap_or_default()]).into_iter().next();
    let tracking_code = match input.tracking_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(raw) => errors.check("tracking_code", pasokh_domain::TrackingCode::parse(raw)).map(|c| c.to_string()),
        None => None,
    };
    let notes = normalize_text(input.notes.as_deref().unwrap_or_default());
    if notes.chars().count() > 4000 {
        errors.push(FieldError::new("notes", "text_length", "notes must have at most 4000 characters"));
    }
    let (promise, promise_due) = promise(
        &mut errors,
        input.promise.as_deref(),
        input.promise_due.as_deref(),
        pasokh_domain::tehran_date(Utc::now()),
    );
    let (Some(official_name), Some(official_title), Some(organisation)) = (name, title, organisation) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let meeting = NewMeeting {
        id: Uuid::now_v7(),
        desk_event_id: event.id,
        official_name,
        official_title,
        organisation,
        tracking_code,
        notes,
        promise,
        promise_due,
    };
    let mut tx = state.pool.begin().await?;
    if let Some(answer) = idempotency::claim(&state, &mut tx, claim.as_ref()).await? {
        return Ok(answer);
    }
    let recorded_at = desk::insert_meeting(&mut tx, &meeting, &staff.0.name).await?;
    let held = MeetingHeld {
        meeting_id: meeting.id.to_string(),
        organisation: meeting.organisation.clone(),
        official_title: meeting.official_title.clone(),
        tracking_code: meeting.tracking_code.clone().unwrap_or_default(),
        has_promise: meeting.promise.is_some(),
        promise_due: meeting.promise_due.map(|d| d.to_string()).unwrap_or_default(),
    };
    publish_activity(&state, &mut tx, &event, DeskBody::MeetingHeld(held)).await?;
    let created = idempotency::commit_created(
        tx,
        claim.as_ref(),
        serde_json::json!({
            "id": meeting.id,
            "desk_event_id": event.id,
            "official_name": meeting.official_name,
            "organisation": meeting.organisation,
            "tracking_code": meeting.tracking_code,
            "promise": meeting.promise,
            "promise_due": meeting.promise_due,
            "promise_due_jalali": meeting.promise_due.map(format_jalali),
            "recorded_at": recorded_at,
            "recorded_at_jalali": format_jalali(pasokh_domain::tehran_date(recorded_at)),
        }),
    )
    .await;
    state.relay_waker.notify_one();
    created
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LetterFields {
    reference: Option<String>,
    received_on: Option<String>,
    pages: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LetterInput {
    national_id: Option<String>,
    mobile: Option<String>,
    category: Option<String>,
    kind: Option<String>,
    /// a summary of the letter, typed by the operator
    text: Option<String>,
    county: Option<String>,
    attachments: Option<Vec<AttachmentInput>>,
    letter: Option<LetterFields>,
}

/// `POST /v1/letters`: an operator registers a scanned letter as a petition (channel `letter`).
/// The day a letter may be dated at the latest: today in Tehran, where the desk is. UTC's date
/// refused a letter dated today between midnight and 03:30 (finding 24).
fn letters_today(now: chrono::DateTime<Utc>) -> chrono::NaiveDate {
    pasokh_domain::tehran_date(now)
}

#[utoipa::path(post, path = "/v1/letters", tag = "service desk", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body(content = LetterInput, content_type = "application/json"),
    responses(
        (status = 201, description = "filed", body = crate::petitions::SubmittedResponse),
        crate::http::openapi::CreateProblems,
        crate::http::openapi::AuthProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn register_letter(
    State(state): State<AppState>,
    staff: StaffMember,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    staff.require(Action::FileAtDesk, &state)?;
    let body = super::body_or_413(body)?;
    let (province, key) = (state.province, &state.citizen_ref_key);
    idempotency::create_petition(&state, &headers, &body, "/v1/letters", |value| {
        let input: LetterInput = serde_json::from_value(value).map_err(|e| Error::MalformedJson(e.to_string()))?;
        let fields = input.letter.unwrap_or(LetterFields { reference: None, received_on: None, pages: None });
        let letter = Letter::parse(
            fields.reference.as_deref().unwrap_or_default(),
            fields.received_on.as_deref().unwrap_or_default(),
            fields.pages.unwrap_or_default(),
            letters_today(Utc::now()),
        );
        let petition = PetitionInput {
            national_id: input.national_id,
            mobile: input.mobile,
            province: None,
            category: input.category,
            kind: Some(input.kind.unwrap_or_else(|| "request".into())),
            channel: Some("letter".into()),
            text: input.text,
            county: input.county,
            attachments: input.attachments,
            desk_event_id: None,
        }
        .parse(province, key);
        match (petition, letter) {
            (Ok(mut petition), Ok(letter)) => {
                petition.letter = Some(letter);
                Ok(petition)
            }
            (petition, letter) => {
                let mut errors = petition.err().unwrap_or_default();
                errors.errors.extend(letter.err().unwrap_or_default());
                Err(errors.into())
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone as _;

    #[test]
    fn a_letter_dated_today_is_not_from_the_future_just_after_midnight_in_tehran() {
        // 00:30 on 2 December in Tehran is still 1 December in UTC
        let just_after_midnight = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 21, 0, 0).unwrap();
        assert_eq!(super::letters_today(just_after_midnight), chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap());
    }
}

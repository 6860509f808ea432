//! A citizen's face-to-face meeting with an official, and the official's promise.
use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use pasokh_domain::{FieldError, ValidationErrors, format_jalali, normalize_text};
use pasokh_proto::events::v1::MeetingHeld;
use pasokh_proto::events::v1::desk_activity::Body as DeskBody;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{OpenEvent, bounded_text, organisation_codes, publish_activity};
use crate::Result;
use crate::http::idempotency::{IdempotentJson, NextAction};
use crate::http::{AppState, idempotency};
use crate::store::desk::{self, NewMeeting};

/// A meeting as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MeetingDocument {
    #[schema(value_type = String)]
    id: Uuid,
    #[schema(value_type = String)]
    desk_event_id: Uuid,
    official_name: String,
    organisation: String,
    tracking_code: Option<String>,
    promise: Option<String>,
    /// `YYYY-MM-DD`
    #[schema(value_type = Option<String>, format = Date)]
    promise_due: Option<chrono::NaiveDate>,
    promise_due_jalali: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    recorded_at: chrono::DateTime<Utc>,
    recorded_at_jalali: String,
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
        (status = 201, description = "recorded", body = MeetingDocument),
        crate::http::openapi::CreateProblems,
        crate::http::openapi::AuthProblems,
        crate::http::openapi::DeskEventProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn record_meeting(
    State(state): State<AppState>,
    OpenEvent { event, staff }: OpenEvent,
    request: IdempotentJson,
) -> Result<Response> {
    let (input, claim): (MeetingInput, _) = match request.begin(&state).await? {
        NextAction::ReturnSavedAnswer(answer) => return Ok(answer),
        NextAction::StartProcessing(input, claim) => (input, claim),
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
        &MeetingDocument {
            id: meeting.id,
            desk_event_id: event.id,
            official_name: meeting.official_name,
            organisation: meeting.organisation,
            tracking_code: meeting.tracking_code,
            promise: meeting.promise,
            promise_due: meeting.promise_due,
            promise_due_jalali: meeting.promise_due.map(format_jalali),
            recorded_at,
            recorded_at_jalali: format_jalali(pasokh_domain::tehran_date(recorded_at)),
        },
    )
    .await;
    state.relay_waker.notify_one();
    created
}

//! The service desk (میز خدمت): events, walk-in registration, on-the-spot
//! resolution, face-to-face meetings with officials; and scanned letters.
//!
//! A module each: `events` (an event's life: created, listed, closed, counted), `walk_ins`
//! (the citizen at the desk: earlier petitions, registration, resolution on the spot),
//! `meetings` (with officials, and their promises) and `letters`; this file what they share.
pub(crate) mod events;
pub(crate) mod letters;
pub(crate) mod meetings;
pub(crate) mod walk_ins;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use pasokh_domain::{Action, Channel, PetitionKind};
use pasokh_domain::{FieldError, ValidationErrors, normalize_text, organisations};
use pasokh_platform::error_code::ErrorCode;
use pasokh_proto::events::v1::desk_activity::Body as DeskBody;
use serde::Deserialize;
use uuid::Uuid;

use crate::http::AppState;
use crate::http::auth::StaffMember;
use crate::petitions::{AttachmentInput, PetitionInput};
use crate::store::desk::{self, DeskEvent};
use crate::{Error, Result};

/// What an operator types about the citizen and the petition, whatever brought it to the desk
/// (a walk-in or a letter); the rest of each request says how it came.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct FiledForCitizen {
    national_id: Option<String>,
    mobile: Option<String>,
    category: Option<String>,
    /// `request` unless said otherwise
    kind: Option<String>,
    /// what the citizen asks; for a letter, a summary typed by the operator
    text: Option<String>,
    county: Option<String>,
    attachments: Option<Vec<AttachmentInput>>,
}

impl FiledForCitizen {
    /// The petition to parse with the web's rules, in this deployment's province.
    pub(super) fn petition(self, channel: Channel, desk_event_id: Option<Uuid>) -> PetitionInput {
        PetitionInput {
            national_id: self.national_id,
            mobile: self.mobile,
            province: None,
            category: self.category,
            kind: Some(self.kind.unwrap_or_else(|| PetitionKind::Request.as_str().into())),
            channel: Some(channel.as_str().into()),
            text: self.text,
            county: self.county,
            attachments: self.attachments,
            desk_event_id: desk_event_id.map(|id| id.to_string()),
        }
    }
}

pub(super) fn bounded_text(
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

pub(super) fn timestamp(errors: &mut ValidationErrors, field: &str, value: Option<&str>) -> Option<DateTime<Utc>> {
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

pub(super) fn organisation_codes(errors: &mut ValidationErrors, field: &str, codes: &[String]) -> Vec<String> {
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

/// Enqueues what happened at the desk on the desk activity topic, in the caller's transaction.
pub(super) async fn publish_activity(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    event: &DeskEvent,
    body: DeskBody,
) -> Result<()> {
    let activity = pasokh_events::desk::new_activity(event.id, &event.province.to_string(), body);
    let source = format!("//pasokh/intake/{}", state.province);
    let message = pasokh_events::desk::outbox_message(&state.desk_topic, &source, &activity)
        .ok_or_else(|| Error::Config("desk activity could not be encoded".into()))?;
    pasokh_events::outbox::enqueue(tx, &message).await?;
    Ok(())
}

/// The event of this province, if the holder may do `action` at its desks.
pub(super) async fn province_event(
    state: &AppState,
    staff: &StaffMember,
    id: &str,
    action: Action,
) -> Result<DeskEvent> {
    let claims = staff.require(action, state)?;
    let id = Uuid::parse_str(id).map_err(|_| Error::NotFound("desk event"))?;
    let event = desk::event(&state.pool, id).await?.ok_or(Error::NotFound("desk event"))?;
    if claims.province != Some(event.province) {
        return Err(Error::Forbidden("this desk event belongs to another province".into()));
    }
    Ok(event)
}

/// The open desk event of the path's `{id}`, for a member of staff who may file at it: the
/// extractor of every handler that registers something at an event, checked before the body is read
/// (401/403, then 404 or 409 `desk_event_closed`).
pub(super) struct OpenEvent {
    pub event: DeskEvent,
    pub staff: StaffMember,
}

impl FromRequestParts<AppState> for OpenEvent {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let staff = StaffMember::from_request_parts(parts, state).await?;
        let Path(id) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|_| Error::NotFound("desk event"))?;
        let event = open_event(state, &staff, &id).await?;
        Ok(Self { event, staff })
    }
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

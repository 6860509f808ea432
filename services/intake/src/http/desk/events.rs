//! A desk event's life: created by a supervisor, listed, closed, and its live counter.
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pasokh_domain::Action;
use pasokh_domain::ProvinceCode;
use pasokh_domain::{FieldError, ValidationErrors, format_jalali};
use pasokh_events::lifecycle;
use pasokh_proto::events::v1::desk_activity::Body as DeskBody;
use pasokh_proto::events::v1::{DeskClosed, DeskOpened};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{bounded_text, organisation_codes, province_event, publish_activity, timestamp};
use crate::http::auth::StaffMember;
use crate::http::idempotency::{IdempotentJson, NextAction};
use crate::http::{AppState, idempotency};
use crate::store::desk::{self, DeskEvent};
use crate::{Error, Result};

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

/// A desk event as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeskEventDocument {
    #[schema(value_type = String)]
    id: Uuid,
    #[schema(value_type = String, example = "IR-23")]
    province: ProvinceCode,
    title: String,
    venue: String,
    #[schema(value_type = String, format = DateTime)]
    starts_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    ends_at: DateTime<Utc>,
    starts_at_jalali: String,
    organisations: Vec<String>,
}

impl From<&DeskEvent> for DeskEventDocument {
    fn from(event: &DeskEvent) -> Self {
        Self {
            id: event.id,
            province: event.province,
            title: event.title.clone(),
            venue: event.venue.clone(),
            starts_at: event.starts_at,
            ends_at: event.ends_at,
            starts_at_jalali: format_jalali(pasokh_domain::tehran_date(event.starts_at)),
            organisations: event.organisations.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeskEventList {
    events: Vec<DeskEventDocument>,
}

/// `POST /v1/desk-events` (supervisor of this province).
#[utoipa::path(post, path = "/v1/desk-events", tag = "service desk", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body(content = DeskEventInput, content_type = "application/json"),
    responses(
        (status = 201, description = "created", body = DeskEventDocument),
        crate::http::openapi::CreateProblems,
        crate::http::openapi::AuthProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn create_event(
    State(state): State<AppState>,
    staff: StaffMember,
    request: IdempotentJson,
) -> Result<Response> {
    let claims = staff.require(Action::ManageDeskEvents, &state)?;
    let (input, claim): (DeskEventInput, _) = match request.begin(&state).await? {
        NextAction::ReturnSavedAnswer(answer) => return Ok(answer),
        NextAction::StartProcessing(input, claim) => (input, claim),
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
        province: state.province,
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
    let created = idempotency::commit_created(tx, claim.as_ref(), &DeskEventDocument::from(&event)).await?;
    state.relay_waker.notify_one();
    tracing::info!(desk_event = %event.id, province = %event.province, "desk event created");
    Ok(created)
}

/// `GET /v1/desk-events`: this province's current and coming events.
#[utoipa::path(get, path = "/v1/desk-events", tag = "service desk", security(("bearer" = [])),
    responses(
        (status = 200, description = "current and coming events", body = DeskEventList),
        crate::http::openapi::AuthProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_events(State(state): State<AppState>, staff: StaffMember) -> Result<Response> {
    staff.require(Action::FileAtDesk, &state)?;
    let events = desk::current_events(&state.pool, &state.province.to_string()).await?;
    Ok(Json(DeskEventList { events: events.iter().map(DeskEventDocument::from).collect() }).into_response())
}

/// `POST /v1/desk-events/{id}/close` (supervisor of this province): the desk packed up; closing twice is harmless.
#[utoipa::path(post, path = "/v1/desk-events/{id}/close", tag = "service desk", security(("bearer" = [])),
    params(("id" = String, Path, description = "desk event id")),
    responses(
        (status = 200, description = "closed", body = DeskEventDocument),
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
    Ok(Json(DeskEventDocument::from(&event)).into_response())
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

//! Desk events and the meetings recorded at them.
use chrono::{DateTime, Utc};
use pasokh_domain::{CategoryCode, ProvinceCode, TrackingCode};
use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub(crate) struct DeskEvent {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub province: ProvinceCode,
    pub title: String,
    pub venue: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub organisations: Vec<String>,
    /// set when a supervisor closed the desk
    pub closed_at: Option<DateTime<Utc>>,
}

#[tracing::instrument(skip_all, fields(event_id = %event.id))]
pub(crate) async fn insert_event(conn: &mut sqlx::PgConnection, event: &DeskEvent, created_by: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO desk_events (id, province, title, venue, starts_at, ends_at, organisations, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.id)
    .bind(event.province.to_string())
    .bind(&event.title)
    .bind(&event.venue)
    .bind(event.starts_at)
    .bind(event.ends_at)
    .bind(&event.organisations)
    .bind(created_by)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(event_id = %id))]
pub(crate) async fn event(pool: &PgPool, id: Uuid) -> Result<Option<DeskEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, province, title, venue, starts_at, ends_at, organisations, closed_at FROM desk_events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Events of a province that are not closed and have not ended more than a day ago, soonest first.
#[tracing::instrument(skip_all, fields(province))]
pub(crate) async fn current_events(pool: &PgPool, province: &str) -> Result<Vec<DeskEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, province, title, venue, starts_at, ends_at, organisations, closed_at FROM desk_events \
         WHERE province = $1 AND closed_at IS NULL AND ends_at > now() - interval '1 day' \
         ORDER BY starts_at LIMIT 200",
    )
    .bind(province)
    .fetch_all(pool)
    .await?)
}

pub(crate) struct NewMeeting {
    pub id: Uuid,
    pub desk_event_id: Uuid,
    pub official_name: String,
    pub official_title: String,
    pub organisation: String,
    pub tracking_code: Option<String>,
    pub notes: String,
    pub promise: Option<String>,
    pub promise_due: Option<chrono::NaiveDate>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn insert_meeting(
    conn: &mut sqlx::PgConnection,
    meeting: &NewMeeting,
    recorded_by: &str,
) -> Result<DateTime<Utc>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO desk_meetings (id, desk_event_id, official_name, official_title, organisation, tracking_code, notes, \
             recorded_by, promise, promise_due) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING recorded_at",
    )
    .bind(meeting.id)
    .bind(meeting.desk_event_id)
    .bind(&meeting.official_name)
    .bind(&meeting.official_title)
    .bind(&meeting.organisation)
    .bind(&meeting.tracking_code)
    .bind(&meeting.notes)
    .bind(recorded_by)
    .bind(&meeting.promise)
    .bind(meeting.promise_due)
    .fetch_one(conn)
    .await?)
}

/// Closes an open event; false when it was closed already.
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub(crate) async fn close_event(conn: &mut sqlx::PgConnection, id: Uuid, closed_by: &str) -> Result<bool> {
    let closed =
        sqlx::query("UPDATE desk_events SET closed_at = now(), closed_by = $2 WHERE id = $1 AND closed_at IS NULL")
            .bind(id)
            .bind(closed_by)
            .execute(conn)
            .await?;
    Ok(closed.rows_affected() == 1)
}

/// What a desk event has done so far: the live counter of the console.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub(crate) struct EventCounts {
    /// walk-ins registered
    pub registered: i64,
    /// of which answered face to face
    #[sqlx(rename = "on_spot")]
    pub resolved_on_spot: i64,
    /// meetings with officials
    pub meetings: i64,
    /// promises officials made at those meetings
    pub promises: i64,
}

#[tracing::instrument(skip_all, fields(event_id = %event.id))]
pub(crate) async fn event_counts(pool: &PgPool, event: &DeskEvent) -> Result<EventCounts> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM petitions WHERE province = $2 AND desk_event_id = $1) AS registered, \
                (SELECT count(*) FROM petitions WHERE province = $2 AND desk_event_id = $1 AND resolved_on_spot) AS on_spot, \
                (SELECT count(*) FROM desk_meetings WHERE desk_event_id = $1) AS meetings, \
                (SELECT count(*) FROM desk_meetings WHERE desk_event_id = $1 AND promise IS NOT NULL) AS promises",
    )
    .bind(event.id)
    .bind(event.province.to_string())
    .fetch_one(pool)
    .await?)
}

/// A citizen's earlier petition, as the desk sees it before registering a new one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EarlierPetition {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub tracking_code: TrackingCode,
    #[sqlx(try_from = "String")]
    pub category: CategoryCode,
    pub created_at: DateTime<Utc>,
    pub resolved_on_spot: bool,
}

/// The citizen's petitions in this province of the last year, newest first.
#[tracing::instrument(skip_all)]
pub(crate) async fn petitions_of_citizen(
    pool: &PgPool,
    province: &str,
    citizen_ref: &str,
) -> Result<Vec<EarlierPetition>> {
    Ok(sqlx::query_as(
        "SELECT id, tracking_code, category, created_at, resolved_on_spot FROM petitions \
         WHERE province = $1 AND citizen_ref = $2 AND created_at > now() - interval '1 year' \
         ORDER BY created_at DESC LIMIT 10",
    )
    .bind(province)
    .bind(citizen_ref)
    .fetch_all(pool)
    .await?)
}

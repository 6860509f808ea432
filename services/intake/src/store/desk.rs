//! Desk events and the meetings recorded at them.
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::Result;

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct DeskEvent {
    pub id: Uuid,
    pub province: String,
    pub title: String,
    pub venue: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub organisations: Vec<String>,
}

pub(crate) async fn insert_event(conn: &mut sqlx::PgConnection, event: &DeskEvent, created_by: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO desk_events (id, province, title, venue, starts_at, ends_at, organisations, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.id)
    .bind(&event.province)
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

fn event_from_row(row: &sqlx::postgres::PgRow) -> DeskEvent {
    DeskEvent {
        id: row.get("id"),
        province: row.get("province"),
        title: row.get("title"),
        venue: row.get("venue"),
        starts_at: row.get("starts_at"),
        ends_at: row.get("ends_at"),
        organisations: row.get("organisations"),
    }
}

pub(crate) async fn event(pool: &PgPool, id: Uuid) -> Result<Option<DeskEvent>> {
    let row = sqlx::query(
        "SELECT id, province, title, venue, starts_at, ends_at, organisations FROM desk_events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(event_from_row))
}

/// Events of a province that have not ended more than a day ago, soonest first.
pub(crate) async fn current_events(pool: &PgPool, province: &str) -> Result<Vec<DeskEvent>> {
    let rows = sqlx::query(
        "SELECT id, province, title, venue, starts_at, ends_at, organisations FROM desk_events \
         WHERE province = $1 AND ends_at > now() - interval '1 day' ORDER BY starts_at LIMIT 200",
    )
    .bind(province)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(event_from_row).collect())
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

pub(crate) async fn insert_meeting(
    conn: &mut sqlx::PgConnection,
    meeting: &NewMeeting,
    recorded_by: &str,
) -> Result<DateTime<Utc>> {
    let row = sqlx::query(
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
    .await?;
    Ok(row.get("recorded_at"))
}

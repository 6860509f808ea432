//! The delivery ledger.
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::Result;
use crate::templates::Message;

/// Records that `source_event_id` calls for `message` on `channel`; a second call for the same pair does nothing.
pub(crate) async fn record_delivery(
    conn: &mut PgConnection,
    source_event_id: Uuid,
    channel: &str,
    petition_id: Uuid,
    message: &Message,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO deliveries (source_event_id, channel, petition_id, template, params) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (source_event_id, channel) DO NOTHING",
    )
    .bind(source_event_id)
    .bind(channel)
    .bind(petition_id)
    .bind(message.name())
    .bind(sqlx::types::Json(message))
    .execute(conn)
    .await?
    .rows_affected()
        == 1;
    Ok(inserted)
}

pub(crate) struct PendingDelivery {
    pub id: i64,
    pub source_event_id: Uuid,
    pub channel: String,
    pub petition_id: Uuid,
    pub message: Message,
    pub attempts: i32,
}

/// Claims the oldest due delivery; the row stays locked until the caller's transaction ends.
pub(crate) async fn claim_due(conn: &mut PgConnection) -> Result<Option<PendingDelivery>> {
    let row = sqlx::query(
        "SELECT id, source_event_id, channel, petition_id, params, attempts FROM deliveries \
         WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let params: sqlx::types::Json<Message> = row.try_get("params")?;
    Ok(Some(PendingDelivery {
        id: row.try_get("id")?,
        source_event_id: row.try_get("source_event_id")?,
        channel: row.try_get("channel")?,
        petition_id: row.try_get("petition_id")?,
        message: params.0,
        attempts: row.try_get("attempts")?,
    }))
}

pub(crate) async fn mark_sent(conn: &mut PgConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = now(), last_error = '' WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn mark_failed(conn: &mut PgConnection, id: i64, error: &str) -> Result<()> {
    sqlx::query("UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn schedule_retry(conn: &mut PgConnection, id: i64, error: &str, delay_secs: i64) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET attempts = attempts + 1, last_error = $2, \
         next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(delay_secs as f64)
    .execute(conn)
    .await?;
    Ok(())
}

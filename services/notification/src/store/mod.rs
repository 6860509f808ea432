//! The delivery ledger: `pending` → `sending` (claimed with a lease, committed before the
//! gateway call) → `sent`, back to `pending` for a retry, or `failed` once the retry budget is
//! spent. `requeue_failed` puts failed deliveries back.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
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

#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub id: i64,
    pub source_event_id: Uuid,
    pub channel: String,
    pub petition_id: Uuid,
    pub message: Message,
    /// gateway calls so far, this one included
    pub attempts: i32,
    pub retry_from: DateTime<Utc>,
}

impl Claimed {
    /// The key the gateway deduplicates on: the same for every attempt of this delivery.
    pub(crate) fn idempotency_key(&self) -> String {
        format!("{}-{}", self.source_event_id, self.channel)
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    source_event_id: Uuid,
    channel: String,
    petition_id: Uuid,
    params: sqlx::types::Json<Message>,
    attempts: i32,
    retry_from: DateTime<Utc>,
}

/// Claims up to `limit` due deliveries (pending and due, or sending with an expired lease) for
/// `lease_secs`, and commits the claim. Only the oldest unsent delivery of a petition is ever
/// due, so a citizen's messages reach the gateway in the order they were recorded.
pub(crate) async fn claim_due(pool: &PgPool, limit: i64, lease_secs: f64) -> Result<Vec<Claimed>> {
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "WITH due AS ( \
           SELECT d.id FROM deliveries d \
           WHERE ((d.status = 'pending' AND d.next_attempt_at <= now()) \
                  OR (d.status = 'sending' AND d.lease_until <= now())) \
             AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.petition_id = d.petition_id AND e.id < d.id \
                             AND e.status IN ('pending', 'sending')) \
           ORDER BY d.id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, \
                lease_until = now() + make_interval(secs => $2) \
         FROM due WHERE d.id = due.id \
         RETURNING d.id, d.source_event_id, d.channel, d.petition_id, d.params, d.attempts, d.retry_from",
    )
    .bind(limit)
    .bind(lease_secs)
    .fetch_all(pool)
    .await?;
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            source_event_id: r.source_event_id,
            channel: r.channel,
            petition_id: r.petition_id,
            message: r.params.0,
            attempts: r.attempts,
            retry_from: r.retry_from,
        })
        .collect();
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// The gateway took the message. Only the holder of a live claim records it: a claim that
/// expired and was taken again belongs to its new holder.
pub(crate) async fn mark_sent(conn: &mut PgConnection, id: i64, gateway_reference: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = '', failure_class = '', \
         gateway_reference = $2, lease_until = NULL WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(gateway_reference)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Gives up on the delivery; `false` if it was not ours to record any more.
pub(crate) async fn mark_failed(conn: &mut PgConnection, id: i64, class: &str, error: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE deliveries SET status = 'failed', failed_at = now(), failure_class = $2, last_error = $3, \
         lease_until = NULL WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(class)
    .bind(error)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Puts the delivery back to wait `delay_secs`. `counted: false` when the gateway was never
/// called (a dependency failed first), so the attempt does not count.
pub(crate) async fn schedule_retry(
    conn: &mut PgConnection,
    id: i64,
    class: &str,
    error: &str,
    delay_secs: f64,
    counted: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET status = 'pending', lease_until = NULL, failure_class = $2, last_error = $3, \
         next_attempt_at = now() + make_interval(secs => $4), \
         attempts = CASE WHEN $5 THEN attempts ELSE greatest(attempts - 1, 0) END \
         WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(class)
    .bind(error)
    .bind(delay_secs)
    .bind(counted)
    .execute(conn)
    .await?;
    Ok(())
}

/// Which failed deliveries a re-queue takes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequeueFilter {
    /// failed at or after this moment
    pub since: Option<DateTime<Utc>>,
    /// only this failure class
    pub class: Option<String>,
}

/// Puts failed deliveries back to `pending` with a fresh retry budget; returns how many.
pub(crate) async fn requeue_failed(pool: &PgPool, filter: &RequeueFilter) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = now(), retry_from = now(), attempts = 0, \
         requeued = requeued + 1, failed_at = NULL \
         WHERE status = 'failed' AND ($1::timestamptz IS NULL OR failed_at >= $1) \
           AND ($2::text IS NULL OR failure_class = $2)",
    )
    .bind(filter.since)
    .bind(filter.class.as_deref())
    .execute(pool)
    .await?
    .rows_affected())
}

/// How many deliveries wait in each state, and the age of the oldest unsent one (for alerts).
pub(crate) async fn backlog(pool: &PgPool) -> Result<(i64, i64, f64)> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status IN ('pending', 'sending')), count(*) FILTER (WHERE status = 'failed'), \
         coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status IN ('pending', 'sending'))), 0)::float8 \
         FROM deliveries WHERE status <> 'sent'",
    )
    .fetch_one(pool)
    .await?)
}

//! The delivery ledger: `pending` → `sending` (claimed with a lease, committed before the
//! gateway call) → `sent`, back to `pending` for a retry, or `failed` once the retry budget is
//! spent. `requeue_failed` puts failed deliveries back.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;
use crate::templates::Message;

/// A message a lifecycle event calls for.
pub(crate) struct Wanted {
    pub source_event_id: Uuid,
    pub petition_id: Uuid,
    pub message: Message,
}

/// Records the deliveries of a batch on `channel`, in order, with one statement; a pair
/// (event, channel) already recorded is left as it is. Returns how many were new.
pub(crate) async fn record_deliveries(conn: &mut PgConnection, channel: &str, wanted: &[Wanted]) -> Result<u64> {
    if wanted.is_empty() {
        return Ok(0);
    }
    let events: Vec<Uuid> = wanted.iter().map(|w| w.source_event_id).collect();
    let petitions: Vec<Uuid> = wanted.iter().map(|w| w.petition_id).collect();
    let templates: Vec<&str> = wanted.iter().map(|w| w.message.name()).collect();
    let params: Vec<sqlx::types::Json<&Message>> = wanted.iter().map(|w| sqlx::types::Json(&w.message)).collect();
    Ok(sqlx::query(
        "INSERT INTO deliveries (source_event_id, channel, petition_id, template, params) \
         SELECT w.event, $2, w.petition, w.template, w.params \
         FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS w(event, petition, template, params, n) \
         ORDER BY w.n ON CONFLICT (source_event_id, channel) DO NOTHING",
    )
    .bind(&events)
    .bind(channel)
    .bind(&petitions)
    .bind(&templates)
    .bind(&params)
    .execute(conn)
    .await?
    .rows_affected())
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
           WHERE d.status IN ('pending', 'sending') \
             AND ((d.status = 'pending' AND d.next_attempt_at <= now()) \
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

/// The gateway took these messages (id, what the gateway called it). Only a live claim is
/// recorded: one that expired and was taken again belongs to its new holder. Returns the ids
/// recorded.
pub(crate) async fn mark_sent(conn: &mut PgConnection, sent: &[(i64, String)]) -> Result<Vec<i64>> {
    let ids: Vec<i64> = sent.iter().map(|s| s.0).collect();
    let references: Vec<&str> = sent.iter().map(|s| s.1.as_str()).collect();
    Ok(sqlx::query_scalar(
        "UPDATE deliveries d SET status = 'sent', sent_at = now(), last_error = '', failure_class = '', \
         gateway_reference = s.reference, lease_until = NULL \
         FROM unnest($1::bigint[], $2::text[]) AS s(id, reference) WHERE d.id = s.id AND d.status = 'sending' \
         RETURNING d.id",
    )
    .bind(&ids)
    .bind(&references)
    .fetch_all(conn)
    .await?)
}

/// A delivery to give up on, or to try again.
pub(crate) struct Unsent<'a> {
    pub id: i64,
    pub class: &'a str,
    pub error: &'a str,
    /// for a retry: how long it waits, and whether the gateway was called (an attempt counts)
    pub delay_secs: f64,
    pub counted: bool,
}

/// Gives up on these deliveries; returns the ids that were still ours to record.
pub(crate) async fn mark_failed(conn: &mut PgConnection, failed: &[Unsent<'_>]) -> Result<Vec<i64>> {
    let ids: Vec<i64> = failed.iter().map(|f| f.id).collect();
    let classes: Vec<&str> = failed.iter().map(|f| f.class).collect();
    let errors: Vec<&str> = failed.iter().map(|f| f.error).collect();
    Ok(sqlx::query_scalar(
        "UPDATE deliveries d SET status = 'failed', failed_at = now(), failure_class = f.class, last_error = f.error, \
         lease_until = NULL FROM unnest($1::bigint[], $2::text[], $3::text[]) AS f(id, class, error) \
         WHERE d.id = f.id AND d.status = 'sending' RETURNING d.id",
    )
    .bind(&ids)
    .bind(&classes)
    .bind(&errors)
    .fetch_all(conn)
    .await?)
}

/// Puts these deliveries back to wait; an attempt that never reached the gateway does not count.
pub(crate) async fn schedule_retry(conn: &mut PgConnection, retries: &[Unsent<'_>]) -> Result<()> {
    let ids: Vec<i64> = retries.iter().map(|r| r.id).collect();
    let classes: Vec<&str> = retries.iter().map(|r| r.class).collect();
    let errors: Vec<&str> = retries.iter().map(|r| r.error).collect();
    let delays: Vec<f64> = retries.iter().map(|r| r.delay_secs).collect();
    let counted: Vec<bool> = retries.iter().map(|r| r.counted).collect();
    sqlx::query(
        "UPDATE deliveries d SET status = 'pending', lease_until = NULL, failure_class = r.class, last_error = r.error, \
         next_attempt_at = now() + make_interval(secs => r.delay), \
         attempts = CASE WHEN r.counted THEN d.attempts ELSE greatest(d.attempts - 1, 0) END \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::bool[]) AS r(id, class, error, delay, counted) \
         WHERE d.id = r.id AND d.status = 'sending'",
    )
    .bind(&ids)
    .bind(&classes)
    .bind(&errors)
    .bind(&delays)
    .bind(&counted)
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
         FROM deliveries WHERE status IN ('pending', 'sending', 'failed')",
    )
    .fetch_one(pool)
    .await?)
}

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

/// Records the deliveries of a batch on `channel`, in order, and queues each petition's oldest
/// unsent one; a pair (event, channel) already recorded is left as it is. Returns how many were new.
#[tracing::instrument(skip_all, fields(%channel, wanted = wanted.len()))]
pub(crate) async fn record_deliveries(conn: &mut PgConnection, channel: &str, wanted: &[Wanted]) -> Result<u64> {
    if wanted.is_empty() {
        return Ok(0);
    }
    let events: Vec<Uuid> = wanted.iter().map(|w| w.source_event_id).collect();
    let petitions: Vec<Uuid> = wanted.iter().map(|w| w.petition_id).collect();
    let templates: Vec<&str> = wanted.iter().map(|w| w.message.name()).collect();
    let params: Vec<sqlx::types::Json<&Message>> = wanted.iter().map(|w| sqlx::types::Json(&w.message)).collect();
    lock_petitions(&mut *conn, &petitions).await?;
    let fresh = sqlx::query(
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
    .execute(&mut *conn)
    .await?
    .rows_affected();
    queue_heads(conn, &petitions).await?;
    Ok(fresh)
}

/// Takes these petitions' transaction-scoped locks, in one sorted pass (so two holders never
/// wait for each other). Whoever changes which delivery heads a petition's queue holds it: had
/// the dispatcher finished a petition's first message while the consumer recorded its second,
/// each would have seen the other's change too late and the second would never be queued.
#[tracing::instrument(skip_all, fields(petitions = petitions.len()))]
pub(crate) async fn lock_petitions(conn: &mut PgConnection, petitions: &[Uuid]) -> Result<()> {
    if petitions.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(k)) FROM \
         (SELECT DISTINCT hashtextextended(p::text, 20) AS k FROM unnest($1::uuid[]) AS p ORDER BY 1) AS ordered",
    )
    .bind(petitions)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues the oldest unsent delivery of each of these petitions that has none queued.
async fn queue_heads(conn: &mut PgConnection, petitions: &[Uuid]) -> Result<()> {
    if petitions.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO sms_queue (delivery_id, petition_id, due_at) \
         SELECT DISTINCT ON (d.petition_id) d.id, d.petition_id, d.next_attempt_at FROM deliveries d \
         WHERE d.petition_id = ANY($1) AND d.status IN ('pending', 'sending') ORDER BY d.petition_id, d.id \
         ON CONFLICT (petition_id) DO NOTHING",
    )
    .bind(petitions)
    .execute(conn)
    .await?;
    Ok(())
}

/// After a batch was recorded (under its petitions' locks): the finished deliveries (sent or
/// given up) leave the queue and their petitions' next unsent ones join it; the retried ones
/// wait in it until their next attempt.
#[tracing::instrument(skip_all)]
pub(crate) async fn settle_queue(
    conn: &mut PgConnection,
    finished: &[i64],
    retried: &[i64],
    petitions: &[Uuid],
) -> Result<()> {
    if !finished.is_empty() {
        sqlx::query("DELETE FROM sms_queue WHERE delivery_id = ANY($1)").bind(finished).execute(&mut *conn).await?;
        queue_heads(&mut *conn, petitions).await?;
    }
    if !retried.is_empty() {
        sqlx::query(
            "UPDATE sms_queue q SET due_at = d.next_attempt_at FROM deliveries d \
             WHERE d.id = q.delivery_id AND q.delivery_id = ANY($1)",
        )
        .bind(retried)
        .execute(conn)
        .await?;
    }
    Ok(())
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
/// `lease_secs`, and commits the claim. Only a petition's oldest unsent delivery is queued, so
/// a citizen's messages reach the gateway one at a time, in the order they were recorded.
// not instrumented: it runs on every idle poll, and would add a trace of nothing each time
pub(crate) async fn claim_due(pool: &PgPool, limit: i64, lease_secs: f64) -> Result<Vec<Claimed>> {
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "WITH due AS ( \
           SELECT delivery_id FROM sms_queue WHERE due_at <= now() \
           ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED), \
         leased AS ( \
           UPDATE sms_queue q SET due_at = now() + make_interval(secs => $2) \
           FROM due WHERE q.delivery_id = due.delivery_id RETURNING q.delivery_id) \
         UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, \
                lease_until = now() + make_interval(secs => $2) \
         FROM leased WHERE d.id = leased.delivery_id AND d.status IN ('pending', 'sending') \
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
#[tracing::instrument(skip_all, fields(messages = sent.len()))]
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
#[tracing::instrument(skip_all, fields(messages = failed.len()))]
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
#[tracing::instrument(skip_all, fields(messages = retries.len()))]
pub(crate) async fn schedule_retry(conn: &mut PgConnection, retries: &[Unsent<'_>]) -> Result<Vec<i64>> {
    let ids: Vec<i64> = retries.iter().map(|r| r.id).collect();
    let classes: Vec<&str> = retries.iter().map(|r| r.class).collect();
    let errors: Vec<&str> = retries.iter().map(|r| r.error).collect();
    let delays: Vec<f64> = retries.iter().map(|r| r.delay_secs).collect();
    let counted: Vec<bool> = retries.iter().map(|r| r.counted).collect();
    Ok(sqlx::query_scalar(
        "UPDATE deliveries d SET status = 'pending', lease_until = NULL, failure_class = r.class, last_error = r.error, \
         next_attempt_at = now() + make_interval(secs => r.delay), \
         attempts = CASE WHEN r.counted THEN d.attempts ELSE greatest(d.attempts - 1, 0) END \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::bool[]) AS r(id, class, error, delay, counted) \
         WHERE d.id = r.id AND d.status = 'sending' RETURNING d.id",
    )
    .bind(&ids)
    .bind(&classes)
    .bind(&errors)
    .bind(&delays)
    .bind(&counted)
    .fetch_all(conn)
    .await?)
}

/// Which failed deliveries a re-queue takes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequeueFilter {
    /// failed at or after this moment
    pub since: Option<DateTime<Utc>>,
    /// only this failure class
    pub class: Option<String>,
}

/// Puts failed deliveries back to `pending` with a fresh retry budget, and in the queue when
/// they are their petition's oldest unsent; returns how many.
#[tracing::instrument(skip_all)]
pub(crate) async fn requeue_failed(pool: &PgPool, filter: &RequeueFilter) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let petitions: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT petition_id FROM deliveries WHERE status = 'failed' \
         AND ($1::timestamptz IS NULL OR failed_at >= $1) AND ($2::text IS NULL OR failure_class = $2)",
    )
    .bind(filter.since)
    .bind(filter.class.as_deref())
    .fetch_all(&mut *tx)
    .await?;
    lock_petitions(&mut tx, &petitions).await?;
    let requeued = sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = now(), retry_from = now(), attempts = 0, \
         requeued = requeued + 1, failed_at = NULL \
         WHERE status = 'failed' AND petition_id = ANY($3) AND ($1::timestamptz IS NULL OR failed_at >= $1) \
           AND ($2::text IS NULL OR failure_class = $2)",
    )
    .bind(filter.since)
    .bind(filter.class.as_deref())
    .bind(&petitions)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    queue_heads(&mut tx, &petitions).await?;
    tx.commit().await?;
    Ok(requeued)
}

/// How many deliveries wait in each state, and the age of the oldest unsent one (for alerts),
/// each read from its partial index: never a scan of the ledger's history.
#[tracing::instrument(skip_all)]
pub(crate) async fn backlog(pool: &PgPool) -> Result<(i64, i64, f64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')), \
                (SELECT count(*) FROM deliveries WHERE status = 'failed'), \
                coalesce((SELECT extract(epoch FROM now() - created_at) FROM deliveries \
                          WHERE status IN ('pending', 'sending') ORDER BY id LIMIT 1), 0)::float8",
    )
    .fetch_one(pool)
    .await?)
}

//! The transactional outbox: events are rows written with the state change,
//! published afterwards by [`OutboxRelay`]. Kafka being down delays events; it
//! never loses them and never blocks the writer.
//!
//! Per-key order on the topic is what consumers rely on, so the relay keeps it
//! under two threats: several replicas relaying one table (one relay leads per
//! database, by a session advisory lock, and the others stand by), and a send
//! that fails while later events of its key go out (each round sends only the
//! oldest waiting event of each key; a failed one stays first in line and
//! holds back only its own key).
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Row};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Result;
use crate::cloudevents::to_kafka_headers;
use crate::metrics::EventMetrics;

#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub event_id: Uuid,
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
    pub headers: BTreeMap<String, String>,
}

impl OutboxMessage {
    /// A record for `topic` with CloudEvents headers from `cloud` and the protobuf `body` as value.
    pub fn new(topic: &str, key: &str, cloud: &crate::cloudevents::CloudEvent, body: &impl prost::Message) -> Self {
        Self {
            event_id: cloud.id,
            topic: topic.to_owned(),
            key: key.to_owned(),
            payload: body.encode_to_vec(),
            headers: cloud.header_map(),
        }
    }
}

/// Writes the message in the caller's transaction.
pub async fn enqueue(conn: &mut PgConnection, message: &OutboxMessage) -> Result<()> {
    sqlx::query("INSERT INTO outbox (event_id, topic, message_key, payload, headers) VALUES ($1, $2, $3, $4, $5)")
        .bind(message.event_id)
        .bind(&message.topic)
        .bind(&message.key)
        .bind(&message.payload)
        .bind(sqlx::types::Json(&message.headers))
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes many messages in the caller's transaction with one statement, in the given order
/// (their ids, hence the relay's order, follow it).
pub async fn enqueue_all(conn: &mut PgConnection, messages: &[OutboxMessage]) -> Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = messages.iter().map(|m| m.event_id).collect();
    let topics: Vec<&str> = messages.iter().map(|m| m.topic.as_str()).collect();
    let keys: Vec<&str> = messages.iter().map(|m| m.key.as_str()).collect();
    let payloads: Vec<&[u8]> = messages.iter().map(|m| m.payload.as_slice()).collect();
    let headers: Vec<sqlx::types::Json<&BTreeMap<String, String>>> =
        messages.iter().map(|m| sqlx::types::Json(&m.headers)).collect();
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, message_key, payload, headers) \
         SELECT event_id, topic, message_key, payload, headers \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[]) WITH ORDINALITY \
           AS m(event_id, topic, message_key, payload, headers, n) ORDER BY n",
    )
    .bind(&ids)
    .bind(&topics)
    .bind(&keys)
    .bind(&payloads)
    .bind(&headers)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Clone)]
pub struct OutboxRelay {
    pool: PgPool,
    producer: FutureProducer,
    metrics: EventMetrics,
    wake: Arc<Notify>,
    batch_size: i64,
    idle_poll: Duration,
    /// how often a standby replica tries to become the leader
    standby_poll: Duration,
}

/// How often an idle or failing relay counts its backlog for the metric (a `count(*)` per idle
/// poll would cost more than the poll).
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// How long a stopping leader goes on publishing what the draining servers still commit.
const FINAL_DRAIN: Duration = Duration::from_secs(5);

/// The advisory lock the leading relay of a database holds for as long as its session lives.
const LEADER_LOCK: &str = "pasokh outbox relay";

impl OutboxRelay {
    pub fn new(pool: PgPool, producer: FutureProducer, metrics: EventMetrics) -> Self {
        Self {
            pool,
            producer,
            metrics,
            wake: Arc::new(Notify::new()),
            batch_size: 500,
            // the leader may be another replica than the writer that woke its own relay
            idle_poll: Duration::from_millis(50),
            standby_poll: Duration::from_secs(2),
        }
    }

    /// On shutdown: the servers drain after the token is cancelled and their writers still commit,
    /// so the leader publishes until the outbox has been empty for half a second, within
    /// [`FINAL_DRAIN`] (finding 24: it stopped at once and left those rows to the next start).
    async fn publish_what_is_left(&self, conn: &mut PoolConnection<Postgres>) {
        let deadline = tokio::time::Instant::now() + FINAL_DRAIN;
        let mut quiet_since = tokio::time::Instant::now();
        while tokio::time::Instant::now() < deadline {
            match self.publish_batch(conn).await {
                Ok(0) if quiet_since.elapsed() >= Duration::from_millis(500) => return,
                Ok(0) => tokio::time::sleep(self.idle_poll).await,
                Ok(_) => quiet_since = tokio::time::Instant::now(),
                Err(error) => {
                    tracing::warn!(%error, "outbox publish on shutdown failed; the next relay sends the rest");
                    return;
                }
            }
        }
    }

    /// A handle writers call after committing, so events leave without waiting for the next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Publishes until cancelled, then flushes the producer.
    ///
    /// Only the replica holding the database's leader lock publishes; it does so on the
    /// connection that holds the lock, so losing that connection (a PostgreSQL restart) ends
    /// its leadership before it could publish out of turn. A row is deleted only after Kafka
    /// acknowledged it.
    pub async fn run(self, token: CancellationToken) -> Result<()> {
        let backoff = pasokh_platform::retry::Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let mut failures = 0u32;
        let mut leader: Option<PoolConnection<Postgres>> = None;
        let mut backlog_counted = tokio::time::Instant::now() - BACKLOG_EVERY;
        while !token.is_cancelled() {
            let Some(conn) = leader.as_mut() else {
                match self.lead().await {
                    Ok(Some(conn)) => {
                        tracing::info!("outbox relay leads for this database");
                        leader = Some(conn);
                        continue;
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "outbox relay could not ask for the leader lock"),
                }
                tokio::select! {
                    _ = token.cancelled() => {},
                    _ = tokio::time::sleep(self.standby_poll) => {},
                }
                continue;
            };
            let published = self.publish_batch(conn).await;
            if backlog_counted.elapsed() >= BACKLOG_EVERY {
                backlog_counted = tokio::time::Instant::now();
                self.refresh_backlog().await;
            }
            match published {
                Ok(0) => {
                    failures = 0;
                    tokio::select! {
                        _ = token.cancelled() => {},
                        _ = self.wake.notified() => {},
                        _ = tokio::time::sleep(self.idle_poll) => {},
                    }
                }
                Ok(_) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = backoff.delay(failures);
                    tracing::warn!(error = %error, ?delay, "outbox publish failed, will retry");
                    if matches!(error, crate::Error::Database(_)) {
                        // the session (and its lock) may be gone: ask again on a fresh connection
                        if let Some(conn) = leader.take() {
                            drop(conn.detach());
                        }
                    }
                    tokio::select! {
                        _ = token.cancelled() => {},
                        _ = tokio::time::sleep(delay) => {},
                    }
                }
            }
        }
        if let Some(conn) = leader.as_mut() {
            self.publish_what_is_left(conn).await;
        }
        if let Some(mut conn) = leader.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind(LEADER_LOCK)
                .execute(&mut *conn)
                .await;
        }
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(10))).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "producer flush on shutdown failed");
        }
        tracing::info!("outbox relay stopped");
        Ok(())
    }

    /// A connection holding the leader lock, or `None` when another replica leads.
    async fn lead(&self) -> Result<Option<PoolConnection<Postgres>>> {
        let mut conn = self.pool.acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
            .bind(LEADER_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        Ok(locked.then_some(conn))
    }

    async fn refresh_backlog(&self) {
        if let Ok(count) = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox").fetch_one(&self.pool).await {
            self.metrics.outbox_backlog.set(count);
        }
    }

    /// Publishes one round: the oldest waiting event of each key among the oldest rows; returns
    /// how many rows were published.
    ///
    /// No transaction spans the sends: the leader is the only relay of its table, so reading,
    /// publishing and deleting in three steps needs no row locks held across Kafka's acks.
    async fn publish_batch(&self, conn: &mut PgConnection) -> Result<usize> {
        let rows = sqlx::query("SELECT id, topic, message_key, payload, headers FROM outbox ORDER BY id LIMIT $1")
            .bind(self.batch_size)
            .fetch_all(&mut *conn)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        self.publish_rows(conn, &rows).await
    }

    /// Sends the oldest waiting row of each key among `rows`, and deletes those Kafka acknowledged.
    #[tracing::instrument(name = "publish outbox batch", skip_all, fields(rows = rows.len()))]
    async fn publish_rows(&self, conn: &mut PgConnection, rows: &[sqlx::postgres::PgRow]) -> Result<usize> {
        let keys: Vec<String> = rows.iter().map(|r| r.try_get("message_key")).collect::<std::result::Result<_, _>>()?;
        let mut pending = Vec::with_capacity(rows.len());
        for index in first_of_each_key(&keys) {
            let row = &rows[index];
            let id: i64 = row.try_get("id")?;
            let topic: String = row.try_get("topic")?;
            let key: String = row.try_get("message_key")?;
            let payload: Vec<u8> = row.try_get("payload")?;
            let headers: sqlx::types::Json<BTreeMap<String, String>> = row.try_get("headers")?;
            let span = send_span(&topic, &headers);
            let record = FutureRecord::to(&topic).key(&key).payload(&payload).headers(to_kafka_headers(&headers));
            match self.producer.send_result(record) {
                Ok(delivery) => pending.push((id, delivery, span)),
                Err((error, _)) => {
                    tracing::warn!(%error, "producer queue refused a record");
                    break;
                }
            }
        }
        let mut published = Vec::with_capacity(pending.len());
        let mut first_error = None;
        for (id, delivery, span) in pending {
            // the span ends when Kafka has answered for its record
            match delivery.await {
                Ok(Ok(delivery)) => {
                    span.record("messaging.destination.partition.id", delivery.partition);
                    span.record("messaging.kafka.offset", delivery.offset);
                    published.push(id);
                }
                Ok(Err((error, _))) => {
                    span.record("error.type", tracing::field::display(&error));
                    self.metrics.publish_failures.inc();
                    first_error.get_or_insert(error);
                }
                Err(_) => {
                    span.record("error.type", "delivery canceled");
                    self.metrics.publish_failures.inc();
                }
            }
        }
        if !published.is_empty() {
            // Kafka has them and the outbox still does: a restart publishes them again
            pasokh_platform::crash::point("relay.after_publish");
            sqlx::query("DELETE FROM outbox WHERE id = ANY($1)").bind(&published).execute(&mut *conn).await?;
        }
        self.metrics.published.inc_by(published.len() as u64);
        tracing::debug!(published = published.len(), "outbox batch published");
        match first_error {
            Some(error) if published.is_empty() => Err(error.into()),
            _ => Ok(published.len()),
        }
    }
}

/// The `send <topic>` producer span of one record. Its parent is the record's creation context
/// (the request that wrote the row), which is also what the record carries as `traceparent`, so
/// the consumers' spans stay children of that request, as the messaging conventions have it.
fn send_span(topic: &str, headers: &BTreeMap<String, String>) -> tracing::Span {
    let span = tracing::info_span!(
        "send",
        otel.name = %format!("send {topic}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.destination.name = %topic,
        messaging.message.id = headers.get("ce_id").map(String::as_str),
        messaging.destination.partition.id = tracing::field::Empty,
        messaging.kafka.offset = tracing::field::Empty,
        error.type = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    pasokh_platform::telemetry::continue_trace(&span, crate::cloudevents::creation_context(headers));
    span
}

/// The positions of each key's first row, in row order. The rows are the oldest of the table,
/// so a key's first row here is its oldest row of all: sending only those keeps every key's
/// events in order even when a send fails, since a failed row stays first in line.
fn first_of_each_key(keys: &[String]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.iter().enumerate().filter(|(_, key)| seen.insert(key.as_str())).map(|(index, _)| index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_sends_only_the_oldest_waiting_event_of_each_key() {
        let keys: Vec<String> = ["a", "b", "a", "c", "b", "a"].map(String::from).to_vec();
        assert_eq!(first_of_each_key(&keys), vec![0, 1, 3]);
    }
}

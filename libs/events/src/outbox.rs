//! The transactional outbox: events are rows written with the state change,
//! published afterwards by [`OutboxRelay`]. Kafka being down delays events; it
//! never loses them and never blocks the writer.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use sqlx::{PgConnection, PgPool, Row};
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

#[derive(Clone)]
pub struct OutboxRelay {
    pool: PgPool,
    producer: FutureProducer,
    metrics: EventMetrics,
    wake: Arc<Notify>,
    batch_size: i64,
    idle_poll: Duration,
}

impl OutboxRelay {
    pub fn new(pool: PgPool, producer: FutureProducer, metrics: EventMetrics) -> Self {
        Self {
            pool,
            producer,
            metrics,
            wake: Arc::new(Notify::new()),
            batch_size: 500,
            idle_poll: Duration::from_millis(250),
        }
    }

    /// A handle writers call after committing, so events leave without waiting for the next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Publishes until cancelled, then flushes the producer.
    ///
    /// Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas
    /// (every province's intake shares one database) relay in parallel without
    /// publishing a row twice; a row is deleted only after Kafka acknowledged it.
    pub async fn run(self, token: CancellationToken) -> Result<()> {
        let mut failures = 0u32;
        loop {
            if token.is_cancelled() {
                break;
            }
            match self.publish_batch().await {
                Ok(0) => {
                    failures = 0;
                    self.refresh_backlog().await;
                    tokio::select! {
                        _ = token.cancelled() => {},
                        _ = self.wake.notified() => {},
                        _ = tokio::time::sleep(self.idle_poll) => {},
                    }
                }
                Ok(_) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(200 * u64::from(failures.min(25)));
                    tracing::warn!(error = %error, ?backoff, "outbox publish failed, will retry");
                    self.refresh_backlog().await;
                    tokio::select! {
                        _ = token.cancelled() => {},
                        _ = tokio::time::sleep(backoff) => {},
                    }
                }
            }
        }
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(10))).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "producer flush on shutdown failed");
        }
        tracing::info!("outbox relay stopped");
        Ok(())
    }

    async fn refresh_backlog(&self) {
        if let Ok(count) = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox").fetch_one(&self.pool).await {
            self.metrics.outbox_backlog.set(count);
        }
    }

    /// Publishes one batch; returns how many rows were published.
    async fn publish_batch(&self) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, topic, message_key, payload, headers FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let topic: String = row.try_get("topic")?;
            let key: String = row.try_get("message_key")?;
            let payload: Vec<u8> = row.try_get("payload")?;
            let headers: sqlx::types::Json<BTreeMap<String, String>> = row.try_get("headers")?;
            let record = FutureRecord::to(&topic).key(&key).payload(&payload).headers(to_kafka_headers(&headers));
            match self.producer.send_result(record) {
                Ok(delivery) => pending.push((id, delivery)),
                Err((error, _)) => {
                    tracing::warn!(%error, "producer queue refused a record");
                    break;
                }
            }
        }
        let mut published = Vec::with_capacity(pending.len());
        let mut first_error = None;
        for (id, delivery) in pending {
            match delivery.await {
                Ok(Ok(_)) => published.push(id),
                Ok(Err((error, _))) => {
                    self.metrics.publish_failures.inc();
                    first_error.get_or_insert(error);
                }
                Err(_) => {
                    self.metrics.publish_failures.inc();
                }
            }
        }
        if !published.is_empty() {
            sqlx::query("DELETE FROM outbox WHERE id = ANY($1)").bind(&published).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.metrics.published.inc_by(published.len() as u64);
        tracing::debug!(published = published.len(), "outbox batch published");
        match first_error {
            Some(error) if published.is_empty() => Err(error.into()),
            _ => Ok(published.len()),
        }
    }
}

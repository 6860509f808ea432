//! At-least-once consumption with exactly-once *effects*.
//!
//! For each record: open a transaction, insert the event id into
//! `processed_events` (a redelivered event stops here), run the handler in
//! the same transaction, commit, then commit the Kafka offset. A crash at any
//! point redelivers the record and the ledger makes the redelivery a no-op.
//! Records that can never be processed go to `<topic>.dlq` with the error.
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cloudevents::{CloudEvent, header_map_of, to_kafka_headers};
use crate::metrics::{ConsumedLabels, EventMetrics};
use crate::{KafkaSettings, Result};

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retrying may succeed (database or a called service unavailable): the record is retried, not skipped.
    #[error("transient: {0}")]
    Transient(String),
    /// The event can never be applied (malformed, violates an invariant): it goes to the DLQ.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        HandlerError::Transient(format!("database: {error}"))
    }
}

/// A decoded record handed to a handler.
#[derive(Debug)]
pub struct Received<M> {
    pub cloud: CloudEvent,
    pub message: M,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// The effect of one event, applied inside the consumer's transaction.
pub trait EventHandler: Send + Sync + 'static {
    type Message: prost::Message + Default + Send + Sync;

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a Received<Self::Message>,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;

    /// Called after the transaction committed (e.g. to wake an outbox relay).
    fn after_commit(&self) {}
}

pub struct ConsumerLoop<H> {
    pub settings: KafkaSettings,
    pub topic: String,
    pub group: String,
    pub pool: PgPool,
    pub handler: H,
    pub metrics: EventMetrics,
}

enum Outcome {
    Processed,
    Duplicate,
}

impl<H: EventHandler> ConsumerLoop<H> {
    pub async fn run(self, token: CancellationToken) -> Result<()> {
        let consumer: StreamConsumer = self.settings.consumer(&self.group)?;
        let dlq_producer = self.settings.producer()?;
        consumer.subscribe(&[&self.topic])?;
        tracing::info!(topic = %self.topic, group = %self.group, "consuming");
        let mut committed: HashMap<i32, i64> = HashMap::new();
        loop {
            let received = tokio::select! {
                _ = token.cancelled() => break,
                received = consumer.recv() => received,
            };
            let record = match received {
                Ok(record) => record,
                Err(error) => {
                    tracing::warn!(%error, topic = %self.topic, "kafka receive failed, retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(done) = self.process_with_retry(&record, &dlq_producer, &token).await else {
                // cancelled while retrying: leave the offset alone so the record is redelivered
                break;
            };
            let mut offsets = TopicPartitionList::new();
            offsets.add_partition_offset(record.topic(), record.partition(), Offset::Offset(record.offset() + 1))?;
            if let Err(error) = consumer.commit(&offsets, CommitMode::Async) {
                tracing::warn!(%error, "offset commit failed; the record may be redelivered and deduplicated");
            }
            committed.insert(record.partition(), record.offset() + 1);
            self.metrics.consumed.get_or_create(&ConsumedLabels { topic: self.topic.clone(), outcome: done }).inc();
        }
        commit_last_positions(&consumer, &self.topic, &committed)?;
        tracing::info!(topic = %self.topic, "consumer stopped");
        Ok(())
    }

    /// Returns the outcome label, or `None` when cancelled before the record could be applied.
    async fn process_with_retry(
        &self,
        record: &BorrowedMessage<'_>,
        dlq: &FutureProducer,
        token: &CancellationToken,
    ) -> Option<&'static str> {
        let mut attempt: u32 = 0;
        loop {
            match self.process(record).await {
                Ok(Outcome::Processed) => return Some("processed"),
                Ok(Outcome::Duplicate) => return Some("duplicate"),
                Err(HandlerError::Permanent(reason)) => {
                    self.dead_letter(record, &reason, dlq, token).await?;
                    return Some("dead_lettered");
                }
                Err(HandlerError::Transient(reason)) => {
                    attempt = attempt.saturating_add(1);
                    self.metrics.handler_retries.inc();
                    let backoff = Duration::from_millis(100 * u64::from(attempt.min(50)));
                    tracing::warn!(reason, attempt, ?backoff, offset = record.offset(), "handler failed, retrying");
                    tokio::select! {
                        _ = token.cancelled() => return None,
                        _ = tokio::time::sleep(backoff) => {},
                    }
                }
            }
        }
    }

    async fn process(&self, record: &BorrowedMessage<'_>) -> Result<Outcome, HandlerError> {
        let cloud = CloudEvent::from_headers(record.headers()).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        let message = <H::Message as prost::Message>::decode(record.payload().unwrap_or_default())
            .map_err(|e| HandlerError::Permanent(format!("undecodable payload: {e}")))?;
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("process {}", record.topic()),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.destination.name = %record.topic(),
            messaging.kafka.offset = record.offset(),
            messaging.consumer.group.name = %self.group,
            messaging.message.id = %cloud.id,
            cloudevents.event_type = %cloud.event_type,
            trace_id = tracing::field::Empty,
        );
        pasokh_platform::telemetry::continue_trace(&span, cloud.parent_context());
        let received = Received {
            cloud,
            message,
            topic: record.topic().to_owned(),
            partition: record.partition(),
            offset: record.offset(),
        };
        async {
            let mut tx = self.pool.begin().await?;
            let fresh = sqlx::query(
                "INSERT INTO processed_events (event_id, topic, partition, \"offset\") VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(received.cloud.id)
            .bind(&received.topic)
            .bind(received.partition)
            .bind(received.offset)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !fresh {
                tracing::debug!(event_id = %received.cloud.id, "event already processed, skipping");
                return Ok(Outcome::Duplicate);
            }
            self.handler.handle(&mut tx, &received).await?;
            tx.commit().await?;
            self.handler.after_commit();
            Ok(Outcome::Processed)
        }
        .instrument(span)
        .await
    }

    /// Parks a poison record on `<topic>.dlq` with the reason; retried until Kafka takes it or shutdown.
    async fn dead_letter(
        &self,
        record: &BorrowedMessage<'_>,
        reason: &str,
        dlq: &FutureProducer,
        token: &CancellationToken,
    ) -> Option<()> {
        dead_letter(&record.detach(), &self.group, reason, dlq, token).await
    }
}

/// The positions to commit: for each partition, the offset of the next record to read.
pub(crate) fn positions<'a>(
    topic: &str,
    next: impl IntoIterator<Item = (&'a i32, &'a i64)>,
) -> Result<TopicPartitionList> {
    let mut offsets = TopicPartitionList::new();
    for (partition, offset) in next {
        offsets.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    Ok(offsets)
}

/// Makes the last positions durable before leaving the group (a failure only means redelivery).
pub(crate) fn commit_last_positions<'a>(
    consumer: &StreamConsumer,
    topic: &str,
    next: impl IntoIterator<Item = (&'a i32, &'a i64)>,
) -> Result<()> {
    let offsets = positions(topic, next)?;
    if offsets.count() > 0
        && let Err(error) = consumer.commit(&offsets, CommitMode::Sync)
    {
        tracing::warn!(%error, "final offset commit failed");
    }
    Ok(())
}

/// Parks a poison record on `<topic>.dlq` with the reason and where it came from; retried until
/// Kafka takes it, or `None` at shutdown.
pub(crate) async fn dead_letter(
    record: &rdkafka::message::OwnedMessage,
    group: &str,
    reason: &str,
    dlq: &FutureProducer,
    token: &CancellationToken,
) -> Option<()> {
    let dlq_topic = format!("{}.dlq", record.topic());
    let mut headers = header_map_of(record.headers());
    headers.insert("pasokh_dlq_reason".into(), reason.to_owned());
    headers.insert("pasokh_dlq_topic".into(), record.topic().to_owned());
    headers.insert("pasokh_dlq_partition".into(), record.partition().to_string());
    headers.insert("pasokh_dlq_offset".into(), record.offset().to_string());
    headers.insert("pasokh_dlq_group".into(), group.to_owned());
    tracing::error!(reason, topic = record.topic(), offset = record.offset(), dlq = %dlq_topic, "record dead-lettered");
    loop {
        let mut out = FutureRecord::to(&dlq_topic).headers(to_kafka_headers(&headers));
        if let Some(key) = record.key() {
            out = out.key(key);
        }
        if let Some(payload) = record.payload() {
            out = out.payload(payload);
        }
        match dlq.send(out, Duration::from_secs(10)).await {
            Ok(_) => return Some(()),
            Err((error, _)) => {
                tracing::warn!(%error, dlq = %dlq_topic, "dead-letter publish failed, retrying");
                tokio::select! {
                    _ = token.cancelled() => return None,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                }
            }
        }
    }
}

/// Readiness check: the broker answers a metadata request within two seconds.
pub async fn kafka_reachable(producer: &FutureProducer) -> Result<(), String> {
    use rdkafka::producer::Producer;
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || {
        producer.client().fetch_metadata(None, Duration::from_secs(2)).map(|_| ()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

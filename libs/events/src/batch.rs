//! At-least-once consumption with exactly-once effects, a batch at a time.
//!
//! Same contract as [`crate::consumer`], but the records of one poll (up to
//! `max_records`, waiting at most `max_wait` for more) are applied in one
//! transaction: the ledger insert for every event id of the batch, the
//! handler on the events that were new, one commit, then the offsets. A read
//! model that folds thousands of events a second needs this: one round trip
//! per statement per batch instead of per record. A batch the handler refuses
//! as permanent is split and applied record by record, so one poison record
//! goes to the dead-letter topic and its neighbours still apply.
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::cloudevents::CloudEvent;
use crate::consumer::{HandlerError, Received, commit_last_positions, dead_letter, positions};
use crate::metrics::{ConsumedLabels, EventMetrics};
use crate::{KafkaSettings, Result};

/// The effect of a batch of events, applied inside the consumer's transaction, in topic order
/// within each partition.
pub trait BatchHandler: Send + Sync + 'static {
    type Message: prost::Message + Default + Send + Sync;

    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a Received<Self::Message>],
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;
}

/// How much a batch may hold and how long the loop waits to fill it.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_records: usize,
    pub max_wait: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self { max_records: 500, max_wait: Duration::from_millis(50) }
    }
}

pub struct BatchConsumerLoop<H> {
    pub settings: KafkaSettings,
    pub topic: String,
    pub group: String,
    pub pool: PgPool,
    pub handler: H,
    pub metrics: EventMetrics,
    pub limits: BatchLimits,
}

impl<H: BatchHandler> BatchConsumerLoop<H> {
    pub async fn run(self, token: CancellationToken) -> Result<()> {
        let consumer: StreamConsumer = self.settings.consumer(&self.group)?;
        let dlq = self.settings.producer()?;
        consumer.subscribe(&[&self.topic])?;
        tracing::info!(topic = %self.topic, group = %self.group, max_records = self.limits.max_records, "consuming in batches");
        let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
        loop {
            let Some(batch) = self.next_batch(&consumer, &token).await else { break };
            if batch.is_empty() {
                continue;
            }
            if self.apply_with_retry(&batch, &dlq, &token).await.is_none() {
                break; // cancelled: the offsets stay where they were, the batch is redelivered
            }
            for record in &batch {
                let next = committed.entry(record.partition()).or_insert(0);
                *next = (*next).max(record.offset() + 1);
            }
            if let Err(error) = consumer.commit(&positions(&self.topic, &committed)?, CommitMode::Async) {
                tracing::warn!(%error, "offset commit failed; the batch may be redelivered and deduplicated");
            }
        }
        commit_last_positions(&consumer, &self.topic, &committed)?;
        tracing::info!(topic = %self.topic, "consumer stopped");
        Ok(())
    }

    /// Waits for one record, then takes what else arrives within the batch's time; `None` once cancelled.
    async fn next_batch(&self, consumer: &StreamConsumer, token: &CancellationToken) -> Option<Vec<OwnedMessage>> {
        let first = tokio::select! {
            _ = token.cancelled() => return None,
            received = consumer.recv() => received,
        };
        let mut batch = match first {
            Ok(record) => vec![record.detach()],
            Err(error) => {
                tracing::warn!(%error, topic = %self.topic, "kafka receive failed, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Some(Vec::new());
            }
        };
        let deadline = tokio::time::Instant::now() + self.limits.max_wait;
        while batch.len() < self.limits.max_records {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Ok(Ok(record)) => batch.push(record.detach()),
                Ok(Err(error)) => {
                    tracing::warn!(%error, topic = %self.topic, "kafka receive failed mid-batch");
                    break;
                }
                Err(_) => break,
            }
        }
        Some(batch)
    }

    /// Applies the batch, retrying transient failures with back-off and splitting it when a
    /// record is refused for good. `None` when cancelled before it was applied.
    async fn apply_with_retry(
        &self,
        batch: &[OwnedMessage],
        dlq: &FutureProducer,
        token: &CancellationToken,
    ) -> Option<()> {
        let mut decoded = Vec::with_capacity(batch.len());
        let mut sources = Vec::with_capacity(batch.len());
        for record in batch {
            match decode::<H::Message>(record) {
                Ok(event) => {
                    decoded.push(event);
                    sources.push(record);
                }
                Err(reason) => {
                    dead_letter(record, &self.group, &reason, dlq, token).await?;
                    self.count("dead_lettered", 1);
                }
            }
        }
        match self.apply_retrying(&decoded, token).await? {
            Ok(()) => return Some(()),
            Err(reason) => {
                tracing::warn!(reason, records = decoded.len(), "batch refused; applying its records one by one")
            }
        }
        for (event, record) in decoded.iter().zip(sources) {
            if let Err(reason) = self.apply_retrying(std::slice::from_ref(event), token).await? {
                dead_letter(record, &self.group, &reason, dlq, token).await?;
                self.count("dead_lettered", 1);
            }
        }
        Some(())
    }

    /// `Ok` once applied, `Err(reason)` when refused for good, `None` when cancelled.
    async fn apply_retrying(
        &self,
        events: &[Received<H::Message>],
        token: &CancellationToken,
    ) -> Option<std::result::Result<(), String>> {
        let mut attempt: u32 = 0;
        loop {
            match self.apply(events).await {
                Ok(()) => return Some(Ok(())),
                Err(HandlerError::Permanent(reason)) => return Some(Err(reason)),
                Err(HandlerError::Transient(reason)) => {
                    attempt = attempt.saturating_add(1);
                    self.metrics.handler_retries.inc();
                    let backoff = Duration::from_millis(100 * u64::from(attempt.min(50)));
                    tracing::warn!(reason, attempt, ?backoff, records = events.len(), "batch failed, retrying");
                    tokio::select! {
                        _ = token.cancelled() => return None,
                        _ = tokio::time::sleep(backoff) => {},
                    }
                }
            }
        }
    }

    async fn apply(&self, events: &[Received<H::Message>]) -> std::result::Result<(), HandlerError> {
        if events.is_empty() {
            return Ok(());
        }
        let span = tracing::info_span!(
            "process batch",
            otel.name = %format!("process {}", self.topic),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.destination.name = %self.topic,
            messaging.batch.message_count = events.len(),
            messaging.consumer.group.name = %self.group,
        );
        // one `process` span per record, continuing the trace of the request that produced it
        // (a batch has as many parents as records); they end when the batch is applied
        let per_record: Vec<tracing::Span> = events
            .iter()
            .map(|event| {
                let record = tracing::info_span!(
                    parent: &span,
                    "process",
                    otel.name = %format!("process {}", self.topic),
                    otel.kind = "consumer",
                    messaging.system = "kafka",
                    messaging.destination.name = %self.topic,
                    messaging.kafka.offset = event.offset,
                    messaging.message.id = %event.cloud.id,
                    cloudevents.event_type = %event.cloud.event_type,
                );
                pasokh_platform::telemetry::continue_trace(&record, event.cloud.parent_context());
                record
            })
            .collect();
        async {
            let (processed, duplicates) = apply_new(&self.pool, &self.handler, events).await?;
            drop(per_record);
            self.count("processed", processed as u64);
            self.count("duplicate", duplicates as u64);
            Ok(())
        }
        .instrument(span)
        .await
    }

    fn count(&self, outcome: &'static str, n: u64) {
        if n > 0 {
            self.metrics.consumed.get_or_create(&ConsumedLabels { topic: self.topic.clone(), outcome }).inc_by(n);
        }
    }
}

/// In one transaction: records the events in the ledger and lets the handler apply those that
/// were new (the first copy of each, in the given order), then commits. Returns how many were
/// applied and how many were duplicates. `rebuild` commands use it as the loop does.
pub async fn apply_new<H: BatchHandler>(
    pool: &PgPool,
    handler: &H,
    events: &[Received<H::Message>],
) -> std::result::Result<(usize, usize), HandlerError> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = events.iter().map(|e| e.cloud.id).collect();
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    let partitions: Vec<i32> = events.iter().map(|e| e.partition).collect();
    let offsets: Vec<i64> = events.iter().map(|e| e.offset).collect();
    let fresh: HashSet<Uuid> = sqlx::query_scalar(
        "INSERT INTO processed_events (event_id, topic, partition, \"offset\") \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[]) \
         ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
    )
    .bind(&ids)
    .bind(&topics)
    .bind(&partitions)
    .bind(&offsets)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut seen = HashSet::with_capacity(fresh.len());
    let new: Vec<&Received<H::Message>> =
        events.iter().filter(|e| fresh.contains(&e.cloud.id) && seen.insert(e.cloud.id)).collect();
    let duplicates = events.len() - new.len();
    if !new.is_empty() {
        handler.handle_batch(&mut tx, &new).await?;
        tx.commit().await?;
    }
    Ok((new.len(), duplicates))
}

/// A record as the handler sees it; `Err` with the reason when it cannot be decoded.
pub fn decode<M: prost::Message + Default>(record: &OwnedMessage) -> std::result::Result<Received<M>, String> {
    let cloud = CloudEvent::from_headers(record.headers()).map_err(|e| e.to_string())?;
    let message = M::decode(record.payload().unwrap_or_default()).map_err(|e| format!("undecodable payload: {e}"))?;
    Ok(Received {
        cloud,
        message,
        topic: record.topic().to_owned(),
        partition: record.partition(),
        offset: record.offset(),
    })
}

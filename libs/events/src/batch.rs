//! At-least-once consumption with exactly-once effects, a batch at a time.
//!
//! The records of one poll (up to `max_records`, waiting at most `max_wait`
//! for more) are applied in one transaction, each partition's in topic order:
//! the ledger insert for every event id, the handler on the events that were
//! new, one commit, then the offsets. When that fails, each partition's records
//! go in a transaction of their own, so only a partition at fault is held. Whatever the
//! handler needs from other services it fetches in [`BatchHandler::prepare`],
//! for the whole batch and **before** the transaction opens, so no row lock or
//! pooled connection waits on the network.
//!
//! A partition whose batch fails transiently (database down, a peer
//! unreachable) is paused and its records held; it is retried on the shared
//! [`Backoff`] while the loop keeps polling, so the other partitions go on and
//! the consumer keeps its group membership. A batch refused as permanent is
//! split and applied record by record, in order, so one poison record goes to
//! the dead-letter topic and its neighbours still apply.
//!
//! Long by choice: it is one loop — poll, split by partition, apply the poll together, fall back to
//! each partition, then to each record — and the order and exactly-once guarantees live in how
//! those steps hand over; apart they could not be read as one argument.
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::Duration;

use pasokh_platform::retry::Backoff;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use sqlx::{PgConnection, PgPool};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::cloudevents::CloudEvent;
use crate::consumer::{HandlerError, Received, dead_letter};
use crate::metrics::{ConsumedLabels, EventMetrics};
use crate::{KafkaSettings, Result};

/// The effect of a batch of events, applied inside the consumer's transaction, in topic order
/// within each partition.
pub trait BatchHandler: Send + Sync + 'static {
    type Message: prost::Message + Default + Send + Sync;
    /// What the batch needs from other services (texts, contacts, officers' messages).
    type Prepared: Default + Send + Sync;

    /// Fetches, in as few calls as it can, what [`Self::handle_batch`] needs from elsewhere. Runs
    /// before the transaction opens; a failure here holds the partition like any transient error.
    fn prepare<'a>(
        &'a self,
        events: &'a [&'a Received<Self::Message>],
    ) -> impl Future<Output = Result<Self::Prepared, HandlerError>> + Send + 'a {
        let _ = events;
        async { Ok(Self::Prepared::default()) }
    }

    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a Received<Self::Message>],
        prepared: &'a Self::Prepared,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;

    /// Whether the handler does anything with the event. Those it does not want are neither
    /// prepared, applied nor written to the ledger (routing reads its own events on the topic it
    /// publishes to, and has nothing to do with them); their offsets move on all the same.
    fn wants(&self, event: &Received<Self::Message>) -> bool {
        let _ = event;
        true
    }

    /// Called after a transaction committed (e.g. to wake an outbox relay).
    fn after_commit(&self) {}
}

/// How much a batch may hold, how long the loop waits to fill it, and how it retries.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_records: usize,
    pub max_wait: Duration,
    pub retry: Backoff,
    /// How long `processed_events` keeps an event's id; older ones are purged as the loop runs
    pub ledger_retention: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_records: 500,
            // a record waits at most this long for company: each stage of the pipeline adds it
            max_wait: Duration::from_millis(20),
            retry: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
            ledger_retention: Duration::from_secs(14 * 86_400),
        }
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

/// A paused partition's records, waiting for their next attempt.
struct Held {
    records: Vec<OwnedMessage>,
    attempt: u32,
    retry_at: Instant,
}

/// What became of a partition's records: how far they were applied, and what is left when a
/// transient failure stopped them (`None` when cancelled mid-way).
struct Progress {
    next_offset: Option<i64>,
    left: Vec<OwnedMessage>,
}

impl<H: BatchHandler> BatchConsumerLoop<H> {
    pub async fn run(self, token: CancellationToken) -> Result<()> {
        let consumer: StreamConsumer = self.settings.consumer(&self.group)?;
        let dlq = self.settings.producer()?;
        consumer.subscribe(&[&self.topic])?;
        tracing::info!(topic = %self.topic, group = %self.group, max_records = self.limits.max_records, "consuming in batches");
        let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
        let mut held: BTreeMap<i32, Held> = BTreeMap::new();
        let mut receive_errors = ReceiveErrors::default();
        // beside the loop, never in it: a purge scanning a large ledger must not hold up a batch
        let purge = tokio::spawn(purge_ledger(
            self.pool.clone(),
            self.topic.clone(),
            self.limits.ledger_retention,
            token.clone(),
        ));
        while !token.is_cancelled() {
            let due: Vec<i32> =
                held.iter().filter(|(_, h)| h.retry_at <= Instant::now()).map(|(partition, _)| *partition).collect();
            let mut work: Vec<(i32, Vec<OwnedMessage>, u32)> = Vec::new();
            for partition in due {
                let Some(stalled) = held.remove(&partition) else { continue };
                if self.assigned(&consumer, partition) {
                    work.push((partition, stalled.records, stalled.attempt));
                } else {
                    // revoked while held: its new owner reads from the committed offset
                    tracing::info!(partition, "held partition revoked; its records are left to the new owner");
                }
            }
            if work.is_empty() {
                let wake_at = held.values().map(|h| h.retry_at).min();
                let Some(batch) = self.next_batch(&consumer, &token, wake_at, &mut receive_errors).await else { break };
                for (partition, records) in by_partition(batch) {
                    match held.get_mut(&partition) {
                        // fetched before the pause took effect: they queue behind the held ones
                        Some(stalled) => append_after(&mut stalled.records, records),
                        None => work.push((partition, records, 0)),
                    }
                }
            }
            if work.is_empty() {
                continue;
            }
            // the common case, one commit for the whole poll; on any failure each partition goes
            // on its own, so only the one at fault is held
            let fresh = work.len() > 1 && work.iter().all(|(_, _, attempt)| *attempt == 0);
            let together = if fresh { self.apply_together(&work, &dlq, &token).await } else { None };
            let applied = match together {
                Some(applied) => applied,
                None => {
                    futures_util::future::join_all(
                        work.iter().map(|(_, records, _)| self.apply_partition(records, &dlq, &token)),
                    )
                    .await
                }
            };
            for ((partition, _, attempt), progress) in work.into_iter().zip(applied) {
                let Some(progress) = progress else { continue };
                if let Some(next) = progress.next_offset {
                    let position = committed.entry(partition).or_insert(0);
                    *position = (*position).max(next);
                }
                if progress.left.is_empty() {
                    if attempt > 0 {
                        tracing::info!(partition, attempts = attempt, "partition caught up; resuming it");
                        self.set_paused(&consumer, partition, false);
                    }
                    continue;
                }
                let attempt = attempt.saturating_add(1);
                let delay = self.limits.retry.delay(attempt);
                self.metrics.handler_retries.inc();
                if attempt == 1 {
                    self.set_paused(&consumer, partition, true);
                }
                held.insert(partition, Held { records: progress.left, attempt, retry_at: Instant::now() + delay });
            }
            let positions = positions(&self.topic, &committed)?;
            if positions.count() > 0
                && let Err(error) = consumer.commit(&positions, CommitMode::Async)
            {
                tracing::warn!(%error, "offset commit failed; the batch may be redelivered and deduplicated");
            }
        }
        purge.abort();
        self.commit_final(&consumer, &committed)?;
        tracing::info!(topic = %self.topic, "consumer stopped");
        Ok(())
    }

    fn assigned(&self, consumer: &StreamConsumer, partition: i32) -> bool {
        consumer.assignment().is_ok_and(|list| list.find_partition(&self.topic, partition).is_some())
    }

    fn set_paused(&self, consumer: &StreamConsumer, partition: i32, paused: bool) {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic, partition);
        let outcome = if paused { consumer.pause(&list) } else { consumer.resume(&list) };
        if let Err(error) = outcome {
            // a partition revoked meanwhile cannot be paused or resumed: nothing to do
            tracing::debug!(%error, partition, paused, "pause/resume refused");
        }
    }

    /// The last positions of the partitions still assigned, made durable before leaving the group;
    /// a partition revoked earlier belongs to another member now, and its older position would
    /// move the group backwards.
    fn commit_final(&self, consumer: &StreamConsumer, committed: &BTreeMap<i32, i64>) -> Result<()> {
        let owned: BTreeMap<i32, i64> =
            committed.iter().filter(|(p, _)| self.assigned(consumer, **p)).map(|(p, o)| (*p, *o)).collect();
        let offsets = positions(&self.topic, &owned)?;
        if offsets.count() > 0
            && let Err(error) = consumer.commit(&offsets, CommitMode::Sync)
        {
            tracing::warn!(%error, "final offset commit failed");
        }
        Ok(())
    }

    /// Waits for one record (until `wake_at`, when a held partition is due), then takes what else
    /// arrives within the batch's time; `None` once cancelled.
    async fn next_batch(
        &self,
        consumer: &StreamConsumer,
        token: &CancellationToken,
        wake_at: Option<Instant>,
        errors: &mut ReceiveErrors,
    ) -> Option<Vec<OwnedMessage>> {
        let far = Instant::now() + Duration::from_secs(3600);
        let first = tokio::select! {
            _ = token.cancelled() => return None,
            _ = tokio::time::sleep_until(wake_at.unwrap_or(far)) => return Some(Vec::new()),
            received = consumer.recv() => received,
        };
        let mut batch = match first {
            Ok(record) => vec![record.detach()],
            Err(error) => {
                errors.record(&error, &self.topic);
                // long enough that an error Kafka repeats at once cannot spin a core, short enough
                // that the events queued during an outage are gone in moments once it ends
                tokio::time::sleep(Duration::from_millis(10)).await;
                return Some(Vec::new());
            }
        };
        let deadline = Instant::now() + self.limits.max_wait;
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

    /// Applies every partition's records in one transaction, each partition's in topic order;
    /// `None` when that failed (nothing of it was applied) and the partitions must go one by one.
    async fn apply_together(
        &self,
        work: &[(i32, Vec<OwnedMessage>, u32)],
        dlq: &FutureProducer,
        token: &CancellationToken,
    ) -> Option<Vec<Option<Progress>>> {
        let mut decoded: Vec<std::result::Result<Received<H::Message>, String>> =
            work.iter().flat_map(|(_, records, _)| records.iter().map(decode::<H::Message>)).collect();
        for event in decoded.iter_mut().flatten() {
            event.span = self.record_span(event);
        }
        let events: Vec<&Received<H::Message>> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
        if let Err(error) = self.apply(&events).await {
            tracing::debug!(%error, partitions = work.len(), "poll's batch failed; applying its partitions one by one");
            return None;
        }
        let mut reasons = decoded.iter();
        let mut applied = Vec::with_capacity(work.len());
        for (_, records, _) in work {
            for record in records {
                if let Some(Err(reason)) = reasons.next() {
                    if dead_letter(record, &self.group, reason, dlq, token).await.is_none() {
                        // cancelled: no offset moves, the poll is redelivered and deduplicated
                        return Some(work.iter().map(|_| None).collect());
                    }
                    self.count("dead_lettered", 1);
                }
            }
            applied.push(Some(Progress { next_offset: records.last().map(|r| r.offset() + 1), left: Vec::new() }));
        }
        Some(applied)
    }

    /// Applies one partition's records in order: all in one transaction, or record by record when
    /// the batch is refused for good. `None` when cancelled while dead-lettering.
    async fn apply_partition(
        &self,
        records: &[OwnedMessage],
        dlq: &FutureProducer,
        token: &CancellationToken,
    ) -> Option<Progress> {
        let mut decoded: Vec<std::result::Result<Received<H::Message>, String>> =
            records.iter().map(decode::<H::Message>).collect();
        for event in decoded.iter_mut().flatten() {
            event.span = self.record_span(event);
        }
        let events: Vec<&Received<H::Message>> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
        let whole = match self.apply(&events).await {
            Ok(()) => Ok(()),
            Err(HandlerError::Transient(reason)) => {
                tracing::warn!(reason, records = records.len(), "batch failed; holding its partition for a retry");
                return Some(Progress { next_offset: None, left: records.to_vec() });
            }
            Err(HandlerError::Permanent(reason)) => Err(reason),
        };
        if whole.is_ok() {
            for (record, event) in records.iter().zip(&decoded) {
                if let Err(reason) = event {
                    dead_letter(record, &self.group, reason, dlq, token).await?;
                    self.count("dead_lettered", 1);
                }
            }
            return Some(Progress { next_offset: records.last().map(|r| r.offset() + 1), left: Vec::new() });
        }
        tracing::warn!(records = records.len(), "batch refused; applying its records one by one");
        for (index, (record, event)) in records.iter().zip(&decoded).enumerate() {
            let refusal = match event {
                Err(reason) => Some(reason.clone()),
                Ok(event) => match self.apply(std::slice::from_ref(&event)).await {
                    Ok(()) => None,
                    Err(HandlerError::Permanent(reason)) => Some(reason),
                    Err(HandlerError::Transient(reason)) => {
                        tracing::warn!(reason, offset = record.offset(), "record failed; holding its partition");
                        let next_offset = index.checked_sub(1).map(|i| records[i].offset() + 1);
                        return Some(Progress { next_offset, left: records[index..].to_vec() });
                    }
                },
            };
            if let Some(reason) = refusal {
                dead_letter(record, &self.group, &reason, dlq, token).await?;
                self.count("dead_lettered", 1);
            }
        }
        Some(Progress { next_offset: records.last().map(|r| r.offset() + 1), left: Vec::new() })
    }

    async fn apply(&self, events: &[&Received<H::Message>]) -> std::result::Result<(), HandlerError> {
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
            trace_id = tracing::field::Empty,
        );
        follow_records(&span, events);
        async {
            let (processed, duplicates) = apply_new(&self.pool, &self.handler, events).await?;
            self.count("processed", processed as u64);
            self.count("duplicate", duplicates as u64);
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// A `process` span for the record, continuing the trace of the request that produced it
    /// (a batch has as many parents as records); it ends when the record's attempt is over.
    fn record_span(&self, event: &Received<H::Message>) -> tracing::Span {
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("process {}", self.topic),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.destination.name = %self.topic,
            messaging.kafka.offset = event.offset,
            messaging.consumer.group.name = %self.group,
            messaging.message.id = %event.cloud.id,
            cloudevents.event_type = %event.cloud.event_type,
        );
        pasokh_platform::telemetry::continue_trace(&span, event.cloud.parent_context());
        span
    }

    fn count(&self, outcome: &'static str, n: u64) {
        if n > 0 {
            self.metrics.consumed.get_or_create(&ConsumedLabels { topic: self.topic.clone(), outcome }).inc_by(n);
        }
    }
}

/// Ties a batch's span to the requests that produced its records, so what the batch does (its
/// gRPC calls in `prepare`, say) is found from each request's trace: a batch of one continues
/// that record's trace; a larger batch has as many parents as records and links to each.
fn follow_records<M>(span: &tracing::Span, events: &[&Received<M>]) {
    if let [only] = events {
        pasokh_platform::telemetry::continue_trace(span, only.cloud.parent_context());
        return;
    }
    for event in events {
        pasokh_platform::telemetry::add_link(span, &event.cloud.parent_context());
    }
}

/// The records of a poll by partition, each partition's in topic order.
fn by_partition(batch: Vec<OwnedMessage>) -> BTreeMap<i32, Vec<OwnedMessage>> {
    let mut split: BTreeMap<i32, Vec<OwnedMessage>> = BTreeMap::new();
    for record in batch {
        split.entry(record.partition()).or_default().push(record);
    }
    split
}

/// Appends the records that come after what is already held (a redelivery of a held record is dropped).
fn append_after(held: &mut Vec<OwnedMessage>, records: Vec<OwnedMessage>) {
    let last = held.last().map_or(-1, |r| r.offset());
    held.extend(records.into_iter().filter(|r| r.offset() > last));
}

/// The positions to commit: for each partition, the offset of the next record to read.
fn positions(topic: &str, next: &BTreeMap<i32, i64>) -> Result<TopicPartitionList> {
    let mut offsets = TopicPartitionList::new();
    for (partition, offset) in next {
        offsets.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    Ok(offsets)
}

/// Fetches what the events need (before any transaction), then in one transaction records them
/// in the ledger and lets the handler apply those that were new (the first copy of each, in the
/// given order), and commits. Returns how many were applied and how many were duplicates.
/// `rebuild` commands use it as the loop does.
pub async fn apply_new<H: BatchHandler>(
    pool: &PgPool,
    handler: &H,
    events: &[&Received<H::Message>],
) -> std::result::Result<(usize, usize), HandlerError> {
    let wanted: Vec<&Received<H::Message>> = events.iter().copied().filter(|e| handler.wants(e)).collect();
    let events = wanted.as_slice();
    if events.is_empty() {
        return Ok((0, 0));
    }
    let prepared = handler.prepare(events).await?;
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
        events.iter().copied().filter(|e| fresh.contains(&e.cloud.id) && seen.insert(e.cloud.id)).collect();
    let duplicates = events.len() - new.len();
    if !new.is_empty() {
        handler.handle_batch(&mut tx, &new, &prepared).await?;
        pasokh_platform::crash::point("consumer.before_commit");
        tx.commit().await?;
        // the effects are durable, the offsets not yet stored: a restart redelivers these records
        pasokh_platform::crash::point("consumer.after_commit");
        handler.after_commit();
    }
    Ok((new.len(), duplicates))
}

/// How many ledger rows one purge statement deletes: short enough never to hold up a batch.
const PURGE_CHUNK: i64 = 10_000;

/// Purges `topic`'s ledger rows past `retention` until cancelled: a chunk a second while old
/// rows remain, then hourly. A failure only postpones it.
async fn purge_ledger(pool: PgPool, topic: String, retention: Duration, token: CancellationToken) {
    loop {
        let pause = match purge_processed(&pool, &topic, retention, PURGE_CHUNK).await {
            Ok(deleted) if deleted >= u64::try_from(PURGE_CHUNK).unwrap_or(u64::MAX) => Duration::from_secs(1),
            Ok(deleted) => {
                if deleted > 0 {
                    tracing::info!(%topic, deleted, "consumer ledger purged of events past retention");
                }
                Duration::from_secs(3600)
            }
            Err(error) => {
                tracing::warn!(%error, %topic, "consumer ledger purge failed; trying again later");
                Duration::from_secs(300)
            }
        };
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Deletes at most `limit` of `topic`'s `processed_events` rows older than `retention`; returns
/// how many. The table grew without bound (finding 24); a redelivery older than the topics'
/// retention cannot happen, so its record is no longer needed.
pub async fn purge_processed(pool: &PgPool, topic: &str, retention: Duration, limit: i64) -> sqlx::Result<u64> {
    let seconds = f64::from(u32::try_from(retention.as_secs()).unwrap_or(u32::MAX));
    let deleted = sqlx::query(
        "DELETE FROM processed_events WHERE event_id IN (SELECT event_id FROM processed_events \
         WHERE topic = $1 AND processed_at < now() - make_interval(secs => $2) LIMIT $3)",
    )
    .bind(topic)
    .bind(seconds)
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}

/// The errors the Kafka client reports instead of a record. It reports every failed connection
/// attempt, and while the broker is away they queue up; they are counted and logged at most every
/// 10 s. Waiting a second per error, as this loop once did, drained that queue one event a second
/// after the broker was back while the records behind it waited: after the fault matrix's 30 s
/// Kafka stop a consumer was minutes behind.
#[derive(Default)]
struct ReceiveErrors {
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl ReceiveErrors {
    fn record(&mut self, error: &rdkafka::error::KafkaError, topic: &str) {
        self.since_logged += 1;
        if self.logged_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
            tracing::warn!(%error, topic, errors = self.since_logged, "kafka receive failing; the client reconnects by itself");
            self.since_logged = 0;
            self.logged_at = Some(Instant::now());
        }
    }
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
        span: tracing::Span::none(),
    })
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;

    use super::*;

    fn record(partition: i32, offset: i64) -> OwnedMessage {
        OwnedMessage::new(None, None, "t".into(), Timestamp::NotAvailable, partition, offset, None)
    }

    #[test]
    fn a_poll_splits_by_partition_in_order_and_held_records_are_not_taken_twice() {
        let split = by_partition(vec![record(1, 5), record(0, 3), record(1, 6), record(0, 4)]);
        let offsets: Vec<(i32, Vec<i64>)> =
            split.iter().map(|(p, rs)| (*p, rs.iter().map(|r| r.offset()).collect())).collect();
        assert_eq!(offsets, vec![(0, vec![3, 4]), (1, vec![5, 6])]);
        let mut held = vec![record(1, 5), record(1, 6)];
        append_after(&mut held, vec![record(1, 6), record(1, 7)]);
        assert_eq!(held.iter().map(|r| r.offset()).collect::<Vec<_>>(), vec![5, 6, 7]);
    }
}

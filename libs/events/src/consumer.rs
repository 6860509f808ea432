//! What every consumer shares: the handler's error classes, the decoded
//! record, the dead-letter topic, and the broker check.
//!
//! The contract (at-least-once delivery, exactly-once effects through the
//! `processed_events` ledger in the handler's transaction, offsets committed
//! after) is implemented once, a batch at a time, in [`crate::batch`].
use std::time::Duration;

use pasokh_platform::retry::Backoff;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

use crate::cloudevents::{CloudEvent, header_map_of, to_kafka_headers};

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
    /// The record's `process` span, continuing the trace of the request that produced it: a
    /// handler applies the event inside it, so what it publishes carries that trace on.
    pub span: tracing::Span,
}

/// Parks a poison record on `<topic>.dlq` with the reason and where it came from; retried until
/// Kafka takes it, or `None` at shutdown.
pub async fn dead_letter(
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
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    let mut attempt = 0;
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
                attempt += 1;
                tracing::warn!(%error, dlq = %dlq_topic, attempt, "dead-letter publish failed, retrying");
                tokio::select! {
                    _ = token.cancelled() => return None,
                    _ = tokio::time::sleep(backoff.delay(attempt)) => {},
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

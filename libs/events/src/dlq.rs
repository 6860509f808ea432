//! Replaying a dead-letter topic: once the cause is fixed (a consumer bug, a
//! missing reference), the records in `<topic>.dlq` go back to the topic they
//! came from, with their original headers (the `pasokh_dlq_*` ones dropped).
//! Safe to repeat: every Pasokh consumer deduplicates on `ce_id`, and the
//! replayer commits its own position in the DLQ, so a record is replayed once.
use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::Result;
use crate::cloudevents::{header_map_of, to_kafka_headers};

/// The consumer group the replayer keeps its position in when it replays every group's records.
pub const REPLAY_GROUP: &str = "pasokh-dlq-replay";

/// Where the replayer keeps its position: one per consumer group asked for, so replaying one
/// group's dead letters never moves past another group's (a replay for all of them may bring a
/// record back a second time; every consumer deduplicates on `ce_id`).
pub fn replay_group(only_group: Option<&str>) -> String {
    match only_group {
        Some(group) => format!("{REPLAY_GROUP}-{group}"),
        None => REPLAY_GROUP.to_owned(),
    }
}
const DLQ_HEADER_PREFIX: &str = "pasokh_dlq_";

/// One dead-lettered record, as the replay saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub offset: i64,
    pub partition: i32,
    pub to_topic: String,
    pub reason: String,
    pub consumer_group: String,
}

/// What to replay.
#[derive(Debug, Clone)]
pub struct Replay {
    pub bootstrap_servers: String,
    /// e.g. `pasokh.petition.lifecycle.v1.dlq`
    pub dlq_topic: String,
    /// only records a consumer group dead-lettered; the replayer keeps a position per group
    /// (`pasokh-dlq-replay-<group>`), so what it skips stays there for a replay of the others
    pub only_group: Option<String>,
    /// list, publish nothing, commit nothing
    pub dry_run: bool,
    /// the replay ends when no record arrived for this long
    pub idle: Duration,
}

/// Replays every record after the replayer's last position; returns them.
pub async fn replay(options: &Replay, mut progress: impl FnMut(&DeadLetter)) -> Result<Vec<DeadLetter>> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &options.bootstrap_servers)
        .set("group.id", replay_group(options.only_group.as_deref()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[&options.dlq_topic])?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &options.bootstrap_servers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()?;
    let mut replayed = Vec::new();
    loop {
        let record = match tokio::time::timeout(options.idle, consumer.recv()).await {
            Err(_) => break, // nothing more for `idle`: the DLQ is drained
            Ok(record) => record?,
        };
        let headers = header_map_of(record.headers());
        let letter = DeadLetter {
            offset: record.offset(),
            partition: record.partition(),
            to_topic: headers.get("pasokh_dlq_topic").cloned().unwrap_or_default(),
            reason: headers.get("pasokh_dlq_reason").cloned().unwrap_or_default(),
            consumer_group: headers.get("pasokh_dlq_group").cloned().unwrap_or_default(),
        };
        let wanted = options.only_group.as_ref().is_none_or(|g| *g == letter.consumer_group);
        if wanted && !letter.to_topic.is_empty() {
            progress(&letter);
            if !options.dry_run {
                let original: BTreeMap<String, String> =
                    headers.into_iter().filter(|(k, _)| !k.starts_with(DLQ_HEADER_PREFIX)).collect();
                let mut out = FutureRecord::to(&letter.to_topic).headers(to_kafka_headers(&original));
                if let Some(key) = record.key() {
                    out = out.key(key);
                }
                if let Some(payload) = record.payload() {
                    out = out.payload(payload);
                }
                producer.send(out, Duration::from_secs(30)).await.map_err(|(error, _)| error)?;
            }
            replayed.push(letter);
        }
        if !options.dry_run {
            consumer.commit_message(&record, CommitMode::Sync)?;
        }
    }
    Ok(replayed)
}

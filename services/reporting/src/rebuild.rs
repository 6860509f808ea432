//! `pasokh-reporting rebuild`: empties the read model and replays the lifecycle
//! topic from its first record into it, then leaves the service's consumer
//! group at the end of what was replayed, so `serve` carries on from there.
//!
//! Run it with reporting stopped (scaled to 0), or against a fresh database and
//! consumer group named in the configuration.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pasokh_events::batch::{apply_new, decode};
use pasokh_events::consumer::{HandlerError, Received};
use pasokh_platform::tasks::BoxError;
use pasokh_proto::events::v1::PetitionEvent;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::Settings;
use crate::consume::FoldLifecycle;

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub events: u64,
    pub duplicates: u64,
    pub dead: u64,
}

pub async fn rebuild(settings: &Settings) -> Result<Rebuilt, BoxError> {
    let pool = settings.database.pool()?;
    pasokh_platform::db::migrate(&pool, &crate::app::MIGRATOR).await?;
    sqlx::query("TRUNCATE case_facts, rollup_by_period, rollup_by_desk_event, rollup_by_status, processed_events")
        .execute(&pool)
        .await?;
    let handler = FoldLifecycle { calendar: std::sync::Arc::new(crate::app::calendar(settings)?) };
    let topic = settings.kafka.lifecycle_topic.clone();
    let consumer: BaseConsumer = settings.kafka.base_consumer(&settings.kafka.consumer_group)?;
    let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    if partitions.is_empty() {
        return Err(format!("topic {topic} has no partitions (does it exist?)").into());
    }
    // replay up to where each partition ends now; what arrives later is the service's to consume
    let mut ends = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    let mut total: i64 = 0;
    for partition in &partitions {
        let (low, high) = consumer.fetch_watermarks(&topic, *partition, Duration::from_secs(10))?;
        if high > low {
            ends.insert(*partition, high);
            total += high - low;
            assignment.add_partition_offset(&topic, *partition, Offset::Beginning)?;
        }
    }
    tracing::info!(%topic, partitions = partitions.len(), records = total, "rebuild: replaying the topic");
    consumer.assign(&assignment)?;
    let mut done = Rebuilt::default();
    let mut position: BTreeMap<i32, i64> = BTreeMap::new();
    let started = Instant::now();
    let mut last_report = Instant::now();
    while ends.iter().any(|(p, end)| position.get(p).copied().unwrap_or(0) < *end) {
        let mut batch = Vec::with_capacity(settings.batch_max_records);
        while batch.len() < settings.batch_max_records {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(record)) => {
                    position.insert(record.partition(), record.offset() + 1);
                    match decode(&record.detach()) {
                        Ok(event) => batch.push(event),
                        Err(reason) => {
                            tracing::warn!(reason, offset = record.offset(), "rebuild: undecodable record skipped");
                            done.dead += 1;
                        }
                    }
                }
                Some(Err(error)) => return Err(error.into()),
                None => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let events: Vec<&Received<PetitionEvent>> = batch.iter().collect();
        match apply_new(&pool, &handler, &events).await {
            Ok((applied, duplicates)) => {
                done.events += applied as u64;
                done.duplicates += duplicates as u64;
            }
            Err(HandlerError::Permanent(reason)) => {
                // the live consumer would have dead-lettered these one by one: do the same
                for event in &batch {
                    if let Err(error) = apply_new(&pool, &handler, &[event]).await {
                        tracing::warn!(%error, offset = event.offset, "rebuild: event refused, skipped ({reason})");
                        done.dead += 1;
                    } else {
                        done.events += 1;
                    }
                }
            }
            Err(HandlerError::Transient(reason)) => return Err(reason.into()),
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            last_report = Instant::now();
            let seen: i64 = position.values().sum::<i64>();
            tracing::info!(events = done.events, seen, of = total, "rebuild: progress");
        }
    }
    let mut offsets = TopicPartitionList::new();
    for (partition, end) in &ends {
        offsets.add_partition_offset(&topic, *partition, Offset::Offset(*end))?;
    }
    if offsets.count() > 0 {
        consumer.commit(&offsets, CommitMode::Sync)?;
    }
    let per_second = done.events as f64 / started.elapsed().as_secs_f64().max(0.001);
    tracing::info!(events = done.events, duplicates = done.duplicates, dead = done.dead, per_second, "rebuild: done");
    println!(
        "rebuilt the read model from {topic}: {} events applied, {} duplicates, {} refused, {:.0} events/s",
        done.events, done.duplicates, done.dead, per_second
    );
    Ok(done)
}

/// `pasokh-reporting rollups-from-facts`: recomputes every rollup from the facts as they stand
/// (after a bulk load of facts, or when the working calendar changed); the facts stay.
pub async fn rollups_from_facts(settings: &Settings) -> Result<u64, BoxError> {
    use futures_util::TryStreamExt;

    let pool = settings.database.pool()?;
    pasokh_platform::db::migrate(&pool, &crate::app::MIGRATOR).await?;
    let calendar = crate::app::calendar(settings)?;
    let started = Instant::now();
    let mut deltas = crate::rollup::Deltas::default();
    let mut facts: u64 = 0;
    {
        let mut rows = sqlx::query_as::<_, crate::facts::Fact>("SELECT * FROM case_facts").fetch(&pool);
        while let Some(fact) = rows.try_next().await? {
            deltas.add_fact(&fact, 1, &calendar);
            facts += 1;
            if facts.is_multiple_of(1_000_000) {
                tracing::info!(facts, seconds = started.elapsed().as_secs(), "rollups-from-facts: progress");
            }
        }
    }
    let mut tx = pool.begin().await?;
    sqlx::query("TRUNCATE rollup_by_period, rollup_by_desk_event, rollup_by_status").execute(&mut *tx).await?;
    deltas.apply_in_chunks(&mut tx, 5_000).await?;
    tx.commit().await?;
    println!("recomputed the rollups from {facts} facts in {:.1} s", started.elapsed().as_secs_f64());
    Ok(facts)
}

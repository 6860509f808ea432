//! The outbox relay keeps every key's events in order on the topic with several replicas
//! relaying one table (finding 7 of the security audit), on the real PostgreSQL and Kafka.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use pasokh_events::metrics::EventMetrics;
use pasokh_events::outbox::{self, OutboxMessage, OutboxRelay};
use pasokh_testkit::{Stack, record_key};
use rdkafka::message::Message as _;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const KEYS: usize = 200;
const EVENTS_PER_KEY: usize = 4;

#[tokio::test(flavor = "multi_thread")]
async fn three_relay_replicas_publish_each_keys_events_in_the_order_they_were_written() {
    let stack = Stack::from_env();
    let url = stack.fresh_database("relay").await;
    let topics = stack.fresh_topics("relay").await;
    let writer = PgPool::connect(&url).await.unwrap();
    writer.execute(pasokh_events::OUTBOX_SQL).await.unwrap();
    let settings = stack.kafka_settings(&topics, "relay");

    // a backlog, as when Kafka comes back after an outage: every key's events interleaved with the others'
    for sequence in 0..EVENTS_PER_KEY {
        let mut tx = writer.begin().await.unwrap();
        for key in 0..KEYS {
            let headers: BTreeMap<String, String> =
                [("ce_id".to_owned(), Uuid::now_v7().to_string()), ("sequence".to_owned(), sequence.to_string())]
                    .into();
            let message = OutboxMessage {
                event_id: Uuid::now_v7(),
                topic: topics.lifecycle.clone(),
                key: format!("petition-{key}"),
                payload: sequence.to_string().into_bytes(),
                headers,
            };
            outbox::enqueue(&mut tx, &message).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    // then three replicas at once, each with its own pool and producer, as three pods of one service
    let token = CancellationToken::new();
    let mut relays = Vec::new();
    for replica in 0..3 {
        let pool = PgPoolOptions::new().max_connections(3).connect(&url).await.unwrap();
        // the first pod is the slow one (a busy node): its producer holds records 300 ms before sending
        let mut settings = settings.clone();
        if replica == 0 {
            settings.properties.insert("linger.ms".into(), "300".into());
        }
        let relay = OutboxRelay::new(pool, settings.producer().unwrap(), EventMetrics::default());
        relays.push(tokio::spawn(relay.run(token.clone())));
    }
    let records = stack.read_topic(&topics.lifecycle, KEYS * EVENTS_PER_KEY, Duration::from_secs(60)).await;
    token.cancel();
    for relay in relays {
        relay.await.unwrap().unwrap();
    }
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for record in &records {
        let sequence: usize = String::from_utf8_lossy(record.payload().unwrap()).parse().unwrap();
        by_key.entry(record_key(record)).or_default().push(sequence);
    }
    assert_eq!(by_key.len(), KEYS);
    let wanted: Vec<usize> = (0..EVENTS_PER_KEY).collect();
    let out_of_order: Vec<(&String, &Vec<usize>)> = by_key.iter().filter(|(_, seen)| **seen != wanted).collect();
    assert!(out_of_order.is_empty(), "keys whose events arrived out of order or twice: {out_of_order:?}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&writer).await.unwrap();
    assert_eq!(left, 0, "every published row is deleted");
}

//! The local stack a test runs against: a fresh database and fresh topics per test, Kafka
//! publishing, reading and consumer-group offsets.
use std::time::Duration;

use pasokh_events::KafkaSettings;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::init_test_logging;

/// Where the local stack listens; the same variables `scripts/stack.sh` reads.
#[derive(Debug, Clone)]
pub struct Stack {
    pub pg_port: u16,
    pub kafka: String,
}

impl Stack {
    pub fn from_env() -> Self {
        init_test_logging();
        let port = |name: &str, default: u16| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        Self {
            pg_port: port("PASOKH_PG_PORT", 55432),
            kafka: format!("127.0.0.1:{}", port("PASOKH_KAFKA_PORT", 19092)),
        }
    }

    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://pasokh:pasokh@127.0.0.1:{}/{database}", self.pg_port)
    }

    /// Creates an empty database `pasokh_test_<label>_<random>` and returns its URL.
    pub async fn fresh_database(&self, label: &str) -> String {
        let name = format!("pasokh_test_{label}_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&self.database_url("postgres"))
            .await
            .expect("the local stack's PostgreSQL is not reachable: run `make stack-up`");
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        self.database_url(&name)
    }

    /// Creates unique lifecycle and delivery topics (with `.dlq` companions) for one test.
    pub async fn fresh_topics(&self, label: &str) -> Topics {
        let suffix = Uuid::new_v4().simple().to_string();
        let topics = Topics {
            lifecycle: format!("test.{label}.{suffix}.lifecycle"),
            delivery: format!("test.{label}.{suffix}.delivery"),
            desk: format!("test.{label}.{suffix}.desk"),
        };
        let names = [
            (topics.lifecycle.clone(), 6),
            (format!("{}.dlq", topics.lifecycle), 1),
            (topics.delivery.clone(), 3),
            (format!("{}.dlq", topics.delivery), 1),
            (topics.desk.clone(), 3),
            (format!("{}.dlq", topics.desk), 1),
        ];
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &self.kafka).create().unwrap();
        let new_topics: Vec<NewTopic<'_>> =
            names.iter().map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1))).collect();
        let results = admin
            .create_topics(&new_topics, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))))
            .await
            .expect("the local stack's Kafka is not reachable: run `make stack-up`");
        for result in results {
            result.expect("topic creation failed");
        }
        topics
    }

    pub fn kafka_settings(&self, topics: &Topics, group: &str) -> KafkaSettings {
        KafkaSettings {
            bootstrap_servers: self.kafka.clone(),
            lifecycle_topic: topics.lifecycle.clone(),
            delivery_topic: topics.delivery.clone(),
            desk_topic: topics.desk.clone(),
            consumer_group: format!("{group}-{}", Uuid::new_v4().simple()),
            properties: Default::default(),
            secret_properties: Default::default(),
            // retries short enough that a test's outage outlasts them
            consumer: pasokh_events::settings::ConsumerSettings {
                retry: pasokh_platform::retry::Backoff::new(Duration::from_millis(50), Duration::from_secs(1)),
                ..Default::default()
            },
        }
    }

    /// Reads `topic` from the beginning until `expected` records arrived or `timeout` passed.
    pub async fn read_topic(&self, topic: &str, expected: usize, timeout: Duration) -> Vec<OwnedMessage> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.kafka)
            .set("group.id", format!("reader-{}", Uuid::new_v4().simple()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let mut records = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while records.len() < expected {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Ok(Ok(message)) => records.push(message.detach()),
                Ok(Err(error)) => panic!("reading {topic}: {error}"),
                Err(_) => break,
            }
        }
        records
    }
}

#[derive(Debug, Clone)]
pub struct Topics {
    pub lifecycle: String,
    pub delivery: String,
    pub desk: String,
}

impl Stack {
    /// Publishes a record as a service's outbox relay would (CloudEvents headers, protobuf value).
    pub async fn publish(&self, message: &pasokh_events::outbox::OutboxMessage) {
        self.publish_raw(&message.topic, &message.key, &message.headers, &message.payload).await;
    }

    /// The offset a consumer group has committed for one partition (`None` before its first commit).
    pub async fn committed_offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        use rdkafka::consumer::BaseConsumer;
        use rdkafka::{Offset, TopicPartitionList};
        let (kafka, group, topic) = (self.kafka.clone(), group.to_owned(), topic.to_owned());
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer =
                ClientConfig::new().set("bootstrap.servers", &kafka).set("group.id", &group).create().unwrap();
            let mut wanted = TopicPartitionList::new();
            wanted.add_partition(&topic, partition);
            let committed = consumer.committed_offsets(wanted, Duration::from_secs(5)).ok()?;
            match committed.find_partition(&topic, partition)?.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            }
        })
        .await
        .unwrap()
    }

    /// Every record of `topic` from its first offset to its end as of now, partition by partition
    /// in offset order (partition 0 first).
    pub async fn read_to_end(&self, topic: &str) -> Vec<OwnedMessage> {
        use rdkafka::consumer::BaseConsumer;
        use rdkafka::{Offset, TopicPartitionList};
        let (kafka, topic) = (self.kafka.clone(), topic.to_owned());
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &kafka)
                .set("group.id", format!("reader-{}", Uuid::new_v4().simple()))
                .set("enable.auto.commit", "false")
                .create()
                .unwrap();
            let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).unwrap();
            let partitions: Vec<i32> =
                metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
            let mut records = Vec::new();
            for partition in partitions {
                let (low, high) = consumer.fetch_watermarks(&topic, partition, Duration::from_secs(10)).unwrap();
                if high <= low {
                    continue;
                }
                let mut assignment = TopicPartitionList::new();
                assignment.add_partition_offset(&topic, partition, Offset::Offset(low)).unwrap();
                consumer.assign(&assignment).unwrap();
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                let mut next = low;
                while next < high {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "reading {topic}/{partition}: stuck at {next} of {high}"
                    );
                    match consumer.poll(Duration::from_millis(500)) {
                        Some(Ok(message)) => {
                            next = message.offset() + 1;
                            records.push(message.detach());
                        }
                        Some(Err(error)) => panic!("reading {topic}/{partition}: {error}"),
                        None => {}
                    }
                }
            }
            records
        })
        .await
        .unwrap()
    }

    /// Publishes arbitrary bytes and headers, e.g. a poison record.
    pub async fn publish_raw(
        &self,
        topic: &str,
        key: &str,
        headers: &std::collections::BTreeMap<String, String>,
        payload: &[u8],
    ) {
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", &self.kafka).create().unwrap();
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(pasokh_events::cloudevents::to_kafka_headers(headers));
        producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
    }
}

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};

use pasokh_platform::config::Secret;
use pasokh_platform::retry::Backoff;

use crate::Result;
use crate::batch::BatchLimits;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    pub lifecycle_topic: String,
    pub delivery_topic: String,
    /// What happens at service desks besides petitions: desk events opened and closed, meetings with officials
    #[serde(default = "default_desk_topic")]
    pub desk_topic: String,
    /// Consumer group of this service (ignored by services that only produce).
    pub consumer_group: String,
    /// Extra librdkafka properties, passed through as they are (e.g. `security.protocol`). No
    /// credential: a property named like one (`…password`, `…secret`, `…jaas…`) is refused, as
    /// this map is shown by `print-config` and lives in the chart's ConfigMap (finding 24).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties whose values are credentials (`sasl.password`, `ssl.key.password`):
    /// redacted by `print-config`, set from a Kubernetes Secret by the chart. An environment
    /// variable cannot carry a dot, so `_` stands for `.` in the name (`sasl_password`).
    #[serde(default)]
    pub secret_properties: BTreeMap<String, Secret>,
    /// How the consumers batch and retry
    #[serde(default)]
    pub consumer: ConsumerSettings,
}

/// A consumer's batches and its retries of a partition that failed transiently.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerSettings {
    /// The most records one transaction applies
    pub max_records: usize,
    /// How long a poll waits for more records once it has one
    pub max_wait_ms: u64,
    /// The shared back-off of a held partition's retries
    pub retry: Backoff,
    /// How long the consumer ledger (`processed_events`) remembers an event it applied. Longer
    /// than the topics' retention (7 days), so no redelivery can outlive its record.
    pub ledger_retention_days: u32,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        let limits = BatchLimits::default();
        Self {
            max_records: limits.max_records,
            max_wait_ms: u64::try_from(limits.max_wait.as_millis()).unwrap_or(u64::MAX),
            retry: limits.retry,
            ledger_retention_days: u32::try_from(limits.ledger_retention.as_secs() / 86_400).unwrap_or(u32::MAX),
        }
    }
}

impl ConsumerSettings {
    pub fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: self.max_records.max(1),
            max_wait: std::time::Duration::from_millis(self.max_wait_ms),
            retry: self.retry,
            ledger_retention: std::time::Duration::from_secs(u64::from(self.ledger_retention_days.max(1)) * 86_400),
        }
    }
}

/// Whether a librdkafka property carries a credential by its name.
fn names_a_credential(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "jaas", "token"].iter().any(|word| key.contains(word))
}

fn default_desk_topic() -> String {
    "pasokh.desk.activity.v1".into()
}

impl KafkaSettings {
    pub fn local(consumer_group: &str) -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:19092".into(),
            lifecycle_topic: "pasokh.petition.lifecycle.v1".into(),
            delivery_topic: "pasokh.notification.delivery.v1".into(),
            desk_topic: default_desk_topic(),
            consumer_group: consumer_group.into(),
            properties: BTreeMap::new(),
            secret_properties: BTreeMap::new(),
            consumer: ConsumerSettings::default(),
        }
    }

    fn base(&self) -> Result<ClientConfig> {
        if let Some(key) = self.properties.keys().find(|key| names_a_credential(key)) {
            return Err(crate::Error::Setup(format!(
                "kafka.properties.{key} looks like a credential: set it in kafka.secret_properties (from a Secret)"
            )));
        }
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        for (key, value) in &self.secret_properties {
            config.set(key.replace('_', "."), value.expose());
        }
        Ok(config)
    }

    /// Idempotent producer, `acks=all`: a retried send never duplicates or reorders a partition.
    pub fn producer(&self) -> Result<FutureProducer> {
        let mut config = ClientConfig::new();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "15000");
        // the pass-through properties win, so operators can tune timeouts
        for (key, value) in self.base()?.config_map() {
            config.set(key, value);
        }
        Ok(config.create()?)
    }

    /// Consumer with manual commits: offsets move only after the effect is durable.
    /// A consumer of `group` for commands that assign partitions themselves and poll (e.g. a rebuild).
    pub fn base_consumer(&self, group: &str) -> Result<rdkafka::consumer::BaseConsumer> {
        let mut config = ClientConfig::new();
        config.set("group.id", group).set("enable.auto.commit", "false").set("auto.offset.reset", "earliest");
        for (key, value) in self.base()?.config_map() {
            config.set(key, value);
        }
        Ok(config.create()?)
    }

    pub fn consumer(&self, group: &str) -> Result<StreamConsumer> {
        let mut config = ClientConfig::new();
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("partition.assignment.strategy", "cooperative-sticky");
        for (key, value) in self.base()?.config_map() {
            config.set(key, value);
        }
        Ok(config.create()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn credentials_go_in_secret_properties_and_never_show() {
        let mut settings = KafkaSettings::local("g");
        settings.properties.insert("sasl.password".into(), "hunter2".into());
        let refused = settings.producer().err().unwrap().to_string();
        assert!(refused.contains("kafka.secret_properties"), "{refused}");

        let mut settings = KafkaSettings::local("g");
        settings.properties.insert("security.protocol".into(), "sasl_plaintext".into());
        settings.properties.insert("sasl.mechanism".into(), "PLAIN".into());
        settings.properties.insert("sasl.username".into(), "pasokh-intake".into());
        settings.secret_properties.insert("sasl_password".into(), Secret::new("hunter2"));
        let config = settings.base().unwrap();
        assert_eq!(config.get("sasl.password"), Some("hunter2"), "`_` stands for `.`");
        let shown = pasokh_platform::config::to_redacted_json(&settings);
        assert!(!shown.contains("hunter2") && shown.contains("sasl_password"), "{shown}");
    }
}

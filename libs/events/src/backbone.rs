//! What every service builds first: database pool, Kafka producer, metrics and readiness.
use std::sync::Arc;

use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::http::Readiness;
use pasokh_platform::metrics::HttpMetrics;
use prometheus_client::registry::Registry;
use rdkafka::producer::FutureProducer;
use sqlx::PgPool;

use crate::consumer::kafka_reachable;
use crate::metrics::EventMetrics;
use crate::{KafkaSettings, Result};

/// Whether a service can do its work without Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaReadiness {
    /// consumers: without the broker there is nothing to do
    Required,
    /// intake: petitions are accepted into the outbox while the broker is down, so an outage
    /// must not take every province's intake out of the load balancer
    Advisory,
}

pub struct Backbone {
    pub pool: PgPool,
    pub producer: FutureProducer,
    /// Register service-specific metrics here before [`Backbone::http_router`].
    pub registry: Registry,
    pub http_metrics: HttpMetrics,
    pub event_metrics: EventMetrics,
}

impl Backbone {
    /// Connects lazily: a service starts (and reports not-ready) while its database or Kafka is down.
    pub fn new(database: &DatabaseSettings, kafka: &KafkaSettings) -> Result<Self> {
        let pool = database.pool().map_err(|e| crate::Error::Setup(e.to_string()))?;
        let producer = kafka.producer()?;
        let mut registry = Registry::with_prefix("pasokh");
        let http_metrics = HttpMetrics::register(&mut registry);
        let event_metrics = EventMetrics::register(&mut registry);
        Ok(Self { pool, producer, registry, http_metrics, event_metrics })
    }

    /// `/readyz` checks: the database answers, and the Kafka broker answers —
    /// required, or only reported.
    pub fn readiness(&self, kafka: KafkaReadiness) -> Readiness {
        let producer = self.producer.clone();
        let check = move || {
            let producer = producer.clone();
            async move { kafka_reachable(&producer).await }
        };
        let readiness = Readiness::default().with_database(self.pool.clone());
        match kafka {
            KafkaReadiness::Required => readiness.with_check("kafka", check),
            KafkaReadiness::Advisory => readiness.with_advisory_check("kafka", check),
        }
    }

    /// The service's routes plus `/healthz`, `/readyz`, `/metrics` and request metrics.
    pub fn http_router(&mut self, routes: axum::Router, kafka: KafkaReadiness) -> axum::Router {
        let registry = Arc::new(std::mem::take(&mut self.registry));
        pasokh_platform::http::with_ops(routes, self.readiness(kafka), registry, self.http_metrics.clone())
    }
}

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumedLabels {
    pub topic: String,
    /// processed | duplicate | dead_lettered
    pub outcome: &'static str,
}

/// What operators watch on the event pipeline: outbox backlog, publish results, consumption outcomes.
#[derive(Clone, Default)]
pub struct EventMetrics {
    pub outbox_backlog: Gauge,
    pub published: Counter,
    pub publish_failures: Counter,
    pub consumed: Family<ConsumedLabels, Counter>,
    pub handler_retries: Counter,
}

impl EventMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "outbox_backlog",
            "Events written but not yet published to Kafka",
            metrics.outbox_backlog.clone(),
        );
        registry.register(
            "events_published",
            "Events published to Kafka by the outbox relay",
            metrics.published.clone(),
        );
        registry.register(
            "event_publish_failures",
            "Outbox publish attempts that failed",
            metrics.publish_failures.clone(),
        );
        registry.register("events_consumed", "Kafka records consumed, by outcome", metrics.consumed.clone());
        registry.register(
            "event_handler_retries",
            "Transient handler failures retried",
            metrics.handler_retries.clone(),
        );
        metrics
    }
}

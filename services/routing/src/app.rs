//! Builds routing: consumer of `Submitted`, outbox relay, gRPC `CaseService`, ops endpoints.
use std::time::Duration;

use pasokh_events::Backbone;
use pasokh_events::consumer::ConsumerLoop;
use pasokh_events::outbox::OutboxRelay;
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::service::{Listeners, Servers, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_platform::telemetry::TelemetrySettings;
use pasokh_proto::routing::v1::case_service_server::CaseServiceServer;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::config::Settings;
use crate::consume::RouteSubmitted;
use crate::grpc::CaseGrpc;
use crate::rules::RuleBook;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct App {
    servers: Servers,
    relay: OutboxRelay,
    consumer: ConsumerLoop<RouteSubmitted>,
    rule_book: RuleBook,
    rules_reload: Duration,
    drain: Duration,
}

impl Service for App {
    const NAME: &'static str = "routing";
    const SERVICE_NAME: &'static str = "pasokh-routing";
    type Settings = Settings;

    fn telemetry(settings: &Settings) -> &TelemetrySettings {
        &settings.telemetry
    }

    fn database(settings: &Settings) -> &DatabaseSettings {
        &settings.database
    }

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: &Settings) -> Result<Self, BoxError> {
        let rule_book = RuleBook::load(&settings.rules_file).map_err(crate::Error::Rules)?;
        let mut backbone = Backbone::new(&settings.database, &settings.kafka)?;
        let relay = OutboxRelay::new(backbone.pool.clone(), backbone.producer.clone(), backbone.event_metrics.clone());
        let consumer = ConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.lifecycle_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: backbone.pool.clone(),
            handler: RouteSubmitted {
                lifecycle_topic: settings.kafka.lifecycle_topic.clone(),
                thursday_off: settings.thursday_off,
                relay_waker: relay.waker(),
                rules: rule_book.clone(),
            },
            metrics: backbone.event_metrics.clone(),
        };
        let grpc = tonic::service::Routes::new(CaseServiceServer::new(CaseGrpc { pool: backbone.pool.clone() }));
        let servers = Servers::bind(
            &settings.listen,
            backbone.http_router(axum::Router::new()),
            "pasokh.routing.v1.CaseService",
            grpc,
            pasokh_proto::FILE_DESCRIPTOR_SET,
        )
        .await?;
        Ok(Self {
            servers,
            relay,
            consumer,
            rule_book,
            rules_reload: Duration::from_secs(settings.rules_reload_secs.max(1)),
            drain: Duration::from_secs(settings.shutdown_drain_secs),
        })
    }

    fn addresses(&self) -> Listeners {
        self.servers.addresses()
    }

    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        let mut tasks = ServiceTasks::new(token.clone());
        self.servers.spawn(&mut tasks);
        tasks.spawn("consumer", self.consumer.run(token.clone()));
        tasks.spawn("rules-reloader", self.rule_book.watch(self.rules_reload, token.clone()));
        tasks.spawn("outbox-relay", self.relay.run(token));
        tasks.run(self.drain).await
    }
}

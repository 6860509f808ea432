//! Builds reporting: lifecycle consumer, gRPC `ReportingService`, HTTP summary and dashboard.
use std::time::Duration;

use pasokh_events::Backbone;
use pasokh_events::backbone::KafkaReadiness;
use pasokh_events::consumer::ConsumerLoop;
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::service::{Listeners, Servers, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_platform::telemetry::TelemetrySettings;
use pasokh_proto::reporting::v1::reporting_service_server::ReportingServiceServer;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::config::Settings;
use crate::consume::CountLifecycle;
use crate::grpc::ReportingGrpc;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct App {
    servers: Servers,
    consumer: ConsumerLoop<CountLifecycle>,
    drain: Duration,
}

impl Service for App {
    const NAME: &'static str = "reporting";
    const SERVICE_NAME: &'static str = "pasokh-reporting";
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
        let mut backbone = Backbone::new(&settings.database, &settings.kafka)?;
        let consumer = ConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.lifecycle_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: backbone.pool.clone(),
            handler: CountLifecycle,
            metrics: backbone.event_metrics.clone(),
        };
        let grpc =
            tonic::service::Routes::new(ReportingServiceServer::new(ReportingGrpc { pool: backbone.pool.clone() }));
        let router = crate::http::router(backbone.pool.clone());
        let servers = Servers::bind(
            &settings.listen,
            backbone.http_router(router, KafkaReadiness::Required),
            "pasokh.reporting.v1.ReportingService",
            grpc,
            pasokh_proto::FILE_DESCRIPTOR_SET,
        )
        .await?;
        Ok(Self { servers, consumer, drain: Duration::from_secs(settings.shutdown_drain_secs) })
    }

    fn addresses(&self) -> Listeners {
        self.servers.addresses()
    }

    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        let mut tasks = ServiceTasks::new(token.clone());
        self.servers.spawn(&mut tasks);
        tasks.spawn("consumer", self.consumer.run(token));
        tasks.run(self.drain).await
    }
}

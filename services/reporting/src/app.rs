//! Builds reporting: pool, lifecycle consumer, gRPC `ReportingService`, HTTP summary and dashboard.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pasokh_events::consumer::{ConsumerLoop, kafka_reachable};
use pasokh_events::metrics::EventMetrics;
use pasokh_platform::http::Readiness;
use pasokh_platform::metrics::HttpMetrics;
use pasokh_platform::service::{Listeners, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_platform::telemetry::TelemetrySettings;
use pasokh_proto::reporting::v1::reporting_service_server::ReportingServiceServer;
use prometheus_client::registry::Registry;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::config::Settings;
use crate::consume::CountLifecycle;
use crate::grpc::ReportingGrpc;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn migrate(settings: &Settings) -> Result<()> {
    let pool = settings.database.pool()?;
    pasokh_platform::db::migrate(&pool, &MIGRATOR).await?;
    Ok(())
}

pub struct App {
    http_listener: TcpListener,
    grpc_listener: TcpListener,
    http_router: axum::Router,
    consumer: ConsumerLoop<CountLifecycle>,
    pool: PgPool,
    drain: Duration,
}

impl App {
    pub async fn build(settings: &Settings) -> Result<Self> {
        let pool = settings.database.pool()?;
        let producer = settings.kafka.producer()?;
        let mut registry = Registry::with_prefix("pasokh");
        let http_metrics = HttpMetrics::register(&mut registry);
        let event_metrics = EventMetrics::register(&mut registry);
        let consumer = ConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.lifecycle_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: pool.clone(),
            handler: CountLifecycle,
            metrics: event_metrics,
        };
        let readiness = Readiness::default()
            .with_database(pool.clone())
            .with_check("kafka", move || {
                let producer = producer.clone();
                async move { kafka_reachable(&producer).await }
            });
        let http_router = pasokh_platform::http::with_ops(
            crate::http::router(pool.clone()),
            readiness,
            Arc::new(registry),
            http_metrics,
        );
        let (http_listener, grpc_listener) = pasokh_platform::service::bind(&settings.listen).await?;
        Ok(Self {
            http_listener,
            grpc_listener,
            http_router,
            consumer,
            pool,
            drain: Duration::from_secs(settings.shutdown_drain_secs),
        })
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_listener.local_addr().ok()
    }

    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_listener.local_addr().ok()
    }

    pub async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        let mut tasks = ServiceTasks::new(token.clone());
        tasks.spawn(
            "http",
            pasokh_platform::http::serve(self.http_listener, self.http_router, token.clone()),
        );
        let routes = tonic::service::Routes::new(ReportingServiceServer::new(ReportingGrpc { pool: self.pool }));
        tasks.spawn(
            "grpc",
            pasokh_platform::grpc::serve(
                self.grpc_listener,
                "pasokh.reporting.v1.ReportingService",
                routes,
                pasokh_proto::FILE_DESCRIPTOR_SET,
                token.clone(),
            ),
        );
        tasks.spawn("consumer", self.consumer.run(token.clone()));
        tasks.run(self.drain).await
    }
}

impl Service for App {
    const NAME: &'static str = "reporting";
    const SERVICE_NAME: &'static str = "pasokh-reporting";
    type Settings = Settings;

    fn telemetry(settings: &Settings) -> &TelemetrySettings {
        &settings.telemetry
    }

    async fn migrate(settings: &Settings) -> Result<(), BoxError> {
        Ok(migrate(settings).await?)
    }

    async fn build(settings: &Settings) -> Result<Self, BoxError> {
        Ok(App::build(settings).await?)
    }

    fn addresses(&self) -> Listeners {
        Listeners {
            http: self.http_addr(),
            grpc: self.grpc_addr(),
        }
    }

    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        App::run(self, token).await
    }
}

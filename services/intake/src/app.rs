//! Builds intake from its settings: pool, producer, relay, HTTP and gRPC servers.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pasokh_domain::{CitizenRefKey, ProvinceCode};
use pasokh_events::consumer::kafka_reachable;
use pasokh_events::metrics::EventMetrics;
use pasokh_events::outbox::OutboxRelay;
use pasokh_platform::http::Readiness;
use pasokh_platform::metrics::HttpMetrics;
use pasokh_platform::service::{Listeners, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_platform::telemetry::TelemetrySettings;
use pasokh_proto::intake::v1::intake_service_server::IntakeServiceServer;
use pasokh_proto::routing::v1::case_service_client::CaseServiceClient;
use prometheus_client::registry::Registry;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{DEV_CITIZEN_REF_KEY, Settings};
use crate::grpc::IntakeGrpc;
use crate::http::{AppState, router};
use crate::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn migrate(settings: &Settings) -> Result<()> {
    let pool = settings.database.pool()?;
    pasokh_platform::db::migrate(&pool, &MIGRATOR).await?;
    Ok(())
}

impl Service for App {
    const NAME: &'static str = "intake";
    const SERVICE_NAME: &'static str = "pasokh-intake";
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
            http: Some(self.http_addr()),
            grpc: Some(self.grpc_addr()),
        }
    }

    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        App::run(self, token).await
    }
}

pub struct App {
    http_listener: TcpListener,
    grpc_listener: TcpListener,
    http_router: axum::Router,
    relay: OutboxRelay,
    pool: PgPool,
    drain: Duration,
}

impl App {
    /// Binds the listeners (port 0 picks a free one) and wires everything; serves nothing until [`App::run`].
    pub async fn build(settings: &Settings) -> Result<Self> {
        let province = ProvinceCode::parse(&settings.province)
            .map_err(|e| Error::Config(format!("province `{}`: {}", settings.province, e.message)))?;
        if settings.citizen_ref_key.expose() == DEV_CITIZEN_REF_KEY {
            tracing::warn!("citizen_ref_key is the development default; set PASOKH__CITIZEN_REF_KEY in production");
        }
        let pool = settings.database.pool()?;
        let producer = settings.kafka.producer()?;
        let mut registry = Registry::with_prefix("pasokh");
        let http_metrics = HttpMetrics::register(&mut registry);
        let event_metrics = EventMetrics::register(&mut registry);
        let relay = OutboxRelay::new(pool.clone(), producer.clone(), event_metrics);
        let routing_channel = tonic::transport::Endpoint::from_shared(settings.routing_grpc_url.clone())
            .map_err(|e| Error::Config(format!("routing_grpc_url: {e}")))?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        let state = AppState {
            pool: pool.clone(),
            province,
            citizen_ref_key: CitizenRefKey::new(settings.citizen_ref_key.expose()),
            lifecycle_topic: settings.kafka.lifecycle_topic.clone(),
            relay_waker: relay.waker(),
            routing: CaseServiceClient::new(routing_channel),
        };
        let readiness = Readiness::default()
            .with_database(pool.clone())
            .with_check("kafka", move || {
                let producer = producer.clone();
                async move { kafka_reachable(&producer).await }
            });
        let http_router = pasokh_platform::http::with_ops(router(state), readiness, Arc::new(registry), http_metrics);
        let (http_listener, grpc_listener) = pasokh_platform::service::bind(&settings.listen).await?;
        Ok(Self {
            http_listener,
            grpc_listener,
            http_router,
            relay,
            pool,
            drain: Duration::from_secs(settings.shutdown_drain_secs),
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until the token is cancelled or a task fails; then drains and flushes the producer.
    pub async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        let mut tasks = ServiceTasks::new(token.clone());
        tasks.spawn(
            "http",
            pasokh_platform::http::serve(self.http_listener, self.http_router, token.clone()),
        );
        let routes = tonic::service::Routes::new(IntakeServiceServer::new(IntakeGrpc { pool: self.pool }));
        tasks.spawn(
            "grpc",
            pasokh_platform::grpc::serve(
                self.grpc_listener,
                "pasokh.intake.v1.IntakeService",
                routes,
                pasokh_proto::FILE_DESCRIPTOR_SET,
                token.clone(),
            ),
        );
        // the relay outlives the servers a little: it gets the drain period to publish what they accepted
        tasks.spawn("outbox-relay", self.relay.run(token.clone()));
        tasks.run(self.drain).await
    }
}

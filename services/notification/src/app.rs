//! Builds notification: pool, consumer, SMS dispatchers, outbox relay (delivery outcomes), ops endpoints.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pasokh_events::consumer::{ConsumerLoop, kafka_reachable};
use pasokh_events::metrics::EventMetrics;
use pasokh_events::outbox::OutboxRelay;
use pasokh_platform::http::Readiness;
use pasokh_platform::metrics::HttpMetrics;
use pasokh_platform::service::{Listeners, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_platform::telemetry::TelemetrySettings;
use pasokh_proto::intake::v1::intake_service_client::IntakeServiceClient;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::consume::RecordDeliveries;
use crate::dispatch::Dispatcher;
use crate::{Error, Result};

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
    relay: OutboxRelay,
    consumer: ConsumerLoop<RecordDeliveries>,
    dispatcher: Dispatcher,
    dispatchers: usize,
    drain: Duration,
}

impl App {
    pub async fn build(settings: &Settings) -> Result<Self> {
        let pool = settings.database.pool()?;
        let producer = settings.kafka.producer()?;
        let mut registry = Registry::with_prefix("pasokh");
        let http_metrics = HttpMetrics::register(&mut registry);
        let event_metrics = EventMetrics::register(&mut registry);
        let relay = OutboxRelay::new(pool.clone(), producer.clone(), event_metrics.clone());
        let dispatcher_waker = Arc::new(Notify::new());
        let consumer = ConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.lifecycle_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: pool.clone(),
            handler: RecordDeliveries {
                dispatcher_waker: dispatcher_waker.clone(),
            },
            metrics: event_metrics,
        };
        let intake_channel = tonic::transport::Endpoint::from_shared(settings.intake_grpc_url.clone())
            .map_err(|e| Error::Config(format!("intake_grpc_url: {e}")))?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.sms.timeout_ms))
            .build()
            .map_err(|e| Error::Config(format!("sms http client: {e}")))?;
        let dispatcher = Dispatcher {
            pool: pool.clone(),
            intake: IntakeServiceClient::new(intake_channel),
            http,
            gateway_url: settings.sms.gateway_url.clone(),
            max_attempts: settings.sms.max_attempts,
            delivery_topic: settings.kafka.delivery_topic.clone(),
            wake: dispatcher_waker,
            relay_waker: relay.waker(),
        };
        let readiness = Readiness::default()
            .with_database(pool.clone())
            .with_check("kafka", move || {
                let producer = producer.clone();
                async move { kafka_reachable(&producer).await }
            });
        let http_router =
            pasokh_platform::http::with_ops(axum::Router::new(), readiness, Arc::new(registry), http_metrics);
        let (http_listener, grpc_listener) = pasokh_platform::service::bind(&settings.listen).await?;
        Ok(Self {
            http_listener,
            grpc_listener,
            http_router,
            relay,
            consumer,
            dispatcher,
            dispatchers: settings.sms.concurrency.max(1),
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
        tasks.spawn(
            "grpc",
            pasokh_platform::grpc::serve(
                self.grpc_listener,
                "pasokh.notification",
                tonic::service::Routes::default(),
                pasokh_proto::FILE_DESCRIPTOR_SET,
                token.clone(),
            ),
        );
        for _ in 0..self.dispatchers {
            tasks.spawn("sms-dispatcher", self.dispatcher.clone().run(token.clone()));
        }
        tasks.spawn("consumer", self.consumer.run(token.clone()));
        tasks.spawn("outbox-relay", self.relay.run(token.clone()));
        tasks.run(self.drain).await
    }
}

impl Service for App {
    const NAME: &'static str = "notification";
    const SERVICE_NAME: &'static str = "pasokh-notification";
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

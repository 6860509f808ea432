//! Builds notification: consumer, SMS dispatchers, outbox relay (delivery outcomes), ops endpoints.
use std::sync::Arc;
use std::time::Duration;

use pasokh_events::Backbone;
use pasokh_events::backbone::KafkaReadiness;
use pasokh_events::batch::BatchConsumerLoop;
use pasokh_events::outbox::OutboxRelay;
use pasokh_platform::auth::TokenSource;
use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_platform::service::{Listeners, Servers, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use pasokh_proto::routing::v1::case_lookup_client::CaseLookupClient;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::consume::RecordDeliveries;
use crate::dispatch::{Dispatcher, Gateway, SmsMetrics};
use crate::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct App {
    servers: Servers,
    relay: OutboxRelay,
    consumer: BatchConsumerLoop<RecordDeliveries>,
    dispatcher: Dispatcher,
    drain: Duration,
}

impl Service for App {
    const NAME: &'static str = "notification";
    const SERVICE_NAME: &'static str = "pasokh-notification";
    type Settings = Settings;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: &Settings) -> Result<Self, BoxError> {
        let gateway_url = settings.sms.checked_gateway_url().map_err(Error::Config)?;
        let mut backbone = Backbone::new(&settings.database, &settings.kafka)?;
        let relay = OutboxRelay::new(backbone.pool.clone(), backbone.producer.clone(), backbone.event_metrics.clone());
        let dispatcher_waker = Arc::new(Notify::new());
        let tokens = TokenSource::from_settings(&settings.auth).map(Arc::new);
        let routing_channel = AuthorizedChannel::connect_lazy(
            &settings.routing_grpc_url,
            &settings.routing_audience,
            tokens.clone(),
            Duration::from_secs(10),
        )
        .map_err(|e| Error::Config(format!("routing_grpc_url: {e}")))?;
        let consumer = BatchConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.lifecycle_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: backbone.pool.clone(),
            handler: RecordDeliveries {
                dispatcher_waker: dispatcher_waker.clone(),
                routing: CaseLookupClient::new(routing_channel),
            },
            metrics: backbone.event_metrics.clone(),
            limits: settings.kafka.consumer.limits(),
        };
        let intake_channel = AuthorizedChannel::connect_lazy(
            &settings.intake_grpc_url,
            &settings.intake_audience,
            tokens,
            Duration::from_secs(5),
        )
        .map_err(|e| Error::Config(format!("intake_grpc_url: {e}")))?;
        let sms = &settings.sms;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(sms.timeout_ms))
            .pool_max_idle_per_host(sms.concurrency.max(1))
            .build()
            .map_err(|e| Error::Config(format!("sms http client: {e}")))?;
        let gateway = Gateway { http, url: gateway_url.to_string(), token: sms.gateway_token.clone() };
        let dispatcher = Dispatcher {
            pool: backbone.pool.clone(),
            intake: IntakeInternalClient::new(intake_channel),
            gateway: gateway.clone(),
            batch: sms.batch.max(1),
            concurrency: sms.concurrency.max(1),
            // a claim outlives the slowest call it covers, with room for the contact look-up
            lease: Duration::from_millis(sms.timeout_ms.saturating_mul(2)) + Duration::from_secs(10),
            retry_budget: chrono::Duration::seconds(i64::try_from(sms.retry_budget_secs).unwrap_or(i64::MAX / 1000)),
            retry: sms.retry,
            delivery_topic: settings.kafka.delivery_topic.clone(),
            wake: dispatcher_waker,
            relay_waker: relay.waker(),
            metrics: SmsMetrics::register(&mut backbone.registry),
        };
        let codes = crate::codes::CodeSender {
            verifier: Arc::new(pasokh_platform::auth::TokenVerifier::new(settings.auth.clone())),
            allowed: settings.one_time_code_clients.clone(),
            gateway,
        };
        let routes =
            axum::Router::new().route("/v1/one-time-codes", axum::routing::post(crate::codes::send)).with_state(codes);
        // no gRPC API of its own yet: the port serves health and reflection
        let servers = Servers::bind(
            &settings.listen,
            backbone.http_router(routes, KafkaReadiness::Advisory),
            "pasokh.notification",
            tonic::service::Routes::default(),
            pasokh_proto::FILE_DESCRIPTOR_SET,
        )
        .await?;
        Ok(Self { servers, relay, consumer, dispatcher, drain: Duration::from_secs(settings.shutdown_drain_secs) })
    }

    fn tasks() -> &'static [(&'static str, &'static str)] {
        &[(
            "requeue-failed",
            "put failed deliveries back to be sent, with a fresh retry budget (PASOKH__REQUEUE__SINCE, PASOKH__REQUEUE__CLASS narrow it)",
        )]
    }

    async fn run_task(settings: &Settings, _index: usize) -> Result<(), BoxError> {
        let pool = settings.database.pool()?;
        let filter =
            crate::store::RequeueFilter { since: settings.requeue.since, class: settings.requeue.class.clone() };
        let count = crate::store::requeue_failed(&pool, &filter).await?;
        tracing::info!(count, since = ?filter.since, class = ?filter.class, "failed deliveries re-queued");
        println!("{count} failed deliveries re-queued");
        Ok(())
    }

    fn addresses(&self) -> Listeners {
        self.servers.addresses()
    }

    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        let mut tasks = ServiceTasks::new(token.clone());
        self.servers.spawn(&mut tasks);
        tasks.spawn("consumer", self.consumer.run(token.clone()));
        tasks.spawn("sms-backlog", self.dispatcher.clone().watch_backlog(Duration::from_secs(15), token.clone()));
        // two loops: one claims and sends while the other records; a petition's messages still
        // leave one at a time, since only its oldest unsent one is ever claimable
        tasks.spawn("sms-dispatcher", self.dispatcher.clone().run(token.clone()));
        tasks.spawn("sms-dispatcher", self.dispatcher.run(token.clone()));
        tasks.spawn("outbox-relay", self.relay.run(token));
        tasks.run(self.drain).await
    }
}

//! Builds intake from its settings: pool, producer, outbox relay, HTTP and gRPC servers.
use std::sync::Arc;
use std::time::Duration;

use pasokh_domain::{CitizenRefKey, ProvinceCode};
use pasokh_events::Backbone;
use pasokh_events::backbone::KafkaReadiness;
use pasokh_events::outbox::OutboxRelay;
use pasokh_platform::auth::grpc::{AuthorizedChannel, ClientGuard};
use pasokh_platform::auth::{TokenSource, TokenVerifier};
use pasokh_platform::service::{Listeners, Servers, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_proto::intake::v1::intake_internal_server::IntakeInternalServer;
use pasokh_proto::intake::v1::intake_service_server::IntakeServiceServer;
use pasokh_proto::routing::v1::case_lookup_client::CaseLookupClient;
use prometheus_client::metrics::histogram::Histogram;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::grpc::{IntakeGrpc, IntakeInternalGrpc};
use crate::http::limits::RateLimiter;
use crate::http::{AppState, Shared, router};
use crate::petitions::SubmittedRecorder;
use crate::store::idempotency::purge_expired_keys;
use crate::store::writer::{PetitionWriter, WriterTasks};
use crate::submission::Submissions;
use crate::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct App {
    servers: Servers,
    relay: OutboxRelay,
    writer_tasks: Arc<WriterTasks>,
    pool: sqlx::PgPool,
    drain: Duration,
}

impl Service for App {
    const NAME: &'static str = "intake";
    const SERVICE_NAME: &'static str = "pasokh-intake";
    type Settings = Settings;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    fn development_credentials(settings: &Settings) -> Vec<&'static str> {
        settings.development_credentials()
    }

    /// Wires everything and binds the listeners (port 0 picks a free one); serves nothing until `run`.
    async fn build(settings: &Settings) -> Result<Self, BoxError> {
        let province = ProvinceCode::parse(&settings.province)
            .map_err(|e| Error::Config(format!("province `{}`: {}", settings.province, e.message)))?;
        let citizen_ref_key = settings.citizen_ref_key().map_err(Error::Config)?;
        let mut backbone = Backbone::new(&settings.database, &settings.kafka)?;
        let relay = OutboxRelay::new(backbone.pool.clone(), backbone.producer.clone(), backbone.event_metrics.clone());
        let batch_sizes = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]);
        backbone.registry.register(
            "intake_commit_batch_size",
            "Petitions written per transaction (group commit)",
            batch_sizes.clone(),
        );
        let recorder = SubmittedRecorder { lifecycle_topic: settings.kafka.lifecycle_topic.clone() };
        let limits = Arc::new(crate::http::limits::Limits::new(settings.limits.clone()));
        let (writer, writer_tasks) =
            PetitionWriter::new(backbone.pool.clone(), recorder, settings.writer.clone(), batch_sizes);
        let submissions = Submissions {
            pool: backbone.pool.clone(),
            province,
            writer,
            limits: limits.clone(),
            relay_waker: relay.waker(),
            idempotency_ttl: crate::http::idempotency::ttl(settings.idempotency_ttl_secs),
        };
        let citizen_ref_key = CitizenRefKey::new(citizen_ref_key.expose());
        let verifier = Arc::new(TokenVerifier::new(settings.auth.clone()));
        let tokens = TokenSource::from_settings(&settings.auth).map(Arc::new);
        let routing_channel = AuthorizedChannel::connect_lazy(
            &settings.routing_grpc_url,
            &settings.routing_audience,
            tokens,
            Duration::from_secs(5),
        )
        .map_err(|e| Error::Config(format!("routing_grpc_url: {e}")))?;
        let state = AppState::new(Shared {
            pool: backbone.pool.clone(),
            province,
            citizen_ref_key: citizen_ref_key.clone(),
            relay_waker: relay.waker(),
            routing: CaseLookupClient::new(routing_channel),
            lifecycle_topic: settings.kafka.lifecycle_topic.clone(),
            desk_topic: settings.kafka.desk_topic.clone(),
            submissions: submissions.clone(),
            limits: limits.clone(),
            verifier: verifier.clone(),
            open311_keys: Arc::new(settings.open311.active_key_hashes().map_err(Error::Config)?),
            citizen_listing_clients: Arc::new(settings.citizen_listing_clients.clone()),
        });
        let grpc = tonic::service::Routes::new(IntakeServiceServer::new(IntakeGrpc {
            citizen_ref_key,
            // the same pipeline and budgets as HTTP: a mobile files as many petitions however it reaches us
            submissions,
            partners: ClientGuard::new(verifier.clone(), settings.partners.clients.iter().cloned()),
            per_partner: Arc::new(RateLimiter::new(settings.partners.per_minute, Duration::from_secs(60))),
        }));
        let internal = tonic::service::Routes::new(IntakeInternalServer::new(IntakeInternalGrpc {
            pool: backbone.pool.clone(),
            services: ClientGuard::new(verifier, settings.internal_clients.iter().cloned()),
        }));
        let servers = Servers::bind(
            &settings.listen,
            backbone.http_router(router(state), KafkaReadiness::Advisory),
            "pasokh.intake.v1.IntakeService",
            grpc,
            pasokh_proto::FILE_DESCRIPTOR_SET,
        )
        .await?
        .with_internal(&settings.listen, "pasokh.intake.v1.IntakeInternal", internal)
        .await?;
        Ok(Self {
            servers,
            relay,
            writer_tasks: Arc::new(writer_tasks),
            pool: backbone.pool.clone(),
            drain: Duration::from_secs(settings.shutdown_drain_secs),
        })
    }

    fn addresses(&self) -> Listeners {
        self.servers.addresses()
    }

    /// Serves until the token is cancelled or a task fails; then drains and flushes the producer.
    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        let mut tasks = ServiceTasks::new(token.clone());
        self.servers.spawn(&mut tasks);
        // writers end when the servers are gone and the queue is empty: accepted requests are written
        for _ in 0..self.writer_tasks.count() {
            tasks.spawn("petition-writer", self.writer_tasks.clone().run());
        }
        tasks.spawn("idempotency-janitor", purge_expired_keys_until(self.pool, token.clone()));
        // the relay gets the drain period to publish what the servers accepted
        tasks.spawn("outbox-relay", self.relay.run(token));
        tasks.run(self.drain).await
    }
}

/// Deletes expired idempotency keys once a minute until shutdown.
async fn purge_expired_keys_until(pool: sqlx::PgPool, token: CancellationToken) -> Result<()> {
    loop {
        tokio::select! {
            _ = token.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        match purge_expired_keys(&pool).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys deleted"),
            Err(error) => tracing::warn!(%error, "idempotency key purge failed"),
        }
    }
}

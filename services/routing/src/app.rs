//! Builds routing: lifecycle consumer, outbox relay, SLA watchdog, gRPC
//! `CaseLookup` + `CaseService`, ops endpoints.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pasokh_domain::{BusinessCalendar, built_in_holidays, parse_holidays};
use pasokh_events::Backbone;
use pasokh_events::backbone::KafkaReadiness;
use pasokh_events::batch::BatchConsumerLoop;
use pasokh_events::outbox::OutboxRelay;
use pasokh_platform::auth::grpc::{AuthorizedChannel, ClientGuard};
use pasokh_platform::auth::{TokenSource, TokenVerifier};
use pasokh_platform::service::{Listeners, Servers, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use pasokh_proto::routing::v1::case_lookup_server::CaseLookupServer;
use pasokh_proto::routing::v1::case_service_server::CaseServiceServer;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::consume::{CaseEvents, DeskPromises};
use crate::grpc::{CaseLookupGrpc, CaseServiceGrpc};
use crate::rules::RuleBook;
use crate::watchdog::{AlertCounter, Watchdog};
use crate::workflow::Workflow;
use crate::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct App {
    servers: Servers,
    relay: OutboxRelay,
    consumer: BatchConsumerLoop<CaseEvents>,
    desk_consumer: BatchConsumerLoop<DeskPromises>,
    watchdog: Watchdog,
    watchdog_every: Duration,
    rule_book: RuleBook,
    rules_reload: Duration,
    drain: Duration,
}

/// The working week and holidays from settings; a broken holidays file stops the start.
fn calendar(settings: &Settings) -> Result<BusinessCalendar> {
    let holidays = if settings.holidays_file.is_empty() {
        built_in_holidays()
    } else {
        let path = &settings.holidays_file;
        let text = std::fs::read_to_string(path).map_err(|e| Error::Holidays(format!("{path}: {e}")))?;
        parse_holidays(&text).map_err(|e| Error::Holidays(format!("{path}: {e}")))?
    };
    let calendar = BusinessCalendar::new(settings.thursday_off, &holidays);
    if !calendar.covers(Utc::now().date_naive()) {
        tracing::warn!(
            "the holidays data does not cover this year: deadlines skip weekends only; update holidays_file"
        );
    }
    Ok(calendar)
}

fn workflow(settings: &Settings) -> Result<Workflow> {
    let ratio = settings.watchdog.warning_ratio;
    if !(0.0..1.0).contains(&ratio) || ratio == 0.0 {
        return Err(Error::Config(format!("watchdog.warning_ratio must be between 0 and 1, not {ratio}")));
    }
    let similarity = settings.workflow.duplicate_similarity;
    if !(0.0..=1.0).contains(&similarity) || similarity == 0.0 {
        return Err(Error::Config(format!("workflow.duplicate_similarity must be in (0, 1], not {similarity}")));
    }
    Ok(Workflow {
        lifecycle_topic: settings.kafka.lifecycle_topic.clone(),
        calendar: Arc::new(calendar(settings)?),
        settings: settings.workflow.clone(),
        warning_ratio: ratio,
    })
}

/// One watchdog pass as of `now` against the configured database: the SLA clock made
/// controllable for operators and tests. Returns the alerts and escalations recorded.
pub async fn run_watchdog_once(settings: &Settings, now: DateTime<Utc>) -> Result<usize> {
    let pool = settings.database.pool()?;
    let watchdog = Watchdog {
        pool,
        alerts: AlertCounter::default(),
        workflow: workflow(settings)?,
        batch_size: settings.watchdog.batch_size.max(1),
        relay_waker: Arc::new(Notify::new()),
    };
    watchdog.tick(now).await
}

impl Service for App {
    const NAME: &'static str = "routing";
    const SERVICE_NAME: &'static str = "pasokh-routing";
    type Settings = Settings;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    fn development_credentials(settings: &Settings) -> Vec<&'static str> {
        if settings.auth.dev_tokens.enabled { vec!["auth.dev_tokens"] } else { Vec::new() }
    }

    async fn build(settings: &Settings) -> Result<Self, BoxError> {
        let rule_book = RuleBook::load(&settings.rules_file).map_err(Error::Rules)?;
        let workflow = workflow(settings)?;
        let mut backbone = Backbone::new(&settings.database, &settings.kafka)?;
        let relay = OutboxRelay::new(backbone.pool.clone(), backbone.producer.clone(), backbone.event_metrics.clone());
        let verifier = Arc::new(TokenVerifier::new(settings.auth.clone()));
        let tokens = TokenSource::from_settings(&settings.auth).map(Arc::new);
        let intake_channel = AuthorizedChannel::connect_lazy(
            &settings.intake_grpc_url,
            &settings.intake_audience,
            tokens,
            Duration::from_secs(10),
        )
        .map_err(|e| Error::Config(format!("intake_grpc_url: {e}")))?;
        let consumer = BatchConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.lifecycle_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: backbone.pool.clone(),
            handler: CaseEvents {
                workflow: workflow.clone(),
                rules: rule_book.clone(),
                intake: IntakeInternalClient::new(intake_channel),
                relay_waker: relay.waker(),
            },
            metrics: backbone.event_metrics.clone(),
            limits: settings.kafka.consumer.limits(),
        };
        // the same group: each replica reads its share of both topics
        let desk_consumer = BatchConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.desk_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: backbone.pool.clone(),
            handler: DeskPromises,
            metrics: backbone.event_metrics.clone(),
            limits: settings.kafka.consumer.limits(),
        };
        let alerts = AlertCounter::default();
        backbone.registry.register(
            "routing_sla_alerts",
            "SLA warnings and breaches raised by the watchdog, by target and level",
            alerts.clone(),
        );
        let watchdog = Watchdog {
            pool: backbone.pool.clone(),
            alerts,
            workflow: workflow.clone(),
            batch_size: settings.watchdog.batch_size.max(1),
            relay_waker: relay.waker(),
        };
        let internal = tonic::service::Routes::new(CaseLookupServer::new(CaseLookupGrpc {
            pool: backbone.pool.clone(),
            services: ClientGuard::new(verifier.clone(), settings.internal_clients.iter().cloned()),
        }));
        let grpc = tonic::service::Routes::new(CaseServiceServer::new(CaseServiceGrpc {
            pool: backbone.pool.clone(),
            verifier,
            workflow,
            relay_waker: relay.waker(),
        }));
        let servers = Servers::bind(
            &settings.listen,
            backbone.http_router(axum::Router::new(), KafkaReadiness::Advisory),
            "pasokh.routing.v1.CaseService",
            grpc,
            pasokh_proto::FILE_DESCRIPTOR_SET,
        )
        .await?
        .with_internal(&settings.listen, "pasokh.routing.v1.CaseLookup", internal)
        .await?;
        Ok(Self {
            servers,
            relay,
            consumer,
            desk_consumer,
            watchdog,
            watchdog_every: Duration::from_secs(settings.watchdog.interval_secs.max(1)),
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
        tasks.spawn("desk consumer", self.desk_consumer.run(token.clone()));
        tasks.spawn("rules-reloader", self.rule_book.watch(self.rules_reload, token.clone()));
        tasks.spawn("sla-watchdog", self.watchdog.run(self.watchdog_every, token.clone()));
        tasks.spawn("outbox-relay", self.relay.run(token));
        tasks.run(self.drain).await
    }
}

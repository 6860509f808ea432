//! Builds reporting: the lifecycle consumer (batched), gRPC `ReportingService`, the HTTP API.
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pasokh_domain::{BusinessCalendar, built_in_holidays, parse_holidays};
use pasokh_events::Backbone;
use pasokh_events::backbone::KafkaReadiness;
use pasokh_events::batch::{BatchConsumerLoop, BatchLimits};
use pasokh_platform::auth::TokenVerifier;
use pasokh_platform::service::{Listeners, Servers, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use pasokh_proto::reporting::v1::reporting_service_server::ReportingServiceServer;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::consume::FoldLifecycle;
use crate::desk::FoldDeskActivity;
use crate::grpc::ReportingGrpc;
use crate::http::HttpState;
use crate::indicators::{BUILT_IN_INDEX, IndexDefinition};
use crate::report::Reports;
use crate::{Error, Result};

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The working week and holidays from settings; a broken holidays file stops the start.
pub(crate) fn calendar(settings: &Settings) -> Result<BusinessCalendar> {
    let holidays = if settings.holidays_file.is_empty() {
        built_in_holidays()
    } else {
        let path = &settings.holidays_file;
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{path}: {e}")))?;
        parse_holidays(&text).map_err(|e| Error::Config(format!("{path}: {e}")))?
    };
    let calendar = BusinessCalendar::new(settings.thursday_off, &holidays);
    if !calendar.covers(Utc::now().date_naive()) {
        tracing::warn!("the holidays data does not cover this year: working days skip weekends only");
    }
    Ok(calendar)
}

fn index(settings: &Settings) -> Result<IndexDefinition> {
    let (text, source) = if settings.index_file.is_empty() {
        (BUILT_IN_INDEX.to_owned(), "the built-in index".to_owned())
    } else {
        let path = &settings.index_file;
        (std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{path}: {e}")))?, path.clone())
    };
    let index = IndexDefinition::parse(&text).map_err(|e| Error::Config(format!("{source}: {e}")))?;
    tracing::info!(version = %index.version, dimensions = index.dimensions.len(), "responsiveness index loaded");
    Ok(index)
}

pub struct App {
    servers: Servers,
    consumer: BatchConsumerLoop<FoldLifecycle>,
    desk_consumer: BatchConsumerLoop<FoldDeskActivity>,
    drain: Duration,
}

impl Service for App {
    const NAME: &'static str = "reporting";
    const SERVICE_NAME: &'static str = "pasokh-reporting";
    type Settings = Settings;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    fn development_credentials(settings: &Settings) -> Vec<&'static str> {
        if settings.auth.dev_tokens.enabled { vec!["auth.dev_tokens"] } else { Vec::new() }
    }

    fn tasks() -> &'static [(&'static str, &'static str)] {
        &[
            ("rebuild", "empty the read model and replay the lifecycle topic from its start into it"),
            ("rollups-from-facts", "recompute every rollup from the facts (after a bulk load or a calendar change)"),
        ]
    }

    async fn run_task(settings: &Settings, index: usize) -> Result<(), BoxError> {
        match index {
            0 => crate::rebuild::rebuild(settings).await.map(|_| ()),
            _ => crate::rebuild::rollups_from_facts(settings).await.map(|_| ()),
        }
    }

    async fn build(settings: &Settings) -> Result<Self, BoxError> {
        let mut backbone = Backbone::new(&settings.database, &settings.kafka)?;
        let calendar = Arc::new(calendar(settings)?);
        let consumer = BatchConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.lifecycle_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: backbone.pool.clone(),
            handler: FoldLifecycle { calendar: calendar.clone() },
            metrics: backbone.event_metrics.clone(),
            limits: BatchLimits {
                max_records: settings.batch_max_records.max(1),
                max_wait: Duration::from_millis(settings.batch_max_wait_ms),
                ..settings.kafka.consumer.limits()
            },
        };
        // the same group: each consumer subscribes to its own topic, so the group splits each topic's partitions
        let desk_consumer = BatchConsumerLoop {
            settings: settings.kafka.clone(),
            topic: settings.kafka.desk_topic.clone(),
            group: settings.kafka.consumer_group.clone(),
            pool: backbone.pool.clone(),
            handler: FoldDeskActivity,
            metrics: backbone.event_metrics.clone(),
            limits: BatchLimits {
                max_records: settings.batch_max_records.max(1),
                max_wait: Duration::from_millis(settings.batch_max_wait_ms),
                ..settings.kafka.consumer.limits()
            },
        };
        let verifier = Arc::new(TokenVerifier::new(settings.auth.clone()));
        let reports = Reports { pool: backbone.pool.clone(), calendar, index: Arc::new(index(settings)?) };
        let grpc = tonic::service::Routes::new(ReportingServiceServer::new(ReportingGrpc {
            reports: reports.clone(),
            verifier: verifier.clone(),
        }));
        let router = crate::http::router(HttpState { reports, verifier });
        let servers = Servers::bind(
            &settings.listen,
            backbone.http_router(router, KafkaReadiness::Advisory),
            "pasokh.reporting.v1.ReportingService",
            grpc,
            pasokh_proto::FILE_DESCRIPTOR_SET,
        )
        .await?;
        Ok(Self { servers, consumer, desk_consumer, drain: Duration::from_secs(settings.shutdown_drain_secs) })
    }

    fn addresses(&self) -> Listeners {
        self.servers.addresses()
    }

    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        let mut tasks = ServiceTasks::new(token.clone());
        self.servers.spawn(&mut tasks);
        tasks.spawn("consumer", self.consumer.run(token.clone()));
        tasks.spawn("desk consumer", self.desk_consumer.run(token));
        tasks.run(self.drain).await
    }
}

//! The SLA watchdog: every interval, open cases whose warning or target has
//! come are alerted and, on a breach, escalated. Several routing replicas run
//! it at once: each claims its batch with `FOR UPDATE SKIP LOCKED`, so a case
//! has one owner per pass and no alert is sent twice.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pasokh_platform::metrics::prometheus_client::encoding::EncodeLabelSet;
use pasokh_platform::metrics::prometheus_client::metrics::counter::Counter;
use pasokh_platform::metrics::prometheus_client::metrics::family::Family;
use pasokh_proto::events::v1::petition_event::Body;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store;
use crate::workflow::{Actor, Workflow};
use crate::{Error, Result};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AlertLabels {
    /// first_response | resolution
    pub target: String,
    /// warning | breach
    pub level: String,
}

/// `pasokh_routing_sla_alerts_total`: what the SLA-breach alert rate is computed from.
pub(crate) type AlertCounter = Family<AlertLabels, Counter>;

pub(crate) struct Watchdog {
    pub pool: PgPool,
    pub alerts: AlertCounter,
    pub workflow: Workflow,
    pub batch_size: i64,
    pub relay_waker: Arc<Notify>,
}

impl Watchdog {
    /// One pass as of `now`; returns the number of alerts and escalations recorded.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn tick(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut recorded = 0;
        let mut raised = Vec::new();
        loop {
            let mut tx = self.pool.begin().await?;
            let cases = store::due_for_watchdog(&mut tx, now, self.batch_size).await?;
            let claimed = cases.len();
            for mut case in cases {
                let from = case.status;
                let changes = self.workflow.check_targets(&mut case, now)?;
                for change in changes {
                    if let Body::SlaAlert(alert) = &change.body {
                        raised.push(AlertLabels { target: alert.target.clone(), level: alert.level.clone() });
                    }
                    self.workflow.record(&mut tx, &case, from, change, &Actor::system()).await?;
                    recorded += 1;
                }
            }
            tx.commit().await?;
            for labels in raised.drain(..) {
                self.alerts.get_or_create(&labels).inc();
            }
            self.relay_waker.notify_one();
            if claimed < self.batch_size as usize {
                return Ok(recorded);
            }
        }
    }

    pub(crate) async fn run(self, every: Duration, token: CancellationToken) -> Result<(), Error> {
        loop {
            match self.tick(Utc::now()).await {
                Ok(0) => {}
                Ok(recorded) => tracing::info!(recorded, "watchdog recorded SLA alerts"),
                Err(error) => {
                    tracing::warn!(error = %pasokh_platform::tasks::error_chain(&error), "watchdog pass failed")
                }
            }
            tokio::select! {
                _ = token.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}

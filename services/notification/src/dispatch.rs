//! Sends the ledger's due deliveries in three steps, none of which holds a transaction across
//! the network: claim a batch (committed, with a lease); fetch the batch's contacts from intake
//! in one call and send each message to the gateway, several at once; record every result in
//! one transaction with the outcome events.
//!
//! Each message carries an idempotency key (header and body) that stays the same across
//! attempts, so a resend after a crash, an expired lease or an ambiguous timeout is answered by
//! the gateway with the original result instead of reaching the citizen twice.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use pasokh_events::cloudevents::{CloudEvent, TYPE_PREFIX};
use pasokh_events::lifecycle::timestamp;
use pasokh_events::outbox::{self, OutboxMessage};
use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_platform::config::Secret;
use pasokh_platform::retry::Backoff;
use pasokh_proto::events::v1::DeliveryEvent;
use pasokh_proto::intake::v1::GetContactsRequest;
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Result;
use crate::store::{self, Claimed};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SmsLabels {
    /// sent | retried | failed
    pub outcome: &'static str,
    /// a failure class, or `none`
    pub class: &'static str,
}

/// What operators alert on: outcomes by class, the unsent backlog and the age of its oldest.
#[derive(Clone, Default)]
pub(crate) struct SmsMetrics {
    pub outcomes: Family<SmsLabels, Counter>,
    pub unsent: Gauge,
    pub failed: Gauge,
    pub oldest_unsent_seconds: Gauge,
}

impl SmsMetrics {
    pub(crate) fn register(registry: &mut prometheus_client::registry::Registry) -> Self {
        let metrics = Self::default();
        registry.register("sms_outcomes", "SMS gateway calls by outcome and failure class", metrics.outcomes.clone());
        registry.register("sms_unsent", "Deliveries pending or being sent", metrics.unsent.clone());
        registry.register("sms_failed", "Deliveries given up on, waiting for a re-queue", metrics.failed.clone());
        registry.register(
            "sms_oldest_unsent_seconds",
            "Age of the oldest delivery not yet sent",
            metrics.oldest_unsent_seconds.clone(),
        );
        metrics
    }
}

#[derive(Clone)]
pub(crate) struct Dispatcher {
    pub pool: PgPool,
    pub intake: IntakeInternalClient<AuthorizedChannel>,
    pub gateway: Gateway,
    /// deliveries claimed per round, and messages in flight at once
    pub batch: usize,
    pub concurrency: usize,
    /// how long a claim lasts: longer than a gateway call can take
    pub lease: Duration,
    /// how long a delivery is retried before it is given up
    pub retry_budget: chrono::Duration,
    pub retry: Backoff,
    pub delivery_topic: String,
    pub wake: Arc<Notify>,
    pub relay_waker: Arc<Notify>,
    pub metrics: SmsMetrics,
}

/// The SMS gateway's HTTP API: `POST {message_id, to, text}` with `Idempotency-Key` and the
/// credential in `Authorization`.
#[derive(Clone)]
pub(crate) struct Gateway {
    pub http: reqwest::Client,
    pub url: String,
    pub token: Option<Secret>,
}

#[derive(Serialize)]
struct SmsRequest<'a> {
    message_id: &'a str,
    to: &'a str,
    text: &'a str,
}

#[derive(Deserialize, Default)]
struct SmsAnswer {
    #[serde(default)]
    id: serde_json::Value,
}

/// What one gateway call came to. The classes are what the ledger, the metrics and the
/// delivery topic say; the detail (a status, never a URL or a credential) is for the ledger
/// and the logs only.
#[derive(Debug)]
pub(crate) enum Sent {
    Accepted {
        reference: String,
    },
    /// worth retrying: unreachable, timed out (ambiguous: the key makes the resend safe), 5xx,
    /// 429, and 401/403 (a rotated credential is an operator's fix, not the citizen's loss)
    Retry {
        class: &'static str,
        detail: String,
    },
    /// the gateway will never take this message (400, 404, 422, ...)
    Refused {
        detail: String,
    },
}

impl Gateway {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn send(&self, key: &str, to: &str, text: &str) -> Sent {
        let mut request =
            self.http.post(&self.url).header("Idempotency-Key", key).json(&SmsRequest { message_id: key, to, text });
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                let answer: SmsAnswer = response.json().await.unwrap_or_default();
                let reference = match answer.id {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                Sent::Accepted { reference }
            }
            Ok(response) => {
                let status = response.status();
                let detail = format!("gateway answered {}", status.as_u16());
                match status.as_u16() {
                    401 | 403 => Sent::Retry { class: "gateway_credentials", detail },
                    408 | 425 | 429 => Sent::Retry { class: "gateway_unavailable", detail },
                    _ if status.is_client_error() => Sent::Refused { detail },
                    _ => Sent::Retry { class: "gateway_unavailable", detail },
                }
            }
            Err(error) => {
                // without the URL: it may name the gateway's account
                let kind = if error.is_timeout() { "timed out" } else { "unreachable" };
                Sent::Retry { class: "gateway_unavailable", detail: format!("gateway {kind}: {}", error.without_url()) }
            }
        }
    }
}

/// A delivery to try again later (or, with a zero delay, to give up on).
struct Retry {
    id: i64,
    class: &'static str,
    detail: String,
    delay: Duration,
    counted: bool,
}

impl Retry {
    fn as_unsent(&self) -> store::Unsent<'_> {
        store::Unsent {
            id: self.id,
            class: self.class,
            error: &self.detail,
            delay_secs: self.delay.as_secs_f64(),
            counted: self.counted,
        }
    }
}

/// What the ledger records for one claimed delivery.
enum Settled {
    Sent(String),
    Retry(Retry),
    Failed(Retry),
}

/// What became of one claimed delivery.
enum Outcome {
    Sent(String),
    Retry { class: &'static str, detail: String, counted: bool },
    Failed { class: &'static str, detail: String },
}

impl Dispatcher {
    pub(crate) async fn run(self, token: CancellationToken) -> Result<()> {
        let mut failures = 0u32;
        while !token.is_cancelled() {
            let pause = match self.dispatch_batch().await {
                Ok(handled) if handled > 0 => {
                    failures = 0;
                    continue;
                }
                Ok(_) => Duration::from_millis(500),
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = self.retry.delay(failures);
                    tracing::warn!(error = %pasokh_platform::tasks::error_chain(&error), ?delay, "dispatch failed, will retry");
                    delay
                }
            };
            tokio::select! {
                _ = token.cancelled() => {},
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(pause) => {},
            }
        }
        Ok(())
    }

    /// Claims, sends and records one batch; returns how many deliveries it handled.
    pub(crate) async fn dispatch_batch(&self) -> Result<usize> {
        let claimed = store::claim_due(&self.pool, self.batch as i64, self.lease.as_secs_f64()).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let results = self.send_all(&claimed).await;
        let (mut sent, mut retries, mut failures) = (Vec::new(), Vec::new(), Vec::new());
        for (delivery, result) in claimed.iter().zip(results) {
            match self.settle(delivery, result) {
                Settled::Sent(reference) => sent.push((delivery, reference)),
                Settled::Retry(unsent) => retries.push(unsent),
                Settled::Failed(unsent) => failures.push((delivery, unsent)),
            }
        }
        let mut tx = self.pool.begin().await?;
        let petitions: Vec<Uuid> = claimed.iter().map(|c| c.petition_id).collect();
        store::lock_petitions(&mut tx, &petitions).await?;
        let by_id: HashMap<i64, &Claimed> = claimed.iter().map(|c| (c.id, c)).collect();
        let mut finished = Vec::with_capacity(claimed.len());
        let mut outcomes = Vec::new();
        let sent_rows: Vec<(i64, String)> = sent.iter().map(|(d, r)| (d.id, r.clone())).collect();
        for id in store::mark_sent(&mut tx, &sent_rows).await? {
            finished.push(id);
            if let Some(delivery) = by_id.get(&id) {
                outcomes.push(self.outcome(delivery, "sent", ""));
            }
        }
        let failed_rows: Vec<store::Unsent<'_>> = failures.iter().map(|(_, u)| u.as_unsent()).collect();
        let classes: HashMap<i64, &str> = failed_rows.iter().map(|u| (u.id, u.class)).collect();
        for id in store::mark_failed(&mut tx, &failed_rows).await? {
            finished.push(id);
            if let (Some(delivery), Some(class)) = (by_id.get(&id), classes.get(&id)) {
                outcomes.push(self.outcome(delivery, "failed", class));
            }
        }
        let retry_rows: Vec<store::Unsent<'_>> = retries.iter().map(Retry::as_unsent).collect();
        let retried = store::schedule_retry(&mut tx, &retry_rows).await?;
        store::settle_queue(&mut tx, &finished, &retried, &petitions).await?;
        outbox::enqueue_all(&mut tx, &outcomes).await?;
        tx.commit().await?;
        if !outcomes.is_empty() {
            self.relay_waker.notify_one();
        }
        Ok(claimed.len())
    }

    #[tracing::instrument(name = "send sms batch", skip_all, fields(messages = claimed.len()))]
    async fn send_all(&self, claimed: &[Claimed]) -> Vec<Outcome> {
        let mut intake = self.intake.clone();
        let mut request = tonic::Request::new(GetContactsRequest {
            petition_ids: claimed.iter().map(|c| c.petition_id.to_string()).collect(),
        });
        request.set_timeout(Duration::from_secs(5));
        let mobiles: HashMap<String, String> = match intake.get_contacts(request).await {
            Ok(contacts) => contacts.into_inner().items.into_iter().map(|c| (c.petition_id, c.mobile)).collect(),
            Err(status) => {
                // intake down or mid-rollout: nobody was texted, so no attempt is counted
                let detail = format!("intake GetContacts: {:?}", status.code());
                tracing::warn!(detail, deliveries = claimed.len(), "contacts unavailable; deliveries wait");
                return claimed
                    .iter()
                    .map(|_| Outcome::Retry { class: "contact_unavailable", detail: detail.clone(), counted: false })
                    .collect();
            }
        };
        // owned inputs: the sends run as a stream that must not borrow the batch
        let inputs: Vec<(String, Option<String>, String)> = claimed
            .iter()
            .map(|d| (d.idempotency_key(), mobiles.get(&d.petition_id.to_string()).cloned(), d.message.render()))
            .collect();
        let sends = inputs.into_iter().map(|(key, mobile, text)| {
            let gateway = self.gateway.clone();
            async move {
                let Some(mobile) = mobile else {
                    return Outcome::Failed {
                        class: "no_contact",
                        detail: "intake has no contact for this petition".into(),
                    };
                };
                match gateway.send(&key, &mobile, &text).await {
                    Sent::Accepted { reference } => {
                        // the citizen has the SMS, the ledger says `sending`: the lease runs out and
                        // the retry carries the same idempotency key
                        pasokh_platform::crash::point("sms.after_gateway_accepted");
                        Outcome::Sent(reference)
                    }
                    Sent::Retry { class, detail } => Outcome::Retry { class, detail, counted: true },
                    Sent::Refused { detail } => Outcome::Failed { class: "gateway_refused", detail },
                }
            }
        });
        futures_util::stream::iter(sends).buffered(self.concurrency.max(1)).collect().await
    }

    /// What a result means for the ledger: sent, another try, or given up (budget spent).
    fn settle(&self, delivery: &Claimed, result: Outcome) -> Settled {
        let template = delivery.message.name();
        match result {
            Outcome::Sent(reference) => {
                self.count("sent", "none");
                tracing::info!(petition_id = %delivery.petition_id, template, attempts = delivery.attempts, "sms sent");
                Settled::Sent(reference)
            }
            Outcome::Retry { class, detail, counted } if Utc::now() - delivery.retry_from < self.retry_budget => {
                let delay = self.retry.delay(u32::try_from(delivery.attempts.max(1)).unwrap_or(1));
                self.count("retried", class);
                tracing::warn!(petition_id = %delivery.petition_id, template, class, detail, attempts = delivery.attempts, ?delay, "sms not sent, will retry");
                Settled::Retry(Retry { id: delivery.id, class, detail, delay, counted })
            }
            Outcome::Retry { class, detail, .. } => {
                self.give_up(delivery, "retry_budget_spent", format!("{class}: {detail}"))
            }
            Outcome::Failed { class, detail } => self.give_up(delivery, class, detail),
        }
    }

    fn give_up(&self, delivery: &Claimed, class: &'static str, detail: String) -> Settled {
        self.count("failed", class);
        tracing::error!(petition_id = %delivery.petition_id, template = delivery.message.name(), class, detail, attempts = delivery.attempts, "sms failed for good; re-queue it once the cause is fixed");
        Settled::Failed(Retry { id: delivery.id, class, detail, delay: Duration::ZERO, counted: true })
    }

    fn count(&self, outcome: &'static str, class: &'static str) {
        self.metrics.outcomes.get_or_create(&SmsLabels { outcome, class }).inc();
    }

    /// The outcome on the delivery topic: other agencies read it, so `detail` is a failure
    /// class and nothing the gateway or the network said.
    fn outcome(&self, delivery: &Claimed, outcome: &str, class: &str) -> OutboxMessage {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let event = DeliveryEvent {
            event_id: id.to_string(),
            petition_id: delivery.petition_id.to_string(),
            occurred_at: Some(timestamp(now)),
            source_event_id: delivery.source_event_id.to_string(),
            channel: delivery.channel.clone(),
            outcome: outcome.to_owned(),
            detail: class.to_owned(),
            attempts: delivery.attempts.max(0) as u32,
        };
        let cloud =
            CloudEvent::new(id, "//pasokh/notification", format!("{TYPE_PREFIX}notification.{outcome}.v1"), now);
        OutboxMessage::new(&self.delivery_topic, &event.petition_id, &cloud, &event)
    }

    /// Refreshes the backlog gauges every `every` until cancelled.
    pub(crate) async fn watch_backlog(self, every: Duration, token: CancellationToken) -> Result<()> {
        while !token.is_cancelled() {
            match store::backlog(&self.pool).await {
                Ok((unsent, failed, oldest)) => {
                    self.metrics.unsent.set(unsent);
                    self.metrics.failed.set(failed);
                    self.metrics.oldest_unsent_seconds.set(oldest as i64);
                }
                Err(error) => tracing::debug!(%error, "backlog gauges not refreshed"),
            }
            tokio::select! {
                _ = token.cancelled() => {},
                _ = tokio::time::sleep(every) => {},
            }
        }
        Ok(())
    }
}

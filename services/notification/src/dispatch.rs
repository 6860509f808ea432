//! Sends pending deliveries: contact from intake over gRPC, text to the SMS gateway over HTTP.
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pasokh_events::cloudevents::{CloudEvent, TYPE_PREFIX};
use pasokh_events::lifecycle::timestamp;
use pasokh_events::outbox::{self, OutboxMessage};
use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_proto::events::v1::DeliveryEvent;
use pasokh_proto::intake::v1::GetContactRequest;
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Result;
use crate::store::{self, PendingDelivery};

#[derive(Clone)]
pub(crate) struct Dispatcher {
    pub pool: PgPool,
    pub intake: IntakeInternalClient<AuthorizedChannel>,
    pub http: reqwest::Client,
    pub gateway_url: String,
    pub max_attempts: i32,
    pub delivery_topic: String,
    pub wake: Arc<Notify>,
    pub relay_waker: Arc<Notify>,
}

/// The gateway's request body. `message_id` is stable across retries so a
/// gateway that deduplicates (most do, by client reference) drops a resend
/// after a crash between sending and recording it.
#[derive(Serialize)]
struct SmsRequest<'a> {
    message_id: String,
    to: &'a str,
    text: String,
}

enum Attempt {
    Sent,
    Retry(String),
    Failed(String),
}

impl Dispatcher {
    pub(crate) async fn run(self, token: CancellationToken) -> Result<()> {
        while !token.is_cancelled() {
            match self.dispatch_one().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::warn!(error = %error, "dispatch failed, will retry"),
            }
            tokio::select! {
                _ = token.cancelled() => {},
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(Duration::from_millis(500)) => {},
            }
        }
        Ok(())
    }

    /// Sends the oldest due delivery, if any; `true` when one was handled.
    async fn dispatch_one(&self) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let Some(delivery) = store::claim_due(&mut tx).await? else {
            tx.commit().await?;
            return Ok(false);
        };
        let attempt = self.attempt(&delivery).await;
        let attempts = delivery.attempts + 1;
        match attempt {
            Attempt::Sent => {
                store::mark_sent(&mut tx, delivery.id).await?;
                self.publish_outcome(&mut tx, &delivery, "sent", "", attempts).await?;
                tracing::info!(petition_id = %delivery.petition_id, template = delivery.message.name(), "sms sent");
            }
            Attempt::Retry(error) if attempts < self.max_attempts => {
                let delay = 2i64.pow(attempts.clamp(0, 8) as u32);
                tracing::warn!(%error, attempts, delay_secs = delay, "sms not sent, will retry");
                store::schedule_retry(&mut tx, delivery.id, &error, delay).await?;
            }
            Attempt::Retry(error) | Attempt::Failed(error) => {
                tracing::error!(%error, attempts, petition_id = %delivery.petition_id, "sms failed for good");
                store::mark_failed(&mut tx, delivery.id, &error).await?;
                self.publish_outcome(&mut tx, &delivery, "failed", &error, attempts).await?;
            }
        }
        tx.commit().await?;
        self.relay_waker.notify_one();
        Ok(true)
    }

    async fn attempt(&self, delivery: &PendingDelivery) -> Attempt {
        let mut intake = self.intake.clone();
        let mut request = tonic::Request::new(GetContactRequest { petition_id: delivery.petition_id.to_string() });
        request.set_timeout(Duration::from_secs(3));
        let contact = match intake.get_contact(request).await {
            Ok(contact) => contact.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => {
                return Attempt::Failed("intake has no contact for this petition".into());
            }
            Err(status) => return Attempt::Retry(format!("intake GetContact: {}", status.message())),
        };
        let body = SmsRequest {
            message_id: format!("{}-{}", delivery.source_event_id, delivery.channel),
            to: &contact.mobile,
            text: delivery.message.render(),
        };
        match self.http.post(&self.gateway_url).json(&body).send().await {
            Ok(response) if response.status().is_success() => Attempt::Sent,
            Ok(response) if response.status().is_client_error() && response.status().as_u16() != 429 => {
                Attempt::Failed(format!("gateway refused the message: {}", response.status()))
            }
            Ok(response) => Attempt::Retry(format!("gateway answered {}", response.status())),
            Err(error) => Attempt::Retry(format!("gateway unreachable: {error}")),
        }
    }

    async fn publish_outcome(
        &self,
        conn: &mut PgConnection,
        delivery: &PendingDelivery,
        outcome: &str,
        detail: &str,
        attempts: i32,
    ) -> Result<()> {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let event = DeliveryEvent {
            event_id: id.to_string(),
            petition_id: delivery.petition_id.to_string(),
            occurred_at: Some(timestamp(now)),
            source_event_id: delivery.source_event_id.to_string(),
            channel: delivery.channel.clone(),
            outcome: outcome.to_owned(),
            detail: detail.to_owned(),
            attempts: attempts.max(0) as u32,
        };
        let cloud =
            CloudEvent::new(id, "//pasokh/notification", format!("{TYPE_PREFIX}notification.{outcome}.v1"), now);
        outbox::enqueue(conn, &OutboxMessage::new(&self.delivery_topic, &event.petition_id, &cloud, &event)).await?;
        Ok(())
    }
}

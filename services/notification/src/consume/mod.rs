//! Which lifecycle events call for which message.
use std::sync::Arc;

use pasokh_events::consumer::{EventHandler, HandlerError, Received};
use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::routing::v1::GetCitizenMessageRequest;
use pasokh_proto::routing::v1::case_lookup_client::CaseLookupClient;
use sqlx::PgConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::store;
use crate::templates::Message;

pub(crate) const SMS: &str = "sms";

pub(crate) struct RecordDeliveries {
    pub dispatcher_waker: Arc<Notify>,
    /// what officers wrote to the citizen (a question, an answer, an interim reason) stays in routing
    pub routing: CaseLookupClient<AuthorizedChannel>,
}

impl RecordDeliveries {
    async fn officers_words(&self, event: &Received<PetitionEvent>) -> Result<String, HandlerError> {
        let request = GetCitizenMessageRequest {
            petition_id: event.message.petition_id.clone(),
            event_id: event.cloud.id.to_string(),
        };
        match self.routing.clone().get_citizen_message(request).await {
            Ok(message) => Ok(message.into_inner().text),
            Err(status) if status.code() == tonic::Code::NotFound => {
                Err(HandlerError::Permanent(format!("routing has no message for event {}", event.cloud.id)))
            }
            Err(status) => Err(HandlerError::Transient(format!("routing: {status}"))),
        }
    }
}

impl EventHandler for RecordDeliveries {
    type Message = PetitionEvent;

    async fn handle(&self, conn: &mut PgConnection, event: &Received<PetitionEvent>) -> Result<(), HandlerError> {
        let tracking_code = event.message.tracking_code.clone();
        let message = match &event.message.body {
            Some(Body::Submitted(_)) => Message::Submitted { tracking_code },
            Some(Body::Routed(routed)) => Message::Routed {
                tracking_code,
                organisation: routed.organisation.clone(),
                resolution_due_unix: routed.resolution_due.as_ref().map_or(0, |t| t.seconds),
            },
            Some(Body::InfoRequested(_)) => {
                Message::InfoRequested { tracking_code, question: self.officers_words(event).await? }
            }
            Some(Body::Responded(_)) => Message::Responded { tracking_code, answer: self.officers_words(event).await? },
            Some(Body::ExpectedDateSet(expected)) if expected.beyond_target => {
                Message::Interim { tracking_code, reason: self.officers_words(event).await? }
            }
            Some(Body::Rejected(_)) => Message::Rejected { tracking_code, reason: self.officers_words(event).await? },
            Some(Body::Merged(merged)) => {
                Message::Merged { tracking_code, original: merged.into_tracking_code.clone() }
            }
            Some(Body::Reopened(reopened)) if reopened.cause == "appeal" => Message::Appealed { tracking_code },
            // closed on the spot: the citizen got the answer face to face and the tracking code by SMS;
            // the other events are the units' and the watchdog's, not the citizen's concern
            Some(_) => return Ok(()),
            None => return Err(HandlerError::Permanent("lifecycle event without a body".into())),
        };
        let petition_id = Uuid::parse_str(&event.message.petition_id).map_err(|_| {
            HandlerError::Permanent(format!("petition_id `{}` is not a UUID", event.message.petition_id))
        })?;
        let fresh = store::record_delivery(conn, event.cloud.id, SMS, petition_id, &message)
            .await
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
        tracing::debug!(event_id = %event.cloud.id, template = message.name(), fresh, "delivery recorded");
        Ok(())
    }

    fn after_commit(&self) {
        self.dispatcher_waker.notify_waiters();
    }
}

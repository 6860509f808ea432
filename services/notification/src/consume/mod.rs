//! Which lifecycle events call for which message.
use std::sync::Arc;

use pasokh_events::consumer::{EventHandler, HandlerError, Received};
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use sqlx::PgConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::store;
use crate::templates::Message;

pub(crate) const SMS: &str = "sms";

pub(crate) struct RecordDeliveries {
    pub dispatcher_waker: Arc<Notify>,
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
            // closed on the spot: the citizen got the answer face to face and the tracking code by SMS
            Some(Body::Closed(_)) => return Ok(()),
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

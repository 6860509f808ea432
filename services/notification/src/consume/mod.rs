//! Which lifecycle events call for which message. What officers wrote to the citizen comes
//! from routing, for a whole batch in one call, before the transaction opens.
use std::collections::HashMap;
use std::sync::Arc;

use pasokh_events::batch::BatchHandler;
use pasokh_events::consumer::{HandlerError, Received};
use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::routing::v1::case_lookup_client::CaseLookupClient;
use pasokh_proto::routing::v1::{GetCitizenMessageRequest, GetCitizenMessagesRequest};
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

/// The most messages asked of routing in one call (its limit).
const MESSAGES_PER_CALL: usize = 1000;

/// What officers wrote, by lifecycle event id.
#[derive(Default)]
pub(crate) struct OfficersWords(HashMap<String, String>);

impl OfficersWords {
    fn of(&self, event: &Received<PetitionEvent>) -> Result<String, HandlerError> {
        self.0
            .get(&event.cloud.id.to_string())
            .cloned()
            .ok_or_else(|| HandlerError::Permanent(format!("routing has no message for event {}", event.cloud.id)))
    }
}

/// Whether the event's SMS quotes what an officer wrote.
fn quotes_officer(event: &Received<PetitionEvent>) -> bool {
    match &event.message.body {
        Some(Body::InfoRequested(_) | Body::Responded(_) | Body::Rejected(_)) => true,
        Some(Body::ExpectedDateSet(expected)) => expected.beyond_target,
        _ => false,
    }
}

impl BatchHandler for RecordDeliveries {
    type Message = PetitionEvent;
    type Prepared = OfficersWords;

    #[tracing::instrument(skip_all, fields(events = events.len()))]
    async fn prepare(&self, events: &[&Received<PetitionEvent>]) -> Result<OfficersWords, HandlerError> {
        let wanted: Vec<GetCitizenMessageRequest> = events
            .iter()
            .filter(|e| quotes_officer(e))
            .map(|e| GetCitizenMessageRequest {
                petition_id: e.message.petition_id.clone(),
                event_id: e.cloud.id.to_string(),
            })
            .collect();
        let mut words = OfficersWords::default();
        for chunk in wanted.chunks(MESSAGES_PER_CALL) {
            let request = GetCitizenMessagesRequest { items: chunk.to_vec() };
            let found = match self.routing.clone().get_citizen_messages(request).await {
                Ok(found) => found.into_inner(),
                Err(status) if status.code() == tonic::Code::InvalidArgument => {
                    return Err(HandlerError::Permanent(format!("routing refused the look-up: {}", status.message())));
                }
                // down, overloaded, or not (yet) the right peer during a rollout: all worth retrying
                Err(status) => {
                    return Err(HandlerError::Transient(format!("routing: {:?} {}", status.code(), status.message())));
                }
            };
            words.0.extend(found.items.into_iter().map(|item| (item.event_id, item.text)));
        }
        Ok(words)
    }

    #[tracing::instrument(skip_all, fields(events = events.len()))]
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[&Received<PetitionEvent>],
        words: &OfficersWords,
    ) -> Result<(), HandlerError> {
        let mut wanted = Vec::with_capacity(events.len());
        for event in events {
            let _entered = event.span.enter();
            wanted.extend(wanted_message(event, words)?);
        }
        let fresh =
            store::record_deliveries(conn, SMS, &wanted).await.map_err(|e| HandlerError::Transient(e.to_string()))?;
        tracing::debug!(events = events.len(), deliveries = wanted.len(), fresh, "deliveries recorded");
        Ok(())
    }

    fn wants(&self, event: &Received<PetitionEvent>) -> bool {
        // the units' and the watchdog's events never reach the citizen (a malformed one, without
        // a body, is taken so it reaches the dead-letter topic)
        match &event.message.body {
            None => true,
            Some(Body::ExpectedDateSet(expected)) => expected.beyond_target,
            Some(Body::Reopened(reopened)) => reopened.cause == "appeal",
            Some(body) => matches!(
                body,
                Body::Submitted(_)
                    | Body::Routed(_)
                    | Body::InfoRequested(_)
                    | Body::Responded(_)
                    | Body::Rejected(_)
                    | Body::Merged(_)
            ),
        }
    }

    fn after_commit(&self) {
        self.dispatcher_waker.notify_one();
    }
}

/// The SMS the event calls for, if any.
fn wanted_message(
    event: &Received<PetitionEvent>,
    words: &OfficersWords,
) -> Result<Option<store::Wanted>, HandlerError> {
    let tracking_code = event.message.tracking_code.clone();
    let message = match &event.message.body {
        Some(Body::Submitted(_)) => Message::Submitted { tracking_code },
        Some(Body::Routed(routed)) => Message::Routed {
            tracking_code,
            organisation: routed.organisation.clone(),
            resolution_due_unix: routed.resolution_due.as_ref().map_or(0, |t| t.seconds),
        },
        Some(Body::InfoRequested(_)) => Message::InfoRequested { tracking_code, question: words.of(event)? },
        Some(Body::Responded(_)) => Message::Responded { tracking_code, answer: words.of(event)? },
        Some(Body::ExpectedDateSet(expected)) if expected.beyond_target => {
            Message::Interim { tracking_code, reason: words.of(event)? }
        }
        Some(Body::Rejected(_)) => Message::Rejected { tracking_code, reason: words.of(event)? },
        Some(Body::Merged(merged)) => Message::Merged { tracking_code, original: merged.into_tracking_code.clone() },
        Some(Body::Reopened(reopened)) if reopened.cause == "appeal" => Message::Appealed { tracking_code },
        // closed on the spot: the citizen got the answer face to face and the tracking code by SMS;
        // the other events are the units' and the watchdog's, not the citizen's concern
        Some(_) => return Ok(None),
        None => return Err(HandlerError::Permanent("lifecycle event without a body".into())),
    };
    let petition_id = Uuid::parse_str(&event.message.petition_id)
        .map_err(|_| HandlerError::Permanent(format!("petition_id `{}` is not a UUID", event.message.petition_id)))?;
    Ok(Some(store::Wanted { source_event_id: event.cloud.id, petition_id, message }))
}

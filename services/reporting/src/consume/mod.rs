//! Folds lifecycle events into `petition_status`.
use pasokh_domain::CaseStatus;
use pasokh_events::consumer::{EventHandler, HandlerError, Received};
use pasokh_events::lifecycle::from_timestamp;
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store;

pub(crate) struct CountLifecycle;

/// The status a case is in after a workflow event; `None` for events that leave it (alerts, ratings, dates).
fn status_after(body: &Body) -> Option<CaseStatus> {
    Some(match body {
        Body::Acknowledged(_) => CaseStatus::Acknowledged,
        Body::WorkStarted(_) => CaseStatus::InProgress,
        Body::InfoRequested(_) => CaseStatus::InfoRequested,
        Body::Responded(_) => CaseStatus::Responded,
        Body::Reopened(_) => CaseStatus::Reopened,
        Body::Merged(_) => CaseStatus::Merged,
        Body::Rejected(_) => CaseStatus::Rejected,
        _ => return None,
    })
}

impl EventHandler for CountLifecycle {
    type Message = PetitionEvent;

    async fn handle(&self, conn: &mut PgConnection, event: &Received<PetitionEvent>) -> Result<(), HandlerError> {
        let message = &event.message;
        let petition_id = Uuid::parse_str(&message.petition_id)
            .map_err(|_| HandlerError::Permanent(format!("petition_id `{}` is not a UUID", message.petition_id)))?;
        let outcome = match &message.body {
            Some(Body::Submitted(submitted)) => {
                let at = from_timestamp(message.occurred_at.as_ref()).unwrap_or(event.cloud.time);
                store::record_submitted(conn, petition_id, &message.province, &submitted.category, at).await
            }
            Some(Body::Routed(routed)) => {
                store::record_status(
                    conn,
                    petition_id,
                    &message.province,
                    &routed.category,
                    CaseStatus::Routed.as_str(),
                    &routed.organisation,
                )
                .await
            }
            Some(Body::Closed(closed)) => {
                store::record_status(
                    conn,
                    petition_id,
                    &message.province,
                    &closed.category,
                    CaseStatus::Closed.as_str(),
                    &closed.organisation,
                )
                .await
            }
            Some(Body::Referred(referred)) => {
                store::record_transition(
                    conn,
                    petition_id,
                    CaseStatus::Routed.as_str(),
                    Some(&referred.to_organisation),
                )
                .await
            }
            Some(body) => match status_after(body) {
                Some(status) => store::record_transition(conn, petition_id, status.as_str(), None).await,
                None => return Ok(()),
            },
            None => return Err(HandlerError::Permanent("lifecycle event without a body".into())),
        };
        outcome.map_err(|e| HandlerError::Transient(e.to_string()))
    }
}

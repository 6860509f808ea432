//! The petition lifecycle topic: one helper to turn a `PetitionEvent` into an outbox message.
use chrono::{DateTime, Utc};
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use uuid::Uuid;

use crate::cloudevents::{CloudEvent, TYPE_PREFIX};
use crate::outbox::OutboxMessage;

/// `ir.gov.mcls.pasokh.petition.<body>.v1`
pub fn event_type(body: &Body) -> String {
    let name = match body {
        Body::Submitted(_) => "submitted",
        Body::Routed(_) => "routed",
        Body::Closed(_) => "closed",
        Body::Acknowledged(_) => "acknowledged",
        Body::WorkStarted(_) => "work_started",
        Body::InfoRequested(_) => "info_requested",
        Body::InfoProvided(_) => "info_provided",
        Body::Responded(_) => "responded",
        Body::Referred(_) => "referred",
        Body::Escalated(_) => "escalated",
        Body::Reopened(_) => "reopened",
        Body::Merged(_) => "merged",
        Body::Rejected(_) => "rejected",
        Body::Rated(_) => "rated",
        Body::SlaAlert(_) => "sla_alert",
        Body::ExpectedDateSet(_) => "expected_date_set",
    };
    format!("{TYPE_PREFIX}petition.{name}.v1")
}

pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
}

pub fn from_timestamp(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

/// A new lifecycle event for a petition. The event id is a fresh UUIDv7 (time-ordered).
pub fn new_event(petition_id: Uuid, province: &str, tracking_code: &str, body: Body) -> PetitionEvent {
    let now = Utc::now();
    PetitionEvent {
        event_id: Uuid::now_v7().to_string(),
        petition_id: petition_id.to_string(),
        occurred_at: Some(timestamp(now)),
        province: province.to_owned(),
        tracking_code: tracking_code.to_owned(),
        sequence: 0,
        body: Some(body),
    }
}

/// The outbox row for a lifecycle event; key = petition id, so one petition's history stays ordered.
pub fn outbox_message(topic: &str, source: &str, event: &PetitionEvent) -> Option<OutboxMessage> {
    let body = event.body.as_ref()?;
    let id = Uuid::parse_str(&event.event_id).ok()?;
    let time = from_timestamp(event.occurred_at.as_ref()).unwrap_or_else(Utc::now);
    let cloud = CloudEvent::new(id, source, event_type(body), time);
    Some(OutboxMessage::new(topic, &event.petition_id, &cloud, event))
}

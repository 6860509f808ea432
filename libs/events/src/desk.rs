//! The desk activity topic: one helper to turn a `DeskActivity` into an outbox message.
use chrono::{DateTime, Utc};
use pasokh_proto::events::v1::DeskActivity;
use pasokh_proto::events::v1::desk_activity::Body;
use uuid::Uuid;

use crate::cloudevents::{CloudEvent, TYPE_PREFIX};
use crate::lifecycle::{from_timestamp, timestamp};
use crate::outbox::OutboxMessage;

/// `ir.gov.mcls.pasokh.desk.<body>.v1`
pub fn event_type(body: &Body) -> String {
    let name = match body {
        Body::Opened(_) => "opened",
        Body::MeetingHeld(_) => "meeting_held",
        Body::Closed(_) => "closed",
    };
    format!("{TYPE_PREFIX}desk.{name}.v1")
}

/// A new activity of a desk event, now; the event id is a fresh UUIDv7.
pub fn new_activity(desk_event_id: Uuid, province: &str, body: Body) -> DeskActivity {
    DeskActivity {
        event_id: Uuid::now_v7().to_string(),
        desk_event_id: desk_event_id.to_string(),
        occurred_at: Some(timestamp(Utc::now())),
        province: province.to_owned(),
        body: Some(body),
    }
}

/// The outbox row for a desk activity; key = desk event id, so one desk's activity stays ordered.
pub fn outbox_message(topic: &str, source: &str, activity: &DeskActivity) -> Option<OutboxMessage> {
    let body = activity.body.as_ref()?;
    let id = Uuid::parse_str(&activity.event_id).ok()?;
    let time: DateTime<Utc> = from_timestamp(activity.occurred_at.as_ref()).unwrap_or_else(Utc::now);
    let cloud = CloudEvent::new(id, source, event_type(body), time);
    Some(OutboxMessage::new(topic, &activity.desk_event_id, &cloud, activity))
}

//! Routing's reaction to the desk topic: a promise an official made at a
//! service-desk meeting about a petition is kept, so the responsible unit sees
//! it in its queue with its due day.
use chrono::{NaiveDate, Utc};
use pasokh_events::batch::BatchHandler;
use pasokh_events::consumer::{HandlerError, Received};
use pasokh_events::lifecycle;
use pasokh_proto::events::v1::DeskActivity;
use pasokh_proto::events::v1::desk_activity::Body;
use sqlx::PgConnection;

use crate::store::{self, PromiseRow};

pub(crate) struct DeskPromises;

impl BatchHandler for DeskPromises {
    type Message = DeskActivity;
    type Prepared = ();

    #[tracing::instrument(skip_all, fields(events = events.len()))]
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[&Received<DeskActivity>],
        _: &(),
    ) -> Result<(), HandlerError> {
        for event in events {
            keep_promise(conn, event).await?;
        }
        Ok(())
    }
}

async fn keep_promise(conn: &mut PgConnection, event: &Received<DeskActivity>) -> Result<(), HandlerError> {
    let activity = &event.message;
    let Some(Body::MeetingHeld(meeting)) = &activity.body else { return Ok(()) };
    if !meeting.has_promise || meeting.tracking_code.is_empty() {
        // a promise naming no petition has no unit to follow it; reporting lists it as untracked
        return Ok(());
    }
    let due = NaiveDate::parse_from_str(&meeting.promise_due, "%Y-%m-%d")
        .map_err(|_| HandlerError::Permanent(format!("promise_due `{}` is not YYYY-MM-DD", meeting.promise_due)))?;
    let promise = PromiseRow {
        tracking_code: meeting.tracking_code.clone(),
        organisation: meeting.organisation.clone(),
        official_title: meeting.official_title.clone(),
        due,
        made_at: lifecycle::from_timestamp(activity.occurred_at.as_ref()).unwrap_or_else(Utc::now),
    };
    let meeting_id = if meeting.meeting_id.is_empty() { &activity.event_id } else { &meeting.meeting_id };
    store::insert_promise(conn, meeting_id, &activity.province, &promise)
        .await
        .map_err(|e| HandlerError::Transient(pasokh_platform::tasks::error_chain(&e)))
}

//! Routing's reaction to the lifecycle topic: every `Submitted` becomes a routed case.
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use pasokh_domain::{CaseAction, CaseStatus, add_working_days};
use pasokh_events::consumer::{EventHandler, HandlerError, Received};
use pasokh_events::lifecycle::{self, timestamp};
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{Closed, PetitionEvent, Routed, Submitted};
use sqlx::PgConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::rules::RuleBook;
use crate::store::{self, NewCase};

pub(crate) struct RouteSubmitted {
    pub lifecycle_topic: String,
    pub thursday_off: bool,
    pub relay_waker: Arc<Notify>,
    pub rules: RuleBook,
}

/// Iran Standard Time; Iran has not observed daylight saving since 2022.
fn tehran() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600 + 1800).unwrap_or_else(|| unreachable!("+03:30 is a valid offset"))
}

/// A deadline of `days` working days is the end of that working day in Tehran.
pub(crate) fn deadline(submitted: DateTime<Utc>, days: u32, thursday_off: bool) -> DateTime<Utc> {
    let local_day: NaiveDate = submitted.with_timezone(&tehran()).date_naive();
    let due_day = add_working_days(local_day, days, thursday_off);
    let end_of_day = due_day.and_time(NaiveTime::MIN) + Duration::days(1) - Duration::seconds(1);
    tehran().from_local_datetime(&end_of_day).single().map_or(submitted, |d| d.with_timezone(&Utc))
}

impl EventHandler for RouteSubmitted {
    type Message = PetitionEvent;

    async fn handle(&self, conn: &mut PgConnection, event: &Received<PetitionEvent>) -> Result<(), HandlerError> {
        let Some(Body::Submitted(submitted)) = &event.message.body else {
            return Ok(()); // later lifecycle events are routing's own or not its concern
        };
        self.route(conn, &event.message, submitted).await
    }

    fn after_commit(&self) {
        self.relay_waker.notify_one();
    }
}

impl RouteSubmitted {
    async fn route(
        &self,
        conn: &mut PgConnection,
        event: &PetitionEvent,
        submitted: &Submitted,
    ) -> Result<(), HandlerError> {
        let petition_id = Uuid::parse_str(&event.petition_id)
            .map_err(|_| HandlerError::Permanent(format!("petition_id `{}` is not a UUID", event.petition_id)))?;
        let province = pasokh_domain::ProvinceCode::parse(&event.province)
            .map_err(|_| HandlerError::Permanent(format!("unknown province `{}`", event.province)))?;
        let submitted_at = lifecycle::from_timestamp(event.occurred_at.as_ref()).unwrap_or_else(Utc::now);
        let decision = self.rules.current().decide(&submitted.category, province);
        let (organisation, first_days, resolution_days, unit) = (
            decision.organisation.as_str(),
            decision.first_response_days,
            decision.resolution_days,
            decision.unit.clone(),
        );
        let mut rule_name = decision.rule.clone();
        let first_response_due = deadline(submitted_at, first_days, self.thursday_off);
        let resolution_due = deadline(submitted_at, resolution_days, self.thursday_off);
        // answered face to face at a desk: the case is counted, and closed at once
        if submitted.resolved_on_spot {
            rule_name = "desk:resolved-on-spot".to_owned();
        }
        let action = if submitted.resolved_on_spot { CaseAction::CloseOnSpot } else { CaseAction::Route };
        let status = CaseStatus::Submitted.apply(action).map_err(|error| HandlerError::Permanent(error.to_string()))?;
        let (body, note) = if submitted.resolved_on_spot {
            (
                Body::Closed(Closed {
                    reason: "resolved_on_spot".into(),
                    category: submitted.category.clone(),
                    organisation: organisation.to_owned(),
                    unit: unit.clone(),
                }),
                format!("{rule_name}: answered at desk event {}", submitted.desk_event_id),
            )
        } else {
            (
                Body::Routed(Routed {
                    category: submitted.category.clone(),
                    organisation: organisation.to_owned(),
                    unit: unit.clone(),
                    rule: rule_name.clone(),
                    first_response_due: Some(timestamp(first_response_due)),
                    resolution_due: Some(timestamp(resolution_due)),
                    priority: decision.priority.as_str().to_owned(),
                }),
                format!("rule {rule_name} → {unit}"),
            )
        };
        let next = lifecycle::new_event(petition_id, &event.province, &event.tracking_code, body);
        let case = NewCase {
            petition_id,
            tracking_code: &event.tracking_code,
            province: &event.province,
            category: &submitted.category,
            citizen_ref: &submitted.citizen_ref,
            organisation,
            unit: &unit,
            rule: &rule_name,
            priority: decision.priority.as_str(),
            first_response_due,
            resolution_due,
        };
        let next_id = Uuid::parse_str(&next.event_id).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        if !store::insert_case(conn, &case, status, &note, next_id).await.map_err(to_handler_error)? {
            tracing::info!(petition_id = %petition_id, "case already exists, not routing again");
            return Ok(());
        }
        let message = lifecycle::outbox_message(&self.lifecycle_topic, "//pasokh/routing", &next)
            .ok_or_else(|| HandlerError::Permanent("lifecycle event could not be encoded".into()))?;
        pasokh_events::outbox::enqueue(conn, &message).await.map_err(|e| HandlerError::Transient(e.to_string()))?;
        tracing::info!(tracking_code = %event.tracking_code, unit = %unit, rule = %rule_name, status = %status, "petition routed");
        Ok(())
    }
}

fn to_handler_error(error: crate::Error) -> HandlerError {
    HandlerError::Transient(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_end_at_midnight_tehran_and_skip_fridays() {
        // Wednesday 2026-11-25 10:00 Tehran; 2 working days → Saturday 2026-11-28 23:59:59 Tehran
        let submitted = tehran().with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap().with_timezone(&Utc);
        let due = deadline(submitted, 2, false).with_timezone(&tehran());
        assert_eq!(due.to_rfc3339(), "2026-11-28T23:59:59+03:30");
        // late evening UTC is already the next day in Tehran
        let late = Utc.with_ymd_and_hms(2026, 11, 25, 21, 0, 0).unwrap();
        assert_eq!(deadline(late, 1, false).with_timezone(&tehran()).to_rfc3339(), "2026-11-28T23:59:59+03:30");
    }
}

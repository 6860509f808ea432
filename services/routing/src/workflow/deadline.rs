//! Deadlines: working-day targets that end at the end of a Tehran day, the clock that stops
//! while the unit waits for the citizen, and the watchdog's warnings and breaches.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use pasokh_domain::{BusinessCalendar, SlaState, tehran, tehran_date};
use pasokh_events::lifecycle::timestamp;
use pasokh_proto::events::v1::SlaAlert;
use pasokh_proto::events::v1::petition_event::Body;

use super::{Actor, Change, Workflow};
use crate::Result;
use crate::store::CaseRecord;

/// The end of a day in Tehran.
pub(crate) fn end_of_day(day: NaiveDate) -> Option<DateTime<Utc>> {
    let end = day.and_time(NaiveTime::MIN).checked_add_signed(Duration::days(1))? - Duration::seconds(1);
    tehran().from_local_datetime(&end).single().map(|d| d.with_timezone(&Utc))
}

/// A deadline of `days` working days is the end of that working day in Tehran.
pub(crate) fn deadline(calendar: &BusinessCalendar, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    end_of_day(calendar.add_working_days(tehran_date(start), days)).unwrap_or(start)
}

/// When a warning is due: `ratio` of the way from `start` to `due`.
pub(crate) fn warning_at(start: DateTime<Utc>, due: DateTime<Utc>, ratio: f64) -> DateTime<Utc> {
    let span = (due - start).num_seconds().max(0) as f64;
    start + Duration::seconds((span * ratio) as i64)
}

pub(crate) fn first_response(case: &mut CaseRecord, now: DateTime<Utc>) {
    case.first_responded_at.get_or_insert(now);
}

/// Leaving `info_requested` however it happens (the reply, or the unit resuming after a phone
/// call): the targets move later by the time the unit waited for the citizen.
pub(super) fn resume_clock(case: &mut CaseRecord, now: DateTime<Utc>) {
    if let Some(asked) = case.info_requested_at.take() {
        let waited = (now - asked).max(Duration::zero());
        case.resolution_due += waited;
        case.resolution_warn = case.resolution_warn.map(|w| w + waited);
    }
}

impl Workflow {
    /// The watchdog's view of one case at `now`: warnings at the warning ratio, breaches at the
    /// targets; a breach escalates (first to the provincial director, the next to HQ).
    pub(crate) fn check_targets(&self, case: &mut CaseRecord, now: DateTime<Utc>) -> Result<Vec<Change>> {
        let mut changes = Vec::new();
        let awaiting_first_response = case.first_responded_at.is_none();
        let targets = [
            ("first_response", awaiting_first_response, case.first_response_due, case.first_response_warn),
            ("resolution", true, case.resolution_due, case.resolution_warn),
        ];
        for (target, applies, due, warn) in targets {
            if !applies {
                continue;
            }
            let alert = if target == "first_response" { case.first_response_alert } else { case.resolution_alert };
            let new_alert = if due <= now && alert != SlaState::Breached {
                SlaState::Breached
            } else if warn.is_some_and(|w| w <= now) && alert == SlaState::OnTrack {
                SlaState::Warning
            } else {
                continue;
            };
            // the event's words for the two levels (docs/events.md)
            let level = if new_alert == SlaState::Breached { "breach" } else { "warning" };
            if target == "first_response" {
                case.first_response_alert = new_alert;
            } else {
                case.resolution_alert = new_alert;
            }
            changes.push(Change {
                action: if level == "breach" { "target breached" } else { "target warning" },
                body: Body::SlaAlert(SlaAlert {
                    target: target.into(),
                    level: level.into(),
                    due: Some(timestamp(due)),
                    unit: case.unit.clone(),
                }),
                note: format!(
                    "{target} target {level} (due {})",
                    due.with_timezone(&tehran()).format("%Y-%m-%d %H:%M")
                ),
                message: String::new(),
            });
            if level == "breach" {
                case.breaches += 1;
                if case.escalation_level < case.breaches.min(2) {
                    changes.push(self.escalate(case, "sla_breach", "", &Actor::system())?);
                }
            }
        }
        Ok(changes)
    }
}

//! The case workflow: every change to a case — an officer's command, the
//! citizen's reply or rating, the watchdog's alert — is a `Change` computed
//! here from the case and the lifecycle table in `libs/domain`, then recorded
//! in one transaction: the case row, a history line and the lifecycle event in
//! routing's outbox.
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use pasokh_domain::{BusinessCalendar, CaseAction, CaseStatus, UnitRole, tehran, tehran_date, unit};
use pasokh_events::lifecycle::{self, timestamp};
use pasokh_events::outbox::OutboxMessage;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{
    Acknowledged, Closed, Escalated, ExpectedDateSet, InfoRequested, Merged, Referred, Rejected, Reopened, Responded,
    SlaAlert, WorkStarted,
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::config::WorkflowSettings;
use crate::store::{self, CaseRecord, HistoryLine};
use crate::{Error, Result};

/// Who acts: the token's subject and role, or the system, or the citizen.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub name: String,
    pub role: &'static str,
}

impl Actor {
    pub(crate) fn system() -> Self {
        Self { name: "system".into(), role: "system" }
    }

    pub(crate) fn citizen() -> Self {
        Self { name: "citizen".into(), role: "citizen" }
    }
}

/// One change to a case, ready to be recorded.
#[derive(Debug)]
pub(crate) struct Change {
    /// what happened, in the history's words
    pub action: &'static str,
    pub body: Body,
    /// for the history, read by officers and inspectors
    pub note: String,
    /// for the citizen, sent by SMS (empty: nothing to send)
    pub message: String,
}

/// A change's history line and lifecycle event, built but not yet written.
pub(crate) struct Recorded {
    pub event_id: Uuid,
    pub from: CaseStatus,
    pub action: &'static str,
    pub actor: String,
    pub note: String,
    pub message: String,
    pub outbox: OutboxMessage,
}

impl Recorded {
    pub(crate) fn history_line<'a>(&'a self, case: &'a CaseRecord) -> HistoryLine<'a> {
        HistoryLine {
            petition_id: case.petition_id,
            event_id: self.event_id,
            from_status: Some(self.from.as_str()),
            to_status: &case.status,
            action: self.action,
            actor: &self.actor,
            note: &self.note,
            message: &self.message,
        }
    }

    pub(crate) fn log(&self, case: &CaseRecord) {
        // by id: tracking codes (what a citizen holds) and staff identities stay out of logs; the
        // case's history has who did it (finding 24)
        tracing::info!(
            petition_id = %case.petition_id, action = %self.action, from = %self.from, to = %case.status, "case changed"
        );
    }
}

pub(crate) const REJECT_REASONS: &[&str] =
    &["out_of_scope", "not_enough_information", "withdrawn", "unlawful_request", "other"];
const MAX_MESSAGE_CHARS: usize = 1000;
pub(crate) const HQ_INSPECTION: &str = "mcls-hq/inspection";

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

/// The provincial director's unit for a case.
pub(crate) fn director_unit(case: &CaseRecord) -> String {
    format!("mcls-directorate/{}/director", case.province)
}

fn message(field: &'static str, text: &str, required: bool) -> Result<String> {
    let text = pasokh_domain::normalize_text(text);
    if required && text.is_empty() {
        return Err(Error::invalid(field, "message_required", "write what the citizen should read"));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(Error::invalid(field, "message_too_long", format!("at most {MAX_MESSAGE_CHARS} characters")));
    }
    Ok(text)
}

/// Applies `action` to the case's status, or refuses with the lifecycle's reason.
fn advance(case: &mut CaseRecord, action: CaseAction) -> Result<CaseStatus> {
    let next = case.status().apply(action)?;
    case.status = next.as_str().to_owned();
    Ok(next)
}

pub(crate) fn first_response(case: &mut CaseRecord, now: DateTime<Utc>) {
    case.first_responded_at.get_or_insert(now);
}

/// Leaving `info_requested` however it happens (the reply, or the unit resuming after a phone
/// call): the targets move later by the time the unit waited for the citizen.
fn resume_clock(case: &mut CaseRecord, now: DateTime<Utc>) {
    if let Some(asked) = case.info_requested_at.take() {
        let waited = (now - asked).max(Duration::zero());
        case.resolution_due += waited;
        case.resolution_warn = case.resolution_warn.map(|w| w + waited);
    }
}

#[derive(Clone)]
pub(crate) struct Workflow {
    pub lifecycle_topic: String,
    pub calendar: Arc<BusinessCalendar>,
    pub settings: WorkflowSettings,
    pub warning_ratio: f64,
}

impl Workflow {
    /// Saves the changed case, appends the history line and enqueues the event; returns the event id.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn record(
        &self,
        conn: &mut PgConnection,
        case: &CaseRecord,
        from: CaseStatus,
        change: Change,
        actor: &Actor,
    ) -> Result<Uuid> {
        let sequence = store::save_case(&mut *conn, case).await?;
        self.publish(conn, case, from, change, actor, sequence).await
    }

    /// Records the first change of a case just inserted in its final state at version 1.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn record_new(
        &self,
        conn: &mut PgConnection,
        case: &CaseRecord,
        change: Change,
        actor: &Actor,
    ) -> Result<Uuid> {
        let sequence = u64::try_from(case.event_sequence).unwrap_or(1);
        self.publish(conn, case, CaseStatus::Submitted, change, actor, sequence).await
    }

    /// The history line and the lifecycle event (in the outbox) of a change already saved.
    async fn publish(
        &self,
        conn: &mut PgConnection,
        case: &CaseRecord,
        from: CaseStatus,
        change: Change,
        actor: &Actor,
        sequence: u64,
    ) -> Result<Uuid> {
        let recorded = self.recorded(case, from, change, actor, sequence)?;
        store::append_history(&mut *conn, &recorded.history_line(case)).await?;
        pasokh_events::outbox::enqueue(conn, &recorded.outbox).await?;
        recorded.log(case);
        Ok(recorded.event_id)
    }

    /// What recording a change writes, not yet written: its history line and its event.
    pub(crate) fn recorded(
        &self,
        case: &CaseRecord,
        from: CaseStatus,
        change: Change,
        actor: &Actor,
        sequence: u64,
    ) -> Result<Recorded> {
        let mut event = lifecycle::new_event(case.petition_id, &case.province, &case.tracking_code, change.body);
        event.sequence = sequence;
        let event_id = Uuid::parse_str(&event.event_id).map_err(|_| Error::Config("event id is not a UUID".into()))?;
        let outbox = lifecycle::outbox_message(&self.lifecycle_topic, "//pasokh/routing", &event)
            .ok_or_else(|| Error::Config("lifecycle event could not be encoded".into()))?;
        Ok(Recorded {
            event_id,
            from,
            action: change.action,
            actor: actor.name.clone(),
            note: change.note,
            message: change.message,
            outbox,
        })
    }

    pub(crate) fn acknowledge(&self, case: &mut CaseRecord, actor: &Actor, now: DateTime<Utc>) -> Result<Change> {
        advance(case, CaseAction::Acknowledge)?;
        first_response(case, now);
        Ok(Change {
            action: CaseAction::Acknowledge.as_str(),
            body: Body::Acknowledged(Acknowledged { unit: case.unit.clone(), actor_role: actor.role.into() }),
            note: format!("acknowledged by {}", case.unit),
            message: String::new(),
        })
    }

    pub(crate) fn start_work(&self, case: &mut CaseRecord, actor: &Actor, now: DateTime<Utc>) -> Result<Change> {
        advance(case, CaseAction::StartWork)?;
        first_response(case, now);
        resume_clock(case, now);
        Ok(Change {
            action: CaseAction::StartWork.as_str(),
            body: Body::WorkStarted(WorkStarted { unit: case.unit.clone(), actor_role: actor.role.into() }),
            note: String::new(),
            message: String::new(),
        })
    }

    /// The unit asks the citizen; the resolution clock stops until the reply.
    pub(crate) fn request_info(
        &self,
        case: &mut CaseRecord,
        question: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let question = message("message", question, true)?;
        advance(case, CaseAction::RequestInfo)?;
        first_response(case, now);
        case.info_requested_at = Some(now);
        Ok(Change {
            action: CaseAction::RequestInfo.as_str(),
            body: Body::InfoRequested(InfoRequested { unit: case.unit.clone(), actor_role: actor.role.into() }),
            note: question.clone(),
            message: question,
        })
    }

    /// The citizen's reply arrived: work resumes and the targets move by the time the unit waited.
    pub(crate) fn provide_info(&self, case: &mut CaseRecord, reply: &str, now: DateTime<Utc>) -> Result<Change> {
        advance(case, CaseAction::ProvideInfo)?;
        resume_clock(case, now);
        Ok(Change {
            action: CaseAction::ProvideInfo.as_str(),
            body: Body::WorkStarted(WorkStarted { unit: case.unit.clone(), actor_role: "citizen".into() }),
            note: format!("citizen's reply: {reply}"),
            message: String::new(),
        })
    }

    pub(crate) fn respond(
        &self,
        case: &mut CaseRecord,
        answer: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let answer = message("message", answer, true)?;
        advance(case, CaseAction::Respond)?;
        first_response(case, now);
        case.responded_at = Some(now);
        Ok(Change {
            action: CaseAction::Respond.as_str(),
            body: Body::Responded(Responded {
                unit: case.unit.clone(),
                actor_role: actor.role.into(),
                seconds_to_respond: (now - case.submitted_at).num_seconds(),
            }),
            note: answer.clone(),
            message: answer,
        })
    }

    /// The unit's expected answer date; beyond the resolution target it needs an interim reason for the citizen.
    pub(crate) fn set_expected_date(
        &self,
        case: &mut CaseRecord,
        date: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let day = pasokh_domain::parse_date(date).ok_or_else(|| {
            Error::invalid("expected_date", "date_invalid", "write the date as YYYY-MM-DD or Jalali YYYY/MM/DD")
        })?;
        let expected = end_of_day(day).ok_or_else(|| Error::invalid("expected_date", "date_invalid", "no such day"))?;
        if expected < now {
            return Err(Error::invalid("expected_date", "date_in_past", "the expected date has passed"));
        }
        if !store::OPEN.contains(&case.status.as_str()) {
            return Err(Error::Refused(format!("a {} case has no expected date", case.status)));
        }
        let reason = message("interim_reason", reason, false)?;
        let beyond_target = expected > case.resolution_due;
        if beyond_target && reason.is_empty() {
            return Err(Error::invalid(
                "interim_reason",
                "interim_reason_required",
                "the date is after the resolution target: give the citizen an interim reason",
            ));
        }
        first_response(case, now);
        case.expected_at = Some(expected);
        case.interim_reason = if beyond_target { reason.clone() } else { String::new() };
        let jalali = pasokh_domain::format_jalali(day);
        Ok(Change {
            action: "expected date set",
            body: Body::ExpectedDateSet(ExpectedDateSet {
                expected: Some(timestamp(expected)),
                beyond_target,
                unit: case.unit.clone(),
            }),
            note: if beyond_target {
                format!("expected {jalali}, after the target: {reason}")
            } else {
                format!("expected {jalali}")
            },
            message: if beyond_target { format!("{reason} (پاسخ تا {jalali})") } else { String::new() },
        })
    }

    /// To another unit in the same province: a forward within the organisation, a transfer out of it.
    pub(crate) fn refer(&self, case: &mut CaseRecord, to_unit: &str, note: &str, actor: &Actor) -> Result<Change> {
        let note = message("message", note, false)?;
        let target = unit(to_unit.trim())
            .filter(|u| matches!(u.role, UnitRole::Casework | UnitRole::Triage))
            .ok_or_else(|| Error::invalid("to_unit", "unit_unknown", format!("`{to_unit}` is not a casework unit")))?;
        if target.province != case.province {
            return Err(Error::invalid(
                "to_unit",
                "unit_other_province",
                format!("a case of {} stays in its province", case.province),
            ));
        }
        if target.code == case.unit {
            return Err(Error::invalid("to_unit", "unit_same", "the case is already at this unit"));
        }
        let forward = target.organisation == case.organisation;
        let limits = &self.settings;
        if forward && case.forwards >= limits.max_forwards as i32 {
            return Err(Error::Refused(format!("the case was already forwarded {} times", case.forwards)));
        }
        if !forward && case.transfers >= limits.max_transfers as i32 {
            return Err(Error::Refused(format!("the case was already transferred {} times", case.transfers)));
        }
        advance(case, CaseAction::Refer)?;
        if forward {
            case.forwards += 1;
        } else {
            case.transfers += 1;
        }
        let from_unit = std::mem::replace(&mut case.unit, target.code.clone());
        case.organisation = target.organisation.clone();
        Ok(Change {
            action: CaseAction::Refer.as_str(),
            body: Body::Referred(Referred {
                from_unit: from_unit.clone(),
                to_unit: target.code.clone(),
                to_organisation: target.organisation.clone(),
                kind: if forward { "forward" } else { "transfer" }.into(),
                forwards: case.forwards as u32,
                transfers: case.transfers as u32,
                actor_role: actor.role.into(),
            }),
            note: format!("{from_unit} → {}: {note}", target.code),
            message: String::new(),
        })
    }

    /// One level up: the provincial director, then HQ inspection.
    pub(crate) fn escalate(&self, case: &mut CaseRecord, cause: &str, note: &str, actor: &Actor) -> Result<Change> {
        let note = message("message", note, false)?;
        advance(case, CaseAction::Escalate)?;
        if case.escalation_level >= 2 {
            return Err(Error::Refused("the case is already with HQ inspection".into()));
        }
        case.escalation_level += 1;
        let to_unit = if case.escalation_level == 1 { director_unit(case) } else { HQ_INSPECTION.to_owned() };
        Ok(Change {
            action: CaseAction::Escalate.as_str(),
            body: Body::Escalated(Escalated {
                level: case.escalation_level as u32,
                cause: cause.into(),
                to_unit: to_unit.clone(),
                actor_role: actor.role.into(),
            }),
            note: format!("escalated to {to_unit} ({cause}) {note}").trim_end().to_owned(),
            message: String::new(),
        })
    }

    pub(crate) fn close(&self, case: &mut CaseRecord, reason: &str, note: &str) -> Result<Change> {
        let note = message("message", note, false)?;
        advance(case, CaseAction::Close)?;
        Ok(Change {
            action: CaseAction::Close.as_str(),
            body: Body::Closed(Closed {
                reason: reason.into(),
                category: case.category.clone(),
                organisation: case.organisation.clone(),
                unit: case.unit.clone(),
            }),
            note,
            message: String::new(),
        })
    }

    /// Back to work after a response: an appeal or a supervisor's decision. The case goes to the
    /// provincial director's attention with a fresh resolution target.
    pub(crate) fn reopen(
        &self,
        case: &mut CaseRecord,
        cause: &str,
        note: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let note = message("message", note, false)?;
        advance(case, CaseAction::Reopen)?;
        case.escalation_level = case.escalation_level.max(1);
        case.resolution_due = deadline(&self.calendar, now, case.resolution_days.max(0) as u32);
        case.resolution_warn = Some(warning_at(now, case.resolution_due, self.warning_ratio));
        case.resolution_alert = "none".into();
        case.responded_at = None;
        // an expected date and its reason belonged to the answer being appealed
        case.expected_at = None;
        case.interim_reason.clear();
        let to_unit = director_unit(case);
        Ok(Change {
            action: CaseAction::Reopen.as_str(),
            body: Body::Reopened(Reopened {
                cause: cause.into(),
                to_unit: to_unit.clone(),
                actor_role: actor.role.into(),
            }),
            note: format!("reopened ({cause}) for {to_unit} {note}").trim_end().to_owned(),
            message: String::new(),
        })
    }

    pub(crate) fn reject(&self, case: &mut CaseRecord, reason_code: &str, text: &str, actor: &Actor) -> Result<Change> {
        if !REJECT_REASONS.contains(&reason_code) {
            return Err(Error::invalid(
                "reason_code",
                "reason_unknown",
                format!("one of {}", REJECT_REASONS.join(", ")),
            ));
        }
        let text = message("message", text, true)?;
        advance(case, CaseAction::Reject)?;
        Ok(Change {
            action: CaseAction::Reject.as_str(),
            body: Body::Rejected(Rejected {
                reason_code: reason_code.into(),
                unit: case.unit.clone(),
                actor_role: actor.role.into(),
            }),
            note: format!("{reason_code}: {text}"),
            message: text,
        })
    }

    /// This case duplicates `into`, an open case, and joins it.
    pub(crate) fn merge(
        &self,
        case: &mut CaseRecord,
        into: &CaseRecord,
        similarity: f64,
        automatic: bool,
        actor: &Actor,
    ) -> Result<Change> {
        if into.petition_id == case.petition_id {
            return Err(Error::invalid("into_petition_id", "merge_into_itself", "a case cannot merge into itself"));
        }
        if !store::OPEN.contains(&into.status.as_str()) {
            return Err(Error::Refused(format!("the case to merge into is {}, not open", into.status)));
        }
        // the citizen is told the original's tracking code: it must be their own case
        if into.citizen_ref != case.citizen_ref {
            return Err(Error::Refused("a petition merges only into a case of the same citizen".into()));
        }
        advance(case, CaseAction::Merge)?;
        case.merged_into = Some(into.petition_id);
        Ok(Change {
            action: CaseAction::Merge.as_str(),
            body: Body::Merged(Merged {
                into_petition_id: into.petition_id.to_string(),
                into_tracking_code: into.tracking_code.clone(),
                similarity,
                automatic,
                actor_role: actor.role.into(),
            }),
            note: if automatic {
                format!("duplicate of {} (text similarity {similarity:.2})", into.tracking_code)
            } else {
                format!("merged into {}", into.tracking_code)
            },
            message: into.tracking_code.clone(),
        })
    }

    /// The citizen's rating of a response: a poor one within the appeal window reopens the case,
    /// a good one closes it. `None` when the rating changes nothing but the record.
    pub(crate) fn rate(&self, case: &mut CaseRecord, score: u32, now: DateTime<Utc>) -> Result<Option<Change>> {
        case.rating = Some(score as i32);
        let status = case.status();
        let poor = score <= self.settings.poor_rating_max;
        let answered_at = case.responded_at.unwrap_or(case.updated_at);
        let within_window = now - answered_at <= Duration::days(i64::from(self.settings.appeal_window_days));
        match status {
            CaseStatus::Responded | CaseStatus::Closed if poor && within_window => {
                Ok(Some(self.reopen(case, "appeal", &format!("rated {score}/5"), &Actor::citizen(), now)?))
            }
            CaseStatus::Responded if !poor => Ok(Some(self.close(case, "accepted", &format!("rated {score}/5"))?)),
            _ => Ok(None),
        }
    }

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
            let alert = if target == "first_response" { &case.first_response_alert } else { &case.resolution_alert };
            let level = if due <= now && alert != "breached" {
                "breach"
            } else if warn.is_some_and(|w| w <= now) && alert == "none" {
                "warning"
            } else {
                continue;
            };
            let new_alert = if level == "breach" { "breached" } else { "warned" };
            if target == "first_response" {
                case.first_response_alert = new_alert.into();
            } else {
                case.resolution_alert = new_alert.into();
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use pasokh_domain::BusinessCalendar;

    use super::*;
    use crate::config::Settings;

    fn workflow() -> Workflow {
        Workflow {
            lifecycle_topic: "t".into(),
            calendar: Arc::new(BusinessCalendar::new(false, &[])),
            settings: Settings::default().workflow,
            warning_ratio: 0.8,
        }
    }

    fn case(status: CaseStatus, citizen: &str) -> CaseRecord {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 6, 0, 0).unwrap();
        CaseRecord {
            petition_id: Uuid::now_v7(),
            tracking_code: "231234567890".into(),
            province: "IR-23".into(),
            category: "pension-payment".into(),
            citizen_ref: citizen.into(),
            status: status.as_str().into(),
            organisation: "sso".into(),
            unit: "sso/IR-23".into(),
            rule: "r".into(),
            priority: "normal".into(),
            kind: "complaint".into(),
            text: "متن".into(),
            submitted_at: at,
            first_response_days: 3,
            resolution_days: 15,
            first_response_due: at + Duration::days(3),
            resolution_due: at + Duration::days(15),
            first_response_warn: Some(at + Duration::days(2)),
            resolution_warn: Some(at + Duration::days(12)),
            first_responded_at: None,
            responded_at: None,
            info_requested_at: None,
            first_response_alert: "none".into(),
            resolution_alert: "none".into(),
            breaches: 0,
            escalation_level: 0,
            forwards: 0,
            transfers: 0,
            expected_at: None,
            interim_reason: String::new(),
            merged_into: None,
            rating: None,
            updated_at: at,
            channel: "web".into(),
            desk_event_id: String::new(),
            attachment_count: 0,
            event_sequence: 0,
        }
    }

    #[test]
    fn the_wait_for_the_citizen_moves_the_targets_however_work_resumes() {
        let workflow = workflow();
        let officer = Actor { name: "o".into(), role: "officer" };
        for resume_by_reply in [true, false] {
            let mut waiting = case(CaseStatus::InProgress, "c");
            let asked = waiting.submitted_at + Duration::days(1);
            workflow.request_info(&mut waiting, "سؤال", &officer, asked).unwrap();
            let due = waiting.resolution_due;
            let resumed = asked + Duration::days(10);
            if resume_by_reply {
                workflow.provide_info(&mut waiting, "پاسخ", resumed).unwrap();
            } else {
                // the answer came by phone: the unit resumes without the citizen's reply
                workflow.start_work(&mut waiting, &officer, resumed).unwrap();
            }
            assert_eq!(waiting.resolution_due, due + Duration::days(10), "reply: {resume_by_reply}");
            assert_eq!(waiting.status, "in_progress");
            assert!(waiting.info_requested_at.is_none());
        }
    }

    #[test]
    fn a_petition_merges_only_into_an_open_case_of_the_same_citizen() {
        let workflow = workflow();
        let officer = Actor { name: "o".into(), role: "officer" };
        let original = case(CaseStatus::InProgress, "citizen-a");
        let mut other = case(CaseStatus::Routed, "citizen-b");
        assert!(matches!(workflow.merge(&mut other, &original, 0.0, false, &officer), Err(Error::Refused(_))));
        assert_eq!(other.status, "routed", "nothing changed");
        let mut same = case(CaseStatus::Routed, "citizen-a");
        workflow.merge(&mut same, &original, 0.0, false, &officer).unwrap();
        assert_eq!((same.status.as_str(), same.merged_into), ("merged", Some(original.petition_id)));
        let closed = case(CaseStatus::Closed, "citizen-a");
        let mut late = case(CaseStatus::Routed, "citizen-a");
        assert!(matches!(workflow.merge(&mut late, &closed, 0.0, false, &officer), Err(Error::Refused(_))));
    }
}

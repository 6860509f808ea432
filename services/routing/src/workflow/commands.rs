//! What each command does to a case: the lifecycle step it takes, the targets it moves, the
//! history note and the event it leaves, and the messages it accepts.

use chrono::{DateTime, Duration, Utc};
use pasokh_domain::{CaseAction, CaseStatus, SlaState, UnitRole, unit};
use pasokh_events::lifecycle::timestamp;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{
    Acknowledged, Closed, Escalated, ExpectedDateSet, InfoRequested, Merged, Referred, Rejected, Reopened, Responded,
    WorkStarted,
};

use super::deadline::{deadline, end_of_day, first_response, resume_clock, warning_at};
use super::{Actor, Change, Workflow};
use crate::store::CaseRecord;
use crate::{Error, Result};

pub(crate) const REJECT_REASONS: &[&str] =
    &["out_of_scope", "not_enough_information", "withdrawn", "unlawful_request", "other"];
const MAX_MESSAGE_CHARS: usize = 1000;
pub(crate) const HQ_INSPECTION: &str = "mcls-hq/inspection";

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
    let next = case.status.apply(action)?;
    case.status = next;
    Ok(next)
}

impl Workflow {
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
        if !case.status.is_open() {
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
        if target.province != Some(case.province) {
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
        case.resolution_alert = SlaState::OnTrack;
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
        if !into.status.is_open() {
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
        let status = case.status;
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
}

//! The case workflow: every change to a case — an officer's command, the
//! citizen's reply or rating, the watchdog's alert — is a `Change` computed
//! here from the case and the lifecycle table in `libs/domain`, then recorded
//! in one transaction: the case row, a history line and the lifecycle event in
//! routing's outbox.
//!
//! `commands` holds what each command does to a case; `deadline` the working-day targets, the
//! clock that stops while the citizen is asked, and the watchdog's warnings and breaches; this
//! file who acts, what a change is, and how one is recorded.
mod commands;
mod deadline;

use std::sync::Arc;

use pasokh_domain::{BusinessCalendar, CaseStatus};
use pasokh_events::lifecycle;
use pasokh_events::outbox::OutboxMessage;
use pasokh_proto::events::v1::petition_event::Body;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::config::WorkflowSettings;
use crate::store::{self, CaseRecord, HistoryLine};
use crate::{Error, Result};

pub(crate) use deadline::{deadline, first_response, warning_at};

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
            to_status: case.status.as_str(),
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
        let mut event =
            lifecycle::new_event(case.petition_id, &case.province.to_string(), &case.tracking_code, change.body);
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
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use pasokh_domain::{BusinessCalendar, SlaState};

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
            province: pasokh_domain::ProvinceCode::parse("IR-23").unwrap(),
            category: "pension-payment".into(),
            citizen_ref: citizen.into(),
            status,
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
            first_response_alert: SlaState::OnTrack,
            resolution_alert: SlaState::OnTrack,
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
            assert_eq!(waiting.status, CaseStatus::InProgress);
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
        assert_eq!(other.status, CaseStatus::Routed, "nothing changed");
        let mut same = case(CaseStatus::Routed, "citizen-a");
        workflow.merge(&mut same, &original, 0.0, false, &officer).unwrap();
        assert_eq!((same.status.as_str(), same.merged_into), ("merged", Some(original.petition_id)));
        let closed = case(CaseStatus::Closed, "citizen-a");
        let mut late = case(CaseStatus::Routed, "citizen-a");
        assert!(matches!(workflow.merge(&mut late, &closed, 0.0, false, &officer), Err(Error::Refused(_))));
    }
}

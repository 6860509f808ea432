//! One petition's facts, and how each lifecycle event changes them.
//!
//! Two kinds of change, so that order and redelivery cannot make them wrong:
//! - **state** (the status; where the case sits; the rating) moves only with
//!   an event newer than the last one that moved that same state (the
//!   envelope's `sequence`, compared within one producer); an older event never
//!   moves it back;
//! - **counts and first times** (escalations, referrals, breaches, the first
//!   response) are sums and minimums, the same whatever the order; the
//!   consumer's ledger makes sure each event is counted once.
use chrono::{DateTime, Utc};
use pasokh_domain::{BusinessCalendar, CaseStatus, tehran_date};
use pasokh_events::lifecycle::from_timestamp;
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rollup::{Measures, RESOLUTION_DAY_BUCKETS};

/// A row of `case_facts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub(crate) struct Fact {
    pub petition_id: Uuid,
    pub tracking_code: String,
    pub province: String,
    pub county: String,
    pub organisation: String,
    pub unit: String,
    pub category: String,
    pub kind: String,
    pub channel: String,
    pub desk_event_id: String,
    pub rule: String,
    pub priority: String,
    pub status: String,
    /// sequence of the routing event that set `status`
    pub status_sequence: i64,
    /// sequence of the routing event that set `organisation`, `unit` and the targets
    pub placement_sequence: i64,
    /// sequence of the intake event that set `rating`
    pub rating_sequence: i64,
    pub submitted_at: Option<DateTime<Utc>>,
    pub routed_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub breaches: i32,
    pub escalations: i32,
    pub escalation_level: i32,
    pub referrals: i32,
    pub info_requests: i32,
    pub responses: i32,
    pub reopened: i32,
    pub appeals: i32,
    pub rating: Option<i16>,
    pub rating_has_comment: bool,
    pub merged_into: Option<Uuid>,
    pub resolved_on_spot: bool,
    pub closed_reason: String,
    pub rejected_reason: String,
}

/// Whether an event numbered `sequence` is newer than the one that last set a state, and if so
/// records it as the last. 0 comes from producers older than the field: applied in arrival order.
fn newer(last: &mut i64, sequence: i64) -> bool {
    if sequence == 0 || sequence > *last {
        *last = (*last).max(sequence);
        true
    } else {
        false
    }
}

fn earliest(current: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(current.map_or(at, |c| c.min(at)))
}

impl Fact {
    pub(crate) fn new(petition_id: Uuid) -> Self {
        Self {
            petition_id,
            tracking_code: String::new(),
            province: String::new(),
            county: String::new(),
            organisation: String::new(),
            unit: String::new(),
            category: String::new(),
            kind: String::new(),
            channel: String::new(),
            desk_event_id: String::new(),
            rule: String::new(),
            priority: String::new(),
            status: CaseStatus::Submitted.as_str().to_owned(),
            status_sequence: 0,
            placement_sequence: 0,
            rating_sequence: 0,
            submitted_at: None,
            routed_at: None,
            first_response_at: None,
            resolved_at: None,
            responded_at: None,
            closed_at: None,
            first_response_due: None,
            resolution_due: None,
            first_response_breached: false,
            resolution_breached: false,
            breaches: 0,
            escalations: 0,
            escalation_level: 0,
            referrals: 0,
            info_requests: 0,
            responses: 0,
            reopened: 0,
            appeals: 0,
            rating: None,
            rating_has_comment: false,
            merged_into: None,
            resolved_on_spot: false,
            closed_reason: String::new(),
            rejected_reason: String::new(),
        }
    }

    pub(crate) fn status(&self) -> CaseStatus {
        CaseStatus::parse(&self.status).unwrap_or(CaseStatus::Submitted)
    }

    /// Applies one (new, not yet applied) event; `at` is when it happened.
    pub(crate) fn apply(&mut self, event: &PetitionEvent, at: DateTime<Utc>) {
        let Some(body) = &event.body else { return };
        if self.tracking_code.is_empty() {
            self.tracking_code.clone_from(&event.tracking_code);
        }
        if self.province.is_empty() {
            self.province.clone_from(&event.province);
        }
        let sequence = event.sequence as i64;
        let set_status = |fact: &mut Self, status: CaseStatus| {
            if newer(&mut fact.status_sequence, sequence) {
                fact.status = status.as_str().to_owned();
            }
        };
        let placed = |fact: &mut Self| newer(&mut fact.placement_sequence, sequence);
        match body {
            Body::Submitted(s) => {
                self.submitted_at = earliest(self.submitted_at, at);
                if self.category.is_empty() {
                    self.category.clone_from(&s.category);
                }
                self.kind.clone_from(&s.kind);
                self.channel.clone_from(&s.channel);
                self.county.clone_from(&s.county);
                self.desk_event_id.clone_from(&s.desk_event_id);
            }
            Body::Routed(r) => {
                self.routed_at = earliest(self.routed_at, at);
                if placed(self) {
                    if !r.category.is_empty() {
                        self.category.clone_from(&r.category);
                    }
                    self.organisation.clone_from(&r.organisation);
                    self.unit.clone_from(&r.unit);
                    self.rule.clone_from(&r.rule);
                    self.priority.clone_from(&r.priority);
                    self.first_response_due = from_timestamp(r.first_response_due.as_ref());
                    self.resolution_due = from_timestamp(r.resolution_due.as_ref());
                }
                set_status(self, CaseStatus::Routed);
            }
            Body::Closed(c) => {
                if c.reason == "resolved_on_spot" {
                    self.resolved_on_spot = true;
                    self.resolved_at = earliest(self.resolved_at, at);
                    self.first_response_at = earliest(self.first_response_at, at);
                    self.routed_at = earliest(self.routed_at, at);
                }
                if self.closed_at.is_none_or(|closed| closed < at) {
                    self.closed_at = Some(at);
                    self.closed_reason.clone_from(&c.reason);
                }
                if placed(self) {
                    if !c.organisation.is_empty() {
                        self.organisation.clone_from(&c.organisation);
                    }
                    if !c.unit.is_empty() {
                        self.unit.clone_from(&c.unit);
                    }
                    if !c.category.is_empty() {
                        self.category.clone_from(&c.category);
                    }
                }
                set_status(self, CaseStatus::Closed);
            }
            Body::Acknowledged(_) => {
                self.first_response_at = earliest(self.first_response_at, at);
                set_status(self, CaseStatus::Acknowledged);
            }
            Body::WorkStarted(_) => {
                self.first_response_at = earliest(self.first_response_at, at);
                set_status(self, CaseStatus::InProgress);
            }
            Body::InfoRequested(_) => {
                self.first_response_at = earliest(self.first_response_at, at);
                self.info_requests += 1;
                set_status(self, CaseStatus::InfoRequested);
            }
            Body::InfoProvided(_) => {}
            Body::Responded(_) => {
                self.first_response_at = earliest(self.first_response_at, at);
                self.resolved_at = earliest(self.resolved_at, at);
                self.responses += 1;
                if self.responded_at.is_none_or(|responded| responded < at) {
                    self.responded_at = Some(at);
                }
                set_status(self, CaseStatus::Responded);
            }
            Body::Referred(r) => {
                self.referrals += 1;
                if placed(self) {
                    self.organisation.clone_from(&r.to_organisation);
                    self.unit.clone_from(&r.to_unit);
                }
                set_status(self, CaseStatus::Routed);
            }
            Body::Escalated(e) => {
                self.escalations += 1;
                self.escalation_level = self.escalation_level.max(e.level as i32);
            }
            Body::Reopened(r) => {
                self.reopened += 1;
                if r.cause == "appeal" {
                    self.appeals += 1;
                }
                if !r.to_unit.is_empty() && placed(self) {
                    self.unit.clone_from(&r.to_unit);
                }
                set_status(self, CaseStatus::Reopened);
            }
            Body::Merged(m) => {
                self.merged_into = Uuid::parse_str(&m.into_petition_id).ok().or(self.merged_into);
                set_status(self, CaseStatus::Merged);
            }
            Body::Rejected(r) => {
                self.resolved_at = earliest(self.resolved_at, at);
                self.rejected_reason.clone_from(&r.reason_code);
                set_status(self, CaseStatus::Rejected);
            }
            Body::Rated(r) => {
                if newer(&mut self.rating_sequence, sequence) {
                    self.rating = Some(r.score.clamp(1, 5) as i16);
                    self.rating_has_comment = r.has_comment;
                }
            }
            Body::SlaAlert(alert) => {
                if alert.level == "breach" {
                    self.breaches += 1;
                    match alert.target.as_str() {
                        "first_response" => self.first_response_breached = true,
                        _ => self.resolution_breached = true,
                    }
                }
            }
            Body::ExpectedDateSet(_) => {}
        }
    }

    /// Working days from submission to resolution, in Tehran's calendar days.
    pub(crate) fn resolution_working_days(&self, calendar: &BusinessCalendar) -> Option<u32> {
        let (submitted, resolved) = (self.submitted_at?, self.resolved_at?);
        Some(calendar.working_days_between(tehran_date(submitted), tehran_date(resolved)))
    }

    /// What this petition adds to every rollup it belongs to. A petition whose `submitted` event
    /// has not arrived yet adds nothing: it has no day to be counted on.
    pub(crate) fn measures(&self, calendar: &BusinessCalendar) -> Option<Measures> {
        self.submitted_at?;
        let status = self.status();
        let merged = status == CaseStatus::Merged;
        let first_responded = self.first_response_at.is_some();
        let resolved = self.resolved_at.is_some() && !merged;
        let responded = self.responses > 0;
        let rated = self.rating.is_some();
        let mut resolution_days = Vec::new();
        if resolved && let Some(days) = self.resolution_working_days(calendar) {
            resolution_days = vec![0; RESOLUTION_DAY_BUCKETS];
            resolution_days[(days as usize).min(RESOLUTION_DAY_BUCKETS - 1)] = 1;
        }
        let flag = |b: bool| i32::from(b);
        Some(Measures {
            submitted: 1,
            routed: flag(self.routed_at.is_some()),
            open: flag(status.is_open()),
            first_response_decided: flag(!merged && (first_responded || self.first_response_breached)),
            first_response_on_time: flag(!merged && first_responded && !self.first_response_breached),
            resolution_decided: flag(resolved || (!merged && self.resolution_breached)),
            resolved: flag(resolved),
            resolved_on_time: flag(resolved && !self.resolution_breached),
            breaches: self.breaches,
            escalated: flag(self.escalations > 0),
            escalations: self.escalations,
            reopened: flag(self.reopened > 0),
            appealed: flag(self.appeals > 0),
            responded: flag(responded),
            rated: flag(rated),
            rating_sum: self.rating.map_or(0, i32::from),
            rated_high: flag(self.rating.is_some_and(|r| r >= 4)),
            rated_with_comment: flag(rated && self.rating_has_comment),
            merged: flag(merged),
            at_desk: flag(self.channel == "desk"),
            resolved_on_spot: flag(self.resolved_on_spot),
            referrals: self.referrals,
            info_requests: self.info_requests,
            closed: flag(status == CaseStatus::Closed),
            rejected: flag(status == CaseStatus::Rejected),
            resolution_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use pasokh_proto::events::v1::{Acknowledged, Escalated, Responded, Routed, SlaAlert, Submitted};

    use super::*;

    fn event(sequence: u64, body: Body) -> PetitionEvent {
        PetitionEvent {
            event_id: Uuid::now_v7().to_string(),
            petition_id: Uuid::nil().to_string(),
            occurred_at: None,
            province: "IR-23".into(),
            tracking_code: "231234567890".into(),
            sequence,
            body: Some(body),
        }
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    fn history() -> Vec<(PetitionEvent, DateTime<Utc>)> {
        vec![
            (
                event(
                    1,
                    Body::Submitted(Submitted {
                        category: "pension-payment".into(),
                        channel: "web".into(),
                        ..Default::default()
                    }),
                ),
                at(28, 6),
            ),
            (
                event(
                    1,
                    Body::Routed(Routed { organisation: "sso".into(), unit: "sso/IR-23".into(), ..Default::default() }),
                ),
                at(28, 6),
            ),
            (event(2, Body::Acknowledged(Acknowledged::default())), at(28, 8)),
            (event(3, Body::Escalated(Escalated { level: 1, ..Default::default() })), at(29, 8)),
            (
                event(
                    4,
                    Body::SlaAlert(SlaAlert {
                        target: "resolution".into(),
                        level: "breach".into(),
                        ..Default::default()
                    }),
                ),
                at(30, 8),
            ),
            (event(5, Body::Responded(Responded::default())), at(30, 9)),
        ]
    }

    #[test]
    fn any_order_of_the_same_events_gives_the_same_facts() {
        let mut in_order = Fact::new(Uuid::nil());
        for (e, t) in history() {
            in_order.apply(&e, t);
        }
        assert_eq!(in_order.status(), CaseStatus::Responded);
        assert_eq!((in_order.escalations, in_order.breaches), (1, 1));
        assert_eq!(in_order.first_response_at, Some(at(28, 8)));
        let mut reversed = Fact::new(Uuid::nil());
        for (e, t) in history().into_iter().rev() {
            reversed.apply(&e, t);
        }
        assert_eq!(reversed, in_order, "state follows the sequence, counts are sums");
    }

    #[test]
    fn an_older_event_does_not_move_the_status_back() {
        let mut fact = Fact::new(Uuid::nil());
        let events = history();
        for (e, t) in &events {
            fact.apply(e, *t);
        }
        let stale = event(2, Body::Acknowledged(Acknowledged::default()));
        fact.apply(&stale, at(28, 9));
        assert_eq!(fact.status(), CaseStatus::Responded);
        assert_eq!(fact.first_response_at, Some(at(28, 8)), "the first response stays the earliest");
    }

    #[test]
    fn measures_say_what_the_case_counts_for() {
        let mut fact = Fact::new(Uuid::nil());
        for (e, t) in history() {
            fact.apply(&e, t);
        }
        let m = fact.measures(&BusinessCalendar::iranian(false)).unwrap();
        assert_eq!((m.submitted, m.open, m.resolved, m.resolved_on_time, m.resolution_decided), (1, 0, 1, 0, 1));
        assert_eq!((m.first_response_decided, m.first_response_on_time), (1, 1));
        assert_eq!(m.resolution_days.iter().sum::<i32>(), 1);
        assert_eq!(Fact::new(Uuid::nil()).measures(&BusinessCalendar::iranian(false)), None);
    }
}

//! The case lifecycle: statuses, the actions officers, citizens and the system
//! take, and the one table that says which action is allowed in which status.
//! Anything not in the table is refused with an error naming both — never a
//! silent no-op.
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// Where a case stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray, IntoStaticStr, EnumString, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CaseStatus {
    Submitted,
    Routed,
    Acknowledged,
    InProgress,
    InfoRequested,
    Responded,
    /// a citizen appealed a response: the case waits in a supervisor's queue
    Reopened,
    Closed,
    Rejected,
    Merged,
}

/// What happens to a case; its name (`as_str`, `Display`) is how errors say it: "a closed case
/// cannot be *referred*".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray, IntoStaticStr, Display)]
#[serde(rename_all = "snake_case")]
pub enum CaseAction {
    /// routing assigns the case to a unit
    #[strum(to_string = "routed")]
    Route,
    /// the unit confirms it has the case
    #[strum(to_string = "acknowledged")]
    Acknowledge,
    /// work starts (or resumes after the citizen's information arrived)
    #[strum(to_string = "started")]
    StartWork,
    /// the officer needs information from the citizen
    #[strum(to_string = "asked for information")]
    RequestInfo,
    /// the citizen's reply arrived
    #[strum(to_string = "given information")]
    ProvideInfo,
    #[strum(to_string = "responded to")]
    Respond,
    #[strum(to_string = "closed")]
    Close,
    /// answered face to face at a service desk
    #[strum(to_string = "closed on the spot")]
    CloseOnSpot,
    /// to another unit: back to routed there
    #[strum(to_string = "referred")]
    Refer,
    /// to the provincial director or HQ; the case keeps its status
    #[strum(to_string = "escalated")]
    Escalate,
    /// the citizen's appeal after a response
    #[strum(to_string = "reopened")]
    Reopen,
    /// a duplicate of an open case
    #[strum(to_string = "merged")]
    Merge,
    /// out of scope, with a reason
    #[strum(to_string = "rejected")]
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} case cannot be {action}")]
pub struct InvalidTransition {
    pub from: CaseStatus,
    pub action: CaseAction,
}

impl CaseStatus {
    pub const ALL: &'static [CaseStatus] = <Self as strum::VariantArray>::VARIANTS;

    /// The name stored and published: `submitted`, `in_progress`, …
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Exactly a name of [`Self::as_str`]: statuses come from our own rows and messages.
    pub fn parse(input: &str) -> Option<Self> {
        input.parse().ok()
    }

    /// Persian label shown to citizens and officers.
    pub fn label_fa(self) -> &'static str {
        match self {
            Self::Submitted => "ثبت شده",
            Self::Routed => "ارجاع شده به واحد رسیدگی",
            Self::Acknowledged => "در دست بررسی",
            Self::InProgress => "در حال رسیدگی",
            Self::InfoRequested => "نیازمند اطلاعات تکمیلی",
            Self::Responded => "پاسخ داده شده",
            Self::Reopened => "بازگشایی شده (تجدیدنظر)",
            Self::Closed => "مختومه",
            Self::Rejected => "رد شده",
            Self::Merged => "ادغام شده با درخواست دیگر",
        }
    }

    /// Work is still owed to the citizen: the case counts in a backlog.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Submitted
                | Self::Routed
                | Self::Acknowledged
                | Self::InProgress
                | Self::InfoRequested
                | Self::Reopened
        )
    }

    /// The open statuses, as [`Self::is_open`] decides: for queries that ask the database.
    pub fn open() -> impl Iterator<Item = CaseStatus> {
        Self::ALL.iter().copied().filter(|s| s.is_open())
    }

    /// The unit's clock runs: the case is open and not waiting for the citizen (the targets move
    /// later by the wait, see routing's workflow). Routing's watchdog and its partial index
    /// (`cases_watchdog_idx`) look only at these.
    pub fn clock_runs(self) -> bool {
        self.is_open() && !matches!(self, Self::Submitted | Self::InfoRequested)
    }

    /// No action applies any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Rejected | Self::Merged)
    }

    /// The lifecycle's one table: the status an action leads to, or why it cannot.
    pub fn apply(self, action: CaseAction) -> Result<CaseStatus, InvalidTransition> {
        use CaseAction as A;
        use CaseStatus as S;
        let next = match (self, action) {
            (S::Submitted, A::Route) => S::Routed,
            (S::Submitted, A::CloseOnSpot) => S::Closed,
            (S::Routed, A::Acknowledge) => S::Acknowledged,
            (S::Acknowledged | S::Reopened | S::InfoRequested, A::StartWork) => S::InProgress,
            (S::InfoRequested, A::ProvideInfo) => S::InProgress,
            (S::Acknowledged | S::InProgress, A::RequestInfo) => S::InfoRequested,
            (S::Acknowledged | S::InProgress | S::Reopened, A::Respond) => S::Responded,
            (S::Responded, A::Close) => S::Closed,
            (S::Routed | S::Acknowledged | S::InProgress | S::Reopened, A::Refer) => S::Routed,
            (S::Responded | S::Closed, A::Reopen) => S::Reopened,
            (S::Submitted | S::Routed | S::Acknowledged | S::InProgress | S::InfoRequested, A::Merge) => S::Merged,
            (
                S::Submitted | S::Routed | S::Acknowledged | S::InProgress | S::InfoRequested | S::Reopened,
                A::Reject,
            ) => S::Rejected,
            (S::Routed | S::Acknowledged | S::InProgress | S::InfoRequested | S::Reopened, A::Escalate) => self,
            _ => return Err(InvalidTransition { from: self, action }),
        };
        Ok(next)
    }
}

impl CaseAction {
    pub const ALL: &'static [CaseAction] = <Self as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A status name that is none of [`CaseStatus::ALL`]: a stored row or a message from a newer
/// producer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a case status")]
pub struct UnknownStatus(pub String);

impl TryFrom<String> for CaseStatus {
    type Error = UnknownStatus;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(UnknownStatus(value))
    }
}

/// How a case stands against its deadlines: against one target (routing stores one per
/// target) or, the worse of the two, against both (what the queue shows and filters by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, VariantArray, IntoStaticStr, EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum SlaState {
    OnTrack,
    /// the warning ratio of the time has passed
    Warning,
    Breached,
}

impl SlaState {
    pub const ALL: &'static [SlaState] = <Self as strum::VariantArray>::VARIANTS;

    /// The name in the officers' API: `on_track`, `warning`, `breached`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(input: &str) -> Option<Self> {
        input.parse().ok()
    }

    /// The value of routing's `*_alert` columns, which predate the API's names: `none`,
    /// `warned`, `breached` (renaming stored values would buy nothing but a migration).
    pub fn as_column(self) -> &'static str {
        match self {
            Self::OnTrack => "none",
            Self::Warning => "warned",
            Self::Breached => "breached",
        }
    }

    pub fn from_column(input: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_column() == input)
    }
}

/// Reads an `*_alert` column (see [`SlaState::as_column`]).
impl TryFrom<String> for SlaState {
    type Error = UnknownStatus;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::from_column(&value).ok_or(UnknownStatus(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every allowed (status, action) → status, written out independently of `apply`.
    const ALLOWED: &[(CaseStatus, CaseAction, CaseStatus)] = {
        use CaseAction as A;
        use CaseStatus as S;
        &[
            (S::Submitted, A::Route, S::Routed),
            (S::Submitted, A::CloseOnSpot, S::Closed),
            (S::Submitted, A::Merge, S::Merged),
            (S::Submitted, A::Reject, S::Rejected),
            (S::Routed, A::Acknowledge, S::Acknowledged),
            (S::Routed, A::Refer, S::Routed),
            (S::Routed, A::Escalate, S::Routed),
            (S::Routed, A::Merge, S::Merged),
            (S::Routed, A::Reject, S::Rejected),
            (S::Acknowledged, A::StartWork, S::InProgress),
            (S::Acknowledged, A::RequestInfo, S::InfoRequested),
            (S::Acknowledged, A::Respond, S::Responded),
            (S::Acknowledged, A::Refer, S::Routed),
            (S::Acknowledged, A::Escalate, S::Acknowledged),
            (S::Acknowledged, A::Merge, S::Merged),
            (S::Acknowledged, A::Reject, S::Rejected),
            (S::InProgress, A::RequestInfo, S::InfoRequested),
            (S::InProgress, A::Respond, S::Responded),
            (S::InProgress, A::Refer, S::Routed),
            (S::InProgress, A::Escalate, S::InProgress),
            (S::InProgress, A::Merge, S::Merged),
            (S::InProgress, A::Reject, S::Rejected),
            (S::InfoRequested, A::ProvideInfo, S::InProgress),
            (S::InfoRequested, A::StartWork, S::InProgress),
            (S::InfoRequested, A::Escalate, S::InfoRequested),
            (S::InfoRequested, A::Merge, S::Merged),
            (S::InfoRequested, A::Reject, S::Rejected),
            (S::Responded, A::Close, S::Closed),
            (S::Responded, A::Reopen, S::Reopened),
            (S::Reopened, A::StartWork, S::InProgress),
            (S::Reopened, A::Respond, S::Responded),
            (S::Reopened, A::Refer, S::Routed),
            (S::Reopened, A::Escalate, S::Reopened),
            (S::Reopened, A::Reject, S::Rejected),
            (S::Closed, A::Reopen, S::Reopened),
        ]
    };

    #[test]
    fn names_round_trip() {
        let names: Vec<&str> = CaseStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "submitted",
                "routed",
                "acknowledged",
                "in_progress",
                "info_requested",
                "responded",
                "reopened",
                "closed",
                "rejected",
                "merged"
            ],
            "the names stored and published"
        );
        for status in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(status.as_str()), Some(*status));
            assert_eq!(status.to_string(), status.as_str());
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str(), "JSON spells the same name");
        }
        assert_eq!(CaseStatus::parse("Closed"), None, "exactly the stored name");
        assert_eq!(CaseAction::RequestInfo.to_string(), "asked for information");
    }

    #[test]
    fn every_status_and_action_pair_is_allowed_exactly_as_the_table_says() {
        let mut checked = 0;
        for from in CaseStatus::ALL {
            for action in CaseAction::ALL {
                let expected = ALLOWED.iter().find(|(f, a, _)| f == from && a == action).map(|(_, _, to)| *to);
                match (from.apply(*action), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from} + {action}"),
                    (Err(error), None) => {
                        assert_eq!(error, InvalidTransition { from: *from, action: *action });
                        let message = error.to_string();
                        assert!(message.contains(from.as_str()) && message.contains(action.as_str()), "{message}");
                    }
                    (got, want) => panic!("{from} + {action}: got {got:?}, table says {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, CaseStatus::ALL.len() * CaseAction::ALL.len());
    }

    #[test]
    fn the_happy_path_runs_and_terminal_statuses_accept_nothing() {
        use CaseAction::*;
        let mut status = CaseStatus::Submitted;
        for action in [Route, Acknowledge, StartWork, RequestInfo, ProvideInfo, Respond, Close, Reopen, Respond, Close]
        {
            status = status.apply(action).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(status, CaseStatus::Closed);
        for terminal in CaseStatus::ALL.iter().filter(|s| s.is_terminal()) {
            assert!(CaseAction::ALL.iter().all(|a| terminal.apply(*a).is_err()), "{terminal} is terminal");
        }
        assert_eq!(
            CaseStatus::Submitted.apply(Respond).unwrap_err().to_string(),
            "a submitted case cannot be responded to"
        );
    }

    #[test]
    fn the_clock_runs_only_on_open_cases_not_waiting_for_the_citizen() {
        let running: Vec<&str> = CaseStatus::ALL.iter().filter(|s| s.clock_runs()).map(|s| s.as_str()).collect();
        assert_eq!(running, ["routed", "acknowledged", "in_progress", "reopened"]);
        assert!(CaseStatus::open().all(CaseStatus::is_open));
        assert!(!CaseStatus::Responded.is_open(), "an answered case owes the citizen nothing more");
    }

    #[test]
    fn sla_states_have_one_name_in_the_api_and_one_in_the_column() {
        for state in SlaState::ALL {
            assert_eq!(SlaState::parse(state.as_str()), Some(*state));
            assert_eq!(SlaState::try_from(state.as_column().to_owned()), Ok(*state));
        }
        let names: Vec<(&str, &str)> = SlaState::ALL.iter().map(|s| (s.as_str(), s.as_column())).collect();
        assert_eq!(names, [("on_track", "none"), ("warning", "warned"), ("breached", "breached")]);
        assert!(SlaState::OnTrack < SlaState::Warning && SlaState::Warning < SlaState::Breached);
        assert_eq!(CaseStatus::try_from("closing".to_owned()), Err(UnknownStatus("closing".into())));
    }
}

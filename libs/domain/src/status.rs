use serde::{Deserialize, Serialize};

/// Where a case stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Submitted,
    Routed,
    Acknowledged,
    InProgress,
    InfoRequested,
    Responded,
    Closed,
    Rejected,
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a case cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: CaseStatus,
    pub to: CaseStatus,
}

impl CaseStatus {
    pub const ALL: &'static [CaseStatus] = &[
        Self::Submitted,
        Self::Routed,
        Self::Acknowledged,
        Self::InProgress,
        Self::InfoRequested,
        Self::Responded,
        Self::Closed,
        Self::Rejected,
        Self::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Routed => "routed",
            Self::Acknowledged => "acknowledged",
            Self::InProgress => "in_progress",
            Self::InfoRequested => "info_requested",
            Self::Responded => "responded",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Merged => "merged",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == input)
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
            Self::Closed => "مختومه",
            Self::Rejected => "رد شده",
            Self::Merged => "ادغام شده با درخواست دیگر",
        }
    }

    /// The lifecycle's edges; everything else is an error, never a silent no-op.
    pub fn can_become(self, to: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, to),
            (Submitted, Routed | Closed | Rejected | Merged)
                | (Routed, Acknowledged | Routed | Rejected | Merged | Closed)
                | (Acknowledged, InProgress | InfoRequested | Responded | Routed | Rejected)
                | (InProgress, InfoRequested | Responded | Routed | Rejected)
                | (InfoRequested, InProgress | Responded | Closed)
                | (Responded, Closed | InProgress)
                | (Closed, InProgress)
        )
    }

    pub fn transition(self, to: CaseStatus) -> Result<CaseStatus, InvalidTransition> {
        if self.can_become(to) { Ok(to) } else { Err(InvalidTransition { from: self, to }) }
    }
}

impl std::fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(status.as_str()), Some(*status));
        }
    }

    #[test]
    fn the_happy_path_is_allowed_and_shortcuts_are_refused() {
        use CaseStatus::*;
        let path = [Submitted, Routed, Acknowledged, InProgress, Responded, Closed];
        for pair in path.windows(2) {
            assert!(pair[0].transition(pair[1]).is_ok(), "{} -> {}", pair[0], pair[1]);
        }
        assert_eq!(Submitted.transition(Responded).unwrap_err(), InvalidTransition { from: Submitted, to: Responded });
        for to in CaseStatus::ALL {
            assert!(Merged.transition(*to).is_err(), "merged is terminal");
            assert!(Rejected.transition(*to).is_err(), "rejected is terminal");
        }
    }
}

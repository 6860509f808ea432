//! Who may do what: the one permission table of Pasokh's staff roles.
//!
//! Every service asks [`reach`] before it acts for a member of staff, and the
//! answer says how far the permission extends (a province, an organisation in
//! a province, or the whole country), so the caller can scope its query.

use strum::{Display, EnumString, IntoStaticStr, VariantArray};

use crate::error::FieldError;

/// A member of staff's role, as the identity provider's `role` claim names it (exactly: the
/// claim is the provider's configuration, not a person's typing).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, VariantArray, IntoStaticStr, EnumString, Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// desk operator: registers walk-ins and letters in their province
    Operator,
    /// service-desk supervisor or provincial director: runs the province's desk events and supervises its cases
    Supervisor,
    /// case officer of one organisation in one province
    Officer,
    /// HQ inspection: reads everything nationally; acts only with the `hq-action` permission
    Inspector,
    /// an organisation's manager at HQ: reads the reports of their organisation in every province
    Manager,
}

impl Role {
    pub const ALL: &'static [Role] = <Role as strum::VariantArray>::VARIANTS;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        crate::parse_name(input, "role", "role_unknown")
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The permission that lets an HQ inspector change cases, not only read them.
pub const HQ_ACTION: &str = "hq-action";

/// Something a member of staff asks a service to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, VariantArray)]
pub enum Action {
    /// register a walk-in or a letter at a service desk, list the desk events
    FileAtDesk,
    /// open a desk event
    ManageDeskEvents,
    /// read cases: queue, detail, history
    ReadCases,
    /// change a case: acknowledge, ask, answer, refer, escalate, close, reject, merge
    WorkCases,
    /// reopen an answered or closed case on the citizen's behalf
    ReopenCases,
    /// read reporting's indicators, rankings, event reports and exports
    ReadReports,
}

impl Action {
    pub const ALL: &'static [Action] = <Action as strum::VariantArray>::VARIANTS;
}

/// How far a granted permission extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// the holder's own province
    Province,
    /// the holder's own organisation in their own province
    OrganisationInProvince,
    /// the holder's own organisation in every province
    Organisation,
    /// every province and organisation
    National,
}

/// The permission table: how far `role` may do `action`, or `None` when it may not.
/// `hq_action` is the inspector's explicit permission to act, not only read.
pub fn reach(role: Role, action: Action, hq_action: bool) -> Option<Reach> {
    use Action::*;
    use Reach::*;
    match (role, action) {
        (Role::Operator, FileAtDesk) => Some(Province),
        (Role::Operator, _) => None,
        (Role::Supervisor, FileAtDesk | ManageDeskEvents | ReadCases | WorkCases | ReopenCases | ReadReports) => {
            Some(Province)
        }
        (Role::Officer, ReadCases | WorkCases | ReadReports) => Some(OrganisationInProvince),
        (Role::Officer, _) => None,
        (Role::Manager, ReadReports) => Some(Organisation),
        (Role::Manager, _) => None,
        (Role::Inspector, ReadCases | ReadReports) => Some(National),
        (Role::Inspector, WorkCases | ReopenCases) if hq_action => Some(National),
        (Role::Inspector, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table as the programme states it, written out independently of `reach`.
    fn expected(role: Role, action: Action, hq_action: bool) -> Option<Reach> {
        let rows: &[(Role, &[(Action, Reach)])] = &[
            (Role::Operator, &[(Action::FileAtDesk, Reach::Province)]),
            (
                Role::Supervisor,
                &[
                    (Action::FileAtDesk, Reach::Province),
                    (Action::ManageDeskEvents, Reach::Province),
                    (Action::ReadCases, Reach::Province),
                    (Action::WorkCases, Reach::Province),
                    (Action::ReopenCases, Reach::Province),
                    (Action::ReadReports, Reach::Province),
                ],
            ),
            (
                Role::Officer,
                &[
                    (Action::ReadCases, Reach::OrganisationInProvince),
                    (Action::WorkCases, Reach::OrganisationInProvince),
                    (Action::ReadReports, Reach::OrganisationInProvince),
                ],
            ),
            (Role::Inspector, &[(Action::ReadCases, Reach::National), (Action::ReadReports, Reach::National)]),
            (Role::Manager, &[(Action::ReadReports, Reach::Organisation)]),
        ];
        let acting_inspector: &[(Action, Reach)] = &[
            (Action::ReadCases, Reach::National),
            (Action::ReadReports, Reach::National),
            (Action::WorkCases, Reach::National),
            (Action::ReopenCases, Reach::National),
        ];
        let row = if role == Role::Inspector && hq_action {
            acting_inspector
        } else {
            rows.iter().find(|(r, _)| *r == role).map(|(_, grants)| *grants).unwrap_or_default()
        };
        row.iter().find(|(a, _)| *a == action).map(|(_, reach)| *reach)
    }

    #[test]
    fn every_role_and_action_pair_matches_the_programmes_table() {
        for &role in Role::ALL {
            for &action in Action::ALL {
                for hq_action in [false, true] {
                    assert_eq!(
                        reach(role, action, hq_action),
                        expected(role, action, hq_action),
                        "{role} {action:?} hq_action={hq_action}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_inspector_reads_everything_and_changes_nothing_without_hq_action() {
        assert_eq!(reach(Role::Inspector, Action::ReadCases, false), Some(Reach::National));
        assert_eq!(reach(Role::Inspector, Action::WorkCases, false), None);
        assert_eq!(reach(Role::Inspector, Action::WorkCases, true), Some(Reach::National));
        // hq-action only widens an inspector: it gives an operator nothing
        assert_eq!(reach(Role::Operator, Action::WorkCases, true), None);
    }

    #[test]
    fn roles_parse_from_the_claim_and_nothing_else() {
        for &role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::parse("admin").unwrap_err().code, "role_unknown");
        assert!(Role::parse("Inspector").is_err());
    }
}

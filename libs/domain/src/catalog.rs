//! Reference data shared by every service: organisations, their units in the
//! provinces, and petition categories.
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

const ORGANISATIONS_CSV: &str = include_str!("../data/organisations.csv");
const CATEGORIES_CSV: &str = include_str!("../data/categories.csv");
const UNITS_CSV: &str = include_str!("../data/units.csv");

/// What a unit does with cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRole {
    /// answers the cases of its organisation in its province
    Casework,
    /// the provincial directorate's queue for petitions no rule matched
    Triage,
    /// the provincial director: first escalation level, appeals
    Director,
    /// HQ's inspection centre: second escalation level, nationwide
    Inspection,
}

/// An organisation's unit in a province (or HQ's inspection centre), e.g. `sso/IR-23`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub code: String,
    pub organisation: String,
    /// none for HQ's units
    pub province: Option<crate::ProvinceCode>,
    pub role: UnitRole,
    pub name_fa: String,
}

pub fn units() -> &'static [Unit] {
    static UNITS: OnceLock<Vec<Unit>> = OnceLock::new();
    UNITS.get_or_init(|| {
        data_rows(UNITS_CSV)
            .filter(|cols| cols.len() == 5)
            .filter_map(|cols| {
                let role = match cols[3] {
                    "casework" => UnitRole::Casework,
                    "triage" => UnitRole::Triage,
                    "director" => UnitRole::Director,
                    "inspection" => UnitRole::Inspection,
                    _ => return None,
                };
                Some(Unit {
                    code: cols[0].to_owned(),
                    organisation: cols[1].to_owned(),
                    province: match cols[2] {
                        "" => None,
                        code => Some(crate::ProvinceCode::parse(code).ok()?),
                    },
                    role,
                    name_fa: cols[4].to_owned(),
                })
            })
            .collect()
    })
}

/// The unit with this code, if it exists.
pub fn unit(code: &str) -> Option<&'static Unit> {
    units().iter().find(|u| u.code == code)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub code: String,
    pub name_en: String,
    pub name_fa: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub code: CategoryCode,
    pub organisation: String,
    pub first_response_days: u32,
    pub resolution_days: u32,
    pub name_en: String,
    pub name_fa: String,
}

/// The code of a known petition category, e.g. `pension-payment`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode(String);

fn data_rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines().skip(1).filter(|l| !l.trim().is_empty()).map(|l| l.split(',').map(str::trim).collect())
}

/// The code of a known organisation, e.g. `sso`: what a staff token's `organisation` claim and a
/// queue's scope hold once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrganisationCode(&'static str);

impl OrganisationCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let wanted = input.trim().to_ascii_lowercase();
        organisations().iter().find(|o| o.code == wanted).map(|o| OrganisationCode(o.code.as_str())).ok_or_else(|| {
            FieldError::new(
                "organisation",
                "organisation_unknown",
                "organisation is not one of the ministry's organisations",
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for OrganisationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

pub fn organisations() -> &'static [Organisation] {
    static ORGANISATIONS: OnceLock<Vec<Organisation>> = OnceLock::new();
    ORGANISATIONS.get_or_init(|| {
        data_rows(ORGANISATIONS_CSV)
            .filter(|cols| cols.len() == 3)
            .map(|cols| Organisation {
                code: cols[0].to_owned(),
                name_en: cols[1].to_owned(),
                name_fa: cols[2].to_owned(),
            })
            .collect()
    })
}

pub fn categories() -> &'static [Category] {
    static CATEGORIES: OnceLock<Vec<Category>> = OnceLock::new();
    CATEGORIES.get_or_init(|| {
        data_rows(CATEGORIES_CSV)
            .filter(|cols| cols.len() == 6)
            .filter_map(|cols| {
                Some(Category {
                    code: CategoryCode(cols[0].to_owned()),
                    organisation: cols[1].to_owned(),
                    first_response_days: cols[2].parse().ok()?,
                    resolution_days: cols[3].parse().ok()?,
                    name_en: cols[4].to_owned(),
                    name_fa: cols[5].to_owned(),
                })
            })
            .collect()
    })
}

impl CategoryCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let wanted = input.trim().to_ascii_lowercase();
        categories().iter().find(|c| c.code.0 == wanted).map(|c| c.code.clone()).ok_or_else(|| {
            FieldError::new("category", "category_unknown", "category is not one of the published categories")
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn category(&self) -> &'static Category {
        categories()
            .iter()
            .find(|c| c.code == *self)
            .unwrap_or_else(|| unreachable!("a CategoryCode only holds known categories"))
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CategoryCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CategoryCode> for String {
    fn from(value: CategoryCode) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_belongs_to_a_known_organisation() {
        assert!(categories().len() >= 10);
        for category in categories() {
            assert!(
                organisations().iter().any(|o| o.code == category.organisation),
                "{} names unknown organisation {}",
                category.code,
                category.organisation
            );
            assert!(category.first_response_days <= category.resolution_days);
        }
    }

    #[test]
    fn every_organisation_has_a_unit_in_every_province_and_every_province_a_triage_and_director() {
        let provinces = crate::provinces();
        assert_eq!(provinces.len(), 31);
        for province in provinces {
            let code = province.code.to_string();
            for organisation in organisations().iter().filter(|o| o.code != "mcls-hq") {
                let unit = unit(&format!("{}/{code}", organisation.code)).expect("a casework unit");
                assert_eq!(
                    (unit.organisation.as_str(), unit.province),
                    (organisation.code.as_str(), Some(province.code))
                );
                assert_eq!(unit.role, UnitRole::Casework);
            }
            assert_eq!(unit(&format!("mcls-directorate/{code}/triage")).map(|u| u.role), Some(UnitRole::Triage));
            assert_eq!(unit(&format!("mcls-directorate/{code}/director")).map(|u| u.role), Some(UnitRole::Director));
        }
        assert_eq!(unit("mcls-hq/inspection").map(|u| u.role), Some(UnitRole::Inspection));
        assert_eq!(units().len(), 1 + 31 * (organisations().len() - 1 + 2));
    }

    #[test]
    fn parses_known_and_refuses_unknown_categories() {
        assert_eq!(CategoryCode::parse(" Pension-Payment ").unwrap().as_str(), "pension-payment");
        assert_eq!(CategoryCode::parse("weather").unwrap_err().code, "category_unknown");
    }

    #[test]
    fn parses_every_organisation_and_refuses_others() {
        for organisation in organisations() {
            assert_eq!(OrganisationCode::parse(&organisation.code).unwrap().as_str(), organisation.code);
        }
        assert_eq!(OrganisationCode::parse(" SSO ").unwrap().to_string(), "sso");
        assert_eq!(OrganisationCode::parse("nasa").unwrap_err().code, "organisation_unknown");
    }
}

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

const PROVINCES_CSV: &str = include_str!("../data/provinces.csv");

/// One of the 31 provinces by its ISO 3166-2:IR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Province {
    pub code: ProvinceCode,
    /// `IR-23`: the code as text, for queries and answers that want a `&'static str`
    pub iso_code: &'static str,
    pub name_en: String,
    pub name_fa: String,
}

/// An ISO 3166-2:IR province code such as `IR-23` (Tehran); only the 31 known codes parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProvinceCode(u8);

pub fn provinces() -> &'static [Province] {
    static PROVINCES: OnceLock<Vec<Province>> = OnceLock::new();
    PROVINCES.get_or_init(|| {
        PROVINCES_CSV
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .filter_map(|line| {
                let mut cols = line.splitn(3, ',');
                let code = cols.next()?.trim();
                let number: u8 = code.strip_prefix("IR-")?.parse().ok()?;
                Some(Province {
                    code: ProvinceCode(number),
                    iso_code: code,
                    name_en: cols.next()?.trim().to_owned(),
                    name_fa: cols.next()?.trim().to_owned(),
                })
            })
            .collect()
    })
}

impl ProvinceCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let normalised = crate::normalize_digits(input.trim()).to_ascii_uppercase();
        provinces().iter().find(|p| p.iso_code == normalised).map(|p| p.code).ok_or_else(|| {
            FieldError::new("province", "province_unknown", "province must be an ISO 3166-2:IR code such as IR-23")
        })
    }

    /// `IR-23`.
    pub fn as_str(self) -> &'static str {
        self.province().iso_code
    }

    /// The two-digit number that prefixes this province's tracking codes.
    pub fn number(self) -> u8 {
        self.0
    }

    pub fn from_number(number: u8) -> Option<Self> {
        provinces().iter().map(|p| p.code).find(|c| c.0 == number)
    }

    pub fn province(self) -> &'static Province {
        provinces()
            .iter()
            .find(|p| p.code == self)
            .unwrap_or_else(|| unreachable!("a ProvinceCode only holds known provinces"))
    }
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IR-{:02}", self.0)
    }
}

impl TryFrom<String> for ProvinceCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ProvinceCode> for String {
    fn from(value: ProvinceCode) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_31_provinces_are_known() {
        assert_eq!(provinces().len(), 31);
        let tehran = ProvinceCode::parse("IR-23").unwrap();
        assert_eq!(tehran.province().name_fa, "تهران");
        assert_eq!(ProvinceCode::parse(" ir-۰۷ ").unwrap().to_string(), "IR-07");
        for province in provinces() {
            assert_eq!(province.code.as_str(), province.code.to_string(), "the text and Display agree");
        }
    }

    #[test]
    fn unknown_codes_are_refused() {
        for input in ["IR-31", "IR-99", "23", "Tehran", ""] {
            assert_eq!(ProvinceCode::parse(input).unwrap_err().code, "province_unknown", "{input}");
        }
    }
}

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// A scanned letter registered as a petition by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letter {
    /// The letter's own reference number (شماره نامه)
    pub reference: String,
    pub received_on: NaiveDate,
    pub pages: u16,
}

impl Letter {
    pub fn parse(reference: &str, received_on: &str, pages: i64, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let reference = crate::normalize_digits(&crate::normalize_text(reference));
        if reference.is_empty() || reference.chars().count() > 64 {
            errors.push(FieldError::new(
                "letter.reference",
                "letter_reference_invalid",
                "letter reference must be 1–64 characters",
            ));
        }
        let date = crate::jalali::parse_date(received_on);
        match date {
            None => errors.push(FieldError::new(
                "letter.received_on",
                "letter_date_invalid",
                "received_on must be a date: 2026-11-29 or 1405/09/08",
            )),
            Some(d) if d > today => errors.push(FieldError::new(
                "letter.received_on",
                "letter_date_in_future",
                "a letter cannot be received in the future",
            )),
            Some(_) => {}
        }
        if !(1..=500).contains(&pages) {
            errors.push(FieldError::new("letter.pages", "letter_pages_invalid", "pages must be between 1 and 500"));
        }
        match (errors.is_empty(), date) {
            (true, Some(received_on)) => Ok(Self { reference, received_on, pages: pages as u16 }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn a_letter_with_a_jalali_date_parses() {
        let letter = Letter::parse(" ۱۲۳/ص/۴۵ ", "۱۴۰۵/۰۹/۰۱", 3, today()).unwrap();
        assert_eq!(letter.reference, "123/ص/45");
        assert_eq!(letter.received_on, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
    }

    #[test]
    fn every_rule_reports_its_field() {
        let errors = Letter::parse("", "1405/13/01", 0, today()).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["letter_reference_invalid", "letter_date_invalid", "letter_pages_invalid"]);
        let future = Letter::parse("1", "2026-12-01", 1, today()).unwrap_err();
        assert_eq!(future[0].code, "letter_date_in_future");
    }
}

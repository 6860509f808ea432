use std::fmt;

use crate::digits::normalize_digits;
use crate::error::FieldError;

/// An Iranian national id (کد ملی): ten digits whose last is a mod-11 check digit.
/// Spreadsheets and some registries store it as a number and drop its leading
/// zeros; 8 or 9 digits are padded back to ten before the check digit is tested.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalId(String);

impl NationalId {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let mut digits: String = normalize_digits(input.trim()).chars().filter(|c| *c != '-').collect();
        if (8..10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits = format!("{digits:0>10}");
        }
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "national_id",
                "national_id_format",
                "national id must be 10 digits (8 or 9 are padded with leading zeros)",
            ));
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        if d.iter().all(|x| *x == d[0]) {
            return Err(FieldError::new(
                "national_id",
                "national_id_repeated",
                "national id cannot be one digit repeated",
            ));
        }
        if d[9] != check_digit(&d[..9]) {
            return Err(FieldError::new(
                "national_id",
                "national_id_checksum",
                "national id check digit does not match",
            ));
        }
        Ok(Self(digits))
    }

    /// The `n`th of a series of valid, distinct-looking ids that belong to nobody in particular:
    /// for tests, benchmarks and load generators, which need many citizens.
    pub fn synthetic(n: u32) -> Self {
        let body = format!("{:09}", 100_000_000 + n.wrapping_mul(7919) % 800_000_000);
        let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
        Self(format!("{body}{}", check_digit(&digits)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Personal data: never printed whole in logs or debug output.
/// The mod-11 check digit of the first nine digits.
fn check_digit(first_nine: &[u32]) -> u32 {
    let sum: u32 = first_nine.iter().enumerate().map(|(i, x)| x * (10 - i as u32)).sum();
    let rest = sum % 11;
    if rest < 2 { rest } else { 11 - rest }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId(******{})", &self.0[6..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_ids_are_valid_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|n| NationalId::synthetic(n).as_str().to_owned()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| NationalId::parse(id).is_ok()));
    }

    #[test]
    fn accepts_valid_ids_in_any_digit_script() {
        for id in ["0499370899", "0084575948", "1234567891", "۰۴۹۹۳۷۰۸۹۹", "٠٤٩٩٣٧٠٨٩٩", "049-937089-9"]
        {
            assert!(NationalId::parse(id).is_ok(), "{id} should be valid");
        }
        assert_eq!(NationalId::parse("۰۴۹۹۳۷۰۸۹۹").unwrap().as_str(), "0499370899");
    }

    #[test]
    fn pads_ids_whose_leading_zeros_were_dropped() {
        // 0084575948 as a spreadsheet keeps it, and 0499370899 as a number-typed column
        assert_eq!(NationalId::parse("84575948").unwrap().as_str(), "0084575948");
        assert_eq!(NationalId::parse("۴۹۹۳۷۰۸۹۹").unwrap().as_str(), "0499370899");
        // padding never rescues a wrong check digit
        assert_eq!(NationalId::parse("499370898").unwrap_err().code, "national_id_checksum");
    }

    #[test]
    fn rejects_wrong_check_digit() {
        assert_eq!(NationalId::parse("0499370898").unwrap_err().code, "national_id_checksum");
        assert_eq!(NationalId::parse("1234567890").unwrap_err().code, "national_id_checksum");
    }

    #[test]
    fn rejects_wrong_length_and_letters() {
        for id in ["", "123", "1234567", "04993708999", "04993708a9", "4993708a9"] {
            assert_eq!(NationalId::parse(id).unwrap_err().code, "national_id_format", "{id}");
        }
    }

    #[test]
    fn rejects_repeated_digits_even_when_checksum_holds() {
        // 1111111111 satisfies the mod-11 rule but is not issued
        assert_eq!(NationalId::parse("1111111111").unwrap_err().code, "national_id_repeated");
        assert_eq!(NationalId::parse("0000000000").unwrap_err().code, "national_id_repeated");
    }

    #[test]
    fn debug_output_masks_the_id() {
        let id = NationalId::parse("0499370899").unwrap();
        assert!(!format!("{id:?}").contains("0499370899"));
    }
}

use std::fmt;

use crate::digits::normalize_digits;
use crate::error::FieldError;

/// An Iranian mobile number in its national form `09XXXXXXXXX`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let compact: String =
            normalize_digits(input).chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '\u{200c}')).collect();
        let national = if let Some(rest) = compact.strip_prefix("+98") {
            format!("0{rest}")
        } else if let Some(rest) = compact.strip_prefix("0098") {
            format!("0{rest}")
        } else if compact.len() == 12 && compact.starts_with("989") {
            format!("0{}", &compact[2..])
        } else if compact.len() == 10 && compact.starts_with('9') {
            format!("0{compact}")
        } else {
            compact
        };
        if national.len() != 11 || !national.starts_with("09") || !national.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "mobile",
                "mobile_format",
                "mobile must be an Iranian mobile number such as 09121234567",
            ));
        }
        Ok(Self(national))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Reads a stored mobile (a database column), with [`Mobile::parse`]'s rules.
impl TryFrom<String> for Mobile {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({}*****{})", &self.0[..4], &self.0[9..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_every_accepted_form() {
        for input in [
            "09121234567",
            "+989121234567",
            "00989121234567",
            "989121234567",
            "9121234567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "٠٩١٢١٢٣٤٥٦٧",
            "+98 912 123 4567",
            "0912-123-4567",
        ] {
            assert_eq!(Mobile::parse(input).unwrap().as_str(), "09121234567", "{input}");
        }
    }

    #[test]
    fn rejects_landlines_short_numbers_and_letters() {
        for input in ["02112345678", "0912123456", "091212345678", "09a21234567", "", "+1 202 555 0100"] {
            assert_eq!(Mobile::parse(input).unwrap_err().code, "mobile_format", "{input}");
        }
    }
}

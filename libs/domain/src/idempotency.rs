use crate::error::FieldError;

/// A client's `Idempotency-Key`: 1–255 visible ASCII characters (a UUID is typical).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let key = input.trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                "Idempotency-Key",
                "idempotency_key_invalid",
                "Idempotency-Key must be 1–255 visible ASCII characters",
            ));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert_eq!(
            IdempotencyKey::parse(" 7c9e6679-7425-40de-944b-e07fc1f90ae7 ").unwrap().as_str(),
            "7c9e6679-7425-40de-944b-e07fc1f90ae7"
        );
        for bad in ["", "a b", "کلید", &"k".repeat(256)] {
            assert_eq!(IdempotencyKey::parse(bad).unwrap_err().code, "idempotency_key_invalid", "{bad}");
        }
    }
}

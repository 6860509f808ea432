//! What every form shares: the values the user typed (kept after an error),
//! Persian errors tied to their fields, CSRF and idempotency keys.
use std::collections::BTreeMap;

use axum::http::HeaderMap;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::fa;
use crate::intake::Refusal;

/// An error linked from the summary at the top of the page to its field.
#[derive(Debug, Clone)]
pub(crate) struct ErrorLink {
    pub(crate) field: String,
    pub(crate) message: &'static str,
}

/// A form as the page shows it: typed values and, after a refusal, the errors.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, &'static str>,
    pub(crate) summary: Vec<ErrorLink>,
    /// a refusal of the whole request, shown above the form
    pub(crate) banner: Option<&'static str>,
    /// carried in a hidden field so a double click or a retry files once
    pub(crate) idempotency_key: String,
    /// attempts left, where a form counts them (one-time codes)
    pub(crate) remaining: Option<String>,
}

impl Form {
    pub(crate) fn new() -> Self {
        Self { idempotency_key: new_idempotency_key(), ..Self::default() }
    }

    /// The form as submitted, keeping everything typed (and its idempotency key).
    pub(crate) fn submitted(values: BTreeMap<String, String>) -> Self {
        let idempotency_key =
            values.get("idempotency_key").filter(|k| !k.is_empty()).cloned().unwrap_or_else(new_idempotency_key);
        Self { values, idempotency_key, ..Self::default() }
    }

    pub(crate) fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub(crate) fn is(&self, name: &str, value: &str) -> bool {
        self.value(name) == value
    }

    pub(crate) fn error(&self, name: &str) -> Option<&'static str> {
        self.errors.get(name).copied()
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.summary.is_empty() || self.banner.is_some()
    }

    /// Marks `field` wrong with the sentence for `code` (the first error of a field wins).
    pub(crate) fn reject(&mut self, field: &str, code: &str) {
        self.reject_with(field, fa::field_message(code));
    }

    /// Marks `field` wrong with this sentence (the first error of a field wins).
    pub(crate) fn reject_with(&mut self, field: &str, message: &'static str) {
        if self.errors.contains_key(field) {
            return;
        }
        self.errors.insert(field.to_owned(), message);
        self.summary.push(ErrorLink { field: field.to_owned(), message });
    }

    /// Takes intake's refusal apart: field errors beside their fields (`to_field`
    /// maps an API field to this form's, e.g. `attachments[0].size` → `attachment`),
    /// anything else as a banner. A fresh idempotency key follows, because the
    /// corrected form is a different request.
    pub(crate) fn refused(&mut self, refusal: &Refusal, to_field: impl Fn(&str) -> String) {
        match refusal {
            Refusal::Problem { fields, .. } if !fields.is_empty() => {
                for (field, code) in fields {
                    self.reject(&to_field(field), code);
                }
            }
            other => self.banner = Some(fa::problem_message(other.code())),
        }
        self.idempotency_key = new_idempotency_key();
    }
}

/// 128 random bits, URL-safe.
pub(crate) fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Same bytes, compared in constant time.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A request another site's page made the browser send (`Sec-Fetch-Site`), refused before any CSRF token is read.
pub(crate) fn is_cross_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site")
}

/// The value of cookie `name`.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_puts_each_field_error_beside_its_field_and_renews_the_key() {
        let mut form = Form::submitted(BTreeMap::from([
            ("text".to_owned(), "کوتاه".to_owned()),
            ("idempotency_key".to_owned(), "k1".to_owned()),
        ]));
        let refusal = Refusal::Problem {
            status: 400,
            code: "validation_failed".into(),
            fields: vec![("text".into(), "text_too_short".into()), ("mobile".into(), "mobile_format".into())],
        };
        form.refused(&refusal, str::to_owned);
        assert_eq!(form.error("text"), Some(fa::field_message("text_too_short")));
        assert_eq!(form.summary.len(), 2);
        assert_eq!(form.value("text"), "کوتاه", "what the user typed is kept");
        assert_ne!(form.idempotency_key, "k1");
        assert!(form.banner.is_none());
    }

    #[test]
    fn a_refusal_without_fields_is_a_banner() {
        let mut form = Form::new();
        form.refused(&Refusal::Unreachable("down".into()), str::to_owned);
        assert_eq!(form.banner, Some(fa::problem_message("unavailable")));
    }

    #[test]
    fn secrets_compare_whole_and_never_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, "a-x=1; a=2".parse().unwrap());
        assert_eq!(cookie(&headers, "a"), Some("2"));
        assert_eq!(cookie(&headers, "b"), None);
    }
}

//! Persian SMS texts. Kept short: one SMS page is 70 Persian characters.
use chrono::DateTime;
use pasokh_domain::format_jalali;
use serde::{Deserialize, Serialize};

/// What a delivery says; stored in the ledger so a retry sends the same words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub(crate) enum Message {
    Submitted { tracking_code: String },
    Routed { tracking_code: String, organisation: String, resolution_due_unix: i64 },
}

impl Message {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Message::Submitted { .. } => "submitted",
            Message::Routed { .. } => "routed",
        }
    }

    pub(crate) fn render(&self) -> String {
        match self {
            Message::Submitted { tracking_code } => {
                format!("پاسخ: درخواست شما ثبت شد.\nکد رهگیری: {tracking_code}")
            }
            Message::Routed { tracking_code, organisation, resolution_due_unix } => {
                let organisation = pasokh_domain::organisations()
                    .iter()
                    .find(|o| o.code == *organisation)
                    .map_or(organisation.as_str(), |o| o.name_fa.as_str());
                let due = DateTime::from_timestamp(*resolution_due_unix, 0)
                    .map(|d| format!("\nمهلت پاسخ: {}", format_jalali(d.date_naive())))
                    .unwrap_or_default();
                format!("پاسخ: درخواست {tracking_code} به {organisation} ارجاع شد.{due}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_text_names_the_organisation_in_persian_and_the_jalali_due_date() {
        let text = Message::Routed {
            tracking_code: "239618233159".into(),
            organisation: "sso".into(),
            resolution_due_unix: 1_797_445_799, // 2026-12-16T20:29:59Z
        }
        .render();
        assert!(text.contains("سازمان تأمین اجتماعی"), "{text}");
        assert!(text.contains("۱۴۰۵/۰۹/۲۵"), "{text}");
        assert!(text.contains("239618233159"));
    }

    #[test]
    fn stored_params_round_trip() {
        let message = Message::Submitted { tracking_code: "1".into() };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["template"], "submitted");
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), message);
    }
}

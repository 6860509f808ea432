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
    InfoRequested { tracking_code: String, question: String },
    Responded { tracking_code: String, answer: String },
    Interim { tracking_code: String, reason: String },
    Merged { tracking_code: String, original: String },
    Rejected { tracking_code: String, reason: String },
    Appealed { tracking_code: String },
}

/// Officers' words are cut to keep an SMS within a few pages; the full text is on the status page.
fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX { text.to_owned() } else { text.chars().take(MAX).collect::<String>() + "…" }
}

impl Message {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Message::Submitted { .. } => "submitted",
            Message::Routed { .. } => "routed",
            Message::InfoRequested { .. } => "info_requested",
            Message::Responded { .. } => "responded",
            Message::Interim { .. } => "interim",
            Message::Merged { .. } => "merged",
            Message::Rejected { .. } => "rejected",
            Message::Appealed { .. } => "appealed",
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
                    .map(|d| format!("\nمهلت پاسخ: {}", format_jalali(pasokh_domain::tehran_date(d))))
                    .unwrap_or_default();
                format!("پاسخ: درخواست {tracking_code} به {organisation} ارجاع شد.{due}")
            }
            Message::InfoRequested { tracking_code, question } => format!(
                "پاسخ: برای رسیدگی به درخواست {tracking_code} این اطلاعات لازم است:\n{}\nپاسخ را با کد رهگیری و شماره همراه خود ثبت کنید.",
                excerpt(question)
            ),
            Message::Responded { tracking_code, answer } => format!(
                "پاسخ: به درخواست {tracking_code} پاسخ داده شد:\n{}\nلطفاً به این پاسخ از ۱ تا ۵ امتیاز دهید.",
                excerpt(answer)
            ),
            Message::Interim { tracking_code, reason } => {
                format!("پاسخ: رسیدگی به درخواست {tracking_code} بیش از مهلت طول می‌کشد.\n{}", excerpt(reason))
            }
            Message::Merged { tracking_code, original } => format!(
                "پاسخ: درخواست {tracking_code} تکرار درخواست قبلی شماست و همراه آن با کد رهگیری {original} رسیدگی می‌شود."
            ),
            Message::Rejected { tracking_code, reason } => {
                format!("پاسخ: درخواست {tracking_code} قابل رسیدگی نیست:\n{}", excerpt(reason))
            }
            Message::Appealed { tracking_code } => {
                format!("پاسخ: اعتراض شما به پاسخ درخواست {tracking_code} ثبت و به مدیرکل استان ارجاع شد.")
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
    fn officers_words_reach_the_citizen_cut_to_a_few_sms_pages() {
        let long = "الف".repeat(200);
        let text = Message::Responded { tracking_code: "239618233159".into(), answer: long }.render();
        assert!(text.contains("239618233159") && text.contains('…'), "{text}");
        assert!(text.chars().count() < 420, "{}", text.chars().count());
        let merged = Message::Merged { tracking_code: "239618233159".into(), original: "231111111116".into() }.render();
        assert!(merged.contains("231111111116"), "{merged}");
    }

    #[test]
    fn stored_params_round_trip() {
        let message = Message::Submitted { tracking_code: "1".into() };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["template"], "submitted");
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), message);
    }
}

//! What people read: Persian digits, Jalali dates, and a Persian sentence for
//! every error code the APIs answer with.
use chrono::{DateTime, Utc};
use pasokh_domain::{JalaliDate, tehran_date};

/// ASCII digits as Persian ones, for display only; inputs accept both.
pub(crate) use pasokh_domain::persian_digits as digits;

/// An organisation's Persian name; its code when the catalogue does not know it.
pub(crate) fn organisation(code: &str) -> String {
    pasokh_domain::organisations()
        .iter()
        .find(|o| o.code == code)
        .map_or_else(|| code.to_owned(), |o| o.name_fa.clone())
}

/// A petition's category and organisation as people read them: the category's Persian name (its
/// code when unknown) and the organisation routing named, or else the category's own.
pub(crate) fn category_and_organisation(category: &str, organisation: Option<&str>) -> (String, String) {
    let known = pasokh_domain::CategoryCode::parse(category).ok().map(|c| c.category());
    let organisation = match (organisation, known) {
        (Some(code), _) => self::organisation(code),
        (None, Some(category)) => self::organisation(&category.organisation),
        (None, None) => String::new(),
    };
    (known.map_or_else(|| category.to_owned(), |c| c.name_fa.clone()), organisation)
}

/// A Jalali date in Tehran's day, with Persian digits: `۱۴ آذر ۱۴۰۵`.
pub(crate) fn date(at: DateTime<Utc>) -> String {
    let jalali = JalaliDate::from_gregorian(tehran_date(at));
    digits(&format!("{} {} {}", jalali.day, jalali.month_name_fa(), jalali.year))
}

/// The date and Tehran's clock time: `۱۴ آذر ۱۴۰۵، ساعت ۰۹:۳۰`.
pub(crate) fn date_time(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&pasokh_domain::tehran());
    format!("{}، ساعت {}", date(at), digits(&local.format("%H:%M").to_string()))
}

/// The Persian sentence shown beside a field for an API's error code. Unknown
/// codes get a general sentence, never the English message.
pub(crate) fn field_message(code: &str) -> &'static str {
    match code {
        "field_missing" => "این بخش را پر کنید.",
        "national_id_format" => "کد ملی باید ۱۰ رقم باشد.",
        "national_id_repeated" => "کد ملی نمی‌تواند یک رقم تکراری باشد.",
        "national_id_checksum" => "کد ملی درست نیست؛ رقم‌ها را دوباره بررسی کنید.",
        "mobile_format" => "شمارهٔ همراه باید مانند ۰۹۱۲۱۲۳۴۵۶۷ باشد.",
        "province_unknown" | "province_mismatch" => "استان را از فهرست انتخاب کنید.",
        "category_unknown" => "موضوع را از فهرست انتخاب کنید.",
        "kind_unknown" => "نوع درخواست را انتخاب کنید.",
        "text_too_short" => "متن کوتاه است؛ کمی بیشتر توضیح دهید.",
        "text_too_long" => "متن بیش از اندازه بلند است؛ کوتاه‌ترش کنید.",
        "text_length" => "طول متن مناسب نیست.",
        "county_invalid" => "نام شهرستان را با حروف بنویسید.",
        "attachments_too_many" => "حداکثر ۱۰ پیوست می‌توانید بفرستید.",
        "attachment_name_invalid" => "نام پیوست درست نیست.",
        "attachment_type_unsupported" => "این نوع پرونده پذیرفته نمی‌شود (PDF، تصویر یا صدا).",
        "attachment_size_invalid" => "حجم پیوست باید بیشتر از صفر و کمتر از ۲۰ مگابایت باشد.",
        "attachment_checksum_invalid" => "اطلاعات پیوست درست نیست.",
        "tracking_code_format" => "کد رهگیری ۱۲ رقم است.",
        "tracking_code_checksum" => "کد رهگیری درست نیست؛ رقم‌ها را دوباره بررسی کنید.",
        "score_out_of_range" => "امتیاز را از ۱ تا ۵ انتخاب کنید.",
        "timestamp_invalid" => "تاریخ و ساعت درست نیست.",
        "event_window_invalid" => "پایان رویداد باید پس از آغاز آن و حداکثر ۳۱ روز بعد باشد.",
        "organisation_unknown" => "دستگاه را از فهرست انتخاب کنید.",
        "date_invalid" => "تاریخ را به شکل ۱۴۰۵/۰۹/۱۴ بنویسید.",
        "date_in_past" => "این تاریخ گذشته است.",
        "code_format" | "code_wrong" => "کد نادرست است؛ کدی را که پیامک شد دوباره بنویسید.",
        "code_expired" => "این کد منقضی شده است؛ کد تازه‌ای بگیرید.",
        "cases_none_selected" => "دست‌کم یک پرونده را انتخاب کنید.",
        "template_unknown" => "متن نمونه را از فهرست انتخاب کنید.",
        "period_unknown" | "period_invalid" => "بازه را از فهرست انتخاب کنید.",
        "code_locked" => "این کد پس از چند تلاش نادرست قفل شد؛ کد تازه‌ای بگیرید.",
        _ => "مقدار این بخش پذیرفته نشد.",
    }
}

/// The Persian sentence at the top of a page for a request-level problem code.
pub(crate) fn problem_message(code: &str) -> &'static str {
    match code {
        "not_found" => "درخواستی با این کد رهگیری و شمارهٔ همراه پیدا نشد.",
        "rate_limited" => "درخواست‌های زیادی فرستاده شد؛ چند دقیقهٔ دیگر دوباره تلاش کنید.",
        "reply_not_requested" => "برای این درخواست پرسشی از شما نشده است.",
        "rating_not_open" => "هنوز پاسخی برای امتیاز دادن داده نشده است.",
        "already_rated" => "به این پاسخ پیش‌تر امتیاز داده‌اید.",
        "desk_event_closed" => "این میز خدمت اکنون باز نیست.",
        "forbidden" => "شما اجازهٔ این کار را ندارید.",
        "unauthenticated" => "نشست شما پایان یافته است؛ دوباره وارد شوید.",
        "idempotency_key_reused" => "این فرم پیش‌تر با اطلاعات دیگری فرستاده شده است؛ صفحه را تازه کنید.",
        "overloaded" | "timeout" | "unavailable" => "سامانه اکنون پاسخ نمی‌دهد؛ چیزی ثبت نشد. لطفاً دوباره تلاش کنید.",
        "csrf" => "فرم منقضی شده است؛ دوباره بفرستید.",
        _ => "درخواست انجام نشد؛ دوباره تلاش کنید.",
    }
}

/// The petition kinds in plain Persian, in the order the form offers them.
pub(crate) const KINDS: &[(&str, &str)] = &[
    ("request", "درخواست"),
    ("complaint", "شکایت"),
    ("question", "پرسش"),
    ("criticism", "انتقاد"),
    ("suggestion", "پیشنهاد"),
    ("idea", "ایده"),
    ("appreciation", "قدردانی"),
];

/// The rating scale, worst first.
pub(crate) const SCORES: &[(&str, &str)] =
    &[("1", "۱: خیلی بد"), ("2", "۲: بد"), ("3", "۳: متوسط"), ("4", "۴: خوب"), ("5", "۵: خیلی خوب")];

/// How a petition reached us, in Persian.
pub(crate) fn channel(code: &str) -> &'static str {
    match code {
        "web" => "وبگاه",
        "desk" => "میز خدمت حضوری",
        "phone" => "تلفن",
        "letter" => "نامه",
        "open311" => "سامانهٔ شهری (Open311)",
        "partner" => "سامانهٔ همکار",
        _ => "نامشخص",
    }
}

/// A line of a case's history, as officers read it.
pub(crate) fn history_action(action: &str) -> String {
    let label = match action {
        "submitted" => "ثبت درخواست",
        "routed" => "ارجاع به واحد",
        "acknowledged" => "تأیید دریافت",
        "started" => "آغاز رسیدگی",
        "asked for information" => "درخواست اطلاعات از شهروند",
        "given information" | "citizen replied" => "پاسخ شهروند",
        "responded to" => "پاسخ به شهروند",
        "expected date set" | "expected_date_set" => "تعیین تاریخ پاسخ",
        "referred" => "ارجاع",
        "escalated" => "ارجاع به مقام بالاتر",
        "closed" => "بستن پرونده",
        "closed on the spot" | "closed_on_spot" => "پاسخ در محل",
        "reopened" => "بازگشایی",
        "merged" => "ادغام با پروندهٔ دیگر",
        "duplicate joined" => "پیوستن درخواست تکراری",
        "rejected" => "رد درخواست",
        "rated" => "امتیاز شهروند",
        "sla alert" | "sla_alert" | "warned" | "breached" => "هشدار مهلت",
        _ => return action.to_owned(),
    };
    label.to_owned()
}

/// Why a case is rejected, in the order the form offers them.
pub(crate) const REJECT_REASONS: &[(&str, &str)] = &[
    ("out_of_scope", "خارج از حوزهٔ وظایف"),
    ("not_enough_information", "اطلاعات کافی نیست"),
    ("withdrawn", "انصراف شهروند"),
    ("unlawful_request", "درخواست خلاف قانون"),
    ("other", "دلیل دیگر"),
];

/// The Persian sentence beside a case action's field for routing's code.
pub(crate) fn case_field_message(code: &str) -> &'static str {
    match code {
        "message_required" => "متنی بنویسید که شهروند بخواند.",
        "message_too_long" => "متن بیش از ۱۰۰۰ نویسه است؛ کوتاه‌ترش کنید.",
        "date_invalid" => "تاریخ را به شکل ۱۴۰۵/۰۹/۳۰ بنویسید.",
        "date_in_past" => "این تاریخ گذشته است.",
        "interim_reason_required" | "reason_required" => "چون تاریخ پس از مهلت است، دلیل را برای شهروند بنویسید.",
        "unit_unknown" => "واحد را از فهرست انتخاب کنید.",
        "unit_same" => "پرونده هم‌اکنون در همین واحد است.",
        "reason_code_unknown" | "reason_unknown" => "دلیل رد را از فهرست انتخاب کنید.",
        "merge_into_itself" => "پرونده را نمی‌توان با خودش ادغام کرد.",
        "petition_id_invalid" => "پرونده را از فهرست انتخاب کنید.",
        other => field_message(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_jalali_in_tehran_with_persian_digits() {
        // 21:00 UTC on 4 December is 00:30 on 14 Azar 1405 in Tehran
        let at = DateTime::parse_from_rfc3339("2026-12-04T21:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(date(at), "۱۴ آذر ۱۴۰۵");
        assert_eq!(date_time(at), "۱۴ آذر ۱۴۰۵، ساعت ۰۰:۳۰");
    }

    #[test]
    fn every_kind_of_the_domain_has_a_persian_label() {
        for kind in pasokh_domain::PetitionKind::ALL {
            assert!(KINDS.iter().any(|(code, _)| *code == kind.as_str()), "{}", kind.as_str());
        }
        assert_eq!(KINDS.len(), pasokh_domain::PetitionKind::ALL.len());
    }

    #[test]
    fn every_field_code_of_the_api_has_its_own_sentence() {
        let general = field_message("no-such-code");
        for code in
            ["national_id_checksum", "mobile_format", "category_unknown", "text_too_short", "tracking_code_checksum"]
        {
            assert_ne!(field_message(code), general, "{code}");
        }
    }
}

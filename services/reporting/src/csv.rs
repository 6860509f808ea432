//! CSV exports: UTF-8 with a byte-order mark so Excel reads Persian, RFC 4180
//! quoting, Jalali dates beside the ISO ones, headers in English or Persian.
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use pasokh_domain::{JalaliDate, tehran_date};
use sqlx::PgPool;
use tokio::sync::mpsc::Sender;

use crate::facts::Fact;
use crate::period::Period;
use crate::query::Scope;
use crate::report::{RankingDocument, RankingEntry, category_fa, organisation_fa, province_fa};

pub(crate) const BOM: &str = "\u{feff}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderLanguage {
    English,
    Persian,
}

/// One field, quoted when it holds a separator, a quote or a line break. A leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

fn line(fields: &[String]) -> String {
    let mut out = fields.iter().map(|f| field(f)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

fn header(columns: &[(&str, &str)], language: HeaderLanguage) -> String {
    let names: Vec<String> = columns
        .iter()
        .map(|(en, fa)| if language == HeaderLanguage::Persian { (*fa).to_owned() } else { (*en).to_owned() })
        .collect();
    line(&names)
}

/// `1405/11/12` in Latin digits (a spreadsheet can sort it), Tehran's day.
fn jalali(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| JalaliDate::from_gregorian(tehran_date(t)).to_string()).unwrap_or_default()
}

fn iso(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn share(value: Option<f64>) -> String {
    value.map(|v| format!("{:.4}", v)).unwrap_or_default()
}

const INDICATOR_COLUMNS: [(&str, &str); 17] = [
    ("code", "کد"),
    ("name", "نام"),
    ("peer_group", "گروه همتا"),
    ("rank", "رتبه"),
    ("responsiveness_index", "شاخص پاسخگویی"),
    ("volume", "تعداد درخواست"),
    ("backlog", "در جریان"),
    ("first_response_on_time", "نخستین پاسخ به‌موقع"),
    ("resolution_on_time", "رسیدگی به‌موقع"),
    ("median_working_days_to_resolution", "میانه روز کاری تا رسیدگی"),
    ("p90_working_days_to_resolution", "صدک ۹۰ روز کاری تا رسیدگی"),
    ("breaches", "تأخیر از مهلت"),
    ("escalations", "ارجاع به مقام بالاتر"),
    ("reopen_rate", "نرخ بازگشایی"),
    ("satisfaction_mean", "میانگین رضایت"),
    ("satisfaction_high_share", "سهم رضایت ۴ و ۵"),
    ("repeat_petition_rate", "نرخ درخواست تکراری"),
];

fn indicator_row(entry: &RankingEntry, group: &str) -> String {
    let i = &entry.indicators;
    line(&[
        entry.code.clone(),
        entry.name_fa.clone(),
        group.to_owned(),
        entry.rank.map(|r| r.to_string()).unwrap_or_default(),
        entry.responsiveness_index.map(|s| format!("{s:.1}")).unwrap_or_default(),
        i.volume.to_string(),
        i.backlog.to_string(),
        share(i.first_response_on_time),
        share(i.resolution_on_time),
        i.median_working_days_to_resolution.map(|d| d.to_string()).unwrap_or_default(),
        i.p90_working_days_to_resolution.map(|d| d.to_string()).unwrap_or_default(),
        i.breaches.to_string(),
        i.escalations.to_string(),
        share(i.reopen_rate),
        i.satisfaction_mean.map(|m| format!("{m:.2}")).unwrap_or_default(),
        share(i.satisfaction_high_share),
        share(i.repeat_petition_rate),
    ])
}

/// The ranking's entries as indicator rows, ranked groups first.
pub(crate) fn indicators(ranking: &RankingDocument, language: HeaderLanguage) -> String {
    let mut out = String::from(BOM);
    out.push_str(&header(&INDICATOR_COLUMNS, language));
    for group in &ranking.groups {
        for entry in &group.entries {
            out.push_str(&indicator_row(entry, &group.name));
        }
    }
    for entry in &ranking.unranked {
        out.push_str(&indicator_row(entry, ""));
    }
    out
}

const FACT_COLUMNS: [(&str, &str); 28] = [
    ("tracking_code", "کد رهگیری"),
    ("province", "استان"),
    ("county", "شهرستان"),
    ("organisation", "دستگاه"),
    ("unit", "واحد"),
    ("category", "موضوع"),
    ("kind", "نوع"),
    ("channel", "مجرای ثبت"),
    ("desk_event_id", "میز خدمت"),
    ("status", "وضعیت"),
    ("submitted_jalali", "تاریخ ثبت"),
    ("submitted_at", "زمان ثبت"),
    ("first_response_jalali", "تاریخ نخستین پاسخ"),
    ("resolved_jalali", "تاریخ رسیدگی"),
    ("closed_jalali", "تاریخ بستن"),
    ("first_response_due_jalali", "مهلت نخستین پاسخ"),
    ("resolution_due_jalali", "مهلت رسیدگی"),
    ("first_response_met", "نخستین پاسخ در مهلت"),
    ("resolution_met", "رسیدگی در مهلت"),
    ("breaches", "تأخیر از مهلت"),
    ("escalations", "ارجاع به مقام بالاتر"),
    ("referrals", "ارجاع به واحد دیگر"),
    ("info_requests", "درخواست اطلاعات"),
    ("reopened", "بازگشایی"),
    ("rating", "امتیاز"),
    ("rating_has_comment", "نظر دارد"),
    ("merged_into", "ادغام در"),
    ("resolved_on_spot", "رسیدگی در محل"),
];

fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "1".into(),
        Some(false) => "0".into(),
        None => String::new(),
    }
}

fn fact_row(f: &Fact, language: HeaderLanguage) -> String {
    let named = |code: &str, fa: fn(&str) -> String| {
        if language == HeaderLanguage::Persian { fa(code) } else { code.to_owned() }
    };
    let met = |decided: bool, breached: bool| decided.then_some(!breached);
    line(&[
        f.tracking_code.clone(),
        named(&f.province, province_fa),
        f.county.clone(),
        named(&f.organisation, organisation_fa),
        f.unit.clone(),
        named(&f.category, category_fa),
        f.kind.clone(),
        f.channel.clone(),
        f.desk_event_id.clone(),
        if language == HeaderLanguage::Persian { f.status().label_fa().to_owned() } else { f.status.clone() },
        jalali(f.submitted_at),
        iso(f.submitted_at),
        jalali(f.first_response_at),
        jalali(f.resolved_at),
        jalali(f.closed_at),
        jalali(f.first_response_due),
        jalali(f.resolution_due),
        yes_no(met(f.first_response_at.is_some() || f.first_response_breached, f.first_response_breached)),
        yes_no(met(f.resolved_at.is_some() || f.resolution_breached, f.resolution_breached)),
        f.breaches.to_string(),
        f.escalations.to_string(),
        f.referrals.to_string(),
        f.info_requests.to_string(),
        f.reopened.to_string(),
        f.rating.map(|r| r.to_string()).unwrap_or_default(),
        yes_no(f.rating.map(|_| f.rating_has_comment)),
        f.merged_into.map(|m| m.to_string()).unwrap_or_default(),
        yes_no(Some(f.resolved_on_spot)),
    ])
}

/// Streams the facts of the scope submitted in the period, a chunk of rows at a time; the
/// receiver going away (the client left) stops the query.
pub(crate) async fn stream_facts(
    pool: PgPool,
    scope: Scope,
    period: Period,
    language: HeaderLanguage,
    sender: Sender<Result<Bytes, std::io::Error>>,
) {
    let from = pasokh_domain::tehran().from_local_datetime(&period.from.and_hms_opt(0, 0, 0).unwrap_or_default());
    let to = pasokh_domain::tehran()
        .from_local_datetime(&(period.to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default());
    use chrono::TimeZone;
    let (Some(from), Some(to)) = (from.single(), to.single()) else { return };
    let mut chunk = String::from(BOM);
    chunk.push_str(&header(&FACT_COLUMNS, language));
    let mut rows = sqlx::query_as::<_, Fact>(
        "SELECT * FROM case_facts WHERE submitted_at >= $1 AND submitted_at < $2 \
         AND ($3::text IS NULL OR province = $3) AND ($4::text IS NULL OR organisation = $4) ORDER BY submitted_at",
    )
    .bind(from.with_timezone(&Utc))
    .bind(to.with_timezone(&Utc))
    .bind(scope.province)
    .bind(scope.organisation)
    .fetch(&pool);
    loop {
        match rows.try_next().await {
            Ok(Some(fact)) => {
                chunk.push_str(&fact_row(&fact, language));
                if chunk.len() >= 64 * 1024 && sender.send(Ok(Bytes::from(std::mem::take(&mut chunk)))).await.is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(error) => {
                tracing::error!(%error, "facts export failed mid-stream");
                let _ = sender.send(Err(std::io::Error::other("the export failed; download it again"))).await;
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = sender.send(Ok(Bytes::from(chunk))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_never_formulas() {
        assert_eq!(field("تهران"), "تهران");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert!(line(&["x".into(), "y".into()]).ends_with("\r\n"));
    }
}

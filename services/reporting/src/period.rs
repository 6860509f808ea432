//! Reporting periods in the Jalali calendar and Tehran's day.
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use pasokh_domain::{FieldError, JalaliDate, jalali_to_gregorian, parse_date, tehran_date};
use serde::Serialize;

use crate::rollup::jalali_month_start;

/// The kinds of period a report is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PeriodKind {
    Day,
    /// Saturday to Friday, the Iranian week
    Week,
    Month,
    /// three Jalali months: spring, summer, autumn, winter
    Quarter,
    Year,
    /// `from` … `to` as asked
    Custom,
    /// the ten days of Fajr, 12–22 Bahman, the programme's national desk event
    Fajr,
}

impl PeriodKind {
    fn parse(input: &str) -> Result<Self, FieldError> {
        Ok(match input.trim() {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" | "" => Self::Month,
            "quarter" => Self::Quarter,
            "year" => Self::Year,
            "custom" => Self::Custom,
            "fajr" => Self::Fajr,
            _ => {
                return Err(FieldError::new(
                    "period",
                    "period_unknown",
                    "period must be one of day, week, month, quarter, year, custom, fajr",
                ));
            }
        })
    }
}

/// Calendar days `from` … `to`, both included, in Tehran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Period {
    pub kind: PeriodKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Longest custom range: two Jalali years and a little.
const MAX_DAYS: i64 = 800;

fn date_field(field: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(raw) => parse_date(raw)
            .map(Some)
            .ok_or_else(|| FieldError::new(field, "date_invalid", "write a date as 1405/11/12 (Jalali) or 2027-02-01")),
    }
}

/// The Saturday that starts the Iranian week `date` falls in.
fn week_start(date: NaiveDate) -> NaiveDate {
    let back = (date.weekday().num_days_from_monday() + 7 - Weekday::Sat.num_days_from_monday()) % 7;
    date - Duration::days(i64::from(back))
}

fn next_month_start(start: NaiveDate) -> NaiveDate {
    jalali_month_start(start + Duration::days(32))
}

impl Period {
    /// The period of `kind` containing `date` (today in Tehran when absent), or `from`–`to` for custom.
    pub(crate) fn parse(
        kind: Option<&str>,
        date: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Self, FieldError> {
        let kind = PeriodKind::parse(kind.unwrap_or_default())?;
        let today = tehran_date(Utc::now());
        let date = date_field("date", date)?.unwrap_or(today);
        let (from, to) = match kind {
            PeriodKind::Day => (date, date),
            PeriodKind::Week => {
                let start = week_start(date);
                (start, start + Duration::days(6))
            }
            PeriodKind::Month => {
                let start = jalali_month_start(date);
                (start, next_month_start(start) - Duration::days(1))
            }
            PeriodKind::Quarter => {
                let j = JalaliDate::from_gregorian(date);
                let first = (j.month - 1) / 3 * 3 + 1;
                let start = jalali_to_gregorian(j.year, first, 1).unwrap_or(date);
                let end = if first == 10 {
                    jalali_to_gregorian(j.year + 1, 1, 1)
                } else {
                    jalali_to_gregorian(j.year, first + 3, 1)
                };
                (start, end.unwrap_or(date) - Duration::days(1))
            }
            PeriodKind::Year => {
                let j = JalaliDate::from_gregorian(date);
                let start = jalali_to_gregorian(j.year, 1, 1).unwrap_or(date);
                let end = jalali_to_gregorian(j.year + 1, 1, 1).unwrap_or(date);
                (start, end - Duration::days(1))
            }
            PeriodKind::Fajr => {
                // the decade of the year `date` falls in (Jalali year)
                let year = JalaliDate::from_gregorian(date).year;
                let start = jalali_to_gregorian(year, 11, 12).unwrap_or(date);
                let end = jalali_to_gregorian(year, 11, 22).unwrap_or(date);
                (start, end)
            }
            PeriodKind::Custom => {
                let from = date_field("from", from)?
                    .ok_or_else(|| FieldError::new("from", "field_missing", "a custom period needs from and to"))?;
                let to = date_field("to", to)?
                    .ok_or_else(|| FieldError::new("to", "field_missing", "a custom period needs from and to"))?;
                if to < from {
                    return Err(FieldError::new("to", "period_reversed", "to must not be before from"));
                }
                if (to - from).num_days() > MAX_DAYS {
                    return Err(FieldError::new("to", "period_too_long", "a custom period spans at most 800 days"));
                }
                (from, to)
            }
        };
        Ok(Self { kind, from, to })
    }

    /// The period as whole Jalali months (read from monthly rollups) and the remaining days.
    pub(crate) fn split(&self) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
        let (mut months, mut days) = (Vec::new(), Vec::new());
        let mut cursor = self.from;
        while cursor <= self.to {
            let start = jalali_month_start(cursor);
            let end = next_month_start(start) - Duration::days(1);
            if start == cursor && end <= self.to {
                months.push(start);
                cursor = end + Duration::days(1);
            } else {
                let last = end.min(self.to);
                while cursor <= last {
                    days.push(cursor);
                    cursor += Duration::days(1);
                }
            }
        }
        (months, days)
    }

    /// `1405/11/12 – 1405/11/22`, Persian digits.
    pub(crate) fn label_fa(&self) -> String {
        format!("{} تا {}", pasokh_domain::format_jalali(self.from), pasokh_domain::format_jalali(self.to))
    }
}

/// How a trend is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Bucket {
    Day,
    Week,
    Month,
}

impl Bucket {
    pub(crate) fn parse(input: Option<&str>) -> Result<Self, FieldError> {
        match input.map(str::trim).unwrap_or("month") {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" | "" => Ok(Self::Month),
            _ => Err(FieldError::new("bucket", "bucket_unknown", "bucket must be day, week or month")),
        }
    }

    /// The first day of the bucket `date` falls in.
    pub(crate) fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => date,
            Self::Week => week_start(date),
            Self::Month => jalali_month_start(date),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(y: i32, m: u32, d: u32) -> NaiveDate {
        jalali_to_gregorian(y, m, d).unwrap()
    }

    #[test]
    fn presets_follow_the_jalali_calendar() {
        let fajr = Period::parse(Some("fajr"), Some("1405/11/15"), None, None).unwrap();
        assert_eq!((fajr.from, fajr.to), (j(1405, 11, 12), j(1405, 11, 22)));
        let month = Period::parse(Some("month"), Some("1405/12/10"), None, None).unwrap();
        assert_eq!((month.from, month.to), (j(1405, 12, 1), j(1405, 12, 29)), "Esfand 1405 has 29 days");
        let quarter = Period::parse(Some("quarter"), Some("1405/08/03"), None, None).unwrap();
        assert_eq!((quarter.from, quarter.to), (j(1405, 7, 1), j(1405, 9, 30)));
        let year = Period::parse(Some("year"), Some("1405/05/05"), None, None).unwrap();
        assert_eq!((year.from, year.to), (j(1405, 1, 1), j(1405, 12, 29)));
        let week = Period::parse(Some("week"), Some("2026-12-02"), None, None).unwrap();
        assert_eq!(week.from.weekday(), Weekday::Sat);
        assert_eq!(week.to.weekday(), Weekday::Fri);
    }

    #[test]
    fn a_period_splits_into_whole_months_and_days() {
        let p = Period::parse(Some("custom"), None, Some("1405/10/25"), Some("1405/12/03")).unwrap();
        let (months, days) = p.split();
        assert_eq!(months, vec![j(1405, 11, 1)]);
        assert_eq!(days.len(), 6 + 3, "25–30 Dey and 1–3 Esfand");
        let year = Period::parse(Some("year"), Some("1405/01/01"), None, None).unwrap();
        assert_eq!(year.split().0.len(), 12);
        assert!(year.split().1.is_empty());
    }

    #[test]
    fn bad_periods_name_their_field() {
        assert_eq!(Period::parse(Some("decade"), None, None, None).unwrap_err().field, "period");
        assert_eq!(Period::parse(Some("custom"), None, Some("1405/11/01"), None).unwrap_err().field, "to");
        assert_eq!(
            Period::parse(Some("custom"), None, Some("1405/11/10"), Some("1405/11/01")).unwrap_err().code,
            "period_reversed"
        );
        assert_eq!(Period::parse(Some("day"), Some("1405/13/01"), None, None).unwrap_err().field, "date");
    }
}

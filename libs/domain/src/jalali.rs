use chrono::{Datelike, NaiveDate};

/// A date in the Solar Hijri (Jalali) calendar, used wherever citizens and officers read a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct JalaliDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

const MONTHS_FA: [&str; 12] =
    ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"];

impl JalaliDate {
    /// Converts with the arithmetic algorithm of Borkowski as popularised by jalaali-js, exact for 1 to 3177 AP.
    pub fn from_gregorian(date: NaiveDate) -> Self {
        let (gy, gm, gd) = (date.year(), date.month() as i32, date.day() as i32);
        let g_d_m = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let gy2 = if gm > 2 { gy + 1 } else { gy };
        let mut days = 355666 + (365 * gy) + ((gy2 + 3) / 4) - ((gy2 + 99) / 100)
            + ((gy2 + 399) / 400)
            + gd
            + g_d_m[(gm - 1) as usize];
        let mut jy = -1595 + (33 * (days / 12053));
        days %= 12053;
        jy += 4 * (days / 1461);
        days %= 1461;
        if days > 365 {
            jy += (days - 1) / 365;
            days = (days - 1) % 365;
        }
        let (jm, jd) =
            if days < 186 { (1 + days / 31, 1 + days % 31) } else { (7 + (days - 186) / 30, 1 + (days - 186) % 30) };
        Self { year: jy, month: jm as u32, day: jd as u32 }
    }

    pub fn month_name_fa(self) -> &'static str {
        MONTHS_FA[(self.month - 1) as usize]
    }
}

impl std::fmt::Display for JalaliDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

/// Iran Standard Time, UTC+03:30; Iran has not observed daylight saving since 2022.
pub fn tehran() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(3 * 3600 + 1800).unwrap_or_else(|| unreachable!("+03:30 is a valid offset"))
}

/// The calendar day in Tehran of an instant: the day a citizen or officer in Iran would name,
/// e.g. for 22:00 UTC the next day.
pub fn tehran_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    at.with_timezone(&tehran()).date_naive()
}

/// `1405/09/08` with Persian digits, as printed on SMS and pages for citizens.
pub fn format_jalali(date: NaiveDate) -> String {
    crate::persian_digits(&JalaliDate::from_gregorian(date).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn known_dates_convert() {
        // Nowruz 1404 fell on 21 March 2025; Nowruz 1403 on 20 March 2024
        assert_eq!(JalaliDate::from_gregorian(g(2025, 3, 21)), JalaliDate { year: 1404, month: 1, day: 1 });
        assert_eq!(JalaliDate::from_gregorian(g(2024, 3, 20)), JalaliDate { year: 1403, month: 1, day: 1 });
        assert_eq!(JalaliDate::from_gregorian(g(2025, 3, 20)), JalaliDate { year: 1403, month: 12, day: 30 });
        // 22 Bahman, the anniversary of the revolution
        assert_eq!(JalaliDate::from_gregorian(g(2026, 2, 11)), JalaliDate { year: 1404, month: 11, day: 22 });
        assert_eq!(JalaliDate::from_gregorian(g(2026, 11, 29)), JalaliDate { year: 1405, month: 9, day: 8 });
    }

    #[test]
    fn the_tehran_day_starts_at_20_30_utc() {
        use chrono::TimeZone;
        let late = chrono::Utc.with_ymd_and_hms(2026, 11, 28, 21, 0, 0).unwrap();
        assert_eq!(tehran_date(late), g(2026, 11, 29));
        assert_eq!(tehran_date(late - chrono::Duration::hours(1)), g(2026, 11, 28));
    }

    #[test]
    fn formats_with_persian_digits() {
        assert_eq!(format_jalali(g(2026, 11, 29)), "۱۴۰۵/۰۹/۰۸");
        assert_eq!(JalaliDate::from_gregorian(g(2026, 11, 29)).month_name_fa(), "آذر");
    }
}

/// The Gregorian date of a Jalali date, or `None` if it does not exist.
pub fn jalali_to_gregorian(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) || day == 0 || day > 31 || (month > 6 && day > 30) {
        return None;
    }
    // Nowruz of the year, found by converting back, then count days forward
    let approx = NaiveDate::from_ymd_opt(year.checked_add(621)?, 3, 21)?;
    let start = (-3..=3)
        .filter_map(|offset| approx.checked_add_signed(chrono::Duration::days(offset)))
        .find(|d| JalaliDate::from_gregorian(*d) == JalaliDate { year, month: 1, day: 1 })?;
    let day_of_year = if month <= 6 { (month - 1) * 31 + day - 1 } else { 186 + (month - 7) * 30 + day - 1 };
    let date = start.checked_add_signed(chrono::Duration::days(i64::from(day_of_year)))?;
    (JalaliDate::from_gregorian(date) == JalaliDate { year, month, day }).then_some(date)
}

/// A date written `YYYY-MM-DD` (Gregorian) or `YYYY/MM/DD` (Jalali, as officers write it), in any
/// digits. Only four-digit years are dates anyone means (chrono would take `+262143-12-31`, and
/// the day after it overflows).
pub fn parse_date(input: &str) -> Option<NaiveDate> {
    let text = crate::normalize_digits(input.trim());
    let four_digit_year = |year: &str| year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
    if text.split('-').next().is_some_and(four_digit_year)
        && let Ok(date) = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
    {
        return Some(date);
    }
    if !text.split('/').next().is_some_and(four_digit_year) {
        return None;
    }
    let mut parts = text.split('/').map(|p| p.parse::<u32>().ok());
    match (parts.next()??, parts.next()??, parts.next()??, parts.next()) {
        (year, month, day, None) => jalali_to_gregorian(i32::try_from(year).ok()?, month, day),
        _ => None,
    }
}

#[cfg(test)]
mod reverse_tests {
    use super::*;

    #[test]
    fn absurd_years_are_no_dates_rather_than_a_panic() {
        for input in
            ["+262143-12-31", "262143-12-31", "4294967295/01/01", "2147483647/01/01", "99999-01-01", "-0001-01-01"]
        {
            assert_eq!(parse_date(input), None, "{input}");
        }
        assert_eq!(jalali_to_gregorian(i32::MAX, 1, 1), None);
        assert_eq!(parse_date("۱۴۰۵/۰۹/۰۸"), NaiveDate::from_ymd_opt(2026, 11, 29));
        assert_eq!(parse_date("2026-11-29"), NaiveDate::from_ymd_opt(2026, 11, 29));
    }

    #[test]
    fn jalali_dates_convert_back() {
        assert_eq!(jalali_to_gregorian(1405, 9, 8), NaiveDate::from_ymd_opt(2026, 11, 29));
        assert_eq!(jalali_to_gregorian(1404, 1, 1), NaiveDate::from_ymd_opt(2025, 3, 21));
        assert_eq!(jalali_to_gregorian(1403, 12, 30), NaiveDate::from_ymd_opt(2025, 3, 20), "1403 is a leap year");
        assert_eq!(jalali_to_gregorian(1404, 12, 30), None, "1404 is not");
        assert_eq!(jalali_to_gregorian(1404, 7, 31), None);
        let mut date = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        while date < NaiveDate::from_ymd_opt(2028, 1, 1).unwrap() {
            let j = JalaliDate::from_gregorian(date);
            assert_eq!(jalali_to_gregorian(j.year, j.month, j.day), Some(date));
            date = date.succ_opt().unwrap();
        }
    }

    #[test]
    fn dates_parse_in_both_calendars_and_digit_scripts() {
        assert_eq!(parse_date("2026-11-29"), NaiveDate::from_ymd_opt(2026, 11, 29));
        assert_eq!(parse_date("۱۴۰۵/۰۹/۰۸"), NaiveDate::from_ymd_opt(2026, 11, 29));
        assert_eq!(parse_date("1405/9/8"), NaiveDate::from_ymd_opt(2026, 11, 29));
        assert_eq!(parse_date("29/11/2026"), None);
        assert_eq!(parse_date("tomorrow"), None);
    }
}

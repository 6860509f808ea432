use chrono::{Datelike, NaiveDate, Weekday};

/// Adds working days to a date, skipping Fridays (the Iranian weekend) and, when
/// `thursday_off`, Thursdays too. The full business calendar with official
/// holidays belongs to routing; this is the arithmetic it builds on.
pub fn add_working_days(start: NaiveDate, days: u32, thursday_off: bool) -> NaiveDate {
    let mut date = start;
    let mut remaining = days;
    while remaining > 0 {
        date = date.succ_opt().unwrap_or(date);
        let off = date.weekday() == Weekday::Fri || (thursday_off && date.weekday() == Weekday::Thu);
        if !off {
            remaining -= 1;
        }
    }
    date
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fridays_are_not_counted() {
        // Wednesday 2026-11-25 + 2 working days: Thursday, (Friday off), Saturday
        let wednesday = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(add_working_days(wednesday, 2, false), NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
        // with Thursday off too, the second working day is Sunday
        assert_eq!(add_working_days(wednesday, 2, true), NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
        assert_eq!(add_working_days(wednesday, 0, false), wednesday);
    }
}

//! The business calendar deadlines are counted in: Fridays off (Thursdays too
//! where a unit works a five-day week) and the official holidays of
//! `data/holidays.csv`, written as Jalali dates.
//!
//! The solar holidays are fixed. The lunar ones move every year and are fixed
//! officially only when the calendar centre of the University of Tehran's
//! Institute of Geophysics publishes the year's calendar (and, for Eid al-Fitr,
//! by moon sighting); the file marks them `lunar-predicted` — computed from the
//! tabular Hijri calendar — until an operator replaces them with the published
//! dates. The working week and the file are both configuration of routing.
use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};

use crate::jalali::{JalaliDate, jalali_to_gregorian};

const HOLIDAYS_CSV: &str = include_str!("../data/holidays.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayBasis {
    /// a fixed date of the solar year
    Solar,
    /// a lunar holiday predicted from the tabular Hijri calendar, within a day or two of the official date
    LunarPredicted,
    /// a lunar holiday as published in the official calendar
    LunarOfficial,
}

/// One official holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub basis: HolidayBasis,
    /// `MM-DD` of the solar year, or `YYYY-MM-DD` of the Hijri year it falls on
    pub rule: String,
    pub name_fa: String,
    pub name_en: String,
}

/// Parses a holidays file: `jalali_date,basis,rule,name_fa,name_en`, one per line after the header.
pub fn parse_holidays(csv: &str) -> Result<Vec<Holiday>, String> {
    let mut holidays = Vec::new();
    for (index, line) in csv.lines().enumerate().skip(1) {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let at = format!("line {}", index + 1);
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [date, basis, rule, name_fa, name_en] = cols[..] else {
            return Err(format!("{at}: expected 5 columns, found {}", cols.len()));
        };
        let date = parse_jalali(date).ok_or_else(|| format!("{at}: `{date}` is not a Jalali date YYYY/MM/DD"))?;
        let basis = match basis {
            "solar" => HolidayBasis::Solar,
            "lunar-predicted" => HolidayBasis::LunarPredicted,
            "lunar-official" => HolidayBasis::LunarOfficial,
            other => return Err(format!("{at}: basis `{other}` is not solar, lunar-predicted or lunar-official")),
        };
        holidays.push(Holiday {
            date,
            basis,
            rule: rule.to_owned(),
            name_fa: name_fa.to_owned(),
            name_en: name_en.to_owned(),
        });
    }
    if holidays.is_empty() {
        return Err("no holidays in the file".into());
    }
    Ok(holidays)
}

fn parse_jalali(text: &str) -> Option<NaiveDate> {
    let mut parts = text.split('/').map(|p| p.parse::<u32>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    jalali_to_gregorian(i32::try_from(year).ok()?, month, day)
}

/// The holidays built into this version (`data/holidays.csv`, 1404–1406).
pub fn built_in_holidays() -> Vec<Holiday> {
    parse_holidays(HOLIDAYS_CSV).unwrap_or_default()
}

/// Working days: which days count, and deadline arithmetic over them.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    thursday_off: bool,
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    pub fn new(thursday_off: bool, holidays: &[Holiday]) -> Self {
        Self { thursday_off, holidays: holidays.iter().map(|h| h.date).collect() }
    }

    /// Friday off, Thursday as configured, the built-in holidays.
    pub fn iranian(thursday_off: bool) -> Self {
        Self::new(thursday_off, &built_in_holidays())
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        let weekend = date.weekday() == Weekday::Fri || (self.thursday_off && date.weekday() == Weekday::Thu);
        !weekend && !self.holidays.contains(&date)
    }

    /// The `days`-th working day after `start` (`start` itself when `days` is 0).
    pub fn add_working_days(&self, start: NaiveDate, days: u32) -> NaiveDate {
        let mut date = start;
        let mut remaining = days;
        while remaining > 0 {
            date = date.succ_opt().unwrap_or(date);
            if self.is_working_day(date) {
                remaining -= 1;
            }
        }
        date
    }

    /// How many working days lie after `from` up to and including `to` (0 when `to` is not later):
    /// the inverse of [`Self::add_working_days`] for a working `to`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = match date.succ_opt() {
                Some(next) => next,
                None => break,
            };
            if self.is_working_day(date) {
                count += 1;
            }
        }
        count
    }

    /// Whether the holiday data reaches `date`'s Jalali year; beyond it only weekends are skipped.
    pub fn covers(&self, date: NaiveDate) -> bool {
        let year = JalaliDate::from_gregorian(date).year;
        self.holidays.iter().any(|h| JalaliDate::from_gregorian(*h).year == year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days_between_inverts_adding_them() {
        let calendar = BusinessCalendar::iranian(false);
        let start = g(2026, 11, 28); // a Saturday
        for days in 0..40 {
            let end = calendar.add_working_days(start, days);
            assert_eq!(calendar.working_days_between(start, end), days);
        }
        assert_eq!(calendar.working_days_between(start, start), 0);
        assert_eq!(calendar.working_days_between(start, g(2026, 11, 20)), 0, "an earlier end counts nothing");
        // Saturday to the next Saturday: six days pass, Friday is not a working day
        let week = calendar.working_days_between(start, g(2026, 12, 5));
        assert!((5..=6).contains(&week), "{week}");
    }

    fn g(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn j(y: i32, m: u32, d: u32) -> NaiveDate {
        jalali_to_gregorian(y, m, d).unwrap()
    }

    /// The tabular (arithmetic) Hijri calendar, civil epoch: 1 Muharram 1 AH = 16 July 622 (Julian).
    fn tabular_hijri(year: i64, month: i64, day: i64) -> NaiveDate {
        let julian_day = day + (59 * (month - 1) + 1) / 2 + (year - 1) * 354 + (3 + 11 * year) / 30 + 1_948_439;
        // JDN 1721426 is 0001-01-01 of the proleptic Gregorian calendar, chrono's day 1
        NaiveDate::from_num_days_from_ce_opt(i32::try_from(julian_day - 1_721_425).unwrap()).unwrap()
    }

    #[test]
    fn fridays_are_not_counted_and_thursday_is_configurable() {
        let calendar = BusinessCalendar::new(false, &[]);
        // Wednesday 2026-11-25 + 2 working days: Thursday, (Friday off), Saturday
        let wednesday = g(2026, 11, 25);
        assert_eq!(calendar.add_working_days(wednesday, 2), g(2026, 11, 28));
        assert_eq!(BusinessCalendar::new(true, &[]).add_working_days(wednesday, 2), g(2026, 11, 29));
        assert_eq!(calendar.add_working_days(wednesday, 0), wednesday);
    }

    #[test]
    fn deadlines_skip_nowruz() {
        let calendar = BusinessCalendar::iranian(false);
        // Tuesday 26 Esfand 1404 (17 March 2026). 27 and 28 Esfand are Wednesday and Thursday; 29 Esfand
        // (oil nationalisation) and 1–4 Farvardin 1405 are holidays, with a Friday among them.
        let start = j(1404, 12, 26);
        assert_eq!(start.weekday(), Weekday::Tue);
        assert_eq!(calendar.add_working_days(start, 2), j(1404, 12, 28));
        // the third working day comes only after Nowruz: 5 Farvardin 1405
        let third = calendar.add_working_days(start, 3);
        assert_eq!(JalaliDate::from_gregorian(third), JalaliDate { year: 1405, month: 1, day: 5 });
        assert_eq!(BusinessCalendar::new(false, &[]).add_working_days(start, 3), j(1405, 1, 1));
    }

    #[test]
    fn deadlines_skip_tasua_and_ashura() {
        let calendar = BusinessCalendar::iranian(false);
        // Tasua and Ashura 1447 AH fall on 14 and 15 Tir 1404 (5 and 6 July 2025), a Saturday and Sunday
        let tasua = j(1404, 4, 14);
        assert!(!calendar.is_working_day(tasua) && !calendar.is_working_day(j(1404, 4, 15)));
        let thursday_before = j(1404, 4, 12);
        // Thursday → (Friday, Tasua, Ashura off) → Monday 16 Tir
        assert_eq!(calendar.add_working_days(thursday_before, 1), j(1404, 4, 16));
    }

    #[test]
    fn the_built_in_file_covers_1404_to_1406_with_every_holiday() {
        let holidays = built_in_holidays();
        let solar_rules = ["01-01", "01-02", "01-03", "01-04", "01-12", "01-13", "03-14", "03-15", "11-22", "12-29"];
        let lunar_rules = [
            "01-09", "01-10", "02-20", "02-28", "02-29", "03-08", "03-17", "06-03", "07-13", "07-27", "08-15", "09-21",
            "10-01", "10-02", "10-25", "12-10", "12-18",
        ];
        for year in 1404..=1406 {
            let in_year: Vec<&Holiday> =
                holidays.iter().filter(|h| JalaliDate::from_gregorian(h.date).year == year).collect();
            for rule in solar_rules {
                let found = in_year.iter().find(|h| h.basis == HolidayBasis::Solar && h.rule == rule);
                let holiday = found.unwrap_or_else(|| panic!("{year}: solar holiday {rule} missing"));
                let date = JalaliDate::from_gregorian(holiday.date);
                assert_eq!(format!("{:02}-{:02}", date.month, date.day), rule);
            }
            for rule in lunar_rules {
                assert!(
                    in_year.iter().any(|h| h.basis != HolidayBasis::Solar && h.rule.ends_with(rule)),
                    "{year}: lunar holiday {rule} missing"
                );
            }
        }
    }

    #[test]
    fn lunar_holidays_are_within_two_days_of_their_hijri_date() {
        // the official calendar may differ from the arithmetic one by moon sighting, never by more
        for holiday in built_in_holidays().iter().filter(|h| h.basis != HolidayBasis::Solar) {
            let parts: Vec<i64> = holiday.rule.split('-').map(|p| p.parse().unwrap()).collect();
            let predicted = tabular_hijri(parts[0], parts[1], parts[2]);
            let apart = (holiday.date - predicted).num_days().abs();
            assert!(apart <= 2, "{} {}: {} days from {predicted}", holiday.rule, holiday.name_en, apart);
        }
        // anchors: Eid al-Fitr 1446 on Monday 31 March 2025, Ashura 1447 on Sunday 6 July 2025
        assert_eq!(tabular_hijri(1446, 10, 1), g(2025, 3, 31));
        assert_eq!(tabular_hijri(1447, 1, 10), g(2025, 7, 6));
    }

    #[test]
    fn a_broken_holidays_file_is_refused_with_its_line() {
        let header = "jalali_date,basis,rule,name_fa,name_en\n";
        let bad_date = format!("{header}1404/13/01,solar,13-01,x,y\n");
        assert!(parse_holidays(&bad_date).unwrap_err().starts_with("line 2:"));
        let bad_basis = format!("{header}1404/01/01,lunar,01-01,x,y\n");
        assert!(parse_holidays(&bad_basis).unwrap_err().contains("basis `lunar`"));
        assert!(parse_holidays(header).is_err());
    }

    #[test]
    fn coverage_is_known() {
        let calendar = BusinessCalendar::iranian(false);
        assert!(calendar.covers(j(1405, 6, 1)));
        assert!(!calendar.covers(j(1410, 6, 1)));
    }
}

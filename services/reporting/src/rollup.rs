//! Rollups: sums of the petitions' [`Measures`], kept per period, per desk
//! event and per status, so dashboards read a few thousand rows instead of
//! millions of facts.
//!
//! A fact's change is applied as "minus what it added before, plus what it adds
//! now" to every rollup row it belongs to; a batch's changes are summed per row
//! first, so a busy day's row is written once per batch. The rows are therefore
//! always equal to summing the facts' measures; `rebuild` recomputes both from
//! the topic, and the tests check a rebuild gives the same numbers.
use std::collections::HashMap;

use chrono::NaiveDate;
use pasokh_domain::{BusinessCalendar, JalaliDate, jalali_to_gregorian, tehran_date};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::Result;
use crate::facts::Fact;

/// Resolutions are counted by working days taken: 0 … 29, and 30 or more in the last bucket.
pub(crate) const RESOLUTION_DAY_BUCKETS: usize = 31;

/// The counted measures of one petition, or the sum over many.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub(crate) struct Measures {
    pub submitted: i32,
    pub routed: i32,
    pub open: i32,
    pub first_response_decided: i32,
    pub first_response_on_time: i32,
    pub resolution_decided: i32,
    pub resolved: i32,
    pub resolved_on_time: i32,
    pub breaches: i32,
    pub escalated: i32,
    pub escalations: i32,
    pub reopened: i32,
    pub appealed: i32,
    pub responded: i32,
    pub rated: i32,
    pub rating_sum: i32,
    pub rated_high: i32,
    pub rated_with_comment: i32,
    pub merged: i32,
    pub at_desk: i32,
    pub resolved_on_spot: i32,
    pub referrals: i32,
    pub info_requests: i32,
    pub closed: i32,
    pub rejected: i32,
    /// resolutions by working days taken (see [`RESOLUTION_DAY_BUCKETS`]); empty when none
    pub resolution_days: Vec<i32>,
}

/// The measure columns, in the order of [`Measures`]; the same in every rollup table.
pub(crate) const COUNTERS: [&str; 25] = [
    "submitted",
    "routed",
    "open",
    "first_response_decided",
    "first_response_on_time",
    "resolution_decided",
    "resolved",
    "resolved_on_time",
    "breaches",
    "escalated",
    "escalations",
    "reopened",
    "appealed",
    "responded",
    "rated",
    "rating_sum",
    "rated_high",
    "rated_with_comment",
    "merged",
    "at_desk",
    "resolved_on_spot",
    "referrals",
    "info_requests",
    "closed",
    "rejected",
];

impl Measures {
    fn counters_mut(&mut self) -> [&mut i32; 25] {
        [
            &mut self.submitted,
            &mut self.routed,
            &mut self.open,
            &mut self.first_response_decided,
            &mut self.first_response_on_time,
            &mut self.resolution_decided,
            &mut self.resolved,
            &mut self.resolved_on_time,
            &mut self.breaches,
            &mut self.escalated,
            &mut self.escalations,
            &mut self.reopened,
            &mut self.appealed,
            &mut self.responded,
            &mut self.rated,
            &mut self.rating_sum,
            &mut self.rated_high,
            &mut self.rated_with_comment,
            &mut self.merged,
            &mut self.at_desk,
            &mut self.resolved_on_spot,
            &mut self.referrals,
            &mut self.info_requests,
            &mut self.closed,
            &mut self.rejected,
        ]
    }

    /// Adds `other` times `sign` (1 or -1).
    pub(crate) fn add(&mut self, other: &Measures, sign: i32) {
        let mut other = other.clone();
        for (mine, theirs) in self.counters_mut().into_iter().zip(other.counters_mut()) {
            *mine += sign * *theirs;
        }
        if !other.resolution_days.is_empty() {
            if self.resolution_days.len() < other.resolution_days.len() {
                self.resolution_days.resize(other.resolution_days.len(), 0);
            }
            for (mine, theirs) in self.resolution_days.iter_mut().zip(&other.resolution_days) {
                *mine += sign * theirs;
            }
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        let mut copy = self.clone();
        copy.counters_mut().iter().all(|c| **c == 0) && self.resolution_days.iter().all(|d| *d == 0)
    }
}

/// Day or Jalali month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Grain {
    Day,
    Month,
}

/// The first day of the Jalali month `date` falls in.
pub(crate) fn jalali_month_start(date: NaiveDate) -> NaiveDate {
    let j = JalaliDate::from_gregorian(date);
    jalali_to_gregorian(j.year, j.month, 1).unwrap_or(date)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct PeriodKey {
    pub grain: Grain,
    pub period_start: NaiveDate,
    pub province: String,
    pub organisation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct DeskKey {
    pub desk_event_id: String,
    pub day: NaiveDate,
    pub province: String,
    pub organisation: String,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct StatusKey {
    pub province: String,
    pub organisation: String,
    pub category: String,
    pub status: String,
}

/// The rollup changes of a batch, summed per row.
#[derive(Debug, Default)]
pub(crate) struct Deltas {
    pub periods: HashMap<PeriodKey, Measures>,
    pub desks: HashMap<DeskKey, Measures>,
    pub statuses: HashMap<StatusKey, i32>,
}

impl Deltas {
    /// Adds what `fact` contributes, times `sign`: -1 for the fact before the batch, 1 after.
    pub(crate) fn add_fact(&mut self, fact: &Fact, sign: i32, calendar: &BusinessCalendar) {
        let Some(measures) = fact.measures(calendar) else { return };
        let Some(submitted) = fact.submitted_at else { return };
        let day = tehran_date(submitted);
        for (grain, period_start) in [(Grain::Day, day), (Grain::Month, jalali_month_start(day))] {
            let key = PeriodKey {
                grain,
                period_start,
                province: fact.province.clone(),
                organisation: fact.organisation.clone(),
            };
            self.periods.entry(key).or_default().add(&measures, sign);
        }
        if !fact.desk_event_id.is_empty() {
            let key = DeskKey {
                desk_event_id: fact.desk_event_id.clone(),
                day,
                province: fact.province.clone(),
                organisation: fact.organisation.clone(),
                category: fact.category.clone(),
            };
            self.desks.entry(key).or_default().add(&measures, sign);
        }
        let key = StatusKey {
            province: fact.province.clone(),
            organisation: fact.organisation.clone(),
            category: fact.category.clone(),
            status: fact.status.clone(),
        };
        *self.statuses.entry(key).or_default() += sign;
    }

    /// Writes the non-zero changes.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn apply(self, conn: &mut PgConnection) -> Result<()> {
        self.apply_in_chunks(conn, usize::MAX).await
    }

    /// Writes the non-zero changes, at most `chunk` rows per statement (a rollup recomputed from
    /// millions of facts has hundreds of thousands of rows).
    #[tracing::instrument(skip_all, fields(chunk))]
    pub(crate) async fn apply_in_chunks(self, conn: &mut PgConnection, chunk: usize) -> Result<()> {
        let chunk = chunk.max(1);
        // rows are turned into JSON a chunk at a time: a recomputation holds hundreds of thousands
        let periods: Vec<(&PeriodKey, &Measures)> = self.periods.iter().filter(|(_, m)| !m.is_zero()).collect();
        for part in periods.chunks(chunk) {
            let rows: Vec<serde_json::Value> = part.iter().map(|(key, m)| row(key, m)).collect();
            upsert(conn, "rollup_by_period", "grain, period_start, province, organisation", &rows).await?;
        }
        let desks: Vec<(&DeskKey, &Measures)> = self.desks.iter().filter(|(_, m)| !m.is_zero()).collect();
        for part in desks.chunks(chunk) {
            let rows: Vec<serde_json::Value> = part.iter().map(|(key, m)| row(key, m)).collect();
            upsert(conn, "rollup_by_desk_event", "desk_event_id, day, province, organisation, category", &rows).await?;
        }
        #[derive(Serialize)]
        struct StatusRow {
            #[serde(flatten)]
            key: StatusKey,
            cases: i32,
        }
        let statuses: Vec<StatusRow> =
            self.statuses.into_iter().filter(|(_, n)| *n != 0).map(|(key, cases)| StatusRow { key, cases }).collect();
        for statuses in statuses.chunks(chunk) {
            sqlx::query(
                "INSERT INTO rollup_by_status AS r SELECT * FROM jsonb_populate_recordset(NULL::rollup_by_status, $1) \
                 ON CONFLICT (province, organisation, category, status) DO UPDATE SET cases = r.cases + EXCLUDED.cases",
            )
            .bind(sqlx::types::Json(&statuses))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// The histogram column of `days` working days.
pub(crate) fn histogram_column(days: usize) -> String {
    format!("rd{days}")
}

/// A rollup row as the table's columns: the key's fields, the counters, `rd0` … `rd30`.
fn row<K: Serialize>(key: &K, m: &Measures) -> serde_json::Value {
    let mut object = match serde_json::to_value(key) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => serde_json::Map::new(),
    };
    let mut copy = m.clone();
    for (name, value) in COUNTERS.iter().zip(copy.counters_mut()) {
        object.insert((*name).to_owned(), (*value).into());
    }
    for days in 0..RESOLUTION_DAY_BUCKETS {
        object.insert(histogram_column(days), m.resolution_days.get(days).copied().unwrap_or(0).into());
    }
    serde_json::Value::Object(object)
}

/// Every measure column: the counters, then the histogram.
pub(crate) fn measure_columns() -> Vec<String> {
    COUNTERS.iter().map(|c| (*c).to_owned()).chain((0..RESOLUTION_DAY_BUCKETS).map(histogram_column)).collect()
}

/// Adds the rows' measures to `table`, inserting the rows it does not have yet. Rows are sorted
/// by key first so two writers lock them in the same order.
async fn upsert(conn: &mut PgConnection, table: &str, key: &str, rows: &[serde_json::Value]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let additions: Vec<String> = measure_columns().iter().map(|c| format!("{c} = r.{c} + EXCLUDED.{c}")).collect();
    let sql = format!(
        "INSERT INTO {table} AS r SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1) ORDER BY {key} \
         ON CONFLICT ({key}) DO UPDATE SET {}",
        additions.join(", ")
    );
    sqlx::query(&sql).bind(sqlx::types::Json(rows)).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_and_taking_away_the_same_measures_leaves_zero() {
        let one = Measures { submitted: 1, open: 1, resolution_days: vec![0, 1, 0], ..Default::default() };
        let mut sum = Measures::default();
        sum.add(&one, 1);
        sum.add(&one, 1);
        assert_eq!((sum.submitted, sum.resolution_days[1]), (2, 2));
        sum.add(&one, -1);
        sum.add(&one, -1);
        assert!(sum.is_zero());
    }

    #[test]
    fn a_jalali_month_starts_on_its_first_day() {
        // 1405/11/12 (the first of the Fajr decade) is 2027-02-01; Bahman 1405 began 2027-01-21
        let fajr = jalali_to_gregorian(1405, 11, 12).unwrap();
        assert_eq!(jalali_month_start(fajr), jalali_to_gregorian(1405, 11, 1).unwrap());
        assert_eq!(
            jalali_month_start(jalali_to_gregorian(1405, 11, 1).unwrap()),
            jalali_to_gregorian(1405, 11, 1).unwrap()
        );
    }
}

//! The read side: sums of rollup rows for a scope and a period. No query here
//! reads `case_facts` except the CSV export of facts, which streams.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::Result;
use crate::indicators::Totals;
use crate::period::{Bucket, Period};
use crate::rollup::{COUNTERS, RESOLUTION_DAY_BUCKETS, histogram_column, measure_columns};

/// Which cases a caller may count: a province, an organisation (in a province or nationally), or all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scope {
    pub province: Option<String>,
    pub organisation: Option<String>,
}

/// How a query groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupBy {
    Province,
    Organisation,
}

impl GroupBy {
    /// `province` (also when empty) or `organisation`, as HTTP's `of=` and gRPC's `of` name it.
    pub(crate) fn parse(input: &str) -> Result<Self, pasokh_domain::FieldError> {
        match input.trim() {
            "" | "province" => Ok(GroupBy::Province),
            "organisation" => Ok(GroupBy::Organisation),
            _ => Err(pasokh_domain::FieldError::new("of", "ranking_unknown", "of must be province or organisation")),
        }
    }

    /// The rollup column it groups by, also its name in requests and answers.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GroupBy::Province => "province",
            GroupBy::Organisation => "organisation",
        }
    }
}

static SUMS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    measure_columns().iter().map(|c| format!("coalesce(sum({c}), 0)::bigint AS {c}")).collect::<Vec<_>>().join(", ")
});

fn totals_of(row: &PgRow) -> Result<Totals> {
    let get = |name: &str| -> Result<i64> { Ok(row.try_get::<i64, _>(name)?) };
    let mut resolution_days = Vec::with_capacity(RESOLUTION_DAY_BUCKETS);
    for days in 0..RESOLUTION_DAY_BUCKETS {
        resolution_days.push(get(&histogram_column(days))?);
    }
    let c: Vec<i64> = COUNTERS.iter().map(|name| get(name)).collect::<Result<_>>()?;
    Ok(Totals {
        submitted: c[0],
        routed: c[1],
        open: c[2],
        first_response_decided: c[3],
        first_response_on_time: c[4],
        resolution_decided: c[5],
        resolved: c[6],
        resolved_on_time: c[7],
        breaches: c[8],
        escalated: c[9],
        escalations: c[10],
        reopened: c[11],
        appealed: c[12],
        responded: c[13],
        rated: c[14],
        rating_sum: c[15],
        rated_high: c[16],
        rated_with_comment: c[17],
        merged: c[18],
        at_desk: c[19],
        resolved_on_spot: c[20],
        referrals: c[21],
        info_requests: c[22],
        closed: c[23],
        rejected: c[24],
        resolution_days,
    })
}

/// `WHERE` for a period over `rollup_by_period`: its whole Jalali months from the monthly rows,
/// the rest from the daily rows ($1 months, $2 days, $3 province, $4 organisation).
const PERIOD_WHERE: &str = "((grain = 'month' AND period_start = ANY($1)) OR (grain = 'day' AND period_start = ANY($2))) \
     AND ($3::text IS NULL OR province = $3) AND ($4::text IS NULL OR organisation = $4)";

/// `sql` (with [`PERIOD_WHERE`]) bound to the period's months and days and the scope.
fn over_period<'q>(
    sql: &'q str,
    (months, days): (Vec<NaiveDate>, Vec<NaiveDate>),
    scope: &Scope,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sql).bind(months).bind(days).bind(scope.province.clone()).bind(scope.organisation.clone())
}

/// The totals of a scope over a period.
#[tracing::instrument(skip_all)]
pub(crate) async fn totals(pool: &PgPool, scope: &Scope, period: &Period) -> Result<Totals> {
    let (months, days) = period.split();
    let sql = format!("SELECT {} FROM rollup_by_period WHERE {PERIOD_WHERE}", *SUMS);
    let row = over_period(&sql, (months, days), scope).fetch_one(pool).await?;
    totals_of(&row)
}

/// The totals of a scope over a period, per province or per organisation.
#[tracing::instrument(skip_all)]
pub(crate) async fn totals_by(
    pool: &PgPool,
    scope: &Scope,
    period: &Period,
    group: GroupBy,
) -> Result<BTreeMap<String, Totals>> {
    let (months, days) = period.split();
    let column = group.as_str();
    let sql = format!(
        "SELECT {column} AS key, {} FROM rollup_by_period WHERE {PERIOD_WHERE} GROUP BY {column} HAVING sum(submitted) > 0",
        *SUMS
    );
    let rows = over_period(&sql, (months, days), scope).fetch_all(pool).await?;
    rows.iter().map(|row| Ok((row.try_get::<String, _>("key")?, totals_of(row)?))).collect()
}

/// The totals of each bucket of a period, oldest first (buckets without petitions are absent).
#[tracing::instrument(skip_all)]
pub(crate) async fn trend(
    pool: &PgPool,
    scope: &Scope,
    period: &Period,
    bucket: Bucket,
) -> Result<BTreeMap<NaiveDate, Totals>> {
    // monthly buckets read whole months from the monthly rows; days and weeks need the daily rows
    let (months, days) = match bucket {
        Bucket::Month => period.split(),
        Bucket::Day | Bucket::Week => {
            (Vec::new(), period.from.iter_days().take_while(|d| *d <= period.to).collect::<Vec<NaiveDate>>())
        }
    };
    let sql =
        format!("SELECT period_start, {} FROM rollup_by_period WHERE {PERIOD_WHERE} GROUP BY period_start", *SUMS);
    let rows = over_period(&sql, (months, days), scope).fetch_all(pool).await?;
    let mut buckets: BTreeMap<NaiveDate, Totals> = BTreeMap::new();
    for row in &rows {
        let start: NaiveDate = row.try_get("period_start")?;
        buckets.entry(bucket.start_of(start)).or_default().merge(&totals_of(row)?);
    }
    Ok(buckets)
}

/// Open cases of the scope now, by the Tehran day they were submitted.
#[tracing::instrument(skip_all)]
pub(crate) async fn open_by_day(pool: &PgPool, scope: &Scope) -> Result<Vec<(NaiveDate, i64)>> {
    let rows = sqlx::query(
        "SELECT period_start, sum(open)::bigint AS open FROM rollup_by_period \
         WHERE grain = 'day' AND open > 0 AND ($1::text IS NULL OR province = $1) AND ($2::text IS NULL OR organisation = $2) \
         GROUP BY period_start ORDER BY period_start",
    )
    .bind(&scope.province)
    .bind(&scope.organisation)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("period_start")?, r.try_get("open")?))).collect()
}

/// One desk event's petitions by organisation and category.
#[tracing::instrument(skip_all)]
pub(crate) async fn desk_event(pool: &PgPool, scope: &Scope, event_id: &str) -> Result<Vec<(String, String, Totals)>> {
    let sql = format!(
        "SELECT organisation, category, {} FROM rollup_by_desk_event WHERE desk_event_id = $1 \
         AND ($2::text IS NULL OR province = $2) AND ($3::text IS NULL OR organisation = $3) \
         GROUP BY organisation, category HAVING sum(submitted) > 0 ORDER BY organisation, category",
        *SUMS
    );
    let rows = sqlx::query(&sql).bind(event_id).bind(&scope.province).bind(&scope.organisation).fetch_all(pool).await?;
    rows.iter().map(|r| Ok((r.try_get("organisation")?, r.try_get("category")?, totals_of(r)?))).collect()
}

/// Every desk event with petitions filed in the period, per event and province.
#[tracing::instrument(skip_all)]
pub(crate) async fn desk_events(
    pool: &PgPool,
    scope: &Scope,
    period: &Period,
) -> Result<Vec<(String, String, Totals)>> {
    let sql = format!(
        "SELECT desk_event_id, province, {} FROM rollup_by_desk_event WHERE day BETWEEN $1 AND $2 \
         AND ($3::text IS NULL OR province = $3) AND ($4::text IS NULL OR organisation = $4) \
         GROUP BY desk_event_id, province HAVING sum(submitted) > 0 ORDER BY province, desk_event_id",
        *SUMS
    );
    let rows = sqlx::query(&sql)
        .bind(period.from)
        .bind(period.to)
        .bind(&scope.province)
        .bind(&scope.organisation)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("desk_event_id")?, r.try_get("province")?, totals_of(r)?))).collect()
}

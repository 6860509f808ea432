//! Folds the desk activity topic (desk events opened and closed, meetings with
//! officials and their promises) into `desk_events` and `desk_meetings`, and
//! reads meetings and promises back for reports.
use chrono::{Duration, NaiveDate, Utc};
use pasokh_events::batch::BatchHandler;
use pasokh_events::consumer::{HandlerError, Received};
use pasokh_events::lifecycle::from_timestamp;
use pasokh_proto::events::v1::DeskActivity;
use pasokh_proto::events::v1::desk_activity::Body;
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};

use crate::Result;
use crate::period::Period;
use crate::query::Scope;

pub(crate) struct FoldDeskActivity;

impl BatchHandler for FoldDeskActivity {
    type Message = DeskActivity;
    type Prepared = ();

    #[tracing::instrument(skip_all, fields(events = events.len()))]
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[&Received<DeskActivity>],
        _: &(),
    ) -> Result<(), HandlerError> {
        for event in events {
            let a = &event.message;
            let at = from_timestamp(a.occurred_at.as_ref()).unwrap_or(event.cloud.time);
            let outcome = match &a.body {
                Some(Body::Opened(o)) => sqlx::query(
                    "INSERT INTO desk_events (desk_event_id, province, title, venue, starts_at, ends_at, organisations) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (desk_event_id) DO UPDATE SET province = EXCLUDED.province, \
                     title = EXCLUDED.title, venue = EXCLUDED.venue, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, \
                     organisations = EXCLUDED.organisations",
                )
                .bind(&a.desk_event_id)
                .bind(&a.province)
                .bind(&o.title)
                .bind(&o.venue)
                .bind(from_timestamp(o.starts_at.as_ref()))
                .bind(from_timestamp(o.ends_at.as_ref()))
                .bind(&o.organisations)
                .execute(&mut *conn)
                .await
                .map(|_| ()),
                Some(Body::Closed(_)) => sqlx::query(
                    "INSERT INTO desk_events (desk_event_id, province, closed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (desk_event_id) DO UPDATE SET closed_at = EXCLUDED.closed_at",
                )
                .bind(&a.desk_event_id)
                .bind(&a.province)
                .bind(at)
                .execute(&mut *conn)
                .await
                .map(|_| ()),
                Some(Body::MeetingHeld(m)) => {
                    let due = NaiveDate::parse_from_str(&m.promise_due, "%Y-%m-%d").ok();
                    sqlx::query(
                        "INSERT INTO desk_meetings (meeting_id, desk_event_id, province, organisation, official_title, \
                         tracking_code, has_promise, promise_due, held_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (meeting_id) DO NOTHING",
                    )
                    .bind(&m.meeting_id)
                    .bind(&a.desk_event_id)
                    .bind(&a.province)
                    .bind(&m.organisation)
                    .bind(&m.official_title)
                    .bind(&m.tracking_code)
                    .bind(m.has_promise)
                    .bind(due)
                    .bind(at)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
                }
                None => return Err(HandlerError::Permanent("desk activity without a body".into())),
            };
            outcome?;
        }
        Ok(())
    }
}

/// How a promise made at a desk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PromiseStatus {
    /// the petition was resolved by the promised day
    Kept,
    /// resolved, but after the promised day
    Late,
    /// still open and the day has passed
    Overdue,
    /// still open, the day not yet come
    Pending,
    /// made about no petition: nothing in Pasokh shows whether it was kept
    Untracked,
}

impl PromiseStatus {
    pub(crate) fn label_fa(self) -> &'static str {
        match self {
            Self::Kept => "انجام‌شده در موعد",
            Self::Late => "انجام‌شده با تأخیر",
            Self::Overdue => "گذشته از موعد",
            Self::Pending => "در موعد",
            Self::Untracked => "بدون درخواست پیوسته",
        }
    }
}

/// The SQL deciding a promise's status from the meeting `m` and the petition's facts `f`.
const STATUS_SQL: &str = "CASE WHEN m.tracking_code = '' OR f.petition_id IS NULL THEN 'untracked' \
     WHEN f.resolved_at IS NOT NULL AND f.resolved_at < ((m.promise_due + 1)::timestamp AT TIME ZONE 'Asia/Tehran') THEN 'kept' \
     WHEN f.resolved_at IS NOT NULL THEN 'late' \
     WHEN m.promise_due < $1 THEN 'overdue' ELSE 'pending' END";

fn status_of(text: &str) -> PromiseStatus {
    match text {
        "kept" => PromiseStatus::Kept,
        "late" => PromiseStatus::Late,
        "overdue" => PromiseStatus::Overdue,
        "pending" => PromiseStatus::Pending,
        _ => PromiseStatus::Untracked,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct MeetingCounts {
    pub held: i64,
    pub promises: i64,
    pub kept: i64,
    pub late: i64,
    pub overdue: i64,
    pub pending: i64,
    pub untracked: i64,
    /// kept ÷ promises whose day has come (kept, late, overdue); `None` before any is due
    pub kept_on_time_share: Option<f64>,
}

impl MeetingCounts {
    fn count(&mut self, status: PromiseStatus, n: i64) {
        match status {
            PromiseStatus::Kept => self.kept += n,
            PromiseStatus::Late => self.late += n,
            PromiseStatus::Overdue => self.overdue += n,
            PromiseStatus::Pending => self.pending += n,
            PromiseStatus::Untracked => self.untracked += n,
        }
        let decided = self.kept + self.late + self.overdue;
        self.kept_on_time_share = (decided > 0).then(|| self.kept as f64 / decided as f64);
    }
}

fn today() -> NaiveDate {
    pasokh_domain::tehran_date(Utc::now())
}

/// Meetings held in the period within the scope (the desk's province, the official's organisation).
#[tracing::instrument(skip_all)]
pub(crate) async fn meeting_counts(pool: &PgPool, scope: &Scope, period: &Period) -> Result<MeetingCounts> {
    let from = period.from.and_hms_opt(0, 0, 0).unwrap_or_default();
    let to = (period.to + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default();
    let sql = format!(
        "SELECT count(*) AS held, count(*) FILTER (WHERE m.has_promise) AS promises, \
         {STATUS_SQL} AS promise_status FROM desk_meetings m LEFT JOIN case_facts f ON f.tracking_code = m.tracking_code AND m.tracking_code <> '' \
         WHERE m.held_at >= ($2::timestamp AT TIME ZONE 'Asia/Tehran') AND m.held_at < ($3::timestamp AT TIME ZONE 'Asia/Tehran') \
         AND ($4::text IS NULL OR m.province = $4) AND ($5::text IS NULL OR m.organisation = $5) GROUP BY promise_status, m.has_promise"
    );
    let rows = sqlx::query(&sql)
        .bind(today())
        .bind(from)
        .bind(to)
        .bind(&scope.province)
        .bind(&scope.organisation)
        .fetch_all(pool)
        .await?;
    let mut counts = MeetingCounts::default();
    for row in rows {
        let held: i64 = row.try_get("held")?;
        let promises: i64 = row.try_get("promises")?;
        counts.held += held;
        counts.promises += promises;
        if promises > 0 {
            counts.count(status_of(row.try_get::<String, _>("promise_status")?.as_str()), promises);
        }
    }
    Ok(counts)
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Promise {
    pub organisation: String,
    pub organisation_fa: String,
    pub official_title: String,
    /// the petition discussed; empty when none, or when it is outside the caller's scope
    pub tracking_code: String,
    pub promise_due: Option<NaiveDate>,
    pub promise_due_jalali: String,
    pub status: PromiseStatus,
    pub status_fa: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct DeskEventInfo {
    pub title: String,
    pub venue: String,
    pub province: String,
    pub starts_at_jalali: String,
    pub closed: bool,
}

/// What the desk topic told of one event, and the meetings held there within the scope.
#[tracing::instrument(skip_all)]
pub(crate) async fn event_meetings(
    pool: &PgPool,
    scope: &Scope,
    desk_event_id: &str,
) -> Result<(Option<DeskEventInfo>, MeetingCounts, Vec<Promise>)> {
    let info =
        sqlx::query("SELECT title, venue, province, starts_at, closed_at FROM desk_events WHERE desk_event_id = $1")
            .bind(desk_event_id)
            .fetch_optional(pool)
            .await?
            .map(|row| -> Result<DeskEventInfo> {
                let starts: Option<chrono::DateTime<Utc>> = row.try_get("starts_at")?;
                let closed: Option<chrono::DateTime<Utc>> = row.try_get("closed_at")?;
                Ok(DeskEventInfo {
                    title: row.try_get("title")?,
                    venue: row.try_get("venue")?,
                    province: row.try_get("province")?,
                    starts_at_jalali: starts
                        .map(|s| pasokh_domain::format_jalali(pasokh_domain::tehran_date(s)))
                        .unwrap_or_default(),
                    closed: closed.is_some(),
                })
            })
            .transpose()?;
    let sql = format!(
        "SELECT m.organisation, m.official_title, m.tracking_code, m.has_promise, m.promise_due, \
         f.province AS case_province, f.organisation AS case_organisation, {STATUS_SQL} AS promise_status \
         FROM desk_meetings m LEFT JOIN case_facts f ON f.tracking_code = m.tracking_code AND m.tracking_code <> '' \
         WHERE m.desk_event_id = $2 AND ($3::text IS NULL OR m.province = $3) AND ($4::text IS NULL OR m.organisation = $4) \
         ORDER BY m.held_at"
    );
    let rows = sqlx::query(&sql)
        .bind(today())
        .bind(desk_event_id)
        .bind(&scope.province)
        .bind(&scope.organisation)
        .fetch_all(pool)
        .await?;
    let mut counts = MeetingCounts::default();
    let mut promises = Vec::new();
    for row in rows {
        counts.held += 1;
        if !row.try_get::<bool, _>("has_promise")? {
            continue;
        }
        counts.promises += 1;
        let status = status_of(row.try_get::<String, _>("promise_status")?.as_str());
        counts.count(status, 1);
        let organisation: String = row.try_get("organisation")?;
        let due: Option<NaiveDate> = row.try_get("promise_due")?;
        // a case is named only to callers who may see it
        let case_province: Option<String> = row.try_get("case_province")?;
        let case_organisation: Option<String> = row.try_get("case_organisation")?;
        let visible = scope.province.as_ref().is_none_or(|p| case_province.as_ref() == Some(p))
            && scope.organisation.as_ref().is_none_or(|o| case_organisation.as_ref() == Some(o));
        promises.push(Promise {
            organisation_fa: crate::report::organisation_fa(&organisation),
            organisation,
            official_title: row.try_get("official_title")?,
            tracking_code: if visible { row.try_get("tracking_code")? } else { String::new() },
            promise_due: due,
            promise_due_jalali: due.map(pasokh_domain::format_jalali).unwrap_or_default(),
            status,
            status_fa: status.label_fa(),
        });
    }
    Ok((info, counts, promises))
}

/// The titles of these desk events, as they were opened.
#[tracing::instrument(skip_all, fields(events = ids.len()))]
pub(crate) async fn titles(pool: &PgPool, ids: &[String]) -> Result<std::collections::HashMap<String, String>> {
    let rows = sqlx::query("SELECT desk_event_id, title FROM desk_events WHERE desk_event_id = ANY($1)")
        .bind(ids)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("desk_event_id")?, r.try_get("title")?))).collect()
}

/// A desk event open now, with what it has done so far.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OpenDeskEvent {
    pub desk_event_id: String,
    pub title: String,
    pub venue: String,
    pub province: String,
    pub province_fa: String,
    pub starts_at_jalali: String,
    pub ends_at_jalali: String,
    pub people_served: i64,
    pub resolved_on_spot: i64,
    pub meetings: i64,
    pub promises: i64,
}

/// Every desk event of the scope open at this moment (opened, not closed, within its hours),
/// with its counts so far: what HQ watches during the Fajr decade.
#[tracing::instrument(skip_all)]
pub(crate) async fn open_events(pool: &PgPool, scope: &Scope) -> Result<Vec<OpenDeskEvent>> {
    let rows = sqlx::query(
        "SELECT e.desk_event_id, e.title, e.venue, e.province, e.starts_at, e.ends_at, \
                COALESCE(p.served, 0) AS served, COALESCE(p.on_spot, 0) AS on_spot, \
                COALESCE(m.held, 0) AS held, COALESCE(m.promises, 0) AS promises \
         FROM desk_events e \
         LEFT JOIN (SELECT desk_event_id, sum(submitted)::bigint AS served, sum(resolved_on_spot)::bigint AS on_spot \
                    FROM rollup_by_desk_event WHERE ($2::text IS NULL OR organisation = $2) \
                    GROUP BY desk_event_id) p ON p.desk_event_id = e.desk_event_id \
         LEFT JOIN (SELECT desk_event_id, count(*) AS held, count(*) FILTER (WHERE has_promise) AS promises \
                    FROM desk_meetings WHERE ($2::text IS NULL OR organisation = $2) \
                    GROUP BY desk_event_id) m ON m.desk_event_id = e.desk_event_id \
         WHERE e.closed_at IS NULL AND e.starts_at <= now() AND e.ends_at > now() \
           AND ($1::text IS NULL OR e.province = $1) \
         ORDER BY e.province, e.starts_at, e.desk_event_id",
    )
    .bind(&scope.province)
    .bind(&scope.organisation)
    .fetch_all(pool)
    .await?;
    let jalali_time = |at: Option<chrono::DateTime<Utc>>| {
        at.map(|at| {
            let local = at.with_timezone(&pasokh_domain::tehran());
            format!("{} {}", pasokh_domain::format_jalali(pasokh_domain::tehran_date(at)), local.format("%H:%M"))
        })
        .unwrap_or_default()
    };
    rows.iter()
        .map(|r| {
            let province: String = r.try_get("province")?;
            Ok(OpenDeskEvent {
                desk_event_id: r.try_get("desk_event_id")?,
                title: r.try_get("title")?,
                venue: r.try_get("venue")?,
                province_fa: crate::report::province_fa(&province),
                province,
                starts_at_jalali: jalali_time(r.try_get("starts_at")?),
                ends_at_jalali: jalali_time(r.try_get("ends_at")?),
                people_served: r.try_get("served")?,
                resolved_on_spot: r.try_get("on_spot")?,
                meetings: r.try_get("held")?,
                promises: r.try_get("promises")?,
            })
        })
        .collect()
}

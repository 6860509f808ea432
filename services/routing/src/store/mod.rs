//! Routing's own tables: cases and their history.
//!
//! Long by choice: every query on routing's tables is here, beside the row types it returns, so a
//! column is renamed in one file; the queries are short and independent, and split files would only
//! scatter `CaseRecord`'s column list.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use pasokh_domain::{CaseStatus, OrganisationCode, ProvinceCode, SlaState};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

/// The statuses whose clock runs ([`CaseStatus::clock_runs`]), spelled out because the watchdog's
/// partial index (migration 0005) has them in its predicate, and a query only uses that index
/// when its own predicate says the same literally; a test keeps the two in step with the domain.
const CLOCK_RUNS: &str = "('routed', 'acknowledged', 'in_progress', 'reopened')";

/// The open statuses ([`CaseStatus::is_open`]), as the duplicate checks bind them.
pub(crate) fn open_statuses() -> Vec<&'static str> {
    CaseStatus::open().map(CaseStatus::as_str).collect()
}

/// One case, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseRecord {
    pub petition_id: Uuid,
    pub tracking_code: String,
    #[sqlx(try_from = "String")]
    pub province: ProvinceCode,
    pub category: String,
    pub citizen_ref: String,
    #[sqlx(try_from = "String")]
    pub status: CaseStatus,
    pub organisation: String,
    pub unit: String,
    pub rule: String,
    pub priority: String,
    pub kind: String,
    pub text: String,
    pub submitted_at: DateTime<Utc>,
    pub first_response_days: i32,
    pub resolution_days: i32,
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    pub first_response_warn: Option<DateTime<Utc>>,
    pub resolution_warn: Option<DateTime<Utc>>,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub info_requested_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub first_response_alert: SlaState,
    #[sqlx(try_from = "String")]
    pub resolution_alert: SlaState,
    pub breaches: i32,
    pub escalation_level: i32,
    pub forwards: i32,
    pub transfers: i32,
    pub expected_at: Option<DateTime<Utc>>,
    pub interim_reason: String,
    pub merged_into: Option<Uuid>,
    pub rating: Option<i32>,
    pub updated_at: DateTime<Utc>,
    pub channel: String,
    pub desk_event_id: String,
    pub attachment_count: i32,
    /// grows with every recorded change: the version an officer's command may expect
    pub event_sequence: i64,
}

impl CaseRecord {
    /// The worse of the two targets: what the queue shows and filters by.
    pub(crate) fn sla_state(&self) -> SlaState {
        self.first_response_alert.max(self.resolution_alert)
    }
}

const COLUMNS: &str = "petition_id, tracking_code, province, category, citizen_ref, status, organisation, unit, rule, \
     priority, kind, text, submitted_at, first_response_days, resolution_days, first_response_due, resolution_due, \
     first_response_warn, resolution_warn, first_responded_at, responded_at, info_requested_at, first_response_alert, \
     resolution_alert, breaches, escalation_level, forwards, transfers, expected_at, interim_reason, merged_into, \
     rating, updated_at, channel, desk_event_id, attachment_count, event_sequence";

/// Creates the case; `false` if it already existed (a redelivered event).
#[tracing::instrument(skip_all, fields(petition_id = %case.petition_id))]
pub(crate) async fn insert_case(conn: &mut PgConnection, case: &CaseRecord) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO cases (petition_id, tracking_code, province, category, citizen_ref, status, organisation, unit, \
         rule, priority, kind, text, submitted_at, first_response_days, resolution_days, first_response_due, \
         resolution_due, first_response_warn, resolution_warn, merged_into, channel, desk_event_id, \
         attachment_count, event_sequence) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24) \
         ON CONFLICT (petition_id) DO NOTHING",
    )
    .bind(case.petition_id)
    .bind(&case.tracking_code)
    .bind(case.province.to_string())
    .bind(&case.category)
    .bind(&case.citizen_ref)
    .bind(case.status.as_str())
    .bind(&case.organisation)
    .bind(&case.unit)
    .bind(&case.rule)
    .bind(&case.priority)
    .bind(&case.kind)
    .bind(&case.text)
    .bind(case.submitted_at)
    .bind(case.first_response_days)
    .bind(case.resolution_days)
    .bind(case.first_response_due)
    .bind(case.resolution_due)
    .bind(case.first_response_warn)
    .bind(case.resolution_warn)
    .bind(case.merged_into)
    .bind(&case.channel)
    .bind(&case.desk_event_id)
    .bind(case.attachment_count)
    .bind(case.event_sequence)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    Ok(inserted)
}

/// Creates a batch's new cases (none merged) with one statement; returns the petitions whose
/// case did not exist yet.
#[tracing::instrument(skip_all, fields(cases = cases.len()))]
pub(crate) async fn insert_cases(conn: &mut PgConnection, cases: &[&CaseRecord]) -> Result<HashSet<Uuid>> {
    fn column<T>(cases: &[&CaseRecord], value: impl Fn(&CaseRecord) -> T) -> Vec<T> {
        cases.iter().map(|case| value(case)).collect()
    }
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO cases (petition_id, tracking_code, province, category, citizen_ref, status, organisation, unit, \
         rule, priority, kind, text, submitted_at, first_response_days, resolution_days, first_response_due, \
         resolution_due, first_response_warn, resolution_warn, channel, desk_event_id, attachment_count, \
         event_sequence) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
         $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::int[], $15::int[], \
         $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::text[], $21::text[], \
         $22::int[], $23::bigint[]) \
         ON CONFLICT (petition_id) DO NOTHING RETURNING petition_id",
    )
    .bind(column(cases, |c| c.petition_id))
    .bind(column(cases, |c| c.tracking_code.clone()))
    .bind(column(cases, |c| c.province.to_string()))
    .bind(column(cases, |c| c.category.clone()))
    .bind(column(cases, |c| c.citizen_ref.clone()))
    .bind(column(cases, |c| c.status.as_str().to_owned()))
    .bind(column(cases, |c| c.organisation.clone()))
    .bind(column(cases, |c| c.unit.clone()))
    .bind(column(cases, |c| c.rule.clone()))
    .bind(column(cases, |c| c.priority.clone()))
    .bind(column(cases, |c| c.kind.clone()))
    .bind(column(cases, |c| c.text.clone()))
    .bind(column(cases, |c| c.submitted_at))
    .bind(column(cases, |c| c.first_response_days))
    .bind(column(cases, |c| c.resolution_days))
    .bind(column(cases, |c| c.first_response_due))
    .bind(column(cases, |c| c.resolution_due))
    .bind(column(cases, |c| c.first_response_warn))
    .bind(column(cases, |c| c.resolution_warn))
    .bind(column(cases, |c| c.channel.clone()))
    .bind(column(cases, |c| c.desk_event_id.clone()))
    .bind(column(cases, |c| c.attachment_count))
    .bind(column(cases, |c| c.event_sequence))
    .fetch_all(&mut *conn)
    .await?;
    Ok(inserted.into_iter().collect())
}

/// The open cases of several citizens at once, each in its category and province, oldest
/// first and locked: what a batch's petitions may be duplicates of.
#[tracing::instrument(skip_all, fields(citizens = keys.len()))]
pub(crate) async fn open_cases_of_all(conn: &mut PgConnection, keys: &[CitizenKey]) -> Result<Vec<CaseRecord>> {
    let citizens: Vec<&str> = keys.iter().map(|k| k.citizen_ref.as_str()).collect();
    let categories: Vec<&str> = keys.iter().map(|k| k.category.as_str()).collect();
    let provinces: Vec<&str> = keys.iter().map(|k| k.province.as_str()).collect();
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM cases WHERE (citizen_ref, category, province) IN \
         (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])) AND status = ANY($4) \
         ORDER BY submitted_at FOR UPDATE"
    ))
    .bind(&citizens)
    .bind(&categories)
    .bind(&provinces)
    .bind(open_statuses())
    .fetch_all(conn)
    .await?)
}

/// Whose duplicates a case may be: the same citizen, category and province.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CitizenKey {
    pub citizen_ref: String,
    pub category: String,
    pub province: String,
}

impl CitizenKey {
    pub(crate) fn of(case: &CaseRecord) -> Self {
        Self {
            citizen_ref: case.citizen_ref.clone(),
            category: case.category.clone(),
            province: case.province.to_string(),
        }
    }
}

/// Writes back everything the workflow may change and moves the case's version on; returns the
/// new version, which is the `sequence` of the event that records the change.
#[tracing::instrument(skip_all, fields(petition_id = %case.petition_id))]
pub(crate) async fn save_case(conn: &mut PgConnection, case: &CaseRecord) -> Result<u64> {
    let sequence: i64 = sqlx::query_scalar(
        "UPDATE cases SET status = $2, organisation = $3, unit = $4, first_response_due = $5, resolution_due = $6, \
         first_response_warn = $7, resolution_warn = $8, first_responded_at = $9, responded_at = $10, \
         info_requested_at = $11, first_response_alert = $12, resolution_alert = $13, breaches = $14, \
         escalation_level = $15, forwards = $16, transfers = $17, expected_at = $18, interim_reason = $19, \
         merged_into = $20, rating = $21, updated_at = now(), event_sequence = event_sequence + 1 \
         WHERE petition_id = $1 RETURNING event_sequence",
    )
    .bind(case.petition_id)
    .bind(case.status.as_str())
    .bind(&case.organisation)
    .bind(&case.unit)
    .bind(case.first_response_due)
    .bind(case.resolution_due)
    .bind(case.first_response_warn)
    .bind(case.resolution_warn)
    .bind(case.first_responded_at)
    .bind(case.responded_at)
    .bind(case.info_requested_at)
    .bind(case.first_response_alert.as_column())
    .bind(case.resolution_alert.as_column())
    .bind(case.breaches)
    .bind(case.escalation_level)
    .bind(case.forwards)
    .bind(case.transfers)
    .bind(case.expected_at)
    .bind(&case.interim_reason)
    .bind(case.merged_into)
    .bind(case.rating)
    .fetch_one(conn)
    .await?;
    Ok(sequence.max(0) as u64)
}

/// The case, locked for the rest of the transaction.
#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn lock_case(conn: &mut PgConnection, petition_id: Uuid) -> Result<Option<CaseRecord>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM cases WHERE petition_id = $1 FOR UPDATE"))
        .bind(petition_id)
        .fetch_optional(conn)
        .await?)
}

#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn case(pool: &PgPool, petition_id: Uuid) -> Result<Option<CaseRecord>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM cases WHERE petition_id = $1"))
        .bind(petition_id)
        .fetch_optional(pool)
        .await?)
}

/// The citizen's open cases in a category, oldest first, locked: candidates a new petition may
/// duplicate, which no officer can close while the petition joins one of them.
#[tracing::instrument(skip_all)]
pub(crate) async fn open_cases_of(
    conn: &mut PgConnection,
    citizen_ref: &str,
    category: &str,
    province: &str,
    excluding: Uuid,
) -> Result<Vec<CaseRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM cases WHERE citizen_ref = $1 AND category = $2 AND petition_id <> $3 \
         AND status = ANY($4) AND province = $5 ORDER BY submitted_at LIMIT 20 FOR UPDATE"
    ))
    .bind(citizen_ref)
    .bind(category)
    .bind(excluding)
    .bind(open_statuses())
    .bind(province)
    .fetch_all(conn)
    .await?)
}

/// The citizen's open case with this tracking code, locked: the case a desk operator confirmed
/// a walk-in repeats. None when it is another citizen's, not open, or unknown.
#[tracing::instrument(skip_all)]
pub(crate) async fn open_case_of_citizen(
    conn: &mut PgConnection,
    citizen_ref: &str,
    tracking_code: &str,
    province: &str,
    excluding: Uuid,
) -> Result<Option<CaseRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM cases WHERE citizen_ref = $1 AND tracking_code = $2 AND petition_id <> $3 \
         AND status = ANY($4) AND province = $5 FOR UPDATE"
    ))
    .bind(citizen_ref)
    .bind(tracking_code)
    .bind(excluding)
    .bind(open_statuses())
    .bind(province)
    .fetch_optional(conn)
    .await?)
}

/// Serialises, until the transaction ends, every routing replica deciding about the same citizen's
/// petitions in a category and province: two petitions of one citizen have different keys, so
/// they reach different partitions and replicas, and without this neither would see the other
/// as its duplicate. The locks are taken in one statement in a fixed order, so two batches
/// never wait on each other crosswise.
#[tracing::instrument(skip_all, fields(citizens = keys.len()))]
pub(crate) async fn lock_citizens(conn: &mut PgConnection, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(k)) FROM \
         (SELECT DISTINCT hashtextextended(x, 10) AS k FROM unnest($1::text[]) AS x ORDER BY 1) AS ordered",
    )
    .bind(keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// One line of a case's history.
pub(crate) struct HistoryLine<'a> {
    pub petition_id: Uuid,
    pub event_id: Uuid,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub action: &'a str,
    pub actor: &'a str,
    pub note: &'a str,
    pub message: &'a str,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn append_history(conn: &mut PgConnection, line: &HistoryLine<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_history (petition_id, event_id, from_status, to_status, action, actor, note, message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(line.petition_id)
    .bind(line.event_id)
    .bind(line.from_status)
    .bind(line.to_status)
    .bind(line.action)
    .bind(line.actor)
    .bind(line.note)
    .bind(line.message)
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends history lines with one statement, in the given order.
#[tracing::instrument(skip_all, fields(lines = lines.len()))]
pub(crate) async fn append_history_all(conn: &mut PgConnection, lines: &[HistoryLine<'_>]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO case_history (petition_id, event_id, from_status, to_status, action, actor, note, message) \
         SELECT p, e, f, t, a, w, n, m FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS l(p, e, f, t, a, w, n, m, position) ORDER BY position",
    )
    .bind(lines.iter().map(|l| l.petition_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.event_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.from_status).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.to_status).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.action).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.actor).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.note).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.message).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// A history line that records something without changing the case's status
/// (a duplicate joined, a reply nobody asked for, a rating that decides nothing).
#[tracing::instrument(skip_all)]
pub(crate) async fn append_note(
    conn: &mut PgConnection,
    petition_id: Uuid,
    event_id: Uuid,
    status: &str,
    action: &str,
    actor: &str,
    note: &str,
) -> Result<()> {
    let line = HistoryLine {
        petition_id,
        event_id,
        from_status: Some(status),
        to_status: status,
        action,
        actor,
        note,
        message: "",
    };
    append_history(conn, &line).await
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct HistoryRow {
    pub at: DateTime<Utc>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub action: String,
    pub actor: String,
    pub note: String,
}

#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn history(pool: &PgPool, petition_id: Uuid) -> Result<Vec<HistoryRow>> {
    Ok(sqlx::query_as(
        "SELECT at, from_status, to_status, action, actor, note FROM case_history WHERE petition_id = $1 ORDER BY id",
    )
    .bind(petition_id)
    .fetch_all(pool)
    .await?)
}

/// Petitions merged into this case.
#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn duplicates_of(pool: &PgPool, petition_id: Uuid) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT tracking_code FROM cases WHERE merged_into = $1 ORDER BY submitted_at")
        .bind(petition_id)
        .fetch_all(pool)
        .await?)
}

/// What the citizen was told with an event, if anything.
#[tracing::instrument(skip_all, fields(%petition_id, %event_id))]
pub(crate) async fn citizen_message(pool: &PgPool, petition_id: Uuid, event_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT message FROM case_history WHERE petition_id = $1 AND event_id = $2 AND message <> '' LIMIT 1",
    )
    .bind(petition_id)
    .bind(event_id)
    .fetch_optional(pool)
    .await?)
}

/// The messages of many (petition, event) pairs at once; pairs without one are left out.
#[tracing::instrument(skip_all, fields(items = wanted.len()))]
pub(crate) async fn citizen_messages(pool: &PgPool, wanted: &[(Uuid, Uuid)]) -> Result<Vec<(Uuid, Uuid, String)>> {
    let petitions: Vec<Uuid> = wanted.iter().map(|w| w.0).collect();
    let events: Vec<Uuid> = wanted.iter().map(|w| w.1).collect();
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (h.petition_id, h.event_id) h.petition_id, h.event_id, h.message \
         FROM unnest($1::uuid[], $2::uuid[]) AS w(petition_id, event_id) \
         JOIN case_history h ON h.petition_id = w.petition_id AND h.event_id = w.event_id AND h.message <> ''",
    )
    .bind(&petitions)
    .bind(&events)
    .fetch_all(pool)
    .await?)
}

/// A line of the case's history as its citizen may read it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CitizenLine {
    pub at: chrono::DateTime<chrono::Utc>,
    pub to_status: String,
    pub action: String,
    pub message: String,
}

/// The case's changes of status and what the citizen was told, oldest first; no internal notes.
#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn citizen_timeline(pool: &PgPool, petition_id: Uuid) -> Result<Vec<CitizenLine>> {
    Ok(sqlx::query_as(
        "SELECT at, to_status, action, message FROM case_history \
         WHERE petition_id = $1 AND (from_status IS DISTINCT FROM to_status OR message <> '') ORDER BY id LIMIT 200",
    )
    .bind(petition_id)
    .fetch_all(pool)
    .await?)
}

/// Which cases a caller may see: `None` fields are not restricted.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeFilter {
    pub province: Option<ProvinceCode>,
    pub organisation: Option<OrganisationCode>,
}

impl ScopeFilter {
    pub(crate) fn allows(&self, case: &CaseRecord) -> bool {
        self.province.is_none_or(|p| p == case.province)
            && self.organisation.is_none_or(|o| o.as_str() == case.organisation)
    }
}

pub(crate) struct QueueQuery<'a> {
    pub scope: &'a ScopeFilter,
    pub statuses: Vec<String>,
    pub sla_state: Option<&'a str>,
    pub category: Option<&'a str>,
    pub min_escalation_level: i32,
    pub desk_event_id: Option<&'a str>,
    pub with_promise: bool,
    pub limit: i64,
    pub offset: i64,
}

/// The queue's filters, `$1`–`$8` in the order `bind_filters` binds them.
const QUEUE_FILTERS: &str = "($1::text IS NULL OR province = $1) \
     AND ($2::text IS NULL OR organisation = $2) AND status = ANY($3) \
     AND ($4::text IS NULL \
         OR ($4 = 'breached' AND (first_response_alert = 'breached' OR resolution_alert = 'breached')) \
         OR ($4 = 'warning' AND 'breached' NOT IN (first_response_alert, resolution_alert) \
             AND 'warned' IN (first_response_alert, resolution_alert)) \
         OR ($4 = 'on_track' AND first_response_alert = 'none' AND resolution_alert = 'none')) \
     AND ($5::text IS NULL OR category = $5) AND escalation_level >= $6 \
     AND ($7::text IS NULL OR desk_event_id = $7) \
     AND (NOT $8 OR EXISTS (SELECT 1 FROM promises p WHERE p.tracking_code = cases.tracking_code \
                             AND p.province = cases.province))";

fn bind_filters<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    filters: &'q QueueQuery<'q>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    query
        .bind(filters.scope.province.map(ProvinceCode::as_str))
        .bind(filters.scope.organisation.map(OrganisationCode::as_str))
        .bind(&filters.statuses)
        .bind(filters.sla_state)
        .bind(filters.category)
        .bind(filters.min_escalation_level)
        .bind(filters.desk_event_id)
        .bind(filters.with_promise)
}

/// A page of the queue, most urgent first (earliest resolution due).
#[tracing::instrument(skip_all)]
pub(crate) async fn queue(pool: &PgPool, query: &QueueQuery<'_>) -> Result<Vec<CaseRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cases WHERE {QUEUE_FILTERS} ORDER BY resolution_due, petition_id LIMIT $9 OFFSET $10"
    );
    Ok(bind_filters(sqlx::query_as(&sql), query).bind(query.limit).bind(query.offset).fetch_all(pool).await?)
}

/// How many cases the whole view holds.
#[tracing::instrument(skip_all)]
pub(crate) async fn queue_total(pool: &PgPool, query: &QueueQuery<'_>) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM cases WHERE {QUEUE_FILTERS}");
    let (total,): (i64,) = bind_filters(sqlx::query_as(&sql), query).fetch_one(pool).await?;
    Ok(total)
}

/// The same citizen's other petitions, newest first.
#[tracing::instrument(skip_all, fields(petition_id = %case.petition_id))]
pub(crate) async fn other_petitions(pool: &PgPool, case: &CaseRecord) -> Result<Vec<CaseRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM cases WHERE citizen_ref = $1 AND petition_id <> $2 ORDER BY submitted_at DESC LIMIT 20"
    ))
    .bind(&case.citizen_ref)
    .bind(case.petition_id)
    .fetch_all(pool)
    .await?)
}

/// A promise an official made about a petition at a desk meeting.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PromiseRow {
    pub tracking_code: String,
    pub organisation: String,
    pub official_title: String,
    pub due: chrono::NaiveDate,
    pub made_at: DateTime<Utc>,
}

/// Keeps a promise from the desk topic; a redelivered meeting changes nothing.
#[tracing::instrument(skip_all)]
pub(crate) async fn insert_promise(
    conn: &mut PgConnection,
    meeting_id: &str,
    province: &str,
    promise: &PromiseRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO promises (meeting_id, tracking_code, province, organisation, official_title, due, made_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (meeting_id) DO NOTHING",
    )
    .bind(meeting_id)
    .bind(&promise.tracking_code)
    .bind(province)
    .bind(&promise.organisation)
    .bind(&promise.official_title)
    .bind(promise.due)
    .bind(promise.made_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The promises about these cases (by tracking code, in their provinces), earliest due first.
#[tracing::instrument(skip_all, fields(cases = cases.len()))]
pub(crate) async fn promises_of(pool: &PgPool, cases: &[CaseRecord]) -> Result<Vec<PromiseRow>> {
    let codes: Vec<&str> = cases.iter().map(|c| c.tracking_code.as_str()).collect();
    let provinces: Vec<String> = cases.iter().map(|c| c.province.to_string()).collect();
    Ok(sqlx::query_as(
        "SELECT p.tracking_code, p.organisation, p.official_title, p.due, p.made_at \
         FROM promises p JOIN unnest($1::text[], $2::text[]) AS c(code, province) \
           ON p.tracking_code = c.code AND p.province = c.province ORDER BY p.due, p.made_at",
    )
    .bind(&codes)
    .bind(&provinces)
    .fetch_all(pool)
    .await?)
}

/// Open cases whose next warning or breach is due at `now`, locked for this replica only.
#[tracing::instrument(skip_all)]
pub(crate) async fn due_for_watchdog(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<CaseRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM cases WHERE status IN {CLOCK_RUNS} AND ( \
           (first_responded_at IS NULL AND ((first_response_alert = 'none' AND first_response_warn <= $1) \
                                          OR (first_response_alert <> 'breached' AND first_response_due <= $1))) \
           OR (resolution_alert = 'none' AND resolution_warn <= $1) \
           OR (resolution_alert <> 'breached' AND resolution_due <= $1)) \
         ORDER BY resolution_due LIMIT $2 FOR UPDATE SKIP LOCKED"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdogs_literal_statuses_are_the_domains_running_clocks() {
        let running: Vec<String> =
            CaseStatus::ALL.iter().filter(|s| s.clock_runs()).map(|s| format!("'{}'", s.as_str())).collect();
        assert_eq!(CLOCK_RUNS, format!("({})", running.join(", ")));
        let index = include_str!("../../migrations/0005_workflow.sql");
        assert!(index.contains(&format!("WHERE status IN {CLOCK_RUNS}")), "the partial index has the same predicate");
    }
}

//! Reporting's tables: the facts, and the summary of current statuses.
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::Result;
use crate::facts::Fact;

/// The facts of these petitions, locked until the transaction ends.
#[tracing::instrument(skip_all, fields(facts = ids.len()))]
pub(crate) async fn facts_for_update(conn: &mut PgConnection, ids: &[Uuid]) -> Result<HashMap<Uuid, Fact>> {
    let facts: Vec<Fact> =
        sqlx::query_as("SELECT * FROM case_facts WHERE petition_id = ANY($1) ORDER BY petition_id FOR UPDATE")
            .bind(ids)
            .fetch_all(conn)
            .await?;
    Ok(facts.into_iter().map(|f| (f.petition_id, f)).collect())
}

/// Inserts or replaces these facts.
#[tracing::instrument(skip_all, fields(facts = facts.len()))]
pub(crate) async fn save_facts(conn: &mut PgConnection, facts: &[&Fact]) -> Result<()> {
    if facts.is_empty() {
        return Ok(());
    }
    sqlx::query(&SAVE_FACTS_SQL).bind(sqlx::types::Json(facts)).execute(conn).await?;
    Ok(())
}

static SAVE_FACTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let columns = [
        "tracking_code",
        "province",
        "county",
        "organisation",
        "unit",
        "category",
        "kind",
        "channel",
        "desk_event_id",
        "rule",
        "priority",
        "status",
        "status_sequence",
        "placement_sequence",
        "rating_sequence",
        "submitted_at",
        "routed_at",
        "first_response_at",
        "resolved_at",
        "responded_at",
        "closed_at",
        "first_response_due",
        "resolution_due",
        "first_response_breached",
        "resolution_breached",
        "breaches",
        "escalations",
        "escalation_level",
        "referrals",
        "info_requests",
        "responses",
        "reopened",
        "appeals",
        "rating",
        "rating_has_comment",
        "merged_into",
        "resolved_on_spot",
        "closed_reason",
        "rejected_reason",
    ];
    let set: Vec<String> = columns.iter().map(|c| format!("{c} = EXCLUDED.{c}")).collect();
    format!(
        "INSERT INTO case_facts SELECT * FROM jsonb_populate_recordset(NULL::case_facts, $1) ORDER BY petition_id \
         ON CONFLICT (petition_id) DO UPDATE SET {}",
        set.join(", ")
    )
});

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SummaryRow {
    pub province: String,
    pub category: String,
    pub status: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    pub total: u64,
    pub by_status: BTreeMap<String, u64>,
    pub rows: Vec<SummaryRow>,
}

/// Cases by province × category × current status, optionally for one province and organisation.
#[tracing::instrument(skip_all)]
pub(crate) async fn summary(pool: &PgPool, province: Option<&str>, organisation: Option<&str>) -> Result<Summary> {
    let rows = sqlx::query(
        "SELECT province, category, status, sum(cases)::bigint AS n FROM rollup_by_status \
         WHERE ($1::text IS NULL OR province = $1) AND ($2::text IS NULL OR organisation = $2) \
         GROUP BY province, category, status HAVING sum(cases) > 0 ORDER BY province, category, status",
    )
    .bind(province)
    .bind(organisation)
    .fetch_all(pool)
    .await?;
    let mut summary = Summary { total: 0, by_status: BTreeMap::new(), rows: Vec::with_capacity(rows.len()) };
    for row in rows {
        let count = row.try_get::<i64, _>("n")?.max(0) as u64;
        let status: String = row.try_get("status")?;
        summary.total += count;
        *summary.by_status.entry(status.clone()).or_insert(0) += count;
        summary.rows.push(SummaryRow {
            province: row.try_get("province")?,
            category: row.try_get("category")?,
            status,
            count,
        });
    }
    Ok(summary)
}

//! Reporting's read model.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::Result;

pub(crate) async fn record_submitted(
    conn: &mut PgConnection,
    petition_id: Uuid,
    province: &str,
    category: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    // a petition is submitted once; its row may already be further along if events were replayed
    sqlx::query(
        "INSERT INTO petition_status (petition_id, province, category, status, submitted_at) \
         VALUES ($1, $2, $3, 'submitted', $4) ON CONFLICT (petition_id) DO UPDATE SET submitted_at = EXCLUDED.submitted_at",
    )
    .bind(petition_id)
    .bind(province)
    .bind(category)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn record_status(
    conn: &mut PgConnection,
    petition_id: Uuid,
    province: &str,
    category: &str,
    status: &str,
    organisation: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO petition_status (petition_id, province, category, status, organisation) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (petition_id) DO UPDATE SET status = EXCLUDED.status, organisation = EXCLUDED.organisation, updated_at = now()",
    )
    .bind(petition_id)
    .bind(province)
    .bind(category)
    .bind(status)
    .bind(organisation)
    .execute(conn)
    .await?;
    Ok(())
}

/// A later status of a petition already counted; a new organisation when it was referred.
pub(crate) async fn record_transition(
    conn: &mut PgConnection,
    petition_id: Uuid,
    status: &str,
    organisation: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE petition_status SET status = $2, organisation = COALESCE($3, organisation), updated_at = now()          WHERE petition_id = $1",
    )
    .bind(petition_id)
    .bind(status)
    .bind(organisation)
    .execute(conn)
    .await?;
    Ok(())
}

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

/// Counts by province × category × status, optionally for one province.
pub(crate) async fn summary(pool: &PgPool, province: Option<&str>) -> Result<Summary> {
    let rows = sqlx::query(
        "SELECT province, category, status, count(*) AS n FROM petition_status \
         WHERE $1::text IS NULL OR province = $1 GROUP BY province, category, status ORDER BY province, category, status",
    )
    .bind(province)
    .fetch_all(pool)
    .await?;
    let rows: Vec<SummaryRow> = rows
        .iter()
        .map(|r| SummaryRow {
            province: r.get("province"),
            category: r.get("category"),
            status: r.get("status"),
            count: r.get::<i64, _>("n").max(0) as u64,
        })
        .collect();
    let mut by_status = BTreeMap::new();
    for row in &rows {
        *by_status.entry(row.status.clone()).or_insert(0) += row.count;
    }
    Ok(Summary { total: rows.iter().map(|r| r.count).sum(), by_status, rows })
}

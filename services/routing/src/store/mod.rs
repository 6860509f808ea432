//! Routing's own tables: rules, cases and their history.
use chrono::{DateTime, Utc};
use pasokh_domain::CaseStatus;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::Result;

pub(crate) struct NewCase<'a> {
    pub petition_id: Uuid,
    pub tracking_code: &'a str,
    pub province: &'a str,
    pub category: &'a str,
    pub citizen_ref: &'a str,
    pub organisation: &'a str,
    pub unit: &'a str,
    pub rule: &'a str,
    pub priority: &'a str,
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
}

/// Creates the case in `status` (routed, or closed when resolved on the spot), with its first
/// two history entries. `false` if it already existed.
pub(crate) async fn insert_case(
    conn: &mut PgConnection,
    case: &NewCase<'_>,
    status: CaseStatus,
    note: &str,
    event_id: Uuid,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO cases (petition_id, tracking_code, province, category, citizen_ref, status, organisation, unit, rule, \
         first_response_due, resolution_due, priority) VALUES ($1, $2, $3, $4, $5, $11, $6, $7, $8, $9, $10, $12) \
         ON CONFLICT (petition_id) DO NOTHING",
    )
    .bind(case.petition_id)
    .bind(case.tracking_code)
    .bind(case.province)
    .bind(case.category)
    .bind(case.citizen_ref)
    .bind(case.organisation)
    .bind(case.unit)
    .bind(case.rule)
    .bind(case.first_response_due)
    .bind(case.resolution_due)
    .bind(status.as_str())
    .bind(case.priority)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        sqlx::query(
            "INSERT INTO case_history (petition_id, event_id, from_status, to_status, note) VALUES \
             ($1, $2, NULL, 'submitted', ''), ($1, $2, 'submitted', $4, $3)",
        )
        .bind(case.petition_id)
        .bind(event_id)
        .bind(note)
        .bind(status.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(inserted)
}

pub(crate) struct CaseRow {
    pub petition_id: Uuid,
    pub tracking_code: String,
    pub province: String,
    pub category: String,
    pub status: String,
    pub organisation: String,
    pub unit: String,
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) async fn case(pool: &PgPool, petition_id: Uuid) -> Result<Option<CaseRow>> {
    let row = sqlx::query(
        "SELECT petition_id, tracking_code, province, category, status, organisation, unit, first_response_due, \
         resolution_due, updated_at FROM cases WHERE petition_id = $1",
    )
    .bind(petition_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| CaseRow {
        petition_id: r.get("petition_id"),
        tracking_code: r.get("tracking_code"),
        province: r.get("province"),
        category: r.get("category"),
        status: r.get("status"),
        organisation: r.get("organisation"),
        unit: r.get("unit"),
        first_response_due: r.get("first_response_due"),
        resolution_due: r.get("resolution_due"),
        updated_at: r.get("updated_at"),
    }))
}

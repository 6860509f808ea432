//! `GET /v1/summary` (JSON) and `GET /dashboard` (a Persian, right-to-left page for officers).
use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use pasokh_domain::{CaseStatus, FieldError, ProvinceCode, ValidationErrors, format_jalali};
use pasokh_platform::problem::Problem;
use serde::Deserialize;
use sqlx::PgPool;

use crate::store::{self, Summary};

pub(crate) fn router(pool: PgPool) -> Router {
    Router::new().route("/v1/summary", get(summary)).route("/dashboard", get(dashboard)).with_state(pool)
}

#[derive(Debug, Deserialize)]
pub(crate) struct SummaryQuery {
    province: Option<String>,
}

fn province_filter(query: &SummaryQuery) -> Result<Option<String>, Problem> {
    match query.province.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(raw) => ProvinceCode::parse(raw)
            .map(|p| Some(p.to_string()))
            .map_err(|e: FieldError| Problem::validation(ValidationErrors { errors: vec![e] })),
    }
}

async fn load(pool: &PgPool, query: &SummaryQuery) -> Result<Summary, Response> {
    let province = province_filter(query).map_err(IntoResponse::into_response)?;
    store::summary(pool, province.as_deref()).await.map_err(|error| {
        tracing::error!(error = %pasokh_platform::tasks::error_chain(&error), "summary query failed");
        Problem::unavailable("the reporting store is unavailable").into_response()
    })
}

async fn summary(State(pool): State<PgPool>, Query(query): Query<SummaryQuery>) -> Response {
    match load(&pool, &query).await {
        Ok(summary) => axum::Json(summary).into_response(),
        Err(response) => response,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn to_persian_digits(n: u64) -> String {
    pasokh_domain::persian_digits(&n.to_string())
}

async fn dashboard(State(pool): State<PgPool>, Query(query): Query<SummaryQuery>) -> Response {
    let summary = match load(&pool, &query).await {
        Ok(summary) => summary,
        Err(response) => return response,
    };
    let mut by_province: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in &summary.rows {
        let entry = by_province.entry(row.province.clone()).or_default();
        entry.0 += row.count;
        if row.status == CaseStatus::Routed.as_str() {
            entry.1 += row.count;
        }
    }
    let province_rows: String = by_province
        .iter()
        .map(|(code, (total, routed))| {
            let name = ProvinceCode::parse(code).map(|p| p.province().name_fa.clone()).unwrap_or_else(|_| code.clone());
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&name),
                to_persian_digits(*total),
                to_persian_digits(*routed)
            )
        })
        .collect();
    let status_rows: String = summary
        .by_status
        .iter()
        .map(|(status, count)| {
            let label = CaseStatus::parse(status).map_or_else(|| status.clone(), |s| s.label_fa().to_owned());
            format!("<tr><td>{}</td><td>{}</td></tr>", escape(&label), to_persian_digits(*count))
        })
        .collect();
    let page = format!(
        r#"<!doctype html>
<html lang="fa" dir="rtl">
<head><meta charset="utf-8"><title>پاسخ — داشبورد بازرسی</title>
<style>body{{font-family:Vazirmatn,Tahoma,sans-serif;margin:2rem}}table{{border-collapse:collapse;margin-bottom:2rem}}td,th{{border:1px solid #ccc;padding:.4rem .8rem;text-align:right}}</style></head>
<body>
<h1>سامانه پاسخ — وضعیت درخواست‌ها</h1>
<p>تاریخ گزارش: {date} — مجموع درخواست‌ها: {total}</p>
<h2>بر اساس وضعیت</h2>
<table><tr><th>وضعیت</th><th>تعداد</th></tr>{status_rows}</table>
<h2>بر اساس استان</h2>
<table><tr><th>استان</th><th>کل</th><th>ارجاع شده</th></tr>{province_rows}</table>
</body></html>"#,
        date = format_jalali(pasokh_domain::tehran_date(chrono::Utc::now())),
        total = to_persian_digits(summary.total),
    );
    (StatusCode::OK, Html(page)).into_response()
}

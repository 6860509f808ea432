//! Reporting over HTTP JSON and CSV, every route scoped by the caller's staff token.
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pasokh_domain::{FieldError, ValidationErrors};
use pasokh_platform::auth::TokenVerifier;
use pasokh_platform::error_code::HasErrorCode;
use pasokh_platform::problem::Problem;
use serde::Deserialize;

use crate::csv::{self, HeaderLanguage};
use crate::period::{Bucket, Period};
use crate::query::{GroupBy, Scope};
use crate::report::Reports;
use crate::{Error, store};

#[derive(Clone)]
pub(crate) struct HttpState {
    pub reports: Reports,
    pub verifier: Arc<TokenVerifier>,
}

pub(crate) fn router(state: HttpState) -> Router {
    Router::new()
        .route("/v1/summary", get(summary))
        .route("/v1/overview", get(overview))
        .route("/v1/indicators", get(indicators))
        .route("/v1/indicators.csv", get(indicators_csv))
        .route("/v1/ranking", get(ranking))
        .route("/v1/trend", get(trend))
        .route("/v1/backlog", get(backlog))
        .route("/v1/desk-events", get(desk_events))
        .route("/v1/desk-events/open", get(open_desk_events))
        .route("/v1/desk-events/{id}/report", get(desk_event))
        .route("/v1/facts.csv", get(facts_csv))
        .with_state(state)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.error_code();
        match self {
            Error::Invalid(field) => Problem::validation(ValidationErrors { errors: vec![field] }).into_response(),
            Error::NotFound(what) => Problem::not_found(what).into_response(),
            Error::Config(_) | Error::Database(_) | Error::Events(_) | Error::Platform(_) => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(&self), "report failed");
                Problem::unavailable("the reporting store is unavailable; retry").into_response()
            }
            other => Problem::new(code, other.to_string()).into_response(),
        }
    }
}

/// The query every report takes: the period, and an optional narrowing of the caller's scope.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReportQuery {
    period: Option<String>,
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
    province: Option<String>,
    organisation: Option<String>,
    bucket: Option<String>,
    of: Option<String>,
    /// `fa`: Persian column headers in CSV
    headers: Option<String>,
}

impl ReportQuery {
    fn period(&self) -> Result<Period, Error> {
        Ok(Period::parse(self.period.as_deref(), self.date.as_deref(), self.from.as_deref(), self.to.as_deref())?)
    }
}

/// The caller's scope, from their bearer token and the query's narrowing.
pub(crate) struct Reader(Scope);

impl FromRequestParts<HttpState> for Reader {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Error> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let staff = state.verifier.staff(header).await?;
        let Query(query) = Query::<ReportQuery>::try_from_uri(&parts.uri).map_err(|e| {
            Error::Invalid(FieldError::new("query", "query_invalid", format!("the query string is invalid: {e}")))
        })?;
        Ok(Reader(crate::report::scope_of(&staff, query.province.as_deref(), query.organisation.as_deref())?))
    }
}

type Answer = Result<Response, Error>;

fn json<T: serde::Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

#[tracing::instrument(skip_all)]
async fn summary(State(state): State<HttpState>, Reader(scope): Reader) -> Answer {
    let summary = store::summary(&state.reports.pool, scope.province.as_deref(), scope.organisation.as_deref()).await?;
    Ok(json(&summary))
}

#[tracing::instrument(skip_all)]
async fn indicators(State(state): State<HttpState>, Reader(scope): Reader, Query(q): Query<ReportQuery>) -> Answer {
    Ok(json(&state.reports.indicators(&scope, &q.period()?).await?))
}

#[tracing::instrument(skip_all)]
async fn overview(State(state): State<HttpState>, Reader(scope): Reader, Query(q): Query<ReportQuery>) -> Answer {
    Ok(json(&state.reports.overview(&scope, &q.period()?).await?))
}

fn group_of(q: &ReportQuery) -> Result<GroupBy, Error> {
    Ok(GroupBy::parse(q.of.as_deref().unwrap_or_default())?)
}

#[tracing::instrument(skip_all)]
async fn ranking(State(state): State<HttpState>, Reader(scope): Reader, Query(q): Query<ReportQuery>) -> Answer {
    Ok(json(&state.reports.ranking(&scope, &q.period()?, group_of(&q)?).await?))
}

#[tracing::instrument(skip_all)]
async fn trend(State(state): State<HttpState>, Reader(scope): Reader, Query(q): Query<ReportQuery>) -> Answer {
    let bucket = Bucket::parse(q.bucket.as_deref())?;
    Ok(json(&state.reports.trend(&scope, &q.period()?, bucket).await?))
}

#[tracing::instrument(skip_all)]
async fn backlog(State(state): State<HttpState>, Reader(scope): Reader) -> Answer {
    Ok(json(&state.reports.backlog(&scope).await?))
}

#[tracing::instrument(skip_all)]
async fn desk_events(State(state): State<HttpState>, Reader(scope): Reader, Query(q): Query<ReportQuery>) -> Answer {
    Ok(json(&state.reports.desk_events(&scope, &q.period()?).await?))
}

#[tracing::instrument(skip_all)]
async fn open_desk_events(State(state): State<HttpState>, Reader(scope): Reader) -> Answer {
    Ok(json(&state.reports.open_desk_events(&scope).await?))
}

#[tracing::instrument(skip_all)]
async fn desk_event(State(state): State<HttpState>, Reader(scope): Reader, Path(id): Path<String>) -> Answer {
    let id = crate::report::desk_event_id("id", &id)?;
    Ok(json(&state.reports.desk_event(&scope, &id).await?))
}

fn language(q: &ReportQuery) -> HeaderLanguage {
    if q.headers.as_deref() == Some("fa") { HeaderLanguage::Persian } else { HeaderLanguage::English }
}

fn csv_response(name: &str, body: Body) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Indicators of every province (or organisation) of the scope for the period, one row each.
#[tracing::instrument(skip_all)]
async fn indicators_csv(State(state): State<HttpState>, Reader(scope): Reader, Query(q): Query<ReportQuery>) -> Answer {
    let period = q.period()?;
    let ranking = state.reports.ranking(&scope, &period, group_of(&q)?).await?;
    let text = csv::indicators(&ranking, language(&q));
    Ok(csv_response("pasokh-indicators.csv", Body::from(text)))
}

/// Every petition's facts in the scope and period, streamed; no personal data.
#[tracing::instrument(skip_all)]
async fn facts_csv(State(state): State<HttpState>, Reader(scope): Reader, Query(q): Query<ReportQuery>) -> Answer {
    let period = q.period()?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(csv::stream_facts(state.reports.pool, scope, period, language(&q), sender));
    let stream = futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|item| (item, r)) });
    Ok(csv_response("pasokh-case-facts.csv", Body::from_stream(stream)))
}

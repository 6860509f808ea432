//! HTTP plumbing: ops endpoints (`/healthz`, `/readyz`, `/metrics`), request
//! metrics and tracing, and a server that drains on shutdown.
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::metrics::{HttpLabels, HttpMetrics};

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// Named dependency checks behind `/readyz`: the service is ready when every
/// required check passes; advisory checks are reported but do not take the
/// replica out of load balancing.
///
/// `/readyz` answers from the last results at once: when they are older than a second it
/// starts a refresh in the background (the checks concurrently, each under its own budget) and
/// still answers with what it has, so a dependency that hangs (a broker that does not answer
/// a metadata request for two seconds) never makes the probe itself time out, and probes from
/// anywhere cannot multiply the checks.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check, bool)>,
    cache: Arc<ReadinessCache>,
}

/// When a check last finished, and what it said.
type CheckResult = (Instant, Result<(), String>);

/// The last result of each check (by its index), which of them are running, and a signal
/// when one finishes.
#[derive(Default)]
struct ReadinessCache {
    results: std::sync::Mutex<BTreeMap<usize, CheckResult>>,
    running: std::sync::Mutex<std::collections::BTreeSet<usize>>,
    finished: tokio::sync::Notify,
}

/// How long a readiness result is used before the checks run again.
const READINESS_FRESH: Duration = Duration::from_secs(1);
/// One check's budget in a refresh.
const CHECK_BUDGET: Duration = Duration::from_secs(3);
/// How long the very first `/readyz` waits for the first results.
const FIRST_ANSWER: Duration = Duration::from_millis(200);

impl Readiness {
    pub fn with_check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check())), true));
        self
    }

    /// A check that is reported in `/readyz` but never makes the service unready.
    pub fn with_advisory_check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check())), false));
        self
    }

    /// Adds the standard database check.
    pub fn with_database(self, pool: sqlx::PgPool) -> Self {
        self.with_check("database", move || {
            let pool = pool.clone();
            async move {
                if crate::db::is_reachable(&pool).await {
                    Ok(())
                } else {
                    Err("database unreachable".into())
                }
            }
        })
    }

    /// Starts, in the background, every check whose last result is older than a second and is
    /// not running already; each stores its result when done, under its own budget.
    fn refresh_stale(&self) {
        let now = Instant::now();
        let results = lock(&self.cache.results);
        let mut running = lock(&self.cache.running);
        for (index, (_, check, _)) in self.checks.iter().enumerate() {
            let fresh = results.get(&index).is_some_and(|(at, _)| now.duration_since(*at) <= READINESS_FRESH);
            if fresh || !running.insert(index) {
                continue;
            }
            let (check, cache) = (check.clone(), self.cache.clone());
            tokio::spawn(async move {
                let outcome = match tokio::time::timeout(CHECK_BUDGET, check()).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err("check timed out".into()),
                };
                lock(&cache.results).insert(index, (Instant::now(), outcome));
                lock(&cache.running).remove(&index);
                cache.finished.notify_waiters();
            });
        }
    }

    fn required_missing(&self) -> bool {
        let results = lock(&self.cache.results);
        self.checks.iter().enumerate().any(|(index, (_, _, required))| *required && !results.contains_key(&index))
    }

    async fn report(&self) -> (bool, serde_json::Value) {
        self.refresh_stale();
        // the very first probe waits a little for the required checks; never for advisory ones
        let deadline = tokio::time::Instant::now() + FIRST_ANSWER;
        loop {
            // registered before looking, so a check finishing in between still wakes us
            let finished = self.cache.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            if !self.required_missing() || tokio::time::timeout_at(deadline, finished).await.is_err() {
                break;
            }
        }
        let results = lock(&self.cache.results);
        let mut all_ok = true;
        let mut report = serde_json::Map::new();
        for (index, (name, _, required)) in self.checks.iter().enumerate() {
            let outcome =
                results.get(&index).map_or_else(|| Err("checking".to_owned()), |(_, outcome)| outcome.clone());
            all_ok &= outcome.is_ok() || !required;
            report.insert((*name).into(), outcome.err().map_or_else(|| "ok".into(), serde_json::Value::String));
        }
        (all_ok, serde_json::Value::Object(report))
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Clone)]
struct OpsState {
    readiness: Readiness,
    registry: Arc<Registry>,
}

/// Adds the ops endpoints and request metrics/tracing to a service's router.
pub fn with_ops(router: Router, readiness: Readiness, registry: Arc<Registry>, metrics: HttpMetrics) -> Router {
    let ops = Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "alive"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(OpsState { readiness, registry });
    router.merge(ops).layer(middleware::from_fn_with_state(metrics, observe))
}

async fn readyz(State(state): State<OpsState>) -> Response {
    let (ready, report) = state.readiness.report().await;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(serde_json::json!({"ready": ready, "checks": report}))).into_response()
}

async fn metrics_text(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        crate::metrics::encode(&state.registry),
    )
        .into_response()
}

async fn observe(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = crate::metrics::method_label(request.method());
    let parent = crate::telemetry::extract(request.headers());
    let span = tracing::info_span!("http request", otel.name = %format!("{method} {route}"), otel.kind = "server",
        http.request.method = %method, http.route = %route, http.response.status_code = tracing::field::Empty, trace_id = tracing::field::Empty);
    crate::telemetry::continue_trace(&span, parent);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    let labels = HttpLabels { method, route, status };
    metrics.requests.get_or_create(&labels).inc();
    metrics.duration.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

/// Serves until the token is cancelled, then stops accepting and lets in-flight requests finish.
pub async fn serve(listener: TcpListener, router: Router, token: CancellationToken) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "http listening");
    // the peer address reaches handlers as `ConnectInfo<SocketAddr>` (per-client rate limits)
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move { token.cancelled().await })
        .await
}

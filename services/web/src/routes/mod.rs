//! The two sites: the citizen's (public listener) and the desk console (staff listener).
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sqlx::PgPool;

use crate::config::SessionSettings;
use crate::forms::{cookie, is_cross_site, random_token, same_secret};
use crate::intake::Intake;
use crate::oidc::Oidc;
use crate::{Error, Result, assets};

mod auth;
mod case;
mod cases;
mod desk;
mod mine;
mod public;
mod supervision;

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) pool: PgPool,
    pub(crate) intake: Intake,
    pub(crate) oidc: Arc<Oidc>,
    pub(crate) session: SessionSettings,
    /// the Content-Security-Policy of every page; forms may also go to the provider (sign-out)
    pub(crate) content_security_policy: HeaderValue,
    /// behind the ingress: the citizen is the right-most `X-Forwarded-For` hop, not the peer
    pub(crate) trust_forwarded_for: bool,
    /// the web's own service account: tokens for notification (one-time codes) and intake (a mobile's petitions)
    pub(crate) tokens: Option<Arc<pasokh_platform::auth::TokenSource>>,
    pub(crate) http: reqwest::Client,
    pub(crate) notification_url: String,
    pub(crate) one_time_code: crate::config::OneTimeCodeSettings,
    /// each province's desk events as intake last listed them, briefly: every walk-in names its
    /// event, and asking intake for the list each time would double the desk's round trips
    pub(crate) routing: crate::routing::Routing,
    pub(crate) reporting: crate::reporting::Reporting,
    /// working days for the SLA badges, as routing counts them
    pub(crate) calendar: Arc<pasokh_domain::BusinessCalendar>,
    pub(crate) templates: Arc<crate::templates::ResponseTemplates>,
    pub(crate) desk_events: Arc<
        tokio::sync::Mutex<
            std::collections::HashMap<pasokh_domain::ProvinceCode, (std::time::Instant, serde_json::Value)>,
        >,
    >,
}

/// The citizen's address, passed on to intake so its per-client limits count citizens.
pub(crate) struct CitizenAddress(pub(crate) Option<std::net::IpAddr>);

impl axum::extract::FromRequestParts<AppState> for CitizenAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .trust_forwarded_for
            .then(|| {
                let header = parts.headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
                header.rsplit(',').next()?.trim().parse().ok()
            })
            .flatten();
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip());
        Ok(Self(forwarded.or(peer)))
    }
}

/// Only our own origin's scripts, styles and fonts; forms post here, or to the provider.
pub(crate) fn content_security_policy(provider_origin: Option<&str>) -> HeaderValue {
    let form_action = provider_origin.map_or_else(|| "'self'".to_owned(), |origin| format!("'self' {origin}"));
    let policy = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
}

/// The citizen's site.
pub(crate) fn public(state: AppState) -> Router {
    Router::new()
        .route("/", get(public::home))
        .route("/petitions/new", get(public::file_form))
        .route("/petitions", post(public::file))
        .route("/receipts/{token}", get(public::receipt))
        .route("/track", get(public::track_form).post(public::track))
        .route("/track/reply", post(public::reply))
        .route("/track/rate", post(public::rate))
        .route("/my-petitions", get(mine::ask_form))
        .route("/my-petitions/code", post(mine::send_code))
        .route("/my-petitions/verify/{id}", get(mine::verify_form).post(mine::verify))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::map_response_with_state(state.clone(), security_headers))
        .with_state(state)
}

/// The service-desk console.
pub(crate) fn staff(state: AppState) -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/auth/sign-in", get(auth::sign_in))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/sign-out", post(auth::sign_out))
        .route("/desk", get(desk::events))
        .route("/desk/events", post(desk::create_event))
        .route("/desk/events/{id}", get(desk::walk_in_form))
        .route("/desk/events/{id}/walk-ins", post(desk::walk_in))
        .route("/desk/events/{id}/citizen-petitions", post(desk::citizen_petitions))
        .route("/desk/events/{id}/counter", get(desk::counter))
        .route("/desk/events/{id}/close", post(desk::close_event))
        .route("/desk/events/{id}/meetings", get(desk::meeting_form).post(desk::meeting))
        .route("/desk/slips/{token}", get(desk::slip))
        .route("/desk/sw.js", get(assets::service_worker))
        .route("/cases", get(cases::queue))
        .route("/cases/views", post(cases::save_view))
        .route("/cases/views/delete", post(cases::delete_view))
        .route("/cases/bulk", post(cases::bulk))
        .route("/cases/{id}", get(case::page))
        .route("/cases/{id}/template", post(case::insert_template))
        .route("/cases/{id}/{action}", post(case::act))
        .route("/dashboard", get(supervision::dashboard))
        .route("/dashboard.csv", get(supervision::dashboard_csv))
        .route("/desk-events/{id}/report", get(supervision::event_report))
        .route("/live", get(supervision::live))
        .route("/live/fragment", get(supervision::live_fragment))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::map_response_with_state(state.clone(), security_headers))
        .with_state(state)
}

/// The console's start: where each role works.
async fn landing(session: crate::session::StaffSession) -> Redirect {
    use pasokh_domain::Role;
    Redirect::to(match session.role {
        Role::Operator => "/desk",
        Role::Inspector => "/dashboard",
        _ => "/cases",
    })
}

/// Every page: no framing, no sniffing, only our own origin's scripts, styles and fonts.
async fn security_headers(State(state): State<AppState>, mut response: Response) -> Response {
    let AppState { content_security_policy, .. } = state;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    headers.entry("content-security-policy").or_insert(content_security_policy);
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "x-frame-options", "DENY");
    if !headers.contains_key(header::CACHE_CONTROL) {
        // pages carry personal data and CSRF tokens: never in a shared cache
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A form as posted: the first value of each name, and every value of repeated names.
pub(crate) struct Posted {
    pub(crate) values: BTreeMap<String, String>,
    pub(crate) all: Vec<(String, String)>,
}

impl Posted {
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Self {
        let mut values = BTreeMap::new();
        for (key, value) in &pairs {
            values.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Self { values, all: pairs }
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", |v| v.trim())
    }

    pub(crate) fn every(&self, name: &str) -> Vec<String> {
        self.all.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

/// The citizen site's CSRF defence (double submit): a random token in a
/// `__Host-` cookie and the same token in each form; both must match.
pub(crate) const CSRF_COOKIE: &str = "__Host-pasokh-csrf";

/// The browser's CSRF token, or a new one and the cookie that gives it to the browser.
pub(crate) fn citizen_csrf(headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, CSRF_COOKIE).filter(|t| t.len() >= 32) {
        Some(token) => (token.to_owned(), None),
        None => {
            let token = random_token();
            let set = format!("{CSRF_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Lax");
            (token, Some(set))
        }
    }
}

/// A form posted from this site with this browser's token.
pub(crate) fn check_citizen_csrf(headers: &HeaderMap, posted: &Posted) -> Result<()> {
    let cookie_token = cookie(headers, CSRF_COOKIE).unwrap_or_default();
    if is_cross_site(headers) || !same_secret(cookie_token, posted.get("csrf")) {
        return Err(Error::Csrf);
    }
    Ok(())
}

/// A console form carries the session's own CSRF token (synchronizer token).
pub(crate) fn check_staff_csrf(session: &crate::session::StaffSession, posted: &Posted) -> Result<()> {
    if same_secret(&session.csrf_token, posted.get("csrf")) { Ok(()) } else { Err(Error::Csrf) }
}

/// Adds the CSRF cookie to a page when the browser had none.
pub(crate) fn with_cookie(mut response: Response, set_cookie: Option<String>) -> Response {
    if let Some(value) = set_cookie.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Keeps a receipt for the page after the redirect; answers its random token.
#[tracing::instrument(skip_all)]
pub(crate) async fn keep_receipt(pool: &PgPool, body: &impl serde::Serialize) -> Result<String> {
    let token = random_token();
    let body = serde_json::to_value(body).map_err(|e| Error::Config(e.to_string()))?;
    sqlx::query("INSERT INTO receipts (token, body) VALUES ($1, $2)").bind(&token).bind(body).execute(pool).await?;
    sqlx::query("DELETE FROM receipts WHERE token IN (SELECT token FROM receipts WHERE created_at < now() - interval '1 day' LIMIT 100)")
        .execute(pool)
        .await?;
    Ok(token)
}

#[tracing::instrument(skip_all)]
pub(crate) async fn find_receipt<T: serde::de::DeserializeOwned>(pool: &PgPool, token: &str) -> Result<T> {
    let body: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT body FROM receipts WHERE token = $1 AND created_at > now() - interval '1 day'")
            .bind(token)
            .fetch_optional(pool)
            .await?;
    body.and_then(|b| serde_json::from_value(b).ok()).ok_or(Error::NotFound("receipt"))
}

/// A 303 to `to` (post/redirect/get).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

//! Intake's HTTP API.
mod auth;
mod conversation;
mod desk;
pub(crate) mod idempotency;
pub(crate) mod limits;
mod open311;
pub(crate) mod openapi;
mod petitions;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use pasokh_domain::{CitizenRefKey, ProvinceCode};
use pasokh_platform::auth::TokenVerifier;
use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_proto::routing::v1::case_lookup_client::CaseLookupClient;
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::submission::Submissions;

/// What every handler shares, behind one `Arc`: axum clones the state for each request, and
/// cloning these fields one by one (two topic names, the HMAC key, the routing client) cost a
/// few allocations per petition (docs/benchmarks.md, "Intake").
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub(crate) struct Shared {
    pub pool: PgPool,
    pub province: ProvinceCode,
    pub citizen_ref_key: CitizenRefKey,
    pub relay_waker: Arc<Notify>,
    /// routing's internal lookups, with intake's service token
    pub routing: CaseLookupClient<AuthorizedChannel>,
    /// where the citizen's replies and ratings are published
    pub lifecycle_topic: String,
    /// where desk events' openings, meetings and closings are published
    pub desk_topic: String,
    /// files petitions: the one pipeline every door uses
    pub submissions: Submissions,
    pub limits: Arc<limits::Limits>,
    /// checks the tokens of operators and supervisors
    pub verifier: Arc<TokenVerifier>,
    /// Open311 partners: the SHA-256 of each one's api key
    pub open311_keys: Arc<Vec<(String, [u8; 32])>>,
    /// the service accounts that may list a mobile's petitions (the web's)
    pub citizen_listing_clients: Arc<std::collections::BTreeSet<String>>,
}

/// Intake's API as one list: each entry is a route *and* its operation in the OpenAPI document
/// (utoipa-axum reads the path and method from the handler's `#[utoipa::path]`), so a route
/// cannot be served undocumented or documented unserved.
// the deprecated GET look-up stays routed, and documented as deprecated, for a deprecation period
#[allow(deprecated)]
pub(crate) fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(petitions::submit))
        .routes(routes!(petitions::status))
        .routes(routes!(petitions::lookup))
        .routes(routes!(petitions::of_mobile))
        .routes(routes!(conversation::reply))
        .routes(routes!(conversation::rate))
        .routes(routes!(desk::events::create_event, desk::events::list_events))
        .routes(routes!(desk::events::close_event))
        .routes(routes!(desk::events::event_summary))
        .routes(routes!(desk::walk_ins::register_walk_in))
        .routes(routes!(desk::walk_ins::citizen_petitions))
        .routes(routes!(desk::meetings::record_meeting))
        .routes(routes!(desk::letters::register_letter))
        .routes(routes!(open311::get, open311::post))
        .routes(routes!(open311::get_one))
        .split_for_parts()
}

pub(crate) fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    let (api, document) = api();
    let document = Arc::new(document);
    api.route("/openapi.json", get(move || openapi::document(document.clone())))
        .layer(axum::extract::DefaultBodyLimit::max(limits.settings.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(limits, limits::protect))
        .with_state(state)
}

/// The body of a POST, or 413 as problem+json when it is over the limit.
pub(crate) fn body_or_413(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> crate::Result<axum::body::Bytes> {
    body.map_err(|rejection| crate::Error::BodyRejected(rejection.status().as_u16(), rejection.body_text()))
}

//! Intake's HTTP API.
pub(crate) mod idempotency;
mod petitions;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use pasokh_domain::{CitizenRefKey, ProvinceCode};
use pasokh_proto::routing::v1::case_service_client::CaseServiceClient;
use sqlx::PgPool;
use tokio::sync::Notify;
use tonic::transport::Channel;

use crate::store::writer::PetitionWriter;

#[derive(Clone)]
pub(crate) struct AppState {
    pub pool: PgPool,
    pub province: ProvinceCode,
    pub citizen_ref_key: CitizenRefKey,
    pub relay_waker: Arc<Notify>,
    pub routing: CaseServiceClient<Channel>,
    pub writer: PetitionWriter,
    pub idempotency_ttl: Duration,
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/petitions", post(petitions::submit))
        .route("/v1/petitions/{tracking_code}", get(petitions::status))
        .with_state(state)
}

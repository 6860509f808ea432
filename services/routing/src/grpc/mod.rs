//! `CaseService`: case lookups for intake's status page and, later, officers.
use pasokh_events::lifecycle::timestamp;
use pasokh_proto::routing::v1::case_service_server::CaseService;
use pasokh_proto::routing::v1::{Case, GetCaseRequest};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{Error, store};

pub(crate) struct CaseGrpc {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl CaseService for CaseGrpc {
    async fn get_case(&self, request: Request<GetCaseRequest>) -> Result<Response<Case>, Status> {
        let id = Uuid::parse_str(&request.get_ref().petition_id)
            .map_err(|_| Status::invalid_argument("petition_id must be a UUID"))?;
        let case = store::case(&self.pool, id).await?.ok_or(Error::NotFound("case"))?;
        Ok(Response::new(Case {
            petition_id: case.petition_id.to_string(),
            tracking_code: case.tracking_code,
            province: case.province,
            category: case.category,
            status: case.status,
            organisation: case.organisation,
            unit: case.unit,
            first_response_due: Some(timestamp(case.first_response_due)),
            resolution_due: Some(timestamp(case.resolution_due)),
            updated_at: Some(timestamp(case.updated_at)),
        }))
    }
}

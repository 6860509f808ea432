//! Intake's gRPC API. `GetContact` returns personal data: internal callers only.
use pasokh_proto::intake::v1::intake_service_server::IntakeService;
use pasokh_proto::intake::v1::{Contact, GetContactRequest};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{Error, store};

pub(crate) struct IntakeGrpc {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl IntakeService for IntakeGrpc {
    async fn get_contact(&self, request: Request<GetContactRequest>) -> Result<Response<Contact>, Status> {
        let id = Uuid::parse_str(&request.get_ref().petition_id)
            .map_err(|_| Status::invalid_argument("petition_id must be a UUID"))?;
        let contact = store::contact(&self.pool, id)
            .await?
            .ok_or(Error::NotFound("petition"))?;
        Ok(Response::new(Contact {
            petition_id: contact.id.to_string(),
            tracking_code: contact.tracking_code,
            mobile: contact.mobile,
            province: contact.province,
        }))
    }
}

//! Intake's gRPC API: `IntakeService.SubmitPetition` for allow-listed partners
//! and the call centre (same rules and codes as HTTP, a rate limit per
//! partner), and `IntakeInternal` (contacts, texts) on the internal listener
//! for Pasokh's own allow-listed services only.
use std::sync::Arc;

use pasokh_domain::{CitizenRefKey, IdempotencyKey, ValidationErrors};
use pasokh_events::lifecycle::timestamp;
use pasokh_platform::auth::grpc::ClientGuard;
use pasokh_proto::intake::v1::intake_internal_server::IntakeInternal;
use pasokh_proto::intake::v1::intake_service_server::IntakeService;
use pasokh_proto::intake::v1::{
    Contact, Contacts, FoundText, GetContactRequest, GetContactsRequest, GetTextRequest, GetTextsRequest,
    SubmitPetitionRequest, SubmitPetitionResponse, Text, Texts,
};
use prost::Message as _;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::http::limits::RateLimiter;
use crate::petitions::{AttachmentInput, Filer, PetitionInput, check_filer};
use crate::submission::Submissions;
use crate::{Error, store};

pub(crate) struct IntakeGrpc {
    pub citizen_ref_key: CitizenRefKey,
    pub submissions: Submissions,
    /// partners allowed to file
    pub partners: ClientGuard,
    pub per_partner: Arc<RateLimiter>,
}

/// `IntakeInternal`: personal data for Pasokh's own services.
pub(crate) struct IntakeInternalGrpc {
    pub pool: PgPool,
    pub services: ClientGuard,
}

fn non_empty(value: &str) -> Option<String> {
    Some(value.to_owned()).filter(|v| !v.trim().is_empty())
}

impl IntakeGrpc {
    fn input(request: &SubmitPetitionRequest) -> PetitionInput {
        PetitionInput {
            national_id: non_empty(&request.national_id),
            mobile: non_empty(&request.mobile),
            province: non_empty(&request.province),
            category: non_empty(&request.category),
            kind: non_empty(&request.kind),
            channel: non_empty(&request.channel),
            text: non_empty(&request.text),
            county: non_empty(&request.county),
            desk_event_id: non_empty(&request.desk_event_id),
            attachments: Some(
                request
                    .attachments
                    .iter()
                    .map(|a| AttachmentInput {
                        name: Some(a.name.clone()),
                        media_type: Some(a.r#type.clone()),
                        size: Some(a.size),
                        checksum: Some(a.checksum.clone()),
                    })
                    .collect(),
            ),
        }
    }
}

fn response_from_json(body: &serde_json::Value) -> SubmitPetitionResponse {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let submitted_at = body["submitted_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| timestamp(t.with_timezone(&chrono::Utc)));
    SubmitPetitionResponse {
        petition_id: text("id"),
        tracking_code: text("tracking_code"),
        status: text("status"),
        submitted_at,
        submitted_at_jalali: text("submitted_at_jalali"),
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeGrpc {
    #[tracing::instrument(skip_all, fields(channel = %request.get_ref().channel))]
    async fn submit_petition(
        &self,
        request: Request<SubmitPetitionRequest>,
    ) -> Result<Response<SubmitPetitionResponse>, Status> {
        let partner = self.partners.check(&request).await?;
        if let Err(wait) = self.per_partner.check(&partner.client_id) {
            return Err(Error::RateLimited(wait, "this partner filed too many petitions; retry later").into());
        }
        let request = request.into_inner();
        let key = match non_empty(&request.idempotency_key) {
            None => None,
            Some(raw) => Some(
                IdempotencyKey::parse(&raw)
                    .map_err(|e| Error::Validation(ValidationErrors { errors: vec![e.at("idempotency_key")] }))?,
            ),
        };
        let mut fingerprint = request.clone();
        fingerprint.idempotency_key.clear();
        let hash = Sha256::digest(fingerprint.encode_to_vec()).to_vec();
        // one partner's key never answers another partner's retry
        let claim = self.submissions.claim(&format!("grpc SubmitPetition {}", partner.client_id), key.as_ref(), hash);
        let parse = || {
            let mut petition =
                Self::input(&request).parse(self.submissions.province, &self.citizen_ref_key).map_err(Error::from)?;
            check_filer(&petition, Filer::Partner).map_err(Error::from)?;
            petition.filed_by = Some(partner.client_id.clone());
            Ok(petition)
        };
        // a retry is answered from the stored 201 body; a first answer is built from the same body
        let filed = self.submissions.file(claim, parse).await?;
        Ok(Response::new(response_from_json(filed.answer())))
    }
}

#[tonic::async_trait]
impl IntakeInternal for IntakeInternalGrpc {
    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn get_contact(&self, request: Request<GetContactRequest>) -> Result<Response<Contact>, Status> {
        self.services.check(&request).await?;
        let id = Uuid::parse_str(&request.get_ref().petition_id)
            .map_err(|_| Status::invalid_argument("petition_id must be a UUID"))?;
        let contact = store::contact(&self.pool, id).await?.ok_or(Error::NotFound("petition"))?;
        Ok(Response::new(Contact {
            petition_id: contact.id.to_string(),
            tracking_code: contact.tracking_code.to_string(),
            mobile: contact.mobile.as_str().to_owned(),
            province: contact.province.to_string(),
        }))
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn get_text(&self, request: Request<GetTextRequest>) -> Result<Response<Text>, Status> {
        self.services.check(&request).await?;
        let id = Uuid::parse_str(&request.get_ref().petition_id)
            .map_err(|_| Status::invalid_argument("petition_id must be a UUID"))?;
        let text = match request.get_ref().reply_id.as_str() {
            "" => store::text(&self.pool, id).await?.ok_or(Error::NotFound("petition"))?,
            reply => {
                let reply_id =
                    Uuid::parse_str(reply).map_err(|_| Status::invalid_argument("reply_id must be a UUID"))?;
                store::reply_text(&self.pool, id, reply_id).await?.ok_or(Error::NotFound("reply"))?
            }
        };
        Ok(Response::new(Text { text }))
    }

    #[tracing::instrument(skip_all, fields(items = request.get_ref().items.len()))]
    async fn get_texts(&self, request: Request<GetTextsRequest>) -> Result<Response<Texts>, Status> {
        self.services.check(&request).await?;
        let items = &request.get_ref().items;
        if items.len() > MAX_LOOKUPS {
            return Err(Status::invalid_argument("at most 1000 texts per call"));
        }
        let mut wanted = Vec::with_capacity(items.len());
        for item in items {
            let id = Uuid::parse_str(&item.petition_id)
                .map_err(|_| Status::invalid_argument("petition_id must be a UUID"))?;
            let reply = match item.reply_id.as_str() {
                "" => None,
                reply => Some(Uuid::parse_str(reply).map_err(|_| Status::invalid_argument("reply_id must be a UUID"))?),
            };
            wanted.push((id, reply));
        }
        let items = store::texts(&self.pool, &wanted)
            .await?
            .into_iter()
            .map(|(petition_id, reply_id, text)| FoundText {
                petition_id: petition_id.to_string(),
                reply_id: reply_id.map(|r| r.to_string()).unwrap_or_default(),
                text,
            })
            .collect();
        Ok(Response::new(Texts { items }))
    }

    #[tracing::instrument(skip_all, fields(items = request.get_ref().petition_ids.len()))]
    async fn get_contacts(&self, request: Request<GetContactsRequest>) -> Result<Response<Contacts>, Status> {
        self.services.check(&request).await?;
        let ids = &request.get_ref().petition_ids;
        if ids.len() > MAX_LOOKUPS {
            return Err(Status::invalid_argument("at most 1000 contacts per call"));
        }
        let ids = ids
            .iter()
            .map(|id| Uuid::parse_str(id).map_err(|_| Status::invalid_argument("petition_id must be a UUID")))
            .collect::<Result<Vec<Uuid>, Status>>()?;
        let items = store::contacts(&self.pool, &ids)
            .await?
            .into_iter()
            .map(|contact| Contact {
                petition_id: contact.id.to_string(),
                tracking_code: contact.tracking_code.to_string(),
                mobile: contact.mobile.as_str().to_owned(),
                province: contact.province.to_string(),
            })
            .collect();
        Ok(Response::new(Contacts { items }))
    }
}

/// The most look-ups one batched call may ask for.
const MAX_LOOKUPS: usize = 1000;

//! Filing a petition, whichever door it comes in by: the citizen's JSON, a desk's walk-in, a
//! letter, an Open311 partner's form or a gRPC partner's call. Every door does the same things
//! in the same order, here and nowhere else:
//!
//! 1. the stored answer when the request is a retry of one already answered (same key, same body),
//! 2. the request parsed into a [`NewPetition`] (the door's own shape, the same domain rules),
//! 3. the mobile's filing budget, shared by all doors,
//! 4. the group-commit write, which claims the key with the petition in one transaction,
//! 5. the answer, or — when a concurrent request with the same key won — that request's answer.
//!
//! A door turns its request into an [`IdempotencyClaim`] and a parser, and the [`Filed`] back
//! into its own answer (201 JSON, GeoReport, protobuf); the HTTP doors do the first half with
//! the [`crate::http::idempotency::IdempotentJson`] extractor.
use std::sync::Arc;
use std::time::Duration;

use pasokh_domain::{IdempotencyKey, ProvinceCode};
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::http::limits::Limits;
use crate::store::NewPetition;
use crate::store::idempotency::{IdempotencyClaim, PreviousAnswer, previous_answer};
use crate::store::writer::{PetitionWriter, Submission, Written};
use crate::{Error, Result};

/// What filing needs, shared by the HTTP and gRPC servers.
#[derive(Clone)]
pub(crate) struct Submissions {
    pub pool: PgPool,
    pub province: ProvinceCode,
    pub writer: PetitionWriter,
    pub limits: Arc<Limits>,
    pub relay_waker: Arc<Notify>,
    pub idempotency_ttl: Duration,
}

/// How a filing ended.
#[derive(Debug)]
pub(crate) enum Filed {
    /// written now; `answer` is the 201 body, also kept with the key
    Accepted { answer: serde_json::Value },
    /// a retry: the answer the first request got
    Replayed(PreviousAnswer),
}

impl Filed {
    /// The 201 body: given now, or stored with the key and given again.
    pub(crate) fn answer(&self) -> &serde_json::Value {
        match self {
            Filed::Accepted { answer, .. } => answer,
            Filed::Replayed(previous) => &previous.body,
        }
    }
}

impl Submissions {
    /// The claim a request with `key` makes on `operation` (`POST /v1/petitions`, a partner's gRPC
    /// scope, …); `None` without a key.
    pub(crate) fn claim(
        &self,
        operation: &str,
        key: Option<&IdempotencyKey>,
        request_hash: Vec<u8>,
    ) -> Option<IdempotencyClaim> {
        key.map(|key| IdempotencyClaim::new(operation, self.province, key.as_str(), request_hash, self.idempotency_ttl))
    }

    /// The answer the claimed key already got, if any (`IdempotencyKeyReused` when it went with
    /// another request). Doors that create something other than a petition use this on its own.
    pub(crate) async fn previous(&self, claim: Option<&IdempotencyClaim>) -> Result<Option<PreviousAnswer>> {
        match claim {
            Some(claim) => previous_answer(&self.pool, claim).await,
            None => Ok(None),
        }
    }

    /// Files one petition: replay, parse, budget, write (see the module's comment). `parse` runs
    /// only when the request is not a retry, so a retry is answered even if the rules changed since.
    #[tracing::instrument(name = "file petition", skip_all)]
    pub(crate) async fn file(
        &self,
        claim: Option<IdempotencyClaim>,
        parse: impl FnOnce() -> Result<NewPetition>,
    ) -> Result<Filed> {
        if let Some(answer) = self.previous(claim.as_ref()).await? {
            return Ok(Filed::Replayed(answer));
        }
        let petition = parse()?;
        self.limits
            .petitions_per_mobile
            .check(petition.mobile.as_str())
            .map_err(|wait| Error::RateLimited(wait, "too many petitions from this mobile"))?;
        let (channel, filed_by) = (petition.channel, petition.filed_by.clone());
        match self.writer.write(Submission { petition, idempotency: claim.clone() }).await? {
            Written::Accepted { accepted, response } => {
                self.relay_waker.notify_one();
                tracing::info!(petition_id = %accepted.id, %channel, filed_by, "petition accepted");
                Ok(Filed::Accepted { answer: response })
            }
            // a concurrent request with the same key won: answer as it was answered
            Written::KeyAlreadyUsed => {
                self.previous(claim.as_ref()).await?.map(Filed::Replayed).ok_or(Error::IdempotencyKeyReused)
            }
        }
    }
}

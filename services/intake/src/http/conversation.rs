//! The citizen's side of the conversation: a reply when the unit asked for
//! information, and a rating (1–5) of the unit's response. Both need the
//! tracking code and the mobile it was filed with, and both reach routing as
//! lifecycle events through intake's outbox.
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use pasokh_domain::{FieldError, Mobile, TrackingCode, ValidationErrors, format_jalali, normalize_text};
use pasokh_events::lifecycle;
use pasokh_platform::error_code::ErrorCode;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{InfoProvided, Rated};
use pasokh_proto::routing::v1::GetCaseRequest;
use serde::Deserialize;
use uuid::Uuid;

use super::{AppState, idempotency};
use crate::http::idempotency::{IdempotentJson, NextAction};
use crate::store::idempotency::IdempotencyClaim;
use crate::store::{self, StoredPetition};
use crate::{Error, Result};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ReplyInput {
    /// the mobile the petition was filed with
    mobile: Option<String>,
    /// the information the unit asked for, 2–4000 characters
    text: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RatingInput {
    /// the mobile the petition was filed with
    mobile: Option<String>,
    /// 1 (very poor) to 5 (very good), once per response; 1–2 open an appeal to the provincial director
    score: Option<i64>,
    /// optional, up to 1000 characters
    comment: Option<String>,
}

const REPLY_MAX: usize = 4000;
const COMMENT_MAX: usize = 1000;

/// The petition for the code and mobile, and the case's status at routing.
async fn petition_and_status(
    state: &AppState,
    errors: &mut ValidationErrors,
    raw_code: &str,
    raw_mobile: Option<&str>,
) -> Result<Option<Found>> {
    let code = errors.check("tracking_code", TrackingCode::parse(raw_code));
    let mobile = match raw_mobile {
        Some(raw) => errors.check("mobile", Mobile::parse(raw)),
        None => {
            errors.push(FieldError::new("mobile", "field_missing", "mobile is required"));
            None
        }
    };
    let (Some(code), Some(mobile)) = (code, mobile) else { return Ok(None) };
    if !errors.errors.is_empty() {
        return Ok(None); // every field's problem at once, before anything is looked up
    }
    state.limits.check_citizen_lookup(code.as_str(), mobile.as_str())?;
    let petition = store::find_for_citizen(&state.pool, &code, &mobile).await?.ok_or(Error::NotFound("petition"))?;
    let mut request = tonic::Request::new(GetCaseRequest { petition_id: petition.id.to_string() });
    request.set_timeout(Duration::from_secs(2));
    let (status, responded_at) = match state.routing.clone().get_case(request).await {
        Ok(case) => {
            let case = case.into_inner();
            (case.status, pasokh_events::lifecycle::from_timestamp(case.responded_at.as_ref()))
        }
        Err(status) if status.code() == tonic::Code::NotFound => ("submitted".to_owned(), None),
        Err(status) => {
            tracing::warn!(error = %status, "routing unavailable for the citizen's reply");
            return Err(Error::Unavailable(
                "the case cannot be checked right now; nothing was saved, please retry".into(),
            ));
        }
    };
    Ok(Some(Found { petition, status, responded_at }))
}

/// The citizen's petition and what routing says of its case.
struct Found {
    petition: StoredPetition,
    status: String,
    /// the unit's last response
    responded_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The citizen's reply or rating, as received.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct MessageDocument {
    #[schema(value_type = String)]
    id: Uuid,
    tracking_code: String,
    /// reply | rating
    kind: &'static str,
    /// ratings only
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<u32>,
    #[schema(value_type = String, format = DateTime)]
    received_at: chrono::DateTime<chrono::Utc>,
    received_at_jalali: String,
}

/// A reply or a rating, ready to store.
struct Message<'a> {
    id: Uuid,
    /// reply | rating
    kind: &'static str,
    text: &'a str,
    score: Option<u32>,
    event: Body,
}

/// Stores the message, its lifecycle event and the key's answer in the caller's transaction
/// (the key already claimed in it), commits, and answers 201.
async fn save(
    state: &AppState,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    claim: Option<&IdempotencyClaim>,
    petition: &StoredPetition,
    message: Message<'_>,
) -> Result<Response> {
    let score = message.score.map(|s| s as i32);
    store::insert_message(&mut tx, message.id, petition, message.kind, message.text, score).await?;
    let mut event = lifecycle::new_event(
        petition.id,
        &petition.province.to_string(),
        petition.tracking_code.as_str(),
        message.event,
    );
    event.sequence = store::next_event_sequence(&mut tx, petition.id).await?;
    let source = format!("//pasokh/intake/{}", state.province);
    let outbox = lifecycle::outbox_message(&state.lifecycle_topic, &source, &event)
        .ok_or_else(|| Error::Config("lifecycle event could not be encoded".into()))?;
    pasokh_events::outbox::enqueue(&mut tx, &outbox).await?;
    let now = chrono::Utc::now();
    let answer = MessageDocument {
        id: message.id,
        tracking_code: petition.tracking_code.to_string(),
        kind: message.kind,
        score: message.score,
        received_at: now,
        received_at_jalali: format_jalali(pasokh_domain::tehran_date(now)),
    };
    let response = idempotency::commit_created(tx, claim, &answer).await;
    state.relay_waker.notify_one();
    response
}

/// `POST /v1/petitions/{tracking_code}/replies`: the citizen answers the unit's question.
#[utoipa::path(post, path = "/v1/petitions/{tracking_code}/replies", tag = "petitions",
    params(("tracking_code" = String, Path, description = "12 digits"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = ReplyInput, content_type = "application/json"),
    responses(
        (status = 201, description = "the reply reached the case", body = MessageDocument),
        (status = 404, description = "no petition with this code and mobile", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "the unit has not asked for information (`reply_not_requested`)", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        crate::http::openapi::CreateProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn reply(
    State(state): State<AppState>,
    Path(raw_code): Path<String>,
    request: IdempotentJson,
) -> Result<Response> {
    let (input, claim): (ReplyInput, _) = match request.begin(&state).await? {
        NextAction::ReturnSavedAnswer(answer) => return Ok(answer),
        NextAction::StartProcessing(input, claim) => (input, claim),
    };
    let mut errors = ValidationErrors::default();
    let text = normalize_text(input.text.as_deref().unwrap_or_default());
    match text.chars().count() {
        0 if input.text.is_none() => errors.push(FieldError::new("text", "field_missing", "text is required")),
        n if n < 2 => errors.push(FieldError::new("text", "text_too_short", "text must have at least 2 characters")),
        n if n > REPLY_MAX => errors.push(FieldError::new(
            "text",
            "text_too_long",
            format!("text must have at most {REPLY_MAX} characters"),
        )),
        _ => {}
    }
    let found = petition_and_status(&state, &mut errors, &raw_code, input.mobile.as_deref()).await?;
    errors.into_result()?;
    let Some(Found { petition, status, .. }) = found else { return Err(ValidationErrors::default().into()) };
    if status != "info_requested" {
        return Err(Error::Conflict(
            ErrorCode::ReplyNotRequested,
            format!("the unit has not asked for information; the case is {status}"),
        ));
    }
    let id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    if let Some(answer) = idempotency::claim(&state, &mut tx, claim.as_ref()).await? {
        return Ok(answer);
    }
    let text_length = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    let event = Body::InfoProvided(InfoProvided { reply_id: id.to_string(), text_length });
    save(&state, tx, claim.as_ref(), &petition, Message { id, kind: "reply", text: &text, score: None, event }).await
}

/// `POST /v1/petitions/{tracking_code}/rating`: the citizen rates the unit's response, once.
#[utoipa::path(post, path = "/v1/petitions/{tracking_code}/rating", tag = "petitions",
    params(("tracking_code" = String, Path, description = "12 digits"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = RatingInput, content_type = "application/json"),
    responses(
        (status = 201, description = "recorded; a poor rating opens an appeal", body = MessageDocument),
        (status = 404, description = "no petition with this code and mobile", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "nothing to rate yet (`rating_not_open`) or already rated (`already_rated`)", body = crate::http::openapi::ProblemDocument, content_type = "application/problem+json"),
        crate::http::openapi::CreateProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn rate(
    State(state): State<AppState>,
    Path(raw_code): Path<String>,
    request: IdempotentJson,
) -> Result<Response> {
    let (input, claim): (RatingInput, _) = match request.begin(&state).await? {
        NextAction::ReturnSavedAnswer(answer) => return Ok(answer),
        NextAction::StartProcessing(input, claim) => (input, claim),
    };
    let mut errors = ValidationErrors::default();
    let score = match input.score {
        Some(score @ 1..=5) => Some(score as u32),
        Some(_) => {
            errors.push(FieldError::new("score", "score_out_of_range", "score is 1 (very poor) to 5 (very good)"));
            None
        }
        None => {
            errors.push(FieldError::new("score", "field_missing", "score is required"));
            None
        }
    };
    let comment = normalize_text(input.comment.as_deref().unwrap_or_default());
    if comment.chars().count() > COMMENT_MAX {
        errors.push(FieldError::new("comment", "text_too_long", format!("at most {COMMENT_MAX} characters")));
    }
    let found = petition_and_status(&state, &mut errors, &raw_code, input.mobile.as_deref()).await?;
    errors.into_result()?;
    let (Some(Found { petition, status, responded_at }), Some(score)) = (found, score) else {
        return Err(ValidationErrors::default().into());
    };
    if !["responded", "closed"].contains(&status.as_str()) {
        return Err(Error::Conflict(
            ErrorCode::RatingNotOpen,
            format!("there is no response to rate yet; the case is {status}"),
        ));
    }
    let id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    if let Some(answer) = idempotency::claim(&state, &mut tx, claim.as_ref()).await? {
        return Ok(answer);
    }
    // each response is rated once: two ratings sent at once wait for each other here, and the
    // second finds the first (a response after a reopening can be rated again)
    store::lock_petition(&mut tx, petition.id).await?;
    if store::rated_since(&mut tx, petition.id, responded_at).await? {
        return Err(Error::Conflict(ErrorCode::AlreadyRated, "this petition's response was already rated".into()));
    }
    let message = Message {
        id,
        kind: "rating",
        text: &comment,
        score: Some(score),
        event: Body::Rated(Rated { score, has_comment: !comment.is_empty() }),
    };
    save(&state, tx, claim.as_ref(), &petition, message).await
}

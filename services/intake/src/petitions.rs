//! Filing a petition, whatever the channel: parse every field into domain
//! types, then hand it to the group-commit writer with its `Submitted` event.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pasokh_domain::{
    Attachment, CaseStatus, CategoryCode, Channel, CitizenRef, CitizenRefKey, FieldError, Mobile, NationalId,
    PetitionKind, PetitionText, ProvinceCode, ValidationErrors, format_jalali, parse_county,
};
use pasokh_events::lifecycle;
use pasokh_events::outbox::OutboxMessage;
use pasokh_proto::events::v1::Submitted;
use pasokh_proto::events::v1::petition_event::Body;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::NewPetition;
use crate::store::writer::Accepted;
use crate::{Error, Result};

/// Who files a petition outside the desk API, and so which channels they can truthfully claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filer {
    /// a citizen on the public API: the web only
    Citizen,
    /// an authenticated partner system or the call centre: anything but the desk
    Partner,
}

/// Desk petitions come only from the desk API, where an operator's token proves the desk event;
/// a citizen can claim nothing but the web.
pub(crate) fn check_filer(petition: &NewPetition, filer: Filer) -> std::result::Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    match filer {
        Filer::Citizen if petition.channel != Channel::Web => errors.push(FieldError::new(
            "channel",
            "channel_not_allowed",
            "the public API files web petitions only; desk, letter and phone petitions are registered by staff",
        )),
        Filer::Partner if petition.channel == Channel::Desk => errors.push(FieldError::new(
            "channel",
            "channel_not_allowed",
            "desk petitions are registered by a desk operator through the desk API",
        )),
        _ => {}
    }
    if petition.desk_event_id.is_some() {
        errors.push(FieldError::new(
            "desk_event_id",
            "desk_event_not_allowed",
            "only a desk operator registers petitions at a desk event",
        ));
    }
    errors.into_result()
}

/// A petition as a client sent it: every field optional so that a missing one
/// is reported as a field error next to the others, not as a parse failure.
/// A petition as filed over HTTP.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub(crate) struct PetitionInput {
    pub national_id: Option<String>,
    pub mobile: Option<String>,
    pub province: Option<String>,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    pub text: Option<String>,
    pub county: Option<String>,
    pub attachments: Option<Vec<AttachmentInput>>,
    pub desk_event_id: Option<String>,
}

/// Metadata of an attached file.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub(crate) struct AttachmentInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub media_type: Option<String>,
    pub size: Option<u64>,
    pub checksum: Option<String>,
}

pub(crate) fn required<T>(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Option<T> {
    match value {
        Some(value) if !value.trim().is_empty() => errors.check(field, parse(value)),
        _ => {
            errors.push(FieldError::new(field, "field_missing", format!("{field} is required")));
            None
        }
    }
}

fn optional<T>(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Option<T> {
    value.map(str::trim).filter(|v| !v.is_empty()).and_then(|v| errors.check(field, parse(v)))
}

impl PetitionInput {
    /// Parses every field, reporting all errors at once. A petition for another
    /// province than this deployment's is refused: each province runs its own intake.
    pub(crate) fn parse(&self, deployment: ProvinceCode, key: &CitizenRefKey) -> Result<NewPetition, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let national_id = required(&mut errors, "national_id", self.national_id.as_deref(), NationalId::parse);
        let mobile = required(&mut errors, "mobile", self.mobile.as_deref(), Mobile::parse);
        let province = match self.province.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => Some(deployment),
            Some(raw) => errors.check("province", ProvinceCode::parse(raw)).and_then(|p| {
                if p == deployment {
                    Some(p)
                } else {
                    errors.push(FieldError::new(
                        "province",
                        "province_mismatch",
                        format!("this intake files petitions for {deployment}; use the intake of {p}"),
                    ));
                    None
                }
            }),
        };
        let category = required(&mut errors, "category", self.category.as_deref(), CategoryCode::parse);
        let kind = required(&mut errors, "kind", self.kind.as_deref(), PetitionKind::parse);
        let channel = required(&mut errors, "channel", self.channel.as_deref(), Channel::parse);
        let text = required(&mut errors, "text", self.text.as_deref(), PetitionText::parse);
        let county = optional(&mut errors, "county", self.county.as_deref(), parse_county);
        let desk_event_id = optional(&mut errors, "desk_event_id", self.desk_event_id.as_deref(), |raw| {
            Uuid::parse_str(raw)
                .map_err(|_| FieldError::new("desk_event_id", "desk_event_id_format", "desk_event_id must be a UUID"))
        });
        let attachments = parse_attachments(&mut errors, self.attachments.as_deref().unwrap_or_default());
        match (national_id, mobile, province, category, kind, channel, text) {
            (
                Some(national_id),
                Some(mobile),
                Some(province),
                Some(category),
                Some(kind),
                Some(channel),
                Some(text),
            ) if errors.is_empty() => Ok(NewPetition {
                id: Uuid::now_v7(),
                province,
                citizen_ref: CitizenRef::derive(key, &national_id),
                national_id,
                mobile,
                category,
                kind,
                channel,
                text,
                desk_event_id,
                county,
                attachments,
                letter: None,
                on_spot_answer: None,
                filed_by: None,
                repeat_of: None,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_attachments(errors: &mut ValidationErrors, inputs: &[AttachmentInput]) -> Vec<Attachment> {
    if inputs.len() > Attachment::MAX_COUNT {
        errors.push(FieldError::new(
            "attachments",
            "attachments_too_many",
            format!("at most {} attachments", Attachment::MAX_COUNT),
        ));
        return Vec::new();
    }
    inputs
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let parsed = Attachment::parse(
                i,
                a.name.as_deref().unwrap_or_default(),
                a.media_type.as_deref().unwrap_or_default(),
                a.size.unwrap_or_default(),
                a.checksum.as_deref().unwrap_or_default(),
            );
            match parsed {
                Ok(attachment) => Some(attachment),
                Err(error) => {
                    errors.push(error);
                    None
                }
            }
        })
        .collect()
}

/// The body of a 201, also stored with an `Idempotency-Key` to answer retries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct SubmittedResponse {
    pub id: String,
    pub tracking_code: String,
    pub status: &'static str,
    pub status_fa: &'static str,
    pub province: String,
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: DateTime<Utc>,
    pub submitted_at_jalali: String,
    pub message_fa: String,
}

impl SubmittedResponse {
    pub(crate) fn new(petition: &NewPetition, accepted: &Accepted) -> Self {
        let code = accepted.tracking_code.to_string();
        let status = if petition.on_spot_answer.is_some() { CaseStatus::Closed } else { CaseStatus::Submitted };
        Self {
            id: accepted.id.to_string(),
            message_fa: format!("درخواست شما ثبت شد. کد رهگیری: {code}"),
            tracking_code: code,
            status: status.as_str(),
            status_fa: status.label_fa(),
            province: petition.province.to_string(),
            submitted_at: accepted.submitted_at,
            submitted_at_jalali: format_jalali(pasokh_domain::tehran_date(accepted.submitted_at)),
        }
    }
}

/// What the writer stores beside each accepted petition: its `Submitted` event and the answer
/// kept with its idempotency key.
#[derive(Debug, Clone)]
pub(crate) struct SubmittedRecorder {
    pub lifecycle_topic: String,
}

impl SubmittedRecorder {
    pub(crate) fn event(
        &self,
        petition: &NewPetition,
        accepted: &Accepted,
        trace: &BTreeMap<String, String>,
    ) -> Result<OutboxMessage> {
        let mut event = lifecycle::new_event(
            petition.id,
            &petition.province.to_string(),
            accepted.tracking_code.as_str(),
            Body::Submitted(Submitted {
                category: petition.category.to_string(),
                kind: petition.kind.to_string(),
                channel: petition.channel.to_string(),
                citizen_ref: petition.citizen_ref.as_str().to_owned(),
                text_length: petition.text.as_str().chars().count() as u32,
                desk_event_id: petition.desk_event_id.map(|id| id.to_string()).unwrap_or_default(),
                county: petition.county.clone().unwrap_or_default(),
                resolved_on_spot: petition.on_spot_answer.is_some(),
                attachment_count: petition.attachments.len() as u32,
                repeat_of: petition.repeat_of.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default(),
            }),
        );
        event.sequence = 1; // intake's first event of every petition
        let source = format!("//pasokh/intake/{}", petition.province);
        let mut message = lifecycle::outbox_message(&self.lifecycle_topic, &source, &event)
            .ok_or_else(|| Error::Config("lifecycle event could not be encoded".into()))?;
        message.headers.extend(trace.clone());
        Ok(message)
    }

    pub(crate) fn response(&self, petition: &NewPetition, accepted: &Accepted) -> serde_json::Value {
        serde_json::to_value(SubmittedResponse::new(petition, accepted)).unwrap_or_default()
    }
}

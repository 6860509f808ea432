//! Filing a petition, whatever the channel: parse every field, then store the
//! petition and its `Submitted` event in one transaction.
use chrono::{DateTime, Utc};
use pasokh_domain::{
    CategoryCode, Channel, CitizenRef, CitizenRefKey, FieldError, Mobile, NationalId, PetitionKind, PetitionText,
    ProvinceCode, TrackingCode, ValidationErrors,
};
use pasokh_events::lifecycle;
use pasokh_proto::events::v1::Submitted;
use pasokh_proto::events::v1::petition_event::Body;
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{self, NewPetition};
use crate::{Error, Result};

/// A petition as a client sent it: every field optional so that a missing one
/// is reported as a field error next to the others, not as a parse failure.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PetitionInput {
    pub national_id: Option<String>,
    pub mobile: Option<String>,
    pub province: Option<String>,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    pub text: Option<String>,
    pub desk_event_id: Option<String>,
}

fn required<T>(
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

impl PetitionInput {
    /// Parses every field, reporting all errors at once. A petition for another
    /// province than this deployment's is refused: each province runs its own intake.
    pub(crate) fn parse(&self, deployment: ProvinceCode, key: &CitizenRefKey) -> Result<NewPetition, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let national_id = required(
            &mut errors,
            "national_id",
            self.national_id.as_deref(),
            NationalId::parse,
        );
        let mobile = required(&mut errors, "mobile", self.mobile.as_deref(), Mobile::parse);
        let province = match self.province.as_deref() {
            None => Some(deployment),
            Some(raw) => errors.check("province", ProvinceCode::parse(raw)).and_then(|p| {
                if p == deployment {
                    Some(p)
                } else {
                    errors.push(FieldError::new(
                        "province",
                        "province_mismatch",
                        format!("this service desk files petitions for {deployment}; use the intake of {p}"),
                    ));
                    None
                }
            }),
        };
        let category = required(&mut errors, "category", self.category.as_deref(), CategoryCode::parse);
        let kind = required(&mut errors, "kind", self.kind.as_deref(), PetitionKind::parse);
        let channel = required(&mut errors, "channel", self.channel.as_deref(), Channel::parse);
        let text = required(&mut errors, "text", self.text.as_deref(), PetitionText::parse);
        let desk_event_id = match self.desk_event_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => errors.check(
                "desk_event_id",
                Uuid::parse_str(raw).map_err(|_| {
                    FieldError::new("desk_event_id", "desk_event_id_format", "desk_event_id must be a UUID")
                }),
            ),
        };
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
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub id: Uuid,
    pub tracking_code: TrackingCode,
    pub submitted_at: DateTime<Utc>,
}

/// Stores the petition and its `Submitted` event atomically. Returns only after the commit.
pub(crate) async fn submit(pool: &PgPool, topic: &str, petition: &NewPetition) -> Result<Accepted> {
    const ATTEMPTS: usize = 5;
    let source = format!("//pasokh/intake/{}", petition.province);
    for _ in 0..ATTEMPTS {
        let tracking_code = TrackingCode::generate(petition.province, &mut rand::thread_rng());
        let mut tx = pool.begin().await?;
        let Some(submitted_at) = store::insert_petition(&mut tx, petition, &tracking_code).await? else {
            // a 1-in-10⁹ collision: draw another code
            tx.rollback().await?;
            continue;
        };
        let event = lifecycle::new_event(
            petition.id,
            &petition.province.to_string(),
            tracking_code.as_str(),
            Body::Submitted(Submitted {
                category: petition.category.to_string(),
                kind: petition.kind.to_string(),
                channel: petition.channel.to_string(),
                citizen_ref: petition.citizen_ref.as_str().to_owned(),
                text_length: petition.text.as_str().chars().count() as u32,
                desk_event_id: petition.desk_event_id.map(|id| id.to_string()).unwrap_or_default(),
            }),
        );
        let message = lifecycle::outbox_message(topic, &source, &event)
            .ok_or_else(|| Error::Config("lifecycle event could not be encoded".into()))?;
        store::enqueue_event(&mut tx, &message).await?;
        tx.commit().await?;
        tracing::info!(
            tracking_code = %tracking_code,
            province = %petition.province,
            category = %petition.category,
            channel = %petition.channel,
            "petition accepted"
        );
        return Ok(Accepted {
            id: petition.id,
            tracking_code,
            submitted_at,
        });
    }
    Err(Error::Config("could not draw a free tracking code".into()))
}

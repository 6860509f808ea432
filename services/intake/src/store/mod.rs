//! Intake's own tables: petitions (with contact data) and the outbox.
use chrono::{DateTime, Utc};
use pasokh_domain::{
    CategoryCode, Channel, CitizenRef, Mobile, NationalId, PetitionKind, PetitionText, ProvinceCode, TrackingCode,
};
use pasokh_events::outbox::{self, OutboxMessage};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::Result;

/// A petition that passed every check, ready to store.
#[derive(Debug, Clone)]
pub(crate) struct NewPetition {
    pub id: Uuid,
    pub province: ProvinceCode,
    pub national_id: NationalId,
    pub mobile: Mobile,
    pub citizen_ref: CitizenRef,
    pub category: CategoryCode,
    pub kind: PetitionKind,
    pub channel: Channel,
    pub text: PetitionText,
    pub desk_event_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredPetition {
    pub id: Uuid,
    pub province: String,
    pub tracking_code: String,
    pub category: String,
    pub kind: String,
    pub channel: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) struct Contact {
    pub id: Uuid,
    pub province: String,
    pub tracking_code: String,
    pub mobile: String,
}

/// Inserts the petition; `false` when its tracking code is already taken (the caller draws another).
pub(crate) async fn insert_petition(
    conn: &mut PgConnection,
    petition: &NewPetition,
    tracking_code: &TrackingCode,
) -> Result<Option<DateTime<Utc>>> {
    let row = sqlx::query(
        "INSERT INTO petitions (id, province, tracking_code, national_id, mobile, citizen_ref, category, kind, channel, body, desk_event_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (province, tracking_code) DO NOTHING RETURNING created_at",
    )
    .bind(petition.id)
    .bind(petition.province.to_string())
    .bind(tracking_code.as_str())
    .bind(petition.national_id.as_str())
    .bind(petition.mobile.as_str())
    .bind(petition.citizen_ref.as_str())
    .bind(petition.category.as_str())
    .bind(petition.kind.as_str())
    .bind(petition.channel.as_str())
    .bind(petition.text.as_str())
    .bind(petition.desk_event_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.get("created_at")))
}

pub(crate) async fn enqueue_event(conn: &mut PgConnection, message: &OutboxMessage) -> Result<()> {
    outbox::enqueue(conn, message).await?;
    Ok(())
}

/// The petition with this tracking code *and* mobile; `None` for a wrong code and a wrong mobile alike.
pub(crate) async fn find_for_citizen(
    pool: &PgPool,
    code: &TrackingCode,
    mobile: &Mobile,
) -> Result<Option<StoredPetition>> {
    let row = sqlx::query(
        "SELECT id, province, tracking_code, category, kind, channel, created_at FROM petitions \
         WHERE province = $1 AND tracking_code = $2 AND mobile = $3",
    )
    .bind(code.province().to_string())
    .bind(code.as_str())
    .bind(mobile.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| StoredPetition {
        id: r.get("id"),
        province: r.get("province"),
        tracking_code: r.get("tracking_code"),
        category: r.get("category"),
        kind: r.get("kind"),
        channel: r.get("channel"),
        created_at: r.get("created_at"),
    }))
}

pub(crate) async fn contact(pool: &PgPool, petition_id: Uuid) -> Result<Option<Contact>> {
    let row = sqlx::query("SELECT id, province, tracking_code, mobile FROM petitions WHERE id = $1")
        .bind(petition_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| Contact {
        id: r.get("id"),
        province: r.get("province"),
        tracking_code: r.get("tracking_code"),
        mobile: r.get("mobile"),
    }))
}

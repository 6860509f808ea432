//! Intake's own tables: petitions (with contact data), idempotency keys and the outbox.

pub(crate) mod desk;
pub(crate) mod idempotency;
pub(crate) mod writer;

use chrono::{DateTime, Utc};
use pasokh_domain::{
    Attachment, CategoryCode, Channel, CitizenRef, Letter, Mobile, NationalId, PetitionKind, PetitionText,
    ProvinceCode, TrackingCode,
};
use sqlx::PgPool;
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
    pub county: Option<String>,
    pub attachments: Vec<Attachment>,
    pub letter: Option<Letter>,
    /// The answer given face to face when resolved on the spot at a desk
    pub on_spot_answer: Option<String>,
    /// The partner client that filed it (gRPC partners, Open311), if any
    pub filed_by: Option<String>,
    /// The citizen's open petition this walk-in repeats (the desk operator's confirmation)
    pub repeat_of: Option<pasokh_domain::TrackingCode>,
}

/// A petition as the citizen's look-ups read it back: parsed again on the way out, so a row
/// that no longer parses is an error here, not a wrong answer later.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct StoredPetition {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub province: ProvinceCode,
    #[sqlx(try_from = "String")]
    pub tracking_code: TrackingCode,
    #[sqlx(try_from = "String")]
    pub category: CategoryCode,
    #[sqlx(try_from = "String")]
    pub kind: PetitionKind,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub created_at: DateTime<Utc>,
}

/// Where a petition's SMS go: read only by notification, over the internal gRPC.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Contact {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub province: ProvinceCode,
    #[sqlx(try_from = "String")]
    pub tracking_code: TrackingCode,
    #[sqlx(try_from = "String")]
    pub mobile: Mobile,
}

/// The petition with this tracking code *and* mobile; `None` for a wrong code and a wrong mobile alike.
#[tracing::instrument(skip_all)]
pub(crate) async fn find_for_citizen(
    pool: &PgPool,
    code: &TrackingCode,
    mobile: &Mobile,
) -> Result<Option<StoredPetition>> {
    Ok(sqlx::query_as(
        "SELECT id, province, tracking_code, category, kind, channel, created_at FROM petitions \
         WHERE province = $1 AND tracking_code = $2 AND mobile = $3",
    )
    .bind(code.province().to_string())
    .bind(code.as_str())
    .bind(mobile.as_str())
    .fetch_optional(pool)
    .await?)
}

/// A mobile's petitions in this province of the last two years, newest first.
#[tracing::instrument(skip_all, fields(province))]
pub(crate) async fn petitions_of_mobile(pool: &PgPool, province: &str, mobile: &Mobile) -> Result<Vec<StoredPetition>> {
    Ok(sqlx::query_as(
        "SELECT id, province, tracking_code, category, kind, channel, created_at FROM petitions \
         WHERE province = $1 AND mobile = $2 AND created_at > now() - interval '2 years' \
         ORDER BY created_at DESC LIMIT 20",
    )
    .bind(province)
    .bind(mobile.as_str())
    .fetch_all(pool)
    .await?)
}

#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn contact(pool: &PgPool, petition_id: Uuid) -> Result<Option<Contact>> {
    Ok(sqlx::query_as("SELECT id, province, tracking_code, mobile FROM petitions WHERE id = $1")
        .bind(petition_id)
        .fetch_optional(pool)
        .await?)
}

/// The contacts of many petitions at once; unknown ids are left out.
#[tracing::instrument(skip_all, fields(petitions = petition_ids.len()))]
pub(crate) async fn contacts(pool: &PgPool, petition_ids: &[Uuid]) -> Result<Vec<Contact>> {
    Ok(sqlx::query_as("SELECT id, province, tracking_code, mobile FROM petitions WHERE id = ANY($1)")
        .bind(petition_ids)
        .fetch_all(pool)
        .await?)
}

/// GeoReport `GET requests` filters; all optional but the province.
pub(crate) struct RequestFilter {
    pub province: String,
    /// the partner asking: it lists only what it filed
    pub filed_by: String,
    pub tracking_codes: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Some(true): closed only (resolved on the spot); Some(false): open only
    pub closed: Option<bool>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RequestRow {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub tracking_code: TrackingCode,
    #[sqlx(try_from = "String")]
    pub category: CategoryCode,
    #[sqlx(rename = "resolved_on_spot")]
    pub closed: bool,
    pub created_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn requests(pool: &PgPool, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
    Ok(sqlx::query_as(
        "SELECT id, tracking_code, category, resolved_on_spot, created_at FROM petitions \
         WHERE province = $1 AND ($2::text[] IS NULL OR tracking_code = ANY($2)) \
         AND ($3::text[] IS NULL OR category = ANY($3)) AND ($4::timestamptz IS NULL OR created_at >= $4) \
         AND ($5::timestamptz IS NULL OR created_at <= $5) AND ($6::bool IS NULL OR resolved_on_spot = $6) \
         AND filed_by = $7 ORDER BY created_at DESC LIMIT 1000",
    )
    .bind(&filter.province)
    .bind(&filter.tracking_codes)
    .bind(&filter.categories)
    .bind(filter.from)
    .bind(filter.until)
    .bind(filter.closed)
    .bind(&filter.filed_by)
    .fetch_all(pool)
    .await?)
}

/// The petition's text as stored.
#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn text(pool: &PgPool, petition_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT body FROM petitions WHERE id = $1").bind(petition_id).fetch_optional(pool).await?)
}

/// Many texts at once: a petition's own (no reply id) or one of its replies; what is not found
/// is left out.
#[tracing::instrument(skip_all, fields(items = wanted.len()))]
pub(crate) async fn texts(pool: &PgPool, wanted: &[(Uuid, Option<Uuid>)]) -> Result<Vec<(Uuid, Option<Uuid>, String)>> {
    let petitions: Vec<Uuid> = wanted.iter().filter(|w| w.1.is_none()).map(|w| w.0).collect();
    let mut found: Vec<(Uuid, Option<Uuid>, String)> = Vec::with_capacity(wanted.len());
    if !petitions.is_empty() {
        let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, body FROM petitions WHERE id = ANY($1)")
            .bind(&petitions)
            .fetch_all(pool)
            .await?;
        found.extend(rows.into_iter().map(|(id, body)| (id, None, body)));
    }
    let (reply_petitions, replies): (Vec<Uuid>, Vec<Uuid>) =
        wanted.iter().filter_map(|w| w.1.map(|reply| (w.0, reply))).unzip();
    if !replies.is_empty() {
        let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT m.petition_id, m.id, m.body FROM unnest($1::uuid[], $2::uuid[]) AS w(petition_id, id) \
             JOIN petition_messages m ON m.id = w.id AND m.petition_id = w.petition_id AND m.kind = 'reply'",
        )
        .bind(&reply_petitions)
        .bind(&replies)
        .fetch_all(pool)
        .await?;
        found.extend(rows.into_iter().map(|(petition, reply, body)| (petition, Some(reply), body)));
    }
    Ok(found)
}

/// One of the citizen's replies to the petition.
#[tracing::instrument(skip_all, fields(%petition_id, %reply_id))]
pub(crate) async fn reply_text(pool: &PgPool, petition_id: Uuid, reply_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT body FROM petition_messages WHERE id = $1 AND petition_id = $2 AND kind = 'reply'")
        .bind(reply_id)
        .bind(petition_id)
        .fetch_optional(pool)
        .await?)
}

/// Whether the petition was rated since `since` (the unit's last response; any rating when none).
#[tracing::instrument(skip_all)]
pub(crate) async fn rated_since(
    conn: &mut sqlx::PgConnection,
    petition_id: Uuid,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM petition_messages WHERE petition_id = $1 AND kind = 'rating' \
         AND ($2::timestamptz IS NULL OR created_at >= $2))",
    )
    .bind(petition_id)
    .bind(since)
    .fetch_one(conn)
    .await?)
}

/// Serialises the transactions that add a message to the petition (until this one ends).
#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn lock_petition(conn: &mut sqlx::PgConnection, petition_id: Uuid) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))").bind(petition_id).execute(conn).await?;
    Ok(())
}

/// Stores a reply or a rating; `false` if the id was already stored.
/// The `sequence` of intake's next event of a petition, once its message is inserted in this
/// transaction: submitted was 1, then one per reply or rating. The transaction-scoped lock makes
/// two messages of one petition committed at once take different numbers.
#[tracing::instrument(skip_all, fields(%petition_id))]
pub(crate) async fn next_event_sequence(conn: &mut sqlx::PgConnection, petition_id: Uuid) -> Result<u64> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
        .bind(petition_id)
        .execute(&mut *conn)
        .await?;
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM petition_messages WHERE petition_id = $1")
        .bind(petition_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(1 + messages.max(0) as u64)
}

#[tracing::instrument(skip_all)]
pub(crate) async fn insert_message(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    petition: &StoredPetition,
    kind: &str,
    body: &str,
    score: Option<i32>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO petition_messages (id, petition_id, province, kind, body, score) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(petition.id)
    .bind(petition.province.to_string())
    .bind(kind)
    .bind(body)
    .bind(score)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

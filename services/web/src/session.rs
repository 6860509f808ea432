//! Staff sessions, held server-side in the web's database. The browser has a
//! random id in a `__Host-` cookie (Secure, HttpOnly, SameSite=Lax, path /);
//! a session ends after `idle_minutes` without a request or `absolute_hours`
//! after sign-in, whichever comes first, and at sign-out.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use pasokh_domain::{ProvinceCode, Role};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::config::SessionSettings;
use crate::forms::{cookie, random_token};
use crate::routes::AppState;
use crate::{Error, Result};

pub(crate) const COOKIE: &str = "__Host-pasokh-staff";

/// The member of staff behind a request, with what the console needs to act for them.
#[derive(Debug, Clone)]
pub(crate) struct StaffSession {
    id_sha256: Vec<u8>,
    pub(crate) csrf_token: String,
    /// the provider's subject: who saved a view, who has a case open
    pub(crate) subject: String,
    pub(crate) display_name: String,
    pub(crate) role: Role,
    pub(crate) province: Option<ProvinceCode>,
    pub(crate) access_token: String,
    pub(crate) access_expires_at: DateTime<Utc>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) id_token: String,
}

/// What a successful sign-in hands over.
pub(crate) struct SignedIn {
    pub(crate) subject: String,
    pub(crate) display_name: String,
    pub(crate) role: Role,
    pub(crate) province: Option<ProvinceCode>,
    pub(crate) organisation: Option<pasokh_domain::OrganisationCode>,
    pub(crate) tokens: crate::oidc::Tokens,
}

fn digest(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// The `Set-Cookie` value for a session id (or one that clears it).
pub(crate) fn set_cookie(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Lax"),
        None => format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"),
    }
}

/// Starts a session; returns the cookie's id (only the browser keeps it).
pub(crate) async fn create(pool: &PgPool, settings: &SessionSettings, signed_in: SignedIn) -> Result<String> {
    let id = random_token();
    let tokens = signed_in.tokens;
    sqlx::query(
        "INSERT INTO staff_sessions (id_sha256, csrf_token, subject, display_name, role, province, organisation,
             access_token, access_expires_at, refresh_token, id_token, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(hours => $12))",
    )
    .bind(digest(&id))
    .bind(random_token())
    .bind(&signed_in.subject)
    .bind(&signed_in.display_name)
    .bind(signed_in.role.as_str())
    .bind(signed_in.province.map(|p| p.to_string()))
    .bind(signed_in.organisation.map(pasokh_domain::OrganisationCode::as_str))
    .bind(&tokens.access_token)
    .bind(tokens.access_expires_at)
    .bind(&tokens.refresh_token)
    .bind(&tokens.id_token)
    .bind(i32::try_from(settings.absolute_hours).unwrap_or(12))
    .execute(pool)
    .await?;
    // sessions that ended are of no use to anyone; sweep a few with every sign-in
    sqlx::query("DELETE FROM staff_sessions WHERE id_sha256 IN (SELECT id_sha256 FROM staff_sessions WHERE expires_at < now() LIMIT 100)")
        .execute(pool)
        .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct Row {
    id_sha256: Vec<u8>,
    csrf_token: String,
    subject: String,
    display_name: String,
    role: String,
    province: Option<String>,
    access_token: String,
    access_expires_at: DateTime<Utc>,
    refresh_token: Option<String>,
    id_token: String,
}

/// The live session for this cookie id, its idle clock restarted; none when it ended.
async fn find(pool: &PgPool, settings: &SessionSettings, id: &str) -> Result<Option<StaffSession>> {
    let idle = Duration::minutes(settings.idle_minutes);
    let row: Option<Row> = sqlx::query_as(
        "UPDATE staff_sessions SET last_seen_at = now()
         WHERE id_sha256 = $1 AND expires_at > now() AND last_seen_at > now() - $2::interval
         RETURNING id_sha256, csrf_token, subject, display_name, role, province,
                   access_token, access_expires_at, refresh_token, id_token",
    )
    .bind(digest(id))
    .bind(format!("{} seconds", idle.num_seconds()))
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Ok(role) = Role::parse(&row.role) else { return Ok(None) };
    Ok(Some(StaffSession {
        id_sha256: row.id_sha256,
        csrf_token: row.csrf_token,
        subject: row.subject,
        display_name: row.display_name,
        role,
        province: row.province.as_deref().and_then(|p| ProvinceCode::parse(p).ok()),
        access_token: row.access_token,
        access_expires_at: row.access_expires_at,
        refresh_token: row.refresh_token,
        id_token: row.id_token,
    }))
}

impl StaffSession {
    /// Keeps the renewed provider tokens.
    pub(crate) async fn store_tokens(&mut self, pool: &PgPool, tokens: crate::oidc::Tokens) -> Result<()> {
        sqlx::query(
            "UPDATE staff_sessions SET access_token = $2, access_expires_at = $3,
                 refresh_token = COALESCE($4, refresh_token) WHERE id_sha256 = $1",
        )
        .bind(&self.id_sha256)
        .bind(&tokens.access_token)
        .bind(tokens.access_expires_at)
        .bind(&tokens.refresh_token)
        .execute(pool)
        .await?;
        self.access_token = tokens.access_token;
        self.access_expires_at = tokens.access_expires_at;
        if tokens.refresh_token.is_some() {
            self.refresh_token = tokens.refresh_token;
        }
        Ok(())
    }

    pub(crate) async fn end(&self, pool: &PgPool) -> Result<()> {
        sqlx::query("DELETE FROM staff_sessions WHERE id_sha256 = $1").bind(&self.id_sha256).execute(pool).await?;
        Ok(())
    }

    /// An access token good for the next call, renewed with the refresh token when it is about to expire.
    pub(crate) async fn bearer(&mut self, state: &AppState) -> Result<String> {
        if self.access_expires_at - Utc::now() > Duration::seconds(20) {
            return Ok(self.access_token.clone());
        }
        let refresh = self.refresh_token.clone().ok_or_else(|| Error::SignIn("/".into()))?;
        match state.oidc.refresh(&refresh).await {
            Ok(tokens) => {
                self.store_tokens(&state.pool, tokens).await?;
                Ok(self.access_token.clone())
            }
            Err(error) => {
                tracing::info!(error = %error, "refresh refused; signing the session out");
                self.end(&state.pool).await?;
                Err(Error::SignIn("/".into()))
            }
        }
    }
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let return_to = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map_or_else(|| "/desk".to_owned(), |p| p.as_str().to_owned())
        } else {
            "/desk".to_owned()
        };
        let Some(id) = cookie(&parts.headers, COOKIE) else { return Err(Error::SignIn(return_to)) };
        find(&state.pool, &state.session, id).await?.ok_or(Error::SignIn(return_to))
    }
}

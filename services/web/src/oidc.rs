//! The console signs staff in at the ministry's OpenID Connect provider:
//! authorization code with PKCE (S256), state and nonce, a confidential
//! client. The provider's tokens stay in the session row; the access token
//! is what the console presents to intake on the member of staff's behalf.
use chrono::{DateTime, Duration, Utc};
use pasokh_platform::auth::verify::{Discovery, discover};
use pasokh_platform::auth::{AuthSettings, TokenVerifier};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::RwLock;

use crate::config::OidcSettings;
use crate::forms::random_token;
use crate::session::SignedIn;
use crate::{Error, Result};

/// Intake is the service the console calls with the member of staff's token.
const INTAKE_AUDIENCE: &str = "pasokh-intake";
/// A sign-in left at the provider's page longer than this starts over.
const ATTEMPT_MINUTES: i64 = 10;

pub(crate) struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    discovery: RwLock<Option<Discovery>>,
    access: TokenVerifier,
    id: TokenVerifier,
}

/// The provider's tokens for one member of staff.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) access_expires_at: DateTime<Utc>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) id_token: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    #[serde(default)]
    nonce: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// RFC 7636: the challenge is the verifier's SHA-256, base64url without padding.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    b64(&Sha256::digest(verifier.as_bytes()))
}

impl Oidc {
    pub(crate) fn new(settings: &OidcSettings) -> Self {
        let verifier = |audience: &str| {
            TokenVerifier::new(AuthSettings { issuer: settings.issuer.clone(), ..AuthSettings::for_audience(audience) })
        };
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .connect_timeout(std::time::Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
            discovery: RwLock::default(),
            access: verifier(INTAKE_AUDIENCE),
            id: verifier(&settings.client_id),
            settings: settings.clone(),
        }
    }

    fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.settings.staff_base_url.trim_end_matches('/'))
    }

    /// The provider's endpoint as a browser reaches it.
    fn for_browser(&self, endpoint: &str) -> String {
        match self.settings.browser_issuer.as_str() {
            "" => endpoint.to_owned(),
            public => endpoint.replacen(&self.settings.issuer, public.trim_end_matches('/'), 1),
        }
    }

    async fn discovery(&self) -> Result<Discovery> {
        if self.settings.issuer.is_empty() {
            return Err(Error::Provider("oidc.issuer is not set; nobody can sign in".into()));
        }
        if let Some(found) = self.discovery.read().await.as_ref() {
            return Ok(found.clone());
        }
        let found = discover(&self.http, &self.settings.issuer).await.map_err(|e| Error::Provider(e.to_string()))?;
        *self.discovery.write().await = Some(found.clone());
        Ok(found)
    }

    /// Where to send the browser to sign in; the attempt is remembered by its `state`.
    pub(crate) async fn begin(&self, pool: &PgPool, return_to: &str) -> Result<String> {
        let discovery = self.discovery().await?;
        let endpoint = discovery
            .authorization_endpoint
            .ok_or_else(|| Error::Provider("the provider names no authorization endpoint".into()))?;
        let (state, verifier, nonce) = (random_token(), random_token(), random_token());
        sqlx::query("DELETE FROM sign_in_attempts WHERE created_at < now() - make_interval(mins => $1)")
            .bind(ATTEMPT_MINUTES as i32)
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO sign_in_attempts (state, pkce_verifier, nonce, return_to) VALUES ($1, $2, $3, $4)")
            .bind(&state)
            .bind(&verifier)
            .bind(&nonce)
            .bind(return_to)
            .execute(pool)
            .await?;
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", self.settings.client_id.as_str()),
            ("redirect_uri", self.redirect_uri().as_str()),
            ("scope", "openid"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", pkce_challenge(&verifier).as_str()),
            ("code_challenge_method", "S256"),
            ("ui_locales", "fa"),
        ])
        .map_err(|e| Error::Provider(e.to_string()))?;
        Ok(format!("{}?{query}", self.for_browser(&endpoint)))
    }

    /// Completes a sign-in: the attempt for `state` (once), the code exchanged with its
    /// verifier, the tokens checked (signature, issuer, audience, lifetime, nonce).
    pub(crate) async fn finish(&self, pool: &PgPool, code: &str, state: &str) -> Result<(SignedIn, String)> {
        let attempt: Option<(String, String, String)> = sqlx::query_as(
            "DELETE FROM sign_in_attempts WHERE state = $1 AND created_at > now() - make_interval(mins => $2)
             RETURNING pkce_verifier, nonce, return_to",
        )
        .bind(state)
        .bind(ATTEMPT_MINUTES as i32)
        .fetch_optional(pool)
        .await?;
        let (verifier, nonce, return_to) =
            attempt.ok_or_else(|| Error::Provider("unknown or expired sign-in state".into()))?;
        let redirect_uri = self.redirect_uri();
        let tokens = self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ])
            .await?;
        let id_claims =
            self.id.verify_provider_token(&tokens.id_token).await.map_err(|e| Error::Provider(e.to_string()))?;
        let nonce_in_token = payload::<IdClaims>(&tokens.id_token).and_then(|c| c.nonce);
        if nonce_in_token.as_deref() != Some(nonce.as_str()) {
            return Err(Error::Provider("the ID token's nonce is not this sign-in's".into()));
        }
        let claims = self
            .access
            .verify_provider_token(&tokens.access_token)
            .await
            .map_err(|e| Error::Provider(e.to_string()))?;
        if claims.sub != id_claims.sub {
            return Err(Error::Provider("the access and ID tokens name different people".into()));
        }
        let staff = claims.staff().map_err(|_| Error::Forbidden("not a member of staff"))?;
        let signed_in = SignedIn {
            subject: staff.subject,
            display_name: staff.name,
            role: staff.role,
            province: staff.province,
            organisation: staff.organisation,
            tokens,
        };
        Ok((signed_in, return_to))
    }

    /// New tokens for a session whose access token is about to expire.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<Tokens> {
        self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<Tokens> {
        let discovery = self.discovery().await?;
        let response = self
            .http
            .post(&discovery.token_endpoint)
            .basic_auth(&self.settings.client_id, Some(self.settings.client_secret.expose()))
            .form(form)
            .send()
            .await
            .map_err(|e| Error::Provider(format!("token endpoint unreachable: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Provider(format!(
                "token endpoint answered {status}: {}",
                body.chars().take(200).collect::<String>()
            )));
        }
        let answer: TokenResponse =
            response.json().await.map_err(|e| Error::Provider(format!("token endpoint's answer: {e}")))?;
        Ok(Tokens {
            access_token: answer.access_token,
            access_expires_at: Utc::now() + Duration::seconds(answer.expires_in.max(0)),
            refresh_token: answer.refresh_token,
            id_token: answer.id_token.unwrap_or_default(),
        })
    }

    /// Where the browser signs out at the provider, then comes back to the console's start.
    pub(crate) async fn sign_out_url(&self, id_token: &str) -> Option<String> {
        let endpoint = self.discovery().await.ok()?.end_session_endpoint?;
        let back = format!("{}/", self.settings.staff_base_url.trim_end_matches('/'));
        let query = serde_urlencoded::to_string([
            ("client_id", self.settings.client_id.as_str()),
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", back.as_str()),
        ])
        .ok()?;
        Some(format!("{}?{query}", self.for_browser(&endpoint)))
    }
}

/// A verified token's claims section.
fn payload<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}

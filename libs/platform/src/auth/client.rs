//! The tokens a service sends: client credentials from the provider, one per
//! callee audience, cached and renewed before they expire. When the provider
//! is down a still-valid cached token keeps being used; without one the call
//! fails as unavailable — it is never sent unauthenticated.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{AuthError, AuthSettings};
use crate::config::Secret;

pub struct TokenSource {
    issuer: String,
    client_id: String,
    client_secret: Secret,
    token_url: String,
    scope_template: String,
    renew_before: Duration,
    http: reqwest::Client,
    tokens: tokio::sync::Mutex<HashMap<String, CachedToken>>,
}

#[derive(Clone)]
struct CachedToken {
    token: Secret,
    expires_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenSource {
    /// `None` when the service has no client configured (it then calls no other service).
    pub fn from_settings(settings: &AuthSettings) -> Option<Self> {
        let client = &settings.client;
        if client.id.is_empty() {
            return None;
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Some(Self {
            issuer: settings.issuer.clone(),
            client_id: client.id.clone(),
            client_secret: client.secret.clone(),
            token_url: client.token_url.clone(),
            scope_template: client.scope_template.clone(),
            renew_before: Duration::from_secs(client.renew_before_secs),
            http,
            tokens: tokio::sync::Mutex::default(),
        })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// A bearer token whose audience is `audience` (the callee's client id).
    pub async fn token_for(&self, audience: &str) -> Result<String, AuthError> {
        let mut tokens = self.tokens.lock().await;
        let now = Instant::now();
        let cached = tokens.get(audience).cloned();
        if let Some(cached) = &cached
            && cached.expires_at > now + self.renew_before
        {
            return Ok(cached.token.expose().to_owned());
        }
        match self.fetch(audience).await {
            Ok(fresh) => {
                let token = fresh.token.expose().to_owned();
                tokens.insert(audience.to_owned(), fresh);
                Ok(token)
            }
            Err(error) => match cached {
                Some(cached) if cached.expires_at > now => {
                    tracing::warn!(%error, audience, "service token not renewed; using the cached one until it expires");
                    Ok(cached.token.expose().to_owned())
                }
                _ => Err(error),
            },
        }
    }

    async fn fetch(&self, audience: &str) -> Result<CachedToken, AuthError> {
        let unavailable = |e: reqwest::Error| AuthError::ProviderUnavailable(e.without_url().to_string());
        let url = if self.token_url.is_empty() {
            super::verify::discover(&self.http, &self.issuer).await?.token_endpoint
        } else {
            self.token_url.clone()
        };
        let scope = self.scope_template.replace("{audience}", audience);
        let started = Instant::now();
        let response = self
            .http
            .post(&url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .form(&[("grant_type", "client_credentials"), ("scope", scope.as_str())])
            .send()
            .await
            .map_err(unavailable)?;
        if !response.status().is_success() {
            let status = response.status();
            let reason = response
                .json::<ErrorResponse>()
                .await
                .map(|e| format!("{}: {}", e.error, e.error_description))
                .unwrap_or_default();
            return Err(AuthError::ProviderUnavailable(format!("token endpoint answered {status} {reason}")));
        }
        let body: TokenResponse = response.json().await.map_err(unavailable)?;
        tracing::debug!(audience, client = %self.client_id, "service token obtained");
        Ok(CachedToken {
            token: Secret::new(body.access_token),
            expires_at: started + Duration::from_secs(body.expires_in),
        })
    }
}

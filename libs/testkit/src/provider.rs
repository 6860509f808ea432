//! The identity provider of the local stack (Keycloak): the realm's clients and demo staff, and
//! the tokens tests sign in with.
use std::time::Duration;

/// The local identity provider (Keycloak, started by `scripts/stack.sh`) and its realm `pasokh`
/// (`stack/keycloak/pasokh-realm.json`): demo staff sign in with the password grant, services and
/// partners get client-credentials tokens for one audience at a time.
#[derive(Debug, Clone)]
pub struct Provider {
    pub base_url: String,
    pub issuer: String,
    http: reqwest::Client,
}

/// Every demo user's password in the local realm.
pub const DEMO_PASSWORD: &str = "pasokh-demo";

impl Provider {
    pub fn from_env() -> Self {
        let port = std::env::var("PASOKH_KEYCLOAK_PORT").ok().and_then(|v| v.parse().ok()).unwrap_or(18180u16);
        Self::at(&format!("http://127.0.0.1:{port}"), "pasokh")
    }

    pub fn at(base_url: &str, realm: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            issuer: format!("{base_url}/realms/{realm}"),
            http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap(),
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer)
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<String, String> {
        let response = self.http.post(self.token_url()).form(form).send().await.map_err(|e| {
            format!("the identity provider at {} is not reachable (run `make stack-up`): {e}", self.issuer)
        })?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        match body["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => Err(format!("{status}: {body}")),
        }
    }

    /// A demo user's access token (password grant on the `pasokhctl` client).
    pub async fn staff_token(&self, user: &str) -> String {
        self.token(&[
            ("grant_type", "password"),
            ("client_id", "pasokhctl"),
            ("username", user),
            ("password", DEMO_PASSWORD),
            ("scope", "openid"),
        ])
        .await
        .unwrap_or_else(|e| panic!("signing in as {user}: {e}"))
    }

    /// A client-credentials token of `client` (secret `dev-secret-<client>`) for `audience`.
    pub async fn client_token(&self, client: &str, audience: &str) -> String {
        self.try_client_token(client, audience)
            .await
            .unwrap_or_else(|e| panic!("token of {client} for {audience}: {e}"))
    }

    pub async fn try_client_token(&self, client: &str, audience: &str) -> Result<String, String> {
        let secret = format!("dev-secret-{client}");
        let scope = format!("aud-{audience}");
        self.token(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", &secret),
            ("scope", &scope),
        ])
        .await
    }

    /// Auth settings of a service with audience `audience` whose own client is `client` (when it calls others).
    pub fn auth_settings(&self, audience: &str, client: Option<&str>) -> pasokh_platform::auth::AuthSettings {
        let mut settings = pasokh_platform::auth::AuthSettings::for_audience(audience);
        settings.issuer = self.issuer.clone();
        settings.leeway_secs = 0;
        settings.jwks_min_refresh_secs = 1;
        if let Some(client) = client {
            settings.client.id = client.to_owned();
            settings.client.secret = pasokh_platform::config::Secret::new(format!("dev-secret-{client}"));
        }
        settings
    }

    /// An admin token of the local Keycloak's master realm (bootstrap admin `admin`/`admin`).
    pub async fn admin_token(&self) -> String {
        let response = self
            .http
            .post(format!("{}/realms/master/protocol/openid-connect/token", self.base_url))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", "admin"),
            ])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().expect("keycloak admin token").to_owned()
    }

    /// Calls Keycloak's admin REST API: `method` `path` (below `/admin`) with an optional JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let token = self.admin_token().await;
        let mut request = self.http.request(method, format!("{}/admin{path}", self.base_url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

use std::collections::BTreeMap;

use pasokh_platform::config::{Environment, Secret};
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::telemetry::TelemetrySettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub listen: WebListen,
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    pub intake: IntakeSettings,
    pub oidc: OidcSettings,
    pub session: SessionSettings,
    /// notification's HTTP base URL: it texts the citizen's one-time codes
    pub notification_url: String,
    /// routing's officers' gRPC (`CaseService`), called with the member of staff's token
    pub routing_url: String,
    /// reporting's HTTP API, called with the member of staff's token: the dashboards
    pub reporting_url: String,
    /// response templates (TOML, see `data/response-templates.toml`); empty: the built-in file
    #[serde(default)]
    pub response_templates_file: String,
    pub one_time_code: OneTimeCodeSettings,
    /// behind a proxy (the ingress) that sets `X-Forwarded-For`: the right-most hop is the citizen
    pub trust_forwarded_for: bool,
    pub shutdown_drain_secs: u64,
}

pasokh_platform::service_settings!(Settings);

/// Two listeners so the chart can put the public site on the internet and keep
/// the staff console on the ministry's network; ops endpoints are on both.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebListen {
    pub host: String,
    /// the citizen's site; 0 picks a free port (tests)
    pub public_port: u16,
    /// the service-desk console
    pub staff_port: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    /// province code (`IR-23`) → that province's intake HTTP base URL
    #[serde(default)]
    pub urls: BTreeMap<String, String>,
    pub timeout_ms: u64,
}

/// The staff console as an OpenID Connect relying party (authorization code + PKCE S256).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// the provider as this service reaches it; empty: nobody can sign in
    pub issuer: String,
    /// the provider as staff browsers reach it, when that differs (in-cluster vs public name); empty: `issuer`
    pub browser_issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// the console's own external URL; the redirect URI is `<this>/auth/callback`
    pub staff_base_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// signed out after this long without a request
    pub idle_minutes: i64,
    /// signed out this long after signing in, however active
    pub absolute_hours: i64,
}

/// "My petitions": a code texted to the mobile, then the mobile's petitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneTimeCodeSettings {
    pub lifetime_secs: i64,
    /// wrong codes before the code is locked
    pub max_attempts: i32,
    /// codes a mobile may be sent in ten minutes
    pub per_mobile_per_10_minutes: i64,
    /// codes one address may ask for in ten minutes
    pub per_ip_per_10_minutes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            environment: Environment::Production,
            listen: WebListen { host: "127.0.0.1".into(), public_port: 8086, staff_port: 8087 },
            database: DatabaseSettings { max_connections: 5, ..DatabaseSettings::local("pasokh_web") },
            telemetry: TelemetrySettings::default(),
            // none by default: the config crate merges maps, so a default entry could never be removed
            intake: IntakeSettings { urls: BTreeMap::new(), timeout_ms: 5_000 },
            oidc: OidcSettings {
                issuer: String::new(),
                browser_issuer: String::new(),
                client_id: "pasokh-web".into(),
                client_secret: Secret::new(""),
                staff_base_url: "http://127.0.0.1:8087".into(),
            },
            session: SessionSettings { idle_minutes: 30, absolute_hours: 12 },
            notification_url: "http://127.0.0.1:8084".into(),
            routing_url: "http://127.0.0.1:9083".into(),
            reporting_url: "http://127.0.0.1:8085".into(),
            response_templates_file: String::new(),
            one_time_code: OneTimeCodeSettings {
                lifetime_secs: 120,
                max_attempts: 5,
                per_mobile_per_10_minutes: 3,
                per_ip_per_10_minutes: 10,
            },
            trust_forwarded_for: false,
            shutdown_drain_secs: 20,
        }
    }
}

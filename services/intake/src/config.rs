use pasokh_events::KafkaSettings;
use pasokh_platform::auth::AuthSettings;
use pasokh_platform::config::{ListenSettings, Secret};
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::telemetry::TelemetrySettings;
use serde::{Deserialize, Serialize};

pub use crate::http::limits::LimitSettings;
pub use crate::store::writer::WriterSettings;

/// Intake's settings. One deployment per province: `province` says which.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// ISO 3166-2:IR code of the province this deployment serves, e.g. `IR-23`
    pub province: String,
    pub listen: ListenSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub telemetry: TelemetrySettings,
    /// Key of the HMAC that turns national ids into `citizen_ref` on events
    pub citizen_ref_key: Secret,
    /// Routing's gRPC endpoint, for status lookups
    pub routing_grpc_url: String,
    /// Seconds in-flight work gets after SIGTERM
    pub shutdown_drain_secs: u64,
    /// How long an `Idempotency-Key` answers retries
    pub idempotency_ttl_secs: u64,
    /// Group commit of petitions
    pub writer: WriterSettings,
    /// Rate limits, in-flight bound, timeout and body size of the public API
    pub limits: LimitSettings,
    /// Bearer tokens of operators and supervisors
    pub auth: AuthSettings,
    /// Open311 GeoReport v2 partners
    pub open311: Open311Settings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Settings {
    /// `api_key` of each partner system, by partner name
    pub api_keys: std::collections::BTreeMap<String, Secret>,
    /// Whether the built-in development partner (`dev`) is accepted; false in every real deployment
    pub allow_dev_key: bool,
}

impl Open311Settings {
    /// The partners' keys in force: without the development one unless allowed.
    pub fn active_keys(&self) -> std::collections::BTreeMap<String, Secret> {
        let is_dev = |name: &str, key: &Secret| name == "dev" && key.expose() == DEV_OPEN311_KEY;
        self.api_keys
            .iter()
            .filter(|(n, k)| self.allow_dev_key || !is_dev(n, k))
            .map(|(n, k)| (n.clone(), k.clone()))
            .collect()
    }
}

pub const DEV_OPEN311_KEY: &str = "dev-open311-key";

impl Default for Open311Settings {
    fn default() -> Self {
        Self {
            api_keys: std::collections::BTreeMap::from([("dev".to_owned(), Secret::new(DEV_OPEN311_KEY))]),
            allow_dev_key: true,
        }
    }
}

pub const DEV_CITIZEN_REF_KEY: &str = "dev-only-citizen-ref-key-change-me";

impl Default for Settings {
    fn default() -> Self {
        Self {
            province: "IR-23".into(),
            listen: ListenSettings::new(8081, 9081),
            database: DatabaseSettings::local("pasokh_intake"),
            kafka: KafkaSettings::local("pasokh-intake"),
            telemetry: TelemetrySettings::default(),
            citizen_ref_key: Secret::new(DEV_CITIZEN_REF_KEY),
            routing_grpc_url: "http://127.0.0.1:9083".into(),
            shutdown_drain_secs: 20,
            idempotency_ttl_secs: 24 * 3600,
            writer: WriterSettings::default(),
            limits: LimitSettings::default(),
            auth: AuthSettings::default(),
            open311: Open311Settings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_partner_key_is_dropped_unless_allowed() {
        let mut open311 = Open311Settings::default();
        open311.api_keys.insert("call-centre".into(), Secret::new("k-123"));
        assert_eq!(open311.active_keys().len(), 2);
        open311.allow_dev_key = false;
        assert_eq!(open311.active_keys().keys().collect::<Vec<_>>(), ["call-centre"]);
    }
}

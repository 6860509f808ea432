use pasokh_events::KafkaSettings;
use pasokh_platform::auth::AuthSettings;
use std::collections::BTreeSet;

use pasokh_platform::config::{Environment, ListenSettings, Secret};
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
    /// `production` (the default) refuses every development credential; `development` allows the ones turned on
    pub environment: Environment,
    pub listen: ListenSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub telemetry: TelemetrySettings,
    /// Key of the HMAC that turns national ids into `citizen_ref` on events; required
    pub citizen_ref_key: Secret,
    /// Use the built-in, public development `citizen_ref` key when none is set (local runs only)
    pub dev_citizen_ref_key: bool,
    /// Routing's internal gRPC endpoint (`CaseLookup`), for status lookups
    pub routing_grpc_url: String,
    /// Routing's audience at the provider: intake's tokens for `CaseLookup` ask for it
    pub routing_audience: String,
    /// Seconds in-flight work gets after SIGTERM
    pub shutdown_drain_secs: u64,
    /// How long an `Idempotency-Key` answers retries
    pub idempotency_ttl_secs: u64,
    /// Group commit of petitions
    pub writer: WriterSettings,
    /// Rate limits, in-flight bound, timeout and body size of the public API
    pub limits: LimitSettings,
    /// Tokens of operators and supervisors, of partners and of Pasokh's own services; intake's own client
    pub auth: AuthSettings,
    /// Clients that may call the internal RPCs (`IntakeInternal`: contacts and texts)
    #[serde(default)]
    pub internal_clients: BTreeSet<String>,
    /// Clients that may list a mobile's petitions (`POST /v1/citizens/petitions`): the web's service
    /// account, which asks only after the citizen proved they hold the phone
    #[serde(default)]
    pub citizen_listing_clients: BTreeSet<String>,
    /// Partner clients that may file over gRPC (`IntakeService.SubmitPetition`), and their limit
    pub partners: PartnerSettings,
    /// Open311 GeoReport v2 partners
    pub open311: Open311Settings,
}

pasokh_platform::service_settings!(Settings);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSettings {
    /// Client ids (at the identity provider) of the partner systems allowed to file
    #[serde(default)]
    pub clients: BTreeSet<String>,
    /// Petitions one partner may file per minute
    pub per_minute: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Settings {
    /// SHA-256 (hex) of each partner system's `api_key`, by partner name; the keys themselves are never
    /// configured, so a leaked ConfigMap or `print-config` gives nobody a key (`printf %s "$KEY" | sha256sum`)
    #[serde(default)]
    pub api_key_sha256: std::collections::BTreeMap<String, String>,
    /// Accept the public development partner `dev` with key `dev-open311-key` (local runs only)
    pub allow_dev_key: bool,
}

pub const DEV_OPEN311_KEY: &str = "dev-open311-key";
pub const DEV_OPEN311_PARTNER: &str = "dev";

impl Open311Settings {
    /// The partners' key hashes in force: with the development partner only where allowed.
    pub fn active_key_hashes(&self) -> Result<Vec<(String, [u8; 32])>, String> {
        let mut active = Vec::new();
        for (partner, hex_digest) in &self.api_key_sha256 {
            let digest = hex::decode(hex_digest.trim())
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| format!("open311.api_key_sha256.{partner} is not a hex SHA-256 digest"))?;
            active.push((partner.clone(), digest));
        }
        if self.allow_dev_key {
            active.push((DEV_OPEN311_PARTNER.to_owned(), sha256(DEV_OPEN311_KEY)));
        }
        Ok(active)
    }
}

pub fn sha256(key: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(key.as_bytes()).into()
}

pub const DEV_CITIZEN_REF_KEY: &str = "dev-only-citizen-ref-key-change-me";

impl Default for Settings {
    fn default() -> Self {
        Self {
            province: "IR-23".into(),
            environment: Environment::Production,
            listen: ListenSettings::new(8081, 9081).with_internal(9181),
            database: DatabaseSettings::local("pasokh_intake"),
            kafka: KafkaSettings::local("pasokh-intake"),
            telemetry: TelemetrySettings::default(),
            citizen_ref_key: Secret::default(),
            dev_citizen_ref_key: false,
            routing_grpc_url: "http://127.0.0.1:9183".into(),
            routing_audience: "pasokh-routing".into(),
            shutdown_drain_secs: 20,
            idempotency_ttl_secs: 24 * 3600,
            writer: WriterSettings::default(),
            limits: LimitSettings::default(),
            auth: AuthSettings::for_audience("pasokh-intake"),
            internal_clients: ["pasokh-routing", "pasokh-notification"].map(String::from).into(),
            citizen_listing_clients: ["pasokh-web".to_owned()].into(),
            partners: PartnerSettings { clients: BTreeSet::new(), per_minute: 600 },
            open311: Open311Settings::default(),
        }
    }
}

impl Settings {
    /// The `citizen_ref` key in force: the configured one, or the development one where explicitly allowed.
    pub fn citizen_ref_key(&self) -> Result<Secret, String> {
        let configured = self.citizen_ref_key.expose();
        match (configured.is_empty(), self.dev_citizen_ref_key) {
            (true, true) => Ok(Secret::new(DEV_CITIZEN_REF_KEY)),
            (true, false) => {
                Err("citizen_ref_key is not set (PASOKH__CITIZEN_REF_KEY); events cannot carry citizen_ref without it"
                    .into())
            }
            (false, false) if configured == DEV_CITIZEN_REF_KEY => Err(
                "citizen_ref_key is the public development key; it is accepted only with dev_citizen_ref_key = true"
                    .into(),
            ),
            (false, _) => Ok(self.citizen_ref_key.clone()),
        }
    }

    /// The development credentials these settings turn on.
    pub fn development_credentials(&self) -> Vec<&'static str> {
        let mut active = Vec::new();
        if self.auth.dev_tokens.enabled {
            active.push("auth.dev_tokens");
        }
        if self.open311.allow_dev_key {
            active.push("open311.allow_dev_key");
        }
        if self.dev_citizen_ref_key && self.citizen_ref_key.expose().is_empty() {
            active.push("dev_citizen_ref_key");
        }
        active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open311_partners_are_configured_by_key_hash_and_the_development_one_only_when_allowed() {
        let mut open311 = Open311Settings::default();
        open311.api_key_sha256.insert("call-centre".into(), hex::encode(sha256("k-123")));
        let partners =
            |o: &Open311Settings| o.active_key_hashes().unwrap().into_iter().map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(partners(&open311), ["call-centre"]);
        open311.allow_dev_key = true;
        assert_eq!(partners(&open311), ["call-centre", "dev"]);
        open311.api_key_sha256.insert("typo".into(), "k-123".into());
        assert!(open311.active_key_hashes().unwrap_err().contains("typo"), "a plain key is not a hash");
    }

    #[test]
    fn defaults_turn_on_no_development_credential_and_need_a_real_citizen_ref_key() {
        let settings = Settings::default();
        assert!(settings.development_credentials().is_empty());
        assert!(settings.citizen_ref_key().unwrap_err().contains("not set"));
        let mut dev = Settings { dev_citizen_ref_key: true, ..Settings::default() };
        assert_eq!(dev.citizen_ref_key().unwrap().expose(), DEV_CITIZEN_REF_KEY);
        assert_eq!(dev.development_credentials(), ["dev_citizen_ref_key"]);
        dev.citizen_ref_key = Secret::new("a-real-key");
        assert!(dev.development_credentials().is_empty());
        let copied = Settings { citizen_ref_key: Secret::new(DEV_CITIZEN_REF_KEY), ..Settings::default() };
        assert!(copied.citizen_ref_key().is_err(), "the public key pasted into production is refused");
    }
}

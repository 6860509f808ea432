use pasokh_events::KafkaSettings;
use pasokh_platform::auth::AuthSettings;
use std::collections::BTreeSet;

use pasokh_platform::config::{Environment, ListenSettings};
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::telemetry::TelemetrySettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `production` (the default) refuses every development credential
    pub environment: Environment,
    pub listen: ListenSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub telemetry: TelemetrySettings,
    /// Intake's internal gRPC endpoint: petition texts and the citizens' replies (`GetText`)
    pub intake_grpc_url: String,
    /// Intake's audience at the provider: routing's tokens for `IntakeInternal` ask for it
    pub intake_audience: String,
    /// Whether Thursday is a day off in the working-day count (Friday always is)
    pub thursday_off: bool,
    /// Official holidays (`jalali_date,basis,rule,name_fa,name_en`); empty: the built-in 1404–1406 file
    pub holidays_file: String,
    /// Routing rules file; empty: the rules built into this version (rules/routing-rules.toml)
    pub rules_file: String,
    /// How often the rules file is checked for changes
    pub rules_reload_secs: u64,
    /// Tokens of officers, supervisors and inspectors calling `CaseService`, of services calling
    /// `CaseLookup`; routing's own client for calling intake
    pub auth: AuthSettings,
    /// Clients that may call the internal `CaseLookup`
    #[serde(default)]
    pub internal_clients: BTreeSet<String>,
    pub workflow: WorkflowSettings,
    pub watchdog: WatchdogSettings,
    pub shutdown_drain_secs: u64,
}

pasokh_platform::service_settings!(Settings);

/// The limits of the case workflow (CPGRAMS-style).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    /// Referrals to another unit of the same organisation a case may have
    pub max_forwards: u32,
    /// Referrals to another organisation a case may have
    pub max_transfers: u32,
    /// Days after a response in which a poor rating reopens the case as an appeal
    pub appeal_window_days: u32,
    /// Ratings at or below this (1–5) open the appeal
    pub poor_rating_max: u32,
    /// Normalised-text similarity (0–1) from which a new petition of the same citizen and category joins their open case
    pub duplicate_similarity: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchdogSettings {
    /// How often open cases are checked against their targets
    pub interval_secs: u64,
    /// Cases handled per transaction; several replicas share the work (SKIP LOCKED)
    pub batch_size: i64,
    /// Share of a target after which a warning goes out
    pub warning_ratio: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            environment: Environment::Production,
            listen: ListenSettings::new(8083, 9083).with_internal(9183),
            database: DatabaseSettings::local("pasokh_routing"),
            kafka: KafkaSettings::local("pasokh-routing"),
            telemetry: TelemetrySettings::default(),
            intake_grpc_url: "http://127.0.0.1:9181".into(),
            intake_audience: "pasokh-intake".into(),
            thursday_off: false,
            holidays_file: String::new(),
            rules_file: String::new(),
            rules_reload_secs: 5,
            auth: AuthSettings::for_audience("pasokh-routing"),
            internal_clients: ["pasokh-intake", "pasokh-notification"].map(String::from).into(),
            workflow: WorkflowSettings {
                max_forwards: 5,
                max_transfers: 3,
                appeal_window_days: 30,
                poor_rating_max: 2,
                duplicate_similarity: 0.6,
            },
            watchdog: WatchdogSettings { interval_secs: 60, batch_size: 200, warning_ratio: 0.8 },
            shutdown_drain_secs: 20,
        }
    }
}

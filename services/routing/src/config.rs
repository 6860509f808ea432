use pasokh_events::KafkaSettings;
use pasokh_platform::config::ListenSettings;
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::telemetry::TelemetrySettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: ListenSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub telemetry: TelemetrySettings,
    /// Whether Thursday is a day off in the working-day count (Friday always is)
    pub thursday_off: bool,
    /// Routing rules file; empty: the rules built into this version (rules/routing-rules.toml)
    pub rules_file: String,
    /// How often the rules file is checked for changes
    pub rules_reload_secs: u64,
    pub shutdown_drain_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: ListenSettings::new(8083, 9083),
            database: DatabaseSettings::local("pasokh_routing"),
            kafka: KafkaSettings::local("pasokh-routing"),
            telemetry: TelemetrySettings::default(),
            thursday_off: false,
            rules_file: String::new(),
            rules_reload_secs: 5,
            shutdown_drain_secs: 20,
        }
    }
}

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
            shutdown_drain_secs: 20,
        }
    }
}

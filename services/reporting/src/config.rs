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
    pub shutdown_drain_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: ListenSettings::new(8085, 9085),
            database: DatabaseSettings::local("pasokh_reporting"),
            kafka: KafkaSettings::local("pasokh-reporting"),
            telemetry: TelemetrySettings::default(),
            shutdown_drain_secs: 20,
        }
    }
}

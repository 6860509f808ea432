use pasokh_events::KafkaSettings;
use pasokh_platform::auth::AuthSettings;
use pasokh_platform::config::{Environment, ListenSettings};
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::telemetry::TelemetrySettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub listen: ListenSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub telemetry: TelemetrySettings,
    /// Staff tokens: every report is scoped by the caller's role, province and organisation
    pub auth: AuthSettings,
    /// How many lifecycle events one transaction folds at most, and how long a batch waits to fill
    pub batch_max_records: usize,
    pub batch_max_wait_ms: u64,
    /// The working week and holidays for "working days to resolution" and backlog ages (as routing's)
    pub thursday_off: bool,
    /// Official holidays file (`jalali_date,basis,rule,name_fa,name_en`); empty: the built-in one
    pub holidays_file: String,
    /// The responsiveness index's weights and peer groups; empty: `data/responsiveness-index.toml` as built
    pub index_file: String,
    pub shutdown_drain_secs: u64,
}

pasokh_platform::service_settings!(Settings);

impl Default for Settings {
    fn default() -> Self {
        Self {
            environment: Environment::Production,
            listen: ListenSettings::new(8085, 9085),
            database: DatabaseSettings::local("pasokh_reporting"),
            kafka: KafkaSettings::local("pasokh-reporting"),
            telemetry: TelemetrySettings::default(),
            auth: AuthSettings::for_audience("pasokh-reporting"),
            batch_max_records: 1000,
            batch_max_wait_ms: 50,
            thursday_off: false,
            holidays_file: String::new(),
            index_file: String::new(),
            shutdown_drain_secs: 20,
        }
    }
}

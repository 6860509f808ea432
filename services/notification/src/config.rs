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
    /// Intake's gRPC endpoint, for the citizen's mobile (`GetContact`)
    pub intake_grpc_url: String,
    /// Routing's gRPC endpoint, for what officers wrote to the citizen (`GetCitizenMessage`)
    pub routing_grpc_url: String,
    pub sms: SmsSettings,
    pub shutdown_drain_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// The gateway's send endpoint; receives `POST {message_id, to, text}` as JSON
    pub gateway_url: String,
    pub timeout_ms: u64,
    /// Deliveries sent in parallel
    pub concurrency: usize,
    /// Attempts before a delivery is marked failed
    pub max_attempts: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: ListenSettings::new(8084, 9084),
            database: DatabaseSettings::local("pasokh_notification"),
            kafka: KafkaSettings::local("pasokh-notification"),
            telemetry: TelemetrySettings::default(),
            intake_grpc_url: "http://127.0.0.1:9081".into(),
            routing_grpc_url: "http://127.0.0.1:9083".into(),
            sms: SmsSettings {
                gateway_url: "http://127.0.0.1:8089/send".into(),
                timeout_ms: 5_000,
                concurrency: 4,
                max_attempts: 8,
            },
            shutdown_drain_secs: 20,
        }
    }
}

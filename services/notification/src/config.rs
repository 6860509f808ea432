use pasokh_events::KafkaSettings;
use pasokh_platform::auth::AuthSettings;
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
    /// Intake's internal gRPC endpoint, for the citizen's mobile (`GetContact`)
    pub intake_grpc_url: String,
    /// Routing's internal gRPC endpoint, for what officers wrote to the citizen (`GetCitizenMessage`)
    pub routing_grpc_url: String,
    /// The callees' audiences at the provider: notification's tokens for each ask for its own
    pub intake_audience: String,
    pub routing_audience: String,
    /// Notification's own client at the identity provider, for its calls to intake and routing
    pub auth: AuthSettings,
    pub sms: SmsSettings,
    /// Clients that may have one-time codes texted (`POST /v1/one-time-codes`): the web's service account
    #[serde(default)]
    pub one_time_code_clients: std::collections::BTreeSet<String>,
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
            environment: Environment::Production,
            listen: ListenSettings::new(8084, 9084),
            database: DatabaseSettings::local("pasokh_notification"),
            kafka: KafkaSettings::local("pasokh-notification"),
            telemetry: TelemetrySettings::default(),
            intake_grpc_url: "http://127.0.0.1:9181".into(),
            routing_grpc_url: "http://127.0.0.1:9183".into(),
            intake_audience: "pasokh-intake".into(),
            routing_audience: "pasokh-routing".into(),
            auth: AuthSettings::for_audience("pasokh-notification"),
            one_time_code_clients: ["pasokh-web".to_owned()].into(),
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

use pasokh_events::KafkaSettings;
use pasokh_platform::auth::AuthSettings;
use pasokh_platform::config::{Environment, ListenSettings, Secret};
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::retry::Backoff;
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
    /// Which failed deliveries `requeue-failed` puts back (all of them by default)
    #[serde(default)]
    pub requeue: RequeueSettings,
    /// Clients that may have one-time codes texted (`POST /v1/one-time-codes`): the web's service account
    #[serde(default)]
    pub one_time_code_clients: std::collections::BTreeSet<String>,
    pub shutdown_drain_secs: u64,
}

pasokh_platform::service_settings!(Settings);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// The gateway's send endpoint; receives `POST {message_id, to, text}` as JSON with an
    /// `Idempotency-Key` header. No credential here: user info or a query string is refused.
    pub gateway_url: String,
    /// The gateway's credential, sent as `Authorization: Bearer …` (from a Kubernetes secret)
    #[serde(default)]
    pub gateway_token: Option<Secret>,
    /// One gateway call's limit; a timed-out call is retried with the same idempotency key
    pub timeout_ms: u64,
    /// Messages in flight at once, per replica
    pub concurrency: usize,
    /// Deliveries claimed per round
    pub batch: usize,
    /// How long a delivery keeps being retried before it is marked failed (and alerted on)
    pub retry_budget_secs: u64,
    /// Back-off between a delivery's attempts
    pub retry: Backoff,
}

/// `PASOKH__REQUEUE__SINCE=2026-12-01T00:00:00Z PASOKH__REQUEUE__CLASS=gateway_credentials
/// pasokh-notification requeue-failed`: only deliveries that failed since then, of that class.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequeueSettings {
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub class: Option<String>,
}

impl SmsSettings {
    /// The gateway URL, refused when it would carry a credential into logs and errors.
    pub fn checked_gateway_url(&self) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(&self.gateway_url).map_err(|e| format!("sms.gateway_url: {e}"))?;
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
            return Err("sms.gateway_url must not carry a credential (user info or query string); \
                        put the gateway's key in sms.gateway_token"
                .into());
        }
        Ok(url)
    }
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
                gateway_token: None,
                timeout_ms: 5_000,
                concurrency: 32,
                batch: 200,
                retry_budget_secs: 6 * 3600,
                retry: Backoff::new(std::time::Duration::from_secs(2), std::time::Duration::from_secs(300)),
            },
            requeue: RequeueSettings::default(),
            shutdown_drain_secs: 20,
        }
    }
}

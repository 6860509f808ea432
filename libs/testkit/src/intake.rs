//! A real intake in process, on port 0, against its own database and topics on the real stack:
//! the one harness intake's, routing's and notification's tests start it through.
use pasokh_intake::{App, Settings};
use pasokh_platform::config::{ListenSettings, Secret};
use pasokh_platform::db::DatabaseSettings;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{Provider, RunningService, Stack, Topics, start_service};

/// The national id and mobile of [`valid_petition`], in their canonical forms.
pub const NATIONAL_ID: &str = "0499370899";
pub const MOBILE: &str = "09121234567";

pub struct TestIntake {
    pub http: String,
    pub grpc: String,
    pub internal_grpc: String,
    pub provider: Provider,
    pub pool: PgPool,
    pub topics: Topics,
    /// what it was started with, for another province's intake on the same database
    pub settings: Settings,
    service: RunningService,
}

impl std::ops::Deref for TestIntake {
    type Target = RunningService;

    fn deref(&self) -> &RunningService {
        &self.service
    }
}

impl TestIntake {
    /// Tehran's intake on `database_url` and `topics`, with its service client at the provider,
    /// and limits high enough for tests that are not about limits: they file many petitions from
    /// one address and one mobile.
    pub fn settings(stack: &Stack, database_url: &str, topics: &Topics) -> Settings {
        let provider = Provider::from_env();
        let mut kafka = stack.kafka_settings(topics, "intake");
        // fail fast when the broker is unreachable, so a test sees the row stay in the outbox
        kafka.properties.insert("message.timeout.ms".into(), "3000".into());
        let mut settings = Settings {
            province: "IR-23".into(),
            listen: ListenSettings::new(0, 0),
            database: DatabaseSettings::at(database_url),
            kafka,
            citizen_ref_key: Secret::new("test-key"),
            routing_grpc_url: "http://127.0.0.1:1".into(),
            auth: provider.auth_settings("pasokh-intake", Some("pasokh-intake")),
            partners: pasokh_intake::config::PartnerSettings {
                clients: ["partner-call-centre".to_owned()].into(),
                per_minute: 100_000,
            },
            shutdown_drain_secs: 5,
            ..Settings::default()
        };
        settings.limits.per_ip_per_minute = 100_000;
        settings.limits.petitions_per_mobile_per_hour = 100_000;
        settings.limits.lookups_per_mobile_per_hour = 100_000;
        settings.limits.lookups_per_tracking_code_per_hour = 100_000;
        settings.limits.province_per_second = 100_000;
        settings
    }

    /// Migrates and starts an intake with `settings`.
    pub async fn start(settings: Settings) -> Self {
        let service = start_service::<App>(&settings).await;
        let pool = PgPool::connect(settings.database.url.expose()).await.expect("intake's database");
        let topics = Topics {
            lifecycle: settings.kafka.lifecycle_topic.clone(),
            delivery: settings.kafka.delivery_topic.clone(),
            desk: settings.kafka.desk_topic.clone(),
        };
        Self {
            http: service.http.clone(),
            grpc: service.grpc.clone(),
            internal_grpc: service.internal_grpc.clone().expect("intake has an internal listener"),
            provider: Provider::from_env(),
            pool,
            topics,
            settings,
            service,
        }
    }

    /// An intake on a fresh database and fresh topics, with [`Self::settings`] adjusted by the test.
    pub async fn fresh_with(stack: &Stack, adjust: impl FnOnce(&mut Settings)) -> Self {
        let db = stack.fresh_database("intake").await;
        let topics = stack.fresh_topics("intake").await;
        let mut settings = Self::settings(stack, &db, &topics);
        adjust(&mut settings);
        Self::start(settings).await
    }

    pub async fn fresh(stack: &Stack) -> Self {
        Self::fresh_with(stack, |_| {}).await
    }

    pub async fn stop(self) {
        self.service.stop().await;
    }

    /// Files `body` at `POST /v1/petitions`; returns status and body.
    pub async fn submit(&self, body: &Value) -> (u16, Value) {
        let (status, _, body) = self.post("/v1/petitions", body, None).await;
        (status, body)
    }

    /// POSTs JSON with an optional `Idempotency-Key`; returns status, headers and body.
    pub async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = reqwest::Client::new().post(format!("{}{path}", self.http)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("intake answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.json().await.unwrap_or(Value::Null))
    }

    /// Rows in one of intake's tables.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&self.pool).await.expect("count")
    }
}

/// A petition a citizen could file on the web, with the national id in Persian digits and the
/// mobile in international form, as people type them.
pub fn valid_petition() -> Value {
    json!({
        "national_id": "۰۴۹۹۳۷۰۸۹۹",
        "mobile": "+98 912 123 4567",
        "province": "IR-23",
        "category": "pension-payment",
        "kind": "complaint",
        "channel": "web",
        "text": "مستمري اين ماه من واريز نشده است"
    })
}

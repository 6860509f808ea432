//! The intake test harness: a real intake on port 0 against its own database and topics.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use pasokh_intake::{App, Settings};
use pasokh_platform::config::{ListenSettings, Secret};
use pasokh_platform::db::DatabaseSettings;
use pasokh_testkit::{Provider, RunningService, Stack, Topics, start_service};
use serde_json::{Value, json};
use sqlx::PgPool;

pub const NATIONAL_ID: &str = "0499370899";
pub const MOBILE: &str = "09121234567";

pub struct TestIntake {
    pub http: String,
    pub grpc: String,
    pub internal_grpc: String,
    pub provider: Provider,
    pub pool: PgPool,
    pub topics: Topics,
    service: RunningService,
}

impl TestIntake {
    pub async fn start(stack: &Stack, database_url: &str, topics: &Topics, kafka_bootstrap: &str) -> Self {
        Self::start_with(stack, database_url, topics, kafka_bootstrap, |_| {}).await
    }

    /// Like `start`, with settings adjusted by the test.
    pub async fn start_with(
        stack: &Stack,
        database_url: &str,
        topics: &Topics,
        kafka_bootstrap: &str,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let provider = Provider::from_env();
        let mut kafka = stack.kafka_settings(topics, "intake");
        kafka.bootstrap_servers = kafka_bootstrap.to_owned();
        // fail fast when the broker is unreachable, so the test sees the row stay in the outbox
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
        // tests not about limits file many petitions from one address and mobile
        settings.limits.per_ip_per_minute = 100_000;
        settings.limits.petitions_per_mobile_per_hour = 100_000;
        settings.limits.lookups_per_mobile_per_hour = 100_000;
        settings.limits.lookups_per_tracking_code_per_hour = 100_000;
        settings.limits.province_per_second = 100_000;
        adjust(&mut settings);
        let service = start_service::<App>(&settings).await;
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        Self {
            http: service.http.clone(),
            grpc: service.grpc.clone(),
            internal_grpc: service.internal_grpc.clone().unwrap(),
            provider,
            pool,
            topics: topics.clone(),
            service,
        }
    }

    pub async fn fresh(stack: &Stack) -> Self {
        Self::fresh_with(stack, |_| {}).await
    }

    pub async fn fresh_with(stack: &Stack, adjust: impl FnOnce(&mut Settings)) -> Self {
        let db = stack.fresh_database("intake").await;
        let topics = stack.fresh_topics("intake").await;
        Self::start_with(stack, &db, &topics, &stack.kafka, adjust).await
    }

    pub async fn stop(self) {
        self.service.stop().await;
    }

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
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&self.pool).await.unwrap()
    }
}

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

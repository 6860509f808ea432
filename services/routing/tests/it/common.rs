//! A real intake and a real routing, in process, on the real PostgreSQL and Kafka:
//! petitions go in over intake's HTTP API exactly as citizens file them.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_domain::Role;
use pasokh_platform::auth::dev;
use pasokh_platform::config::ListenSettings;
use pasokh_platform::db::DatabaseSettings;
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::routing::v1::case_lookup_client::CaseLookupClient;
use pasokh_proto::routing::v1::case_service_client::CaseServiceClient;
use pasokh_routing::{App, Settings};
use pasokh_testkit::intake::TestIntake;
use pasokh_testkit::{Provider, RunningService, Stack, Topics, eventually, free_port, national_id, start_service};
use prost::Message as _;
use rdkafka::message::Message as _;
use serde_json::{Value, json};
use sqlx::PgPool;
use tonic::transport::Channel;
use uuid::Uuid;

pub struct World {
    pub stack: Stack,
    pub provider: Provider,
    pub topics: Topics,
    pub pool: PgPool,
    pub settings: Settings,
    pub intake: TestIntake,
    pub routing: RunningService,
    pub http: reqwest::Client,
}

/// Citizen number `n`'s mobile: each citizen has their own, as intake limits petitions per mobile.
pub fn mobile(n: u32) -> String {
    format!("0935{:07}", n)
}

pub struct Filed {
    pub petition_id: Uuid,
    pub tracking_code: String,
    pub mobile: String,
}

impl World {
    pub async fn start(province: &str, adjust: impl FnOnce(&mut Settings)) -> Self {
        let stack = Stack::from_env();
        let provider = Provider::from_env();
        let topics = stack.fresh_topics("routing").await;
        let intake_internal_port = free_port();
        let routing_internal_port = free_port();
        let db = stack.fresh_database("routing").await;
        let mut auth = provider.auth_settings("pasokh-routing", Some("pasokh-routing"));
        // the workflow tests speak for officers of every organisation with development tokens
        auth.dev_tokens.enabled = true;
        let mut settings = Settings {
            listen: ListenSettings::new(0, 0).with_internal(routing_internal_port),
            database: DatabaseSettings::at(&db),
            kafka: stack.kafka_settings(&topics, "routing"),
            intake_grpc_url: format!("http://127.0.0.1:{intake_internal_port}"),
            auth,
            shutdown_drain_secs: 5,
            ..Settings::default()
        };
        adjust(&mut settings);
        let intake_db = stack.fresh_database("intake").await;
        let mut intake_settings = TestIntake::settings(&stack, &intake_db, &topics);
        intake_settings.province = province.into();
        intake_settings.listen = ListenSettings::new(0, 0).with_internal(intake_internal_port);
        intake_settings.routing_grpc_url = format!("http://127.0.0.1:{routing_internal_port}");
        let intake = TestIntake::start(intake_settings).await;
        let routing = start_service::<App>(&settings).await;
        let pool = PgPool::connect(&db).await.unwrap();
        Self { stack, provider, topics, pool, settings, intake, routing, http: reqwest::Client::new() }
    }

    /// Another province's intake on the same database and topics (as a deployment per province is).
    pub async fn intake_for(&self, province: &str) -> RunningService {
        let settings = pasokh_intake::Settings {
            province: province.into(),
            listen: ListenSettings::new(0, 0).with_internal(free_port()),
            kafka: self.stack.kafka_settings(&self.topics, "intake"),
            ..self.intake.settings.clone()
        };
        start_service::<pasokh_intake::App>(&settings).await
    }

    /// Another replica of routing: the same database, topics and consumer group.
    pub async fn routing_replica(&self) -> RunningService {
        let settings =
            Settings { listen: ListenSettings::new(0, 0).with_internal(free_port()), ..self.settings.clone() };
        start_service::<App>(&settings).await
    }

    pub async fn stop(self) {
        self.routing.stop().await;
        self.intake.stop().await;
    }

    /// Files a petition over intake's HTTP API and waits until routing has the case.
    pub async fn file(&self, citizen: u32, category: &str, text: &str) -> Filed {
        let filed = self.file_at(&self.intake, citizen, category, text).await;
        self.wait_status(filed.petition_id, |s| s != "submitted").await;
        filed
    }

    /// Files a petition at `intake` and returns at once, as soon as it answered 201.
    pub async fn file_at(&self, intake: &RunningService, citizen: u32, category: &str, text: &str) -> Filed {
        let response = self
            .http
            .post(format!("{}/v1/petitions", intake.http))
            .json(&json!({
                "national_id": national_id(citizen), "mobile": mobile(citizen), "category": category,
                "kind": "complaint", "channel": "web", "text": text
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        Filed {
            petition_id: Uuid::parse_str(body["id"].as_str().unwrap()).unwrap(),
            tracking_code: body["tracking_code"].as_str().unwrap().to_owned(),
            mobile: mobile(citizen),
        }
    }

    pub async fn status(&self, petition_id: Uuid) -> Option<String> {
        sqlx::query_scalar("SELECT status FROM cases WHERE petition_id = $1")
            .bind(petition_id)
            .fetch_optional(&self.pool)
            .await
            .unwrap()
    }

    /// Waits until the case's status satisfies `wanted`; returns it.
    pub async fn wait_status(&self, petition_id: Uuid, wanted: impl Fn(&str) -> bool) -> String {
        eventually(Duration::from_secs(30), "the case's status", || async {
            self.status(petition_id).await.filter(|s| wanted(s))
        })
        .await
    }

    /// The citizen's reply or rating over intake's HTTP API: (status, body).
    pub async fn citizen_posts(&self, tracking_code: &str, what: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/v1/petitions/{tracking_code}/{what}", self.intake.http))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Routing's internal `CaseLookup`, and a request carrying notification's service token for it.
    pub async fn lookup(&self) -> CaseLookupClient<Channel> {
        CaseLookupClient::connect(self.routing.internal_grpc.clone().unwrap()).await.unwrap()
    }

    pub async fn as_notification<T>(&self, message: T) -> tonic::Request<T> {
        let token = self.provider.client_token("pasokh-notification", "pasokh-routing").await;
        pasokh_testkit::with_bearer(message, &token)
    }

    pub async fn cases(&self) -> CaseServiceClient<Channel> {
        CaseServiceClient::connect(self.routing.grpc.clone()).await.unwrap()
    }

    /// Lifecycle events of one petition on the topic, in order, as (ce_type suffix, event).
    pub async fn events_of(&self, petition_id: Uuid, at_least: usize) -> Vec<PetitionEvent> {
        let key = petition_id.to_string();
        eventually(Duration::from_secs(30), "the petition's events", || async {
            let records = self.stack.read_topic(&self.topics.lifecycle, usize::MAX, Duration::from_secs(3)).await;
            let events: Vec<PetitionEvent> = records
                .iter()
                .filter(|r| r.key() == Some(key.as_bytes()))
                .map(|r| PetitionEvent::decode(r.payload().unwrap()).unwrap())
                .collect();
            (events.len() >= at_least).then_some(events)
        })
        .await
    }
}

/// A development token (the tests' routing turns them on) for any role, province and organisation.
pub fn token(role: Role, province: &str, organisation: &str) -> String {
    token_with(role, province, organisation, &[])
}

pub fn token_with(role: Role, province: &str, organisation: &str, permissions: &[&str]) -> String {
    let sub = format!("{role:?}-{province}-{organisation}");
    let claims = dev::claims(&sub, role.as_str(), province, organisation, permissions, "pasokh-routing", 3600);
    dev::mint(&claims, pasokh_platform::auth::DEV_KEY)
}

/// A gRPC request carrying the token.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The name of an event's body, as in its `ce_type` (`ir.gov.mcls.pasokh.petition.<name>.v1`).
pub fn kind(event: &PetitionEvent) -> String {
    let ce_type = pasokh_events::lifecycle::event_type(event.body.as_ref().unwrap());
    ce_type.rsplit('.').nth(1).unwrap().to_owned()
}

//! Routing, black-box: Submitted events in, cases and Routed events out, on the real stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use pasokh_events::cloudevents::header_map_of;
use pasokh_events::lifecycle::{self, from_timestamp};
use pasokh_events::outbox::OutboxMessage;
use pasokh_platform::config::ListenSettings;
use pasokh_platform::db::DatabaseSettings;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{PetitionEvent, Submitted};
use pasokh_proto::routing::v1::GetCaseRequest;
use pasokh_proto::routing::v1::case_service_client::CaseServiceClient;
use pasokh_routing::{App, Settings};
use pasokh_testkit::{RunningService, Stack, Topics, eventually, start_service};
use prost::Message as _;
use rdkafka::message::Message as _;
use sqlx::PgPool;
use uuid::Uuid;

struct TestRouting {
    pool: PgPool,
    topics: Topics,
    service: RunningService,
}

impl TestRouting {
    async fn start(stack: &Stack) -> Self {
        Self::start_with(stack, |_| {}).await
    }

    async fn start_with(stack: &Stack, adjust: impl FnOnce(&mut Settings)) -> Self {
        let db = stack.fresh_database("routing").await;
        let topics = stack.fresh_topics("routing").await;
        let mut settings = Settings {
            listen: ListenSettings::new(0, 0),
            database: DatabaseSettings::at(&db),
            kafka: stack.kafka_settings(&topics, "routing"),
            shutdown_drain_secs: 5,
            ..Settings::default()
        };
        adjust(&mut settings);
        let service = start_service::<App>(&settings).await;
        let pool = PgPool::connect(&db).await.unwrap();
        Self { pool, topics, service }
    }

    async fn stop(self) {
        self.service.stop().await;
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

fn submitted(topic: &str, category: &str) -> (PetitionEvent, OutboxMessage) {
    let event = lifecycle::new_event(
        Uuid::now_v7(),
        "IR-23",
        "231234567890",
        Body::Submitted(Submitted {
            category: category.into(),
            kind: "complaint".into(),
            channel: "web".into(),
            citizen_ref: "ab".repeat(32),
            text_length: 40,
            desk_event_id: String::new(),
            ..Default::default()
        }),
    );
    let message = lifecycle::outbox_message(topic, "//pasokh/intake/IR-23", &event).unwrap();
    (event, message)
}

fn routed_events(records: &[rdkafka::message::OwnedMessage]) -> Vec<(PetitionEvent, BTreeMap<String, String>)> {
    records
        .iter()
        .map(|r| (PetitionEvent::decode(r.payload().unwrap()).unwrap(), header_map_of(r.headers())))
        .filter(|(e, _)| matches!(e.body, Some(Body::Routed(_))))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_submitted_event_routes_the_case_once() {
    let stack = Stack::from_env();
    let routing = TestRouting::start(&stack).await;
    let (event, message) = submitted(&routing.topics.lifecycle, "pension-payment");
    // the same event twice, as Kafka may deliver it after a producer retry or a consumer crash
    stack.publish(&message).await;
    stack.publish(&message).await;

    eventually(Duration::from_secs(30), "the case to be routed", || async {
        // the Submitted event (once, though delivered twice) and routing's own Routed event read back
        (routing.count("SELECT count(*) FROM processed_events").await == 2
            && routing.count("SELECT count(*) FROM outbox").await == 0
            && routing.count("SELECT count(*) FROM cases").await == 1)
            .then_some(())
    })
    .await;
    // 2 submitted (one redelivery) + the routed event; a fourth record must not come
    let records = stack.read_topic(&routing.topics.lifecycle, 4, Duration::from_secs(8)).await;
    assert_eq!(records.len(), 3, "one Routed event, not two");
    let routed = routed_events(&records);
    let (routed_event, headers) = &routed[0];
    assert_eq!(headers["ce_type"], "ir.gov.mcls.pasokh.petition.routed.v1");
    assert_eq!(headers["ce_source"], "//pasokh/routing");
    assert_eq!(routed_event.petition_id, event.petition_id);
    let Some(Body::Routed(body)) = &routed_event.body else { unreachable!() };
    assert_eq!(body.organisation, "sso");
    assert_eq!(body.unit, "sso/IR-23");
    assert!(body.rule.ends_with("/pension-payment-tehran"), "Tehran's own pension rule: {}", body.rule);
    assert_eq!(body.priority, "high");
    let first = from_timestamp(body.first_response_due.as_ref()).unwrap();
    let resolution = from_timestamp(body.resolution_due.as_ref()).unwrap();
    assert!(first < resolution, "first response is due before resolution");
    assert!(resolution - first >= chrono::Duration::days(8), "10 - 2 working days apart");

    assert_eq!(routing.count("SELECT count(*) FROM case_history").await, 2, "submitted and routed");
    let mut client = CaseServiceClient::connect(routing.service.grpc.clone()).await.unwrap();
    let case = client.get_case(GetCaseRequest { petition_id: event.petition_id.clone() }).await.unwrap().into_inner();
    assert_eq!(case.status, "routed");
    assert_eq!(case.unit, "sso/IR-23");
    let missing = client.get_case(GetCaseRequest { petition_id: Uuid::now_v7().to_string() }).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    routing.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_uncatalogued_category_goes_to_the_provincial_triage_queue() {
    let stack = Stack::from_env();
    let routing = TestRouting::start(&stack).await;
    let (event, message) = submitted(&routing.topics.lifecycle, "a-category-routing-has-no-rule-for");
    stack.publish(&message).await;
    let unit: String = eventually(Duration::from_secs(30), "the case", || async {
        sqlx::query_scalar("SELECT unit FROM cases WHERE petition_id = $1")
            .bind(Uuid::parse_str(&event.petition_id).unwrap())
            .fetch_optional(&routing.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(unit, "mcls-directorate/IR-23/triage");
    routing.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_record_is_dead_lettered_and_does_not_block_its_partition() {
    let stack = Stack::from_env();
    let routing = TestRouting::start(&stack).await;
    let (event, message) = submitted(&routing.topics.lifecycle, "unpaid-wages");
    // same key as the good event, so the same partition: it must not be stuck behind the poison
    stack.publish_raw(&routing.topics.lifecycle, &message.key, &BTreeMap::new(), b"\xff not a protobuf").await;
    stack.publish(&message).await;

    eventually(Duration::from_secs(30), "the good event to be routed", || async {
        (routing.count("SELECT count(*) FROM cases").await == 1).then_some(())
    })
    .await;
    let dlq = stack.read_topic(&format!("{}.dlq", routing.topics.lifecycle), 1, Duration::from_secs(20)).await;
    assert_eq!(dlq.len(), 1);
    let headers = header_map_of(dlq[0].headers());
    assert!(headers["pasokh_dlq_reason"].contains("ce_specversion"), "{headers:?}");
    assert_eq!(headers["pasokh_dlq_topic"], routing.topics.lifecycle);
    assert_eq!(dlq[0].payload().unwrap(), b"\xff not a protobuf");
    let unit: String = sqlx::query_scalar("SELECT unit FROM cases WHERE petition_id = $1")
        .bind(Uuid::parse_str(&event.petition_id).unwrap())
        .fetch_one(&routing.pool)
        .await
        .unwrap();
    assert_eq!(unit, "labour-inspection/IR-23");
    routing.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_petition_resolved_at_the_desk_is_counted_as_a_case_closed_on_the_spot() {
    let stack = Stack::from_env();
    let routing = TestRouting::start(&stack).await;
    let event = lifecycle::new_event(
        Uuid::now_v7(),
        "IR-23",
        "231234567890",
        Body::Submitted(Submitted {
            category: "civil-pension".into(),
            channel: "desk".into(),
            kind: "request".into(),
            desk_event_id: Uuid::now_v7().to_string(),
            resolved_on_spot: true,
            ..Default::default()
        }),
    );
    stack
        .publish(&lifecycle::outbox_message(&routing.topics.lifecycle, "//pasokh/intake/IR-23", &event).unwrap())
        .await;
    let (status, rule): (String, String) = eventually(Duration::from_secs(30), "the case", || async {
        sqlx::query_as("SELECT status, rule FROM cases WHERE petition_id = $1")
            .bind(Uuid::parse_str(&event.petition_id).unwrap())
            .fetch_optional(&routing.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!((status.as_str(), rule.as_str()), ("closed", "desk:resolved-on-spot"));
    let history: Vec<(Option<String>, String)> =
        sqlx::query_as("SELECT from_status, to_status FROM case_history ORDER BY id")
            .fetch_all(&routing.pool)
            .await
            .unwrap();
    assert_eq!(history, [(None, "submitted".to_owned()), (Some("submitted".to_owned()), "closed".to_owned())]);
    let records = stack.read_topic(&routing.topics.lifecycle, 2, Duration::from_secs(20)).await;
    let closed = records
        .iter()
        .find_map(|r| match PetitionEvent::decode(r.payload().unwrap()).unwrap().body {
            Some(Body::Closed(closed)) => Some((closed, header_map_of(r.headers()))),
            _ => None,
        })
        .expect("a Closed event");
    assert_eq!(closed.0.reason, "resolved_on_spot");
    assert_eq!(closed.0.organisation, "cspf");
    assert_eq!(closed.1["ce_type"], "ir.gov.mcls.pasokh.petition.closed.v1");
    routing.stop().await;
}

fn submitted_in(topic: &str, category: &str, province: &str) -> (PetitionEvent, OutboxMessage) {
    let event = lifecycle::new_event(
        Uuid::now_v7(),
        province,
        "251234567890",
        Body::Submitted(Submitted { category: category.into(), kind: "request".into(), ..Default::default() }),
    );
    let message = lifecycle::outbox_message(topic, "//pasokh/intake", &event).unwrap();
    (event, message)
}

async fn routed_unit(routing: &TestRouting, stack: &Stack, category: &str) -> (String, String) {
    let (event, message) = submitted_in(&routing.topics.lifecycle, category, "IR-25");
    stack.publish(&message).await;
    eventually(Duration::from_secs(30), "the case", || async {
        sqlx::query_as("SELECT unit, rule FROM cases WHERE petition_id = $1")
            .bind(Uuid::parse_str(&event.petition_id).unwrap())
            .fetch_optional(&routing.pool)
            .await
            .unwrap()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_rules_are_reloaded_from_their_file_without_a_restart_and_bad_files_are_refused() {
    let stack = Stack::from_env();
    let dir = std::env::temp_dir().join(format!("pasokh-rules-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("routing-rules.toml");
    let built_in =
        std::fs::read_to_string(pasokh_testkit::repo_root().join("services/routing/rules/routing-rules.toml")).unwrap();
    let original = built_in.replace("[[rule]]\nname = \"other\"", "[[rule]]\nname = \"other-everywhere\"");
    std::fs::write(&file, &original).unwrap();
    let path = file.to_string_lossy().into_owned();
    let routing = TestRouting::start_with(&stack, |s| {
        s.rules_file = path;
        s.rules_reload_secs = 1;
    })
    .await;

    let (unit, rule) = routed_unit(&routing, &stack, "other").await;
    assert_eq!(unit, "mcls-directorate/IR-25");
    assert!(rule.ends_with("/other-everywhere"), "{rule}");

    // Qom's director has the welfare organisation answer "other" petitions there from now on
    let updated = original.replace("version = \"2026-11-29.1\"", "version = \"2026-12-01.1\"")
        + "\n[[rule]]\nname = \"other-qom\"\ncategory = \"other\"\nprovinces = [\"IR-25\"]\norganisation = \"welfare\"\nfirst_response_days = 2\nresolution_days = 9\npriority = \"normal\"\n";
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new modification time
    std::fs::write(&file, &updated).unwrap();
    let (_, rule) = eventually(Duration::from_secs(20), "the new rule to apply", || async {
        let (unit, rule) = routed_unit(&routing, &stack, "other").await;
        (unit == "welfare/IR-25").then_some((unit, rule))
    })
    .await;
    assert_eq!(rule, "2026-12-01.1/other-qom", "the case names the rule and version that routed it");

    // a broken edit is refused: the rules in force stay
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&file, updated.replace("organisation = \"welfare\"", "organisation = \"nasa\"")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (unit, _) = routed_unit(&routing, &stack, "other").await;
    assert_eq!(unit, "welfare/IR-25");
    routing.stop().await;
}

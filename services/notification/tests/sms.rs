//! Notification, black-box: a real intake (for GetContact), the SMS sink as a
//! separate HTTP process, the real Kafka and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_events::cloudevents::header_map_of;
use pasokh_notification::{App, Settings};
use pasokh_platform::config::ListenSettings;
use pasokh_platform::db::DatabaseSettings;
use pasokh_platform::retry::Backoff;
use pasokh_platform::service::Service as _;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{DeliveryEvent, Routed};
use pasokh_testkit::intake::TestIntake;
use pasokh_testkit::{RunningService, SmsSink, Stack, Topics, eventually, free_port, record_key, start_service};
use prost::Message as _;
use rdkafka::message::Message as _;
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    stack: Stack,
    topics: Topics,
    intake_http: String,
    notification_group: String,
    pool: PgPool,
    intake: TestIntake,
    notification: RunningService,
    settings: Settings,
}

impl World {
    async fn start(gateway_url: String) -> Self {
        Self::start_with(gateway_url, |_| {}).await
    }

    /// With retries short enough for a test and `adjust` applied last.
    async fn start_with(gateway_url: String, adjust: impl FnOnce(&mut Settings)) -> Self {
        let stack = Stack::from_env();
        let topics = stack.fresh_topics("notification").await;
        let intake_db = stack.fresh_database("intake").await;
        let intake = TestIntake::start(TestIntake::settings(&stack, &intake_db, &topics)).await;
        let (intake_http, intake_grpc) = (intake.http.clone(), intake.internal_grpc.clone());
        let provider = pasokh_testkit::Provider::from_env();

        let db = stack.fresh_database("notification").await;
        let mut settings = Settings {
            listen: ListenSettings::new(0, 0),
            database: DatabaseSettings::at(&db),
            kafka: stack.kafka_settings(&topics, "notification"),
            intake_grpc_url: intake_grpc,
            auth: provider.auth_settings("pasokh-notification", Some("pasokh-notification")),
            shutdown_drain_secs: 5,
            ..Settings::default()
        };
        settings.sms.gateway_url = gateway_url;
        settings.sms.retry = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        adjust(&mut settings);
        let notification_group = settings.kafka.consumer_group.clone();
        let notification = start_service::<App>(&settings).await;
        let pool = PgPool::connect(&db).await.unwrap();
        Self { stack, topics, intake_http, notification_group, pool, intake, notification, settings }
    }

    async fn file_petition(&self) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/petitions", self.intake_http))
            .json(&json!({
                "national_id": "0084575948", "mobile": "09351234567", "category": "unpaid-wages",
                "kind": "complaint", "channel": "web", "text": "حقوق سه ماه گذشته پرداخت نشده است"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    async fn stop(self) {
        self.notification.stop().await;
        self.intake.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_event_never_sends_the_same_sms_twice() {
    let sink = SmsSink::start().await;
    let world = World::start(sink.send_url()).await;
    let petition = world.file_petition().await;
    let code = petition["tracking_code"].as_str().unwrap();

    let sent = eventually(Duration::from_secs(30), "the first sms", || async {
        let messages = sink.messages().await;
        (!messages.is_empty()).then_some(messages)
    })
    .await;
    assert_eq!(sent[0].to, "09351234567", "mobile fetched from intake over gRPC");
    assert!(sent[0].text.contains(code), "{}", sent[0].text);
    assert!(sent[0].text.contains("کد رهگیری"), "Persian text");

    // Kafka redelivers the Submitted event (same ce_id), twice
    let original = &world.stack.read_topic(&world.topics.lifecycle, 1, Duration::from_secs(10)).await[0];
    let headers = header_map_of(original.headers());
    for _ in 0..2 {
        world
            .stack
            .publish_raw(&world.topics.lifecycle, &record_key(original), &headers, original.payload().unwrap())
            .await;
    }
    // same key, same partition: the redeliveries sit right after the original
    let past_redeliveries = original.offset() + 3;
    eventually(Duration::from_secs(30), "the consumer to commit past the redeliveries", || async {
        let committed = world
            .stack
            .committed_offset(&world.notification_group, &world.topics.lifecycle, original.partition())
            .await;
        (committed >= Some(past_redeliveries)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await; // let a wrongly-recorded second delivery reach the sink
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries").fetch_one(&world.pool).await.unwrap();
    assert_eq!(recorded, 1, "one ledger row for one event");
    assert_eq!(sink.messages().await.len(), 1, "exactly one SMS for one event");
    let status: String = sqlx::query_scalar("SELECT status FROM deliveries").fetch_one(&world.pool).await.unwrap();
    assert_eq!(status, "sent");

    let outcomes = world.stack.read_topic(&world.topics.delivery, 1, Duration::from_secs(20)).await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(header_map_of(outcomes[0].headers())["ce_type"], "ir.gov.mcls.pasokh.notification.sent.v1");
    let outcome = DeliveryEvent::decode(outcomes[0].payload().unwrap()).unwrap();
    assert_eq!(outcome.petition_id, petition["id"].as_str().unwrap());
    assert_eq!(outcome.outcome, "sent");
    world.stop().await;
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_waits_for_a_gateway_that_is_down_and_goes_out_when_it_is_back() {
    let port = free_port();
    let world = World::start(format!("http://127.0.0.1:{port}/send")).await;
    world.file_petition().await;
    eventually(Duration::from_secs(30), "a failed attempt to be recorded", || async {
        let (attempts, status): (i32, String) =
            sqlx::query_as("SELECT attempts, status FROM deliveries").fetch_optional(&world.pool).await.unwrap()?;
        (attempts >= 1 && status == "pending").then_some(())
    })
    .await;

    let sink = SmsSink::start_on(port).await;
    let messages = eventually(Duration::from_secs(30), "the retried sms", || async {
        let messages = sink.messages().await;
        (!messages.is_empty()).then_some(messages)
    })
    .await;
    assert_eq!(messages.len(), 1);
    // the gateway has it; the ledger records it with the rest of its batch
    let (_, _, _, last_error, _) =
        eventually(Duration::from_secs(10), "sent", || async { delivery(&world.pool).await.filter(|d| d.0 == "sent") })
            .await;
    assert_eq!(last_error, "", "cleared once sent");
    world.stop().await;
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_time_code_is_texted_at_once_for_the_webs_service_account_and_nobody_else() {
    let sink = SmsSink::start().await;
    let world = World::start(sink.send_url()).await;
    let provider = pasokh_testkit::Provider::from_env();
    let url = format!("{}/v1/one-time-codes", world.notification.http);
    let send = |token: Option<String>, body: Value| {
        let url = url.clone();
        async move {
            let mut request = reqwest::Client::new().post(url).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let code = json!({"mobile": "۰۹۳۵۱۲۳۴۵۶۷", "code": "042517", "request_id": "otp-1"});

    let web = provider.client_token("pasokh-web", "pasokh-notification").await;
    let (status, _) = send(Some(web.clone()), code.clone()).await;
    assert_eq!(status, 202);
    let messages = eventually(Duration::from_secs(5), "the code at the gateway", || async {
        let messages = sink.messages().await;
        (!messages.is_empty()).then_some(messages)
    })
    .await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, "09351234567");
    assert!(messages[0].text.contains("۰۴۲۵۱۷"), "{}", messages[0].text);

    // another service's token, no token, a malformed code: nothing is sent
    let intake = provider.client_token("pasokh-intake", "pasokh-routing").await;
    let (status, problem) = send(Some(intake), code.clone()).await;
    assert_eq!(status, 401, "a token for another audience: {problem}");
    let (status, _) = send(None, code.clone()).await;
    assert_eq!(status, 401);
    let (status, problem) = send(Some(web), json!({"mobile": "0935", "code": "12345", "request_id": "otp-2"})).await;
    assert_eq!(status, 400);
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["mobile", "code"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().await.len(), 1, "refused requests send nothing");
    world.stop().await;
    sink.stop().await;
}

/// The ledger row of the only delivery: (status, attempts, failure class, last error, requeued).
async fn delivery(pool: &PgPool) -> Option<(String, i32, String, String, i32)> {
    sqlx::query_as("SELECT status, attempts, failure_class, last_error, requeued FROM deliveries ORDER BY id LIMIT 1")
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_slower_than_the_timeout_texts_the_citizen_once_under_one_idempotency_key() {
    let sink = SmsSink::start().await;
    // the sink records, then answers after 1.5 s: the client gives up at 400 ms, not knowing it was taken
    sink.control(json!({"delay_ms": 1500})).await;
    let world = World::start_with(sink.send_url(), |s| s.sms.timeout_ms = 400).await;
    world.file_petition().await;
    eventually(Duration::from_secs(30), "the resends of a timed-out message", || async {
        (sink.stats().await.repeats >= 2).then_some(())
    })
    .await;
    sink.control(json!({"delay_ms": 0})).await;
    eventually(Duration::from_secs(30), "the delivery to be recorded as sent", || async {
        delivery(&world.pool).await.filter(|d| d.0 == "sent")
    })
    .await;
    let messages = sink.messages().await;
    assert_eq!(messages.len(), 1, "one message reached the citizen: {messages:?}");
    let source_event: uuid::Uuid =
        sqlx::query_scalar("SELECT source_event_id FROM deliveries").fetch_one(&world.pool).await.unwrap();
    assert_eq!(messages[0].key, format!("{source_event}-sms"), "the Idempotency-Key header is the delivery's own");
    assert_eq!(messages[0].message_id, messages[0].key, "and the body says the same");
    assert!(messages[0].repeats >= 2, "every resend used the same key: {messages:?}");
    let (_, attempts, ..) = delivery(&world.pool).await.unwrap();
    assert!(attempts >= 3, "each timed-out call counted as an attempt: {attempts}");
    world.stop().await;
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_past_its_retry_budget_fails_with_a_class_only_and_the_requeue_command_sends_it() {
    let port = free_port();
    let world = World::start_with(format!("http://127.0.0.1:{port}/send"), |s| s.sms.retry_budget_secs = 2).await;
    world.file_petition().await;
    let (status, attempts, class, last_error, _) =
        eventually(Duration::from_secs(30), "the delivery to fail for good", || async {
            delivery(&world.pool).await.filter(|d| d.0 == "failed")
        })
        .await;
    assert_eq!((status.as_str(), class.as_str()), ("failed", "retry_budget_spent"));
    assert!(attempts >= 2, "retried within the budget: {attempts}");
    assert!(last_error.contains("gateway_unavailable"), "{last_error}");
    assert!(!last_error.contains(&port.to_string()), "no URL in the ledger: {last_error}");

    // other agencies read the delivery topic: the outcome says the class, nothing the network said
    let outcomes = world.stack.read_topic(&world.topics.delivery, 1, Duration::from_secs(20)).await;
    let outcome = DeliveryEvent::decode(outcomes[0].payload().unwrap()).unwrap();
    assert_eq!((outcome.outcome.as_str(), outcome.detail.as_str()), ("failed", "retry_budget_spent"));

    // the gateway is back; an operator re-queues what failed
    let sink = SmsSink::start_on(port).await;
    let mut requeue = world.settings.clone();
    requeue.requeue.class = Some("retry_budget_spent".into());
    App::run_task(&requeue, 0).await.unwrap();
    let messages = eventually(Duration::from_secs(30), "the re-queued sms", || async {
        let messages = sink.messages().await;
        (!messages.is_empty()).then_some(messages)
    })
    .await;
    assert_eq!(messages.len(), 1);
    let (status, _, class, _, requeued) =
        eventually(Duration::from_secs(10), "sent", || async { delivery(&world.pool).await.filter(|d| d.0 == "sent") })
            .await;
    assert_eq!((status.as_str(), class.as_str(), requeued), ("sent", "", 1));
    world.stop().await;
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_credential_travels_in_a_header_and_a_url_carrying_one_is_refused() {
    let sink = SmsSink::start_with(free_port(), None, Some("gateway-key-7f3a")).await;
    let world = World::start_with(sink.send_url(), |s| {
        s.sms.gateway_token = Some(pasokh_platform::config::Secret::new("gateway-key-7f3a"))
    })
    .await;
    world.file_petition().await;
    eventually(Duration::from_secs(30), "the sms at a gateway that checks its key", || async {
        (sink.messages().await.len() == 1).then_some(())
    })
    .await;
    assert_eq!(sink.stats().await.refused, 0, "the key was presented from the first call");
    world.stop().await;

    let mut settings = Settings::default();
    settings.sms.gateway_url = format!("{}?apikey=gateway-key-7f3a", sink.send_url());
    let refused = App::build(&settings).await.err().expect("a URL with a credential is refused").to_string();
    assert!(refused.contains("sms.gateway_token"), "{refused}");
    assert!(!refused.contains("gateway-key-7f3a"), "the refusal does not repeat the key: {refused}");
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_petitions_second_message_waits_for_its_first_and_follows_it_once_it_is_answered() {
    let sink = SmsSink::start().await;
    // the gateway holds each message for a second before answering
    sink.control(json!({"delay_ms": 1000})).await;
    let world = World::start(sink.send_url()).await;
    let petition = world.file_petition().await;
    eventually(Duration::from_secs(30), "the first message at the gateway", || async {
        let claimed: Option<String> = sqlx::query_scalar("SELECT status FROM deliveries WHERE status = 'sending'")
            .fetch_optional(&world.pool)
            .await
            .unwrap();
        claimed.map(|_| ())
    })
    .await;
    // routing's event arrives while the first message is still unanswered
    let petition_id = uuid::Uuid::parse_str(petition["id"].as_str().unwrap()).unwrap();
    let tracking_code = petition["tracking_code"].as_str().unwrap();
    let mut routed = pasokh_events::lifecycle::new_event(
        petition_id,
        "IR-23",
        tracking_code,
        Body::Routed(Routed { organisation: "sso".into(), unit: "sso/IR-23".into(), ..Routed::default() }),
    );
    routed.sequence = 1;
    let message =
        pasokh_events::lifecycle::outbox_message(&world.topics.lifecycle, "//pasokh/routing", &routed).unwrap();
    world.stack.publish(&message).await;

    let messages = eventually(Duration::from_secs(30), "both messages at the gateway", || async {
        let messages = sink.messages().await;
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].text.contains("کد رهگیری"), "the tracking code first: {}", messages[0].text);
    assert!(
        messages[1].received_at_us >= messages[0].received_at_us + 1_000_000,
        "the second only once the first was answered: {messages:?}"
    );
    eventually(Duration::from_secs(30), "both recorded as sent and nothing left queued", || async {
        let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = 'sent'")
            .fetch_one(&world.pool)
            .await
            .unwrap();
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM sms_queue").fetch_one(&world.pool).await.unwrap();
        (sent == 2 && queued == 0).then_some(())
    })
    .await;
    world.stop().await;
    sink.stop().await;
}

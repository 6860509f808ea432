//! Intake, black-box, against the real PostgreSQL and Kafka of the local stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_domain::TrackingCode;
use pasokh_events::cloudevents::{CloudEvent, header_map_of};
use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::intake::v1::GetContactRequest;
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use pasokh_testkit::intake::{MOBILE, NATIONAL_ID, TestIntake, valid_petition};
use pasokh_testkit::with_bearer;
use pasokh_testkit::{Stack, record_key};
use prost::Message as _;
use rdkafka::message::Message as _;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn accepted_petition_is_stored_normalised_and_published_as_a_cloudevent_without_personal_data() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;

    let (status, body) = intake.submit(&valid_petition()).await;
    assert_eq!(status, 201, "{body}");
    let code = TrackingCode::parse(body["tracking_code"].as_str().unwrap()).expect("a valid tracking code");
    assert!(code.as_str().starts_with("23"), "Tehran codes start with its number");
    assert!(body["submitted_at_jalali"].as_str().unwrap().starts_with('۱'), "Jalali date in Persian digits");

    let (national_id, mobile, text): (String, String, String) =
        sqlx::query_as("SELECT national_id, mobile, body FROM petitions WHERE tracking_code = $1")
            .bind(code.as_str())
            .fetch_one(&intake.pool)
            .await
            .unwrap();
    assert_eq!((national_id.as_str(), mobile.as_str()), (NATIONAL_ID, MOBILE));
    assert_eq!(text, "مستمری این ماه من واریز نشده است", "Arabic yeh normalised to Persian");

    let records = stack.read_topic(&intake.topics.lifecycle, 1, Duration::from_secs(20)).await;
    assert_eq!(records.len(), 1, "exactly one event on the lifecycle topic");
    let record = &records[0];
    assert_eq!(record_key(record), body["id"].as_str().unwrap(), "key = petition id");
    let headers = header_map_of(record.headers());
    assert_eq!(headers["ce_specversion"], "1.0");
    assert_eq!(headers["ce_type"], "ir.gov.mcls.pasokh.petition.submitted.v1");
    assert_eq!(headers["ce_source"], "//pasokh/intake/IR-23");
    assert_eq!(headers["content-type"], "application/protobuf");
    let cloud = CloudEvent::from_headers(record.headers()).unwrap();
    assert_eq!(cloud.id.get_version_num(), 7, "event ids are UUIDv7");

    let event = PetitionEvent::decode(record.payload().unwrap()).unwrap();
    assert_eq!(event.event_id, cloud.id.to_string());
    assert_eq!(event.tracking_code, code.as_str());
    assert_eq!(event.sequence, 1, "intake numbers a petition's submitted event 1");
    let Some(Body::Submitted(submitted)) = event.body else { panic!("expected a Submitted body") };
    assert_eq!(submitted.category, "pension-payment");
    assert_eq!(submitted.citizen_ref.len(), 64);

    let raw = [record.payload().unwrap().to_vec(), format!("{headers:?}").into_bytes()].concat();
    let raw = String::from_utf8_lossy(&raw);
    for secret in [NATIONAL_ID, MOBILE, "9121234567", "واریز"] {
        assert!(!raw.contains(secret), "`{secret}` must not appear on the shared topic");
    }
    assert_eq!(intake.count("outbox").await, 0, "the relay deleted the published row");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_reports_every_field_with_its_code_and_writes_nothing() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;

    let (status, body) = intake
        .submit(&json!({
            "national_id": "0499370898",
            "mobile": "02112345678",
            "province": "IR-25",
            "category": "weather",
            "kind": "rant",
            "channel": "fax",
            "text": "کوتاه"
        }))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "validation_failed");
    let codes: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("national_id", "national_id_checksum"),
        ("mobile", "mobile_format"),
        ("province", "province_mismatch"),
        ("category", "category_unknown"),
        ("kind", "kind_unknown"),
        ("channel", "channel_unknown"),
        ("text", "text_too_short"),
    ];
    for (field, code) in expected {
        assert!(codes.contains(&(field.to_owned(), code.to_owned())), "missing {field}/{code} in {codes:?}");
    }

    let (status, body) = intake.submit(&json!({"national_id": "1111111111"})).await;
    assert_eq!(status, 400);
    let missing: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "field_missing")
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["mobile", "category", "kind", "channel", "text"]);
    assert!(body["errors"].as_array().unwrap().iter().any(|e| e["code"] == "national_id_repeated"));

    assert_eq!(intake.count("petitions").await, 0, "nothing half-written");
    assert_eq!(intake.count("outbox").await, 0);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_get_problem_json_not_plain_text() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let client = reqwest::Client::new();

    let response = client
        .post(format!("{}/v1/petitions", intake.http))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "malformed_json");

    let response = client.post(format!("{}/v1/petitions", intake.http)).body("national_id=1").send().await.unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "unsupported_media_type");
    assert_eq!(intake.count("petitions").await, 0);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn status_needs_the_code_and_the_mobile_and_does_not_say_which_was_wrong() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let (_, body) = intake.submit(&valid_petition()).await;
    let code = body["tracking_code"].as_str().unwrap().to_owned();
    let get = |code: String, mobile: &'static str| {
        let url = format!("{}/v1/petitions/{code}?mobile={mobile}", intake.http);
        async move {
            let response = reqwest::get(url).await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };

    let (status, found) = get(code.clone(), "09121234567").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["status"], "submitted");
    assert_eq!(found["status_is_current"], false, "routing is down in this test: intake says so");

    let (status, wrong_mobile) = get(code.clone(), "09120000000").await;
    assert_eq!(status, 404);
    // a different, well-formed code of the same province
    let mut rng = rand::thread_rng();
    let other = TrackingCode::generate(pasokh_domain::ProvinceCode::parse("IR-23").unwrap(), &mut rng);
    let (status, wrong_code) = get(other.to_string(), "09121234567").await;
    assert_eq!(status, 404);
    assert_eq!(wrong_mobile, wrong_code, "the same answer for a wrong code and a wrong mobile");

    // one mistyped digit is caught before any lookup
    let mut typo = code.into_bytes();
    typo[5] = if typo[5] == b'9' { b'0' } else { typo[5] + 1 };
    let (status, body) = get(String::from_utf8(typo).unwrap(), "09121234567").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "tracking_code_checksum");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn get_contact_gives_internal_callers_the_mobile() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let (_, body) = intake.submit(&valid_petition()).await;
    let mut client = IntakeInternalClient::connect(intake.internal_grpc.clone()).await.unwrap();
    let token = intake.provider.client_token("pasokh-notification", "pasokh-intake").await;
    let contact = client
        .get_contact(with_bearer(GetContactRequest { petition_id: body["id"].as_str().unwrap().to_owned() }, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(contact.mobile, MOBILE);
    assert_eq!(contact.tracking_code, body["tracking_code"].as_str().unwrap());
    let missing = client
        .get_contact(with_bearer(GetContactRequest { petition_id: uuid::Uuid::now_v7().to_string() }, &token))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let invalid =
        client.get_contact(with_bearer(GetContactRequest { petition_id: "x".into() }, &token)).await.unwrap_err();
    assert_eq!(invalid.code(), tonic::Code::InvalidArgument);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn petitions_accepted_while_kafka_is_unreachable_are_published_when_it_is_back() {
    let stack = Stack::from_env();
    let db = stack.fresh_database("intake").await;
    let topics = stack.fresh_topics("intake").await;
    // an intake whose broker address leads nowhere: Kafka is "down" for it
    let mut settings = TestIntake::settings(&stack, &db, &topics);
    settings.kafka.bootstrap_servers = "127.0.0.1:9".into();
    let cut_off = TestIntake::start(settings).await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (status, body) = cut_off.submit(&valid_petition()).await;
        assert_eq!(status, 201, "accepting must not depend on Kafka: {body}");
        codes.push(body["tracking_code"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(cut_off.count("outbox").await, 3, "unpublished events wait in the outbox");
    cut_off.stop().await;

    // the same database, now with a reachable broker: the relay catches up
    let restored = TestIntake::start(TestIntake::settings(&stack, &db, &topics)).await;
    let records = stack.read_topic(&topics.lifecycle, 3, Duration::from_secs(30)).await;
    let mut published: Vec<String> =
        records.iter().map(|r| PetitionEvent::decode(r.payload().unwrap()).unwrap().tracking_code).collect();
    published.sort();
    codes.sort();
    assert_eq!(published, codes, "every accepted petition reached Kafka exactly once");
    pasokh_testkit::eventually(Duration::from_secs(10), "outbox drained", || async {
        (restored.count("outbox").await == 0).then_some(())
    })
    .await;
    restored.stop().await;
}

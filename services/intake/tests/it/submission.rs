//! Intake, black-box: idempotency keys, optional petition details, gRPC submission, overload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pasokh_proto::intake::v1::{Attachment, SubmitPetitionRequest};
use pasokh_testkit::Stack;
use pasokh_testkit::intake::{TestIntake, valid_petition};
use pasokh_testkit::with_bearer;
use serde_json::{Value, json};
use tonic_types::StatusExt;

const CHECKSUM: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_with_the_same_key_and_body_gets_the_original_answer_and_writes_once() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let key = uuid::Uuid::new_v4().to_string();

    let (status, headers, first) = intake.post("/v1/petitions", &valid_petition(), Some(&key)).await;
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());

    // the same request again, its fields in another order: the same body as JSON
    let mut reordered = serde_json::Map::new();
    for (k, v) in valid_petition().as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let (status, headers, second) = intake.post("/v1/petitions", &Value::Object(reordered), Some(&key)).await;
    assert_eq!(status, 201);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(second, first, "the original answer, tracking code and all");
    assert_eq!(headers["location"], format!("/v1/petitions/{}", first["tracking_code"].as_str().unwrap()));
    assert_eq!(intake.count("petitions").await, 1);

    let mut changed = valid_petition();
    changed["text"] = json!("متن دیگری برای همان کلید تکراری");
    let (status, _, problem) = intake.post("/v1/petitions", &changed, Some(&key)).await;
    assert_eq!(status, 422);
    assert_eq!(problem["code"], "idempotency_key_reused");
    assert_eq!(intake.count("petitions").await, 1, "nothing written for the conflicting request");

    let (status, _, problem) = intake.post("/v1/petitions", &valid_petition(), Some("کلید نامعتبر")).await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["code"], "idempotency_key_invalid");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_submitted_key_writes_once_even_when_both_arrive_together() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    for round in 0..5 {
        let key = format!("double-{round}-{}", uuid::Uuid::new_v4());
        let body = valid_petition();
        let (a, b) = tokio::join!(
            intake.post("/v1/petitions", &body, Some(&key)),
            intake.post("/v1/petitions", &body, Some(&key))
        );
        assert_eq!((a.0, b.0), (201, 201), "{} / {}", a.2, b.2);
        assert_eq!(a.2["tracking_code"], b.2["tracking_code"], "both got the one petition's answer");
    }
    assert_eq!(intake.count("petitions").await, 5);
    let events = stack.read_topic(&intake.topics.lifecycle, 6, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 5, "one event per petition");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_expire_after_the_configured_time() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.idempotency_ttl_secs = 1).await;
    let key = "short-lived-key";
    let (_, _, first) = intake.post("/v1/petitions", &valid_petition(), Some(key)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut other = valid_petition();
    other["text"] = json!("پس از انقضای کلید درخواست تازه‌ای است");
    let (status, headers, second) = intake.post("/v1/petitions", &other, Some(key)).await;
    assert_eq!(status, 201, "an expired key is free again: {second}");
    assert!(headers.get("idempotent-replayed").is_none());
    assert_ne!(first["tracking_code"], second["tracking_code"]);
    assert_eq!(intake.count("petitions").await, 2);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn county_and_attachments_are_checked_and_stored() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let mut body = valid_petition();
    body["county"] = json!(" شهر ري ");
    body["attachments"] =
        json!([{"name": "فیش حقوقی.pdf", "type": "application/pdf", "size": 20480, "checksum": CHECKSUM}]);
    let (status, _, created) = intake.post("/v1/petitions", &body, None).await;
    assert_eq!(status, 201, "{created}");
    let (county, attachments): (String, Value) =
        sqlx::query_as("SELECT county, attachments FROM petitions").fetch_one(&intake.pool).await.unwrap();
    assert_eq!(county, "شهر ری");
    assert_eq!(attachments[0]["name"], "فیش حقوقی.pdf");
    assert_eq!(attachments[0]["size"], 20480);

    body["county"] = json!("7");
    body["attachments"] = json!([
        {"name": "ok.pdf", "type": "application/pdf", "size": 1, "checksum": CHECKSUM},
        {"name": "virus.exe", "type": "application/x-msdownload", "size": 1, "checksum": CHECKSUM},
        {"name": "big.pdf", "type": "application/pdf", "size": 999_999_999, "checksum": "md5:1"}
    ]);
    let (status, _, problem) = intake.post("/v1/petitions", &body, None).await;
    assert_eq!(status, 400);
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    for expected in [
        ("county", "county_invalid"),
        ("attachments[1].type", "attachment_type_unsupported"),
        ("attachments[2].size", "attachment_size_invalid"),
    ] {
        assert!(errors.contains(&(expected.0.into(), expected.1.into())), "{expected:?} missing from {errors:?}");
    }
    assert_eq!(intake.count("petitions").await, 1);
    intake.stop().await;
}

fn call_centre_request() -> SubmitPetitionRequest {
    SubmitPetitionRequest {
        national_id: "0084575948".into(),
        mobile: "00989351234567".into(),
        category: "medical-coverage".into(),
        kind: "question".into(),
        channel: "phone".into(),
        text: "پرسش درباره پوشش درمانی بیمه تکمیلی".into(),
        attachments: vec![Attachment {
            name: "نسخه.jpg".into(),
            r#type: "image/jpeg".into(),
            size: 1000,
            checksum: CHECKSUM.into(),
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_submission_follows_the_http_rules_and_codes() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let mut client = IntakeServiceClient::connect(intake.grpc.clone()).await.unwrap();
    let partner = intake.provider.client_token("partner-call-centre", "pasokh-intake").await;
    let as_partner = |message| with_bearer(message, &partner);

    let mut request = call_centre_request();
    request.idempotency_key = "call-4711".into();
    let accepted = client.submit_petition(as_partner(request.clone())).await.unwrap().into_inner();
    assert!(pasokh_domain::TrackingCode::parse(&accepted.tracking_code).is_ok());
    assert_eq!(accepted.status, "submitted");
    let filed_by: Option<String> =
        sqlx::query_scalar("SELECT filed_by FROM petitions").fetch_one(&intake.pool).await.unwrap();
    assert_eq!(filed_by.as_deref(), Some("partner-call-centre"), "the partner is recorded on the petition");
    let retried = client.submit_petition(as_partner(request.clone())).await.unwrap().into_inner();
    assert_eq!(retried.tracking_code, accepted.tracking_code, "idempotent retry");
    request.text = "متن دیگری با همان کلید تماس".into();
    let conflict = client.submit_petition(as_partner(request)).await.unwrap_err();
    assert_eq!(conflict.code(), tonic::Code::AlreadyExists);

    let invalid = SubmitPetitionRequest {
        national_id: "1234567890".into(),
        mobile: "123".into(),
        province: "IR-25".into(),
        ..call_centre_request()
    };
    let status = client.submit_petition(as_partner(invalid)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = status.get_error_details();
    let info = details.error_info().expect("ErrorInfo detail");
    assert_eq!(info.reason, "validation_failed");
    assert_eq!(info.metadata["national_id"], "national_id_checksum");
    assert_eq!(info.metadata["mobile"], "mobile_format");
    assert_eq!(info.metadata["province"], "province_mismatch");
    let violations = &details.bad_request().expect("BadRequest detail").field_violations;
    assert!(violations.iter().any(|v| v.field == "mobile" && v.description.starts_with("mobile_format")));
    assert_eq!(intake.count("petitions").await, 1, "one accepted, the retry and the invalid ones wrote nothing");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mobile_has_one_filing_budget_over_http_and_grpc() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.limits.petitions_per_mobile_per_hour = 2).await;
    let (status, body) = intake.submit(&pasokh_testkit::intake::valid_petition()).await;
    assert_eq!(status, 201, "{body}");
    let mut client = IntakeServiceClient::connect(intake.grpc.clone()).await.unwrap();
    let partner = intake.provider.client_token("partner-call-centre", "pasokh-intake").await;
    let same_mobile =
        || SubmitPetitionRequest { mobile: pasokh_testkit::intake::MOBILE.into(), ..call_centre_request() };
    client.submit_petition(with_bearer(same_mobile(), &partner)).await.unwrap();
    let refused = client.submit_petition(with_bearer(same_mobile(), &partner)).await.unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "the third petition of one mobile, over gRPC: {refused:?}"
    );
    assert_eq!(refused.get_error_details().error_info().map(|i| i.reason.clone()).as_deref(), Some("rate_limited"));
    let other_mobile = client.submit_petition(with_bearer(call_centre_request(), &partner)).await;
    assert!(other_mobile.is_ok(), "another mobile is not affected: {other_mobile:?}");
    assert_eq!(intake.count("petitions").await, 3, "the refused one wrote nothing");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_allow_listed_partners_file_over_grpc_and_never_as_a_desk() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.partners.per_minute = 3).await;
    let mut client = IntakeServiceClient::connect(intake.grpc.clone()).await.unwrap();
    let anonymous = client.submit_petition(call_centre_request()).await.unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let stranger = intake.provider.client_token("partner-unlisted", "pasokh-intake").await;
    let refused = client.submit_petition(with_bearer(call_centre_request(), &stranger)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let staff = intake.provider.staff_token("operator-tehran").await;
    let refused = client.submit_petition(with_bearer(call_centre_request(), &staff)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "a member of staff is not a partner: {refused:?}");

    let partner = intake.provider.client_token("partner-call-centre", "pasokh-intake").await;
    let desk = SubmitPetitionRequest {
        channel: "desk".into(),
        desk_event_id: uuid::Uuid::now_v7().to_string(),
        ..call_centre_request()
    };
    let status = client.submit_petition(with_bearer(desk, &partner)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let info = status.get_error_details().error_info().unwrap().clone();
    assert_eq!(info.metadata["channel"], "channel_not_allowed");
    assert_eq!(info.metadata["desk_event_id"], "desk_event_not_allowed");

    // a partner's own limit, three a minute here: every call counts, the refused desk one too
    client.submit_petition(with_bearer(call_centre_request(), &partner)).await.unwrap();
    client.submit_petition(with_bearer(call_centre_request(), &partner)).await.unwrap();
    let limited = client.submit_petition(with_bearer(call_centre_request(), &partner)).await.unwrap_err();
    assert_eq!(limited.code(), tonic::Code::ResourceExhausted);
    assert_eq!(intake.count("petitions").await, 2);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_write_queue_sheds_load_with_503_and_retry_after_and_loses_nothing_it_accepted() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| {
        s.writer.max_batch = 1;
        s.writer.writers = 1;
        s.writer.queue_depth = 1;
    })
    .await;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let (http, body) = (intake.http.clone(), valid_petition());
        requests.spawn(async move {
            let response =
                reqwest::Client::new().post(format!("{http}/v1/petitions")).json(&body).send().await.unwrap();
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            (response.status().as_u16(), retry_after, response.json::<Value>().await.unwrap())
        });
    }
    let outcomes = requests.join_all().await;
    let accepted = outcomes.iter().filter(|o| o.0 == 201).count();
    let shed: Vec<_> = outcomes.iter().filter(|o| o.0 == 503).collect();
    assert_eq!(accepted + shed.len(), 60, "only 201 or 503");
    assert!(!shed.is_empty(), "a queue of one cannot hold sixty concurrent petitions");
    assert!(shed.iter().all(|o| o.1.as_deref() == Some("1") && o.2["code"] == "overloaded"));
    assert_eq!(intake.count("petitions").await, accepted as i64, "every 201 is stored, no 503 is");
    intake.stop().await;
}

//! Intake, black-box: every input rule answers with its own code over HTTP, and writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pasokh_testkit::Stack;
use pasokh_testkit::intake::{TestIntake, valid_petition};
use serde_json::{Value, json};

const CHECKSUM: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn attachment(name: &str, media_type: &str, size: u64, checksum: &str) -> Value {
    json!([{"name": name, "type": media_type, "size": size, "checksum": checksum}])
}

#[tokio::test(flavor = "multi_thread")]
async fn each_rule_has_its_code_and_field_and_nothing_is_written() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("national_id", json!("12345"), "national_id", "national_id_format"),
        ("national_id", json!("2222222222"), "national_id", "national_id_repeated"),
        ("national_id", json!("0499370898"), "national_id", "national_id_checksum"),
        ("national_id", json!(""), "national_id", "field_missing"),
        ("mobile", json!("0912123"), "mobile", "mobile_format"),
        ("province", json!("IR-99"), "province", "province_unknown"),
        ("province", json!("IR-25"), "province", "province_mismatch"),
        ("category", json!("weather"), "category", "category_unknown"),
        ("kind", json!("rant"), "kind", "kind_unknown"),
        ("channel", json!("fax"), "channel", "channel_unknown"),
        ("text", json!("  کوتاه \u{200b} "), "text", "text_too_short"),
        ("text", json!("ا".repeat(4001)), "text", "text_too_long"),
        ("county", json!("1"), "county", "county_invalid"),
        ("desk_event_id", json!("desk-7"), "desk_event_id", "desk_event_id_format"),
        (
            "attachments",
            Value::Array(vec![attachment("a.pdf", "application/pdf", 1, CHECKSUM)[0].clone(); 11]),
            "attachments",
            "attachments_too_many",
        ),
        (
            "attachments",
            attachment("dir/a.pdf", "application/pdf", 1, CHECKSUM),
            "attachments[0].name",
            "attachment_name_invalid",
        ),
        (
            "attachments",
            attachment("a.exe", "application/x-msdownload", 1, CHECKSUM),
            "attachments[0].type",
            "attachment_type_unsupported",
        ),
        (
            "attachments",
            attachment("a.pdf", "application/pdf", 0, CHECKSUM),
            "attachments[0].size",
            "attachment_size_invalid",
        ),
        (
            "attachments",
            attachment("a.pdf", "application/pdf", 1, "sha1:abc"),
            "attachments[0].checksum",
            "attachment_checksum_invalid",
        ),
    ];
    for (field, value, error_field, code) in cases {
        let mut body = valid_petition();
        body[field] = value;
        let (status, problem) = intake.submit(&body).await;
        assert_eq!(status, 400, "{field} → {code}: {problem}");
        assert_eq!(problem["code"], "validation_failed");
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["field"] == error_field && e["code"] == code),
            "expected {error_field}/{code}, got {errors:?}"
        );
    }

    let status = |code: &str, mobile: &str| format!("{}/v1/petitions/{code}?mobile={mobile}", intake.http);
    let response: Value = reqwest::get(status("123", "09121234567")).await.unwrap().json().await.unwrap();
    assert_eq!(response["errors"][0]["code"], "tracking_code_format");
    let response: Value = reqwest::get(status("231234567890", "0912")).await.unwrap().json().await.unwrap();
    let codes: Vec<&str> = response["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"mobile_format"), "{codes:?}");

    assert_eq!(intake.count("petitions").await, 0, "no rule let anything through");
    assert_eq!(intake.count("outbox").await, 0);
    assert_eq!(intake.count("idempotency_keys").await, 0);
    intake.stop().await;
}

//! Intake, black-box: Open311 GeoReport v2 in JSON and XML.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pasokh_testkit::Stack;
use pasokh_testkit::intake::TestIntake;
use serde_json::Value;

/// Two partner systems, each knowing only its own key; intake is configured with their SHA-256.
const KEY: &str = "key-of-the-ngo-portal";
const OTHER_KEY: &str = "key-of-the-governorate";

async fn with_partners(stack: &Stack) -> TestIntake {
    TestIntake::fresh_with(stack, |s| {
        let hash = |key: &str| hex::encode(pasokh_intake::config::sha256(key));
        s.open311.api_key_sha256 =
            [("ngo-portal".to_owned(), hash(KEY)), ("governorate".to_owned(), hash(OTHER_KEY))].into();
    })
    .await
}

async fn get(intake: &TestIntake, path: &str) -> (u16, String, String) {
    let response = reqwest::get(format!("{}/open311/v2/{path}", intake.http)).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, response.text().await.unwrap())
}

async fn post(intake: &TestIntake, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response =
        reqwest::Client::new().post(format!("{}/open311/v2/{path}", intake.http)).form(form).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn request_form(national_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("api_key", KEY),
        ("jurisdiction_id", "IR-23"),
        ("service_code", "workplace-safety"),
        ("description", "کارگاه ساختمانی بدون تجهیزات ایمنی کار می‌کند"),
        ("phone", "+989121234567"),
        ("attribute[national_id]", national_id),
        ("attribute[kind]", "complaint"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_services_and_definitions_are_public_in_both_formats() {
    let stack = Stack::from_env();
    let intake = with_partners(&stack).await;

    // GeoReport v2: only POST and request listings need an api_key
    let (status, content_type, body) = get(&intake, "requests.json").await;
    assert_eq!(status, 403);
    assert!(content_type.starts_with("application/json"));
    let errors: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(errors[0]["code"], 403);
    let (status, content_type, body) = get(&intake, "requests.xml?api_key=wrong").await;
    assert_eq!(status, 403);
    assert!(content_type.starts_with("text/xml"));
    assert!(body.contains("<errors><error><code>403</code>"), "{body}");
    let (status, _, _) = get(&intake, "services.xml").await;
    assert_eq!(status, 200, "the service list is public");

    let (status, _, body) = get(&intake, "discovery.json").await;
    assert_eq!(status, 200);
    let discovery: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(discovery["endpoints"][0]["specification"], "http://wiki.open311.org/GeoReport_v2");

    let (_, _, body) = get(&intake, &format!("services.json?api_key={KEY}&jurisdiction_id=IR-23")).await;
    let services: Value = serde_json::from_str(&body).unwrap();
    let pension = services.as_array().unwrap().iter().find(|s| s["service_code"] == "pension-payment").unwrap();
    assert_eq!(pension["group"], "سازمان تأمین اجتماعی", "group = the responsible organisation");
    assert_eq!(pension["metadata"], true);
    let (_, content_type, xml) = get(&intake, &format!("services.xml?api_key={KEY}")).await;
    assert!(content_type.starts_with("text/xml"));
    assert!(xml.starts_with("<?xml") && xml.contains("<services><service><service_code>"), "{xml}");

    let (status, _, body) = get(&intake, &format!("services/pension-payment.json?api_key={KEY}")).await;
    assert_eq!(status, 200);
    let definition: Value = serde_json::from_str(&body).unwrap();
    let national_id = &definition["attributes"][0];
    assert_eq!((national_id["code"].as_str(), national_id["required"].as_bool()), (Some("national_id"), Some(true)));
    let (status, _, _) = get(&intake, &format!("services/weather.json?api_key={KEY}")).await;
    assert_eq!(status, 404);
    let (status, _, body) = get(&intake, &format!("services.json?api_key={KEY}&jurisdiction_id=IR-25")).await;
    assert_eq!(status, 404, "another province's jurisdiction: {body}");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_encoded_request_becomes_a_petition_and_can_be_queried() {
    let stack = Stack::from_env();
    let intake = with_partners(&stack).await;

    let mut without_key = request_form("0499370899");
    without_key.remove(0);
    assert_eq!(post(&intake, "requests.json", &without_key).await.0, 403);

    let (status, body) = post(&intake, "requests.json", &request_form("0499370898")).await;
    assert_eq!(status, 400);
    let errors: Value = serde_json::from_str(&body).unwrap();
    assert!(errors[0]["description"].as_str().unwrap().contains("national_id_checksum"), "{errors}");
    assert_eq!(intake.count("petitions").await, 0);

    let (status, body) = post(&intake, "requests.json", &request_form("0499370899")).await;
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(pasokh_domain::TrackingCode::parse(&id).is_ok());
    let (channel, mobile): (String, String) =
        sqlx::query_as("SELECT channel, mobile FROM petitions").fetch_one(&intake.pool).await.unwrap();
    assert_eq!((channel.as_str(), mobile.as_str()), ("open311", "09121234567"));

    // a partner retrying with the same Idempotency-Key gets the same request id, and nothing is filed twice
    let retry = || {
        reqwest::Client::new()
            .post(format!("{}/open311/v2/requests.json", intake.http))
            .header("Idempotency-Key", "partner-retry-7")
            .form(&request_form("1234567891"))
            .send()
    };
    let first: Value = retry().await.unwrap().json().await.unwrap();
    let second: Value = retry().await.unwrap().json().await.unwrap();
    assert_eq!(first[0]["service_request_id"], second[0]["service_request_id"]);
    assert_eq!(intake.count("petitions").await, 2);

    let (status, xml) = post(&intake, "requests.xml", &request_form("0084575948")).await;
    assert_eq!(status, 201);
    assert!(xml.contains("<service_requests><request><service_request_id>"), "{xml}");

    let (_, _, body) = get(&intake, &format!("requests.json?api_key={KEY}&service_request_id={id}")).await;
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["status"], "open");
    assert_eq!(found[0]["service_code"], "workplace-safety");
    assert!(found[0].get("description").is_none(), "the citizen's text is not published");
    let (_, _, body) = get(&intake, &format!("requests.json?api_key={KEY}&service_code=workplace-safety")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap().as_array().unwrap().len(), 3);
    let (_, _, body) = get(&intake, &format!("requests.json?api_key={KEY}&status=closed")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), serde_json::json!([]));
    let (status, _, _) = get(&intake, &format!("requests.json?api_key={KEY}&start_date=yesterday")).await;
    assert_eq!(status, 400);

    let (status, _, xml) = get(&intake, &format!("requests/{id}.xml?api_key={KEY}")).await;
    assert_eq!(status, 200);
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")), "{xml}");
    let (status, _, _) = get(&intake, &format!("requests/230000000000.json?api_key={KEY}")).await;
    assert_eq!(status, 404);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_lists_only_what_it_filed_and_may_send_its_key_in_a_header() {
    let stack = Stack::from_env();
    let intake = with_partners(&stack).await;
    let (status, body) = post(&intake, "requests.json", &request_form("0499370899")).await;
    assert_eq!(status, 201, "{body}");
    let ngo_code = serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"].as_str().unwrap().to_owned();
    let (status, _) = intake.submit(&pasokh_testkit::intake::valid_petition()).await;
    assert_eq!(status, 201, "a citizen files on the web");
    let filed_by: Option<String> = sqlx::query_scalar("SELECT filed_by FROM petitions WHERE tracking_code = $1")
        .bind(&ngo_code)
        .fetch_one(&intake.pool)
        .await
        .unwrap();
    assert_eq!(filed_by.as_deref(), Some("ngo-portal"));

    let listed = |key: &'static str| {
        let url = format!("{}/open311/v2/requests.json", intake.http);
        async move {
            let response = reqwest::Client::new().get(url).header("X-Api-Key", key).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let found: Value = response.json().await.unwrap();
            found
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(KEY).await, std::slice::from_ref(&ngo_code), "its own request, not the web petition");
    assert!(listed(OTHER_KEY).await.is_empty(), "another partner sees none of it");
    let (status, _, _) = get(&intake, &format!("requests/{ngo_code}.json?api_key={OTHER_KEY}")).await;
    assert_eq!(status, 404, "nor one by its code");
    intake.stop().await;
}

/// Open311 files through the same pipeline as the web: a retry is answered before anything is
/// checked, the mobile's budget is the one the web spent, and a refusal is the error table's.
#[tokio::test(flavor = "multi_thread")]
async fn an_open311_petition_spends_the_mobile_budget_the_web_spent() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| {
        let hash = hex::encode(pasokh_intake::config::sha256(KEY));
        s.open311.api_key_sha256 = [("ngo-portal".to_owned(), hash)].into();
        s.limits.petitions_per_mobile_per_hour = 2;
    })
    .await;
    let (status, body) = intake.submit(&pasokh_testkit::intake::valid_petition()).await;
    assert_eq!(status, 201, "{body}");
    let with_key = |key: &'static str, national_id: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/open311/v2/requests.json", intake.http))
            .header("Idempotency-Key", key)
            .form(&request_form(national_id))
            .send()
    };
    let first = with_key("ngo-1", "0499370899").await.unwrap();
    assert_eq!(first.status(), 201, "the second petition of this mobile");
    let first: Value = first.json().await.unwrap();

    let refused = with_key("ngo-2", "1234567891").await.unwrap();
    assert_eq!(refused.status(), 429, "the third, although it came by another door");
    assert!(refused.headers().contains_key("retry-after"));
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");

    let retry = with_key("ngo-1", "0499370899").await.unwrap();
    assert_eq!(retry.status(), 201, "a retry is answered from the stored answer, whatever the budget");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry[0]["service_request_id"], first[0]["service_request_id"]);

    let reused = with_key("ngo-1", "0084575948").await.unwrap();
    assert_eq!(reused.status(), 422, "the key went with another request");
    let errors: Value = reused.json().await.unwrap();
    assert!(errors[0]["description"].as_str().unwrap().contains("Idempotency-Key"), "{errors}");
    assert_eq!(intake.count("petitions").await, 2, "the refused ones wrote nothing");
    intake.stop().await;
}

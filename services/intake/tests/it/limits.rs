//! Intake, black-box: rate limits (IP, mobile, province), body size, in-flight bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pasokh_testkit::Stack;
use pasokh_testkit::intake::{TestIntake, valid_petition};
use serde_json::{Value, json};

fn with_mobile(mobile: &str) -> Value {
    let mut body = valid_petition();
    body["mobile"] = json!(mobile);
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_is_limited_per_minute_with_retry_after() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.limits.per_ip_per_minute = 3).await;
    for n in 0..3 {
        let (status, _, body) = intake.post("/v1/petitions", &with_mobile(&format!("0912000000{n}")), None).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, headers, problem) = intake.post("/v1/petitions", &with_mobile("09120000009"), None).await;
    assert_eq!(status, 429);
    assert_eq!(problem["code"], "rate_limited");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "3 per minute refills one every 20 s: {retry_after}");
    assert_eq!(intake.count("petitions").await, 3, "the refused petition was not written");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_mobile_is_limited_for_filing_and_for_lookups() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| {
        s.limits.petitions_per_mobile_per_hour = 2;
        s.limits.lookups_per_mobile_per_hour = 2;
    })
    .await;
    let mut code = String::new();
    for _ in 0..2 {
        let (status, _, body) = intake.post("/v1/petitions", &valid_petition(), None).await;
        assert_eq!(status, 201);
        code = body["tracking_code"].as_str().unwrap().to_owned();
    }
    let (status, _, problem) = intake.post("/v1/petitions", &valid_petition(), None).await;
    assert_eq!((status, problem["code"].as_str()), (429, Some("rate_limited")));
    let (status, _, _) = intake.post("/v1/petitions", &with_mobile("09130000000"), None).await;
    assert_eq!(status, 201, "another mobile is not affected");
    assert_eq!(intake.count("petitions").await, 3);

    let lookup = format!("{}/v1/petitions/{code}?mobile=09121234567", intake.http);
    for _ in 0..2 {
        assert_eq!(reqwest::get(&lookup).await.unwrap().status(), 200);
    }
    let refused = reqwest::get(&lookup).await.unwrap();
    assert_eq!(refused.status(), 429, "guessing tracking codes for one mobile is slowed down");
    assert!(refused.headers().contains_key("retry-after"));
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_tracking_code_is_limited_whatever_mobiles_are_guessed_and_the_mobile_travels_in_the_body() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.limits.lookups_per_tracking_code_per_hour = 3).await;
    let (_, _, body) = intake.post("/v1/petitions", &valid_petition(), None).await;
    let code = body["tracking_code"].as_str().unwrap().to_owned();
    let lookup = |mobile: String| {
        let url = format!("{}/v1/petitions/{code}/status", intake.http);
        async move { reqwest::Client::new().post(url).json(&serde_json::json!({ "mobile": mobile })).send().await.unwrap() }
    };
    let found = lookup("09121234567".into()).await;
    assert_eq!(found.status(), 200);
    let found: serde_json::Value = found.json().await.unwrap();
    assert_eq!(found["tracking_code"], code.as_str());
    // someone who saw the code guesses mobiles: each guess is another mobile, the code's budget runs out
    assert_eq!(lookup("09120000001".into()).await.status(), 404);
    assert_eq!(lookup("09120000002".into()).await.status(), 404);
    let refused = lookup("09120000003".into()).await;
    assert_eq!(refused.status(), 429);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("tracking code"), "{problem}");
    assert_eq!(lookup("09121234567".into()).await.status(), 429, "the right mobile too, until the window passes");

    // the GET look-up still answers during its deprecation period, and says so
    let (_, _, other) = intake.post("/v1/petitions", &with_mobile("09130000000"), None).await;
    let other = other["tracking_code"].as_str().unwrap();
    let old = reqwest::get(format!("{}/v1/petitions/{other}?mobile=09130000000", intake.http)).await.unwrap();
    assert_eq!(old.status(), 200);
    assert_eq!(old.headers()["deprecation"], "true");
    assert!(old.headers()["link"].to_str().unwrap().contains(&format!("/v1/petitions/{other}/status")));
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_province_rate_caps_the_whole_deployment() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.limits.province_per_second = 2).await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        statuses.push(intake.post("/v1/petitions", &with_mobile(&format!("0935000000{n}")), None).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count() as i64, intake.count("petitions").await);
    assert!(statuses.contains(&429), "{statuses:?}");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_refused_with_413_problem_json() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.limits.body_limit_bytes = 2048).await;
    let mut body = valid_petition();
    body["text"] = json!("ا".repeat(3000));
    let (status, headers, problem) = intake.post("/v1/petitions", &body, None).await;
    assert_eq!(status, 413);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(problem["code"], "body_too_large");
    assert_eq!(intake.count("petitions").await, 0);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_beyond_the_in_flight_bound_are_shed_not_queued() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.limits.max_in_flight = 1).await;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..40 {
        let (http, body) = (intake.http.clone(), with_mobile(&format!("091900000{n:02}")));
        requests.spawn(async move {
            let response =
                reqwest::Client::new().post(format!("{http}/v1/petitions")).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        });
    }
    let outcomes = requests.join_all().await;
    let accepted = outcomes.iter().filter(|o| o.0 == 201).count();
    let shed = outcomes.iter().filter(|o| o.0 == 503 && o.1["code"] == "overloaded").count();
    assert_eq!(accepted + shed, 40);
    assert!(shed > 0 && accepted > 0, "accepted {accepted}, shed {shed}");
    assert_eq!(intake.count("petitions").await, accepted as i64);
    intake.stop().await;
}

//! Intake, black-box: the service desk and letters, with real JWTs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use pasokh_domain::Role;
use pasokh_proto::events::v1::desk_activity::Body as DeskBody;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{DeskActivity, PetitionEvent};
use pasokh_testkit::intake::TestIntake;
use pasokh_testkit::{Provider, Stack};
use prost::Message as _;
use rdkafka::message::Message as _;
use serde_json::{Value, json};

/// A token the identity provider issued to the demo member of staff with this role in this province.
async fn token(role: Role, province: &str) -> String {
    let user = match (role, province) {
        (Role::Supervisor, "IR-23") => "supervisor-tehran",
        (Role::Supervisor, "IR-25") => "director-qom",
        (Role::Operator, "IR-23") => "operator-tehran",
        (Role::Operator, "IR-25") => "operator-qom",
        (Role::Officer, "IR-23") => "officer-sso-tehran",
        (Role::Officer, "IR-25") => "officer-sso-qom",
        (Role::Inspector, _) => "inspector-hq",
        other => panic!("no demo user for {other:?}"),
    };
    Provider::from_env().staff_token(user).await
}

async fn call(
    intake: &TestIntake,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", intake.http));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

fn friday_prayer(starts_in_hours: i64) -> Value {
    let start = Utc::now() + Duration::hours(starts_in_hours);
    json!({
        "title": "میز خدمت نماز جمعه تهران",
        "venue": "مصلای امام خمینی",
        "starts_at": start.to_rfc3339(),
        "ends_at": (start + Duration::hours(4)).to_rfc3339(),
        "organisations": ["sso", "cspf", "refah-bank", "labour-inspection"]
    })
}

async fn create_event(intake: &TestIntake, body: Value) -> String {
    let (status, _, event) = call(
        intake,
        reqwest::Method::POST,
        "/v1/desk-events",
        Some(&token(Role::Supervisor, "IR-23").await),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{event}");
    event["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_supervisor_of_the_province_creates_desk_events() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let post = reqwest::Method::POST;

    let (status, headers, problem) = call(&intake, post.clone(), "/v1/desk-events", None, Some(friday_prayer(0))).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("unauthenticated")));
    assert_eq!(headers["www-authenticate"], "Bearer");
    let forged = token(Role::Supervisor, "IR-23").await.replace('.', ".x");
    assert_eq!(call(&intake, post.clone(), "/v1/desk-events", Some(&forged), Some(friday_prayer(0))).await.0, 401);
    let (status, _, problem) = call(
        &intake,
        post.clone(),
        "/v1/desk-events",
        Some(&token(Role::Operator, "IR-23").await),
        Some(friday_prayer(0)),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    let (status, _, _) = call(
        &intake,
        post.clone(),
        "/v1/desk-events",
        Some(&token(Role::Supervisor, "IR-25").await),
        Some(friday_prayer(0)),
    )
    .await;
    assert_eq!(status, 403, "Qom's supervisor cannot create Tehran's events");

    let mut invalid = friday_prayer(0);
    invalid["ends_at"] = invalid["starts_at"].clone();
    invalid["organisations"] = json!(["sso", "nasa"]);
    let (status, _, problem) =
        call(&intake, post.clone(), "/v1/desk-events", Some(&token(Role::Supervisor, "IR-23").await), Some(invalid))
            .await;
    assert_eq!(status, 400);
    let codes: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["event_window_invalid", "organisation_unknown"]);

    let id = create_event(&intake, friday_prayer(0)).await;
    // a retried creation with the same Idempotency-Key creates nothing new
    let retried = friday_prayer(2);
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/desk-events", intake.http))
            .bearer_auth(token(Role::Supervisor, "IR-23").await)
            .header("Idempotency-Key", "event-retry-1")
            .json(&retried)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        answers.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(intake.count("desk_events").await, 2);
    let (status, _, listed) =
        call(&intake, reqwest::Method::GET, "/v1/desk-events", Some(&token(Role::Operator, "IR-23").await), None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["events"][0]["id"], id.as_str());
    assert!(listed["events"][0]["starts_at_jalali"].as_str().unwrap().starts_with('۱'));
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_registers_walk_ins_and_resolves_one_on_the_spot() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let id = create_event(&intake, friday_prayer(-1)).await;
    let operator = token(Role::Operator, "IR-23").await;
    let path = format!("/v1/desk-events/{id}/petitions");
    let walk_in = json!({
        "national_id": "0499370899", "mobile": "09121234567", "category": "civil-pension",
        "text": "حکم بازنشستگی من هنوز صادر نشده است"
    });
    let (status, _, filed) = call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(walk_in.clone())).await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["status"], "submitted");

    let mut answered = walk_in.clone();
    answered["resolved_on_spot"] = json!({"answer": "مدیر صندوق بازنشستگی حکم را همان‌جا امضا کرد"});
    let (status, _, closed) = call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(answered)).await;
    assert_eq!(status, 201, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert!(
        pasokh_domain::TrackingCode::parse(closed["tracking_code"].as_str().unwrap()).is_ok(),
        "it still gets a tracking code"
    );

    let rows: Vec<(String, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT channel, desk_event_id::text, resolved_on_spot, on_spot_answer FROM petitions ORDER BY created_at",
    )
    .fetch_all(&intake.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.0 == "desk" && r.1 == id));
    assert_eq!((rows[0].2, rows[1].2), (false, true));
    assert_eq!(rows[1].3.as_deref(), Some("مدیر صندوق بازنشستگی حکم را همان‌جا امضا کرد"));

    let records = stack.read_topic(&intake.topics.lifecycle, 2, std::time::Duration::from_secs(20)).await;
    let flags: Vec<bool> = records
        .iter()
        .map(|r| match PetitionEvent::decode(r.payload().unwrap()).unwrap().body {
            Some(Body::Submitted(s)) => {
                assert_eq!(s.desk_event_id, id);
                s.resolved_on_spot
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(flags.iter().filter(|f| **f).count(), 1, "routing is told which one was resolved on the spot");

    let (status, _, _) =
        call(&intake, reqwest::Method::POST, &path, Some(&token(Role::Operator, "IR-25").await), Some(walk_in.clone()))
            .await;
    assert_eq!(status, 403, "an operator of another province cannot register here");
    let (status, _, _) =
        call(&intake, reqwest::Method::POST, &path, Some(&token(Role::Officer, "IR-23").await), Some(walk_in.clone()))
            .await;
    assert_eq!(status, 403, "case officers do not staff desks");
    let missing = format!("/v1/desk-events/{}/petitions", uuid::Uuid::now_v7());
    assert_eq!(call(&intake, reqwest::Method::POST, &missing, Some(&operator), Some(walk_in.clone())).await.0, 404);

    let old = create_event(&intake, friday_prayer(-24 * 3)).await;
    let (status, _, problem) = call(
        &intake,
        reqwest::Method::POST,
        &format!("/v1/desk-events/{old}/petitions"),
        Some(&operator),
        Some(walk_in),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("desk_event_closed")));
    assert_eq!(intake.count("petitions").await, 2);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_meeting_with_an_official_is_recorded() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let id = create_event(&intake, friday_prayer(0)).await;
    let operator = token(Role::Operator, "IR-23").await;
    let path = format!("/v1/desk-events/{id}/meetings");
    let meeting = json!({
        "official_name": "دکتر احمدی", "official_title": "مدیرعامل", "organisation": "refah-bank",
        "notes": "درباره وام ازدواج گفتگو شد"
    });
    let (status, _, recorded) =
        call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(meeting.clone())).await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["organisation"], "refah-bank");

    let mut invalid = meeting;
    invalid["organisation"] = json!("unknown-bank");
    invalid["tracking_code"] = json!("123");
    let (status, _, problem) = call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(invalid)).await;
    assert_eq!(status, 400);
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["organisation[0]", "tracking_code"]);
    assert_eq!(intake.count("desk_meetings").await, 1);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_promise_made_at_a_meeting_is_kept_with_its_due_date() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let id = create_event(&intake, friday_prayer(0)).await;
    let operator = token(Role::Operator, "IR-23").await;
    let path = format!("/v1/desk-events/{id}/meetings");
    let due = pasokh_domain::tehran_date(chrono::Utc::now()) + chrono::Duration::days(14);
    let jalali_due = pasokh_domain::JalaliDate::from_gregorian(due);
    let meeting = json!({
        "official_name": "دکتر احمدی", "official_title": "مدیرعامل", "organisation": "sso",
        "notes": "مستمری معوق", "promise": "پرداخت مستمری معوق تا پایان ماه",
        "promise_due": format!("{}/{:02}/{:02}", jalali_due.year, jalali_due.month, jalali_due.day),
    });
    let (status, _, recorded) =
        call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(meeting.clone())).await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["promise_due"], due.to_string());
    let (promise, stored_due): (String, chrono::NaiveDate) =
        sqlx::query_as("SELECT promise, promise_due FROM desk_meetings").fetch_one(&intake.pool).await.unwrap();
    assert_eq!((promise.as_str(), stored_due), ("پرداخت مستمری معوق تا پایان ماه", due));

    for (change, field, code) in [
        (json!({"promise_due": null}), "promise_due", "field_missing"),
        (json!({"promise_due": "1405/13/01"}), "promise_due", "date_invalid"),
        (json!({"promise_due": "2020-01-01"}), "promise_due", "date_in_past"),
        (json!({"promise": "", "promise_due": "2030-01-01"}), "promise", "field_missing"),
    ] {
        let mut invalid = meeting.clone();
        for (key, value) in change.as_object().unwrap() {
            invalid[key] = value.clone();
        }
        let (status, _, problem) = call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(invalid)).await;
        assert_eq!(status, 400, "{change}");
        assert_eq!(problem["errors"][0]["field"], field, "{change}: {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{change}: {problem}");
    }
    assert_eq!(intake.count("desk_meetings").await, 1, "refused meetings leave nothing behind");

    // the desk's opening and the meeting reach the desk activity topic, without the official's name
    let records = stack.read_topic(&intake.topics.desk, 2, std::time::Duration::from_secs(30)).await;
    let activities: Vec<DeskActivity> =
        records.iter().map(|r| DeskActivity::decode(r.payload().unwrap()).unwrap()).collect();
    assert_eq!(activities.len(), 2, "opened and one meeting");
    assert!(activities.iter().all(|a| a.desk_event_id == id && a.province == "IR-23"));
    let held = activities
        .iter()
        .find_map(|a| match &a.body {
            Some(DeskBody::MeetingHeld(m)) => Some(m.clone()),
            _ => None,
        })
        .expect("a meeting_held activity");
    assert!(held.has_promise);
    assert_eq!(held.promise_due, due.to_string());
    assert_eq!((held.organisation.as_str(), held.official_title.as_str()), ("sso", "مدیرعامل"));
    assert!(records.iter().all(|r| !String::from_utf8_lossy(r.payload().unwrap()).contains("احمدی")));
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scanned_letter_becomes_a_letter_channel_petition() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let operator = token(Role::Operator, "IR-23").await;
    let letter = json!({
        "national_id": "0084575948", "mobile": "09351234567", "category": "labour-dispute",
        "text": "خلاصه نامه: اختلاف درباره سنوات پایان کار",
        "letter": {"reference": "۱۲۳/ص/۴۵", "received_on": "۱۴۰۵/۰۹/۰۱", "pages": 3}
    });
    let (status, _, filed) =
        call(&intake, reqwest::Method::POST, "/v1/letters", Some(&operator), Some(letter.clone())).await;
    assert_eq!(status, 201, "{filed}");
    let (channel, stored): (String, Value) =
        sqlx::query_as("SELECT channel, letter FROM petitions").fetch_one(&intake.pool).await.unwrap();
    assert_eq!(channel, "letter");
    assert_eq!(stored, json!({"reference": "123/ص/45", "received_on": "2026-11-22", "pages": 3}));

    let mut invalid = letter.clone();
    invalid["letter"] = json!({"reference": "", "received_on": "1405/13/40", "pages": 0});
    invalid["mobile"] = json!("0");
    let (status, _, problem) =
        call(&intake, reqwest::Method::POST, "/v1/letters", Some(&operator), Some(invalid)).await;
    assert_eq!(status, 400);
    let codes: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["mobile_format", "letter_reference_invalid", "letter_date_invalid", "letter_pages_invalid"]);
    assert_eq!(call(&intake, reqwest::Method::POST, "/v1/letters", None, Some(letter)).await.0, 401);
    assert_eq!(intake.count("petitions").await, 1);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desk_counts_its_work_finds_a_citizens_earlier_petitions_and_closes() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let id = create_event(&intake, friday_prayer(0)).await;
    let operator = token(Role::Operator, "IR-23").await;
    let (post, get) = (reqwest::Method::POST, reqwest::Method::GET);
    let walk_in = json!({
        "national_id": "0084575948", "mobile": "09351234567", "category": "civil-pension",
        "text": "حکم بازنشستگی من صادر نشده است", "resolved_on_spot": {"answer": "حکم همان‌جا صادر شد"}
    });
    let (status, _, filed) =
        call(&intake, post.clone(), &format!("/v1/desk-events/{id}/petitions"), Some(&operator), Some(walk_in)).await;
    assert_eq!(status, 201, "{filed}");
    let meeting = json!({"official_name": "دکتر احمدی", "official_title": "مدیرعامل", "organisation": "cspf",
        "promise": "پیگیری حکم", "promise_due": "2099-01-01"});
    let (status, _, _) =
        call(&intake, post.clone(), &format!("/v1/desk-events/{id}/meetings"), Some(&operator), Some(meeting)).await;
    assert_eq!(status, 201);

    let (status, _, counts) = call(&intake, get, &format!("/v1/desk-events/{id}/summary"), Some(&operator), None).await;
    assert_eq!(status, 200);
    assert_eq!(counts, json!({"registered": 1, "resolved_on_spot": 1, "meetings": 1, "promises": 1}));

    // the citizen's earlier petitions, found by the national id in the body (leading zeros dropped, Persian digits)
    let lookup = format!("/v1/desk-events/{id}/citizen-petitions");
    let (status, _, found) =
        call(&intake, post.clone(), &lookup, Some(&operator), Some(json!({"national_id": "۸۴۵۷۵۹۴۸"}))).await;
    assert_eq!(status, 200, "{found}");
    let petitions = found["petitions"].as_array().unwrap();
    assert_eq!(petitions.len(), 1);
    assert_eq!(petitions[0]["tracking_code"], filed["tracking_code"]);
    assert_eq!((petitions[0]["status"].as_str(), petitions[0]["open"].as_bool()), (Some("closed"), Some(false)));
    let (status, _, none) =
        call(&intake, post.clone(), &lookup, Some(&operator), Some(json!({"national_id": "0499370899"}))).await;
    assert_eq!((status, none["petitions"].as_array().map(Vec::len)), (200, Some(0)), "another citizen's are not shown");
    let (status, _, problem) =
        call(&intake, post.clone(), &lookup, Some(&operator), Some(json!({"national_id": "123"}))).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (400, Some("national_id_format")));

    // only a supervisor closes it; then nothing more is registered there, and it leaves the list
    let close = format!("/v1/desk-events/{id}/close");
    let (status, _, _) = call(&intake, post.clone(), &close, Some(&operator), None).await;
    assert_eq!(status, 403);
    let supervisor = token(Role::Supervisor, "IR-23").await;
    let (status, _, closed) = call(&intake, post.clone(), &close, Some(&supervisor), None).await;
    assert_eq!(status, 200, "{closed}");
    let again = json!({"national_id": "0499370899", "mobile": "09121234567", "category": "pension-payment",
        "text": "مستمری این ماه من واریز نشده است"});
    let (status, _, problem) =
        call(&intake, post, &format!("/v1/desk-events/{id}/petitions"), Some(&operator), Some(again)).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("desk_event_closed")));
    let (_, _, listed) = call(&intake, reqwest::Method::GET, "/v1/desk-events", Some(&operator), None).await;
    assert!(listed["events"].as_array().unwrap().iter().all(|e| e["id"] != id.as_str()), "{listed}");
    assert_eq!(intake.count("petitions").await, 1);
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_repeat_travels_in_the_submitted_event_and_stays_in_its_province() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let id = create_event(&intake, friday_prayer(0)).await;
    let operator = token(Role::Operator, "IR-23").await;
    let path = format!("/v1/desk-events/{id}/petitions");
    let first = json!({"national_id": "0499370899", "mobile": "09121234567", "category": "pension-payment",
        "text": "مستمری این ماه من واریز نشده است"});
    let (_, _, original) = call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(first.clone())).await;
    let code = original["tracking_code"].as_str().unwrap().to_owned();

    let mut foreign = first.clone();
    foreign["repeat_of"] = json!("250000000000");
    let (status, _, problem) = call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(foreign)).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "repeat_of");

    let mut repeat = first;
    repeat["repeat_of"] = json!(code);
    repeat["text"] = json!("دوباره دربارهٔ مستمری آمده‌ام");
    let (status, _, filed) = call(&intake, reqwest::Method::POST, &path, Some(&operator), Some(repeat)).await;
    assert_eq!(status, 201, "{filed}");
    let records = stack.read_topic(&intake.topics.lifecycle, 2, std::time::Duration::from_secs(20)).await;
    // two petitions, two partitions: the topic does not order them against each other
    let mut repeats: Vec<String> = records
        .iter()
        .filter_map(|r| PetitionEvent::decode(r.payload().unwrap()).ok())
        .filter_map(|e| match e.body {
            Some(Body::Submitted(s)) => Some(s.repeat_of),
            _ => None,
        })
        .collect();
    repeats.sort();
    assert_eq!(repeats, ["".to_owned(), code], "the repeat names the original; the original names none");
    intake.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mobiles_petitions_are_listed_for_the_webs_service_account_only() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let petition = json!({"national_id": "0499370899", "mobile": "09121234567", "category": "pension-payment",
        "kind": "request", "channel": "web", "text": "مستمری این ماه من واریز نشده است"});
    let (status, _, filed) = call(&intake, reqwest::Method::POST, "/v1/petitions", None, Some(petition)).await;
    assert_eq!(status, 201, "{filed}");
    let web = Provider::from_env().client_token("pasokh-web", "pasokh-intake").await;
    let list = |token: String, mobile: &'static str| {
        let intake = &intake;
        async move {
            call(intake, reqwest::Method::POST, "/v1/citizens/petitions", Some(&token), Some(json!({"mobile": mobile})))
                .await
        }
    };
    let (status, _, listed) = list(web.clone(), "+98 912 123 4567").await;
    assert_eq!(status, 200, "{listed}");
    let codes: Vec<&str> =
        listed["petitions"].as_array().unwrap().iter().map(|p| p["tracking_code"].as_str().unwrap()).collect();
    assert_eq!(codes, [filed["tracking_code"].as_str().unwrap()]);
    let (_, _, other) = list(web.clone(), "09351234567").await;
    assert_eq!(other["petitions"], json!([]), "another mobile's are not listed");
    let (status, _, problem) = list(web, "0912").await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (400, Some("mobile_format")));
    // a member of staff, or another service, is not the web
    let operator = token(Role::Operator, "IR-23").await;
    let (status, _, _) = list(operator, "09121234567").await;
    assert_eq!(status, 403);
    let routing = Provider::from_env().client_token("pasokh-routing", "pasokh-intake").await;
    let (status, _, _) = list(routing, "09121234567").await;
    assert_eq!(status, 403);
    intake.stop().await;
}

//! Reporting, black-box against the real stack: scripted lifecycle events in
//! (one out of order, one redelivered), indicators, scopes, the desk-event
//! report and CSV out; a rebuild from the topic gives the same numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_events::lifecycle;
use pasokh_platform::config::ListenSettings;
use pasokh_platform::db::DatabaseSettings;
use pasokh_proto::events::v1::desk_activity::Body as DeskBody;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{
    Acknowledged, Closed, DeskOpened, MeetingHeld, Merged, Rated, Reopened, Responded, Routed, SlaAlert, Submitted,
};
use pasokh_proto::reporting::v1 as pb;
use pasokh_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use pasokh_reporting::{App, Settings};
use pasokh_testkit::{Provider, Stack, eventually, start_service};
use serde_json::Value;
use uuid::Uuid;

const DESK_EVENT: &str = "0190f0aa-0000-7000-8000-00000000fa12";

struct Script<'a> {
    stack: &'a Stack,
    topic: String,
}

impl Script<'_> {
    async fn send(&self, petition: Uuid, province: &str, sequence: u64, body: Body) {
        let mut event = lifecycle::new_event(petition, province, &code_of(petition), body);
        event.sequence = sequence;
        let message = lifecycle::outbox_message(&self.topic, "//pasokh/test", &event).unwrap();
        self.stack.publish(&message).await;
    }

    async fn send_twice(&self, petition: Uuid, province: &str, sequence: u64, body: Body) {
        let mut event = lifecycle::new_event(petition, province, &code_of(petition), body);
        event.sequence = sequence;
        let message = lifecycle::outbox_message(&self.topic, "//pasokh/test", &event).unwrap();
        self.stack.publish(&message).await;
        self.stack.publish(&message).await; // redelivered: the ledger must keep it from counting twice
    }
}

/// A distinct 12-digit tracking code per petition.
fn code_of(petition: Uuid) -> String {
    format!("{:012}", petition.as_u128() % 1_000_000_000_000)
}

async fn desk_activity(stack: &Stack, topic: &str, body: DeskBody) {
    let desk = Uuid::parse_str(DESK_EVENT).unwrap();
    let activity = pasokh_events::desk::new_activity(desk, "IR-23", body);
    stack.publish(&pasokh_events::desk::outbox_message(topic, "//pasokh/test", &activity).unwrap()).await;
}

fn submitted(category: &str, channel: &str, desk: &str, on_spot: bool) -> Body {
    Body::Submitted(Submitted {
        category: category.into(),
        kind: "request".into(),
        channel: channel.into(),
        citizen_ref: "cd".repeat(32),
        text_length: 40,
        desk_event_id: desk.into(),
        resolved_on_spot: on_spot,
        ..Default::default()
    })
}

fn routed(organisation: &str, province: &str) -> Body {
    Body::Routed(Routed {
        category: "pension-payment".into(),
        organisation: organisation.into(),
        unit: format!("{organisation}/{province}"),
        rule: "test/x".into(),
        ..Default::default()
    })
}

fn breach(target: &str) -> Body {
    Body::SlaAlert(SlaAlert { target: target.into(), level: "breach".into(), ..Default::default() })
}

async fn get(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap()
}

async fn get_json(url: &str, token: &str) -> Value {
    let response = get(url, token).await;
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

fn settings(stack: &Stack, db: &str, topics: &pasokh_testkit::Topics, group: &str, index_file: &str) -> Settings {
    Settings {
        listen: ListenSettings::new(0, 0),
        database: DatabaseSettings::at(db),
        kafka: stack.kafka_settings(topics, group),
        auth: Provider::from_env().auth_settings("pasokh-reporting", None),
        index_file: index_file.into(),
        batch_max_wait_ms: 20,
        shutdown_drain_secs: 5,
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn indicators_scopes_event_report_csv_and_rebuild_are_exact() {
    let stack = Stack::from_env();
    let provider = Provider::from_env();
    let topics = stack.fresh_topics("reporting").await;
    let db = stack.fresh_database("reporting").await;
    // peer groups small enough for six petitions: Tehran (5) is "large", Qom (1) "small"
    let index_file = std::env::temp_dir().join(format!("pasokh-index-{}.toml", Uuid::new_v4().simple()));
    let index = pasokh_reporting_index();
    std::fs::write(&index_file, index).unwrap();
    let index_file = index_file.to_string_lossy().to_string();
    let service = start_service::<App>(&settings(&stack, &db, &topics, "reporting", &index_file)).await;
    let http = service.http.clone();
    let script = Script { stack: &stack, topic: topics.lifecycle.clone() };

    let (p1, p2, p3, p4, p5, p6) =
        (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    // P1 Tehran, SSO: acknowledged, answered on time, rated 5 (the response redelivered)
    script.send(p1, "IR-23", 1, submitted("pension-payment", "web", "", false)).await;
    script.send(p1, "IR-23", 1, routed("sso", "IR-23")).await;
    script.send(p1, "IR-23", 2, Body::Acknowledged(Acknowledged::default())).await;
    script.send_twice(p1, "IR-23", 3, Body::Responded(Responded::default())).await;
    script.send(p1, "IR-23", 2, Body::Rated(Rated { score: 5, has_comment: true })).await;
    // P2 Tehran, SSO: both targets breached, answered late, rated 2, appealed (open again)
    script.send(p2, "IR-23", 1, submitted("pension-payment", "web", "", false)).await;
    script.send(p2, "IR-23", 1, routed("sso", "IR-23")).await;
    script.send(p2, "IR-23", 2, breach("first_response")).await;
    script.send(p2, "IR-23", 3, breach("resolution")).await;
    script.send(p2, "IR-23", 4, Body::Responded(Responded::default())).await;
    script.send(p2, "IR-23", 2, Body::Rated(Rated { score: 2, has_comment: false })).await;
    script.send(p2, "IR-23", 5, Body::Reopened(Reopened { cause: "appeal".into(), ..Default::default() })).await;
    // P3 Tehran: a repeat letter, merged into P1 before routing
    script.send(p3, "IR-23", 1, submitted("pension-payment", "web", "", false)).await;
    let merged = Merged { into_petition_id: p1.to_string(), automatic: true, ..Default::default() };
    script.send(p3, "IR-23", 1, Body::Merged(merged)).await;
    // P4 and P5 at the Tehran Friday-prayer desk: one answered on the spot (SSO), one routed to welfare
    script.send(p4, "IR-23", 1, submitted("pension-payment", "desk", DESK_EVENT, true)).await;
    let on_spot = Closed {
        reason: "resolved_on_spot".into(),
        category: "pension-payment".into(),
        organisation: "sso".into(),
        unit: "sso/IR-23".into(),
    };
    script.send(p4, "IR-23", 1, Body::Closed(on_spot)).await;
    script.send(p5, "IR-23", 1, submitted("pension-payment", "desk", DESK_EVENT, false)).await;
    script.send(p5, "IR-23", 1, routed("welfare", "IR-23")).await;
    // P6 Qom, SSO: the acknowledgement arrives before the routing it follows (out of order)
    script.send(p6, "IR-25", 1, submitted("pension-payment", "web", "", false)).await;
    script.send(p6, "IR-25", 2, Body::Acknowledged(Acknowledged::default())).await;
    script.send(p6, "IR-25", 1, routed("sso", "IR-25")).await;

    // at the desk: the opening, a promise about P4 (answered on the spot today: kept), one made about no
    // petition (untracked), one about P5 due yesterday and still open (overdue), and a meeting without a promise
    let today = pasokh_domain::tehran_date(chrono::Utc::now());
    let opened = DeskOpened {
        title: "نماز جمعه تهران".into(),
        venue: "مصلای امام خمینی".into(),
        starts_at: Some(pasokh_events::lifecycle::timestamp(chrono::Utc::now() - chrono::Duration::hours(1))),
        ends_at: Some(pasokh_events::lifecycle::timestamp(chrono::Utc::now() + chrono::Duration::hours(3))),
        ..Default::default()
    };
    desk_activity(&stack, &topics.desk, DeskBody::Opened(opened)).await;
    let meeting = |code: String, promise: Option<chrono::NaiveDate>| {
        DeskBody::MeetingHeld(MeetingHeld {
            meeting_id: Uuid::now_v7().to_string(),
            organisation: "sso".into(),
            official_title: "مدیرکل".into(),
            tracking_code: code,
            has_promise: promise.is_some(),
            promise_due: promise.map(|d| d.to_string()).unwrap_or_default(),
        })
    };
    desk_activity(&stack, &topics.desk, meeting(code_of(p4), Some(today))).await;
    desk_activity(&stack, &topics.desk, meeting(String::new(), Some(today + chrono::Duration::days(7)))).await;
    desk_activity(&stack, &topics.desk, meeting(code_of(p5), Some(today - chrono::Duration::days(1)))).await;
    desk_activity(&stack, &topics.desk, meeting(String::new(), None)).await;

    let inspector = provider.staff_token("inspector-hq").await;
    let day = format!("{http}/v1/indicators?period=day");
    let national: Value = eventually(Duration::from_secs(40), "every event folded", || async {
        let doc = get_json(&day, &inspector).await;
        (doc["totals"]["submitted"] == 6
            && doc["totals"]["rated"] == 2
            && doc["totals"]["reopened"] == 1
            && doc["totals"]["first_response_decided"] == 4
            && doc["meetings"]["held"] == 4)
            .then_some(doc)
    })
    .await;
    let i = &national["indicators"];
    // the hand-computed values (docs/indicators.md has the same example)
    assert_eq!(i["volume"], 6);
    assert_eq!(i["backlog"], 3, "P2 reopened, P5 routed, P6 acknowledged");
    assert_eq!(i["first_response_on_time"], 0.75, "P1, P4, P6 of P1, P2, P4, P6");
    assert_eq!(i["resolution_on_time"], 2.0 / 3.0, "P1, P4 of P1, P2, P4");
    assert_eq!(i["breaches"], 2);
    assert_eq!(i["reopen_rate"], 1.0 / 3.0);
    assert_eq!(i["appeal_rate"], 0.5);
    assert_eq!(i["satisfaction_mean"], 3.5);
    assert_eq!(i["satisfaction_high_share"], 0.5);
    assert_eq!(i["rated_share"], 1.0);
    assert_eq!(i["repeat_petition_rate"], 1.0 / 6.0);
    assert_eq!(i["on_spot_resolution_rate"], 0.5);
    assert_eq!(i["median_working_days_to_resolution"], 0);
    assert_eq!(national["totals"]["responded"], 2, "the redelivered response counted once");

    // the out-of-order acknowledgement stays the status; the summary counts current statuses
    let qom = get_json(&format!("{http}/v1/summary?province=IR-25"), &inspector).await;
    assert_eq!(qom["by_status"]["acknowledged"], 1, "{qom}");
    assert_eq!(qom["total"], 1);

    // scopes: each role sees its own, and asking outside it is refused
    let tehran = get_json(&day, &provider.staff_token("supervisor-tehran").await).await;
    assert_eq!(tehran["indicators"]["volume"], 5);
    let officer = get_json(&day, &provider.staff_token("officer-sso-tehran").await).await;
    assert_eq!(officer["indicators"]["volume"], 3, "P1, P2, P4: SSO in Tehran");
    let manager = get_json(&day, &provider.staff_token("manager-sso").await).await;
    assert_eq!(manager["indicators"]["volume"], 4, "SSO in every province: P1, P2, P4, P6");
    let director_qom = provider.staff_token("director-qom").await;
    let refused = get(&format!("{day}&province=IR-23"), &director_qom).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert_eq!(get(&day, &provider.staff_token("operator-tehran").await).await.status(), 403);
    assert_eq!(reqwest::get(&day).await.unwrap().status(), 401);
    let bad: Value = get(&format!("{http}/v1/indicators?period=decade"), &inspector).await.json().await.unwrap();
    assert_eq!((bad["code"].as_str(), bad["errors"][0]["field"].as_str()), (Some("validation_failed"), Some("period")));

    // ranking within peer groups
    let ranking = get_json(&format!("{http}/v1/ranking?period=day&of=province"), &inspector).await;
    let group = |name: &str| ranking["groups"].as_array().unwrap().iter().find(|g| g["name"] == name).unwrap().clone();
    assert_eq!(group("large")["entries"][0]["code"], "IR-23");
    assert_eq!(group("large")["entries"][0]["rank"], 1);
    assert_eq!(group("small")["entries"][0]["code"], "IR-25");
    assert_eq!(group("small")["entries"][0]["volume"], 1);

    // the Friday-prayer desk's report
    let report = get_json(&format!("{http}/v1/desk-events/{DESK_EVENT}/report"), &inspector).await;
    assert_eq!(report["people_served"], 2);
    assert_eq!(report["resolved_on_spot"], 1);
    assert_eq!(report["follow_up"]["open"], 1);
    assert_eq!(report["follow_up"]["closed"], 1);
    let orgs: Vec<&str> =
        report["by_organisation"].as_array().unwrap().iter().map(|o| o["organisation"].as_str().unwrap()).collect();
    assert_eq!(orgs, ["sso", "welfare"]);
    assert_eq!(report["event"]["title"], "نماز جمعه تهران");
    let m = &report["meetings"];
    assert_eq!((m["held"].as_i64(), m["promises"].as_i64()), (Some(4), Some(3)));
    assert_eq!((m["kept"].as_i64(), m["overdue"].as_i64(), m["untracked"].as_i64()), (Some(1), Some(1), Some(1)));
    assert_eq!(m["kept_on_time_share"], 0.5, "one kept of the two whose day has come");
    let statuses: Vec<&str> =
        report["promises"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["kept", "untracked", "overdue"]);
    assert_eq!(report["promises"][0]["tracking_code"], code_of(p4));
    // an SSO officer sees the SSO walk-in; the promise about welfare's case keeps its code hidden
    let sso_view = get_json(
        &format!("{http}/v1/desk-events/{DESK_EVENT}/report"),
        &provider.staff_token("officer-sso-tehran").await,
    )
    .await;
    assert_eq!(sso_view["people_served"], 1, "only the SSO walk-in");
    assert_eq!(sso_view["promises"][2]["tracking_code"], "", "P5 is welfare's case: its code is not shown");
    assert_eq!(national["meetings"]["held"], 4);
    assert_eq!(national["meetings"]["promises"], 3);
    let roll_up = get_json(&format!("{http}/v1/desk-events?period=day"), &inspector).await;
    assert_eq!(roll_up["events"].as_array().unwrap().len(), 1);
    assert_eq!(roll_up["provinces"], 1);
    // HQ's live view: the desk is open now, with its counts so far
    let live = get_json(&format!("{http}/v1/desk-events/open"), &inspector).await;
    assert_eq!(live["events"].as_array().unwrap().len(), 1, "{live}");
    let open = &live["events"][0];
    assert_eq!((open["desk_event_id"].as_str(), open["title"].as_str()), (Some(DESK_EVENT), Some("نماز جمعه تهران")));
    assert_eq!((open["people_served"].as_i64(), open["resolved_on_spot"].as_i64()), (Some(2), Some(1)));
    assert_eq!((open["meetings"].as_i64(), open["promises"].as_i64()), (Some(4), Some(3)));
    // Qom's director sees no Tehran desk
    let qom = get_json(&format!("{http}/v1/desk-events/open"), &provider.staff_token("director-qom").await).await;
    assert_eq!(qom["events"].as_array().unwrap().len(), 0);

    // the backlog's age: everything was filed today
    let backlog = get_json(&format!("{http}/v1/backlog"), &inspector).await;
    assert_eq!(backlog["open"], 3);
    assert_eq!(backlog["ages"][0]["cases"], 3);

    // CSV: BOM, Persian headers, Jalali dates, only the scope's rows, no personal data
    let csv =
        get(&format!("{http}/v1/facts.csv?period=day&headers=fa"), &provider.staff_token("supervisor-tehran").await)
            .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 byte-order mark");
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines[0].contains("کد رهگیری") && lines[0].contains("تاریخ ثبت"), "{}", lines[0]);
    assert_eq!(lines.len(), 1 + 5, "Tehran's five petitions");
    let today = pasokh_domain::JalaliDate::from_gregorian(pasokh_domain::tehran_date(chrono::Utc::now())).to_string();
    assert!(lines[1].contains(&today), "Jalali date {today} in {}", lines[1]);
    assert!(lines[1].contains("تهران"));
    assert!(!text.contains(&"cd".repeat(32)), "no citizen reference");
    let indicators_csv =
        get(&format!("{http}/v1/indicators.csv?period=day&headers=fa"), &inspector).await.text().await.unwrap();
    assert!(indicators_csv.starts_with('\u{feff}') && indicators_csv.contains("شاخص پاسخگویی"));

    // the overview: indicators, backlog and a line per province
    let overview = get_json(&format!("{http}/v1/overview?period=day"), &inspector).await;
    assert_eq!(overview["indicators"]["indicators"], national["indicators"]);
    assert_eq!(overview["backlog"]["open"], 3);
    let lines: Vec<&str> = overview["lines"].as_array().unwrap().iter().map(|l| l["code"].as_str().unwrap()).collect();
    assert_eq!(lines, ["IR-23", "IR-25"]);

    // the same reports over gRPC, scoped by the same tokens
    let mut grpc = ReportingServiceClient::connect(service.grpc.clone()).await.unwrap();
    let day = || Some(pb::Period { kind: "day".into(), ..Default::default() });
    let supervisor = provider.staff_token("supervisor-tehran").await;
    let report = grpc
        .get_indicators(authed(&supervisor, pb::ReportRequest { period: day(), scope: None }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.counted.as_ref().unwrap().province, "IR-23");
    assert_eq!(report.indicators.as_ref().unwrap().volume, tehran["indicators"]["volume"].as_i64().unwrap());
    let all = grpc.get_indicators(authed(&inspector, pb::ReportRequest { period: day(), scope: None })).await.unwrap();
    let all = all.into_inner().indicators.unwrap();
    assert_eq!(all.first_response_on_time, Some(0.75));
    assert_eq!(all.repeat_petition_rate, national["indicators"]["repeat_petition_rate"].as_f64());
    let ranked = grpc
        .get_ranking(authed(&inspector, pb::RankingRequest { period: day(), scope: None, of: "province".into() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ranked.groups[0].entries[0].code, "IR-23");
    let desk = grpc
        .get_desk_event_report(authed(
            &inspector,
            pb::DeskEventReportRequest { desk_event_id: DESK_EVENT.into(), scope: None },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((desk.people_served, desk.resolved_on_spot), (2, 1));
    let trend = grpc
        .get_trend(authed(&inspector, pb::TrendRequest { period: day(), scope: None, bucket: "day".into() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trend.points.len(), 1);
    assert_eq!(trend.points[0].indicators.as_ref().unwrap().volume, 6);
    let backlog = grpc.get_backlog(authed(&inspector, pb::ReportRequest::default())).await.unwrap().into_inner();
    assert_eq!(backlog.open, 3);
    let outside = pb::ReportRequest {
        period: day(),
        scope: Some(pb::Scope { province: "IR-25".into(), organisation: String::new() }),
    };
    let refused = grpc.get_indicators(authed(&supervisor, outside)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let anonymous = grpc.get_overview(tonic::Request::new(pb::ReportRequest::default())).await.unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let bad =
        pb::ReportRequest { period: Some(pb::Period { kind: "decade".into(), ..Default::default() }), scope: None };
    let invalid = grpc.get_indicators(authed(&inspector, bad)).await.unwrap_err();
    assert_eq!(invalid.code(), tonic::Code::InvalidArgument);
    assert!(invalid.message().contains("period"), "{}", invalid.message());

    service.stop().await;

    // a rebuild from the topic into a fresh read model gives the same numbers
    let fresh = stack.fresh_database("reporting_rebuild").await;
    let rebuilt_settings = settings(&stack, &fresh, &topics, "reporting-rebuilt", &index_file);
    let rebuilt = pasokh_reporting::rebuild::rebuild(&rebuilt_settings).await.unwrap();
    assert!(rebuilt.duplicates >= 1, "the redelivered response is a duplicate again: {rebuilt:?}");
    let again = start_service::<App>(&rebuilt_settings).await;
    let replayed = get_json(&format!("{}/v1/indicators?period=day", again.http), &inspector).await;
    assert_eq!(replayed["totals"], national["totals"]);
    assert_eq!(replayed["indicators"], national["indicators"]);
    again.stop().await;
}

fn authed<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn pasokh_reporting_index() -> &'static str {
    "version = \"test\"\n\
     [[peer_groups]]\nname = \"large\"\nname_fa = \"پرحجم\"\nmin_volume = 3\n\
     [[peer_groups]]\nname = \"small\"\nname_fa = \"کم‌حجم\"\nmin_volume = 1\n\
     [[dimensions]]\nindicator = \"first_response_on_time\"\nweight = 1.0\n\
     [[dimensions]]\nindicator = \"satisfaction_high_share\"\nweight = 1.0\n"
}

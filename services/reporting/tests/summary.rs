//! Reporting, black-box: lifecycle events in, exact counts out over HTTP and gRPC.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_events::lifecycle;
use pasokh_platform::config::ListenSettings;
use pasokh_platform::db::DatabaseSettings;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{Routed, Submitted};
use pasokh_proto::reporting::v1::GetSummaryRequest;
use pasokh_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use pasokh_reporting::{App, Settings};
use pasokh_testkit::{Stack, eventually, start_service};
use serde_json::Value;
use uuid::Uuid;

fn submitted(category: &str) -> Body {
    Body::Submitted(Submitted {
        category: category.into(),
        kind: "request".into(),
        channel: "web".into(),
        citizen_ref: "cd".repeat(32),
        text_length: 12,
        desk_event_id: String::new(),
        ..Default::default()
    })
}

fn routed(category: &str) -> Body {
    Body::Routed(Routed {
        category: category.into(),
        organisation: "sso".into(),
        unit: "sso/IR-23".into(),
        rule: "test/x".into(),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn counts_are_exact_by_province_category_and_status_despite_redelivery() {
    let stack = Stack::from_env();
    let topics = stack.fresh_topics("reporting").await;
    let db = stack.fresh_database("reporting").await;
    let settings = Settings {
        listen: ListenSettings::new(0, 0),
        database: DatabaseSettings::at(&db),
        kafka: stack.kafka_settings(&topics, "reporting"),
        shutdown_drain_secs: 5,
        ..Settings::default()
    };
    let service = start_service::<App>(&settings).await;
    let (http, grpc) = (service.http.clone(), service.grpc.clone());

    // Tehran: two pension petitions, both routed; Qom: one wages petition, still submitted
    let plan =
        [("IR-23", "pension-payment", true), ("IR-23", "pension-payment", true), ("IR-25", "unpaid-wages", false)];
    for (province, category, is_routed) in plan {
        let petition = Uuid::now_v7();
        let source = format!("//pasokh/intake/{province}");
        let event = lifecycle::new_event(petition, province, "231234567890", submitted(category));
        let message = lifecycle::outbox_message(&topics.lifecycle, &source, &event).unwrap();
        stack.publish(&message).await;
        if is_routed {
            let event = lifecycle::new_event(petition, province, "231234567890", routed(category));
            let message = lifecycle::outbox_message(&topics.lifecycle, "//pasokh/routing", &event).unwrap();
            stack.publish(&message).await;
            stack.publish(&message).await; // redelivered: must not count twice
        }
    }

    let summary: Value = eventually(Duration::from_secs(30), "all events counted", || async {
        let summary: Value = reqwest::get(format!("{http}/v1/summary")).await.unwrap().json().await.unwrap();
        (summary["total"] == 3 && summary["by_status"]["routed"] == 2).then_some(summary)
    })
    .await;
    assert_eq!(summary["by_status"]["submitted"], 1);
    let rows = summary["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["province"] == "IR-23"
        && r["category"] == "pension-payment"
        && r["status"] == "routed"
        && r["count"] == 2));

    let tehran: Value = reqwest::get(format!("{http}/v1/summary?province=IR-23")).await.unwrap().json().await.unwrap();
    assert_eq!(tehran["total"], 2);
    let bad = reqwest::get(format!("{http}/v1/summary?province=IR-99")).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");

    let mut client = ReportingServiceClient::connect(grpc).await.unwrap();
    let over_grpc = client.get_summary(GetSummaryRequest { province: String::new() }).await.unwrap().into_inner();
    assert_eq!(over_grpc.total, 3);
    assert_eq!(over_grpc.by_status["routed"], 2);

    let page = reqwest::get(format!("{http}/dashboard")).await.unwrap().text().await.unwrap();
    assert!(page.contains("dir=\"rtl\""));
    assert!(page.contains("تهران") && page.contains("قم"), "provinces named in Persian");

    service.stop().await;
}

//! Routing, black-box: petitions filed at a real intake become cases and Routed events, on the real stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{World, kind};
use pasokh_events::cloudevents::header_map_of;
use pasokh_events::lifecycle::from_timestamp;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::routing::v1::GetCaseRequest;
use pasokh_testkit::eventually;
use rdkafka::message::Message as _;
use uuid::Uuid;

async fn count(world: &World, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&world.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_submitted_event_routes_the_case_once() {
    let world = World::start("IR-23", |_| {}).await;
    let filed = world.file(1, "pension-payment", "مستمری مهر ماه من هنوز واریز نشده است").await;
    let events = world.events_of(filed.petition_id, 2).await;
    assert_eq!(events.iter().map(kind).collect::<Vec<_>>(), ["submitted", "routed"]);

    // the Submitted record again, as Kafka may deliver it after a producer retry or a consumer crash
    let records = world.stack.read_topic(&world.topics.lifecycle, 2, Duration::from_secs(10)).await;
    let submitted = records.iter().find(|r| header_map_of(r.headers())["ce_type"].ends_with(".submitted.v1")).unwrap();
    let key = String::from_utf8_lossy(submitted.key().unwrap()).into_owned();
    world
        .stack
        .publish_raw(&world.topics.lifecycle, &key, &header_map_of(submitted.headers()), submitted.payload().unwrap())
        .await;
    eventually(Duration::from_secs(30), "the redelivery to be consumed", || async {
        // the redelivered record is read (its offset committed) but has no effect
        let committed = world
            .stack
            .committed_offset(&world.settings.kafka.consumer_group, &world.topics.lifecycle, submitted.partition())
            .await;
        (committed.unwrap_or(0) > submitted.offset() + 1).then_some(())
    })
    .await;
    let records = world.stack.read_topic(&world.topics.lifecycle, 4, Duration::from_secs(5)).await;
    assert_eq!(records.len(), 3, "submitted twice, routed once");
    assert_eq!(count(&world, "SELECT count(*) FROM cases").await, 1);
    assert_eq!(count(&world, "SELECT count(*) FROM case_history").await, 2, "submitted and routed");

    let routed = records.iter().find(|r| header_map_of(r.headers())["ce_type"].ends_with(".routed.v1")).unwrap();
    let headers = header_map_of(routed.headers());
    assert_eq!(headers["ce_source"], "//pasokh/routing");
    let Some(Body::Routed(body)) = &events[1].body else { unreachable!() };
    assert_eq!(body.organisation, "sso");
    assert_eq!(body.unit, "sso/IR-23");
    assert!(body.rule.ends_with("/pension-payment-tehran"), "Tehran's own pension rule: {}", body.rule);
    assert_eq!(body.priority, "high");
    let first = from_timestamp(body.first_response_due.as_ref()).unwrap();
    let resolution = from_timestamp(body.resolution_due.as_ref()).unwrap();
    assert!(first < resolution, "first response is due before resolution");
    assert!(resolution - first >= chrono::Duration::days(8), "10 - 2 working days apart");

    // routing keeps the petition's text for the officers, fetched from intake over gRPC
    let text: String = sqlx::query_scalar("SELECT text FROM cases").fetch_one(&world.pool).await.unwrap();
    assert_eq!(text, "مستمری مهر ماه من هنوز واریز نشده است");

    let mut lookup = world.lookup().await;
    let case = lookup
        .get_case(world.as_notification(GetCaseRequest { petition_id: filed.petition_id.to_string() }).await)
        .await
        .unwrap()
        .into_inner();
    assert_eq!((case.status.as_str(), case.unit.as_str()), ("routed", "sso/IR-23"));
    let missing = lookup
        .get_case(world.as_notification(GetCaseRequest { petition_id: Uuid::now_v7().to_string() }).await)
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consumer_ledger_forgets_events_past_its_retention_and_keeps_the_rest() {
    let world = World::start("IR-23", |_| {}).await;
    let old = world.file(2, "pension-payment", "مستمری آبان ماه من هنوز واریز نشده است").await;
    let recent = world.file(3, "unpaid-wages", "کارفرما حقوق دو ماه را نپرداخته است").await;
    let ledger = "SELECT count(*) FROM processed_events";
    assert_eq!(count(&world, ledger).await, 2, "each Submitted applied once");
    // the first petition's record as if applied three weeks ago (the retention is 14 days)
    sqlx::query(
        "UPDATE processed_events SET processed_at = now() - interval '21 days' WHERE event_id IN \
         (SELECT event_id FROM case_history WHERE petition_id = $1)",
    )
    .bind(old.petition_id)
    .execute(&world.pool)
    .await
    .unwrap();
    // a replica purges as it starts, beside its consumer loop
    let replica = world.routing_replica().await;
    eventually(Duration::from_secs(30), "the old record purged", || async {
        (count(&world, ledger).await == 1).then_some(())
    })
    .await;
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM processed_events WHERE event_id IN (SELECT event_id FROM case_history WHERE petition_id = $1)",
    )
    .bind(recent.petition_id)
    .fetch_one(&world.pool)
    .await
    .unwrap();
    assert_eq!(kept, 1, "the recent event is still remembered, so its redelivery is still ignored");
    replica.stop().await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_records_are_dead_lettered_and_do_not_block_their_partitions() {
    let world = World::start("IR-23", |_| {}).await;
    // 60 keys reach every one of the topic's 6 partitions, whichever the petition lands on
    for n in 0..60 {
        let key = format!("poison-{n}");
        world.stack.publish_raw(&world.topics.lifecycle, &key, &BTreeMap::new(), b"\xff not a protobuf").await;
    }
    let filed = world.file(2, "unpaid-wages", "کارفرما سه ماه است حقوق ما را نداده است").await;
    let unit: String = sqlx::query_scalar("SELECT unit FROM cases WHERE petition_id = $1")
        .bind(filed.petition_id)
        .fetch_one(&world.pool)
        .await
        .unwrap();
    assert_eq!(unit, "labour-inspection/IR-23");
    let dlq = world.stack.read_topic(&format!("{}.dlq", world.topics.lifecycle), 60, Duration::from_secs(30)).await;
    assert_eq!(dlq.len(), 60);
    let headers = header_map_of(dlq[0].headers());
    assert!(headers["pasokh_dlq_reason"].contains("ce_specversion"), "{headers:?}");
    assert_eq!(headers["pasokh_dlq_topic"], world.topics.lifecycle);
    assert_eq!(dlq[0].payload().unwrap(), b"\xff not a protobuf");
    world.stop().await;
}

fn rules_file(text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pasokh-rules-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("routing-rules.toml");
    std::fs::write(&file, text).unwrap();
    file.to_string_lossy().into_owned()
}

fn built_in_rules() -> String {
    std::fs::read_to_string(pasokh_testkit::repo_root().join("services/routing/rules/routing-rules.toml")).unwrap()
}

async fn unit_and_rule(world: &World, petition_id: Uuid) -> (String, String) {
    sqlx::query_as("SELECT unit, rule FROM cases WHERE petition_id = $1")
        .bind(petition_id)
        .fetch_one(&world.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmatched_category_goes_to_the_provincial_triage_queue() {
    // rules without one for "employment": such petitions go to the directorate's triage
    let rules = built_in_rules().replace("category = \"employment\"", "category = \"cooperatives\"");
    let path = rules_file(&rules);
    let world = World::start("IR-23", |s| s.rules_file = path).await;
    let filed = world.file(3, "employment", "برای یافتن شغل به کدام اداره مراجعه کنم؟").await;
    let (unit, rule) = unit_and_rule(&world, filed.petition_id).await;
    assert_eq!(unit, "mcls-directorate/IR-23/triage");
    assert!(rule.ends_with("/fallback"), "{rule}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_rules_are_reloaded_from_their_file_without_a_restart_and_bad_files_are_refused() {
    let original = built_in_rules().replace("[[rule]]\nname = \"other\"", "[[rule]]\nname = \"other-everywhere\"");
    let path = rules_file(&original);
    let file = path.clone();
    let world = World::start("IR-25", |s| {
        s.rules_file = path;
        s.rules_reload_secs = 1;
    })
    .await;
    let mut citizen = 10;
    let mut route_other = async || {
        citizen += 1;
        let filed = world.file(citizen, "other", &format!("پرسش شماره {citizen} درباره خدمات اداره کل")).await;
        unit_and_rule(&world, filed.petition_id).await
    };
    let (unit, rule) = route_other().await;
    assert_eq!(unit, "mcls-directorate/IR-25");
    assert!(rule.ends_with("/other-everywhere"), "{rule}");

    // Qom's director has the welfare organisation answer "other" petitions there from now on
    let updated = original.replace("version = \"2026-11-30.1\"", "version = \"2026-12-01.1\"")
        + "\n[[rule]]\nname = \"other-qom\"\ncategory = \"other\"\nprovinces = [\"IR-25\"]\norganisation = \"welfare\"\nfirst_response_days = 2\nresolution_days = 9\npriority = \"normal\"\n";
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new modification time
    std::fs::write(&file, &updated).unwrap();
    let mut found = None;
    for _ in 0..20 {
        let (unit, rule) = route_other().await;
        if unit == "welfare/IR-25" {
            found = Some(rule);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(found.as_deref(), Some("2026-12-01.1/other-qom"), "the case names the rule and version that routed it");

    // a broken edit is refused: the rules in force stay
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&file, updated.replace("organisation = \"welfare\"", "organisation = \"nasa\"")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (unit, _) = route_other().await;
    assert_eq!(unit, "welfare/IR-25");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_does_not_serve_texts_holds_the_partition_instead_of_dead_lettering() {
    // intake's URL points at routing's own internal listener: a wrong (or not yet rolled out)
    // peer that answers UNIMPLEMENTED, as an older intake or a misrouted proxy would
    let world = World::start("IR-23", |s| {
        s.intake_grpc_url = format!("http://127.0.0.1:{}", s.listen.internal_grpc_port);
    })
    .await;
    let response = world
        .http
        .post(format!("{}/v1/petitions", world.intake.http))
        .json(&serde_json::json!({
            "national_id": pasokh_testkit::national_id(5), "mobile": crate::common::mobile(5), "category": "unpaid-wages",
            "kind": "complaint", "channel": "web", "text": "کارفرما سه ماه است حقوق ما را نداده است"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let metrics = eventually(Duration::from_secs(30), "the consumer to retry the held partition", || async {
        let metrics = world.http.get(format!("{}/metrics", world.routing.http)).send().await.ok()?.text().await.ok()?;
        let retries: f64 = metrics
            .lines()
            .find(|l| l.starts_with("pasokh_event_handler_retries_total"))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()?;
        (retries >= 3.0).then_some(metrics)
    })
    .await;
    assert!(!metrics.contains("outcome=\"dead_lettered\""), "nothing dead-lettered");
    let dlq = world.stack.read_topic(&format!("{}.dlq", world.topics.lifecycle), 1, Duration::from_secs(3)).await;
    assert!(dlq.is_empty(), "an unreachable peer says nothing about the event: {} dead letters", dlq.len());
    assert_eq!(count(&world, "SELECT count(*) FROM cases").await, 0, "no case without its text");
    world.stop().await;
}

//! `pasokhctl dlq replay`: dead-lettered records go back to their topic with
//! their own headers, once, and only those of the group asked for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use pasokh_events::cloudevents::header_map_of;
use pasokh_testkit::Stack;
use rdkafka::message::Message as _;

fn dead_letter(topic: &str, group: &str, ce_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ce_id".to_owned(), ce_id.to_owned()),
        ("ce_type".to_owned(), "ir.gov.mcls.pasokh.petition.submitted.v1".to_owned()),
        ("pasokh_dlq_reason".to_owned(), "handler: permanent: unknown province `IR-99`".to_owned()),
        ("pasokh_dlq_topic".to_owned(), topic.to_owned()),
        ("pasokh_dlq_partition".to_owned(), "0".to_owned()),
        ("pasokh_dlq_offset".to_owned(), "7".to_owned()),
        ("pasokh_dlq_group".to_owned(), group.to_owned()),
    ])
}

async fn run(stack: &Stack, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(pasokh_testkit::bin_dir().join("pasokhctl"))
        .args(args)
        .env("PASOKH__KAFKA__BOOTSTRAP_SERVERS", &stack.kafka)
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_letter_topic_is_replayed_into_its_topic_once_for_the_group_asked() {
    let stack = Stack::from_env();
    let topics = stack.fresh_topics("dlq").await;
    let dlq = format!("{}.dlq", topics.lifecycle);
    let routing_letter = dead_letter(&topics.lifecycle, "pasokh-routing", "01a22770-0000-7000-8000-000000000001");
    let reporting_letter = dead_letter(&topics.lifecycle, "pasokh-reporting", "01a22770-0000-7000-8000-000000000002");
    stack.publish_raw(&dlq, "petition-1", &routing_letter, b"payload one").await;
    stack.publish_raw(&dlq, "petition-2", &reporting_letter, b"payload two").await;

    let (ok, stdout, stderr) =
        run(&stack, &["dlq", "replay", "--topic", &topics.lifecycle, "--group", "pasokh-routing", "--dry-run"]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("listed 1 record(s)"), "{stdout}");
    assert!(stderr.contains("unknown province `IR-99`"), "the reason is shown: {stderr}");
    assert!(stack.read_topic(&topics.lifecycle, 1, Duration::from_secs(3)).await.is_empty(), "a dry run sends nothing");

    let (ok, stdout, stderr) =
        run(&stack, &["dlq", "replay", "--topic", &topics.lifecycle, "--group", "pasokh-routing"]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("replayed 1 record(s)"), "{stdout}");
    let replayed = stack.read_topic(&topics.lifecycle, 2, Duration::from_secs(5)).await;
    assert_eq!(replayed.len(), 1, "only the routing group's letter");
    let headers = header_map_of(replayed[0].headers());
    assert_eq!(headers["ce_id"], routing_letter["ce_id"], "the original event id, so consumers deduplicate");
    assert!(headers.keys().all(|k| !k.starts_with("pasokh_dlq_")), "{headers:?}");
    assert_eq!(replayed[0].key(), Some(b"petition-1".as_slice()));
    assert_eq!(replayed[0].payload(), Some(b"payload one".as_slice()));

    // the replayer remembers where it was for each group: routing's again replays nothing…
    let (ok, stdout, _) =
        run(&stack, &["dlq", "replay", "--topic", &topics.lifecycle, "--group", "pasokh-routing"]).await;
    assert!(ok);
    assert!(stdout.contains("replayed 0 record(s)"), "{stdout}");
    // …and what it skipped for routing is still there for reporting (finding 19)
    let (ok, stdout, _) =
        run(&stack, &["dlq", "replay", "--topic", &topics.lifecycle, "--group", "pasokh-reporting"]).await;
    assert!(ok);
    assert!(stdout.contains("replayed 1 record(s)"), "{stdout}");
    let replayed = stack.read_topic(&topics.lifecycle, 3, Duration::from_secs(5)).await;
    assert_eq!(replayed.len(), 2);
    assert!(replayed.iter().any(|r| header_map_of(r.headers())["ce_id"] == reporting_letter["ce_id"]));
    let (ok, _, stderr) = run(&stack, &["dlq", "replay"]).await;
    assert!(!ok && stderr.contains("required") && stderr.contains("--topic"), "the missing topic is named: {stderr}");
}

//! Intake with the real Kafka broker stopped: petitions are still accepted,
//! wait in the outbox, and are published once the broker is back.
//!
//! This binary holds a single test because it stops the shared broker; cargo
//! runs test binaries one after another, so no other test sees the outage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_proto::events::v1::PetitionEvent;
use pasokh_testkit::intake::{TestIntake, valid_petition};
use pasokh_testkit::{Stack, eventually, repo_root};
use prost::Message as _;
use rdkafka::message::Message as _;
use serde_json::Value;

fn stack_script(command: &str) {
    let status = std::process::Command::new(repo_root().join("scripts/stack.sh")).arg(command).status().unwrap();
    assert!(status.success(), "scripts/stack.sh {command} failed");
}

/// Restarts the broker however the test ends, so later tests find it running.
struct BrokerBack;

impl Drop for BrokerBack {
    fn drop(&mut self) {
        stack_script("kafka-up");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn petitions_filed_while_kafka_is_stopped_are_published_when_it_returns() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;

    let broker_back = BrokerBack;
    tokio::task::spawn_blocking(|| stack_script("kafka-down")).await.unwrap();
    let ready = reqwest::get(format!("{}/readyz", intake.http)).await.unwrap();
    // still ready: intake accepts into its outbox, so a broker outage must not empty the load balancer
    assert_eq!(ready.status(), 200, "intake stays ready while Kafka is down");
    assert_ne!(ready.json::<Value>().await.unwrap()["checks"]["kafka"], "ok", "but reports the broker down");

    let mut codes = Vec::new();
    for _ in 0..5 {
        let (status, body) = intake.submit(&valid_petition()).await;
        assert_eq!(status, 201, "accepting must not depend on Kafka: {body}");
        codes.push(body["tracking_code"].as_str().unwrap().to_owned());
    }
    assert_eq!(intake.count("outbox").await, 5, "the events wait in the outbox");

    tokio::task::spawn_blocking(move || drop(broker_back)).await.unwrap();
    eventually(Duration::from_secs(90), "the outbox to drain", || async {
        (intake.count("outbox").await == 0).then_some(())
    })
    .await;
    let records = stack.read_topic(&intake.topics.lifecycle, 5, Duration::from_secs(30)).await;
    let mut published: Vec<String> =
        records.iter().map(|r| PetitionEvent::decode(r.payload().unwrap()).unwrap().tracking_code).collect();
    published.sort();
    codes.sort();
    assert_eq!(published, codes, "every petition accepted during the outage reached Kafka");
    intake.stop().await;
}

//! Publishes a synthetic petition lifecycle onto a topic, as intake and routing
//! would: for each petition submitted, routed, acknowledged, answered and rated,
//! with their sequences, keyed by petition; a share of the events is published
//! twice, as redeliveries. For reporting's ingestion benchmark.
//!
//! `pasokh-lifecycle-gen --brokers 127.0.0.1:19092 --topic T --petitions 100000 [--duplicates-percent 5]
//! [--start 2026-02-01T06:00:00Z --span-hours 240]` (without `--start`, everything happens now; with it,
//! submissions are spread evenly over the span and each later event follows an hour after the last: a
//! scripted period such as a Fajr decade) prints `{"petitions": …, "events": …, "distinct_events": …, "rated": …, "seconds": …}`.
use std::time::{Duration, Instant};

use pasokh_events::KafkaSettings;
use pasokh_events::cloudevents::to_kafka_headers;
use pasokh_events::lifecycle;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{Acknowledged, Rated, Responded, Routed, Submitted};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureRecord, Producer};
use serde_json::json;
use uuid::Uuid;

const PROVINCES: [&str; 6] = ["IR-23", "IR-25", "IR-10", "IR-07", "IR-30", "IR-11"];
const ORGANISATIONS: [&str; 4] = ["sso", "welfare", "cspf", "mcls-directorate"];

/// Publishes a synthetic lifecycle (submitted → routed → acknowledged → responded → rated) for
/// reporting's benchmark.
#[derive(Debug, clap::Parser)]
#[command(name = "pasokh-lifecycle-gen")]
struct Options {
    #[arg(long)]
    brokers: String,
    #[arg(long)]
    topic: String,
    #[arg(long, default_value_t = 100_000)]
    petitions: u64,
    /// redelivered records, as a share of all
    #[arg(long, default_value_t = 5)]
    duplicates_percent: u64,
    /// the first petition's instant (RFC 3339); now when not given
    #[arg(long, value_parser = parse_instant)]
    start: Option<chrono::DateTime<chrono::Utc>>,
    /// the petitions spread over this many hours
    #[arg(long, default_value_t = 240)]
    span_hours: i64,
}

fn parse_instant(input: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(input)
        .map(|start| start.with_timezone(&chrono::Utc))
        .map_err(|error| format!("an RFC 3339 instant: {error}"))
}

/// Waits until the broker confirmed every pending record; `false` if one was refused.
async fn confirm(pending: &mut Vec<DeliveryFuture>) -> bool {
    for delivery in pending.drain(..) {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => {
                eprintln!("publish failed: {error}");
                return false;
            }
            Err(_) => {
                eprintln!("publish cancelled");
                return false;
            }
        }
    }
    true
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // a usage error prints clap's help and exits 2
    let Options { brokers, topic, petitions, duplicates_percent, start, span_hours } =
        <Options as clap::Parser>::parse();
    let mut settings = KafkaSettings::local("pasokh-lifecycle-gen");
    settings.bootstrap_servers = brokers;
    settings.properties.insert("linger.ms".into(), "20".into());
    settings.properties.insert("queue.buffering.max.messages".into(), "1000000".into());
    let producer = match settings.producer() {
        Ok(producer) => producer,
        Err(error) => {
            eprintln!("kafka: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let (mut events, mut distinct, mut rated) = (0u64, 0u64, 0u64);
    let mut pending = Vec::with_capacity(10_000);
    for n in 0..petitions {
        let id = Uuid::now_v7();
        let province = PROVINCES[(n % PROVINCES.len() as u64) as usize];
        let organisation = ORGANISATIONS[(n / 7 % ORGANISATIONS.len() as u64) as usize];
        let code = format!("{:012}", n);
        let mut bodies: Vec<(u64, Body)> = vec![
            (
                1,
                Body::Submitted(Submitted {
                    category: "pension-payment".into(),
                    kind: "request".into(),
                    channel: "web".into(),
                    text_length: 80,
                    ..Default::default()
                }),
            ),
            (
                1,
                Body::Routed(Routed {
                    category: "pension-payment".into(),
                    organisation: organisation.into(),
                    unit: format!("{organisation}/{province}"),
                    rule: "bench/x".into(),
                    ..Default::default()
                }),
            ),
            (2, Body::Acknowledged(Acknowledged::default())),
            (3, Body::Responded(Responded::default())),
        ];
        if n % 3 != 0 {
            bodies.push((2, Body::Rated(Rated { score: (n % 5 + 1) as u32, has_comment: n % 2 == 0 })));
            rated += 1;
        }
        let submitted_at = start
            .map(|start| start + chrono::Duration::seconds(span_hours * 3600 * n as i64 / petitions.max(1) as i64));
        for (step, (sequence, body)) in bodies.into_iter().enumerate() {
            let mut event = lifecycle::new_event(id, province, &code, body);
            event.sequence = sequence;
            if let Some(at) = submitted_at {
                event.occurred_at = Some(lifecycle::timestamp(at + chrono::Duration::hours(step as i64)));
            }
            let Some(message) = lifecycle::outbox_message(&topic, "//pasokh/bench", &event) else { continue };
            let copies = if (events * 7919) % 100 < duplicates_percent { 2 } else { 1 };
            distinct += 1;
            for _ in 0..copies {
                let mut record = FutureRecord::to(&topic)
                    .key(&message.key)
                    .payload(&message.payload)
                    .headers(to_kafka_headers(&message.headers));
                loop {
                    match producer.send_result(record) {
                        Ok(delivery) => {
                            pending.push(delivery);
                            break;
                        }
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                            record = returned;
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Err((error, _)) => {
                            eprintln!("publish failed: {error}");
                            return std::process::ExitCode::FAILURE;
                        }
                    }
                }
                events += 1;
            }
        }
        if pending.len() >= 10_000 && !confirm(&mut pending).await {
            return std::process::ExitCode::FAILURE;
        }
    }
    if !confirm(&mut pending).await {
        return std::process::ExitCode::FAILURE;
    }
    let _ = producer.flush(Duration::from_secs(30));
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"petitions": petitions, "events": events, "distinct_events": distinct, "rated": rated, "seconds": seconds})
    );
    std::process::ExitCode::SUCCESS
}

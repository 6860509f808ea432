//! The fault matrix (`make test-faults`; `make test-faults-long` for the full outage lengths).
//!
//! The whole pipeline runs as processes — intake, routing, notification, reporting, the SMS
//! sink — on the real PostgreSQL and Kafka, while a client files petitions at a fixed rate and
//! retries every failure with the same `Idempotency-Key`, as a careful client does. Each scenario
//! breaks one thing under that load: a process aborted at a named moment (`PASOKH_CRASH_AT`),
//! PostgreSQL restarted or frozen, Kafka restarted or stopped, the gateway slow, failing or down,
//! intake cut off from routing, replicas added and killed. After each, once the pipeline has caught
//! up, the checker reads PostgreSQL, Kafka and the sink and prints six invariants with their counts:
//!
//! - I1 every 201 is exactly one petition;
//! - I2 every petition has one case, one reporting row and each expected SMS delivered once
//!   (the gateway's repeats of a key are counted apart: it answered them, it did not deliver them);
//! - I3 each petition's events on the topic are in the order of its case history;
//! - I4 reporting's status of every petition is routing's;
//! - I5 no personal data (national id, mobile, text) in topic bytes, dead letters, logs or metrics;
//! - I6 nothing transient was dead-lettered.
//!
//! The invariants are checked over every petition filed so far, so a later scenario also proves the
//! earlier ones left nothing behind. `PASOKH_FAULTS_ONLY=name,…` runs a subset while developing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pasokh_proto::events::v1::PetitionEvent;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_testkit::process::{ServiceProcess, service_env};
use pasokh_testkit::{SmsSink, Stack, TcpProxy, Topics, free_port, repo_root};
use prost::Message as _;
use rdkafka::message::{Headers as _, Message as _};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Petitions per second the client files during every scenario (debug builds, 2 cores).
const RATE_PER_S: u64 = 20;
/// The province of the one intake; its partition of the tables is the one checked.
const PROVINCE: &str = "IR-23";

/// How long each outage lasts: scaled down for CI, the lengths with `PASOKH_FAULTS_LONG=1`.
/// Each is still longer than the retry back-off the harness configures (at most 1 s for consumers,
/// 2 s for the gateway), so every retry loop runs through its ceiling many times.
struct Lengths {
    load_around: Duration,
    pg_pause: Duration,
    kafka_stop: Duration,
    sms_slow: Duration,
    sms_failing: Duration,
    sms_down: Duration,
    intake_unreachable: Duration,
    settle: Duration,
}

impl Lengths {
    fn from_env() -> Self {
        let long = std::env::var("PASOKH_FAULTS_LONG").is_ok_and(|v| v == "1");
        let s = Duration::from_secs;
        if long {
            Self {
                load_around: s(10),
                pg_pause: s(15),
                kafka_stop: s(600),
                sms_slow: s(60),
                sms_failing: s(120),
                sms_down: s(300),
                intake_unreachable: s(300),
                settle: s(1800),
            }
        } else {
            Self {
                load_around: s(4),
                pg_pause: s(15),
                kafka_stop: s(30),
                sms_slow: s(8),
                sms_failing: s(10),
                sms_down: s(20),
                intake_unreachable: s(20),
                settle: s(300),
            }
        }
    }
}

/// One petition the client was answered 201 for.
#[derive(Debug, Clone)]
struct Filed {
    tracking_code: String,
    petition_id: String,
    mobile: String,
    national_id: String,
    /// a word only this petition's text holds, to find the text wherever it leaked
    marker: String,
}

/// What the client saw on its way to the 201s.
#[derive(Debug, Default)]
struct ClientLog {
    filed: Vec<Filed>,
    /// failed attempts by what failed (`503 outcome_unknown`, `connect`, `timeout`…), each retried
    failures: BTreeMap<String, u64>,
}

impl ClientLog {
    fn retried(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// The client: files at [`RATE_PER_S`] from when it starts until it is told to stop.
struct Load {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<ClientLog>,
}

impl Load {
    fn start(intake: String, numbers: Arc<AtomicU32>) -> Self {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            let log = Arc::new(Mutex::new(ClientLog::default()));
            let mut requests = tokio::task::JoinSet::new();
            let start = Instant::now();
            let mut sent = 0u64;
            while !token.is_cancelled() {
                // latency from the intended send time: a stalled intake does not slow the schedule
                let due = start + Duration::from_micros(sent * 1_000_000 / RATE_PER_S);
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = token.cancelled() => break,
                }
                let n = numbers.fetch_add(1, Ordering::Relaxed);
                requests.spawn(file_until_answered(client.clone(), intake.clone(), n, log.clone()));
                sent += 1;
            }
            requests.join_all().await;
            Arc::try_unwrap(log).unwrap().into_inner()
        });
        Self { stop, task }
    }

    /// Stops filing and waits until every petition filed has its 201.
    async fn finish(self) -> ClientLog {
        self.stop.cancel();
        self.task.await.unwrap()
    }
}

/// Files petition `n` and retries with the same key until intake answers 201.
async fn file_until_answered(client: reqwest::Client, intake: String, n: u32, log: Arc<Mutex<ClientLog>>) {
    let key = uuid::Uuid::new_v4().to_string();
    let national_id = pasokh_testkit::national_id(7_100_000 + n);
    let mobile = format!("0935{:07}", 1_000_000 + n);
    let marker = format!("zq{n:08}");
    let categories = ["pension-payment", "unpaid-wages", "disability-support", "bank-loan", "other"];
    let body = json!({
        "national_id": national_id,
        "mobile": mobile,
        "province": PROVINCE,
        "category": categories[n as usize % categories.len()],
        "kind": "request",
        "channel": "web",
        "text": format!("درخواست آزمون خطا {marker} برای پیگیری پرونده"),
    });
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let outcome =
            client.post(format!("{intake}/v1/petitions")).header("Idempotency-Key", &key).json(&body).send().await;
        let failure = match outcome {
            Ok(response) if response.status() == 201 => {
                let answer: Value = response.json().await.unwrap();
                let filed = Filed {
                    tracking_code: answer["tracking_code"].as_str().unwrap().to_owned(),
                    petition_id: answer["id"].as_str().unwrap().to_owned(),
                    mobile,
                    national_id,
                    marker,
                };
                log.lock().await.filed.push(filed);
                return;
            }
            Ok(response) => {
                let status = response.status();
                let problem: Value = response.json().await.unwrap_or_default();
                let code = problem["code"].as_str().unwrap_or("").to_owned();
                // a client error other than "not now" is a bug in the test or in intake, not a fault
                assert!(status.is_server_error() || status == 409 || status == 429, "petition {n}: {status} {problem}");
                format!("{} {code}", status.as_u16())
            }
            Err(error) if error.is_timeout() => "timeout".to_owned(),
            Err(error) if error.is_connect() => "connection refused".to_owned(),
            Err(_) => "connection lost".to_owned(),
        };
        *log.lock().await.failures.entry(failure).or_default() += 1;
        assert!(Instant::now() < deadline, "petition {n} still unanswered after 30 minutes");
        let backoff = pasokh_platform::retry::Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        tokio::time::sleep(backoff.delay(attempt)).await;
    }
}

/// The system under faults and what it was asked so far.
struct Harness {
    stack: Stack,
    topics: Topics,
    logs: PathBuf,
    sink: SmsSink,
    intake: ServiceProcess,
    /// replica 0 first; intake and notification ask replica 0
    routing: Vec<ServiceProcess>,
    notification: Vec<ServiceProcess>,
    reporting: ServiceProcess,
    /// routing's link to intake's internal listener, which a scenario cuts
    intake_link: TcpProxy,
    databases: Databases,
    numbers: Arc<AtomicU32>,
    filed: Vec<Filed>,
    lengths: Lengths,
}

struct Databases {
    intake: String,
    routing: String,
    notification: String,
    reporting: String,
}

/// Retries short enough that every outage outlasts them many times over.
fn short_retries(env: &mut Vec<(String, String)>) {
    for (k, v) in [("PASOKH__KAFKA__CONSUMER__RETRY__INITIAL", "50"), ("PASOKH__KAFKA__CONSUMER__RETRY__MAX", "1000")] {
        env.push((k.into(), v.into()));
    }
}

/// Another replica of `base`: the same database and consumer group, its own listeners and log.
fn replica(base: &ServiceProcess, name: &str, logs: &Path) -> ServiceProcess {
    let mut env: Vec<(String, String)> =
        base.env.iter().filter(|(k, _)| !k.starts_with("PASOKH__LISTEN__")).cloned().collect();
    env.push(("PASOKH__LISTEN__GRPC_PORT".into(), free_port().to_string()));
    env.push(("PASOKH__LISTEN__INTERNAL_GRPC_PORT".into(), free_port().to_string()));
    ServiceProcess::new(name, &base_binary(base), env, logs)
}

fn base_binary(base: &ServiceProcess) -> String {
    format!("pasokh-{}", base.name.split('-').next().unwrap())
}

impl Harness {
    async fn start() -> Self {
        let stack = Stack::from_env();
        let topics = stack.fresh_topics("faults").await;
        let logs = std::env::temp_dir().join(format!("pasokh-faults-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&logs).unwrap();
        println!("[faults] service logs: {}", logs.display());
        let sink = SmsSink::start_with(free_port(), Some(logs.join("gateway.jsonl")), None).await;
        let databases = Databases {
            intake: stack.fresh_database("faults_intake").await,
            routing: stack.fresh_database("faults_routing").await,
            notification: stack.fresh_database("faults_notification").await,
            reporting: stack.fresh_database("faults_reporting").await,
        };

        let mut routing_env = service_env(&stack, &topics, None, &databases.routing, "routing");
        short_retries(&mut routing_env);
        let routing_internal = routing_env
            .iter()
            .find(|(k, _)| k == "PASOKH__LISTEN__INTERNAL_GRPC_PORT")
            .map(|(_, v)| format!("http://127.0.0.1:{v}"))
            .unwrap();

        let mut env = service_env(&stack, &topics, None, &databases.intake, "intake");
        env.extend(
            [
                ("PASOKH__PROVINCE", PROVINCE.to_owned()),
                ("PASOKH__ROUTING_GRPC_URL", routing_internal.clone()),
                ("PASOKH__CITIZEN_REF_KEY", format!("faults-{}", uuid::Uuid::new_v4().simple())),
                // all the load comes from one address and one province
                ("PASOKH__LIMITS__PER_IP_PER_MINUTE", "100000000".to_owned()),
                ("PASOKH__LIMITS__PROVINCE_PER_SECOND", "100000".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let intake = ServiceProcess::new("intake", "pasokh-intake", env, &logs);
        let intake_link = TcpProxy::start(&format!("127.0.0.1:{}", intake.internal_grpc_port())).await;
        let intake_direct = format!("http://127.0.0.1:{}", intake.internal_grpc_port());

        routing_env.push(("PASOKH__INTAKE_GRPC_URL".into(), format!("http://{}", intake_link.address)));
        let routing = ServiceProcess::new("routing-0", "pasokh-routing", routing_env, &logs);

        let mut env = service_env(&stack, &topics, None, &databases.notification, "notification");
        short_retries(&mut env);
        env.extend(
            [
                ("PASOKH__INTAKE_GRPC_URL", intake_direct),
                ("PASOKH__ROUTING_GRPC_URL", routing_internal),
                ("PASOKH__SMS__GATEWAY_URL", sink.send_url()),
                ("PASOKH__SMS__TIMEOUT_MS", "2000".to_owned()),
                ("PASOKH__SMS__RETRY__INITIAL", "200".to_owned()),
                ("PASOKH__SMS__RETRY__MAX", "2000".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let notification = ServiceProcess::new("notification-0", "pasokh-notification", env, &logs);
        let mut env = service_env(&stack, &topics, None, &databases.reporting, "reporting");
        short_retries(&mut env);
        let reporting = ServiceProcess::new("reporting", "pasokh-reporting", env, &logs);

        let mut harness = Self {
            stack,
            topics,
            logs,
            sink,
            intake,
            routing: vec![routing],
            notification: vec![notification],
            reporting,
            intake_link,
            databases,
            numbers: Arc::new(AtomicU32::new(0)),
            filed: Vec::new(),
            lengths: Lengths::from_env(),
        };
        for service in harness.all() {
            service.migrate().await;
        }
        harness.intake.start().await;
        harness.routing[0].start().await;
        harness.notification[0].start().await;
        harness.reporting.start().await;
        harness
    }

    fn all(&mut self) -> Vec<&mut ServiceProcess> {
        let mut all = vec![&mut self.intake, &mut self.reporting];
        all.extend(self.routing.iter_mut());
        all.extend(self.notification.iter_mut());
        all
    }

    fn load(&self) -> Load {
        Load::start(format!("http://127.0.0.1:{}", self.intake.http_port), self.numbers.clone())
    }

    async fn stack_sh(&self, args: &[&str]) {
        let status =
            tokio::process::Command::new(repo_root().join("scripts/stack.sh")).args(args).status().await.unwrap();
        assert!(status.success(), "scripts/stack.sh {} failed", args.join(" "));
    }

    /// Restarts `service` with one crash point armed, waits until the load makes it abort there,
    /// and starts it again unarmed.
    async fn abort_at(service: &mut ServiceProcess, point: &str) {
        if service.is_running() {
            service.crash().await;
        }
        service.start_with(&[(pasokh_platform::crash::VARIABLE, point)]).await;
        let status = service.wait_for_crash(Duration::from_secs(120)).await;
        assert!(!status.success(), "{} exited cleanly instead of aborting at {point}", service.name);
        let log = std::fs::read_to_string(&service.log).unwrap();
        let name = point.split('@').next().unwrap();
        assert!(log.contains(&format!("crash point `{name}` reached")), "{} died, but not at {point}", service.name);
        service.start().await;
    }

    /// Runs `fault` under load, then checks and prints the invariants over everything filed so far.
    async fn scenario(&mut self, name: &str, fault: impl AsyncFnOnce(&mut Self)) {
        if let Ok(only) = std::env::var("PASOKH_FAULTS_ONLY")
            && !only.split(',').any(|o| !o.is_empty() && name.contains(o.trim()))
        {
            return;
        }
        println!("[faults] ── {name}");
        let started = Instant::now();
        let load = self.load();
        tokio::time::sleep(self.lengths.load_around).await;
        fault(self).await;
        tokio::time::sleep(self.lengths.load_around).await;
        let client = load.finish().await;
        let filed_now = client.filed.len();
        self.filed.extend(client.filed.iter().cloned());
        let report = self.check(&client).await;
        println!("[faults]    {filed_now} petitions filed in this scenario, {:.0?} in all", started.elapsed());
        for line in report {
            println!("[faults]    {line}");
        }
    }

    /// Waits until the pipeline has caught up with every petition filed, then asserts the invariants;
    /// returns them as printable lines.
    async fn check(&self, client: &ClientLog) -> Vec<String> {
        let expected = self.filed.len();
        let intake = sqlx::PgPool::connect(&self.databases.intake).await.unwrap();
        let routing = sqlx::PgPool::connect(&self.databases.routing).await.unwrap();
        let notification = sqlx::PgPool::connect(&self.databases.notification).await.unwrap();
        let reporting = sqlx::PgPool::connect(&self.databases.reporting).await.unwrap();
        let count = async |pool: &sqlx::PgPool, sql: &str| -> i64 {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or(-1)
        };
        let deadline = Instant::now() + self.lengths.settle;
        loop {
            let cases = count(&routing, "SELECT count(*) FROM cases").await;
            let rows = count(&reporting, "SELECT count(*) FROM case_facts WHERE status = 'routed'").await;
            let sent = count(&notification, "SELECT count(*) FROM deliveries WHERE status = 'sent'").await;
            let unsent = count(&notification, "SELECT count(*) FROM deliveries WHERE status <> 'sent'").await;
            let want = i64::try_from(expected).unwrap();
            if cases >= want && rows >= want && sent >= 2 * want && unsent == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the pipeline did not catch up with {expected} petitions in {:?}: {cases} cases, {rows} routed in \
                 reporting, {sent} SMS sent, {unsent} not (yet); logs in {}",
                self.lengths.settle,
                self.logs.display()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // a would-be duplicate has time to show up before anything is counted
        tokio::time::sleep(Duration::from_secs(3)).await;
        let by_id: HashMap<&str, &Filed> = self.filed.iter().map(|f| (f.petition_id.as_str(), f)).collect();
        let mut lines = Vec::new();

        // I1 every 201 is exactly one petition
        let petitions: Vec<(String, String)> =
            sqlx::query_as("SELECT id::text, tracking_code FROM petitions").fetch_all(&intake).await.unwrap();
        assert_eq!(petitions.len(), expected, "I1: {} petitions stored for {expected} answered 201", petitions.len());
        for (id, code) in &petitions {
            let filed = by_id.get(id.as_str()).unwrap_or_else(|| panic!("I1: petition {id} was never answered 201"));
            assert_eq!(&filed.tracking_code, code, "I1: petition {id} answered with another tracking code");
        }
        let failures: Vec<String> = client.failures.iter().map(|(what, n)| format!("{what} ×{n}")).collect();
        lines.push(format!(
            "I1 every 201 is one petition: {expected} answered, {} stored; this scenario's client retried {} attempt(s){}",
            petitions.len(),
            client.retried(),
            if failures.is_empty() { String::new() } else { format!(" ({})", failures.join(", ")) }
        ));

        // I2 one case, one reporting row, each expected SMS delivered once
        let cases: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT petition_id::text, status, event_sequence FROM cases")
                .fetch_all(&routing)
                .await
                .unwrap();
        assert_eq!(cases.len(), expected, "I2: {} cases for {expected} petitions", cases.len());
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT petition_id::text, status FROM case_facts").fetch_all(&reporting).await.unwrap();
        assert_eq!(rows.len(), expected, "I2: {} reporting rows for {expected} petitions", rows.len());
        for (id, _, _) in &cases {
            assert!(by_id.contains_key(id.as_str()), "I2: a case for petition {id}, which nobody filed");
        }
        let deliveries: Vec<(String, String, String)> =
            sqlx::query_as("SELECT petition_id::text, template, status FROM deliveries ORDER BY petition_id, id")
                .fetch_all(&notification)
                .await
                .unwrap();
        let mut expected_sms: HashMap<&str, Vec<&str>> = HashMap::new();
        for (id, template, status) in &deliveries {
            assert_eq!(status, "sent", "I2: petition {id}'s `{template}` SMS is {status}");
            expected_sms.entry(id.as_str()).or_default().push(template.as_str());
        }
        for filed in &self.filed {
            let templates = expected_sms.get(filed.petition_id.as_str()).cloned().unwrap_or_default();
            assert_eq!(templates.len(), 2, "I2: petition {} expects {templates:?}", filed.tracking_code);
        }
        let messages = self.sink.messages().await;
        let mut keys = HashSet::new();
        let mut per_code: HashMap<&str, usize> = HashMap::new();
        let by_code: HashMap<&str, &Filed> = self.filed.iter().map(|f| (f.tracking_code.as_str(), f)).collect();
        for message in &messages {
            assert!(keys.insert(message.key.as_str()), "I2: key {} delivered twice", message.key);
            let code = tracking_code_in(&message.text)
                .filter(|code| by_code.contains_key(code))
                .unwrap_or_else(|| panic!("I2: an SMS for no filed petition: {}", message.text));
            assert_eq!(by_code[code].mobile, message.to, "I2: petition {code}'s SMS went to another mobile");
            *per_code.entry(code).or_default() += 1;
        }
        for filed in &self.filed {
            let delivered = per_code.get(filed.tracking_code.as_str()).copied().unwrap_or(0);
            assert_eq!(delivered, 2, "I2: petition {} got {delivered} SMS, expected 2", filed.tracking_code);
        }
        let stats = self.sink.stats().await;
        lines.push(format!(
            "I2 one case, one reporting row, each SMS once: {} cases, {} rows, {} SMS delivered once each \
             for {} expected (the gateway also answered {} repeated key(s), {} refused attempt(s), {} dropped connection(s))",
            cases.len(),
            rows.len(),
            messages.len(),
            deliveries.len(),
            stats.repeats,
            stats.refused,
            stats.dropped_connections
        ));

        // I3 per-petition order on the topic is the case history
        let history: HashMap<String, Vec<String>> = {
            let lines: Vec<(String, String)> =
                sqlx::query_as("SELECT petition_id::text, to_status FROM case_history ORDER BY petition_id, id")
                    .fetch_all(&routing)
                    .await
                    .unwrap();
            let mut history: HashMap<String, Vec<String>> = HashMap::new();
            for (id, status) in lines {
                history.entry(id).or_default().push(status);
            }
            history
        };
        let records = self.stack.read_to_end(&self.topics.lifecycle).await;
        let mut on_topic: HashMap<String, Vec<(String, &'static str, u64)>> = HashMap::new();
        let mut redelivered = 0;
        for record in &records {
            let event = PetitionEvent::decode(record.payload().unwrap_or_default()).expect("I3: a lifecycle record");
            let kind = match &event.body {
                Some(Body::Submitted(_)) => "submitted",
                Some(Body::Routed(_)) => "routed",
                Some(Body::InfoProvided(_) | Body::Rated(_)) => "intake",
                Some(_) => "routing",
                None => panic!("I3: an event without a body: {}", event.event_id),
            };
            let events = on_topic.entry(event.petition_id.clone()).or_default();
            if events.iter().any(|(id, _, _)| *id == event.event_id) {
                // a relay that lost its database after Kafka's ack publishes the event again; the
                // ledgers absorb it. Its producer sends nothing newer of the petition before the
                // copy, but the other producer may have (routing answered the first copy already).
                let from_intake = |kind: &str| kind == "submitted" || kind == "intake";
                let last_of_producer = events.iter().rev().find(|e| from_intake(e.1) == from_intake(kind));
                assert_eq!(
                    last_of_producer.map(|e| e.0.as_str()),
                    Some(event.event_id.as_str()),
                    "I3: a copy after a newer event of its producer: {events:?}"
                );
                redelivered += 1;
                continue;
            }
            events.push((event.event_id, kind, event.sequence));
        }
        for (id, _, event_sequence) in &cases {
            let events = on_topic.get(id).unwrap_or_else(|| panic!("I3: petition {id} has no events"));
            assert_eq!(events.first().map(|e| e.1), Some("submitted"), "I3: petition {id} begins {events:?}");
            let from_routing: Vec<u64> =
                events.iter().filter(|e| e.1 != "submitted" && e.1 != "intake").map(|e| e.2).collect();
            let numbered: Vec<u64> = (1..=u64::try_from(*event_sequence).unwrap()).collect();
            assert_eq!(from_routing, numbered, "I3: petition {id}'s routing events on the topic, by sequence");
            // the history begins with the submission routing received, then one line per event it published
            let statuses = &history[id];
            assert_eq!(
                statuses.len(),
                1 + from_routing.len(),
                "I3: petition {id}: events {events:?}, history {statuses:?}"
            );
            assert_eq!(statuses[..2], ["submitted", "routed"], "I3: petition {id}'s history {statuses:?}");
            assert_eq!(events.get(1).map(|e| e.1), Some("routed"), "I3: petition {id}'s second event {events:?}");
        }
        lines.push(format!(
            "I3 topic order is the case history: {} petitions, {} distinct events in order ({redelivered} redelivered copies)",
            on_topic.len(),
            records.len() - redelivered
        ));

        // I4 reporting's status is routing's
        let reported: HashMap<&str, &str> = rows.iter().map(|(id, status)| (id.as_str(), status.as_str())).collect();
        for (id, status, _) in &cases {
            assert_eq!(reported.get(id.as_str()), Some(&status.as_str()), "I4: petition {id}");
        }
        lines.push(format!("I4 reporting's status is routing's: {} of {}", cases.len(), cases.len()));

        // I5 no personal data anywhere a citizen's data must not be; I6 nothing transient dead-lettered
        let mut scanned = Scanned::new(&self.filed);
        for topic in [&self.topics.lifecycle, &self.topics.delivery, &self.topics.desk] {
            for record in &records_of(&self.stack, topic, &self.topics.lifecycle, &records).await {
                scanned.record(topic, record);
            }
        }
        let mut dead_letters = 0;
        for topic in [&self.topics.lifecycle, &self.topics.delivery, &self.topics.desk] {
            let dlq = format!("{topic}.dlq");
            let letters = self.stack.read_to_end(&dlq).await;
            for letter in &letters {
                scanned.record(&dlq, letter);
            }
            dead_letters += letters.len();
        }
        for entry in std::fs::read_dir(&self.logs).unwrap() {
            let path = entry.unwrap().path();
            // the gateway's own log holds what it delivered: mobiles and texts are its business
            if path.file_name().is_some_and(|n| n == "gateway.jsonl") {
                // …and proves the search finds what it looks for
                let mut control = Scanned::new(&self.filed);
                control.bytes("the gateway's log", &std::fs::read(&path).unwrap());
                assert!(control.found.len() >= self.filed.len(), "the search missed the mobiles the gateway logged");
                continue;
            }
            let text = std::fs::read(&path).unwrap();
            scanned.bytes(&path.display().to_string(), &text);
        }
        let mut pages = 0;
        for service in [&self.intake, &self.reporting].into_iter().chain(&self.routing).chain(&self.notification) {
            if let Some(metrics) = service.metrics().await {
                scanned.bytes(&format!("{} /metrics", service.name), metrics.as_bytes());
                pages += 1;
            }
        }
        assert!(scanned.found.is_empty(), "I5: personal data found: {:?}", scanned.found);
        lines.push(format!(
            "I5 no personal data: {} topic and dead-letter records, {} kB of logs, {pages} metrics pages: none found",
            scanned.records,
            scanned.log_bytes / 1_000
        ));
        assert_eq!(dead_letters, 0, "I6: {dead_letters} record(s) dead-lettered, and every fault here is transient");
        lines.push("I6 nothing transient dead-lettered: 0 records in the dead-letter topics".to_owned());
        lines
    }
}

/// The records of `topic`: the lifecycle topic's were already read.
async fn records_of(
    stack: &Stack,
    topic: &str,
    lifecycle: &str,
    lifecycle_records: &[rdkafka::message::OwnedMessage],
) -> Vec<rdkafka::message::OwnedMessage> {
    if topic == lifecycle { lifecycle_records.to_vec() } else { stack.read_to_end(topic).await }
}

/// The first 12-digit run in an SMS: the tracking code it is about.
fn tracking_code_in(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut start = None;
    for (index, byte) in bytes.iter().enumerate().chain(std::iter::once((bytes.len(), &b' '))) {
        match (byte.is_ascii_digit(), start) {
            (true, None) => start = Some(index),
            (false, Some(from)) if index - from == 12 => return Some(&text[from..index]),
            (false, Some(_)) => start = None,
            _ => {}
        }
    }
    None
}

/// A search for the filed citizens' national ids, mobiles and text markers in bytes.
struct Scanned {
    national_ids: HashSet<String>,
    /// the last ten digits, however the number was written (09…, 989…, +989…)
    mobiles: HashSet<String>,
    markers: HashSet<String>,
    found: Vec<String>,
    records: usize,
    log_bytes: usize,
}

impl Scanned {
    fn new(filed: &[Filed]) -> Self {
        Self {
            national_ids: filed.iter().map(|f| f.national_id.clone()).collect(),
            mobiles: filed.iter().map(|f| f.mobile[f.mobile.len() - 10..].to_owned()).collect(),
            markers: filed.iter().map(|f| f.marker.clone()).collect(),
            found: Vec::new(),
            records: 0,
            log_bytes: 0,
        }
    }

    fn record(&mut self, topic: &str, record: &rdkafka::message::OwnedMessage) {
        self.records += 1;
        let place = format!("{topic}@{}/{}", record.partition(), record.offset());
        self.look(&place, record.key().unwrap_or_default());
        self.look(&place, record.payload().unwrap_or_default());
        if let Some(headers) = record.headers() {
            for header in headers.iter() {
                self.look(&place, header.value.unwrap_or_default());
            }
        }
    }

    fn bytes(&mut self, place: &str, bytes: &[u8]) {
        self.log_bytes += bytes.len();
        self.look(place, bytes);
    }

    fn look(&mut self, place: &str, bytes: &[u8]) {
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index].is_ascii_digit() {
                let start = index;
                while index < bytes.len() && bytes[index].is_ascii_digit() {
                    index += 1;
                }
                let run = &bytes[start..index];
                let text = std::str::from_utf8(run).unwrap_or_default();
                if run.len() == 10 && self.national_ids.contains(text) {
                    self.found.push(format!("national id in {place}"));
                }
                if (10..=12).contains(&run.len()) && self.mobiles.contains(&text[text.len() - 10..]) {
                    self.found.push(format!("mobile in {place}"));
                }
                continue;
            }
            if bytes[index..].starts_with(b"zq") && index + 10 <= bytes.len() {
                let candidate = std::str::from_utf8(&bytes[index..index + 10]).unwrap_or_default();
                if self.markers.contains(candidate) {
                    self.found.push(format!("petition text in {place}"));
                }
            }
            index += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the fault matrix restarts PostgreSQL and Kafka: run alone by `make test-faults`"]
async fn the_pipeline_keeps_every_invariant_through_the_fault_matrix() {
    let mut h = Harness::start().await;
    let lengths = Lengths::from_env();

    h.scenario("no fault (baseline)", async |_| {}).await;

    // processes dying at their named moments
    h.scenario("intake aborted before its commit", async |h| {
        Harness::abort_at(&mut h.intake, "intake.before_commit@10").await;
    })
    .await;
    h.scenario("intake aborted after its commit, before the reply", async |h| {
        Harness::abort_at(&mut h.intake, "intake.after_commit@10").await;
    })
    .await;
    h.scenario("intake aborted after Kafka acked its outbox, before the rows were deleted", async |h| {
        Harness::abort_at(&mut h.intake, "relay.after_publish@5").await;
    })
    .await;
    h.scenario("routing aborted before its consumer commit", async |h| {
        Harness::abort_at(&mut h.routing[0], "consumer.before_commit@5").await;
    })
    .await;
    h.scenario("routing aborted after its commit, before the offsets", async |h| {
        Harness::abort_at(&mut h.routing[0], "consumer.after_commit@5").await;
    })
    .await;
    h.scenario("notification aborted after the gateway accepted, before the ledger knew", async |h| {
        Harness::abort_at(&mut h.notification[0], "sms.after_gateway_accepted@10").await;
    })
    .await;
    h.scenario("notification aborted after its commit, before the offsets", async |h| {
        Harness::abort_at(&mut h.notification[0], "consumer.after_commit@5").await;
    })
    .await;
    h.scenario("reporting aborted after its commit, before the offsets", async |h| {
        Harness::abort_at(&mut h.reporting, "consumer.after_commit@5").await;
    })
    .await;

    // the data stores
    h.scenario("PostgreSQL restarted", async |h| h.stack_sh(&["pg-restart"]).await).await;
    let pause = lengths.pg_pause.as_secs().to_string();
    h.scenario(&format!("PostgreSQL frozen for {pause} s"), async |h| h.stack_sh(&["pg-pause", &pause]).await).await;
    h.scenario("Kafka restarted mid-batch", async |h| {
        h.stack_sh(&["kafka-down"]).await;
        h.stack_sh(&["kafka-up"]).await;
    })
    .await;
    let stop = lengths.kafka_stop;
    h.scenario(&format!("Kafka stopped for {} s", stop.as_secs()), async |h| {
        h.stack_sh(&["kafka-down"]).await;
        tokio::time::sleep(stop).await;
        h.stack_sh(&["kafka-up"]).await;
    })
    .await;

    // the SMS gateway
    let slow = lengths.sms_slow;
    h.scenario(&format!("the gateway slower than the client's timeout for {} s", slow.as_secs()), async |h| {
        h.sink.control(json!({"delay_ms": 3000})).await;
        tokio::time::sleep(slow).await;
        h.sink.control(json!({"delay_ms": 0})).await;
    })
    .await;
    let failing = lengths.sms_failing;
    h.scenario(&format!("the gateway failing with 500 for {} s", failing.as_secs()), async |h| {
        let ms = u64::try_from(failing.as_millis()).unwrap();
        h.sink.control(json!({"fail_status": 500, "fail_for_ms": ms})).await;
        tokio::time::sleep(failing).await;
    })
    .await;
    let down = lengths.sms_down;
    h.scenario(&format!("the gateway down for {} s", down.as_secs()), async |h| {
        let ms = u64::try_from(down.as_millis()).unwrap();
        h.sink.control(json!({"down_for_ms": ms})).await;
        tokio::time::sleep(down).await;
    })
    .await;

    // the network between services
    let cut = lengths.intake_unreachable;
    h.scenario(&format!("intake unreachable for routing for {} s", cut.as_secs()), async |h| {
        h.intake_link.cut();
        tokio::time::sleep(cut).await;
        h.intake_link.restore();
    })
    .await;

    // replicas: two more of routing and of notification join under load, then one of each is killed
    h.scenario("three replicas of routing and notification, one of each killed during a rebalance", async |h| {
        for n in 1..3 {
            let routing = replica(&h.routing[0], &format!("routing-{n}"), &h.logs);
            h.routing.push(routing);
            let notification = replica(&h.notification[0], &format!("notification-{n}"), &h.logs);
            h.notification.push(notification);
        }
        for service in h.routing.iter_mut().chain(h.notification.iter_mut()).filter(|s| !s.is_running()) {
            service.start().await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        h.routing[2].crash().await;
        h.notification[1].crash().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        h.routing[2].start().await;
    })
    .await;

    println!("[faults] {} petitions through every scenario, every invariant held", h.filed.len());
}

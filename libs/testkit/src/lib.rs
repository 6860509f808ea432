//! Helpers for tests that run against the real local stack (`make stack-up`):
//! every test gets its own database and its own topics, so tests run in
//! parallel and never see each other's data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use pasokh_events::KafkaSettings;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use serde::Deserialize;
use sqlx::{Connection, Executor, PgConnection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

pub mod intake;
pub mod process;

/// Where the local stack listens; the same variables `scripts/stack.sh` reads.
#[derive(Debug, Clone)]
pub struct Stack {
    pub pg_port: u16,
    pub kafka: String,
}

impl Stack {
    pub fn from_env() -> Self {
        init_test_logging();
        let port = |name: &str, default: u16| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        Self {
            pg_port: port("PASOKH_PG_PORT", 55432),
            kafka: format!("127.0.0.1:{}", port("PASOKH_KAFKA_PORT", 19092)),
        }
    }

    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://pasokh:pasokh@127.0.0.1:{}/{database}", self.pg_port)
    }

    /// Creates an empty database `pasokh_test_<label>_<random>` and returns its URL.
    pub async fn fresh_database(&self, label: &str) -> String {
        let name = format!("pasokh_test_{label}_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&self.database_url("postgres"))
            .await
            .expect("the local stack's PostgreSQL is not reachable: run `make stack-up`");
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        self.database_url(&name)
    }

    /// Creates unique lifecycle and delivery topics (with `.dlq` companions) for one test.
    pub async fn fresh_topics(&self, label: &str) -> Topics {
        let suffix = Uuid::new_v4().simple().to_string();
        let topics = Topics {
            lifecycle: format!("test.{label}.{suffix}.lifecycle"),
            delivery: format!("test.{label}.{suffix}.delivery"),
            desk: format!("test.{label}.{suffix}.desk"),
        };
        let names = [
            (topics.lifecycle.clone(), 6),
            (format!("{}.dlq", topics.lifecycle), 1),
            (topics.delivery.clone(), 3),
            (format!("{}.dlq", topics.delivery), 1),
            (topics.desk.clone(), 3),
            (format!("{}.dlq", topics.desk), 1),
        ];
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &self.kafka).create().unwrap();
        let new_topics: Vec<NewTopic<'_>> =
            names.iter().map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1))).collect();
        let results = admin
            .create_topics(&new_topics, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))))
            .await
            .expect("the local stack's Kafka is not reachable: run `make stack-up`");
        for result in results {
            result.expect("topic creation failed");
        }
        topics
    }

    pub fn kafka_settings(&self, topics: &Topics, group: &str) -> KafkaSettings {
        KafkaSettings {
            bootstrap_servers: self.kafka.clone(),
            lifecycle_topic: topics.lifecycle.clone(),
            delivery_topic: topics.delivery.clone(),
            desk_topic: topics.desk.clone(),
            consumer_group: format!("{group}-{}", Uuid::new_v4().simple()),
            properties: Default::default(),
            secret_properties: Default::default(),
            // retries short enough that a test's outage outlasts them
            consumer: pasokh_events::settings::ConsumerSettings {
                retry: pasokh_platform::retry::Backoff::new(Duration::from_millis(50), Duration::from_secs(1)),
                ..Default::default()
            },
        }
    }

    /// Reads `topic` from the beginning until `expected` records arrived or `timeout` passed.
    pub async fn read_topic(&self, topic: &str, expected: usize, timeout: Duration) -> Vec<OwnedMessage> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.kafka)
            .set("group.id", format!("reader-{}", Uuid::new_v4().simple()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let mut records = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while records.len() < expected {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Ok(Ok(message)) => records.push(message.detach()),
                Ok(Err(error)) => panic!("reading {topic}: {error}"),
                Err(_) => break,
            }
        }
        records
    }
}

#[derive(Debug, Clone)]
pub struct Topics {
    pub lifecycle: String,
    pub delivery: String,
    pub desk: String,
}

impl Stack {
    /// Publishes a record as a service's outbox relay would (CloudEvents headers, protobuf value).
    pub async fn publish(&self, message: &pasokh_events::outbox::OutboxMessage) {
        self.publish_raw(&message.topic, &message.key, &message.headers, &message.payload).await;
    }

    /// The offset a consumer group has committed for one partition (`None` before its first commit).
    pub async fn committed_offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        use rdkafka::consumer::BaseConsumer;
        use rdkafka::{Offset, TopicPartitionList};
        let (kafka, group, topic) = (self.kafka.clone(), group.to_owned(), topic.to_owned());
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer =
                ClientConfig::new().set("bootstrap.servers", &kafka).set("group.id", &group).create().unwrap();
            let mut wanted = TopicPartitionList::new();
            wanted.add_partition(&topic, partition);
            let committed = consumer.committed_offsets(wanted, Duration::from_secs(5)).ok()?;
            match committed.find_partition(&topic, partition)?.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            }
        })
        .await
        .unwrap()
    }

    /// Every record of `topic` from its first offset to its end as of now, partition by partition
    /// in offset order (partition 0 first).
    pub async fn read_to_end(&self, topic: &str) -> Vec<OwnedMessage> {
        use rdkafka::consumer::BaseConsumer;
        use rdkafka::{Offset, TopicPartitionList};
        let (kafka, topic) = (self.kafka.clone(), topic.to_owned());
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &kafka)
                .set("group.id", format!("reader-{}", Uuid::new_v4().simple()))
                .set("enable.auto.commit", "false")
                .create()
                .unwrap();
            let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).unwrap();
            let partitions: Vec<i32> =
                metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
            let mut records = Vec::new();
            for partition in partitions {
                let (low, high) = consumer.fetch_watermarks(&topic, partition, Duration::from_secs(10)).unwrap();
                if high <= low {
                    continue;
                }
                let mut assignment = TopicPartitionList::new();
                assignment.add_partition_offset(&topic, partition, Offset::Offset(low)).unwrap();
                consumer.assign(&assignment).unwrap();
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                let mut next = low;
                while next < high {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "reading {topic}/{partition}: stuck at {next} of {high}"
                    );
                    match consumer.poll(Duration::from_millis(500)) {
                        Some(Ok(message)) => {
                            next = message.offset() + 1;
                            records.push(message.detach());
                        }
                        Some(Err(error)) => panic!("reading {topic}/{partition}: {error}"),
                        None => {}
                    }
                }
            }
            records
        })
        .await
        .unwrap()
    }

    /// Publishes arbitrary bytes and headers, e.g. a poison record.
    pub async fn publish_raw(
        &self,
        topic: &str,
        key: &str,
        headers: &std::collections::BTreeMap<String, String>,
        payload: &[u8],
    ) {
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", &self.kafka).create().unwrap();
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(pasokh_events::cloudevents::to_kafka_headers(headers));
        producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
    }
}

/// Key of a record as UTF-8.
pub fn record_key(record: &OwnedMessage) -> String {
    String::from_utf8_lossy(record.key().unwrap_or_default()).into_owned()
}

/// A port that was free a moment ago, for services started as separate processes.
///
/// Drawn below Linux's ephemeral range (32768–60999): a port the kernel hands
/// out for port 0 can be taken by any outgoing connection before the service
/// binds it, one below that range cannot.
pub fn free_port() -> u16 {
    loop {
        let port = 20_000 + (Uuid::new_v4().as_u128() % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `check` every 200 ms until it yields `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The local identity provider (Keycloak, started by `scripts/stack.sh`) and its realm `pasokh`
/// (`stack/keycloak/pasokh-realm.json`): demo staff sign in with the password grant, services and
/// partners get client-credentials tokens for one audience at a time.
#[derive(Debug, Clone)]
pub struct Provider {
    pub base_url: String,
    pub issuer: String,
    http: reqwest::Client,
}

/// Every demo user's password in the local realm.
pub const DEMO_PASSWORD: &str = "pasokh-demo";

impl Provider {
    pub fn from_env() -> Self {
        let port = std::env::var("PASOKH_KEYCLOAK_PORT").ok().and_then(|v| v.parse().ok()).unwrap_or(18180u16);
        Self::at(&format!("http://127.0.0.1:{port}"), "pasokh")
    }

    pub fn at(base_url: &str, realm: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            issuer: format!("{base_url}/realms/{realm}"),
            http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap(),
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer)
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<String, String> {
        let response = self.http.post(self.token_url()).form(form).send().await.map_err(|e| {
            format!("the identity provider at {} is not reachable (run `make stack-up`): {e}", self.issuer)
        })?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        match body["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => Err(format!("{status}: {body}")),
        }
    }

    /// A demo user's access token (password grant on the `pasokhctl` client).
    pub async fn staff_token(&self, user: &str) -> String {
        self.token(&[
            ("grant_type", "password"),
            ("client_id", "pasokhctl"),
            ("username", user),
            ("password", DEMO_PASSWORD),
            ("scope", "openid"),
        ])
        .await
        .unwrap_or_else(|e| panic!("signing in as {user}: {e}"))
    }

    /// A client-credentials token of `client` (secret `dev-secret-<client>`) for `audience`.
    pub async fn client_token(&self, client: &str, audience: &str) -> String {
        self.try_client_token(client, audience)
            .await
            .unwrap_or_else(|e| panic!("token of {client} for {audience}: {e}"))
    }

    pub async fn try_client_token(&self, client: &str, audience: &str) -> Result<String, String> {
        let secret = format!("dev-secret-{client}");
        let scope = format!("aud-{audience}");
        self.token(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", &secret),
            ("scope", &scope),
        ])
        .await
    }

    /// Auth settings of a service with audience `audience` whose own client is `client` (when it calls others).
    pub fn auth_settings(&self, audience: &str, client: Option<&str>) -> pasokh_platform::auth::AuthSettings {
        let mut settings = pasokh_platform::auth::AuthSettings::for_audience(audience);
        settings.issuer = self.issuer.clone();
        settings.leeway_secs = 0;
        settings.jwks_min_refresh_secs = 1;
        if let Some(client) = client {
            settings.client.id = client.to_owned();
            settings.client.secret = pasokh_platform::config::Secret::new(format!("dev-secret-{client}"));
        }
        settings
    }

    /// An admin token of the local Keycloak's master realm (bootstrap admin `admin`/`admin`).
    pub async fn admin_token(&self) -> String {
        let response = self
            .http
            .post(format!("{}/realms/master/protocol/openid-connect/token", self.base_url))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", "admin"),
            ])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().expect("keycloak admin token").to_owned()
    }

    /// Calls Keycloak's admin REST API: `method` `path` (below `/admin`) with an optional JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let token = self.admin_token().await;
        let mut request = self.http.request(method, format!("{}/admin{path}", self.base_url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

/// A gRPC request carrying `authorization: Bearer <token>`.
pub fn with_bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Test output stays quiet unless `TEST_LOG=1`.
pub fn init_test_logging() {
    if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
        let _ = tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init();
    }
}

/// The repository root (for scripts the tests start).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Where the workspace's built binaries are: `PASOKH_BIN_DIR`, else next to the running test
/// (`target/<profile>/deps/<test>-<hash>` → `target/<profile>`). `make test` builds them first.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PASOKH_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().and_then(|deps| deps.parent()).map(PathBuf::from).unwrap_or_default()
}

/// The SMS-gateway sink (`pasokh-sms-sink`) in its own process, on a free port.
pub struct SmsSink {
    child: Child,
    port: u16,
    log: Option<PathBuf>,
    pub base_url: String,
}

/// A message the sink delivered (once per idempotency key).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Sms {
    pub message_id: String,
    pub to: String,
    pub text: String,
    /// the idempotency key it came with
    #[serde(default)]
    pub key: String,
    /// arrival, Unix microseconds
    #[serde(default)]
    pub received_at_us: i64,
    /// how often the same key came again (answered with the original result, not delivered)
    #[serde(default)]
    pub repeats: u64,
}

/// The sink's counters.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct SmsStats {
    pub delivered: u64,
    pub repeats: u64,
    pub refused: u64,
    pub dropped_connections: u64,
}

impl SmsSink {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// On a given port: a test can point a service at a gateway that is not up yet.
    pub async fn start_on(port: u16) -> Self {
        Self::spawn(port, None, None).await
    }

    /// With a log file it reloads on restart (keys stay honoured) and, optionally, a required token.
    pub async fn start_with(port: u16, log: Option<PathBuf>, token: Option<&str>) -> Self {
        Self::spawn(port, log, token).await
    }

    async fn spawn(port: u16, log: Option<PathBuf>, token: Option<&str>) -> Self {
        let binary = bin_dir().join("pasokh-sms-sink");
        assert!(binary.exists(), "{} is missing: run `cargo build --workspace --bins` first", binary.display());
        let mut command = Command::new(&binary);
        command.args(["--port", &port.to_string()]);
        if let Some(log) = &log {
            command.arg("--log").arg(log);
        }
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true).spawn().expect("sms sink");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await;
        assert!(matches!(first, Ok(Ok(Some(ref l))) if l.contains("listening")), "sms sink did not start: {first:?}");
        // keep draining its output so it never blocks on a full pipe
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, port, log, base_url: format!("http://127.0.0.1:{port}") }
    }

    pub fn send_url(&self) -> String {
        format!("{}/send", self.base_url)
    }

    pub async fn messages(&self) -> Vec<Sms> {
        reqwest::get(format!("{}/messages", self.base_url)).await.unwrap().json().await.unwrap()
    }

    pub async fn stats(&self) -> SmsStats {
        reqwest::get(format!("{}/stats", self.base_url)).await.unwrap().json().await.unwrap()
    }

    /// Sets the sink's faults: `{"delay_ms", "fail_status", "fail_for_ms", "down_for_ms"}`.
    pub async fn control(&self, faults: serde_json::Value) {
        let response =
            reqwest::Client::new().post(format!("{}/control", self.base_url)).json(&faults).send().await.unwrap();
        assert!(response.status().is_success(), "sink refused {faults}: {}", response.status());
    }

    /// SIGKILL, then the same port and log again (what it answered survives, as at a real gateway).
    pub async fn restart(self) -> Self {
        let (port, log) = (self.port, self.log.clone());
        self.stop().await;
        Self::spawn(port, log, None).await
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }
}

/// A service running inside the test process (migrated, built on port 0, serving).
pub struct RunningService {
    pub http: String,
    pub grpc: String,
    /// the internal gRPC listener, for services that have one
    pub internal_grpc: Option<String>,
    token: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Migrates, builds and runs `S` the way its `main` would, minus signals and telemetry.
pub async fn start_service<S: pasokh_platform::service::Service + 'static>(settings: &S::Settings) -> RunningService {
    S::migrate(settings).await.expect("migrate");
    let service = S::build(settings).await.expect("build");
    let addresses = service.addresses();
    let token = tokio_util::sync::CancellationToken::new();
    let run = service.run(token.clone());
    let task = tokio::spawn(async move { run.await.expect("service failed while running") });
    RunningService {
        http: format!("http://{}", addresses.http.expect("http listener")),
        grpc: format!("http://{}", addresses.grpc.expect("grpc listener")),
        internal_grpc: addresses.internal_grpc.map(|a| format!("http://{a}")),
        token,
        task,
    }
}

impl RunningService {
    /// Cancels like SIGTERM would and waits for the service to drain.
    pub async fn stop(self) {
        self.token.cancel();
        self.task.await.unwrap();
    }
}

/// A valid national id for test citizen number `n` (the check digit computed as the Civil Registry does),
/// so tests can file as many different citizens as they need.
pub fn national_id(n: u32) -> String {
    pasokh_domain::NationalId::synthetic(n).as_str().to_owned()
}

/// A TCP forwarder in front of a real server, whose link can be cut and restored: a network fault
/// between a service and its dependency, with the real dependency behind it. Cutting also breaks the
/// connections already open, as a failed link does.
pub struct TcpProxy {
    pub address: String,
    open: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Forwards connections to `target` (`host:port`) from a free local port.
    pub async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (open, gate) = tokio::sync::watch::channel(true);
        let target = target.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if !*gate.borrow() {
                    drop(inbound); // refused: the link is cut
                    continue;
                }
                let (target, mut gate) = (target.clone(), gate.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = gate.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        Self { address, open, task }
    }

    /// Breaks open connections and drops new ones until [`Self::restore`].
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The callers an internal RPC must refuse, and the one it must admit: each presents the token
/// named here to the service whose audience is `callee` (`pasokh-intake` or `pasokh-routing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// no `authorization` at all
    Anonymous,
    /// a provider token that expired (the test service tolerates no clock skew)
    Expired,
    /// a provider token of an allow-listed service, for the other service's audience
    OtherAudience,
    /// a development token (HS256), for the right audience
    Hs256,
    /// a provider token for the right audience, of a client nobody allow-listed
    NotAllowListed,
    /// notification's provider token for the callee: admitted
    AllowListed,
}

impl Caller {
    /// The token this caller presents to `callee`. The service under test must allow-list
    /// `pasokh-test-short-lived` too, so an expired token is refused for its expiry alone.
    pub async fn token(self, callee: &str) -> Option<String> {
        let provider = Provider::from_env();
        let other = if callee == "pasokh-intake" { "pasokh-routing" } else { "pasokh-intake" };
        match self {
            Caller::Anonymous => None,
            Caller::Expired => {
                let token = provider.client_token("pasokh-test-short-lived", callee).await;
                // the local realm gives this client one-second tokens
                tokio::time::sleep(Duration::from_millis(2100)).await;
                Some(token)
            }
            Caller::OtherAudience => Some(provider.client_token("pasokh-notification", other).await),
            Caller::Hs256 => {
                let claims = pasokh_platform::auth::dev::claims("pasokh-notification", "", "", "", &[], callee, 600);
                Some(pasokh_platform::auth::dev::mint(&claims, pasokh_platform::auth::DEV_KEY))
            }
            Caller::NotAllowListed => Some(provider.client_token("partner-unlisted", callee).await),
            Caller::AllowListed => Some(provider.client_token("pasokh-notification", callee).await),
        }
    }

    /// `message` as this caller sends it to `callee`.
    pub async fn request<T>(self, message: T, callee: &str) -> tonic::Request<T> {
        match self.token(callee).await {
            Some(token) => with_bearer(message, &token),
            None => tonic::Request::new(message),
        }
    }
}

/// Asserts the call was refused with `code` and a message that says `reason`.
pub fn assert_refused(outcome: Result<(), tonic::Status>, code: tonic::Code, reason: &str) {
    let status = outcome.expect_err("the call must be refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(reason), "{:?} should say {reason:?}", status.message());
}

/// One test per refused caller, and one for the admitted one, of the internal RPC `$rpc`: an
/// `async fn $rpc(caller: Caller) -> Result<(), tonic::Status>` in scope that makes the call.
#[macro_export]
macro_rules! internal_rpc_refusals {
    ($rpc:ident) => {
        mod $rpc {
            use tonic::Code;
            use $crate::{Caller, assert_refused};

            #[tokio::test(flavor = "multi_thread")]
            async fn without_a_token_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::Anonymous).await, Code::Unauthenticated, "no bearer token");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn with_an_expired_token_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::Expired).await, Code::Unauthenticated, "expired");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn with_a_token_for_another_audience_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::OtherAudience).await, Code::Unauthenticated, "another audience");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn with_an_hs256_token_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::Hs256).await, Code::Unauthenticated, "HS256");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn from_a_client_not_on_the_allow_list_is_permission_denied() {
                assert_refused(super::$rpc(Caller::NotAllowListed).await, Code::PermissionDenied, "partner-unlisted");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn from_an_allow_listed_service_is_answered() {
                super::$rpc(Caller::AllowListed).await.unwrap();
            }
        }
    };
}

/// Runs `start` on a runtime of its own thread and returns what it yields, leaving what it started
/// (services, sinks) serving until the test binary exits: one service shared by many tests, each of
/// which has its own runtime.
pub fn serve_in_background<T, F, Fut>(start: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            sender.send(start().await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().expect("the background service did not start")
}

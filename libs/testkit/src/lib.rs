//! Helpers for tests that run against the real local stack (`make stack-up`):
//! every test gets its own database and its own topics, so tests run in
//! parallel and never see each other's data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::message::{Message, OwnedMessage};
use uuid::Uuid;

pub mod intake;
pub mod process;
mod provider;
mod refusals;
mod sms;
mod stack;

pub use provider::{DEMO_PASSWORD, Provider};
pub use refusals::{Caller, assert_refused, serve_in_background};
pub use sms::{Sms, SmsSink, SmsStats};
pub use stack::{Stack, Topics};

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

//! The SMS sink: the fake gateway at the one edge Pasokh does not own, run as a separate process
//! that speaks the gateway's HTTP protocol and records what it was sent.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{bin_dir, free_port};

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

//! A built service binary as its own process, as the end-to-end and fault tests drive it:
//! migrate, serve until ready, SIGKILL, SIGTERM, restart with the same ports and log.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::{Provider, Stack, Topics, bin_dir, free_port};

pub struct ServiceProcess {
    pub name: String,
    binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub http_port: u16,
    pub log: PathBuf,
    child: Option<Child>,
}

impl ServiceProcess {
    /// `binary` from [`bin_dir`], with its log at `<logs>/<name>.log` and a fresh HTTP port.
    pub fn new(name: &str, binary: &str, env: Vec<(String, String)>, logs: &Path) -> Self {
        let binary = bin_dir().join(binary);
        assert!(
            binary.exists(),
            "{} is missing: run `cargo build --workspace --bins` (make test does)",
            binary.display()
        );
        let http_port = free_port();
        let mut env = env;
        env.push(("PASOKH__LISTEN__HTTP_PORT".into(), http_port.to_string()));
        Self { name: name.into(), binary, env, http_port, log: logs.join(format!("{name}.log")), child: None }
    }

    /// The value of one of its settings, as given in its environment.
    pub fn setting(&self, variable: &str) -> Option<&str> {
        self.env.iter().rev().find(|(k, _)| k == variable).map(|(_, v)| v.as_str())
    }

    fn port(&self, variable: &str) -> u16 {
        self.setting(variable).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{}: no {variable}", self.name))
    }

    pub fn grpc_port(&self) -> u16 {
        self.port("PASOKH__LISTEN__GRPC_PORT")
    }

    /// The listener of the internal RPCs, which only Pasokh's own services call.
    pub fn internal_grpc_port(&self) -> u16 {
        self.port("PASOKH__LISTEN__INTERNAL_GRPC_PORT")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    fn command(&self, subcommand: &str, extra: &[(&str, &str)]) -> Command {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut command = Command::new(&self.binary);
        command
            .arg(subcommand)
            .envs(self.env.iter().cloned())
            .envs(extra.iter().map(|(k, v)| (*k, *v)))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        command
    }

    pub async fn migrate(&self) {
        let status = self.command("migrate", &[]).status().await.unwrap();
        assert!(status.success(), "{} migrate failed; see {}", self.name, self.log.display());
    }

    /// Serves and waits until `/readyz` says ready.
    pub async fn start(&mut self) {
        self.start_with(&[]).await;
    }

    /// Serves with `extra` environment for this run only (a crash point, say) and waits until it is
    /// ready, or has already died (an armed crash point may be reached first).
    pub async fn start_with(&mut self, extra: &[(&str, &str)]) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let mut child = self.command("serve", extra).spawn().unwrap();
        let url = self.url("/readyz");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} not ready in 60 s; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.child = Some(child);
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Waits for the process to die by itself (a crash point); panics if it is still up at `timeout`.
    pub async fn wait_for_crash(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => {
                panic!("{} did not reach its crash point within {timeout:?}; see {}", self.name, self.log.display())
            }
        }
    }

    /// SIGKILL: no drain, no flush, no offset commit.
    pub async fn crash(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().await.unwrap();
    }

    /// SIGTERM and wait: the service must drain and exit 0.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = child.id().unwrap().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        tokio::time::timeout(Duration::from_secs(40), child.wait()).await.expect("exit after SIGTERM").unwrap()
    }

    /// Its Prometheus text, or `None` while it is down.
    pub async fn metrics(&self) -> Option<String> {
        reqwest::get(self.url("/metrics")).await.ok()?.text().await.ok()
    }
}

/// What every service process needs: its database, the topics, fresh ports, the provider's issuer
/// and its own client there (`pasokh-<group>`, secret `dev-secret-pasokh-<group>` in the local
/// realm), a fresh consumer group, and traces to `otlp` when given.
pub fn service_env(
    stack: &Stack,
    topics: &Topics,
    otlp: Option<&str>,
    database: &str,
    group: &str,
) -> Vec<(String, String)> {
    let provider = Provider::from_env();
    let mut env: Vec<(String, String)> = vec![
        ("PASOKH__AUTH__ISSUER".into(), provider.issuer),
        ("PASOKH__AUTH__CLIENT__ID".into(), format!("pasokh-{group}")),
        ("PASOKH__AUTH__CLIENT__SECRET".into(), format!("dev-secret-pasokh-{group}")),
        ("PASOKH__LISTEN__INTERNAL_GRPC_PORT".into(), free_port().to_string()),
        ("PASOKH__DATABASE__URL".into(), database.into()),
        ("PASOKH__KAFKA__BOOTSTRAP_SERVERS".into(), stack.kafka.clone()),
        ("PASOKH__KAFKA__LIFECYCLE_TOPIC".into(), topics.lifecycle.clone()),
        ("PASOKH__KAFKA__DELIVERY_TOPIC".into(), topics.delivery.clone()),
        ("PASOKH__KAFKA__DESK_TOPIC".into(), topics.desk.clone()),
        ("PASOKH__KAFKA__CONSUMER_GROUP".into(), format!("{group}-{}", uuid::Uuid::new_v4().simple())),
        ("PASOKH__LISTEN__GRPC_PORT".into(), free_port().to_string()),
        ("PASOKH__SHUTDOWN_DRAIN_SECS".into(), "10".into()),
        ("PASOKH__TELEMETRY__LOG_FILTER".into(), "info".into()),
    ];
    if let Some(otlp) = otlp {
        env.push(("PASOKH__TELEMETRY__OTLP_ENDPOINT".into(), otlp.to_owned()));
    }
    env
}

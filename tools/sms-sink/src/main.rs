//! A local stand-in for the SMS gateway, in its own process: it speaks the gateway's HTTP
//! protocol and behaves as real gateways do where Pasokh's guarantees depend on it.
//!
//! - `POST /send` `{message_id, to, text}` with `Idempotency-Key` (else `message_id`) → 200
//!   `{"status": "queued", "id": N}`. A repeated key is answered with the original result and
//!   counted as a repeat, never delivered twice. With `--token`, `Authorization: Bearer <token>`
//!   is required (401 otherwise).
//! - `GET /messages`: every delivered message, in arrival order, with its key, the arrival time
//!   (`received_at_us`, Unix microseconds) and how often it was repeated.
//! - `GET /stats`: `{delivered, repeats, refused, dropped_connections}`.
//! - `POST /control` `{"delay_ms", "fail_status", "fail_for_ms", "down_for_ms"}`: answer slowly
//!   (after recording, so a client that times out cannot tell whether it was taken), refuse
//!   with a status for a while without recording, or be down for a while (new connections
//!   are closed at once; requests on open ones get 503 and `Connection: close`). Zero clears.
//! - `GET /healthz`: 200 (also while "down": the tests' own probe).
//!
//! `--log FILE` appends each delivered message as a JSON line and reads the file back at
//! start, so a sink restarted on the same port still knows every key it has answered.
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Delivered {
    id: u64,
    key: String,
    message_id: String,
    to: String,
    text: String,
    received_at_us: i64,
    #[serde(default)]
    repeats: u64,
}

#[derive(Default)]
struct Faults {
    delay: Duration,
    fail_status: Option<StatusCode>,
    fail_until: Option<Instant>,
    down_until: Option<Instant>,
}

impl Faults {
    fn down(&self) -> bool {
        self.down_until.is_some_and(|until| Instant::now() < until)
    }

    fn failing(&self) -> Option<StatusCode> {
        self.fail_status.filter(|_| self.fail_until.is_some_and(|until| Instant::now() < until))
    }
}

#[derive(Default)]
struct Sink {
    delivered: Vec<Delivered>,
    by_key: HashMap<String, usize>,
    repeats: u64,
    refused: u64,
    dropped_connections: u64,
    faults: Faults,
    log: Option<std::fs::File>,
}

type Shared = Arc<Mutex<Sink>>;

fn lock(sink: &Shared) -> std::sync::MutexGuard<'_, Sink> {
    sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[derive(Deserialize)]
struct SendRequest {
    #[serde(default)]
    message_id: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    text: String,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

async fn send(
    State((sink, token)): State<(Shared, Option<String>)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let delay = {
        let mut sink = lock(&sink);
        if sink.faults.down() {
            sink.dropped_connections += 1;
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::CONNECTION, "close")], "down").into_response();
        }
        if let Some(status) = sink.faults.failing() {
            sink.refused += 1;
            return answer(status, json!({"error": "failing on purpose"}));
        }
        sink.faults.delay
    };
    if let Some(token) = &token {
        let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if presented != Some(format!("Bearer {token}").as_str()) {
            lock(&sink).refused += 1;
            return answer(StatusCode::UNAUTHORIZED, json!({"error": "missing or wrong credential"}));
        }
    }
    let Ok(request) = serde_json::from_slice::<SendRequest>(&body) else {
        return answer(StatusCode::BAD_REQUEST, json!({"error": "body is not JSON"}));
    };
    let missing: Vec<&str> = [("message_id", &request.message_id), ("to", &request.to), ("text", &request.text)]
        .into_iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k)
        .collect();
    if !missing.is_empty() {
        return answer(StatusCode::BAD_REQUEST, json!({"error": format!("missing {}", missing.join(", "))}));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request.message_id.clone(), str::to_owned);
    let id = {
        let mut sink = lock(&sink);
        let sink = &mut *sink;
        if let Some(index) = sink.by_key.get(&key).copied() {
            sink.repeats += 1;
            sink.delivered[index].repeats += 1;
            sink.delivered[index].id
        } else {
            let id = sink.delivered.len() as u64 + 1;
            let delivered = Delivered {
                id,
                key: key.clone(),
                message_id: request.message_id,
                to: request.to,
                text: request.text,
                received_at_us: now_us(),
                repeats: 0,
            };
            if let Some(log) = sink.log.as_mut()
                && let Ok(line) = serde_json::to_string(&delivered)
            {
                let _ = writeln!(log, "{line}");
            }
            sink.by_key.insert(key, sink.delivered.len());
            sink.delivered.push(delivered);
            id
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    answer(StatusCode::OK, json!({"status": "queued", "id": id}))
}

async fn messages(State((sink, _)): State<(Shared, Option<String>)>) -> Response {
    let sink = lock(&sink);
    Json(&sink.delivered).into_response()
}

async fn stats(State((sink, _)): State<(Shared, Option<String>)>) -> Response {
    let sink = lock(&sink);
    Json(json!({
        "delivered": sink.delivered.len(),
        "repeats": sink.repeats,
        "refused": sink.refused,
        "dropped_connections": sink.dropped_connections,
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Control {
    delay_ms: Option<u64>,
    fail_status: Option<u16>,
    fail_for_ms: Option<u64>,
    down_for_ms: Option<u64>,
}

async fn control(State((sink, _)): State<(Shared, Option<String>)>, Json(control): Json<Control>) -> Response {
    let mut sink = lock(&sink);
    let now = Instant::now();
    if let Some(ms) = control.delay_ms {
        sink.faults.delay = Duration::from_millis(ms);
    }
    if let Some(status) = control.fail_status {
        match StatusCode::from_u16(status) {
            Ok(status) => sink.faults.fail_status = Some(status),
            Err(_) => return answer(StatusCode::BAD_REQUEST, json!({"error": "fail_status is not an HTTP status"})),
        }
    }
    if let Some(ms) = control.fail_for_ms {
        sink.faults.fail_until = Some(now + Duration::from_millis(ms));
    }
    if let Some(ms) = control.down_for_ms {
        sink.faults.down_until = Some(now + Duration::from_millis(ms));
    }
    println!(
        "[sms-sink] control: delay {:?}, failing {:?}, down {}",
        sink.faults.delay,
        sink.faults.failing(),
        sink.faults.down()
    );
    answer(StatusCode::OK, json!({"status": "ok"}))
}

/// Closes new connections at once while the sink is "down", as an unreachable gateway would.
struct FlakyListener {
    inner: tokio::net::TcpListener,
    sink: Shared,
}

impl axum::serve::Listener for FlakyListener {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, address)) => {
                    let mut sink = lock(&self.sink);
                    if sink.faults.down() {
                        sink.dropped_connections += 1;
                        drop(stream);
                        continue;
                    }
                    return (stream, address);
                }
                Err(error) => {
                    eprintln!("[sms-sink] accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

struct Options {
    host: String,
    port: u16,
    log: Option<String>,
    token: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options { host: "127.0.0.1".into(), port: 8089, log: None, token: None };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--host" => options.host = value,
            "--port" => options.port = value.parse().map_err(|_| format!("bad --port `{value}`"))?,
            "--log" => options.log = Some(value).filter(|v| !v.is_empty()),
            "--token" => options.token = Some(value).filter(|v| !v.is_empty()),
            other => {
                return Err(format!(
                    "unknown flag `{other}`\nusage: pasokh-sms-sink [--host 127.0.0.1] [--port 8089] [--log FILE] [--token SECRET]"
                ));
            }
        }
    }
    Ok(options)
}

/// The messages a previous run delivered, so their keys are still honoured.
fn reload(path: &str, sink: &mut Sink) {
    let Ok(text) = std::fs::read_to_string(path) else { return };
    for line in text.lines() {
        if let Ok(delivered) = serde_json::from_str::<Delivered>(line) {
            sink.by_key.insert(delivered.key.clone(), sink.delivered.len());
            sink.delivered.push(delivered);
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut sink = Sink::default();
    if let Some(path) = &options.log {
        reload(path, &mut sink);
        match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(file) => sink.log = Some(file),
            Err(error) => {
                eprintln!("[sms-sink] cannot open {path}: {error}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let known = sink.delivered.len();
    let sink: Shared = Arc::new(Mutex::new(sink));
    let listener = match tokio::net::TcpListener::bind((options.host.as_str(), options.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("[sms-sink] cannot listen on {}:{}: {error}", options.host, options.port);
            return std::process::ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map_or(options.port, |a| a.port());
    let app = Router::new()
        .route("/send", post(send))
        .route("/messages", get(messages))
        .route("/stats", get(stats))
        .route("/control", post(control))
        .route("/healthz", get(|| async { Json(json!({"status": "alive"})) }))
        .with_state((sink.clone(), options.token));
    println!("[sms-sink] listening on http://{}:{port} ({known} messages known from the log)", options.host);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = axum::serve(FlakyListener { inner: listener, sink }, app).with_graceful_shutdown(shutdown).await
    {
        eprintln!("[sms-sink] stopped: {error}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

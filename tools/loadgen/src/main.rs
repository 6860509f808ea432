//! Drives `POST /v1/petitions` and prints JSON figures.
//!
//! 1. Closed loop at each concurrency level: N clients each send the next
//!    request when the previous one is answered; accepted petitions per second
//!    at the highest level is the saturation rate.
//! 2. Open loop at half that rate: requests are sent on a fixed schedule, and
//!    latency is measured from when a request *should* have been sent, so a
//!    stalled server cannot hide its queueing (no coordinated omission).
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Intake's saturation (closed loop) and its latency at half that rate (open loop).
#[derive(Debug, clap::Parser)]
#[command(name = "pasokh-loadgen")]
struct Options {
    /// e.g. http://127.0.0.1:8081/v1/petitions
    #[arg(long)]
    url: String,
    /// the closed loop's client counts; the last gives the saturation rate
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    levels: Vec<usize>,
    /// seconds per closed-loop level
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 10)]
    open_loop_seconds: u64,
}

/// A distinct, valid petition per request (distinct mobiles keep per-mobile limits out of the way).
fn petition(n: u64) -> Value {
    const CATEGORIES: [&str; 4] = ["pension-payment", "unpaid-wages", "medical-coverage", "bank-loan"];
    json!({
        "national_id": "0499370899",
        "mobile": format!("091{:08}", n % 100_000_000),
        "category": CATEGORIES[(n % 4) as usize],
        "kind": "complaint",
        "channel": "web",
        "text": format!("درخواست آزمایشی شماره {n} برای سنجش ظرفیت میز خدمت"),
    })
}

#[derive(Default)]
struct Outcome {
    accepted: u64,
    failed: u64,
    latencies_ms: Vec<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(outcome: &mut Outcome, elapsed: Duration) -> Value {
    outcome.latencies_ms.sort_by(f64::total_cmp);
    json!({
        "accepted": outcome.accepted,
        "failed": outcome.failed,
        "seconds": elapsed.as_secs_f64(),
        "accepted_per_s": outcome.accepted as f64 / elapsed.as_secs_f64(),
        "p50_ms": percentile(&outcome.latencies_ms, 50.0),
        "p99_ms": percentile(&outcome.latencies_ms, 99.0),
    })
}

async fn send(client: &reqwest::Client, url: &str, n: u64) -> bool {
    match client.post(url).json(&petition(n)).send().await {
        Ok(response) => response.status().as_u16() == 201,
        Err(_) => false,
    }
}

async fn closed_loop(
    client: &reqwest::Client,
    url: &str,
    clients: usize,
    seconds: u64,
    counter: &Arc<AtomicU64>,
) -> Value {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, url, counter) = (client.clone(), url.to_owned(), counter.clone());
        workers.spawn(async move {
            let mut outcome = Outcome::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let ok = send(&client, &url, counter.fetch_add(1, Ordering::Relaxed)).await;
                outcome.latencies_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                if ok { outcome.accepted += 1 } else { outcome.failed += 1 }
            }
            outcome
        });
    }
    let mut total = Outcome::default();
    for outcome in workers.join_all().await {
        total.accepted += outcome.accepted;
        total.failed += outcome.failed;
        total.latencies_ms.extend(outcome.latencies_ms);
    }
    let mut result = summary(&mut total, started.elapsed());
    result["concurrency"] = json!(clients);
    result
}

async fn open_loop(client: &reqwest::Client, url: &str, rate: f64, seconds: u64, counter: &Arc<AtomicU64>) -> Value {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let started = tokio::time::Instant::now();
    // the wall clock of second 0, so a bench script can lay each second beside what the machine did
    let started_unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let total = (rate * seconds as f64) as u64;
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..total {
        let intended = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(intended).await;
        let (client, url, counter) = (client.clone(), url.to_owned(), counter.clone());
        let second = (intended - started).as_secs() as usize;
        requests.spawn(async move {
            let ok = send(&client, &url, counter.fetch_add(1, Ordering::Relaxed)).await;
            (ok, second, intended.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut outcome = Outcome::default();
    // where a tail comes from shows in *when* it happened: each second's own percentiles
    let mut by_second: Vec<Vec<f64>> = vec![Vec::new(); seconds as usize + 1];
    for (ok, second, latency) in requests.join_all().await {
        outcome.latencies_ms.push(latency);
        if let Some(bucket) = by_second.get_mut(second) {
            bucket.push(latency);
        }
        if ok { outcome.accepted += 1 } else { outcome.failed += 1 }
    }
    let mut result = summary(&mut outcome, started.elapsed());
    result["target_rate_per_s"] = json!(rate);
    result["started_unix_ms"] = json!(started_unix_ms);
    result["by_second"] = by_second
        .iter_mut()
        .enumerate()
        .filter(|(_, latencies)| !latencies.is_empty())
        .map(|(second, latencies)| {
            latencies.sort_by(f64::total_cmp);
            json!({
                "second": second,
                "sent": latencies.len(),
                "p50_ms": percentile(latencies, 50.0),
                "p99_ms": percentile(latencies, 99.0),
                "max_ms": latencies.last().copied().unwrap_or(0.0),
            })
        })
        .collect();
    result
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // a usage error prints clap's help and exits 2
    let options = <Options as clap::Parser>::parse();
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build().unwrap_or_default();
    let counter = Arc::new(AtomicU64::new(0));
    let mut levels = Vec::new();
    for level in &options.levels {
        eprintln!("[loadgen] closed loop, {level} clients, {} s", options.seconds);
        let result = closed_loop(&client, &options.url, *level, options.seconds, &counter).await;
        eprintln!("[loadgen]   {result}");
        levels.push(result);
    }
    let saturation = levels.iter().filter_map(|l| l["accepted_per_s"].as_f64()).fold(0.0, f64::max);
    eprintln!("[loadgen] open loop at half of {saturation:.0}/s, {} s", options.open_loop_seconds);
    let half = open_loop(&client, &options.url, saturation / 2.0, options.open_loop_seconds, &counter).await;
    eprintln!("[loadgen]   {half}");
    let accepted_total: u64 = levels.iter().chain(std::iter::once(&half)).filter_map(|l| l["accepted"].as_u64()).sum();
    println!(
        "{}",
        json!({"closed_loop": levels, "saturation_per_s": saturation, "half_rate": half, "accepted_total": accepted_total})
    );
    std::process::ExitCode::SUCCESS
}

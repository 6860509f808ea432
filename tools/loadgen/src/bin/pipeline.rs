//! `make bench-pipeline`'s load generator: petitions filed over intake's HTTP API, timed to the
//! citizen's SMS at the gateway (the local sink stamps every arrival).
//!
//! 1. Saturation: `--concurrency` clients file as fast as intake answers for
//!    `--saturation-seconds`; intake's rate is what it accepted per second. The pipeline then
//!    drains that backlog, and its sustained rate is the number of petitions over the time from
//!    the first filing to the last "routed" SMS.
//! 2. Fixed rates (`--rates 100,500,1000`, `--rate-seconds` each): latency from a petition's
//!    *intended* send time (open loop, so a stalled system cannot hide its queueing) to its first
//!    SMS (the tracking code) and to its "routed" SMS, p50 and p99. Each rate drains before the next.
//! 3. Soak (`--soak-seconds`, at `--soak-rate`): the services' resident memory every 10 s.
//!
//! Every petition is a different citizen (national id and mobile), so none is merged as a
//! duplicate and each calls for exactly two SMS. Prints one JSON document.
//!
//! Long by choice: a benchmark's whole procedure (saturation, fixed rates, the latency join with
//! the sink's log, the JSON written) in the order it runs, so the numbers in docs/benchmarks.md can
//! be traced to the lines that made them.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pasokh_domain::NationalId;
use serde_json::{Value, json};

/// `make bench-pipeline`'s load: saturation, fixed rates, an optional soak.
#[derive(Debug, clap::Parser)]
#[command(name = "pasokh-pipeline-bench")]
struct Options {
    /// intake's base URL, e.g. http://127.0.0.1:8081
    #[arg(long)]
    intake: String,
    /// the SMS sink's base URL, e.g. http://127.0.0.1:8089
    #[arg(long)]
    sms: String,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    saturation_seconds: u64,
    /// petitions per second, one phase each
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000")]
    rates: Vec<f64>,
    #[arg(long, default_value_t = 20)]
    rate_seconds: u64,
    /// seconds to wait for the pipeline to drain a phase's backlog
    #[arg(long, default_value_t = 900)]
    drain_timeout: u64,
    /// 0: no soak
    #[arg(long, default_value_t = 0)]
    soak_seconds: u64,
    #[arg(long, default_value_t = 500.0)]
    soak_rate: f64,
    /// where the run's logs are, for the figures that come from them
    #[arg(long, default_value = "")]
    run_dir: String,
}

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

fn say(message: impl std::fmt::Display) {
    eprintln!("[bench-pipeline] {message}");
}

fn mobile(n: u64) -> String {
    format!("091{:08}", n % 100_000_000)
}

fn petition(n: u64) -> Value {
    const CATEGORIES: [&str; 4] = ["pension-payment", "unpaid-wages", "medical-coverage", "bank-loan"];
    json!({
        "national_id": NationalId::synthetic(n as u32).as_str(),
        "mobile": mobile(n),
        "category": CATEGORIES[(n % 4) as usize],
        "kind": "complaint",
        "channel": "web",
        "text": format!("درخواست آزمایشی شماره {n} برای سنجش زمان رسیدن پیامک به شهروند"),
    })
}

/// A petition intake accepted: whose it is and when it was meant to be sent (Unix µs).
#[derive(Clone)]
struct Filed {
    mobile: String,
    intended_us: i64,
}

struct Bench {
    client: reqwest::Client,
    petitions_url: String,
    sms: String,
    counter: AtomicU64,
    /// SMS the sink had delivered before the current phase
    delivered_before: AtomicU64,
}

impl Bench {
    async fn file(&self, n: u64) -> bool {
        match self.client.post(&self.petitions_url).json(&petition(n)).send().await {
            Ok(response) => response.status().as_u16() == 201,
            Err(_) => false,
        }
    }

    async fn delivered(&self) -> u64 {
        let stats: Value = match self.client.get(format!("{}/stats", self.sms)).send().await {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        stats["delivered"].as_u64().unwrap_or(0)
    }

    /// Waits until the sink delivered two SMS per petition filed so far; returns when the last
    /// arrived (Unix µs) and whether everything did.
    async fn drain(&self, expected_total: u64, timeout: Duration) -> bool {
        let started = Instant::now();
        let mut last_report = Instant::now();
        loop {
            let delivered = self.delivered().await;
            if delivered >= expected_total {
                return true;
            }
            if started.elapsed() > timeout {
                say(format!("drain timed out: {delivered} of {expected_total} SMS"));
                return false;
            }
            if last_report.elapsed() >= Duration::from_secs(5) {
                last_report = Instant::now();
                say(format!("draining: {delivered} of {expected_total} SMS at the gateway"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Arrival times per mobile since `since_us`, in order (Unix µs), with the texts' kinds.
    async fn arrivals(&self, since_us: i64) -> HashMap<String, Vec<(i64, bool)>> {
        let messages: Vec<Value> = match self.client.get(format!("{}/messages", self.sms)).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let mut by_mobile: HashMap<String, Vec<(i64, bool)>> = HashMap::new();
        for message in messages {
            let to = message["to"].as_str().unwrap_or_default().to_owned();
            let at = message["received_at_us"].as_i64().unwrap_or(0);
            if at < since_us {
                continue;
            }
            let routed = message["text"].as_str().is_some_and(|t| t.contains("ارجاع شد"));
            by_mobile.entry(to).or_default().push((at, routed));
        }
        for arrivals in by_mobile.values_mut() {
            arrivals.sort_by_key(|a| a.0);
        }
        by_mobile
    }

    async fn closed_loop(self: &Arc<Self>, clients: usize, seconds: u64) -> (Vec<Filed>, u64, Duration) {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let bench = self.clone();
            workers.spawn(async move {
                let (mut filed, mut failed) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let n = bench.counter.fetch_add(1, Ordering::Relaxed);
                    let sent = now_us();
                    if bench.file(n).await {
                        filed.push(Filed { mobile: mobile(n), intended_us: sent });
                    } else {
                        failed += 1;
                    }
                }
                (filed, failed)
            });
        }
        let (mut filed, mut failed) = (Vec::new(), 0);
        for (f, x) in workers.join_all().await {
            filed.extend(f);
            failed += x;
        }
        (filed, failed, started.elapsed())
    }

    async fn open_loop(self: &Arc<Self>, rate: f64, seconds: u64) -> (Vec<Filed>, u64, Vec<f64>) {
        let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
        let started = tokio::time::Instant::now();
        let started_us = now_us();
        let total = (rate * seconds as f64) as u64;
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..total {
            let offset = interval.mul_f64(i as f64);
            tokio::time::sleep_until(started + offset).await;
            let bench = self.clone();
            let intended_us = started_us + offset.as_micros() as i64;
            requests.spawn(async move {
                let n = bench.counter.fetch_add(1, Ordering::Relaxed);
                let ok = bench.file(n).await;
                let answered_ms = (now_us() - intended_us) as f64 / 1000.0;
                (ok.then(|| Filed { mobile: mobile(n), intended_us }), answered_ms)
            });
        }
        let (mut filed, mut failed, mut answered) = (Vec::new(), 0, Vec::new());
        for (f, ms) in requests.join_all().await {
            answered.push(ms);
            match f {
                Some(f) => filed.push(f),
                None => failed += 1,
            }
        }
        (filed, failed, answered)
    }
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Latencies (ms) from intended send to first and routed SMS, and what was missing or out of order.
fn latencies(filed: &[Filed], arrivals: &HashMap<String, Vec<(i64, bool)>>) -> Value {
    let (mut first, mut routed) = (Vec::new(), Vec::new());
    let (mut missing, mut not_routed_second, mut extra) = (0u64, 0u64, 0u64);
    let mut last_routed_us = 0i64;
    for petition in filed {
        let Some(messages) = arrivals.get(&petition.mobile) else {
            missing += 1;
            continue;
        };
        extra += messages.len().saturating_sub(2) as u64;
        first.push((messages[0].0 - petition.intended_us) as f64 / 1000.0);
        match messages.get(1) {
            Some((at, true)) => {
                routed.push((*at - petition.intended_us) as f64 / 1000.0);
                last_routed_us = last_routed_us.max(*at);
            }
            Some(_) => not_routed_second += 1,
            None => missing += 1,
        }
    }
    json!({
        "petitions": filed.len(),
        "first_sms_p50_ms": percentile(&mut first, 50.0),
        "first_sms_p99_ms": percentile(&mut first, 99.0),
        "routed_sms_p50_ms": percentile(&mut routed, 50.0),
        "routed_sms_p99_ms": percentile(&mut routed, 99.0),
        "routed_sms_max_ms": percentile(&mut routed, 100.0),
        "sms_missing": missing,
        "second_sms_not_routed": not_routed_second,
        "sms_beyond_two": extra,
        "last_routed_us": last_routed_us,
    })
}

/// Resident memory (KiB) of the run's processes, by binary name.
fn memory(run_dir: &str) -> Value {
    let mut found = serde_json::Map::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Value::Object(found) };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(cmdline) = std::fs::read(path.join("cmdline")) else { continue };
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let Some(binary) = args.first().and_then(|a| a.rsplit('/').next()).map(str::to_owned) else { continue };
        if !binary.starts_with("pasokh-") || binary == "pasokh-pipeline-bench" {
            continue;
        }
        if !run_dir.is_empty() && !args.iter().any(|a| a.contains(run_dir)) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(path.join("status")) else { continue };
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        let name = match args.iter().position(|a| a == "--config") {
            Some(i) => args
                .get(i + 1)
                .and_then(|c| c.rsplit('/').next())
                .unwrap_or(&binary)
                .trim_end_matches(".toml")
                .to_owned(),
            None => binary,
        };
        found.insert(format!("{name}#{}", entry.file_name().to_string_lossy()), json!(rss));
    }
    Value::Object(found)
}

async fn run(options: Options) -> Result<Value, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(2048)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let bench = Arc::new(Bench {
        client,
        petitions_url: format!("{}/v1/petitions", options.intake.trim_end_matches('/')),
        sms: options.sms.trim_end_matches('/').to_owned(),
        counter: AtomicU64::new(0),
        delivered_before: AtomicU64::new(0),
    });
    bench.delivered_before.store(bench.delivered().await, Ordering::Relaxed);
    let drain_timeout = Duration::from_secs(options.drain_timeout);
    let mut accepted_total: u64 = 0;
    let base = bench.delivered_before.load(Ordering::Relaxed);

    say(format!("saturation: {} clients for {} s", options.concurrency, options.saturation_seconds));
    let (filed, failed, elapsed) = bench.closed_loop(options.concurrency, options.saturation_seconds).await;
    let intake_per_s = filed.len() as f64 / elapsed.as_secs_f64();
    accepted_total += filed.len() as u64;
    say(format!("intake accepted {} ({intake_per_s:.0}/s, {failed} refused); draining the pipeline", filed.len()));
    let drained = bench.drain(base + 2 * accepted_total, drain_timeout).await;
    let first_us = filed.iter().map(|f| f.intended_us).min().unwrap_or(0);
    let saturation = latencies(&filed, &bench.arrivals(first_us).await);
    let last_routed_us = saturation["last_routed_us"].as_i64().unwrap_or(first_us);
    let pipeline_seconds = (last_routed_us - first_us) as f64 / 1e6;
    let pipeline_per_s = if pipeline_seconds > 0.0 { filed.len() as f64 / pipeline_seconds } else { 0.0 };
    say(format!(
        "pipeline: {} petitions to their routed SMS in {pipeline_seconds:.1} s = {pipeline_per_s:.0}/s",
        filed.len()
    ));

    let mut at_rates = Vec::new();
    for rate in &options.rates {
        say(format!("fixed rate {rate}/s for {} s", options.rate_seconds));
        let (filed, failed, mut answered) = bench.open_loop(*rate, options.rate_seconds).await;
        accepted_total += filed.len() as u64;
        let drained = bench.drain(base + 2 * accepted_total, drain_timeout).await;
        let since = filed.iter().map(|f| f.intended_us).min().unwrap_or(0);
        let mut result = latencies(&filed, &bench.arrivals(since).await);
        result["rate_per_s"] = json!(rate);
        result["refused"] = json!(failed);
        result["drained"] = json!(drained);
        result["intake_answer_p99_ms"] = json!(percentile(&mut answered, 99.0));
        say(format!("  {rate}/s: {result}"));
        at_rates.push(result);
    }

    let mut soak = Value::Null;
    if options.soak_seconds > 0 {
        say(format!("soak: {}/s for {} s, memory every 10 s", options.soak_rate, options.soak_seconds));
        let mut samples = vec![json!({"at_s": 0, "rss_kib": memory(&options.run_dir)})];
        let started = Instant::now();
        let sampler = {
            let run_dir = options.run_dir.clone();
            let seconds = options.soak_seconds;
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut next = 10;
                while next <= seconds {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(started + Duration::from_secs(next))).await;
                    samples.push(json!({"at_s": next, "rss_kib": memory(&run_dir)}));
                    next += 10;
                }
                samples
            })
        };
        let (filed, failed, _) = bench.open_loop(options.soak_rate, options.soak_seconds).await;
        samples.extend(sampler.await.unwrap_or_default());
        accepted_total += filed.len() as u64;
        let drained = bench.drain(base + 2 * accepted_total, drain_timeout).await;
        let since = filed.iter().map(|f| f.intended_us).min().unwrap_or(0);
        let mut result = latencies(&filed, &bench.arrivals(since).await);
        result["rate_per_s"] = json!(options.soak_rate);
        result["seconds"] = json!(options.soak_seconds);
        result["refused"] = json!(failed);
        result["drained"] = json!(drained);
        result["memory"] = json!(samples);
        soak = result;
    }

    let at = |rate: f64, key: &str| {
        at_rates.iter().find(|r| r["rate_per_s"].as_f64() == Some(rate)).and_then(|r| r[key].as_f64())
    };
    Ok(json!({
        "intake_per_s": intake_per_s,
        "pipeline_per_s": pipeline_per_s,
        "ratio_to_intake": if intake_per_s > 0.0 { pipeline_per_s / intake_per_s } else { 0.0 },
        "routed_sms_p99_ms_at_500": at(500.0, "routed_sms_p99_ms"),
        "first_sms_p99_ms_at_500": at(500.0, "first_sms_p99_ms"),
        "saturation": {
            "clients": options.concurrency,
            "seconds": elapsed.as_secs_f64(),
            "accepted": filed.len(),
            "refused": failed,
            "drained": drained,
            "pipeline_seconds": pipeline_seconds,
            "sms": saturation,
        },
        "at_rates": at_rates,
        "soak": soak,
        "accepted_total": accepted_total,
    }))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // a usage error prints clap's help and exits 2
    let options = <Options as clap::Parser>::parse();
    match run(options).await {
        Ok(result) => {
            println!("{result}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            say(format!("failed: {error}"));
            std::process::ExitCode::FAILURE
        }
    }
}

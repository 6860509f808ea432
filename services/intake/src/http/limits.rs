//! Abuse and overload protection for the public endpoints: per-client-IP,
//! per-mobile and per-deployment (province) rate limits, a bound on requests
//! in flight, and a request timeout. Limits are in memory per replica: an HPA
//! that adds replicas raises the province limit with them, which is what an
//! event needs.
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use pasokh_platform::error_code::ErrorCode;
use pasokh_platform::problem::Problem;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Requests per minute from one client IP to the public API
    pub per_ip_per_minute: u32,
    /// Petitions filed per hour with one mobile number
    pub petitions_per_mobile_per_hour: u32,
    /// Status lookups, replies and ratings per hour for one mobile number
    pub lookups_per_mobile_per_hour: u32,
    /// Status lookups, replies and ratings per hour for one tracking code, whatever mobile is tried:
    /// bounds guessing the mobile of a code seen on a topic or a receipt
    pub lookups_per_tracking_code_per_hour: u32,
    /// Requests per second this deployment (province) accepts on the public API
    pub province_per_second: u32,
    /// Requests processed at once; more are refused with 503 instead of queueing
    pub max_in_flight: usize,
    pub request_timeout_ms: u64,
    pub body_limit_bytes: usize,
    /// Behind a trusted ingress: take the client address from the right-most `X-Forwarded-For` entry,
    /// the one the ingress itself added (entries to its left are whatever the client sent)
    pub trust_forwarded_for: bool,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 120,
            petitions_per_mobile_per_hour: 10,
            lookups_per_mobile_per_hour: 60,
            lookups_per_tracking_code_per_hour: 30,
            province_per_second: 500,
            max_in_flight: 512,
            request_timeout_ms: 10_000,
            body_limit_bytes: 64 * 1024,
            trust_forwarded_for: false,
        }
    }
}

/// `count` requests per `window` for each key, in bursts of up to `count`: `governor`'s keyed
/// GCRA, with its table of keys swept as it grows (a key whose budget is full again is as good
/// as absent, and one per mobile number would otherwise be kept forever).
pub(crate) struct RateLimiter {
    cells: DefaultKeyedRateLimiter<String>,
    /// the number of keys at which fully replenished ones are swept out next
    sweep_above: AtomicUsize,
    sweep_floor: usize,
    sweeps: AtomicU64,
}

/// Fewest keys held before the first sweep of expired ones.
const SWEEP_FLOOR: usize = 100_000;

impl RateLimiter {
    pub(crate) fn new(count: u32, window: Duration) -> Self {
        Self::with_sweep_floor(count, window, SWEEP_FLOOR)
    }

    fn with_sweep_floor(count: u32, window: Duration, sweep_floor: usize) -> Self {
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        // one cell every window / count, up to count at once
        let quota = Quota::with_period(window / count.get()).unwrap_or_else(|| Quota::per_second(count));
        Self {
            cells: governor::RateLimiter::keyed(quota.allow_burst(count)),
            sweep_above: AtomicUsize::new(sweep_floor),
            sweep_floor,
            sweeps: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `key` is over its limit.
    pub(crate) fn check(&self, key: &str) -> Result<(), Duration> {
        if self.cells.len() > self.sweep_above.load(Ordering::Relaxed) {
            self.cells.retain_recent();
            // Keys still live stay; the next sweep waits until as many again have come. A sweep at
            // a fixed size scanned every key on every request once that many were live (100,000
            // mobiles within one hour's interval of 6 minutes: 280 petitions/s).
            self.sweep_above.store(self.sweep_floor.max(2 * self.cells.len()), Ordering::Relaxed);
            self.sweeps.fetch_add(1, Ordering::Relaxed);
        }
        self.cells.check_key(&key.to_owned()).map_err(|not_until| not_until.wait_time_from(self.cells.clock().now()))
    }
}

pub(crate) struct Limits {
    pub settings: LimitSettings,
    per_ip: RateLimiter,
    pub petitions_per_mobile: RateLimiter,
    pub lookups_per_mobile: RateLimiter,
    pub lookups_per_tracking_code: RateLimiter,
    province: RateLimiter,
    in_flight: Arc<Semaphore>,
}

impl Limits {
    pub(crate) fn new(settings: LimitSettings) -> Self {
        Self {
            per_ip: RateLimiter::new(settings.per_ip_per_minute, Duration::from_secs(60)),
            petitions_per_mobile: RateLimiter::new(settings.petitions_per_mobile_per_hour, Duration::from_secs(3600)),
            lookups_per_mobile: RateLimiter::new(settings.lookups_per_mobile_per_hour, Duration::from_secs(3600)),
            lookups_per_tracking_code: RateLimiter::new(
                settings.lookups_per_tracking_code_per_hour,
                Duration::from_secs(3600),
            ),
            province: RateLimiter::new(settings.province_per_second, Duration::from_secs(1)),
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            settings,
        }
    }

    /// The key the per-client limit counts: the client's address (the right-most forwarded hop behind a
    /// trusted ingress, else the peer), IPv6 aggregated per /64 — one subscriber's whole prefix, which a
    /// client can rotate through freely.
    fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
        let forwarded = self
            .settings
            .trust_forwarded_for
            .then(|| {
                let header = headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
                header.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
            })
            .flatten();
        forwarded.or_else(|| peer.map(|p| p.ip())).map_or_else(|| "unknown".to_owned(), client_key)
    }

    /// Applies the per-tracking-code and per-mobile limits of a citizen's look-up, reply or rating.
    pub(crate) fn check_citizen_lookup(&self, tracking_code: &str, mobile: &str) -> Result<(), crate::Error> {
        self.lookups_per_tracking_code
            .check(tracking_code)
            .map_err(|wait| crate::Error::RateLimited(wait, "too many requests for this tracking code"))?;
        self.lookups_per_mobile
            .check(mobile)
            .map_err(|wait| crate::Error::RateLimited(wait, "too many requests for this mobile"))
    }
}

fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// 429 with `Retry-After` (whole seconds, at least 1) and a problem body.
pub(crate) fn too_many(wait: Duration, what: &str) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = Problem::of(ErrorCode::RateLimited)
        .with_detail(format!("{what}; retry in {} s", seconds.max(1)))
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn shed(detail: &str) -> Response {
    let mut response = Problem::of(ErrorCode::Overloaded).with_detail(detail.to_owned()).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Middleware on the public API: IP and province rate limits, in-flight bound, timeout.
pub(crate) async fn protect(State(limits): State<Arc<Limits>>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = limits.client_ip(request.headers(), peer);
    if let Err(wait) = limits.per_ip.check(&ip) {
        return too_many(wait, "too many requests from this address");
    }
    if let Err(wait) = limits.province.check("province") {
        return too_many(wait, "this province's intake is at its configured rate");
    }
    let Ok(_permit) = limits.in_flight.clone().try_acquire_owned() else {
        return shed("too many requests in flight");
    };
    let timeout = Duration::from_millis(limits.settings.request_timeout_ms);
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?timeout, "request timed out");
            Problem::of(ErrorCode::Timeout)
                .with_detail("if it was a petition, retry with the same Idempotency-Key: it is filed at most once")
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_one_interval() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limiter.check("b").is_ok(), "keys are independent");
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a plain test thread: no runtime to block
    fn keys_still_limited_are_swept_rarely_and_expired_ones_still_go() {
        let limiter = RateLimiter::with_sweep_floor(1, Duration::from_secs(3600), 1_000);
        for n in 0..8_000 {
            assert!(limiter.check(&format!("mobile-{n}")).is_ok());
        }
        assert_eq!(limiter.cells.len(), 8_000, "every key is still within its hour");
        // a sweep at each size doubling (1,000 → 2,002 → 4,006), not one per request past 1,000
        let sweeps = limiter.sweeps.load(Ordering::Relaxed);
        assert!((1..=3).contains(&sweeps), "{sweeps} sweeps");

        let brief = RateLimiter::with_sweep_floor(1, Duration::from_millis(20), 1_000);
        for n in 0..1_001 {
            assert!(brief.check(&format!("mobile-{n}")).is_ok());
        }
        // governor forgets a key one interval after its budget is full again: 2 × 20 ms here
        std::thread::sleep(Duration::from_millis(50));
        assert!(brief.check("one-more").is_ok());
        assert_eq!(brief.cells.len(), 1, "expired keys are swept out");
    }

    #[test]
    fn the_client_is_the_right_most_forwarded_hop_and_ipv6_counts_per_64() {
        let limits = Limits::new(LimitSettings { trust_forwarded_for: true, ..LimitSettings::default() });
        let peer: SocketAddr = "10.0.0.9:443".parse().unwrap();
        let mut headers = HeaderMap::new();
        // the client wrote the first entry itself; the ingress appended the address it saw
        headers.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4, 203.0.113.7"));
        assert_eq!(limits.client_ip(&headers, Some(peer)), "203.0.113.7");
        headers.insert("x-forwarded-for", HeaderValue::from_static("2001:db8:1:2:aaaa::1"));
        let one = limits.client_ip(&headers, Some(peer));
        headers.insert("x-forwarded-for", HeaderValue::from_static("2001:db8:1:2:bbbb:cccc::9"));
        assert_eq!(limits.client_ip(&headers, Some(peer)), one, "one /64 is one client");
        assert_eq!(one, "2001:db8:1:2::/64");
        headers.insert("x-forwarded-for", HeaderValue::from_static("::ffff:198.51.100.1"));
        assert_eq!(limits.client_ip(&headers, Some(peer)), "198.51.100.1");
        let untrusted = Limits::new(LimitSettings::default());
        assert_eq!(untrusted.client_ip(&headers, Some(peer)), "10.0.0.9", "forwarded headers ignored unless trusted");
    }

    #[test]
    fn a_tracking_code_gets_its_own_budget_whatever_mobile_is_tried() {
        let limits = Limits::new(LimitSettings { lookups_per_tracking_code_per_hour: 2, ..LimitSettings::default() });
        assert!(limits.check_citizen_lookup("231234567890", "09120000001").is_ok());
        assert!(limits.check_citizen_lookup("231234567890", "09120000002").is_ok());
        assert!(limits.check_citizen_lookup("231234567890", "09120000003").is_err(), "a third mobile for one code");
        assert!(limits.check_citizen_lookup("239999999999", "09120000003").is_ok(), "another code");
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let response = too_many(Duration::from_millis(1500), "x");
        assert_eq!(response.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}

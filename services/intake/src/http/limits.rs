//! Abuse and overload protection for the public endpoints: per-client-IP,
//! per-mobile and per-deployment (province) rate limits, a bound on requests
//! in flight, and a request timeout. Limits are in memory per replica: an HPA
//! that adds replicas raises the province limit with them, which is what an
//! event needs.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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
    /// Status lookups per hour for one mobile number
    pub lookups_per_mobile_per_hour: u32,
    /// Requests per second this deployment (province) accepts on the public API
    pub province_per_second: u32,
    /// Requests processed at once; more are refused with 503 instead of queueing
    pub max_in_flight: usize,
    pub request_timeout_ms: u64,
    pub body_limit_bytes: usize,
    /// Take the client IP from the first `X-Forwarded-For` entry (behind a trusted ingress only)
    pub trust_forwarded_for: bool,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 120,
            petitions_per_mobile_per_hour: 10,
            lookups_per_mobile_per_hour: 60,
            province_per_second: 500,
            max_in_flight: 512,
            request_timeout_ms: 10_000,
            body_limit_bytes: 64 * 1024,
            trust_forwarded_for: false,
        }
    }
}

/// Generic cell rate algorithm: `count` requests per `window`, in bursts of up to `count`.
pub(crate) struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    next_allowed: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    pub(crate) fn new(count: u32, window: Duration) -> Self {
        let count = count.max(1);
        let interval = window / count;
        Self { interval, tolerance: interval * (count - 1), next_allowed: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` when `key` is over its limit.
    pub(crate) fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut cells = self.next_allowed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cells.len() > 100_000 {
            cells.retain(|_, at| *at > now);
        }
        let theoretical = cells.get(key).copied().unwrap_or(now).max(now);
        let ahead = theoretical - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        cells.insert(key.to_owned(), theoretical + self.interval);
        Ok(())
    }
}

pub(crate) struct Limits {
    pub settings: LimitSettings,
    per_ip: RateLimiter,
    pub petitions_per_mobile: RateLimiter,
    pub lookups_per_mobile: RateLimiter,
    province: RateLimiter,
    in_flight: Arc<Semaphore>,
}

impl Limits {
    pub(crate) fn new(settings: LimitSettings) -> Self {
        Self {
            per_ip: RateLimiter::new(settings.per_ip_per_minute, Duration::from_secs(60)),
            petitions_per_mobile: RateLimiter::new(settings.petitions_per_mobile_per_hour, Duration::from_secs(3600)),
            lookups_per_mobile: RateLimiter::new(settings.lookups_per_mobile_per_hour, Duration::from_secs(3600)),
            province: RateLimiter::new(settings.province_per_second, Duration::from_secs(1)),
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            settings,
        }
    }

    fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
        let forwarded = self
            .settings
            .trust_forwarded_for
            .then(|| headers.get("x-forwarded-for")?.to_str().ok()?.split(',').next()?.trim().parse::<IpAddr>().ok())
            .flatten();
        forwarded.or_else(|| peer.map(|p| p.ip())).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

/// 429 with `Retry-After` (whole seconds, at least 1) and a problem body.
pub(crate) fn too_many(wait: Duration, what: &str) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests")
        .with_detail(format!("{what}; retry in {} s", seconds.max(1)))
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn shed(detail: &str) -> Response {
    let mut response =
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "intake is at capacity; nothing was saved")
            .with_detail(detail.to_owned())
            .into_response();
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
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long; retry")
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
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let response = too_many(Duration::from_millis(1500), "x");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}

//! Prometheus metrics: one registry per service, exposed at `/metrics`.
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use prometheus_client;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// one of a fixed set ([`method_label`]): a client may send any token as a method
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

/// The method as a label: the standard ones by name, anything else `_OTHER` (the OpenTelemetry
/// convention), so random methods cannot grow the metric families without bound.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

/// Request counts and latencies by route template (never by raw path: tracking codes would explode cardinality).
#[derive(Clone)]
pub struct HttpMetrics {
    pub requests: Family<HttpLabels, Counter>,
    pub duration: Family<HttpLabels, Histogram>,
}

impl HttpMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<HttpLabels, Counter>::default();
        let duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
        });
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", duration.clone());
        Self { requests, duration }
    }
}

pub type SharedRegistry = Arc<Registry>;

pub fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, registry) {
        tracing::error!(%error, "metrics encoding failed");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_method_maps_to_one_of_a_few_labels() {
        let random = axum::http::Method::from_bytes(b"XJQWKZPLMNBVCXZ").unwrap();
        assert_eq!(method_label(&random), "_OTHER");
        assert_eq!(method_label(&axum::http::Method::POST), "POST");
    }
}

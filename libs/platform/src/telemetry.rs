//! JSON logs always; OpenTelemetry traces over OTLP/gRPC when an endpoint is configured.
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `RUST_LOG`-style filter, e.g. `info,pasokh_intake=debug`
    pub log_filter: String,
    /// `json` (default, for collectors) or `text` (for humans at a terminal)
    pub log_format: String,
    /// OTLP/gRPC collector, e.g. `http://127.0.0.1:4317`; traces are off when empty
    pub otlp_endpoint: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { log_filter: "info".into(), log_format: "json".into(), otlp_endpoint: String::new() }
    }
}

/// Flushes pending spans when dropped at the end of `main`.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("telemetry shutdown failed: {error}");
        }
    }
}

/// Installs the global subscriber and W3C trace-context propagator. Call once, inside the tokio runtime.
pub fn init(service: &'static str, settings: &TelemetrySettings) -> Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&settings.log_filter)
        .map_err(|e| Error::Telemetry(format!("log_filter `{}`: {e}", settings.log_filter)))?;

    // Spans always get real trace ids, so `traceparent` travels in Kafka
    // headers and gRPC metadata even where nothing exports them; the OTLP
    // exporter is added only when an endpoint is configured.
    let mut builder =
        SdkTracerProvider::builder().with_resource(Resource::builder().with_service_name(service).build());
    if !settings.otlp_endpoint.is_empty() {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&settings.otlp_endpoint)
            .build()
            .map_err(|e| Error::Telemetry(e.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let otel_layer = tracing_opentelemetry::layer().with_tracer(provider.tracer(service));
    opentelemetry::global::set_tracer_provider(provider.clone());
    let provider = Some(provider);

    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let installed = if settings.log_format == "text" {
        registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    installed.map_err(|e| Error::Telemetry(e.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// Makes `span` a child of `parent` (extracted from request headers or Kafka
/// record headers) and records its trace id in the span's `trace_id` field,
/// so every JSON log line inside it names the trace.
pub fn continue_trace(span: &tracing::Span, parent: opentelemetry::Context) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if let Err(error) = span.set_parent(parent) {
        tracing::debug!(?error, "span parent not set");
    }
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// Links `span` to the span of `context` (a request a batch serves along with others); a span has
/// one parent, but may follow many.
pub fn add_link(span: &tracing::Span, context: &opentelemetry::Context) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    span.add_link(context.span().span_context().clone());
}

/// `traceparent` (and `tracestate`) of the current span, for an outgoing HTTP request: the callee's
/// request span then continues this trace.
pub fn trace_headers() -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    inject(&tracing::Span::current(), &mut headers);
    headers
}

/// Reads W3C trace context from HTTP (and so gRPC) request headers.
pub(crate) struct HeaderExtractor<'a>(pub(crate) &'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes W3C trace context into outgoing request headers.
struct HeaderInjector<'a>(&'a mut axum::http::HeaderMap);

impl opentelemetry::propagation::Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::from_bytes(key.as_bytes()), axum::http::HeaderValue::from_str(&value))
        {
            self.0.insert(name, value);
        }
    }
}

/// The caller's trace context from `headers`; an empty context when there is none.
pub(crate) fn extract(headers: &axum::http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Puts `span`'s trace context into `headers` as `traceparent`, so the callee's span becomes its child.
pub(crate) fn inject(span: &tracing::Span, headers: &mut axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(headers)));
}

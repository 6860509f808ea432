//! CloudEvents 1.0, Kafka protocol binding, binary content mode: the event's
//! attributes travel as `ce_*` record headers, the protobuf body as the value.
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use opentelemetry::propagation::{Extractor, Injector};
use rdkafka::message::{Headers, OwnedHeaders};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use crate::{Error, Result};

pub const SPEC_VERSION: &str = "1.0";
pub const CONTENT_TYPE: &str = "application/protobuf";
pub const TYPE_PREFIX: &str = "ir.gov.mcls.pasokh.";

/// The attributes of one event, as carried in Kafka headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEvent {
    pub id: Uuid,
    /// e.g. `//pasokh/intake/IR-23`
    pub source: String,
    /// e.g. `ir.gov.mcls.pasokh.petition.submitted.v1`
    pub event_type: String,
    pub time: DateTime<Utc>,
    /// W3C trace context (`traceparent`, `tracestate`) of the span that produced the event.
    pub trace: BTreeMap<String, String>,
}

impl CloudEvent {
    /// A new event in the current tracing span's trace.
    pub fn new(id: Uuid, source: impl Into<String>, event_type: impl Into<String>, time: DateTime<Utc>) -> Self {
        Self { id, source: source.into(), event_type: event_type.into(), time, trace: current_trace_context() }
    }

    /// All headers of the record, in the order they are written.
    pub fn header_map(&self) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::from([
            ("ce_specversion".to_owned(), SPEC_VERSION.to_owned()),
            ("ce_id".to_owned(), self.id.to_string()),
            ("ce_source".to_owned(), self.source.clone()),
            ("ce_type".to_owned(), self.event_type.clone()),
            ("ce_time".to_owned(), self.time.to_rfc3339_opts(SecondsFormat::Micros, true)),
            ("content-type".to_owned(), CONTENT_TYPE.to_owned()),
        ]);
        headers.extend(self.trace.clone());
        headers
    }

    pub fn from_headers<H: Headers>(headers: Option<&H>) -> Result<Self> {
        let map = header_map_of(headers);
        let get = |name: &str| map.get(name).cloned().ok_or_else(|| Error::Headers(format!("missing {name}")));
        if get("ce_specversion")? != SPEC_VERSION {
            return Err(Error::Headers("unsupported ce_specversion".into()));
        }
        let id = Uuid::parse_str(&get("ce_id")?).map_err(|e| Error::Headers(format!("ce_id: {e}")))?;
        let time = DateTime::parse_from_rfc3339(&get("ce_time")?)
            .map_err(|e| Error::Headers(format!("ce_time: {e}")))?
            .with_timezone(&Utc);
        let trace = ["traceparent", "tracestate"]
            .into_iter()
            .filter_map(|k| map.get(k).map(|v| (k.to_owned(), v.clone())))
            .collect();
        Ok(Self { id, source: get("ce_source")?, event_type: get("ce_type")?, time, trace })
    }

    /// The OpenTelemetry context this event was produced in, to parent the consumer's span.
    pub fn parent_context(&self) -> opentelemetry::Context {
        creation_context(&self.trace)
    }
}

/// Every header of a record as UTF-8 strings (non-UTF-8 values are skipped).
pub fn header_map_of<H: Headers>(headers: Option<&H>) -> BTreeMap<String, String> {
    headers
        .map(|h| {
            h.iter()
                .filter_map(|header| {
                    let value = std::str::from_utf8(header.value?).ok()?;
                    Some((header.key.to_owned(), value.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn to_kafka_headers(map: &BTreeMap<String, String>) -> OwnedHeaders {
    map.iter().fold(OwnedHeaders::new_with_capacity(map.len()), |headers, (key, value)| {
        headers.insert(rdkafka::message::Header { key, value: Some(value) })
    })
}

/// The context an event was created in, from its stored or received headers (`traceparent`).
pub fn creation_context(headers: &BTreeMap<String, String>) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&MapReader(headers)))
}

struct MapCarrier<'a>(&'a mut BTreeMap<String, String>);

struct MapReader<'a>(&'a BTreeMap<String, String>);

impl Extractor for MapReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// `traceparent`/`tracestate` of the current span (empty when tracing export is off).
pub fn current_trace_context() -> BTreeMap<String, String> {
    let context = tracing::Span::current().context();
    let mut map = BTreeMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut MapCarrier(&mut map)));
    map
}

#[cfg(test)]
mod tests {
    use rdkafka::message::OwnedHeaders;

    use super::*;

    #[test]
    fn headers_round_trip() {
        let event = CloudEvent {
            id: Uuid::now_v7(),
            source: "//pasokh/intake/IR-23".into(),
            event_type: "ir.gov.mcls.pasokh.petition.submitted.v1".into(),
            time: Utc::now(),
            trace: BTreeMap::from([(
                "traceparent".into(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            )]),
        };
        let headers: OwnedHeaders = to_kafka_headers(&event.header_map());
        let parsed = CloudEvent::from_headers(Some(&headers)).unwrap();
        assert_eq!(parsed.id, event.id);
        assert_eq!(parsed.event_type, event.event_type);
        assert_eq!(parsed.trace, event.trace);
        assert_eq!(header_map_of(Some(&headers))["content-type"], "application/protobuf");
    }

    #[test]
    fn missing_id_is_refused() {
        let headers = to_kafka_headers(&BTreeMap::from([("ce_specversion".into(), "1.0".into())]));
        assert!(CloudEvent::from_headers(Some(&headers)).is_err());
    }
}

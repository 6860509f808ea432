//! Kafka for Pasokh services.
//!
//! - [`cloudevents`]: CloudEvents 1.0 binary-mode headers plus W3C trace context.
//! - [`outbox`]: write an event in the same transaction as the state change;
//!   a relay publishes it later with an idempotent, `acks=all` producer.
//! - [`consumer`]: at-least-once consumption with idempotent effects
//!   (`processed_events` in the handler's transaction), offsets committed
//!   after, poison messages to `<topic>.dlq`; [`batch`]: the same a poll's batch
//!   per transaction.

pub mod backbone;
pub mod batch;
pub mod cloudevents;
pub mod consumer;
pub mod desk;
pub mod dlq;
mod error;
pub mod lifecycle;
pub mod metrics;
pub mod outbox;
pub mod settings;

pub use backbone::Backbone;
pub use error::{Error, Result};
pub use settings::KafkaSettings;

/// The outbox table every publishing service has (its migration is a symbolic link to this file).
pub const OUTBOX_SQL: &str = include_str!("../sql/outbox.sql");
/// The `processed_events` table every consuming service has (linked the same way).
pub const PROCESSED_EVENTS_SQL: &str = include_str!("../sql/processed_events.sql");

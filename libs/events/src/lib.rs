//! Kafka for Pasokh services.
//!
//! - [`cloudevents`]: CloudEvents 1.0 binary-mode headers plus W3C trace context.
//! - [`outbox`]: write an event in the same transaction as the state change;
//!   a relay publishes it later with an idempotent, `acks=all` producer.
//! - [`consumer`]: at-least-once consumption with idempotent effects
//!   (`processed_events` in the handler's transaction), offsets committed
//!   after, poison messages to `<topic>.dlq`.

pub mod cloudevents;
pub mod consumer;
mod error;
pub mod lifecycle;
pub mod metrics;
pub mod outbox;
pub mod settings;

pub use error::{Error, Result};
pub use settings::KafkaSettings;

/// Migrations every service with an outbox or consumer needs, to copy into its own migration folder.
pub const OUTBOX_TABLE_SQL: &str = include_str!("../sql/outbox.sql");

//! Notification: turns lifecycle events into SMS for the citizen.
//!
//! Consuming an event only *records* the deliveries it calls for (in the
//! ledger, with the event id, in one transaction). A dispatcher then sends
//! pending deliveries, so a slow or failing SMS gateway never stalls the
//! Kafka consumer, and the ledger's unique key stops duplicates.

pub mod app;
mod codes;
pub mod config;
mod consume;
mod dispatch;
mod error;
mod store;
mod templates;

pub use app::App;
pub use config::Settings;
pub use error::{Error, Result};

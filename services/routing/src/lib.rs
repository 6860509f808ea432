//! Routing: turns each submitted petition into a case at the responsible
//! unit, with working-day deadlines, and publishes every later lifecycle event.

pub mod app;
pub mod config;
mod consume;
mod error;
mod grpc;
mod rules;
mod store;

pub use app::App;
pub use config::Settings;
pub use error::{Error, Result};

//! Routing: turns each submitted petition into a case at the responsible unit,
//! with working-day deadlines; runs the case workflow for officers (gRPC
//! `CaseService`), the citizen's replies and ratings, and the SLA watchdog.

pub mod app;
pub mod config;
mod consume;
mod error;
mod grpc;
mod rules;
mod store;
mod watchdog;
mod workflow;

pub use app::{App, run_watchdog_once};
pub use config::Settings;
pub use error::{Error, Result};

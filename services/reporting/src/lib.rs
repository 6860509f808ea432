//! Reporting: consumes every lifecycle event into read models for HQ's
//! inspection centre and provincial directors.

pub mod app;
pub mod config;
mod consume;
mod error;
mod grpc;
mod http;
mod store;

pub use app::App;
pub use config::Settings;
pub use error::{Error, Result};

//! Intake: the public edge. Parses petitions, stores them with their outbox
//! event in one transaction, and answers with a tracking code at once.

pub mod app;
pub mod config;
mod error;
mod grpc;
mod http;
mod petitions;
mod store;
mod submission;

pub use app::App;
pub use config::{LimitSettings, Settings, WriterSettings};
pub use error::{Error, Result};

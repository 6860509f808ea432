//! Reporting: folds every lifecycle event into per-petition facts and rollups,
//! and answers HQ's inspection centre, provincial directors and organisation
//! managers with indicators, rankings, trends, backlogs, desk-event reports and
//! CSV exports, each scoped by the caller's token.

pub mod app;
pub mod config;
mod consume;
mod csv;
mod desk;
mod error;
mod facts;
mod grpc;
mod http;
mod indicators;
mod period;
mod query;
pub mod rebuild;
mod report;
mod rollup;
mod store;

pub use app::App;
pub use config::Settings;
pub use error::{Error, Result};

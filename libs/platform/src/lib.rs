//! The one way a Pasokh service starts and stops.
//!
//! A service's `main` parses [`cli::Cli`], loads its settings with
//! [`config::load`], calls [`telemetry::init`], builds its app, and runs its
//! tasks under [`tasks::run_until_first_exit`] with a [`shutdown`] token.

pub mod auth;
pub mod cli;
pub mod config;
pub mod crash;
pub mod db;
mod error;
pub mod error_code;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod problem;
pub mod retry;
pub mod service;
pub mod shutdown;
pub mod tasks;
pub mod telemetry;

pub use error::{Error, Result};

/// Every Pasokh binary allocates through mimalloc. Under load a request is allocated on one
/// runtime thread and freed on another, and glibc's malloc spent about a third of intake's CPU
/// there (a profile of the saturated intake, docs/benchmarks.md "Intake").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

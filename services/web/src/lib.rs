//! The web: the citizen's public site and the service-desk console, Persian
//! and right to left, rendered on the server. It owns only its sessions and
//! receipts; every petition goes to the province's intake over its HTTP API.

pub mod app;
mod assets;
pub mod config;
mod csv;
mod error;
mod fa;
mod forms;
mod intake;
mod oidc;
mod pages;
mod qr;
mod reporting;
mod routes;
mod routing;
mod session;
mod svg;
mod templates;

pub use app::App;
pub use config::Settings;
pub use error::{Error, Result};

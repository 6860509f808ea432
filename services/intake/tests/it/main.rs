//! Intake's integration tests, one module per concern, in one binary: each test binary is one
//! more link of rdkafka, sqlx and tonic, which on two cores costs more than the tests themselves.
//! The two tests that stop or freeze the shared broker or database stay binaries of their own
//! (`kafka_outage.rs`, `pg_pause.rs`): cargo runs binaries one after another, so no other test
//! sees their outage.

mod api;
mod desk;
mod identity;
mod limits;
mod open311;
mod rules;
mod submission;

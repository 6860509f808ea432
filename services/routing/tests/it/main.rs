//! Routing's integration tests in one binary (one link of rdkafka, sqlx and tonic instead of
//! three): a real intake and a real routing in process, on the real PostgreSQL, Kafka and
//! Keycloak.

mod common;
mod consume;
mod identity;
mod workflow;

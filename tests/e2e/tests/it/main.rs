//! The system-wide tests in one binary (one link of every service's dependencies instead of
//! seven), a module per concern. The fault matrix (`faults`) is ignored here: it restarts
//! PostgreSQL and Kafka, so `make test-faults` runs it alone, last.

mod contract;
mod dlq;
mod faults;
mod identity;
mod pipeline;
mod relay;
mod service_tokens;

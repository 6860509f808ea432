//! End-to-end tests live in `tests/`; they start the service binaries built by
//! `cargo build --workspace --bins` (the `make test` target does that first), found by
//! `pasokh_testkit::bin_dir`.

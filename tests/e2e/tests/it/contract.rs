//! Workspace-wide invariants that no single crate can check.
use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_service_migrates_the_shared_event_tables_verbatim() {
    let outbox = read("libs/events/sql/outbox.sql");
    let processed = read("libs/events/sql/processed_events.sql");
    for copy in ["services/intake/migrations/0002_outbox.sql", "services/routing/migrations/0002_outbox.sql"] {
        assert_eq!(read(copy), outbox, "{copy} drifted from libs/events/sql/outbox.sql");
    }
    for copy in [
        "services/routing/migrations/0003_processed_events.sql",
        "services/notification/migrations/0003_processed_events.sql",
        "services/reporting/migrations/0002_processed_events.sql",
    ] {
        assert_eq!(read(copy), processed, "{copy} drifted from libs/events/sql/processed_events.sql");
    }
    assert_eq!(read("services/notification/migrations/0002_outbox.sql"), outbox);
}

#[test]
fn the_project_never_reads_the_shared_reference_folder() {
    for path in ["Makefile", "scripts/stack.sh", "scripts/run.sh", ".ci/run", "libs/domain/src/province.rs"] {
        assert!(!read(path).contains("../shared"), "{path} must not depend on ../shared");
    }
}

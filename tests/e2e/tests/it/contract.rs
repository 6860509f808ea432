//! Workspace-wide invariants that no single crate can check.
use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The event tables are one file each in `libs/events/sql`; a service's migration is a symbolic
/// link to it (sqlx reads a migration directory per service), so no copy can drift.
#[test]
fn every_service_migrates_the_shared_event_tables_from_the_one_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let resolved = |path: &str| std::fs::canonicalize(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let links = [
        ("services/intake/migrations/0002_outbox.sql", "libs/events/sql/outbox.sql"),
        ("services/routing/migrations/0002_outbox.sql", "libs/events/sql/outbox.sql"),
        ("services/notification/migrations/0002_outbox.sql", "libs/events/sql/outbox.sql"),
        ("services/routing/migrations/0003_processed_events.sql", "libs/events/sql/processed_events.sql"),
        ("services/notification/migrations/0003_processed_events.sql", "libs/events/sql/processed_events.sql"),
        ("services/reporting/migrations/0002_processed_events.sql", "libs/events/sql/processed_events.sql"),
    ];
    for (migration, shared) in links {
        assert_eq!(resolved(migration), resolved(shared), "{migration} must be a link to {shared}, not a copy");
    }
}

#[test]
fn the_project_never_reads_the_shared_reference_folder() {
    for path in ["Makefile", "scripts/stack.sh", "scripts/run.sh", ".ci/run", "libs/domain/src/province.rs"] {
        assert!(!read(path).contains("../shared"), "{path} must not depend on ../shared");
    }
}

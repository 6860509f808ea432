//! End-to-end tests live in `tests/`; they start the service binaries built by
//! `cargo build --workspace --bins` (the `make test` target does that first).

use std::path::PathBuf;

/// Where the built binaries are: `PASOKH_BIN_DIR`, else next to the running test
/// (`target/<profile>/deps/<test>-<hash>` → `target/<profile>`).
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PASOKH_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().and_then(|deps| deps.parent()).map(PathBuf::from).unwrap_or_default()
}

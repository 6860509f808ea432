//! Named crash points for the fault matrix (`make test-faults`).
//!
//! A fault test needs a process to die at an exact moment — after the
//! commit but before the reply, after the gateway accepted but before the
//! ledger knows — which a SIGKILL from outside can only hit by luck. Each such
//! moment calls [`point`] with its name. Unless `PASOKH_CRASH_AT` names it,
//! the call is one relaxed atomic load; when it does, the process aborts there
//! (no destructors, no flush, no offset commit: what SIGKILL leaves behind).
//!
//! `PASOKH_CRASH_AT=name` aborts at the first hit, `name@N` at the N-th, so a
//! test can let a load run for a while first. The variable is read once, at
//! start, and its arming is logged as a warning: it is never set in a
//! deployment (the chart has no value for it).
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms one crash point.
pub const VARIABLE: &str = "PASOKH_CRASH_AT";

struct Armed {
    name: String,
    at_hit: u64,
    hits: AtomicU64,
}

static ARMED: OnceLock<Option<Armed>> = OnceLock::new();

fn parse(value: &str) -> Option<Armed> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (name, at_hit) = match value.split_once('@') {
        Some((name, n)) => (name, n.trim().parse::<u64>().ok().filter(|n| *n > 0)?),
        None => (value, 1),
    };
    Some(Armed { name: name.trim().to_owned(), at_hit, hits: AtomicU64::new(0) })
}

fn armed() -> Option<&'static Armed> {
    ARMED.get_or_init(|| std::env::var(VARIABLE).ok().as_deref().and_then(parse)).as_ref()
}

/// Reads the variable and logs the arming; the service's `main` calls it once telemetry is up.
pub fn arm_from_env() {
    if let Some(armed) = armed() {
        tracing::warn!(point = %armed.name, at_hit = armed.at_hit, "{VARIABLE} is set: this process will abort there");
    } else if std::env::var(VARIABLE).is_ok_and(|v| !v.trim().is_empty()) {
        tracing::warn!("{VARIABLE} is not `name` or `name@N` (N ≥ 1); no crash point is armed");
    }
}

/// The moment called `name`: aborts the process if it is the armed point's N-th hit.
pub fn point(name: &str) {
    let Some(armed) = armed() else { return };
    if armed.name != name {
        return;
    }
    if armed.hits.fetch_add(1, Ordering::Relaxed) + 1 == armed.at_hit {
        // stderr, not tracing: the line must be out before the abort, whatever the exporter buffers
        eprintln!("crash point `{name}` reached ({VARIABLE}): aborting");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_point_is_named_alone_or_with_the_hit_to_abort_at() {
        let first = parse("consumer.after_commit").unwrap();
        assert_eq!((first.name.as_str(), first.at_hit), ("consumer.after_commit", 1));
        let later = parse(" intake.before_commit@25 ").unwrap();
        assert_eq!((later.name.as_str(), later.at_hit), ("intake.before_commit", 25));
        assert!(parse("").is_none());
        assert!(parse("intake.before_commit@0").is_none(), "hits count from one");
        assert!(parse("intake.before_commit@soon").is_none());
    }
}

//! The one retry policy every service uses: capped exponential back-off with full jitter.
//!
//! Full jitter (a delay drawn uniformly from zero to the exponential bound) keeps
//! the replicas of a service from retrying in lock-step after a shared outage,
//! which would hit the recovering dependency with synchronised waves.
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// The bound of the first retry's delay
    #[serde(with = "millis")]
    pub initial: Duration,
    /// No delay is ever longer than this
    #[serde(with = "millis")]
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_millis(100), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The upper bound of the delay before retry number `attempt` (1 for the first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// The delay before retry number `attempt`: uniform in [ceiling / 2, ceiling], so it still
    /// grows with the attempts while the replicas drift apart.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(rand::thread_rng().gen_range(0..=spread))
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stay_within_their_bounds() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        assert_eq!(backoff.ceiling(1), Duration::from_millis(100));
        assert_eq!(backoff.ceiling(2), Duration::from_millis(200));
        assert_eq!(backoff.ceiling(5), Duration::from_millis(1600));
        assert_eq!(backoff.ceiling(6), Duration::from_secs(2));
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(2));
        for attempt in [1, 3, 9, 1000] {
            let ceiling = backoff.ceiling(attempt);
            let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(attempt)).collect();
            assert!(delays.iter().all(|d| *d >= ceiling / 2 && *d <= ceiling), "attempt {attempt}: {delays:?}");
            // jittered: replicas retrying together do not pick one delay
            assert!(delays.iter().any(|d| *d != delays[0]), "attempt {attempt} is not jittered");
        }
    }
}

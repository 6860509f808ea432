//! The indicators of HQ's inspection centre, each defined once here and in
//! `docs/indicators.md` (formula, unit, what counts, why). Every one of them is
//! computed from summed rollup measures, so it is the same number whether a
//! dashboard, the CSV export or the ranking asks.
use serde::{Deserialize, Serialize};

/// `part ÷ whole` as a share between 0 and 1, or `None` when nothing was counted.
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The `q`-quantile (0–1) of working days from a histogram of resolutions: the least number of
/// days by which at least `q` of the resolutions were made.
fn quantile(histogram: &[i64], q: f64) -> Option<u32> {
    let total: i64 = histogram.iter().sum();
    if total <= 0 {
        return None;
    }
    let target = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (days, n) in histogram.iter().enumerate() {
        seen += n;
        if seen >= target {
            return Some(days as u32);
        }
    }
    None
}

/// Summed measures in 64 bits: a national year is more than `i32` of some counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Totals {
    pub submitted: i64,
    pub routed: i64,
    pub open: i64,
    pub first_response_decided: i64,
    pub first_response_on_time: i64,
    pub resolution_decided: i64,
    pub resolved: i64,
    pub resolved_on_time: i64,
    pub breaches: i64,
    pub escalated: i64,
    pub escalations: i64,
    pub reopened: i64,
    pub appealed: i64,
    pub responded: i64,
    pub rated: i64,
    pub rating_sum: i64,
    pub rated_high: i64,
    pub rated_with_comment: i64,
    pub merged: i64,
    pub at_desk: i64,
    pub resolved_on_spot: i64,
    pub referrals: i64,
    pub info_requests: i64,
    pub closed: i64,
    pub rejected: i64,
    pub resolution_days: Vec<i64>,
}

impl Totals {
    pub(crate) fn merge(&mut self, other: &Totals) {
        macro_rules! sum {
            ($($f:ident),*) => { $( self.$f += other.$f; )* };
        }
        sum!(
            submitted,
            routed,
            open,
            first_response_decided,
            first_response_on_time,
            resolution_decided,
            resolved,
            resolved_on_time,
            breaches,
            escalated,
            escalations,
            reopened,
            appealed,
            responded,
            rated,
            rating_sum,
            rated_high,
            rated_with_comment,
            merged,
            at_desk,
            resolved_on_spot,
            referrals,
            info_requests,
            closed,
            rejected
        );
        if self.resolution_days.len() < other.resolution_days.len() {
            self.resolution_days.resize(other.resolution_days.len(), 0);
        }
        for (sum, n) in self.resolution_days.iter_mut().zip(&other.resolution_days) {
            *sum += n;
        }
    }
}

/// The indicators of a scope and period. Shares are between 0 and 1; `None` when nothing the
/// indicator divides by was counted (no resolutions, no ratings …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Indicators {
    /// petitions submitted in the period
    pub volume: i64,
    /// of those, still open now
    pub backlog: i64,
    pub first_response_on_time: Option<f64>,
    pub resolution_on_time: Option<f64>,
    pub median_working_days_to_resolution: Option<u32>,
    pub p90_working_days_to_resolution: Option<u32>,
    pub breaches: i64,
    pub escalations: i64,
    pub escalated_share: Option<f64>,
    pub reopen_rate: Option<f64>,
    pub appeal_rate: Option<f64>,
    pub satisfaction_mean: Option<f64>,
    pub satisfaction_high_share: Option<f64>,
    pub rated_share: Option<f64>,
    pub repeat_petition_rate: Option<f64>,
    pub at_desk: i64,
    pub on_spot_resolution_rate: Option<f64>,
    pub referrals: i64,
    pub info_requests: i64,
}

impl Indicators {
    pub(crate) fn of(t: &Totals) -> Self {
        Self {
            volume: t.submitted,
            backlog: t.open,
            first_response_on_time: share(t.first_response_on_time, t.first_response_decided),
            resolution_on_time: share(t.resolved_on_time, t.resolution_decided),
            median_working_days_to_resolution: quantile(&t.resolution_days, 0.5),
            p90_working_days_to_resolution: quantile(&t.resolution_days, 0.9),
            breaches: t.breaches,
            escalations: t.escalations,
            escalated_share: share(t.escalated, t.submitted - t.merged),
            reopen_rate: share(t.reopened, t.resolved),
            appeal_rate: share(t.appealed, t.responded),
            satisfaction_mean: (t.rated > 0).then(|| t.rating_sum as f64 / t.rated as f64),
            satisfaction_high_share: share(t.rated_high, t.rated),
            rated_share: share(t.rated, t.responded),
            repeat_petition_rate: share(t.merged, t.submitted),
            at_desk: t.at_desk,
            on_spot_resolution_rate: share(t.resolved_on_spot, t.at_desk),
            referrals: t.referrals,
            info_requests: t.info_requests,
        }
    }

    /// A dimension of the responsiveness index, as a share between 0 and 1.
    fn dimension(&self, name: &str) -> Option<f64> {
        match name {
            "first_response_on_time" => self.first_response_on_time,
            "resolution_on_time" => self.resolution_on_time,
            "satisfaction_high_share" => self.satisfaction_high_share,
            "not_reopened" => self.reopen_rate.map(|r| 1.0 - r),
            "not_repeated" => self.repeat_petition_rate.map(|r| 1.0 - r),
            "rated_share" => self.rated_share,
            "on_spot_resolution_rate" => self.on_spot_resolution_rate,
            _ => None,
        }
    }
}

/// The dimensions an index file may name.
const DIMENSIONS: [&str; 7] = [
    "first_response_on_time",
    "resolution_on_time",
    "satisfaction_high_share",
    "not_reopened",
    "not_repeated",
    "rated_share",
    "on_spot_resolution_rate",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeerGroup {
    pub name: String,
    pub name_fa: String,
    pub min_volume: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dimension {
    pub indicator: String,
    pub weight: f64,
}

/// The responsiveness index's definition: `data/responsiveness-index.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IndexDefinition {
    pub version: String,
    pub peer_groups: Vec<PeerGroup>,
    pub dimensions: Vec<Dimension>,
}

pub(crate) const BUILT_IN_INDEX: &str = include_str!("../data/responsiveness-index.toml");

impl IndexDefinition {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut definition: IndexDefinition = toml::from_str(text).map_err(|e| e.to_string())?;
        if definition.dimensions.is_empty() {
            return Err("the index has no dimensions".into());
        }
        for d in &definition.dimensions {
            if !DIMENSIONS.contains(&d.indicator.as_str()) {
                return Err(format!("unknown dimension `{}`; known: {}", d.indicator, DIMENSIONS.join(", ")));
            }
            if !(d.weight.is_finite() && d.weight > 0.0) {
                return Err(format!("dimension `{}` needs a positive weight", d.indicator));
            }
        }
        definition.peer_groups.sort_by_key(|g| std::cmp::Reverse(g.min_volume));
        Ok(definition)
    }

    /// The index, 0–100: the weighted mean of the dimensions that could be measured (a dimension
    /// with nothing counted drops out and the others' weights are rescaled); `None` if none could.
    pub(crate) fn score(&self, indicators: &Indicators) -> Option<f64> {
        let (mut sum, mut weights) = (0.0, 0.0);
        for d in &self.dimensions {
            if let Some(value) = indicators.dimension(&d.indicator) {
                sum += d.weight * value;
                weights += d.weight;
            }
        }
        (weights > 0.0).then(|| (100.0 * sum / weights * 10.0).round() / 10.0)
    }

    /// The peer group a volume belongs to; `None` below the smallest.
    pub(crate) fn peer_group(&self, volume: i64) -> Option<&PeerGroup> {
        self.peer_groups.iter().find(|g| volume >= g.min_volume)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_histogram() {
        // ten resolutions: 0,1,1,2,2,2,3,3,9,30+
        let mut h = vec![0i64; 31];
        for d in [0, 1, 1, 2, 2, 2, 3, 3, 9, 30] {
            h[d] += 1;
        }
        assert_eq!(quantile(&h, 0.5), Some(2));
        assert_eq!(quantile(&h, 0.9), Some(9));
        assert_eq!(quantile(&[0, 0], 0.5), None);
    }

    #[test]
    fn the_built_in_index_parses_and_scores_between_0_and_100() {
        let index = IndexDefinition::parse(BUILT_IN_INDEX).unwrap();
        let mut t =
            Totals { submitted: 10, first_response_decided: 10, first_response_on_time: 10, ..Default::default() };
        assert_eq!(index.score(&Indicators::of(&t)), Some(100.0), "only first response measured: 100 %");
        t.resolution_decided = 10;
        t.resolved = 10;
        t.resolved_on_time = 0;
        // 0.20 × 1 + 0.25 × 0 + 0.10 × (1 − 0) (not reopened) + 0.10 × 1 (not repeated) over 0.65
        let expected = ((0.20 + 0.10 + 0.10) / 0.65 * 1000.0_f64).round() / 10.0;
        assert_eq!(index.score(&Indicators::of(&t)), Some(expected));
        assert_eq!(index.peer_group(5000).unwrap().name, "large");
        assert_eq!(index.peer_group(25).unwrap().name, "small");
        assert!(index.peer_group(3).is_none());
        assert!(
            IndexDefinition::parse(
                "version = \"x\"\npeer_groups = []\n[[dimensions]]\nindicator = \"speed\"\nweight = 1.0\n"
            )
            .is_err()
        );
    }
}

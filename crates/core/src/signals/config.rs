//! The scorer's configuration: every threshold of `docs/signals.md` §2, with its default.

use std::borrow::Cow;

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Thresholds and windows of the trend signals. Deserializes from a partial JSON object (missing
/// fields take their defaults), which is how the test vectors override them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalConfig {
    /// The N of `entered_top_n` / `left_top_n`.
    pub top_n: Vec<u8>,
    /// h: a product leaves the top N only when it falls below N + h (or out of the list).
    pub hysteresis: u8,
    /// A (product, event key kind) that fired cannot fire again within this many seconds.
    pub rearm_secs: i64,
    /// Places moved against the previous list for `climber` / `faller`.
    pub move_places: u8,
    /// Share below the rolling minimum price for `price_drop`.
    pub price_drop_share: f64,
    pub price_window_secs: i64,
    pub reviews_window_secs: i64,
    pub reviews_surge_min: u64,
    pub reviews_surge_share: f64,
    pub momentum_tau_secs: i64,
    pub momentum_window_secs: i64,
    pub momentum_base: u8,
    pub trend_places: u8,
    pub breakout_places: u8,
    pub breakout_top: u8,
    pub new_window_secs: i64,
    pub dwell_top: u8,
    /// How far the 24 h reference may be from exactly 24 h before.
    pub day_tolerance_secs: i64,
    /// The default rank→demand exponent and its standard error (docs/signals.md §4).
    pub demand_b: f64,
    pub demand_b_stderr: f64,
    pub sparkline_points: usize,
    pub event_ttl_days: i64,
    /// `expires_at` of the snapshot items that `score_series` stores.
    pub snapshot_ttl_days: i64,
}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            top_n: vec![10, 3],
            hysteresis: 2,
            rearm_secs: 6 * 3600,
            move_places: 5,
            price_drop_share: 0.10,
            price_window_secs: 86_400,
            reviews_window_secs: 86_400,
            reviews_surge_min: 20,
            reviews_surge_share: 0.05,
            momentum_tau_secs: 12 * 3600,
            momentum_window_secs: 86_400,
            momentum_base: 21,
            trend_places: 3,
            breakout_places: 10,
            breakout_top: 10,
            new_window_secs: 86_400,
            dwell_top: 10,
            day_tolerance_secs: 3 * 3600,
            demand_b: 0.87,
            demand_b_stderr: 0.15,
            sparkline_points: 12,
            event_ttl_days: 90,
            snapshot_ttl_days: 400,
        }
    }
}

/// The length of a day, the base of the 24 h comparisons.
pub const DAY_SECS: i64 = 86_400;

impl SignalConfig {
    /// How far back the history of a snapshot reaches: the longest window any signal needs.
    pub fn lookback(&self) -> Duration {
        let secs = (DAY_SECS + self.day_tolerance_secs.max(0))
            .max(self.price_window_secs)
            .max(self.reviews_window_secs)
            .max(self.momentum_window_secs);
        Duration::seconds(secs.max(0))
    }

    pub fn rearm(&self) -> Duration {
        Duration::seconds(self.rearm_secs.max(0))
    }

    /// The top-N values, deduplicated, without 0, largest first (so events come out in a fixed order):
    /// the configured ones as they are when they already are so (the default `[10, 3]`; the scorer
    /// reads them for every record, and sorting a copy was an allocation a record).
    pub fn top_ns(&self) -> Cow<'_, [u8]> {
        let n = &self.top_n;
        if n.windows(2).all(|p| p[0] > p[1]) && n.last().is_none_or(|n| *n > 0) {
            return Cow::Borrowed(n);
        }
        let mut v: Vec<u8> = n.iter().copied().filter(|n| *n > 0).collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.dedup();
        Cow::Owned(v)
    }

    /// The smallest top N (the "podium" that makes an entrant notable).
    pub fn smallest_top(&self) -> u8 {
        self.top_ns().last().copied().unwrap_or(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_json_keeps_defaults() {
        let c: SignalConfig = serde_json::from_str(r#"{"hysteresis": 1, "top_n": [3, 10, 3]}"#).unwrap();
        assert_eq!(c.hysteresis, 1);
        assert_eq!(c.rearm_secs, 21_600);
        assert_eq!(c.top_ns(), vec![10, 3]);
        assert_eq!(c.smallest_top(), 3);
        assert_eq!(c.lookback(), Duration::hours(27));
        assert!(serde_json::from_str::<SignalConfig>(r#"{"hysterisis": 1}"#).is_err());
        // The default is in order already: read as configured, not copied.
        assert!(matches!(SignalConfig::default().top_ns(), Cow::Borrowed([10, 3])));
    }

    proptest::proptest! {
        /// Read as configured or sorted into a copy, the Ns are the positive ones, deduplicated,
        /// largest first.
        #[test]
        fn top_ns_are_the_positive_ns_largest_first(n in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..5)) {
            let c = SignalConfig { top_n: n.clone(), ..SignalConfig::default() };
            let mut want: Vec<u8> = n.into_iter().filter(|n| *n > 0).collect();
            want.sort_unstable_by(|a, b| b.cmp(a));
            want.dedup();
            proptest::prop_assert_eq!(c.top_ns().to_vec(), want);
        }
    }
}

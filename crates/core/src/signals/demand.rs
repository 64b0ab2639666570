//! Relative demand from the rank→demand power law `share(p) = p^-b` (docs/signals.md §4).

use serde::{Deserialize, Serialize};

use crate::signals::config::SignalConfig;
use crate::signals::items::CalibrationItem;

/// Where the curve came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurveSource {
    /// The literature default (Brynjolfsson, Hu & Smith 2003).
    Default,
    /// The category's `RANKCURVE` calibration item.
    Calibrated,
}

/// The rank→demand curve used for one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandCurve {
    pub b: f64,
    pub b_stderr: f64,
    pub source: CurveSource,
    /// Why a calibration item was not used, if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A position's demand against #1, with its ±2σ band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DemandBand {
    pub share: f64,
    pub low: f64,
    pub high: f64,
}

impl DemandCurve {
    /// The calibration if it is usable, else the configured default (with a note saying why).
    pub fn choose(cal: Option<&CalibrationItem>, cfg: &SignalConfig) -> Self {
        let default = |note: Option<String>| DemandCurve {
            b: cfg.demand_b,
            b_stderr: cfg.demand_b_stderr,
            source: CurveSource::Default,
            note,
        };
        match cal {
            None => default(None),
            Some(c) if c.b.is_finite() && c.b > 0.0 && c.b_stderr.is_finite() && c.b_stderr >= 0.0 => {
                DemandCurve { b: c.b, b_stderr: c.b_stderr, source: CurveSource::Calibrated, note: None }
            }
            Some(c) => default(Some(format!(
                "calibration ignored: b = {} and b_stderr = {} (need a finite b > 0 and a finite b_stderr >= 0)",
                c.b, c.b_stderr
            ))),
        }
    }

    /// `p^-b` with the band `[p^-(b+2σ), p^-max(0, b-2σ)]`.
    pub fn band(&self, position: u8) -> DemandBand {
        let p = f64::from(position.max(1));
        let b = if self.b.is_finite() { self.b.max(0.0) } else { 0.0 };
        let s = if self.b_stderr.is_finite() { self.b_stderr.max(0.0) } else { 0.0 };
        DemandBand { share: p.powf(-b), low: p.powf(-(b + 2.0 * s)), high: p.powf(-(b - 2.0 * s).max(0.0)) }
    }

    /// [`DemandCurve::band`], remembered per thread for the last curve used: every product of every
    /// list scored with the same curve (the default for all but calibrated categories) reads the
    /// same few positions, and each band costs three `powf`. The table is keyed by the exact bits of
    /// `b` and `b_stderr`, so a different curve starts a new one.
    pub(crate) fn band_cached(&self, position: u8) -> DemandBand {
        // The borrow cannot be taken twice: nothing in it calls back here.
        BANDS.with(|cell| {
            let mut table = cell.borrow_mut();
            let key = (self.b.to_bits(), self.b_stderr.to_bits());
            if table.key != Some(key) {
                table.key = Some(key);
                table.bands = [None; 256];
            }
            *table.bands[usize::from(position)].get_or_insert_with(|| self.band(position))
        })
    }
}

/// The bands of one curve, by position (see [`DemandCurve::band_cached`]).
struct BandTable {
    /// `(b, b_stderr)` as bits; None before the first use.
    key: Option<(u64, u64)>,
    bands: [Option<DemandBand>; 256],
}

thread_local! {
    static BANDS: std::cell::RefCell<BandTable> =
        const { std::cell::RefCell::new(BandTable { key: None, bands: [None; 256] }) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn default_band_is_ordered_and_one_at_the_top() {
        let c = DemandCurve::choose(None, &SignalConfig::default());
        assert_eq!(c.source, CurveSource::Default);
        let top = c.band(1);
        assert_eq!((top.share, top.low, top.high), (1.0, 1.0, 1.0));
        let b10 = c.band(10);
        assert!((b10.share - 10f64.powf(-0.87)).abs() < 1e-12);
        assert!(b10.low < b10.share && b10.share < b10.high && b10.high <= 1.0);
        assert!(c.band(20).share < b10.share);
    }

    proptest::proptest! {
        /// The remembered bands are the computed ones, whichever curves came before.
        #[test]
        fn cached_bands_are_the_computed_ones(
            uses in proptest::collection::vec(
                ((-1.0f64..3.0, -0.5f64..0.6), proptest::collection::vec(proptest::num::u8::ANY, 1..30)),
                1..6,
            ),
            odd in proptest::sample::select(vec![f64::NAN, f64::INFINITY, -0.0, 0.0]),
        ) {
            for (k, ((b, s), positions)) in uses.into_iter().enumerate() {
                // Now and then a curve that `band` has to clamp.
                let b = if k == 2 { odd } else { b };
                let c = DemandCurve { b, b_stderr: s, source: CurveSource::Default, note: None };
                for p in positions {
                    let (got, want) = (c.band_cached(p), c.band(p));
                    proptest::prop_assert_eq!(
                        (got.share.to_bits(), got.low.to_bits(), got.high.to_bits()),
                        (want.share.to_bits(), want.low.to_bits(), want.high.to_bits())
                    );
                }
            }
        }
    }

    #[test]
    fn calibration_replaces_the_default_only_when_sane() {
        let cat = crate::ids::CategoryId::parse("MLB1055").unwrap();
        let good = CalibrationItem::new(crate::ids::SiteId::MLB, &cat, 1.1, 0.05, Utc::now(), 900);
        let c = DemandCurve::choose(Some(&good), &SignalConfig::default());
        assert_eq!((c.b, c.source), (1.1, CurveSource::Calibrated));
        let bad = CalibrationItem { b: f64::NAN, ..good };
        let c = DemandCurve::choose(Some(&bad), &SignalConfig::default());
        assert_eq!(c.source, CurveSource::Default);
        assert!(c.note.is_some());
    }
}

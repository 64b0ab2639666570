//! Per-product signals (docs/signals.md §3).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{EntryId, EntryType};
use crate::signals::config::SignalConfig;
use crate::signals::demand::{DemandBand, DemandCurve};
use crate::signals::window::{delta, secs_between, slot_pos, Slot, Window, TERMS_ROW};
use crate::snapshot::SnapshotEntry;

/// The trend class of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    New,
    Rising,
    Stable,
    Falling,
    Breakout,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::New => "new",
            Trend::Rising => "rising",
            Trend::Stable => "stable",
            Trend::Falling => "falling",
            Trend::Breakout => "breakout",
        }
    }
}

/// The signals of one product of the scored list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSignals {
    pub id: EntryId,
    #[serde(rename = "type")]
    pub kind: EntryType,
    pub position: u8,
    /// Title, brand, link and currency are the snapshot's: the scorer leaves them empty and readers
    /// add them with [`LatestItem::fill_from`](crate::signals::LatestItem::fill_from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permalink: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_position: Option<u8>,
    /// `prev_position − position` (positive = climbed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_prev: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_24h: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_24h: Option<i32>,
    pub first_seen: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_dwell_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_one_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_one_dwell_secs: Option<i64>,
    pub momentum: f64,
    pub trend: Trend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_min_window: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_vs_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_delta: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_delta_24h: Option<i64>,
    /// For `reviews_delta_24h`: the earlier total it is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_ref: Option<u64>,
    pub demand: DemandBand,
}

/// What the product signals need besides the grid.
pub(crate) struct ProductContext<'a> {
    pub curve: &'a DemandCurve,
    /// Whether the previous list's column carries its dwell runs (it was the newest list scored).
    pub carry: bool,
    pub r24: Option<usize>,
    /// The first column of the momentum window, `exp(−age/τ)` of each of its columns (to `S`), and
    /// the sum of the weights.
    pub momentum_from: usize,
    pub momentum_weights: &'a [f64],
    /// The rank points of each position: `max(0, base − position)` (built once a snapshot, in
    /// the caller's frame: a copy of the 2 KB table cost as much as building it); with `dense`,
    /// 0 at index 0 instead.
    pub points: &'a [f64; 256],
    /// Whether every column of the momentum window is dense (its cells at positions `1, 2, …`):
    /// no slot there is at position 0, so a slot's low byte indexes `points` as is, an absent one
    /// (0) at 0 ([`momentum_num`]).
    pub dense: bool,
    /// With `dense`, when the window keeps them: each momentum weight times each of `points`
    /// ([`Window::keep_terms`]), which the momentum adds up instead of multiplying.
    pub terms: Option<&'a [[f64; TERMS_ROW]]>,
    pub momentum_den: f64,
    /// The first column of the reviews window (the same for every row; the price window's is the
    /// grid's, [`Window::price_min`]).
    pub reviews_from: usize,
    /// `t − new_window` when it is a time (see [`is_new_since`]).
    pub new_from: Option<DateTime<Utc>>,
    /// When the list started (at the latest `t`): a product first seen after it may be new.
    pub started: DateTime<Utc>,
    /// `max(started, new_from)` when `new_from` is a time: a product is new when it was first seen
    /// after it (both comparisons in one; see [`ProductContext::is_new`]).
    pub new_after: Option<DateTime<Utc>>,
    /// The column the trend class compares with: the one a day back, else the oldest history column.
    pub trend_ref: Option<usize>,
}

impl ProductContext<'_> {
    /// [`ProductContext::points`], written into a zeroed table (in the caller's frame: returning
    /// the 2 KB table copied it); `dense`: [`ProductContext::dense`].
    pub fn fill_points(cfg: &SignalConfig, points: &mut [f64; 256], dense: bool) {
        // Positions from `base` on have none.
        for (p, x) in points.iter_mut().enumerate().take(usize::from(cfg.momentum_base)) {
            *x = f64::from(cfg.momentum_base - p as u8);
        }
        if dense {
            points[0] = 0.0;
        }
    }

    /// `started` and `new_after` of a list ([`ProductContext::is_new`]).
    pub fn new_after(
        state: &crate::signals::ListState,
        t: DateTime<Utc>,
        new_from: Option<DateTime<Utc>>,
    ) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
        let started = state.list_started_at.map_or(t, |x| x.min(t));
        (started, new_from.map(|f| f.max(started)))
    }

    /// Whether a product first seen at `first_seen` is new: first seen after the list started and
    /// within the new window (`first_seen > started && first_seen > new_from`, which is
    /// `first_seen > max(started, new_from)`).
    #[inline]
    pub fn is_new(&self, t: DateTime<Utc>, first_seen: DateTime<Utc>, cfg: &SignalConfig) -> bool {
        match self.new_after {
            Some(after) => first_seen > after,
            None => first_seen > self.started && is_new_since(t, first_seen, self.new_from, cfg),
        }
    }

    /// [`ProductContext::dense`] of a window whose momentum window starts at column `from`.
    pub fn dense(w: &Window<'_>, from: usize) -> bool {
        w.dense_from(from)
    }

    /// [`ProductContext::new_from`]: `t − new_window`, None when that is not a time (or the window
    /// not a duration).
    pub fn new_from(t: DateTime<Utc>, cfg: &SignalConfig) -> Option<DateTime<Utc>> {
        Duration::try_seconds(cfg.new_window_secs).and_then(|d| t.checked_sub_signed(d))
    }

    /// The first column of the momentum window, `exp(−age/τ)` of each of its columns (to `S`) and
    /// their sum, computed (the window keeps them from one record to the next: [`Window::momentum`]).
    #[cfg(test)]
    pub fn momentum_weights(w: &Window<'_>, cfg: &SignalConfig) -> (usize, Vec<f64>, f64) {
        let from = w.first_col_since(cfg.momentum_window_secs);
        let mut weights = Vec::new();
        let den = decay_weights((from..=w.s_col()).map(|c| w.age_secs(c)), cfg.momentum_tau_secs, &mut weights);
        (from, weights, den)
    }
}

/// The momentum weights `exp(−age/τ)` of columns of ages `ages`, in `out`, and their sum in order.
pub(crate) fn decay_weights(ages: impl Iterator<Item = i64>, tau_secs: i64, out: &mut Vec<f64>) -> f64 {
    let tau = tau_secs.max(1);
    out.clear();
    DECAYS.with(|cell| {
        let mut decays = cell.borrow_mut();
        decays.keep(tau);
        out.extend(ages.map(|a| decays.get(a)));
    });
    out.iter().sum()
}

/// `exp(−age/τ)`.
fn decay(age_secs: i64, tau_secs: i64) -> f64 {
    (-(age_secs as f64) / tau_secs as f64).exp()
}

/// How many decays [`Decays`] remembers: a prime, so that the ages of a regular cadence (whole
/// hours, quarters of an hour) fall on distinct entries over a day.
const DECAY_ENTRIES: usize = 127;

/// [`decay`] of the ages met last, per thread, for one `τ`: the columns of a list scored every
/// hour have the same ages from one record to the next (0, 3,600, 7,200, …), and each `exp` cost
/// ~50 instructions. An entry holds the age it was computed for, so a hit is `exp` of the same
/// argument: the same bits.
struct Decays {
    tau: i64,
    /// `(age, decay(age, tau))`; `age` is `i64::MIN` in an entry never filled (no column's age:
    /// [`decay`] of it is computed, not read).
    entries: [(i64, f64); DECAY_ENTRIES],
}

impl Decays {
    /// Forgets the decays of another `τ`.
    fn keep(&mut self, tau: i64) {
        if tau != self.tau {
            self.tau = tau;
            self.entries = [(i64::MIN, 0.0); DECAY_ENTRIES];
        }
    }

    /// [`decay`] of `age` and the `τ` kept.
    #[inline]
    fn get(&mut self, age: i64) -> f64 {
        let e = &mut self.entries[(age as u64 % DECAY_ENTRIES as u64) as usize];
        if e.0 != age || age == i64::MIN {
            *e = (age, decay(age, self.tau));
        }
        e.1
    }
}

thread_local! {
    static DECAYS: std::cell::RefCell<Decays> =
        const { std::cell::RefCell::new(Decays { tau: 0, entries: [(i64::MIN, 0.0); DECAY_ENTRIES] }) };
}

/// The momentum's numerator: `Σ weight × points(position)` over a row's slots of the momentum
/// window, in column order, 0 points where the product is absent. With `dense` (no slot at position
/// 0; `points[0]` is then 0) each slot's low byte indexes `points` without a branch: an absent
/// slot is 0, so it reads the same 0 points, multiplied and added as [`momentum_num_plain`] does.
#[inline]
fn momentum_num(slots: &[Slot], weights: &[f64], points: &[f64; 256], dense: bool) -> f64 {
    if !dense {
        return momentum_num_plain(slots, weights, points);
    }
    // Four slots a step, added one after the other in column order (the same sum, bit for bit):
    // ~5.3 instructions a slot, ~6 two at a time (~22 slots a product).
    let n = slots.len().min(weights.len());
    let (slots, weights) = (&slots[..n], &weights[..n]);
    let (v4, w4) = (slots.chunks_exact(4), weights.chunks_exact(4));
    let (v_rest, w_rest) = (v4.remainder(), w4.remainder());
    let mut num = 0.0;
    for (v, w) in v4.zip(w4) {
        num += w[0] * points[usize::from(v[0] as u8)];
        num += w[1] * points[usize::from(v[1] as u8)];
        num += w[2] * points[usize::from(v[2] as u8)];
        num += w[3] * points[usize::from(v[3] as u8)];
    }
    for (v, weight) in v_rest.iter().zip(w_rest) {
        num += weight * points[usize::from(*v as u8)];
    }
    num
}

/// [`momentum_num`] off the window's terms (each weight times each position's points, computed
/// once for the weights): the same products, added in the same order, so the same sum, bit for
/// bit. Four slots a step: ~3 instructions a slot instead of ~5.3 with the multiplications.
#[inline]
fn momentum_num_terms(slots: &[Slot], terms: &[[f64; TERMS_ROW]]) -> f64 {
    let n = slots.len().min(terms.len());
    let (slots, terms) = (&slots[..n], &terms[..n]);
    // Zipped by value (by reference the zip checked both ends each step).
    let (v4, t4) = (slots.chunks_exact(4), terms.chunks_exact(4));
    let (v_rest, t_rest) = (v4.remainder(), t4.remainder());
    let mut num = 0.0;
    for (v, t) in v4.zip(t4) {
        num += t[0][usize::from(v[0] as u8)];
        num += t[1][usize::from(v[1] as u8)];
        num += t[2][usize::from(v[2] as u8)];
        num += t[3][usize::from(v[3] as u8)];
    }
    for (v, t) in v_rest.iter().zip(t_rest) {
        num += t[usize::from(*v as u8)];
    }
    num
}

/// [`momentum_num`], the slot's position looked at first (the definition).
fn momentum_num_plain(slots: &[Slot], weights: &[f64], points: &[f64; 256]) -> f64 {
    let mut num = 0.0;
    for (v, weight) in slots.iter().zip(weights) {
        let pts = slot_pos(*v).map_or(0.0, |p| points[usize::from(p)]);
        num += weight * pts;
    }
    num
}

/// The price when it is valid: finite and positive.
pub(crate) fn valid_price(p: Option<f64>) -> Option<f64> {
    p.filter(|x| x.is_finite() && *x > 0.0)
}

/// Whether a product first seen at `first_seen` is within the new window of `t`: `t − first_seen <
/// new_window`, which is `first_seen > t − new_window` (`new_from`, computed once a snapshot; the
/// times subtract exactly either way). The subtraction when `new_from` is not a time.
#[inline]
fn is_new_since(
    t: DateTime<Utc>,
    first_seen: DateTime<Utc>,
    new_from: Option<DateTime<Utc>>,
    cfg: &SignalConfig,
) -> bool {
    match new_from {
        Some(from) => first_seen > from,
        None => delta(t, first_seen) < Duration::seconds(cfg.new_window_secs),
    }
}

fn diff(from: u8, to: u8) -> i32 {
    i32::from(from) - i32::from(to)
}

/// The start of the current run at position ≤ `zone` (None when not in the zone now); `slots` is the
/// row's.
fn run_since(
    w: &Window<'_>,
    slots: &[Slot],
    zone: u8,
    carried: Option<Option<DateTime<Utc>>>,
) -> Option<DateTime<Utc>> {
    let in_zone = |v: Slot| slot_pos(v).is_some_and(|p| p <= zone);
    let s = w.s_col();
    if !in_zone(slots[s]) {
        return None;
    }
    if let Some(c) = carried {
        // The state's newest column is exactly the previous list: its run start continues, or the run starts now.
        return Some(c.unwrap_or(w.t));
    }
    let start = slots[..s].iter().rposition(|v| !in_zone(*v)).map_or(0, |c| c + 1);
    Some(w.time(start))
}

/// The minimum of a row's valid prices (finite, positive) over the price window in its currency
/// in `S`, off the grid's cells (the definition [`Window::price_min`] is tested against).
#[cfg(test)]
pub(crate) fn price_min_of_cells(w: &Window<'_>, row: usize, price_from: usize) -> Option<f64> {
    let s = w.s_col();
    let slots = w.slots(row);
    let cur = w.slot_cell(s, slots[s]).map(|c| c.cur)?;
    (price_from..s)
        .filter_map(|c| w.slot_cell(c, slots[c]))
        .filter(|h| h.cur == cur)
        .filter_map(|h| valid_price(h.price()))
        .min_by(f64::total_cmp)
}

/// The signals of the entry `e` of the scored list, which is row `row` of the grid.
pub(crate) fn product_signals(
    w: &Window<'_>,
    row: usize,
    e: &SnapshotEntry,
    ctx: &ProductContext<'_>,
    cfg: &SignalConfig,
) -> ProductSignals {
    let s = w.s_col();
    let id = e.id.clone();
    let pos = e.position.get();
    let t = w.t;
    let slots = w.slots(row);
    let pos_at = |c: usize| slot_pos(slots[c]);
    let cell_at = |c: usize| w.slot_cell(c, slots[c]);

    let prev_position = w.p_col().and_then(pos_at);
    let position_24h = ctx.r24.and_then(pos_at);
    let first_seen = w.seen(row).map_or(t, |r| r.first_seen.min(t));

    let carried = match (ctx.carry, w.p_col()) {
        (true, Some(p)) => Some(w.slot_dwell(p, slots[p])),
        _ => None,
    };
    let top_carry = carried.map(|c| c.and_then(|d| d.top_since));
    let one_carry = carried.map(|c| c.and_then(|d| d.one_since));
    let top_since = run_since(w, slots, cfg.dwell_top, top_carry);
    let number_one_since = run_since(w, slots, 1, one_carry);

    // Momentum: a decayed average of rank points (weights computed once per snapshot).
    let num = match ctx.terms {
        Some(terms) => momentum_num_terms(&slots[ctx.momentum_from..], terms),
        None => momentum_num(&slots[ctx.momentum_from..], ctx.momentum_weights, ctx.points, ctx.dense),
    };
    let den = ctx.momentum_den;
    let momentum = if den > 0.0 { num / den } else { 0.0 };

    // Trend class.
    let trend = if ctx.is_new(t, first_seen, cfg) {
        Trend::New
    } else if let Some(c) = ctx.trend_ref {
        let rpos = pos_at(c).unwrap_or_else(|| w.outside(c));
        let up = diff(rpos, pos);
        if up >= i32::from(cfg.breakout_places) && pos <= cfg.breakout_top {
            Trend::Breakout
        } else if up >= i32::from(cfg.trend_places) {
            Trend::Rising
        } else if -up >= i32::from(cfg.trend_places) {
            Trend::Falling
        } else {
            Trend::Stable
        }
    } else {
        Trend::Stable
    };

    // Price against the rolling minimum (same currency, current snapshot excluded).
    let price = valid_price(e.price);
    let price_min_window = w.price_min(row);
    let price_vs_min = match (price, price_min_window) {
        (Some(p), Some(m)) => Some(p / m - 1.0),
        _ => None,
    };

    // Reviews deltas.
    let reviews_total = e.reviews_total;
    let reviews_at = |c: usize| cell_at(c).and_then(|h| h.reviews());
    let reviews_delta = match (reviews_total, w.p_col().and_then(reviews_at)) {
        (Some(now), Some(before)) => Some(now as i64 - before as i64),
        _ => None,
    };
    let reviews_ref = (ctx.reviews_from..s).find_map(reviews_at);
    let reviews_delta_24h = match (reviews_total, reviews_ref) {
        (Some(now), Some(before)) => Some(now as i64 - before as i64),
        _ => None,
    };

    ProductSignals {
        id,
        kind: e.kind,
        position: pos,
        // The snapshot's own strings stay in the snapshot (`LatestItem::fill_from` adds them).
        title: None,
        brand: None,
        permalink: None,
        price: e.price,
        currency: None,
        reviews_total,
        rating: e.rating,
        prev_position,
        change_prev: prev_position.map(|p| diff(p, pos)),
        position_24h,
        change_24h: position_24h.map(|p| diff(p, pos)),
        first_seen,
        top_since,
        top_dwell_secs: top_since.map(|x| secs_between(t, x)),
        number_one_since,
        number_one_dwell_secs: number_one_since.map(|x| secs_between(t, x)),
        momentum,
        trend,
        price_min_window,
        price_vs_min,
        reviews_delta,
        reviews_delta_24h,
        reviews_ref,
        demand: ctx.curve.band_cached(pos),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A time anywhere in chrono's range, often a whole second, now and then at its ends.
    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        let (lo, hi) = (DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
        let secs = prop_oneof![4 => 1_700_000_000i64..1_800_000_000, 1 => lo..=hi, 1 => Just(lo), 1 => Just(hi)];
        let nanos = prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000];
        (secs, nanos).prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap_or(DateTime::<Utc>::MIN_UTC))
    }

    proptest! {
        /// `first_seen > t − window` (the window subtracted once a snapshot) is `t − first_seen <
        /// window`, near chrono's limits too (where `t − window` is not a time).
        #[test]
        fn new_since_is_the_subtraction(
            t in time(),
            other in time(),
            near in any::<bool>(),
            offset in -200_000i64..200_000,
            window in prop_oneof![4 => -200_000i64..200_000, 1 => Just(0i64), 1 => -9_300_000_000_000_000i64..9_300_000_000_000_000],
        ) {
            // A window that is not a duration panics in either form.
            let Some(d) = Duration::try_seconds(window) else { return Ok(()) };
            let cfg = SignalConfig { new_window_secs: window, ..SignalConfig::default() };
            // Mostly near `t` and its window, where the answer turns.
            let first_seen = if near { t.checked_add_signed(Duration::seconds(offset)).unwrap_or(t) } else { other };
            let got = is_new_since(t, first_seen, ProductContext::new_from(t, &cfg), &cfg);
            prop_assert_eq!(got, t - first_seen < d);
        }

        /// New as one comparison with `max(started, t − window)` is new as defined: first seen after
        /// the list started and within the window (near chrono's limits too, where `t − window` is
        /// not a time), whether the list started before, at or after the product or not at all.
        #[test]
        fn new_after_one_time_is_new_after_both(
            t in time(),
            other in time(),
            near in any::<bool>(),
            offset in -200_000i64..200_000,
            started_offset in proptest::option::of(prop_oneof![-200_000i64..200_000, Just(0i64)]),
            window in prop_oneof![4 => -200_000i64..200_000, 1 => Just(0i64), 1 => -9_300_000_000_000_000i64..9_300_000_000_000_000],
        ) {
            if Duration::try_seconds(window).is_none() {
                return Ok(());
            }
            let cfg = SignalConfig { new_window_secs: window, ..SignalConfig::default() };
            let first_seen = if near { t.checked_add_signed(Duration::seconds(offset)).unwrap_or(t) } else { other };
            let mut state = crate::signals::ListState::default();
            state.list_started_at = started_offset.map(|o| first_seen.checked_add_signed(Duration::seconds(o)).unwrap_or(first_seen));
            let new_from = ProductContext::new_from(t, &cfg);
            let (started, new_after) = ProductContext::new_after(&state, t, new_from);
            let curve = DemandCurve::choose(None, &cfg);
            let ctx = ProductContext {
                curve: &curve,
                carry: false,
                r24: None,
                momentum_from: 0,
                momentum_weights: &[],
                points: &[0.0; 256],
                dense: false,
                terms: None,
                momentum_den: 0.0,
                reviews_from: 0,
                new_from,
                started,
                new_after,
                trend_ref: None,
            };
            let plain_started = state.list_started_at.map_or(t, |x| x.min(t));
            let want = first_seen > plain_started && is_new_since(t, first_seen, new_from, &cfg);
            prop_assert_eq!(ctx.is_new(t, first_seen, &cfg), want);
        }
    }

    proptest! {
        /// The decays remembered per thread are `exp` computed again, bit for bit, whatever ages
        /// and `τ`s come in (hourly ages, which hit, and any others, which collide).
        #[test]
        fn remembered_decays_are_computed_again(
            calls in prop::collection::vec((prop_oneof![
                3 => (0i64..30).prop_map(|h| h * 3_600),
                1 => any::<i64>(),
                1 => -100_000i64..100_000,
                1 => Just(i64::MIN),
            ], prop_oneof![3 => Just(43_200i64), 1 => 1i64..100_000]), 1..200),
        ) {
            let mut cache = Decays { tau: 0, entries: [(i64::MIN, 0.0); DECAY_ENTRIES] };
            for (age, tau) in calls {
                cache.keep(tau);
                prop_assert_eq!(cache.get(age).to_bits(), decay(age, tau).to_bits(), "age {} tau {}", age, tau);
            }
        }
    }

    proptest! {
        /// The momentum read with the slots' low bytes as indices (dense windows) is the one read
        /// through their positions, bit for bit, on every row of any scenario; also when a column
        /// of the state holds a cell at position 0 (a blob read from elsewhere), which makes the
        /// window not dense. The snapshot is scored twice: the second time the window keeps the
        /// first one's weights, and adds up its terms table ([`momentum_num_terms`]).
        #[test]
        fn momentum_by_low_bytes_is_momentum_by_positions(
            (hist, scored) in crate::signals::window::testing::scenario(),
            zero in proptest::option::of((any::<prop::sample::Index>(), any::<prop::sample::Index>())),
            base in prop_oneof![3 => Just(21u8), 1 => any::<u8>()],
        ) {
            let cfg = SignalConfig { momentum_base: base, ..SignalConfig::default() };
            let (mut st, s) = crate::signals::window::testing::state_and_snapshot(&hist, &scored);
            if let (Some((c, i)), false) = (zero, st.cols.is_empty()) {
                let c = c.index(st.cols.len());
                let i = i.index(st.cols[c].cells.len());
                st.cols[c].cells[i].pos = 0;
            }
            // A copy lays its tables out from the columns as they are now.
            let st = st.clone();
            let scored = crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            let again = crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            let prepared = st.prepare(&s);
            let w = Window::build(&s, &prepared, &st, &cfg);
            let (from, weights, den) = ProductContext::momentum_weights(&w, &cfg);
            let mut points = [0.0; 256];
            ProductContext::fill_points(&cfg, &mut points, false);
            for (row, p) in scored.products.iter().enumerate() {
                let num = momentum_num_plain(&w.slots(row)[from..], &weights, &points);
                let want = if den > 0.0 { num / den } else { 0.0 };
                prop_assert_eq!(p.momentum.to_bits(), want.to_bits(), "row {}", row);
                prop_assert_eq!(again.products[row].momentum.to_bits(), want.to_bits(), "row {} again", row);
            }
        }
    }

    #[test]
    fn the_points_table_is_base_minus_position() {
        for base in 0..=u8::MAX {
            let cfg = SignalConfig { momentum_base: base, ..SignalConfig::default() };
            let mut points = [0.0; 256];
            ProductContext::fill_points(&cfg, &mut points, false);
            for p in 0..=u8::MAX {
                let want = f64::from(base.saturating_sub(p));
                assert_eq!(points[usize::from(p)].to_bits(), want.to_bits(), "base {base}, position {p}");
            }
        }
    }
}

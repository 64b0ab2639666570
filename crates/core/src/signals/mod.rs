//! Trend signals and events, as pure functions over a snapshot and its history.
//!
//! The definitions are in `docs/signals.md`; the shared test vectors in `testdata/signals/`. The
//! scoring step ([`crate::score_step`]) only loads what [`score`] needs and writes what
//! [`plan_writes`] plans.
//!
//! Layout:
//! - [`config`]: [`SignalConfig`], every threshold with its default.
//! - [`items`]: the stored items (snapshot, latest ranking, event, seen state,
//!   calibration).
//! - [`product`], [`category`], [`demand`], [`events`]: the signals and events themselves.

pub mod category;
mod codec;
pub mod config;
pub mod demand;
pub mod events;
pub mod items;
pub mod product;
pub mod state;
mod window;

use chrono::{DateTime, Utc};

use crate::ids::{CategoryId, SiteId};
use crate::snapshot::Snapshot;
use crate::store::{Item, StoreError};

pub use category::CategorySignals;
pub use codec::CodecError;
pub use config::SignalConfig;
pub use demand::{CurveSource, DemandBand, DemandCurve};
pub use events::{EventKind, PositionPoint, Severity};
pub use items::{CalibrationItem, EventItem, FiredEvent, LatestItem, SeenRange, SnapshotItem};
pub use product::{ProductSignals, Trend};
pub use state::{ListState, Prepared, ScoreStateItem, SCORE_SK};

use window::Window;

/// What scoring a snapshot needs besides the snapshot itself.
#[derive(Debug, Clone, Copy)]
pub struct ScoreContext<'a> {
    /// The list's scorer state: its snapshots before the scored one (only those within
    /// `[t − lookback, t)` are read), its seen ranges (which may already include this snapshot or
    /// later ones), the events fired before it and the dwell runs of the newest list.
    pub state: &'a ListState,
    pub calibration: Option<&'a CalibrationItem>,
}

/// The result of scoring one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub site: SiteId,
    pub category: CategoryId,
    pub taken_at: DateTime<Utc>,
    pub products: Vec<ProductSignals>,
    pub signals: CategorySignals,
    /// Sorted by key; unique keys.
    pub events: Vec<EventItem>,
    /// Events that re-arm held back.
    pub suppressed: usize,
}

/// Scores a non-empty snapshot against its history (docs/signals.md §3–§6). Pure and deterministic.
pub fn score(current: &Snapshot, ctx: &ScoreContext<'_>, cfg: &SignalConfig) -> Scored {
    score_keeping(current, ctx, cfg).0
}

/// [`score`], and the snapshot laid out against the state, which [`ListState::absorb_prepared`]
/// takes instead of laying it out again (while the state is the one scored against).
pub fn score_keeping<'a>(current: &'a Snapshot, ctx: &ScoreContext<'_>, cfg: &SignalConfig) -> (Scored, Prepared<'a>) {
    let prepared = ctx.state.prepare(current);
    let mut w = Window::build(current, &prepared, ctx.state, cfg);
    let t = current.taken_at;
    let baseline = w.p_col().is_none() && !ctx.state.any_before(t);
    let curve = DemandCurve::choose(ctx.calibration, cfg);
    let r24 = w.r24(cfg);
    // The dwell runs continue from the previous list when the state has them for it.
    let carry = w.p_col().is_some_and(|p| w.cols[p].runs());
    let dense = product::ProductContext::dense(&w, w.momentum().0);
    let mut points = [0.0; 256];
    product::ProductContext::fill_points(cfg, &mut points, dense);
    let terms_kept = dense && w.keep_terms(&points, cfg.momentum_base);
    let (momentum_from, momentum_weights, momentum_den) = w.momentum();
    let new_from = product::ProductContext::new_from(t, cfg);
    let (started, new_after) = product::ProductContext::new_after(ctx.state, t, new_from);
    let pctx = product::ProductContext {
        curve: &curve,
        carry,
        r24,
        momentum_from,
        momentum_weights,
        momentum_den,
        points: &points,
        dense,
        terms: terms_kept.then(|| w.terms()),
        reviews_from: w.first_col_since(cfg.reviews_window_secs),
        new_from,
        started,
        new_after,
        trend_ref: r24.or(if w.s_col() > 0 { Some(0) } else { None }),
    };
    let products: Vec<ProductSignals> =
        current.entries.iter().enumerate().map(|(row, e)| product::product_signals(&w, row, e, &pctx, cfg)).collect();
    let ectx = events::EventContext { baseline };
    let (events, suppressed) = events::detect(&w, &products, &ectx, cfg);
    let signals = category::category_signals(&w, baseline, &curve);
    // The window holds the state's column tables (and borrows `prepared`) until here.
    drop(w);
    let scored = Scored {
        site: current.site,
        category: current.category.clone(),
        taken_at: t,
        products,
        signals,
        events,
        suppressed,
    };
    (scored, prepared)
}

impl Scored {
    /// The latest ranking this scored snapshot makes (without the snapshot's titles and prices).
    pub fn into_latest(self) -> LatestItem {
        LatestItem {
            site: self.site,
            category: self.category,
            taken_at: self.taken_at,
            baseline: self.signals.baseline,
            products: self.products,
            signals: self.signals,
        }
    }
}

/// The writes of a scored snapshot, as store items.
#[derive(Debug, Clone, PartialEq)]
pub struct WritePlan {
    /// Conditional inserts.
    pub events: Vec<Item>,
}

/// Plans the writes of a scored snapshot: its event items. The scorer state, which holds the latest
/// ranking, is merged separately, by compare-and-swap.
pub fn plan_writes(scored: &Scored) -> Result<WritePlan, StoreError> {
    // The items share their sparklines' ages (one record's points are the same columns) and the
    // start of their sort keys (one record's time).
    let mut shared = (scored.events.len() > 1).then(items::Shared::default);
    let events = scored.events.iter().map(|e| e.to_item_sharing(shared.as_mut())).collect::<Result<Vec<_>, _>>()?;
    Ok(WritePlan { events })
}

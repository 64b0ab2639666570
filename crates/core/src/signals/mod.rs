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
pub mod config;
pub mod demand;
pub mod events;
pub mod items;
pub mod product;
mod window;

use chrono::{DateTime, Utc};

use crate::ids::{CategoryId, SiteId};
use crate::keys;
use crate::snapshot::Snapshot;
use crate::store::{Item, StoreError};

pub use category::CategorySignals;
pub use config::SignalConfig;
pub use demand::{CurveSource, DemandBand, DemandCurve};
pub use events::{EventKind, PositionPoint, Severity};
pub use items::{
    CalibrationItem, EventItem, FiredEvent, LatestItem, SeenItem, SeenRange, SeenState, SnapshotItem, SEEN_SK,
};
pub use product::{ProductSignals, Trend};

use window::Window;

/// What scoring a snapshot needs besides the snapshot itself.
#[derive(Debug, Clone, Copy)]
pub struct ScoreContext<'a> {
    /// Earlier snapshots of the list. Anything outside `[t − lookback, t)`, empty, or of another list
    /// is ignored, so passing more is correct (only slower).
    pub history: &'a [Snapshot],
    /// The seen state as stored (it may already include this snapshot or later ones).
    pub seen: &'a SeenState,
    /// Events already stored for this list; only those in `[t − rearm, t)` matter.
    pub recent_events: &'a [FiredEvent],
    /// The `LATEST` item; used to carry dwell runs only when it is exactly the previous list.
    pub latest: Option<&'a LatestItem>,
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
    let w = Window::build(current, ctx.history, cfg);
    let t = current.taken_at;
    let baseline = w.p_col().is_none() && !ctx.seen.any_before(t);
    let curve = DemandCurve::choose(ctx.calibration, cfg);
    let r24 = w.r24(cfg);
    let carry = match (ctx.latest, w.p_col()) {
        (Some(l), Some(p)) if l.taken_at == w.time(p) && l.site == current.site && l.category == current.category => {
            Some(l.products.iter().map(|x| (&x.id, x)).collect::<window::IdMap<_, _>>())
        }
        _ => None,
    };
    let (momentum_weights, momentum_den) = product::ProductContext::momentum_weights(&w, cfg);
    let pctx = product::ProductContext { seen: ctx.seen, curve: &curve, carry, r24, momentum_weights, momentum_den };
    let products: Vec<ProductSignals> =
        current.entries.iter().enumerate().map(|(row, e)| product::product_signals(&w, row, e, &pctx, cfg)).collect();
    let ectx = events::EventContext { seen: ctx.seen, recent: ctx.recent_events, baseline };
    let (events, suppressed) = events::detect(&w, &products, &ectx, cfg);
    let signals = category::category_signals(&w, ctx.seen, baseline, &curve);
    Scored {
        site: current.site,
        category: current.category.clone(),
        taken_at: t,
        products,
        signals,
        events,
        suppressed,
    }
}

impl Scored {
    /// The `LATEST` item for this snapshot.
    pub fn latest_item(&self) -> LatestItem {
        LatestItem {
            pk: keys::category_pk(self.site, &self.category),
            sk: keys::LATEST.to_string(),
            site: self.site,
            category: self.category.clone(),
            taken_at: self.taken_at,
            baseline: self.signals.baseline,
            products: self.products.clone(),
            signals: self.signals.clone(),
        }
    }
}

/// The writes of a scored snapshot, as store items.
#[derive(Debug, Clone, PartialEq)]
pub struct WritePlan {
    /// Conditional inserts.
    pub events: Vec<Item>,
    /// Written only over an older `LATEST`.
    pub latest: Item,
}

/// Plans the writes of a scored snapshot (the seen state is merged separately, by compare-and-swap).
pub fn plan_writes(scored: &Scored) -> Result<WritePlan, StoreError> {
    let events = scored.events.iter().map(EventItem::to_item).collect::<Result<Vec<_>, _>>()?;
    let latest = scored.latest_item().to_item()?;
    Ok(WritePlan { events, latest })
}

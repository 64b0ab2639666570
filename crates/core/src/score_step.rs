//! The scoring step: loads a snapshot's history and state from the store, scores it with the pure
//! functions of [`crate::signals`], and writes the latest ranking, the product history points and the
//! event items (docs/signals.md §7). Replaying a snapshot leaves the store as it was; scoring an older
//! snapshot after a newer one never replaces the newer `LATEST`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::ids::{CategoryId, SiteId};
use crate::keys;
use crate::signals::category::CategorySignals;
use crate::signals::{
    self, CalibrationItem, CurveSource, EventItem, FiredEvent, LatestItem, ProductSignals, SeenItem, SeenState,
    SignalConfig, SnapshotItem, SEEN_SK,
};
use crate::snapshot::{Snapshot, SnapshotError};
use crate::store::{MemorySnapshotStore, PutCondition, PutOutcome, Query, SnapshotStore, StoreError};

/// How many times a compare-and-swap is retried against concurrent writers.
const CAS_ATTEMPTS: usize = 5;

/// Why a snapshot could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("the snapshot is invalid")]
    InvalidSnapshot(#[source] SnapshotError),
    #[error("store error while scoring")]
    Store(#[source] StoreError),
    #[error("the {item} item of {pk} kept changing under us ({attempts} attempts)")]
    Contended { pk: String, item: &'static str, attempts: usize },
}

impl ScoreError {
    /// Whether scoring the same snapshot again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ScoreError::InvalidSnapshot(_) => false,
            ScoreError::Store(e) => e.is_transient(),
            ScoreError::Contended { .. } => true,
        }
    }
}

impl From<StoreError> for ScoreError {
    fn from(e: StoreError) -> Self {
        ScoreError::Store(e)
    }
}

/// What happened to the `LATEST` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "at")]
pub enum LatestOutcome {
    Written,
    /// `LATEST` already holds this snapshot (a replay): left as it is.
    AlreadyCurrent,
    /// `LATEST` holds a newer snapshot (out-of-order delivery): left as it is.
    Newer(DateTime<Utc>),
    /// The snapshot was empty: nothing to rank.
    NotScored,
}

/// What scoring one snapshot did (serializable, for command output and logs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    pub site: SiteId,
    pub category: CategoryId,
    pub taken_at: DateTime<Utc>,
    /// An empty snapshot is not scored (docs/signals.md §1).
    pub empty: bool,
    pub baseline: bool,
    /// Snapshot items of the lookback that were read, and how many did not decode (skipped).
    pub history_read: usize,
    pub history_corrupt: usize,
    /// Event items inserted by this call (a replay inserts none).
    pub events_written: Vec<EventItem>,
    /// Events computed whose items were already stored.
    pub events_existing: usize,
    /// Events held back by re-arm.
    pub events_suppressed: usize,
    pub seen_written: bool,
    pub latest: LatestOutcome,
    /// Why the calibration item was not used, when there was one that could not be.
    pub calibration_note: Option<String>,
    pub products: Vec<ProductSignals>,
    pub signals: Option<CategorySignals>,
}

/// Scores one snapshot of the store's list (see the module docs).
pub async fn score_snapshot(
    store: &dyn SnapshotStore,
    snapshot: &Snapshot,
    cfg: &SignalConfig,
) -> Result<ScoreReport, ScoreError> {
    let s = snapshot.clone().normalized().map_err(ScoreError::InvalidSnapshot)?;
    let t = s.taken_at;
    let pk = keys::category_pk(s.site, &s.category);
    let mut report = ScoreReport {
        site: s.site,
        category: s.category.clone(),
        taken_at: t,
        empty: s.entries.is_empty(),
        baseline: false,
        history_read: 0,
        history_corrupt: 0,
        events_written: Vec::new(),
        events_existing: 0,
        events_suppressed: 0,
        seen_written: false,
        latest: LatestOutcome::NotScored,
        calibration_note: None,
        products: Vec::new(),
        signals: None,
    };
    if report.empty {
        return Ok(report);
    }

    // 1. Load.
    let own_sk = keys::snapshot_sk(t);
    let q = Query::pk(&pk).between(keys::snapshot_sk(t - cfg.lookback()), own_sk.clone());
    let mut history = Vec::new();
    for item in store.query(&q).await? {
        if item.sk == own_sk {
            continue;
        }
        match SnapshotItem::from_item(&item) {
            Ok(si) => history.push(si.snapshot),
            Err(_) => report.history_corrupt += 1,
        }
    }
    report.history_read = history.len();
    let seen_item: Option<SeenItem> = match store.get(&pk, SEEN_SK).await? {
        Some(item) => Some(item.decode()?),
        None => None,
    };
    let empty_seen = SeenState::default();
    let seen = seen_item.as_ref().map_or(&empty_seen, |x| &x.state);
    let latest_raw = store.get(&pk, keys::LATEST).await?;
    let latest: Option<LatestItem> = latest_raw.as_ref().and_then(|i| i.decode().ok());
    let calibration: Option<CalibrationItem> =
        store.get(&keys::calibration_pk(s.site, &s.category), keys::RANKCURVE).await?.and_then(|i| i.decode().ok());
    let epk = keys::event_pk(s.site, &s.category);
    let eq = Query::pk(&epk).between(keys::ts(t - cfg.rearm()), keys::ts(t));
    let recent: Vec<FiredEvent> = store.query(&eq).await?.iter().filter_map(|i| FiredEvent::from_sk(&i.sk)).collect();

    // 2. Score.
    let ctx = signals::ScoreContext {
        history: &history,
        seen,
        recent_events: &recent,
        latest: latest.as_ref(),
        calibration: calibration.as_ref(),
    };
    let scored = signals::score(&s, &ctx, cfg);
    let plan = signals::plan_writes(&scored)?;
    report.baseline = scored.signals.baseline;
    report.events_suppressed = scored.suppressed;
    if scored.signals.demand.source == CurveSource::Default {
        report.calibration_note = scored.signals.demand.note.clone();
    }

    // 3. Write: events, seen state, latest ranking. (A product's history is read from the snapshot
    // items; per-product history points were 20 writes per refresh: docs/decisions.md.)
    for (item, typed) in plan.events.into_iter().zip(&scored.events) {
        match store.put(item, PutCondition::IfAbsent).await? {
            PutOutcome::Written => report.events_written.push(typed.clone()),
            PutOutcome::ConditionFailed => report.events_existing += 1,
        }
    }
    report.seen_written = merge_seen(store, &pk, &s, seen_item).await?;
    report.latest = write_latest(store, &pk, t, plan.latest, latest_raw).await?;
    report.products = scored.products;
    report.signals = Some(scored.signals);
    Ok(report)
}

/// Merges the snapshot into the stored seen state (compare-and-swap on `version`); no write when the
/// merge changes nothing.
async fn merge_seen(
    store: &dyn SnapshotStore,
    pk: &str,
    s: &Snapshot,
    mut current: Option<SeenItem>,
) -> Result<bool, ScoreError> {
    for _ in 0..CAS_ATTEMPTS {
        let (mut next, condition) = match &current {
            Some(c) => {
                (c.clone(), PutCondition::IfAttrEquals { name: "version".into(), value: Value::from(c.version) })
            }
            None => (
                SeenItem {
                    pk: pk.to_string(),
                    sk: SEEN_SK.to_string(),
                    site: s.site,
                    category: s.category.clone(),
                    version: 0,
                    state: SeenState::default(),
                },
                PutCondition::IfAbsent,
            ),
        };
        next.state.merge(s);
        if current.as_ref().is_some_and(|c| c.state == next.state) {
            return Ok(false);
        }
        next.version += 1;
        match store.put(next.to_item()?, condition).await? {
            PutOutcome::Written => return Ok(true),
            PutOutcome::ConditionFailed => {
                current = match store.get(pk, SEEN_SK).await? {
                    Some(item) => Some(item.decode()?),
                    None => None,
                };
            }
        }
    }
    Err(ScoreError::Contended { pk: pk.to_string(), item: SEEN_SK, attempts: CAS_ATTEMPTS })
}

/// Writes `LATEST` only over nothing or an older ranking (compare-and-swap on `taken_at`).
async fn write_latest(
    store: &dyn SnapshotStore,
    pk: &str,
    t: DateTime<Utc>,
    item: crate::store::Item,
    mut current: Option<crate::store::Item>,
) -> Result<LatestOutcome, ScoreError> {
    for _ in 0..CAS_ATTEMPTS {
        let condition = match &current {
            None => PutCondition::IfAbsent,
            Some(c) => {
                let raw = c.attrs.get("taken_at").cloned().unwrap_or(Value::Null);
                // An unreadable `taken_at` counts as older: the item is replaced by a good one.
                let at = raw.as_str().and_then(keys::parse_ts);
                match at {
                    Some(at) if at > t => return Ok(LatestOutcome::Newer(at)),
                    Some(at) if at == t => return Ok(LatestOutcome::AlreadyCurrent),
                    _ => PutCondition::IfAttrEquals { name: "taken_at".into(), value: raw },
                }
            }
        };
        match store.put(item.clone(), condition).await? {
            PutOutcome::Written => return Ok(LatestOutcome::Written),
            PutOutcome::ConditionFailed => current = store.get(pk, keys::LATEST).await?,
        }
    }
    Err(ScoreError::Contended { pk: pk.to_string(), item: keys::LATEST, attempts: CAS_ATTEMPTS })
}

/// Runs a future whose every await is ready at once (the in-memory store), without a runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// Stores and scores snapshots in time order over `store`, as the fetcher and the scorer would,
/// returning one report per snapshot (in the order scored).
pub fn score_series_in(
    store: &MemorySnapshotStore,
    mut snapshots: Vec<Snapshot>,
    cfg: &SignalConfig,
) -> Result<Vec<ScoreReport>, ScoreError> {
    snapshots.sort_by_key(|s| s.taken_at);
    let mut reports = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        let s = s.normalized().map_err(ScoreError::InvalidSnapshot)?;
        let item = SnapshotItem::new(s, cfg.snapshot_ttl_days);
        block_on(store.put(item.to_item()?, PutCondition::Always))?;
        reports.push(block_on(score_snapshot(store, &item.snapshot, cfg))?);
    }
    Ok(reports)
}

/// Scores a series of snapshots (any lists, sorted here by time) through the same step over a fresh
/// [`MemorySnapshotStore`], and returns the events it wrote, in order (`meli-radar score --input`).
pub fn score_series(snapshots: Vec<Snapshot>, cfg: &SignalConfig) -> Result<Vec<EventItem>, ScoreError> {
    let store = MemorySnapshotStore::new();
    let reports = score_series_in(&store, snapshots, cfg)?;
    Ok(reports.into_iter().flat_map(|r| r.events_written).collect())
}

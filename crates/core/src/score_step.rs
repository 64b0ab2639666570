//! The scoring step: loads the list's scorer state (`SCORE`) from the store, scores the snapshot with
//! the pure functions of [`crate::signals`], and writes the event items and the state, whose newest
//! snapshot is the list's latest ranking (docs/signals.md §7; [`read_latest`] scores it again for
//! readers). When the state is missing, unreadable or does not reach back far enough (a late record),
//! the part it needs is rebuilt from the snapshot and event items. Replaying a snapshot leaves the
//! store as it was; scoring an older snapshot after a newer one leaves the newer one the latest.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::ids::{CategoryId, SiteId};
use crate::keys;
use crate::names;
use crate::signals::category::CategorySignals;
use crate::signals::{
    self, CalibrationItem, CurveSource, EventItem, FiredEvent, ListState, Prepared, ProductSignals, ScoreStateItem,
    Scored, SignalConfig, SnapshotItem, SCORE_SK,
};
use crate::snapshot::{Snapshot, SnapshotError};
use crate::store::{Item, MemorySnapshotStore, PutCondition, PutOutcome, Query, SnapshotStore, StoreError};

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

/// Whether the scored snapshot is the list's latest ranking. The latest ranking is the newest column
/// of the list's `SCORE` item (docs/signals.md §7): there is no separate item to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "at")]
pub enum LatestOutcome {
    /// The snapshot is now the list's latest ranking.
    Written,
    /// The snapshot already was the latest ranking (a replay).
    AlreadyCurrent,
    /// The list has a newer snapshot (out-of-order delivery): that one stays the latest.
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
    /// Whether the scorer state had to be rebuilt from the snapshot and event items (missing,
    /// unreadable, or not reaching back far enough), and why when it was unreadable.
    pub state_rebuilt: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_note: Option<String>,
    /// Snapshot items read for a rebuild, and how many did not decode (skipped).
    pub history_read: usize,
    pub history_corrupt: usize,
    /// Event items inserted by this call (a replay inserts none).
    pub events_written: Vec<EventItem>,
    /// Events computed whose items were already stored.
    pub events_existing: usize,
    /// Events held back by re-arm.
    pub events_suppressed: usize,
    /// Whether the scorer state changed (a replay leaves it as it was).
    pub state_written: bool,
    pub latest: LatestOutcome,
    /// Why the calibration item was not used, when there was one that could not be.
    pub calibration_note: Option<String>,
    pub products: Vec<ProductSignals>,
    pub signals: Option<CategorySignals>,
}

/// The scorer states this process wrote last, by list: a warm Lambda (or the local runner) scores the
/// list's next snapshot against the `SCORE` item it wrote instead of reading it again: one request
/// and one read unit less per record (docs/signals.md §7). It is only a cache: the write is still a
/// compare-and-swap on the item's `version`, so a state another process wrote since (a shard moved,
/// a rival scorer) fails the condition, and the step reads the item and merges as it does without a
/// cache.
///
/// It holds the item's `version` and, while the budget allows, the state decoded (about 30 KB in
/// the scorer bench, [`ListState::heap_bytes`], the `state` attribute as written included:
/// [`ListState::written_text`]), else the `state` attribute alone (about 2 KB): a list held decoded
/// is scored without decoding its state (about a quarter of a record's CPU), one held as the
/// attribute only decodes it first. The writer tells a replay (nothing to write) from a change of a
/// state held decoded ([`ScoreStateItem::new_reusing`]); the attribute is compared for one held as
/// the attribute. The default budget of 8 MB holds about 3,500 lists, or about 270 of them all decoded: a list is
/// held decoded when that fits, else as the attribute; to hold a list at all, decoded states of
/// others are dropped first (they keep their attribute), then lists not scored for
/// [`StateCache::IDLE_HOURS`] (by snapshot time), never a live one: the lists come round in a cycle
/// (every category once per refresh), where evicting the least recently used would make every read
/// miss.
#[derive(Debug)]
pub struct StateCache {
    inner: Mutex<CacheInner>,
    budget: usize,
}

#[derive(Debug, Default)]
struct CacheInner {
    lists: HashMap<String, Cached>,
    bytes: usize,
}

/// A list's `SCORE` item as this process last wrote (or read) it.
#[derive(Debug)]
struct Cached {
    version: u64,
    held: Held,
    /// The time of the state's newest snapshot.
    newest: Option<DateTime<Utc>>,
    bytes: usize,
}

/// The item's `state` attribute, decoded when the budget had room for it.
#[derive(Debug)]
enum Held {
    /// The state, whose last write is the attribute ([`ListState::written_text`]; boxed: a list
    /// held as its attribute only costs a pointer for it).
    Decoded(Box<ListState>),
    /// The attribute.
    Text(String),
}

impl Held {
    /// What the cache counts for a list held so, under the key `pk`: the decoded state (its text
    /// included) or the attribute, and the map's own overhead per entry.
    fn bytes(&self, pk: &str) -> usize {
        let held = match self {
            Held::Decoded(state) => state.heap_bytes(),
            Held::Text(text) => text.capacity(),
        };
        held + pk.len() + std::mem::size_of::<Cached>() + 64
    }

    /// The attribute only: a state held decoded gives its text up.
    fn drop_decoded(&mut self) {
        *self = match std::mem::replace(self, Held::Text(String::new())) {
            Held::Decoded(state) => Held::Text(state.into_written_text()),
            text => text,
        };
    }
}

/// The list's `SCORE` item as the step knows it before writing.
#[derive(Debug)]
enum Stored {
    /// There is none.
    Absent,
    /// Its `version` and `state` attributes as read (a damaged item may lack either).
    Read { version: Option<Value>, state: Option<Value> },
    /// The state this process wrote last and holds decoded ([`StateCache`]): the item is that
    /// state's last write, at this version. Whether a merge changed it is told by the writer
    /// ([`ScoreStateItem::new_reusing`]) instead of by comparing the attribute.
    Held(u64),
}

impl Stored {
    fn read(item: Option<&Item>) -> Self {
        match item {
            None => Stored::Absent,
            Some(i) => Stored::Read { version: i.attrs.get("version").cloned(), state: i.attrs.get("state").cloned() },
        }
    }

    /// The item's version, when it has one.
    fn version(&self) -> Option<u64> {
        match self {
            Stored::Absent => None,
            Stored::Read { version, .. } => version.as_ref().and_then(Value::as_u64),
            Stored::Held(v) => Some(*v),
        }
    }
}

/// What the cache holds (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub lists: usize,
    /// Of `lists`, those held decoded.
    pub decoded: usize,
    pub bytes: usize,
}

impl StateCache {
    /// Lists not scored for this long (by their newest snapshot) make room for others.
    pub const IDLE_HOURS: i64 = 6;
    /// The default budget: about 3,500 lists of 20 entries at hourly refreshes, about 270 of them decoded
    /// (the trend-scorer's memory goal is a 32 MB peak; docs/operations.md).
    pub const DEFAULT_BUDGET: usize = 8 << 20;

    /// A cache that holds up to `budget` bytes of states.
    pub fn new(budget: usize) -> Self {
        StateCache { inner: Mutex::new(CacheInner::default()), budget }
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        let decoded = inner.lists.values().filter(|c| matches!(c.held, Held::Decoded(_))).count();
        CacheStats { lists: inner.lists.len(), decoded, bytes: inner.bytes }
    }

    /// Whether the cache holds the list's state.
    pub fn holds(&self, pk: &str) -> bool {
        self.lock().lists.contains_key(pk)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // A panic while holding the lock leaves a map that is still a valid cache.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the list's entry out (the step puts the state it writes back): its version and its
    /// `state` attribute, decoded when it was held so.
    fn take(&self, pk: &str) -> Option<(u64, Held)> {
        let mut inner = self.lock();
        let c = inner.lists.remove(pk)?;
        inner.bytes -= c.bytes;
        Some((c.version, c.held))
    }

    /// Holds the list's state, whose `version` is the item's and whose last write is the item's
    /// `state` attribute ([`ListState::written_text`]).
    fn hold(&self, pk: &str, state: Box<ListState>) {
        let version = state.version;
        // What the next record finds here is what it would read from the item (every test that
        // scores through a cache checks it).
        debug_assert_eq!(
            ListState::from_stored(version, state.written_text()).as_ref(),
            Ok(&*state),
            "the held state is not the item's"
        );
        let newest = state.newest();
        // The attribute alone, or the decoded state (which holds it).
        let small = state.written_text().len() + pk.len() + std::mem::size_of::<Cached>() + 64;
        let mut held = Held::Decoded(state);
        let full = held.bytes(pk);
        let mut inner = self.lock();
        if let Some(old) = inner.lists.remove(pk) {
            inner.bytes -= old.bytes;
        }
        if inner.bytes + small > self.budget {
            // Room for the list: other lists' decoded states first (they keep their attribute).
            let mut bytes = inner.bytes;
            for (key, c) in inner.lists.iter_mut() {
                if bytes + small <= self.budget {
                    break;
                }
                if let Held::Decoded(_) = c.held {
                    c.held.drop_decoded();
                    bytes -= c.bytes;
                    c.bytes = c.held.bytes(key);
                    bytes += c.bytes;
                }
            }
            inner.bytes = bytes;
        }
        if inner.bytes + small > self.budget {
            // Then the lists idle for a while.
            if let Some(t) = newest {
                let idle = t - chrono::Duration::hours(Self::IDLE_HOURS);
                let before = inner.lists.len();
                inner.lists.retain(|_, c| c.newest.is_some_and(|n| n >= idle));
                if inner.lists.len() != before {
                    inner.bytes = inner.lists.values().map(|c| c.bytes).sum();
                }
            }
            if inner.bytes + small > self.budget {
                return;
            }
        }
        if inner.bytes + full > self.budget {
            held.drop_decoded();
        }
        let bytes = held.bytes(pk);
        inner.bytes += bytes;
        inner.lists.insert(pk.to_string(), Cached { version, held, newest, bytes });
    }
}

impl Default for StateCache {
    fn default() -> Self {
        StateCache::new(StateCache::DEFAULT_BUDGET)
    }
}

/// Scores one snapshot of the store's list (see the module docs).
pub async fn score_snapshot(
    store: &dyn SnapshotStore,
    snapshot: &Snapshot,
    cfg: &SignalConfig,
) -> Result<ScoreReport, ScoreError> {
    score_snapshot_with(store, snapshot, cfg, None).await
}

/// [`score_snapshot`] with the process's [`StateCache`]: a list whose state the cache holds is scored
/// without reading the `SCORE` item; the state written is held for the list's next snapshot.
pub async fn score_snapshot_with(
    store: &dyn SnapshotStore,
    snapshot: &Snapshot,
    cfg: &SignalConfig,
    cache: Option<&StateCache>,
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
        state_rebuilt: false,
        state_note: None,
        history_read: 0,
        history_corrupt: 0,
        events_written: Vec::new(),
        events_existing: 0,
        events_suppressed: 0,
        state_written: false,
        latest: LatestOutcome::NotScored,
        calibration_note: None,
        products: Vec::new(),
        signals: None,
    };
    if report.empty {
        return Ok(report);
    }

    // 1. Load the state (the one this process wrote last, or the item); rebuild what it lacks from
    // the items.
    let held = cache.and_then(|c| c.take(&pk)).and_then(|(version, held)| match held {
        Held::Decoded(state) => Some((Stored::Held(version), state)),
        // What this process wrote decodes; if it ever did not, the item is read as without a cache.
        Held::Text(encoded) => {
            let state = Box::new(ListState::from_stored(version, &encoded).ok()?);
            Some((Stored::Read { version: Some(Value::from(version)), state: Some(Value::String(encoded)) }, state))
        }
    });
    let (stored, mut state) = match held {
        Some(held) => held,
        None => {
            let raw = store.get(&pk, SCORE_SK).await?;
            let stored = Stored::read(raw.as_ref());
            let state = match raw.as_ref().map(|i| i.decode::<ScoreStateItem>()) {
                None => ListState::default(),
                Some(Ok(item)) => item.state().unwrap_or_else(|e| {
                    report.state_note = Some(e.to_string());
                    let mut fresh = ListState::default();
                    fresh.version = item.version;
                    fresh
                }),
                Some(Err(e)) => {
                    report.state_note = Some(e.to_string());
                    ListState::default()
                }
            };
            (stored, Box::new(state))
        }
    };
    if !state.covers(t, cfg) {
        report.state_rebuilt = true;
        let (history, corrupt) = lookback_history(store, &pk, t, cfg).await?;
        report.history_corrupt = corrupt;
        report.history_read = history.len();
        let epk = keys::event_pk(s.site, &s.category);
        let eq = Query::pk(&epk).between(keys::ts(t - cfg.rearm()), keys::ts(t));
        let fired: Vec<FiredEvent> =
            store.query(&eq).await?.iter().filter_map(|i| FiredEvent::from_sk(&i.sk)).collect();
        state.rebuild_from(t, &history, &fired, cfg);
    }
    let calibration: Option<CalibrationItem> = store
        .get_eventually_consistent(&keys::calibration_pk(s.site, &s.category), keys::RANKCURVE)
        .await?
        .and_then(|i| i.decode().ok());

    // 2. Score.
    let ctx = signals::ScoreContext { state: &state, calibration: calibration.as_ref() };
    // The snapshot laid out against the state is kept for the merge (`absorb_prepared`).
    let (mut scored, prepared) = signals::score_keeping(&s, &ctx, cfg);
    // Title, brand and link are in the product items (a stored snapshot does not carry them, and
    // the state never did): one read per distinct product of an event without them.
    names::fill_events(store, &mut scored.events).await?;
    let plan = signals::plan_writes(&scored)?;
    report.baseline = scored.signals.baseline;
    report.events_suppressed = scored.suppressed;
    if scored.signals.demand.source == CurveSource::Default {
        report.calibration_note = scored.signals.demand.note.clone();
    }

    // 3. Write: events, then the state (which holds the latest ranking).
    for (item, typed) in plan.events.into_iter().zip(&scored.events) {
        match store.put(item, PutCondition::IfAbsent).await? {
            PutOutcome::Written => report.events_written.push(typed.clone()),
            PutOutcome::ConditionFailed => report.events_existing += 1,
        }
    }
    let (written, newest, now_stored) = write_state(store, &pk, &s, &scored, prepared, state, stored, cfg).await?;
    if let (Some(cache), Some(state)) = (cache, now_stored) {
        cache.hold(&pk, state);
    }
    report.state_written = written;
    report.latest = match newest {
        Some(at) if at > t => LatestOutcome::Newer(at),
        _ if written => LatestOutcome::Written,
        _ => LatestOutcome::AlreadyCurrent,
    };
    report.products = scored.products;
    report.signals = Some(scored.signals);
    Ok(report)
}

/// The snapshot items of `pk` in `[t − lookback, t)`, and how many of them did not decode (skipped).
async fn lookback_history(
    store: &dyn SnapshotStore,
    pk: &str,
    t: DateTime<Utc>,
    cfg: &SignalConfig,
) -> Result<(Vec<Snapshot>, usize), StoreError> {
    let own_sk = keys::snapshot_sk(t);
    let (mut history, mut corrupt) = (Vec::new(), 0);
    let q = Query::pk(pk).between(keys::snapshot_sk(t - cfg.lookback()), own_sk.clone()).eventually_consistent();
    for item in store.query(&q).await? {
        if item.sk == own_sk {
            continue;
        }
        match SnapshotItem::from_item(&item) {
            Ok(si) => history.push(si.snapshot),
            Err(_) => corrupt += 1,
        }
    }
    Ok((history, corrupt))
}

/// The state as stored after the step, with the item's `version`, its last write the item's `state`
/// attribute (for the [`StateCache`]).
type NowStored = Option<Box<ListState>>;

/// Merges the scored snapshot into the state and writes it (compare-and-swap on `version`); no
/// write when the merge changes nothing (a replay). `prepared` is the snapshot laid out against
/// `state` as scored (the first merge takes it; one after a failed write, into the state read
/// again, lays the snapshot out anew). `stored` is the item as the step knows it. Returns whether it
/// wrote, the time of the state's newest snapshot, and the item as it now is.
#[allow(clippy::too_many_arguments)]
async fn write_state(
    store: &dyn SnapshotStore,
    pk: &str,
    s: &crate::snapshot::Snapshot,
    scored: &Scored,
    prepared: Prepared<'_>,
    mut state: Box<ListState>,
    mut stored: Stored,
    cfg: &SignalConfig,
) -> Result<(bool, Option<DateTime<Utc>>, NowStored), ScoreError> {
    let mut prepared = Some(prepared);
    for _ in 0..CAS_ATTEMPTS {
        state.absorb_prepared(s, prepared.take(), &scored.products, &scored.events, cfg);
        let newest = state.newest();
        let (mut next, same) = ScoreStateItem::new_reusing(s.site, &s.category, &mut state);
        let stored_version = stored.version();
        let unchanged = match &stored {
            Stored::Absent | Stored::Read { version: None, .. } => false,
            Stored::Read { state, .. } => state.as_ref().and_then(Value::as_str) == Some(next.state.as_str()),
            Stored::Held(_) => same,
        };
        if unchanged {
            // A replay: nothing to write.
            return Ok((
                false,
                newest,
                stored_version.map(|v| {
                    state.version = v;
                    state
                }),
            ));
        }
        let condition = match &stored {
            Stored::Absent => PutCondition::IfAbsent,
            Stored::Read { version: Some(v), .. } => {
                PutCondition::IfAttrEquals { name: "version".into(), value: v.clone() }
            }
            Stored::Held(v) => PutCondition::IfAttrEquals { name: "version".into(), value: Value::from(*v) },
            // An item without a version (not ours, or damaged): replaced.
            Stored::Read { version: None, .. } => PutCondition::Always,
        };
        next.version = stored_version.map_or(1, |v| v + 1);
        let version = next.version;
        match store.put(next.into_item()?, condition).await? {
            PutOutcome::Written => {
                state.version = version;
                return Ok((true, newest, Some(state)));
            }
            PutOutcome::ConditionFailed => {
                let raw = store.get(pk, SCORE_SK).await?;
                stored = Stored::read(raw.as_ref());
                *state = raw
                    .and_then(|i| i.decode::<ScoreStateItem>().ok())
                    .and_then(|i| i.state().ok())
                    .unwrap_or_default();
            }
        }
    }
    Err(ScoreError::Contended { pk: pk.to_string(), item: SCORE_SK, attempts: CAS_ATTEMPTS })
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
        block_on(names::store_snapshot(store, &item, PutCondition::Always, &[]))?;
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

/// The list's latest ranking with its signals: the newest snapshot of the list's `SCORE` item,
/// scored again against that state (docs/signals.md §7), with the snapshot's prices and reviews
/// and the products' names (title, brand, link) from their `META` items. When `SCORE` is missing or unreadable (not scored yet; a state format the reader does not
/// know), the newest snapshot item is scored against its lookback read from the snapshot items, as
/// the scorer's rebuild does (dwell then starts within the lookback). `None` when the list has no
/// snapshot.
pub async fn read_latest(
    store: &dyn SnapshotStore,
    site: SiteId,
    category: &CategoryId,
    cfg: &SignalConfig,
) -> Result<Option<signals::LatestItem>, StoreError> {
    let pk = keys::category_pk(site, category);
    let state = store
        .get(&pk, SCORE_SK)
        .await?
        .and_then(|item| item.decode::<ScoreStateItem>().ok())
        .and_then(|item| item.state().ok())
        .filter(|state| state.newest().is_some());
    let snap = match &state {
        Some(state) => match state.newest() {
            Some(t) => store.get(&pk, &keys::snapshot_sk(t)).await?,
            None => None,
        },
        None => {
            let q = Query::pk(&pk).begins_with(keys::SNAP_PREFIX).backward().limit(1);
            store.query(&q).await?.into_iter().next()
        }
    };
    let Some(snap) = snap else { return Ok(None) };
    let snapshot = SnapshotItem::from_item(&snap)?
        .snapshot
        .normalized()
        .map_err(|e| StoreError::Corrupt(format!("the snapshot {pk}/{} is invalid: {e}", snap.sk)))?;
    let state = match state {
        Some(state) => state,
        None => {
            let (history, _) = lookback_history(store, &pk, snapshot.taken_at, cfg).await?;
            let mut state = ListState::default();
            state.rebuild_from(snapshot.taken_at, &history, &[], cfg);
            state
        }
    };
    let calibration: Option<CalibrationItem> = store
        .get_eventually_consistent(&keys::calibration_pk(site, category), keys::RANKCURVE)
        .await?
        .and_then(|i| i.decode().ok());
    let mut latest = latest_from_state(&snapshot, &state, calibration.as_ref(), cfg);
    names::fill_latest(store, &mut latest).await?;
    Ok(Some(latest))
}

/// The ranking of `snapshot` (the newest of `state`, already merged into it) with its signals, as
/// the scorer computed them: scored against the state's earlier snapshots, with the dwell runs the
/// state kept for its newest column.
pub fn latest_from_state(
    snapshot: &Snapshot,
    state: &ListState,
    calibration: Option<&CalibrationItem>,
    cfg: &SignalConfig,
) -> signals::LatestItem {
    let scored = signals::score(snapshot, &signals::ScoreContext { state, calibration }, cfg);
    let mut latest = scored.into_latest();
    let t = snapshot.taken_at;
    // The earlier columns no longer carry the runs the scorer continued from; the newest keeps the
    // runs it computed.
    if let Some(col) = state.cols.last().filter(|c| c.at == t && c.dwell.len() == latest.products.len()) {
        for (p, d) in latest.products.iter_mut().zip(&col.dwell) {
            p.top_since = d.top_since;
            p.top_dwell_secs = d.top_since.map(|x| (t - x).num_seconds());
            p.number_one_since = d.one_since;
            p.number_one_dwell_secs = d.one_since.map(|x| (t - x).num_seconds());
        }
    }
    latest.fill_from(snapshot);
    latest
}

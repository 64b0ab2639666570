//! The signal vectors of `testdata/signals/` through `score_series`, the score step against the
//! in-memory store (replay, out of order, the latest ranking), and property tests of the scorer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed unwrap is a failed test

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::executor::block_on;
use meli_core::billing;
use meli_core::ids::{CategoryId, EntryId, EntryType, Position, SiteId};
use meli_core::keys;
use meli_core::names;
use meli_core::score_step::{
    score_series, score_series_in, score_snapshot, score_snapshot_with, CacheStats, LatestOutcome, ScoreReport,
    StateCache,
};
use meli_core::signals::{self, CalibrationItem, EventItem, EventKind, LatestItem, SignalConfig, SnapshotItem};
use meli_core::snapshot::Snapshot;
use meli_core::store::{Item, MemorySnapshotStore, PutCondition, Query, SnapshotStore};
use proptest::prelude::*;
use serde_json::{json, Value};

const TOLERANCE: f64 = 1e-4;

// ---------------------------------------------------------------------------------------------
// Vectors

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/signals")
}

/// Compares an expected JSON value with an actual one: objects by the expected keys only (a missing
/// actual key is null), numbers within the tolerance, everything else exactly.
fn check(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Null, Value::Null) => Ok(()),
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap_or(f64::NAN), a.as_f64().unwrap_or(f64::NAN));
            if (e - a).abs() <= TOLERANCE {
                Ok(())
            } else {
                Err(format!("{path}: expected {e}, got {a}"))
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                check(ev, a.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                check(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

fn key_kind_of(expected: &Value) -> String {
    let kind = expected["kind"].as_str().unwrap_or_default();
    match expected.get("n").and_then(Value::as_u64) {
        Some(n) if kind == "entered_top_n" => format!("entered_top_{n}"),
        Some(n) if kind == "left_top_n" => format!("left_top_{n}"),
        _ => kind.to_string(),
    }
}

fn run_vector(path: &PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let cfg: SignalConfig = match v.get("config") {
        Some(c) => serde_json::from_value(c.clone()).map_err(|e| format!("config: {e}"))?,
        None => SignalConfig::default(),
    };
    let snapshots: Vec<Snapshot> =
        serde_json::from_value(v["snapshots"].clone()).map_err(|e| format!("snapshots: {e}"))?;
    let store = MemorySnapshotStore::new();
    if let Some(cal) = v.get("calibration") {
        let first = &snapshots[0];
        let item = CalibrationItem::new(
            first.site,
            &first.category,
            cal["b"].as_f64().unwrap(),
            cal["b_stderr"].as_f64().unwrap(),
            keys::parse_ts(cal["fitted_at"].as_str().unwrap()).unwrap(),
            cal["n"].as_u64().unwrap(),
        );
        block_on(store.put(item.to_item().unwrap(), PutCondition::Always)).unwrap();
    }
    let reports = score_series_in(&store, snapshots.clone(), &cfg).map_err(|e| format!("scoring: {e:?}"))?;

    // Events: exactly the expected keys, and the listed fields.
    let expect = &v["expect"];
    let actual: Vec<&EventItem> = reports.iter().flat_map(|r| &r.events_written).collect();
    let mut got: Vec<(String, String, String)> =
        actual.iter().map(|e| (keys::ts(e.taken_at), e.key_kind.clone(), e.product.to_string())).collect();
    let empty = vec![];
    let exp_events = expect["events"].as_array().unwrap_or(&empty);
    let mut want: Vec<(String, String, String)> = exp_events
        .iter()
        .map(|e| (e["taken_at"].as_str().unwrap().to_string(), key_kind_of(e), e["product"].as_str().unwrap().into()))
        .collect();
    got.sort();
    want.sort();
    if got != want {
        return Err(format!("events differ:\n  expected {want:?}\n  got      {got:?}"));
    }
    for e in exp_events {
        let key = (e["taken_at"].as_str().unwrap(), key_kind_of(e), e["product"].as_str().unwrap());
        let a = actual
            .iter()
            .find(|a| keys::ts(a.taken_at) == key.0 && a.key_kind == key.1 && a.product.as_str() == key.2)
            .unwrap();
        check(e, &serde_json::to_value(a).unwrap(), &format!("event {key:?}"))?;
    }
    if let Some(n) = expect.get("suppressed").and_then(Value::as_u64) {
        let total: usize = reports.iter().map(|r| r.events_suppressed).sum();
        if total as u64 != n {
            return Err(format!("expected {n} suppressed events, got {total}"));
        }
    }

    // Signals at the listed snapshot times.
    for s in expect.get("signals").and_then(Value::as_array).unwrap_or(&empty) {
        let at = s["taken_at"].as_str().unwrap();
        let r = reports.iter().find(|r| keys::ts(r.taken_at) == at).ok_or(format!("no report at {at}"))?;
        if let Some(c) = s.get("category") {
            check(c, &serde_json::to_value(&r.signals).unwrap(), &format!("{at} category"))?;
        }
        if let Some(Value::Object(products)) = s.get("products") {
            for (id, ep) in products {
                let p = r.products.iter().find(|p| p.id.as_str() == id).ok_or(format!("{at}: no product {id}"))?;
                check(ep, &serde_json::to_value(p).unwrap(), &format!("{at} {id}"))?;
            }
        }
    }

    // The public entry point agrees (same code path, fresh store; the calibration only changes demand).
    let events = score_series(snapshots, &cfg).map_err(|e| format!("score_series: {e:?}"))?;
    let keys_a: Vec<&str> = events.iter().map(|e| e.sk.as_str()).collect();
    let keys_b: Vec<&str> = actual.iter().map(|e| e.sk.as_str()).collect();
    if keys_a != keys_b {
        return Err(format!("score_series gave {keys_a:?}, the step gave {keys_b:?}"));
    }
    Ok(())
}

#[test]
fn vectors_pass() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "expected at least 10 vectors, found {}", paths.len());
    let mut kinds: HashSet<String> = HashSet::new();
    let mut failures = Vec::new();
    for p in &paths {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        for e in v["expect"]["events"].as_array().unwrap() {
            kinds.insert(e["kind"].as_str().unwrap().to_string());
        }
        if let Err(e) = run_vector(p) {
            failures.push(format!("{}: {e}", p.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(failures.is_empty(), "failing vectors:\n{}", failures.join("\n"));
    for k in EventKind::ALL {
        assert!(kinds.contains(k.as_str()), "no vector covers {}", k.as_str());
    }
}

// ---------------------------------------------------------------------------------------------
// The step against the in-memory store

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

fn cat() -> CategoryId {
    CategoryId::parse("MLB1055").unwrap()
}

fn snap_at(t: DateTime<Utc>, ids: &[u32]) -> Snapshot {
    let names: Vec<String> = ids.iter().map(|n| format!("MLB{n}")).collect();
    let mut s = Snapshot::ranked(&cat(), t, &names, EntryType::Product).unwrap();
    for (e, n) in s.entries.iter_mut().zip(ids) {
        e.title = Some(format!("Celular {n}"));
        e.permalink = Some(format!("https://www.mercadolivre.com.br/p/MLB{n}"));
        e.price = Some(1000.0 + f64::from(*n));
        e.currency = Some("BRL".into());
        e.reviews_total = Some(100);
    }
    s
}

fn hours(h: i64) -> DateTime<Utc> {
    t0() + Duration::hours(h)
}

/// Every item of the store that the scorer can touch for these products.
fn dump(store: &MemorySnapshotStore, products: &[u32]) -> Vec<Item> {
    let mut pks = vec![
        keys::category_pk(SiteId::MLB, &cat()),
        keys::event_pk(SiteId::MLB, &cat()),
        keys::calibration_pk(SiteId::MLB, &cat()),
    ];
    pks.extend(products.iter().map(|n| keys::product_pk(SiteId::MLB, &EntryId::parse(&format!("MLB{n}")).unwrap())));
    let mut out = Vec::new();
    for pk in pks {
        out.extend(block_on(store.query(&Query::pk(pk))).unwrap());
    }
    assert_eq!(out.len(), store.len(), "dump missed items");
    out
}

/// Stores a snapshot as the fetcher does: its names into the product items, then the item.
fn store_snapshot(store: &MemorySnapshotStore, s: &Snapshot) {
    block_on(names::store_snapshot(store, &SnapshotItem::new(s.clone(), 30), PutCondition::Always, &[])).unwrap();
}

/// The snapshot at `t` as its stored item gives it back (what the scorer Lambda reads): no names.
fn stored(store: &MemorySnapshotStore, t: DateTime<Utc>) -> Snapshot {
    let item = block_on(store.get(&keys::category_pk(SiteId::MLB, &cat()), &keys::snapshot_sk(t))).unwrap().unwrap();
    SnapshotItem::from_item(&item).unwrap().snapshot
}

fn score(store: &MemorySnapshotStore, s: &Snapshot) -> ScoreReport {
    store_snapshot(store, s);
    block_on(score_snapshot(store, s, &SignalConfig::default())).unwrap()
}

fn latest(store: &MemorySnapshotStore) -> LatestItem {
    block_on(meli_core::score_step::read_latest(store, SiteId::MLB, &cat(), &SignalConfig::default())).unwrap().unwrap()
}

fn series() -> Vec<Snapshot> {
    let a: Vec<u32> = (1..=20).collect();
    let mut b = a.clone();
    b.swap(0, 1); // new #1
    b[19] = 21; // new entrant, #20 drops out
    let mut c = b.clone();
    let x = c.remove(13); // #14 climbs to #3
    c.insert(2, x);
    vec![snap_at(hours(0), &a), snap_at(hours(1), &b), snap_at(hours(2), &c)]
}

#[test]
fn replaying_any_snapshot_writes_nothing_new() {
    let store = MemorySnapshotStore::new();
    let s = series();
    let first: Vec<ScoreReport> = s.iter().map(|x| score(&store, x)).collect();
    assert!(first[0].baseline && first[0].events_written.is_empty());
    assert!(!first[1].events_written.is_empty() && !first[2].events_written.is_empty());
    let products: Vec<u32> = (1..=21).collect();
    let before = dump(&store, &products);
    for x in s.iter().rev() {
        let r = score(&store, x);
        assert!(r.events_written.is_empty(), "replay of {} wrote {:?}", x.taken_at, r.events_written);
        assert!(!r.state_written);
        assert!(matches!(r.latest, LatestOutcome::AlreadyCurrent | LatestOutcome::Newer(_)));
    }
    assert_eq!(dump(&store, &products), before);
    // The replays computed the same events, which were already stored.
    let r = score(&store, &s[1]);
    assert_eq!(r.events_existing, first[1].events_written.len());
}

#[test]
fn an_older_snapshot_scored_late_does_not_replace_latest() {
    let store = MemorySnapshotStore::new();
    let s = series();
    score(&store, &s[0]);
    let r2 = score(&store, &s[2]);
    assert_eq!(r2.latest, LatestOutcome::Written);
    let r1 = score(&store, &s[1]);
    assert_eq!(r1.latest, LatestOutcome::Newer(s[2].taken_at));
    let shown = serde_json::to_value(&r1).unwrap();
    assert_eq!(shown["latest"], json!({"outcome": "newer", "at": "2026-11-01T02:00:00Z"}));
    let l = latest(&store);
    assert_eq!(l.taken_at, s[2].taken_at);
    let ids: Vec<&str> = l.products.iter().map(|p| p.id.as_str()).collect();
    let want: Vec<&str> = s[2].entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, want);
    // The late snapshot still gets the events of its own time (against 0 h, not 2 h).
    let kinds: BTreeSet<String> = r1.events_written.iter().map(|e| format!("{}#{}", e.key_kind, e.product)).collect();
    assert!(kinds.contains("new_number_one#MLB2"), "{kinds:?}");
    assert!(kinds.contains("dropped_out#MLB20"), "{kinds:?}");
    // And the state (seen ranges, snapshots held) is what in-order scoring gives.
    let seen_of = |st: &MemorySnapshotStore| {
        let s = state_of(st);
        (s.ids, s.seen, s.list_started_at, s.cols.iter().map(|c| c.at).collect::<Vec<_>>())
    };
    let in_order = MemorySnapshotStore::new();
    for x in &s {
        score(&in_order, x);
    }
    assert_eq!(seen_of(&store), seen_of(&in_order));
}

#[test]
fn latest_history_and_event_items_carry_what_readers_need() {
    let store = MemorySnapshotStore::new();
    let s = series();
    for x in &s {
        score(&store, x);
    }
    let l = latest(&store);
    assert_eq!(l.taken_at, s[2].taken_at);
    assert!(!l.baseline);
    assert_eq!(l.products.len(), 20);
    assert_eq!(l.products[2].id.as_str(), "MLB14");
    assert_eq!(l.products[2].change_prev, Some(11));
    assert_eq!(l.products[2].title.as_deref(), Some("Celular 14"));
    assert!(l.signals.volatility.unwrap() > 0.0);

    // No per-product history items: a product's history is read from the snapshot items. The
    // product item (its names) is written when a snapshot is stored, not by the step.
    let prod =
        block_on(store.query(&Query::pk(keys::product_pk(SiteId::MLB, &EntryId::parse("MLB14").unwrap())))).unwrap();
    let sks: Vec<&str> = prod.iter().map(|i| i.sk.as_str()).collect();
    assert_eq!(sks, [keys::META], "nothing under PROD# but the product item: {prod:?}");

    let evts = block_on(store.query(&Query::pk(keys::event_pk(SiteId::MLB, &cat())))).unwrap();
    let climber = evts.iter().find(|i| i.sk.ends_with("#climber#MLB14")).expect("a climber event");
    let e: EventItem = climber.decode().unwrap();
    assert_eq!(e.sk, keys::event_sk(s[2].taken_at, "climber", &e.product));
    assert_eq!((e.from_position, e.to_position, e.places), (Some(14), Some(3), Some(11)));
    assert_eq!(e.title.as_deref(), Some("Celular 14"));
    assert_eq!(e.permalink.as_deref(), Some("https://www.mercadolivre.com.br/p/MLB14"));
    assert_eq!((e.price, e.currency.as_deref()), (Some(1014.0), Some("BRL")));
    let spark: Vec<Option<u8>> = e.recent_positions.iter().map(|p| p.position).collect();
    assert_eq!(spark, vec![Some(14), Some(14), Some(3)]);
    assert!(e.expires_at > s[2].taken_at.timestamp());
    // The entered-top-3 event is notable, the new #1 major.
    let top3: EventItem = evts.iter().find(|i| i.sk.ends_with("#entered_top_3#MLB14")).unwrap().decode().unwrap();
    assert_eq!((top3.kind, top3.n, top3.severity), (EventKind::EnteredTopN, Some(3), signals::Severity::Notable));
}

#[test]
fn events_and_the_latest_ranking_take_their_names_from_the_product_items() {
    let store = MemorySnapshotStore::new();
    let mut s = series();
    // A fourth list where the marketplace has renamed MLB14.
    let mut d = s[2].clone();
    d.taken_at = hours(3);
    d.entries.swap(0, 1);
    for (i, e) in d.entries.iter_mut().enumerate() {
        e.position = Position::new(i as i64 + 1).unwrap();
        if e.id.as_str() == "MLB14" {
            e.title = Some("Celular 14 Pro".into());
        }
    }
    s.push(d);
    let mut written = Vec::new();
    for x in &s {
        store_snapshot(&store, x);
        let decoded = stored(&store, x.taken_at);
        assert!(decoded.entries.iter().all(|e| e.title.is_none() && e.brand.is_none() && e.permalink.is_none()));
        assert_eq!(decoded.entries.len(), x.entries.len());
        let r = block_on(score_snapshot(&store, &decoded, &SignalConfig::default())).unwrap();
        written.push(r.events_written);
    }
    let find = |at: usize, key: &str| written[at].iter().find(|e| e.sk.ends_with(key)).cloned().unwrap();
    let climber = find(2, "#climber#MLB14");
    assert_eq!(climber.title.as_deref(), Some("Celular 14"));
    assert_eq!(climber.permalink.as_deref(), Some("https://www.mercadolivre.com.br/p/MLB14"));
    assert_eq!((climber.price, climber.currency.as_deref()), (Some(1014.0), Some("BRL")), "from the snapshot");
    // MLB20 left the list at 1 h: its event has the names all the same.
    let left = find(1, "#dropped_out#MLB20");
    assert_eq!(left.title.as_deref(), Some("Celular 20"));
    assert_eq!(left.permalink.as_deref(), Some("https://www.mercadolivre.com.br/p/MLB20"));
    assert!(written.iter().flatten().all(|e| e.title.is_some()), "every event has its product's title");
    // The latest ranking read back: every product named, with the current names.
    let l = latest(&store);
    assert_eq!(l.taken_at, hours(3));
    assert!(l.products.iter().all(|p| p.title.is_some() && p.permalink.is_some()), "{:?}", l.products);
    let p14 = l.products.iter().find(|p| p.id.as_str() == "MLB14").unwrap();
    assert_eq!(p14.title.as_deref(), Some("Celular 14 Pro"));
}

#[test]
fn empty_snapshots_and_bad_calibrations_are_handled() {
    let store = MemorySnapshotStore::new();
    score(&store, &snap_at(hours(0), &[1, 2, 3]));
    let r = score(&store, &snap_at(hours(1), &[]));
    assert!(r.empty && r.events_written.is_empty() && r.latest == LatestOutcome::NotScored);
    let bad = CalibrationItem::new(SiteId::MLB, &cat(), -1.0, 0.1, t0(), 10);
    block_on(store.put(bad.to_item().unwrap(), PutCondition::Always)).unwrap();
    // The list after the empty snapshot compares with the last non-empty one: nothing moved.
    let r = score(&store, &snap_at(hours(2), &[1, 2, 3]));
    assert!(r.events_written.is_empty(), "{:?}", r.events_written);
    assert!(r.calibration_note.as_deref().unwrap_or_default().contains("calibration ignored"));
    assert_eq!(r.signals.unwrap().previous_at, Some(hours(0)));
}

#[test]
fn invalid_snapshots_are_rejected() {
    let store = MemorySnapshotStore::new();
    let mut s = snap_at(hours(0), &[1, 2]);
    s.entries[1].position = Position::new(1).unwrap();
    let err = block_on(score_snapshot(&store, &s, &SignalConfig::default())).unwrap_err();
    assert!(!err.is_transient());
    assert!(store.is_empty());
}

fn state_of(st: &MemorySnapshotStore) -> signals::ListState {
    let item: signals::ScoreStateItem = block_on(st.get(&keys::category_pk(SiteId::MLB, &cat()), signals::SCORE_SK))
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    item.state().unwrap()
}

/// A store where another scorer writes the same list's `SCORE` just before our first conditional
/// put of it (a race the compare-and-swap must survive).
struct RacingStore {
    inner: MemorySnapshotStore,
    rival_seen: std::sync::Mutex<Option<Snapshot>>,
}

#[async_trait::async_trait]
impl SnapshotStore for RacingStore {
    async fn put(
        &self,
        item: Item,
        condition: PutCondition,
    ) -> Result<meli_core::store::PutOutcome, meli_core::store::StoreError> {
        let rival = match item.sk.as_str() {
            signals::SCORE_SK => self.rival_seen.lock().unwrap().take(),
            _ => None,
        };
        if let Some(r) = rival {
            // The rival scores its own snapshot completely first.
            names::store_snapshot(&self.inner, &SnapshotItem::new(r.clone(), 30), PutCondition::Always, &[]).await?;
            score_snapshot(&self.inner, &r, &SignalConfig::default()).await.unwrap();
        }
        self.inner.put(item, condition).await
    }
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, meli_core::store::StoreError> {
        self.inner.get(pk, sk).await
    }
    async fn query(&self, q: &Query) -> Result<Vec<Item>, meli_core::store::StoreError> {
        self.inner.query(q).await
    }
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), meli_core::store::StoreError> {
        self.inner.delete(pk, sk).await
    }
}

#[test]
fn state_and_latest_survive_a_concurrent_scorer() {
    let racing = RacingStore { inner: MemorySnapshotStore::new(), rival_seen: std::sync::Mutex::new(None) };
    let a = snap_at(hours(0), &[1, 2, 3]);
    store_snapshot(&racing.inner, &a);
    block_on(score_snapshot(&racing, &a, &SignalConfig::default())).unwrap();
    // Ours is 1 h, the rival's 2 h (with a product ours has never seen) lands in between.
    let ours = snap_at(hours(1), &[1, 2, 4]);
    let rival = snap_at(hours(2), &[1, 2, 5]);
    *racing.rival_seen.lock().unwrap() = Some(rival.clone());
    store_snapshot(&racing.inner, &ours);
    let r = block_on(score_snapshot(&racing, &ours, &SignalConfig::default())).unwrap();
    assert!(r.state_written);
    // The merge kept both: 4 from ours, 5 from the rival; list start from the first snapshot; the
    // three snapshots in time order.
    let st = state_of(&racing.inner);
    let ids: Vec<&str> = st.ids.iter().map(|k| k.as_str()).collect();
    assert_eq!(ids, ["MLB1", "MLB2", "MLB3", "MLB4", "MLB5"]);
    assert_eq!(st.list_started_at, Some(hours(0)));
    assert_eq!(st.cols.iter().map(|c| c.at).collect::<Vec<_>>(), [hours(0), hours(1), hours(2)]);
    assert_eq!(st.version, 3);
    // The rival's newer ranking stays the latest.
    assert_eq!(r.latest, LatestOutcome::Newer(hours(2)));
    assert_eq!(latest(&racing.inner).taken_at, hours(2));

    // A rival that merges an older snapshot between our read and our put: we retry, and ours is the
    // latest.
    let older = snap_at(hours(3), &[2, 1, 5]);
    let newer = snap_at(hours(4), &[5, 1, 2]);
    *racing.rival_seen.lock().unwrap() = Some(older);
    store_snapshot(&racing.inner, &newer);
    let r = block_on(score_snapshot(&racing, &newer, &SignalConfig::default())).unwrap();
    assert_eq!(r.latest, LatestOutcome::Written);
    assert_eq!(latest(&racing.inner).taken_at, hours(4));
}

/// The latest ranking as the scorer computed it for `s` (its report), with the snapshot's fields.
fn expected_latest(r: &ScoreReport, s: &Snapshot) -> LatestItem {
    let mut l = LatestItem {
        site: r.site,
        category: r.category.clone(),
        taken_at: r.taken_at,
        baseline: r.baseline,
        products: r.products.clone(),
        signals: r.signals.clone().unwrap(),
    };
    l.fill_from(s);
    l
}

#[test]
fn the_latest_ranking_keeps_dwell_longer_than_the_lookback() {
    // Product 1 holds #1 for 60 hours (the lookback is about a day) while the rest reshuffle.
    let store = MemorySnapshotStore::new();
    let mut ids: Vec<u32> = (1..=20).collect();
    for h in 0..60 {
        ids[1..].rotate_left(1);
        let s = snap_at(hours(h), &ids);
        let r = score(&store, &s);
        let read = latest(&store);
        assert_eq!(read, expected_latest(&r, &s), "hour {h}");
    }
    let read = latest(&store);
    assert_eq!(read.products[0].number_one_dwell_secs, Some(59 * 3600));
    assert_eq!(read.products[0].top_dwell_secs, Some(59 * 3600));
}

// ---------------------------------------------------------------------------------------------
// Properties

fn list_strategy() -> impl Strategy<Value = Vec<u32>> {
    // Up to 20 distinct products out of 30.
    prop::sample::subsequence((1u32..=30).collect::<Vec<_>>(), 1..=20).prop_shuffle()
}

fn series_strategy() -> impl Strategy<Value = Vec<Snapshot>> {
    prop::collection::vec((list_strategy(), 1i64..(30 * 60), prop::collection::vec(1.0f64..5000.0, 20)), 1..12)
        .prop_map(|steps| {
            let mut t = t0();
            steps
                .into_iter()
                .enumerate()
                .map(|(i, (ids, gap_min, prices))| {
                    t += Duration::minutes(gap_min);
                    let mut s = snap_at(t, &ids);
                    for (e, p) in s.entries.iter_mut().zip(prices) {
                        e.price = Some(p);
                        e.reviews_total = Some(100 + i as u64 * (p as u64 % 40));
                    }
                    s
                })
                .collect()
        })
}

fn all_floats_finite(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
        Value::Array(a) => a.iter().all(all_floats_finite),
        Value::Object(o) => o.values().all(all_floats_finite),
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn scores_are_finite_and_keys_unique_and_deterministic(snaps in series_strategy()) {
        let cfg = SignalConfig::default();
        let store = MemorySnapshotStore::new();
        let reports = score_series_in(&store, snaps.clone(), &cfg).unwrap();
        let mut keys_seen = HashSet::new();
        for r in &reports {
            for p in &r.products {
                prop_assert!(p.momentum.is_finite() && (0.0..=20.0 + 1e-9).contains(&p.momentum));
                prop_assert!(p.demand.low <= p.demand.share && p.demand.share <= p.demand.high && p.demand.high <= 1.0);
                prop_assert!(all_floats_finite(&serde_json::to_value(p).unwrap()));
            }
            let sig = serde_json::to_value(&r.signals).unwrap();
            prop_assert!(all_floats_finite(&sig));
            for v in ["volatility", "churn", "volatility_24h"] {
                if let Some(x) = sig[v].as_f64() { prop_assert!((0.0..=1.0).contains(&x), "{v} = {x}"); }
            }
            prop_assert!(sig["new_entrant_rate"].as_f64().unwrap() >= 0.0);
            for e in &r.events_written {
                prop_assert!(keys_seen.insert((e.pk.clone(), e.sk.clone())), "duplicate key {}", e.sk);
                prop_assert_eq!(&e.sk, &keys::event_sk(e.taken_at, &e.key_kind, &e.product));
            }
        }
        let again = score_series(snaps, &cfg).unwrap();
        let a: Vec<String> = reports.iter().flat_map(|r| r.events_written.iter().map(|e| e.sk.clone())).collect();
        let b: Vec<String> = again.iter().map(|e| e.sk.clone()).collect();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn the_latest_ranking_read_back_is_what_the_scorer_computed(snaps in series_strategy()) {
        let store = MemorySnapshotStore::new();
        let mut sorted = snaps;
        sorted.sort_by_key(|s| s.taken_at);
        for s in sorted {
            let r = score(&store, &s);
            let read = latest(&store);
            prop_assert_eq!(read.taken_at, s.taken_at);
            prop_assert_eq!(&read, &expected_latest(&r, &s));
        }
    }

    #[test]
    fn an_unchanged_list_yields_no_movement(ids in list_strategy(), gaps in prop::collection::vec(1i64..(40 * 60), 1..8)) {
        let mut t = t0();
        let mut snaps = vec![snap_at(t, &ids)];
        for g in gaps {
            t += Duration::minutes(g);
            snaps.push(snap_at(t, &ids));
        }
        let reports = score_series_in(&MemorySnapshotStore::new(), snaps, &SignalConfig::default()).unwrap();
        for r in &reports {
            prop_assert!(r.events_written.is_empty() && r.events_suppressed == 0, "{:?}", r.events_written);
            let sig = r.signals.as_ref().unwrap();
            if sig.has_previous {
                prop_assert_eq!(sig.volatility, Some(0.0));
                prop_assert_eq!(sig.churn, Some(0.0));
            }
            for p in &r.products {
                prop_assert!(p.change_prev.unwrap_or(0) == 0 && p.change_24h.unwrap_or(0) == 0);
                prop_assert!(matches!(p.trend, signals::Trend::Stable));
            }
        }
    }

    #[test]
    fn swapping_two_snapshots_swaps_entrants_and_drop_outs(a in list_strategy(), b in list_strategy()) {
        let cfg = SignalConfig::default();
        let run = |x: &[u32], y: &[u32]| {
            let reports = score_series_in(
                &MemorySnapshotStore::new(),
                vec![snap_at(hours(0), x), snap_at(hours(1), y)],
                &cfg,
            )
            .unwrap();
            let of = |k: EventKind| -> BTreeSet<String> {
                reports[1].events_written.iter().filter(|e| e.kind == k).map(|e| e.product.to_string()).collect()
            };
            let sig = reports[1].signals.clone().unwrap();
            (of(EventKind::NewEntrant), of(EventKind::DroppedOut), sig)
        };
        let (in_ab, out_ab, sig_ab) = run(&a, &b);
        let (in_ba, out_ba, sig_ba) = run(&b, &a);
        prop_assert_eq!(&in_ab, &out_ba);
        prop_assert_eq!(&out_ab, &in_ba);
        prop_assert_eq!((sig_ab.entrants, sig_ab.exits), (sig_ba.exits, sig_ba.entrants));
        prop_assert_eq!(sig_ab.volatility, sig_ba.volatility);
        prop_assert_eq!(sig_ab.churn, sig_ba.churn);
        let expected_in: BTreeSet<String> = b.iter().filter(|x| !a.contains(x)).map(|n| format!("MLB{n}")).collect();
        prop_assert_eq!(in_ab, expected_in);
    }
}

#[test]
fn a_missing_or_damaged_state_is_rebuilt_from_the_items_with_the_same_results() {
    let s = series();
    let pk = keys::category_pk(SiteId::MLB, &cat());
    let normal = MemorySnapshotStore::new();
    let reports: Vec<ScoreReport> = s.iter().map(|x| score(&normal, x)).collect();
    assert!(reports[0].state_rebuilt, "the first record has no state yet");
    assert!(reports[1..].iter().all(|r| !r.state_rebuilt), "later records read the state");

    // The same series with the state damaged (then deleted) before every record after the first.
    let damaged = MemorySnapshotStore::new();
    for (i, x) in s.iter().enumerate() {
        if i == 1 {
            let mut item = block_on(damaged.get(&pk, signals::SCORE_SK)).unwrap().unwrap();
            item.attrs.insert("state", json!("AAAA"));
            block_on(damaged.put(item, PutCondition::Always)).unwrap();
        } else if i > 1 {
            block_on(damaged.delete(&pk, signals::SCORE_SK)).unwrap();
        }
        let r = score(&damaged, x);
        assert!(r.state_rebuilt);
        assert_eq!(r.state_note.is_some(), i == 1, "{:?}", r.state_note);
        let key = |e: &EventItem| e.sk.clone();
        assert_eq!(
            r.events_written.iter().map(key).collect::<Vec<_>>(),
            reports[i].events_written.iter().map(key).collect::<Vec<_>>()
        );
        assert_eq!(r.products, reports[i].products, "snapshot {i}");
    }
    assert_eq!(latest(&damaged), latest(&normal));

    // A reader that finds the state unreadable (or gone) still shows the newest list, scored against
    // the snapshot items: the same products and signals here, where no dwell run outlasts the series.
    let want = latest(&normal);
    let mut item = block_on(normal.get(&pk, signals::SCORE_SK)).unwrap().unwrap();
    item.attrs.insert("state", json!("AAAA"));
    block_on(normal.put(item, PutCondition::Always)).unwrap();
    assert_eq!(latest(&normal), want);
    block_on(normal.delete(&pk, signals::SCORE_SK)).unwrap();
    assert_eq!(latest(&normal), want);
    // No snapshot at all: no ranking.
    assert!(block_on(meli_core::score_step::read_latest(
        &MemorySnapshotStore::new(),
        SiteId::MLB,
        &cat(),
        &SignalConfig::default()
    ))
    .unwrap()
    .is_none());
}

/// Scores `snaps` in order through one store, with the given cache, and returns the events written,
/// the final `SCORE` item and the `SCORE` reads counted.
fn score_all(snaps: &[Snapshot], cache: Option<&StateCache>) -> (Vec<EventItem>, Item, u64) {
    let meter = std::sync::Arc::new(billing::Meter::new());
    let store = billing::MeteredStore::new(MemorySnapshotStore::new(), meter.clone());
    let mut events = Vec::new();
    for s in snaps {
        store_snapshot(store.inner(), s);
        let r = block_on(score_snapshot_with(&store, s, &SignalConfig::default(), cache)).unwrap();
        events.extend(r.events_written);
    }
    let score =
        block_on(store.inner().get(&keys::category_pk(SiteId::MLB, &cat()), signals::SCORE_SK)).unwrap().unwrap();
    let reads = meter.by_kind().get("CAT/SCORE").map_or(0, |u| u.reads);
    (events, score, reads)
}

#[test]
fn a_warm_cache_scores_without_reading_the_state_and_writes_the_same() {
    let snaps = series();
    let (cold_events, cold_item, cold_reads) = score_all(&snaps, None);
    let cache = StateCache::default();
    let (warm_events, warm_item, warm_reads) = score_all(&snaps, Some(&cache));
    assert_eq!(warm_events, cold_events);
    assert_eq!(warm_item, cold_item, "the same SCORE item, version included");
    assert_eq!(cold_reads, snaps.len() as u64);
    // Only the first snapshot reads (and finds nothing): the rest use the state it wrote.
    assert_eq!(warm_reads, 1);
    assert_eq!((cache.stats().lists, cache.stats().decoded), (1, 1));
    // A budget with no room for the decoded state holds the attribute, and decodes it per record.
    let strings = StateCache::new(cache.stats().bytes - 1);
    let (events, item, reads) = score_all(&snaps, Some(&strings));
    assert_eq!((events, item, reads), (cold_events, cold_item, 1));
    assert_eq!((strings.stats().lists, strings.stats().decoded), (1, 0));
}

#[test]
fn a_replay_through_a_warm_cache_writes_nothing() {
    // A state held decoded is told unchanged by its writer (the attribute is not held twice to
    // compare); one held as the attribute compares it. Either way a replay writes nothing, and
    // the list stays held as it was.
    let snaps = series();
    let products: Vec<u32> = (1..=21).collect();
    let probe = StateCache::default();
    score_all(&snaps, Some(&probe));
    // A budget that holds the attribute and no decoded state, however small: a replay decodes the
    // attribute, and a state decoded afresh is smaller than one kept warm (exact capacities), so a
    // budget just under the warm state's bytes could hold it decoded after the replay.
    let text_only = StateCache::new(probe.stats().bytes - 1);
    score_all(&snaps, Some(&text_only));
    let text_bytes = text_only.stats().bytes;
    assert_eq!(text_only.stats().decoded, 0);
    for (cache, decoded) in [(StateCache::default(), 1), (StateCache::new(text_bytes), 0)] {
        let store = MemorySnapshotStore::new();
        for s in &snaps {
            store_snapshot(&store, s);
            let r = block_on(score_snapshot_with(&store, s, &SignalConfig::default(), Some(&cache))).unwrap();
            assert!(r.state_written);
        }
        let before = dump(&store, &products);
        let held = cache.stats();
        assert_eq!((held.lists, held.decoded), (1, decoded));
        for s in snaps.iter().rev() {
            let r = block_on(score_snapshot_with(&store, s, &SignalConfig::default(), Some(&cache))).unwrap();
            assert!(!r.state_written && r.events_written.is_empty(), "replay of {} wrote", s.taken_at);
            assert_eq!(cache.stats(), held);
        }
        assert_eq!(dump(&store, &products), before);
        // And the next snapshot is written, from the state held.
        let next = snap_at(hours(3), &[2, 1, 14, 3, 4, 5]);
        store_snapshot(&store, &next);
        let r = block_on(score_snapshot_with(&store, &next, &SignalConfig::default(), Some(&cache))).unwrap();
        assert!(r.state_written);
        assert_eq!(state_of(&store).newest(), Some(hours(3)));
    }
}

#[test]
fn a_stale_cache_loses_the_compare_and_swap_and_keeps_the_other_writer_s_snapshot() {
    let (a, b, c) = (snap_at(hours(0), &[1, 2, 3]), snap_at(hours(1), &[1, 2, 4]), snap_at(hours(2), &[1, 2, 5]));
    let store = MemorySnapshotStore::new();
    let ours = StateCache::default();
    for s in [&a, &b] {
        store_snapshot(&store, s);
        block_on(score_snapshot_with(&store, s, &SignalConfig::default(), Some(&ours))).unwrap();
    }
    // Another instance (the shard moved) scores 2 h; ours still holds the state of 1 h.
    store_snapshot(&store, &c);
    block_on(score_snapshot_with(&store, &c, &SignalConfig::default(), Some(&StateCache::default()))).unwrap();
    let d = snap_at(hours(3), &[1, 2, 6]);
    store_snapshot(&store, &d);
    let r = block_on(score_snapshot_with(&store, &d, &SignalConfig::default(), Some(&ours))).unwrap();
    assert!(r.state_written);
    let st = state_of(&store);
    let cols: Vec<DateTime<Utc>> = st.cols.iter().map(|c| c.at).collect();
    assert_eq!(cols, [hours(0), hours(1), hours(2), hours(3)], "the other instance's 2 h was kept");
    assert!(st.index_of(&EntryId::parse("MLB5").unwrap()).is_some());
    // The same as a store scored without any cache.
    let (_, plain, _) = score_all(&[a, b, c, d], None);
    let theirs: signals::ScoreStateItem = plain.decode().unwrap();
    assert_eq!(st.cols, theirs.state().unwrap().cols);
}

#[test]
fn the_cache_keeps_to_its_budget_and_makes_room_from_idle_lists() {
    let one = |c: &str, t: DateTime<Utc>| {
        let mut s = snap_at(t, &(1..=20).collect::<Vec<_>>());
        s.category = CategoryId::parse(c).unwrap();
        s
    };
    let store = MemorySnapshotStore::new();
    let score_in = |cache: &StateCache, s: &Snapshot| {
        block_on(names::store_snapshot(&store, &SnapshotItem::new(s.clone(), 30), PutCondition::Always, &[])).unwrap();
        block_on(score_snapshot_with(&store, s, &SignalConfig::default(), Some(cache))).unwrap()
    };
    let pk = |c: &str| keys::category_pk(SiteId::MLB, &CategoryId::parse(c).unwrap());
    // No room at all: nothing held, scoring unaffected.
    let none = StateCache::new(0);
    assert!(score_in(&none, &one("MLB1000", hours(0))).state_written);
    assert_eq!(none.stats(), CacheStats::default());
    // Room for one list of one snapshot, decoded.
    let probe = StateCache::default();
    score_in(&probe, &one("MLB1001", hours(0)));
    assert_eq!((probe.stats().lists, probe.stats().decoded), (1, 1));
    let cache = StateCache::new(probe.stats().bytes + 100);
    score_in(&cache, &one("MLB1002", hours(0)));
    assert!(cache.holds(&pk("MLB1002")));
    assert_eq!(cache.stats().decoded, 1);
    // A second list: the first gives up its decoded state, and both are held as their attributes.
    score_in(&cache, &one("MLB1003", hours(1)));
    assert!(cache.holds(&pk("MLB1002")) && cache.holds(&pk("MLB1003")));
    assert_eq!((cache.stats().lists, cache.stats().decoded), (2, 0));
    assert!(cache.stats().bytes <= probe.stats().bytes + 100);
    let attribute = cache.stats().bytes / 2;
    // Room for one attribute: a second list, while the first is live, is not held (the first is
    // not evicted).
    let small = StateCache::new(attribute * 3 / 2);
    score_in(&small, &one("MLB1002", hours(2)));
    score_in(&small, &one("MLB1003", hours(3)));
    assert!(small.holds(&pk("MLB1002")) && !small.holds(&pk("MLB1003")));
    // Once the first has not been scored for IDLE_HOURS, it makes room.
    score_in(&small, &one("MLB1004", hours(2 + StateCache::IDLE_HOURS + 1)));
    assert!(!small.holds(&pk("MLB1002")) && small.holds(&pk("MLB1004")));
    assert_eq!(small.stats().lists, 1);
    assert!(small.stats().bytes <= attribute * 3 / 2);
}

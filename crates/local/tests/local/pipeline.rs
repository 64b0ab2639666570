//! The fetch step and the runner against the real sandbox server, through the real HTTP client.

use std::sync::Arc;

use chrono::Duration;
use meli_core::auth::MemoryTokenStore;
use meli_core::clock::{Clock, ManualClock};
use meli_core::fetch::{fetch_due, CategoryOutcome, FetchConfig};
use meli_core::ids::{CategoryId, EntryType, SiteId};
use meli_core::keys;
use meli_core::signals::{LatestItem, SignalConfig, SnapshotItem};
use meli_core::snapshot::EntryResolution;
use meli_core::store::{Query, SnapshotStore};
use meli_http::{Config as HttpConfig, MeliClient};
use meli_local::runner::Runner;
use meli_local::EmbeddedSnapshotStore;
use meli_sandbox::{FaultConfig, SandboxConfig, SandboxHandle};

fn cat(s: &str) -> (SiteId, CategoryId) {
    let c = CategoryId::parse(s).unwrap();
    (c.site(), c)
}

fn client(sb: &SandboxHandle, rps: f64) -> MeliClient {
    let mut cfg = HttpConfig::new(
        url::Url::parse(&sb.base_url()).unwrap(),
        meli_sandbox::DEFAULT_CLIENT_ID,
        meli_sandbox::DEFAULT_CLIENT_SECRET.to_string().into(),
    );
    cfg.rate_limit_rps = rps;
    cfg.rate_limit_burst = rps;
    MeliClient::builder(cfg).token_store(Arc::new(MemoryTokenStore::new())).build().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn snapshots(store: &EmbeddedSnapshotStore, site: SiteId, c: &CategoryId) -> Vec<SnapshotItem> {
    store
        .query(&Query::pk(keys::category_pk(site, c)).begins_with(keys::SNAP_PREFIX))
        .await
        .unwrap()
        .iter()
        .map(|i| SnapshotItem::from_item(i).unwrap())
        .collect()
}

#[test]
fn fetch_stores_one_resolved_snapshot_per_slot_and_classifies_categories() {
    runtime().block_on(async {
        let sb = meli_sandbox::spawn(SandboxConfig {
            seed: 7,
            forbidden_categories: vec!["MLB432825".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        let store = EmbeddedSnapshotStore::in_memory().unwrap();
        let source = client(&sb, 1000.0);
        let clock = ManualClock::new(sb.state().now());
        let tracked = vec![cat("MLB1055"), cat("MLA1055"), cat("MLB1051"), cat("MLB432825")];
        let cfg = FetchConfig::default();

        let r = fetch_due(&source, &store, &clock, &tracked, &cfg, None).await.unwrap();
        assert_eq!((r.ok, r.no_list, r.forbidden, r.failed, r.skipped), (2, 1, 1, 0, 0), "{r:#?}");
        assert_eq!(r.snapshots_written, 2);
        let outcome = |c: &str| r.categories.iter().find(|x| x.1.as_str() == c).unwrap().2.clone();
        assert_eq!(outcome("MLB1051"), CategoryOutcome::NoList);
        assert!(matches!(outcome("MLB432825"), CategoryOutcome::Forbidden { .. }));

        // Every position of the list is kept, resolved as far as the API allows.
        let (site, c) = cat("MLB1055");
        let snaps = snapshots(&store, site, &c).await;
        assert_eq!(snaps.len(), 1);
        let s = &snaps[0].snapshot;
        let truth = sb.state().truth("MLB", "MLB1055", s.taken_at).unwrap();
        assert_eq!(s.entries.len(), truth.ranking.len());
        for (e, t) in s.entries.iter().zip(&truth.ranking) {
            assert_eq!(e.id.as_str(), t.id, "position {}", e.position);
            match e.kind {
                EntryType::Product => {
                    assert_eq!(e.resolution, EntryResolution::Resolved);
                    // The price is the snapshot's; the title is in the product item.
                    assert!(e.title.is_none() && e.price.is_some(), "{e:?}");
                    let names = meli_core::names::read_names(&store, site, [&e.id]).await.unwrap();
                    assert!(names.get(&e.id).is_some_and(|n| n.title.is_some()), "{e:?}: {names:?}");
                }
                // Other sellers' listings answer 403 by default, as in 2026.
                EntryType::Item => assert_eq!(e.resolution, EntryResolution::Forbidden),
                EntryType::UserProduct => assert_eq!(e.resolution, EntryResolution::Opaque),
            }
        }
        assert!(
            r.entry_errors.get("forbidden_access_denied").copied().unwrap_or(0) > 0
                || !s.entries.iter().any(|e| e.kind == EntryType::Item)
        );

        // The same slot again: nothing is due, no call is made.
        let before = sb.state().stats();
        let again = fetch_due(&source, &store, &clock, &tracked, &cfg, None).await.unwrap();
        assert_eq!(again.not_due, 4);
        assert_eq!(again.total_calls(), 0);
        assert_eq!(sb.state().stats().total, before.total);

        // Forced (the schedule lost, as if two fetchers ran for one slot): still one snapshot.
        store.delete(&keys::category_pk(site, &c), keys::STATE).await.unwrap();
        let forced = fetch_due(&source, &store, &clock, &tracked, &cfg, None).await.unwrap();
        assert_eq!(forced.ok, 1);
        assert_eq!(forced.snapshots_written, 0);
        assert_eq!(snapshots(&store, site, &c).await.len(), 1);
        sb.shutdown().await;
    });
}

#[test]
fn steady_state_costs_about_one_call_per_refresh() {
    runtime().block_on(async {
        let sb = meli_sandbox::spawn(SandboxConfig { seed: 11, ..Default::default() }).await.unwrap();
        let store = EmbeddedSnapshotStore::in_memory().unwrap();
        let source = client(&sb, 1000.0);
        let clock = ManualClock::new(sb.state().now());
        let tracked = vec![cat("MLB1055"), cat("MLA1055"), cat("MLM1055")];
        let cfg = FetchConfig::default();
        let mut warm_calls = 0;
        let mut warm_refreshes = 0;
        for step in 0..(4 * 24) {
            sb.state().advance(Duration::minutes(15));
            clock.set(sb.state().now());
            let r = fetch_due(&source, &store, &clock, &tracked, &cfg, None).await.unwrap();
            assert_eq!(r.ok, 3, "step {step}: {r:#?}");
            if step >= 8 {
                warm_calls += r.total_calls();
                warm_refreshes += r.ok as u32;
            }
        }
        let per_refresh = f64::from(warm_calls) / f64::from(warm_refreshes);
        assert!((1.0..=1.6).contains(&per_refresh), "calls per refresh {per_refresh}");
        sb.shutdown().await;
    });
}

#[test]
fn a_run_under_faults_finishes_and_accounts_for_every_category() {
    runtime().block_on(async {
        let sb = meli_sandbox::spawn(SandboxConfig {
            seed: 3,
            faults: FaultConfig { slow: 0.0, ..FaultConfig::uniform(0.3) },
            ..Default::default()
        })
        .await
        .unwrap();
        let store = Arc::new(EmbeddedSnapshotStore::in_memory().unwrap());
        let clock = Arc::new(ManualClock::new(sb.state().now()));
        let tracked = vec![cat("MLB1055"), cat("MLB1002"), cat("MLA1055"), cat("MLM1055"), cat("MLB1051")];
        let runner = Runner {
            store: store.clone(),
            source: Arc::new(client(&sb, 1000.0)),
            clock: clock.clone(),
            tracked: tracked.clone(),
            fetch: FetchConfig::default(),
            signals: SignalConfig::default(),
            cache: Default::default(),
        };
        let mut ok = 0;
        for _ in 0..12 {
            sb.state().advance(Duration::minutes(15));
            clock.set(sb.state().now());
            let t = runner.tick(None).await.unwrap();
            let r = &t.fetch;
            assert_eq!(r.ok + r.no_list + r.forbidden + r.failed + r.skipped + r.not_due, tracked.len(), "{r:#?}");
            ok += r.ok;
        }
        assert!(ok > 0, "with 30% faults some refreshes still succeed after retries");
        // Whatever was stored is a whole list: positions 1..n without gaps.
        for (site, c) in &tracked {
            for s in snapshots(&store, *site, c).await {
                let positions: Vec<u8> = s.snapshot.entries.iter().map(|e| e.position.get()).collect();
                let expect: Vec<u8> = (1..=positions.len() as u8).collect();
                assert_eq!(positions, expect);
            }
        }
        sb.shutdown().await;
    });
}

#[test]
fn a_deadline_that_has_passed_skips_and_reports_everything() {
    runtime().block_on(async {
        let sb = meli_sandbox::spawn(SandboxConfig::default()).await.unwrap();
        let store = EmbeddedSnapshotStore::in_memory().unwrap();
        let clock = ManualClock::new(sb.state().now());
        let tracked = vec![cat("MLB1055"), cat("MLA1055")];
        let r = fetch_due(
            &client(&sb, 1000.0),
            &store,
            &clock,
            &tracked,
            &FetchConfig::default(),
            Some(std::time::Instant::now()),
        )
        .await
        .unwrap();
        assert_eq!(r.skipped, 2);
        assert_eq!(r.total_calls(), 0);
        sb.shutdown().await;
    });
}

#[test]
fn the_runner_scores_what_it_fetched() {
    runtime().block_on(async {
        let sb = meli_sandbox::spawn(SandboxConfig { seed: 5, ..Default::default() }).await.unwrap();
        let meter = Arc::new(meli_core::billing::Meter::new());
        let store = Arc::new(EmbeddedSnapshotStore::in_memory().unwrap().with_meter(meter.clone()));
        let clock = Arc::new(ManualClock::new(sb.state().now()));
        let (site, c) = cat("MLB1055");
        let runner = Runner {
            store: store.clone(),
            source: Arc::new(client(&sb, 1000.0)),
            clock: clock.clone(),
            tracked: vec![(site, c.clone())],
            fetch: FetchConfig::default(),
            signals: SignalConfig::default(),
            cache: Default::default(),
        };
        let mut events = 0;
        for _ in 0..(4 * 12) {
            sb.state().advance(Duration::minutes(15));
            clock.set(sb.state().now());
            let t = runner.tick(None).await.unwrap();
            assert!(!t.drain.stopped_early);
            assert!(t.drain.poison.is_empty(), "{:?}", t.drain.poison);
            events += t.drain.events.len();
        }
        // The runner holds the list's scorer state: only the first snapshot read its item.
        assert_eq!(meter.by_kind()["CAT/SCORE"].reads, 1);
        let latest: LatestItem = meli_core::score_step::read_latest(store.as_ref(), site, &c, &SignalConfig::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.taken_at, meli_core::fetch::slot_of(clock.now(), Duration::minutes(15)));
        let truth = sb.state().truth("MLB", "MLB1055", latest.taken_at).unwrap();
        let ids: Vec<&str> = latest.products.iter().map(|p| p.id.as_str()).collect();
        let truth_ids: Vec<&str> = truth.ranking.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, truth_ids);
        assert!(events > 0, "12 simulated hours of a live list produce events");
        // The meter saw every write of the pipeline: one snapshot and one state item per refresh
        // (48 refreshes), one write per event item.
        let units = meter.by_kind();
        assert_eq!(units["CAT/SNAP"].writes, 48);
        assert_eq!(units["CAT/SCORE"].writes, 48);
        assert_eq!(units["EVT"].writes, events as u64);
        // A resolved list of 20 fits 1 KB: one write unit per snapshot (docs/costs.md).
        assert_eq!(units["CAT/SNAP"].write_units, 48, "a snapshot item over 1 KB: {:?}", units["CAT/SNAP"]);
        assert!(units["CAT/SNAP"].bytes_written > 48 * 500, "not resolved lists: {:?}", units["CAT/SNAP"]);
        // One state read per refresh (the one that found it due), and its write within 1 KB with the
        // list's entries in it.
        let state = units["CAT/STATE"];
        assert_eq!((state.reads, state.writes, state.write_units), (48, 48, 48), "{state:?}");
        // The product items: read when an entry is new or due, not for every entry of every refresh
        // (20 × 48); the scorer's reads of the events' names come on top.
        let prod = units["PROD"];
        let entries = latest.products.len() as u64;
        assert!(prod.reads < 48 * entries / 3, "{prod:?}");
        // Replaying the whole feed changes nothing.
        store.set_checkpoint(meli_local::runner::SCORER, 0).unwrap();
        let (items_before, _) = store.counts().unwrap();
        let replay = runner.drain().await.unwrap();
        assert!(replay.events.is_empty(), "a replay writes no new events");
        assert_eq!(store.counts().unwrap().0, items_before);
        sb.shutdown().await;
    });
}

#[test]
fn the_demo_wakes_the_fetcher_more_often_than_it_refreshes_and_counts_the_wakes() {
    runtime().block_on(async {
        let sb = meli_sandbox::spawn(SandboxConfig { seed: 3, ..Default::default() }).await.unwrap();
        let meter = Arc::new(meli_core::billing::Meter::new());
        let store = Arc::new(EmbeddedSnapshotStore::in_memory().unwrap().with_meter(meter.clone()));
        let tracked = vec![cat("MLB1055"), cat("MLA1055")];
        let out = meli_local::demo::run_pipeline(
            &sb,
            store,
            &tracked,
            meli_local::demo::Schedule {
                period: Duration::hours(6),
                every: Duration::hours(1),
                wake: Duration::minutes(15),
            },
            1000.0,
            &[],
            false,
        )
        .await
        .unwrap();
        // 25 wakes over 6 h; each category refreshed at 0 h, 1 h, … 6 h and found not due 3 wakes in 4.
        assert_eq!((out.ticks, out.category_refreshes, out.not_due), (25, 14, 36), "{out:?}");
        let units = meter.by_kind();
        assert_eq!(units["CAT/SNAP"].writes, 14);
        let state = units["CAT/STATE"];
        assert_eq!((state.reads, state.writes), (50, 14), "every wake reads every category's schedule");
        sb.shutdown().await;
    });
}

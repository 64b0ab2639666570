//! The fetcher's handler against the sandbox marketplace and the in-memory store, with the event
//! `cargo lambda invoke` sends (`events/fetcher/scheduled.json`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use fetcher::{handle, Budget, Deps};
use meli_core::clock::ManualClock;
use meli_core::fetch::FetchConfig;
use meli_core::ids::{CategoryId, SiteId};
use meli_core::signals::SnapshotItem;
use meli_core::store::{MemorySnapshotStore, Query, SnapshotStore};
use meli_http::MeliClient;
use meli_sandbox::SandboxConfig;
use secrecy::SecretString;

fn scheduled() -> EventBridgeEvent<serde_json::Value> {
    let raw = include_str!("../../../events/fetcher/scheduled.json");
    serde_json::from_str(raw).unwrap()
}

fn client(sandbox: &meli_sandbox::SandboxHandle) -> MeliClient {
    let cfg = sandbox.state().config();
    let mut http = meli_http::Config::new(
        url::Url::parse(&sandbox.base_url()).unwrap(),
        cfg.client_id.clone(),
        SecretString::from(cfg.client_secret.clone()),
    );
    http.rate_limit_rps = 500.0;
    http.rate_limit_burst = 50.0;
    MeliClient::new(http).unwrap()
}

#[tokio::test]
async fn a_scheduled_run_stores_one_snapshot_per_due_category() {
    let forbidden = "MLA1055";
    let sandbox = meli_sandbox::spawn(SandboxConfig {
        speed: 0.0,
        forbidden_categories: vec![forbidden.to_string()],
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let store = Arc::new(MemorySnapshotStore::new());
    let tracked: Vec<(SiteId, CategoryId)> = ["MLB1055", "MLB1002", forbidden]
        .iter()
        .map(|c| {
            let c = CategoryId::parse(c).unwrap();
            (c.site(), c)
        })
        .collect();
    let deps = Deps {
        store: store.clone(),
        clock: Arc::new(ManualClock::new(sandbox.state().now())),
        tracked,
        fetch: FetchConfig { concurrency: 2, ..FetchConfig::default() },
    };
    let event = scheduled();
    assert_eq!(event.detail_type, "Scheduled Event");
    let source = client(&sandbox);
    let total = Duration::from_secs(120);
    let deadline = Some(Budget { deadline: Instant::now() + total, total, relative: false });

    let first = handle(&event, &source, &deps, deadline).await.unwrap();
    assert_eq!(first.event_id.as_deref(), Some("5c4f2a9e-6d1b-4d6e-9a0f-2b8a0e6f3c11"));
    assert_eq!((first.tracked, first.ok, first.snapshots_written, first.forbidden), (3, 2, 2, 1), "{first:?}");
    assert!(first.api_calls >= 2);
    let snaps = store.query(&Query::pk("CAT#MLB#MLB1055").begins_with("SNAP#")).await.unwrap();
    assert_eq!(snaps.len(), 1);
    let snap = SnapshotItem::from_item(&snaps[0]).unwrap();
    assert!(!snap.snapshot.entries.is_empty());

    // The same slot again: nothing is due, nothing is written, no API call.
    let again = handle(&event, &source, &deps, deadline).await.unwrap();
    assert_eq!((again.not_due, again.snapshots_written, again.api_calls), (3, 0, 0), "{again:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_spent_budget_starts_nothing() {
    let sandbox = meli_sandbox::spawn(SandboxConfig { speed: 0.0, ..SandboxConfig::default() }).await.unwrap();
    let store = Arc::new(MemorySnapshotStore::new());
    let cat = CategoryId::parse("MLB1055").unwrap();
    let deps = Deps {
        store: store.clone(),
        clock: Arc::new(ManualClock::new(sandbox.state().now())),
        tracked: vec![(cat.site(), cat)],
        fetch: FetchConfig::default(),
    };
    // A 60 s budget whose deadline is already here (an invocation that waited out its time).
    let spent = Budget { deadline: Instant::now(), total: Duration::from_secs(60), relative: false };
    let out = handle(&scheduled(), &client(&sandbox), &deps, Some(spent)).await.unwrap();
    assert_eq!((out.skipped, out.snapshots_written, out.api_calls), (1, 0, 0), "{out:?}");
    assert!(store.is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_emulators_deadline_header_leaves_time_to_fetch() {
    // What `cargo lambda watch` sends (`lambda-runtime-deadline-ms: 600000`): read as its 600 s
    // timeout, every due category is fetched (read as an epoch time, all were skipped).
    let sandbox = meli_sandbox::spawn(SandboxConfig { speed: 0.0, ..SandboxConfig::default() }).await.unwrap();
    let store = Arc::new(MemorySnapshotStore::new());
    let cat = CategoryId::parse("MLB1055").unwrap();
    let deps = Deps {
        store: store.clone(),
        clock: Arc::new(ManualClock::new(sandbox.state().now())),
        tracked: vec![(cat.site(), cat)],
        fetch: FetchConfig::default(),
    };
    let budget = Budget::from_context(600_000, std::time::SystemTime::now(), Instant::now());
    let out = handle(&scheduled(), &client(&sandbox), &deps, budget).await.unwrap();
    assert_eq!((out.skipped, out.ok, out.snapshots_written), (0, 1, 1), "{out:?}");
    assert_eq!(out.calls_by_endpoint.values().sum::<u32>(), out.api_calls);
    assert!(out.calls_by_endpoint.get("highlights").is_some_and(|n| *n >= 1), "{out:?}");
    sandbox.shutdown().await;
}

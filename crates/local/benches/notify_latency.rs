//! `make bench`: time from a snapshot write to the Slack receiver's 200 in the local pipeline
//! (embedded store → change feed → scorer → change feed → notifier → Slack webhook on 127.0.0.1),
//! against a baseline measured in the same run: the bare webhook round trip of the same message.
//! The schedule wait (the runner's tick) is excluded; so is the webhook's 1 s pacing, which only
//! spaces out bursts (the bench posts one message per snapshot).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use meli_core::clock::ManualClock;
use meli_core::notify::{
    ChannelKind, Controls, Destination, DestinationConfig, EventFilter, NotifyConfig, NotifyDeps, Sender,
    SlackPublisher,
};
use meli_core::pipeline::score_records;
use meli_core::signals::{SignalConfig, SnapshotItem};
use meli_core::snapshot::Snapshot;
use meli_core::store::{PutCondition, SnapshotStore};
use meli_http::slack::SlackWebhookPublisher;
use meli_local::notify::drain_notifier;
use meli_local::EmbeddedSnapshotStore;
use secrecy::SecretString;
use serde_json::json;

const SAMPLES: usize = 40;

type Hits = Arc<Mutex<Vec<Instant>>>;

async fn hook(State(hits): State<Hits>) -> &'static str {
    hits.lock().unwrap().push(Instant::now());
    "ok"
}

fn snapshot(cat: usize, at: DateTime<Utc>, first: usize) -> Snapshot {
    let entries: Vec<_> = (1..=20)
        .map(|p| {
            // `first` moves to #1; the others keep their order.
            let j = if p == 1 {
                first
            } else if p <= first {
                p - 1
            } else {
                p
            };
            json!({"position": p, "id": format!("MLB{}", cat * 100 + j), "type": "PRODUCT",
                   "title": format!("Produto {j} <b>oferta</b>"), "price": 1000.0 + j as f64, "currency": "BRL"})
        })
        .collect();
    serde_json::from_value(json!({"site": "MLB", "category": format!("MLB{cat}"), "taken_at": at, "entries": entries}))
        .unwrap()
}

async fn drain_scorer(store: &EmbeddedSnapshotStore) {
    loop {
        let from = store.checkpoint("bench-scorer").unwrap();
        let batch = store.changes_after(from, 100).unwrap();
        let Some(&(last, _)) = batch.last() else { break };
        let records: Vec<_> = batch.into_iter().map(|(_, r)| r).collect();
        let out = score_records(&records, store, &SignalConfig::default()).await;
        assert!(out.retry_from.is_none());
        store.set_checkpoint("bench-scorer", last).unwrap();
    }
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let hits: Hits = Arc::default();
    let app = Router::new().route("/services/T/B/bench", post(hook)).with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/services/T/B/bench", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let publisher: Arc<SlackWebhookPublisher> =
        Arc::new(SlackWebhookPublisher::new(SecretString::from(url)).unwrap().min_interval(Duration::ZERO));
    let dests = vec![Destination::new(
        DestinationConfig {
            id: publisher.id().to_string(),
            channel: ChannelKind::Slack,
            filter: EventFilter::default(),
            controls: Controls::default(),
        },
        Sender::Slack(publisher.clone()),
    )];
    let store = EmbeddedSnapshotStore::in_memory().unwrap();
    let t0: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
    let clock = ManualClock::new(t0);
    let cfg = NotifyConfig::default();

    let mut pipeline = Vec::new();
    let mut baseline = Vec::new();
    let mut last_message = None;
    for k in 0..SAMPLES {
        let cat = 2000 + k;
        let t1 = t0 + chrono::Duration::minutes(15);
        // The list's first snapshot: a baseline, no events.
        let base = SnapshotItem::new(snapshot(cat, t0, 1), 30).to_item().unwrap();
        store.put(base, PutCondition::IfAbsent).await.unwrap();
        drain_scorer(&store).await;
        clock.set(t1 + chrono::Duration::seconds(30));
        let deps = NotifyDeps { store: &store, clock: &clock, destinations: &dests, config: &cfg };
        drain_notifier(&store, deps).await.unwrap();

        // Timed: #6 becomes #1.
        let before = hits.lock().unwrap().len();
        let item = SnapshotItem::new(snapshot(cat, t1, 6), 30).to_item().unwrap();
        let start = Instant::now();
        store.put(item, PutCondition::IfAbsent).await.unwrap();
        drain_scorer(&store).await;
        let d = drain_notifier(&store, deps).await.unwrap();
        assert!(d.report.sent > 0, "the change made no alert");
        let got = hits.lock().unwrap().clone();
        assert_eq!(got.len(), before + 1, "one coalesced message per snapshot");
        pipeline.push(got[before] - start);
        last_message = Some(d.report.sent);

        // Baseline: the same kind of message, posted directly.
        let msg = meli_core::notify::SlackMessage {
            text: "bench".into(),
            blocks: vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": "x"}})],
        };
        let start = Instant::now();
        publisher.post(&msg).await.unwrap();
        let got = hits.lock().unwrap().clone();
        baseline.push(*got.last().unwrap() - start);
    }
    let (p50, p95) = (pct(&mut pipeline, 0.5), pct(&mut pipeline, 0.95));
    let (b50, b95) = (pct(&mut baseline, 0.5), pct(&mut baseline, 0.95));
    println!(
        "notify latency: snapshot write → Slack receiver 200, local pipeline ({SAMPLES} snapshots, {} alerts each)",
        last_message.unwrap_or(0)
    );
    println!(
        "  pipeline   p50 {:>8.2} ms   p95 {:>8.2} ms   (goal p95 ≤ 1000 ms: {})",
        ms(p50),
        ms(p95),
        if p95 <= Duration::from_secs(1) { "met" } else { "NOT met" }
    );
    println!("  baseline   p50 {:>8.2} ms   p95 {:>8.2} ms   (bare webhook round trip)", ms(b50), ms(b95));
    println!("  ratio      p50 {:>8.1}×     p95 {:>8.1}×", ms(p50) / ms(b50).max(1e-6), ms(p95) / ms(b95).max(1e-6));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

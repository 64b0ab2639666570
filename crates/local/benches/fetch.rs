//! `make bench`: what a category refresh costs in API calls, and how close the client runs to its
//! request budget, both measured against the sandbox's own request counter in the same run.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a benchmark prints and fails loudly

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use meli_core::auth::MemoryTokenStore;
use meli_core::clock::ManualClock;
use meli_core::fetch::{fetch_due, FetchConfig};
use meli_core::ids::{CategoryId, SiteId};
use meli_http::{Config as HttpConfig, MeliClient};
use meli_local::EmbeddedSnapshotStore;
use meli_sandbox::{SandboxConfig, SandboxHandle};

fn client(sb: &SandboxHandle, rps: f64, burst: f64) -> MeliClient {
    let mut cfg = HttpConfig::new(
        url::Url::parse(&sb.base_url()).unwrap(),
        meli_sandbox::DEFAULT_CLIENT_ID,
        meli_sandbox::DEFAULT_CLIENT_SECRET.to_string().into(),
    );
    cfg.rate_limit_rps = rps;
    cfg.rate_limit_burst = burst;
    MeliClient::builder(cfg).token_store(Arc::new(MemoryTokenStore::new())).build().unwrap()
}

fn tracked() -> Vec<(SiteId, CategoryId)> {
    meli_sandbox::default_demo_categories()
        .into_iter()
        .map(|(s, c)| (SiteId::parse(&s).unwrap(), CategoryId::parse(&c).unwrap()))
        .collect()
}

/// API requests the sandbox saw, the token endpoint excluded.
fn api_requests(sb: &SandboxHandle) -> u64 {
    let s = sb.state().stats();
    s.total
        - s.routes.iter().filter(|(r, _)| r.contains("/oauth/token")).map(|(_, m)| m.values().sum::<u64>()).sum::<u64>()
}

/// Calls per category refresh over `days` simulated days at a 15-minute cadence, after a 6 h warm-up.
async fn calls_per_refresh(cfg: &FetchConfig, days: i64) -> (f64, u64) {
    let sb = meli_sandbox::spawn(SandboxConfig { seed: 42, ..Default::default() }).await.unwrap();
    let store = EmbeddedSnapshotStore::in_memory().unwrap();
    let source = client(&sb, 10_000.0, 10_000.0);
    let clock = ManualClock::new(sb.state().now());
    let tracked = tracked();
    let mut refreshes = 0u64;
    let mut start_requests = 0;
    for step in 0..(days * 96 + 24) {
        if step == 24 {
            start_requests = api_requests(&sb);
            refreshes = 0;
        }
        sb.state().advance(cfg.refresh_every);
        clock.set(sb.state().now());
        let r = fetch_due(&source, &store, &clock, &tracked, cfg, None).await.unwrap();
        refreshes += r.ok as u64;
    }
    let calls = api_requests(&sb) - start_requests;
    sb.shutdown().await;
    (calls as f64 / refreshes as f64, refreshes)
}

fn naive() -> FetchConfig {
    // Resolve every entry on every refresh: no cache.
    FetchConfig {
        meta_ttl: Duration::zero(),
        price_ttl: Duration::zero(),
        reviews_ttl: Duration::zero(),
        denied_ttl: Duration::zero(),
        max_refreshes_per_fetch: 20,
        ..FetchConfig::default()
    }
}

/// Sends uncached work through a client limited to `budget` req/s against a sandbox that allows
/// 10% more, and reports the achieved rate and the 429s.
async fn budget_run(budget: f64, requests_goal: u64) -> (f64, u64, u64) {
    let sb = meli_sandbox::spawn(SandboxConfig { seed: 9, rate_limit: Some(budget / 0.9), ..Default::default() })
        .await
        .unwrap();
    let store = EmbeddedSnapshotStore::in_memory().unwrap();
    let source = client(&sb, budget, 5.0);
    let clock = ManualClock::new(sb.state().now());
    let tracked = tracked();
    let cfg = FetchConfig { concurrency: 8, ..naive() };
    // Warm the token first, so the run measures API calls only.
    source.authenticate().await.unwrap();
    let started = Instant::now();
    let before = api_requests(&sb);
    while api_requests(&sb) - before < requests_goal && started.elapsed() < std::time::Duration::from_secs(60) {
        sb.state().advance(cfg.refresh_every);
        clock.set(sb.state().now());
        fetch_due(&source, &store, &clock, &tracked, &cfg, None).await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let sent = api_requests(&sb) - before;
    let limited = sb.state().stats().rate_limited;
    sb.shutdown().await;
    (sent as f64 / secs, sent, limited)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        println!("== fetch: API calls per category refresh (9 categories, 15-minute cadence, 2 simulated days) ==");
        let (ours, n) = calls_per_refresh(&FetchConfig::default(), 2).await;
        let (base, _) = calls_per_refresh(&naive(), 2).await;
        println!("  cached strategy (default)      {ours:>6.2} calls/refresh   over {n} refreshes   (goal ≤ 1.5, floor 1.0)");
        println!("  naive: resolve all 20 each time {base:>5.2} calls/refresh");
        println!("  ratio naive / cached           {:>6.1}x fewer calls", base / ours);

        let budget = 20.0;
        println!("\n== fetch: achieved request rate against the budget (sandbox limit = budget / 0.9) ==");
        let (rate, sent, limited) = budget_run(budget, 600).await;
        println!(
            "  budget {budget:.1} req/s   achieved {rate:.2} req/s = {:.0}% of budget   requests {sent}   429s {limited}   (goal ≥ 90%, no sustained 429s)",
            100.0 * rate / budget
        );
    });
}

//! Throughput of the sandbox on ONE core, next to a bare axum handler on the same kind of runtime.
//!
//! The server (sandbox, then the baseline) runs on a current-thread Tokio runtime in its own
//! thread; the load generator runs on another thread and keeps `CONNECTIONS` HTTP/1.1 keep-alive
//! connections busy over loopback with a mix of highlights / products / offers / items / reviews
//! requests. Bounded: `REQUESTS` requests or `TIME_BUDGET` per run, whichever comes first.
//!
//! Run: `make bench` (or `cargo bench -p meli-sandbox --bench throughput`).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use meli_sandbox::{ItemsAccess, SandboxConfig, SandboxState};
use serde_json::Value;
use tokio::sync::oneshot;

const REQUESTS: u64 = 40_000;
const CONNECTIONS: usize = 16;
const TIME_BUDGET: Duration = Duration::from_secs(15);

/// Starts `router` on a current-thread runtime in its own thread (one core).
fn serve_on_one_core(
    make: impl FnOnce() -> axum::Router + Send + 'static,
) -> (SocketAddr, oneshot::Sender<()>, std::thread::JoinHandle<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let router = make();
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    (addr_rx.recv().unwrap(), stop_tx, handle)
}

struct Load {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
    base: String,
}

impl Load {
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Bytes) {
        let mut req = hyper::Request::get(format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self.client.request(req.body(Empty::new()).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    }
}

struct Outcome {
    requests: u64,
    errors: u64,
    secs: f64,
    p50_us: u64,
    p99_us: u64,
}

/// Drives `paths` round-robin from `CONNECTIONS` tasks.
async fn drive(load: Arc<Load>, paths: Arc<Vec<String>>, token: Option<String>) -> Outcome {
    let issued = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (load, paths, token, issued, errors) =
            (load.clone(), paths.clone(), token.clone(), issued.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= REQUESTS || start.elapsed() > TIME_BUDGET {
                    break;
                }
                let path = &paths[(n as usize) % paths.len()];
                let t0 = Instant::now();
                let (status, _) = load.get(path, token.as_deref()).await;
                lat.push(t0.elapsed().as_micros() as u64);
                if status != 200 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    Outcome {
        requests: lat.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        secs,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
    }
}

/// Like `drive`, but fetches a new token whenever the old one expired (the clock is racing).
async fn drive_refreshing(load: Arc<Load>, paths: Arc<Vec<String>>, addr: SocketAddr) -> Outcome {
    let issued = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (load, paths, issued, errors) = (load.clone(), paths.clone(), issued.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut token = fetch_token(addr).await;
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= REQUESTS / 4 || start.elapsed() > TIME_BUDGET {
                    break;
                }
                let path = &paths[(n as usize) % paths.len()];
                let t0 = Instant::now();
                let (status, _) = load.get(path, Some(&token)).await;
                lat.push(t0.elapsed().as_micros() as u64);
                if status == 401 {
                    token = fetch_token(addr).await;
                } else if status != 200 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    Outcome {
        requests: lat.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        secs,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
    }
}

async fn fetch_token(addr: SocketAddr) -> String {
    let form = "grant_type=client_credentials&client_id=sandbox-app&client_secret=sandbox-secret";
    let post = hyper::Request::post(format!("http://{addr}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))
        .unwrap();
    let c = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let body = c.request(post).await.unwrap().into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice::<Value>(&body).unwrap()["access_token"].as_str().unwrap().to_string()
}

fn load_for(addr: SocketAddr) -> Arc<Load> {
    let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(CONNECTIONS).build_http();
    Arc::new(Load { client, base: format!("http://{addr}") })
}

/// The request mix: ids discovered from the demo lists.
async fn mix(load: &Load, token: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (site, cat) in meli_sandbox::default_demo_categories() {
        let hl = format!("/highlights/{site}/category/{cat}");
        let (_, body) = load.get(&hl, Some(token)).await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        paths.push(hl.clone());
        paths.push(hl);
        for e in v["content"].as_array().unwrap().iter().take(6) {
            let id = e["id"].as_str().unwrap();
            match e["type"].as_str().unwrap() {
                "PRODUCT" => {
                    paths.push(format!("/products/{id}"));
                    paths.push(format!("/products/{id}/items"));
                    paths.push(format!("/highlights/{site}/product/{id}"));
                }
                "ITEM" => {
                    paths.push(format!("/items/{id}"));
                    paths.push(format!("/items?ids={id}"));
                }
                _ => {}
            }
        }
    }
    paths
}

fn report(name: &str, o: &Outcome) -> f64 {
    let rps = o.requests as f64 / o.secs;
    println!(
        "  {name:<28} {:>7} requests in {:>5.2} s = {:>9.0} req/s   p50 {:>6} us   p99 {:>6} us   non-200: {}",
        o.requests, o.secs, rps, o.p50_us, o.p99_us, o.errors
    );
    rps
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    println!("meli-sandbox throughput: server on one core (current-thread runtime), {CONNECTIONS} keep-alive connections, up to {REQUESTS} requests or {TIME_BUDGET:?}");

    // Baseline: a bare axum handler returning a small fixed JSON.
    let (addr, stop, th) = serve_on_one_core(|| {
        axum::Router::new().route(
            "/fixed",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({"id": "MLB1055", "position": 1, "type": "PRODUCT"}))
            }),
        )
    });
    let base = rt.block_on(async {
        let load = load_for(addr);
        drive(load, Arc::new(vec!["/fixed".to_string()]), None).await
    });
    let _ = stop.send(());
    th.join().unwrap();

    // The sandbox with the default market (items open so item requests answer 200).
    let state = SandboxState::new(SandboxConfig { items_access: ItemsAccess::Open, ..SandboxConfig::default() });
    let s2 = state.clone();
    let (addr, stop, th) = serve_on_one_core(move || meli_sandbox::app(s2));
    let sandbox = rt.block_on(async {
        let load = load_for(addr);
        let form = "grant_type=client_credentials&client_id=sandbox-app&client_secret=sandbox-secret";
        let post = hyper::Request::post(format!("http://{addr}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .unwrap();
        let c = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let body = c.request(post).await.unwrap().into_body().collect().await.unwrap().to_bytes();
        let token = serde_json::from_slice::<Value>(&body).unwrap()["access_token"].as_str().unwrap().to_string();
        let paths = mix(&load, &token).await;
        println!("  mix: {} distinct paths (highlights, products, offers, positions, items)", paths.len());
        drive(load, Arc::new(paths), Some(token)).await
    });
    let _ = stop.send(());
    th.join().unwrap();

    // The same mix while the clock moves one tick (15 simulated minutes) every 10 ms of real time:
    // every tick is simulated and its bodies rendered afresh (the worst case for the caches).
    let state2 = SandboxState::new(SandboxConfig { items_access: ItemsAccess::Open, ..SandboxConfig::default() });
    let s3 = state2.clone();
    let (addr, stop, th) = serve_on_one_core(move || meli_sandbox::app(s3));
    let moving = rt.block_on(async {
        let load = load_for(addr);
        let form = "grant_type=client_credentials&client_id=sandbox-app&client_secret=sandbox-secret";
        let post = hyper::Request::post(format!("http://{addr}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .unwrap();
        let c = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let body = c.request(post).await.unwrap().into_body().collect().await.unwrap().to_bytes();
        let token = serde_json::from_slice::<Value>(&body).unwrap()["access_token"].as_str().unwrap().to_string();
        let paths = mix(&load, &token).await;
        let clock = state2.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                clock.advance(chrono::Duration::minutes(15));
            }
        });
        // Tokens live 6 simulated hours: with the clock racing, use a long-lived one per batch.
        let out = drive_refreshing(load, Arc::new(paths), addr).await;
        ticker.abort();
        out
    });
    let _ = stop.send(());
    th.join().unwrap();

    let b = report("baseline (bare axum JSON)", &base);
    let s = report("meli-sandbox (API mix)", &sandbox);
    let _ = report("meli-sandbox (tick every 10ms)", &moving);
    println!("  (with the clock racing, non-200s are 404s of /highlights/../product/{{id}} for entries that left their list)");
    println!(
        "  ratio sandbox/baseline: {:.3}   target: >= 2000 req/s on one core -> {}",
        s / b,
        if s >= 2000.0 { "met" } else { "NOT MET" }
    );
    let stats = state.stats();
    println!("  sandbox counted {} requests", stats.total);
}

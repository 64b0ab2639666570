//! `MeliClient` against the real sandbox server (`meli-sandbox` on 127.0.0.1): auth, single-flight
//! refresh, retries, error kinds, fault injection, the rate limiter, deadlines, and secrets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test binary: a failed unwrap is a failed test

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use meli_core::auth::{MemoryTokenStore, StoreTokenStore, Swapped, TokenSet, TokenStore, TokenStoreError};
use meli_core::source::{ForbiddenKind, MarketplaceSource, SourceError};
use meli_core::store::MemorySnapshotStore;
use meli_core::{CategoryId, EntryId, EntryType, SiteId};
use meli_http::classify::OAuthErrorKind;
use meli_http::client::AuthError;
use meli_http::{Config, Endpoint, Grant, MeliClient, RetryPolicy};
use meli_sandbox::{FaultConfig, SandboxConfig, SandboxHandle};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

const SECRET: &str = "sandbox-secret";

/// Every test starts here, so the binary's log subscriber is in place before anything logs.
async fn sandbox(config: SandboxConfig) -> SandboxHandle {
    install_log_capture();
    meli_sandbox::spawn(config).await.expect("sandbox starts")
}

/// A config for tests: a generous budget and quick retries, so the tests stay fast.
fn config(h: &SandboxHandle, grant: Grant) -> Config {
    let mut c = Config::new(h.base_url().parse().unwrap(), "sandbox-app", SecretString::from(SECRET));
    c.grant = grant;
    c.rate_limit_rps = 1000.0;
    c.rate_limit_burst = 100.0;
    c.retry = RetryPolicy {
        max_attempts: 8,
        request_timeout: Duration::from_secs(5),
        base: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        min_attempt: Duration::from_millis(50),
    };
    c
}

fn client_with(c: Config, store: Arc<dyn TokenStore>) -> MeliClient {
    MeliClient::builder(c).token_store(store).build().unwrap()
}

async fn authorize_code(h: &SandboxHandle, redirect: &str) -> SecretString {
    let url = format!("{}/_sandbox/authorize?client_id=sandbox-app&redirect_uri={redirect}", h.base_url());
    let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    SecretString::from(v["code"].as_str().expect("a code").to_string())
}

async fn http_stats(h: &SandboxHandle) -> Value {
    reqwest::get(format!("{}/_sandbox/stats", h.base_url())).await.unwrap().json().await.unwrap()
}

fn cat(s: &str) -> CategoryId {
    CategoryId::parse(s).unwrap()
}

fn id(s: &str) -> EntryId {
    EntryId::parse(s).unwrap()
}

#[tokio::test]
async fn client_credentials_and_every_endpoint() {
    let h = sandbox(SandboxConfig::default()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let client = client_with(config(&h, Grant::ClientCredentials), store.clone());

    let info = client.authenticate().await.unwrap();
    assert_eq!(info.version, 1);
    assert_eq!(store.load().await.unwrap().unwrap().version, 1);

    // The list is the sandbox's true ranking at this time, entry for entry.
    let list = MarketplaceSource::highlights(&client, SiteId::MLB, &cat("MLB1055")).await.unwrap();
    let truth = h.state().truth("MLB", "MLB1055", h.state().now()).unwrap();
    let got: Vec<(u8, String, &str)> =
        list.iter().map(|e| (e.position.get(), e.id.to_string(), e.kind.as_str())).collect();
    let want: Vec<(u8, String, &str)> =
        truth.ranking.iter().map(|t| (t.position as u8, t.id.clone(), t.kind.as_str())).collect();
    assert_eq!(got, want);
    assert!(!list.is_empty() && list.len() <= 20);

    // Resolve a catalog product: metadata, offers, reviews of an offer.
    let product_id = &list.iter().find(|e| e.kind == EntryType::Product).expect("a PRODUCT entry").id;
    let product = client.product(product_id).await.unwrap();
    assert_eq!(&product.id, product_id);
    assert!(!product.name.is_empty());
    let offers = client.product_offers(product_id, 0, 50).await.unwrap();
    assert!(!offers.offers.is_empty() && offers.total as usize >= offers.offers.len());
    let reviews = client.reviews(&offers.offers[0].item_id, Some(product_id)).await.unwrap();
    assert!(reviews.rating_average.is_none_or(|r| (0.0..=5.0).contains(&r)));

    // Where the product ranks, from the other side.
    let pos = client.product_position(SiteId::MLB, product_id).await.unwrap().expect("ranked");
    assert_eq!(pos.category, cat("MLB1055"));

    // Other sellers' items: 403 access_denied per entry, one call.
    let items: Vec<EntryId> = offers.offers.iter().take(3).map(|o| o.item_id.clone()).collect();
    let rows = MarketplaceSource::items(&client, &items).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), items);
    for (_, r) in &rows {
        assert!(matches!(r, Err(SourceError::Forbidden { kind: ForbiddenKind::AccessDenied, .. })), "{r:?}");
    }
    let bulk = client.items_bulk(&items).await.unwrap();
    assert_eq!(bulk.len(), items.len());
    let too_many: Vec<EntryId> = (0..21).map(|i| id(&format!("MLB{}", 1000 + i))).collect();
    assert!(matches!(client.items(&too_many).await, Err(SourceError::BadRequest { status: 400, .. })));

    let c = client.category(&cat("MLB1055")).await.unwrap();
    assert_eq!(c.path_from_root.first().map(|r| r.id.as_str()), Some("MLB1051"));
    assert!(c.is_leaf());
    let roots = client.site_categories(SiteId::MLB).await.unwrap();
    assert!(roots.iter().any(|r| r.id.as_str() == "MLB1051"));
    let trends = client.trends(SiteId::MLB, None).await.unwrap();
    assert_eq!(trends.len(), 50);
    assert_eq!(client.trends(SiteId::MLB, Some(&cat("MLB1055"))).await.unwrap().len(), 50);

    // Counters: one call and one request per endpoint here, and a token request.
    let counters = client.counters();
    assert_eq!(counters.get(Endpoint::Highlights).calls, 1);
    assert_eq!(counters.get(Endpoint::Highlights).requests, 1);
    assert_eq!(counters.get(Endpoint::OAuthToken).requests, 1);
    // The 21-id call was refused before the network: it is not an API call.
    assert_eq!((counters.get(Endpoint::Items).calls, counters.get(Endpoint::Items).requests), (1, 1));
    assert_eq!(h.state().stats().grants.get("client_credentials"), Some(&1));

    // The probe reports, it does not raise.
    let p = client.probe("/sites/MLB/search?q=celular").await.unwrap();
    assert_eq!((p.status, p.error_kind.as_deref()), (403, Some("forbidden_cloudfront")));
    let p = client.probe("/highlights/MLB/category/MLB1055").await.unwrap();
    assert_eq!(p.status, 200);
    assert_eq!(p.top_level_keys, ["content", "query_data"]);
    assert!(client.probe("no-slash").await.is_err());
}

#[tokio::test]
async fn authorization_code_refresh_and_reused_refresh_token() {
    let h = sandbox(SandboxConfig::default()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let client = client_with(config(&h, Grant::AuthorizationCode), store.clone());

    // No token yet: calls fail as unauthorized, without a request.
    let e = client.highlights(SiteId::MLB, &cat("MLB1055")).await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized { .. }), "{e:?}");
    assert_eq!(client.counters().get(Endpoint::Highlights).requests, 0);

    let redirect = "https://radar.example/callback";
    let code = authorize_code(&h, redirect).await;
    let info = client.exchange_code(&code, redirect).await.unwrap();
    assert_eq!(info.user_id, Some(meli_sandbox::config::DEFAULT_USER_ID));
    assert!(info.has_refresh_token);
    // A code is single use too.
    let again = client.exchange_code(&code, redirect).await.unwrap_err();
    assert_eq!(again.oauth_kind(), Some(OAuthErrorKind::InvalidGrant));

    assert!(client.highlights(SiteId::MLB, &cat("MLB1055")).await.is_ok());

    let first = store.load().await.unwrap().unwrap();
    let old_refresh = first.refresh_token.clone().unwrap();
    let renewed = client.refresh_now().await.unwrap();
    assert_eq!(renewed.version, first.version + 1);
    let second = store.load().await.unwrap().unwrap();
    assert_ne!(second.access_token.expose_secret(), first.access_token.expose_secret());
    assert_ne!(second.refresh_token.as_ref().unwrap().expose_secret(), old_refresh.expose_secret());

    // Reusing the consumed refresh token: invalid_grant, classified, and nothing stored.
    let reuse = client.refresh_with(&old_refresh).await.unwrap_err();
    assert!(matches!(reuse, AuthError::Refused { kind: OAuthErrorKind::InvalidGrant, status: 400, .. }), "{reuse:?}");
    assert_eq!(SourceError::from(reuse).kind_name(), "unauthorized");
    assert_eq!(store.load().await.unwrap().unwrap().version, second.version);

    // The new token works.
    assert!(client.highlights(SiteId::MLB, &cat("MLB1055")).await.is_ok());
    let grants = h.state().stats().grants;
    assert_eq!(grants.get("authorization_code"), Some(&2));
    assert_eq!(grants.get("refresh_token"), Some(&2));
}

/// A token store as slow as a remote table (30 ms a read), so that concurrent callers really
/// overlap with a renewal in progress.
struct SlowStore(MemoryTokenStore);

#[async_trait::async_trait]
impl TokenStore for SlowStore {
    async fn load(&self) -> Result<Option<TokenSet>, TokenStoreError> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.0.load().await
    }
    async fn compare_and_swap(&self, expected: u64, new: TokenSet) -> Result<Swapped, TokenStoreError> {
        self.0.compare_and_swap(expected, new).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_callers_with_an_expired_token_refresh_once() {
    let h = sandbox(SandboxConfig::default()).await;
    let store = Arc::new(SlowStore(MemoryTokenStore::new()));
    let client = client_with(config(&h, Grant::AuthorizationCode), store.clone());
    let code = authorize_code(&h, "https://radar.example/cb").await;
    client.exchange_code(&code, "https://radar.example/cb").await.unwrap();
    assert!(client.highlights(SiteId::MLB, &cat("MLB1055")).await.is_ok());

    // The sandbox's clock passes the 6 h lifetime; the client's clock does not, so every caller
    // learns of the expiry from a 401.
    h.state().advance(chrono::Duration::hours(6) + chrono::Duration::minutes(1));
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            let b = barrier.clone();
            tokio::spawn(async move {
                b.wait().await;
                c.highlights(SiteId::MLB, &cat("MLB1055")).await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.is_ok(), "{r:?}");
    }
    let stats = http_stats(&h).await;
    assert_eq!(stats["grants"]["refresh_token"], 1, "exactly one refresh reached the sandbox: {stats}");
    assert_eq!(store.load().await.unwrap().unwrap().version, 2);
    let unauthorized = stats["routes"]["GET /highlights/{site}/category/{cat}"]["401"].as_u64().unwrap_or(0);
    assert!(unauthorized >= 2, "the callers overlapped (several saw the expired token): {stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_store_refresh_once() {
    let h = sandbox(SandboxConfig::default()).await;
    // Two clients with their own single-flight locks: only the store's CAS coordinates them.
    let table = Arc::new(MemorySnapshotStore::new());
    let store_a: Arc<dyn TokenStore> = Arc::new(StoreTokenStore::new(table.clone(), "sandbox-app"));
    let store_b: Arc<dyn TokenStore> = Arc::new(StoreTokenStore::new(table.clone(), "sandbox-app"));
    let a = client_with(config(&h, Grant::AuthorizationCode), store_a.clone());
    let b = client_with(config(&h, Grant::AuthorizationCode), store_b);
    let code = authorize_code(&h, "https://radar.example/cb").await;
    a.exchange_code(&code, "https://radar.example/cb").await.unwrap();
    assert!(b.highlights(SiteId::MLA, &cat("MLA1055")).await.is_ok(), "b reads a's token from the store");

    h.state().advance(chrono::Duration::hours(7));
    let mut tasks = Vec::new();
    for i in 0..8 {
        for c in [a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                let site = if i % 2 == 0 { SiteId::MLB } else { SiteId::MLM };
                let category = if i % 2 == 0 { "MLB1055" } else { "MLM1055" };
                c.highlights(site, &cat(category)).await
            }));
        }
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.is_ok(), "{r:?}");
    }
    // One refresh succeeded (at most one more was refused as a reuse), and the store moved once.
    let grants = h.state().stats().grants;
    let refreshes = grants.get("refresh_token").copied().unwrap_or(0);
    assert!((1..=2).contains(&refreshes), "{grants:?}");
    assert_eq!(store_a.load().await.unwrap().unwrap().version, 2);
    assert!(a.highlights(SiteId::MLB, &cat("MLB1055")).await.is_ok());
    assert!(b.highlights(SiteId::MLB, &cat("MLB1055")).await.is_ok());
}

#[tokio::test]
async fn forbidden_and_not_found_keep_their_kinds() {
    let h = sandbox(SandboxConfig { forbidden_categories: vec!["MLB1002".into()], ..Default::default() }).await;
    let client = client_with(config(&h, Grant::ClientCredentials), Arc::new(MemoryTokenStore::new()));

    let e = client.highlights(SiteId::MLB, &cat("MLB1002")).await.unwrap_err();
    assert!(matches!(e, SourceError::Forbidden { kind: ForbiddenKind::PolicyAgent, .. }), "{e:?}");
    assert_eq!(client.highlights(SiteId::MLB, &cat("MLB1051")).await.unwrap_err(), SourceError::NoList);
    assert_eq!(client.product(&id("MLB999999999999")).await.unwrap_err(), SourceError::NotFound);
    assert_eq!(client.product_position(SiteId::MLB, &id("MLB999999999999")).await.unwrap(), None);
    assert_eq!(client.category(&cat("MLB9999999")).await.unwrap_err(), SourceError::NotFound);

    let list = client.highlights(SiteId::MLB, &cat("MLB1055")).await.unwrap();
    if let Some(item) = list.iter().find(|e| e.kind == EntryType::Item) {
        let e = client.item(&item.id).await.unwrap_err();
        assert!(matches!(e, SourceError::Forbidden { kind: ForbiddenKind::AccessDenied, .. }), "{e:?}");
    }
    if let Some(up) = list.iter().find(|e| e.kind == EntryType::UserProduct) {
        assert_eq!(client.product(&up.id).await.unwrap_err(), SourceError::NotFound);
    }

    // None of these is retried: they are permanent.
    let counters = client.counters();
    assert_eq!(counters.get(Endpoint::Highlights).retries, 0);
    assert_eq!(counters.get(Endpoint::Highlights).errors.get("forbidden_policy_agent"), Some(&1));
    assert_eq!(counters.get(Endpoint::Highlights).errors.get("no_list"), Some(&1));
    assert_eq!(counters.get(Endpoint::Product).errors.values().sum::<u64>(), counters.get(Endpoint::Product).calls);
}

#[tokio::test]
async fn server_errors_and_broken_bodies_are_retried_to_the_right_answer() {
    let faults = FaultConfig {
        error_500: 0.15,
        error_503: 0.15,
        drop: 0.1,
        truncated: 0.1,
        malformed: 0.1,
        ..FaultConfig::default()
    };
    let h = sandbox(SandboxConfig { faults, ..Default::default() }).await;
    let clean = sandbox(SandboxConfig::default()).await;
    let client = client_with(config(&h, Grant::ClientCredentials), Arc::new(MemoryTokenStore::new()));
    let reference = client_with(config(&clean, Grant::ClientCredentials), Arc::new(MemoryTokenStore::new()));

    for category in ["MLB1055", "MLB1002", "MLB1652", "MLB432825", "MLB196208"] {
        for _ in 0..4 {
            let got = client.highlights(SiteId::MLB, &cat(category)).await.unwrap();
            let want = reference.highlights(SiteId::MLB, &cat(category)).await.unwrap();
            assert_eq!(got, want, "{category}");
        }
    }
    let stats = h.state().stats();
    let injected: u64 = stats.faults.values().sum();
    let c = client.counters();
    let retries = c.get(Endpoint::Highlights).retries + c.get(Endpoint::OAuthToken).retries;
    assert!(injected > 3, "{stats:?}");
    assert_eq!(retries, injected, "every injected fault was retried once: {c:?} {stats:?}");
    assert_eq!(c.get(Endpoint::Highlights).error_total(), 0);
}

#[tokio::test]
async fn without_retries_faults_surface_as_typed_errors() {
    let h = sandbox(SandboxConfig {
        faults: FaultConfig { truncated: 0.2, malformed: 0.2, drop: 0.2, error_503: 0.2, ..FaultConfig::default() },
        ..Default::default()
    })
    .await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    // One client with retries gets the token; one sharing its store never retries.
    client_with(config(&h, Grant::ClientCredentials), store.clone()).authenticate().await.unwrap();
    let mut c = config(&h, Grant::ClientCredentials);
    c.retry.max_attempts = 1;
    let once = client_with(c, store);

    let mut kinds = std::collections::BTreeMap::<&str, u32>::new();
    for _ in 0..40 {
        match once.highlights(SiteId::MLB, &cat("MLB1055")).await {
            Ok(list) => assert!(!list.is_empty()),
            Err(e) => {
                if let SourceError::Malformed { endpoint, .. } = &e {
                    assert_eq!(endpoint, "highlights");
                }
                assert!(e.is_transient(), "{e:?}");
                *kinds.entry(e.kind_name()).or_default() += 1;
            }
        }
    }
    assert!(kinds.contains_key("malformed"), "{kinds:?}");
    assert!(kinds.contains_key("server_error"), "{kinds:?}");
    assert!(kinds.contains_key("connection"), "{kinds:?}");
    assert!(kinds.keys().all(|k| ["malformed", "server_error", "connection"].contains(k)), "{kinds:?}");
    assert_eq!(once.counters().get(Endpoint::Highlights).retries, 0);
}

#[tokio::test]
async fn rate_limited_answers_are_retried_and_the_limiter_stays_under_the_sandbox_budget() {
    // A client without a real budget against a sandbox allowing 5 requests/s: 429s, retried.
    let h = sandbox(SandboxConfig { rate_limit: Some(5.0), ..Default::default() }).await;
    let mut c = config(&h, Grant::ClientCredentials);
    c.retry.base = Duration::from_millis(100);
    c.retry.max_backoff = Duration::from_millis(800);
    c.retry.max_attempts = 10;
    let greedy = client_with(c, Arc::new(MemoryTokenStore::new()));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let g = greedy.clone();
            tokio::spawn(async move { g.highlights(SiteId::MLB, &cat("MLB1055")).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    assert!(h.state().stats().rate_limited > 0);
    assert!(greedy.counters().get(Endpoint::Highlights).retries > 0);

    // A client whose budget is under the sandbox's: never a 429.
    let h = sandbox(SandboxConfig { rate_limit: Some(25.0), ..Default::default() }).await;
    let mut c = config(&h, Grant::ClientCredentials);
    c.rate_limit_rps = 20.0;
    c.rate_limit_burst = 5.0;
    let polite = client_with(c, Arc::new(MemoryTokenStore::new()));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let p = polite.clone();
            tokio::spawn(async move {
                let category = ["MLB1055", "MLB1002", "MLB1652"][i % 3];
                p.highlights(SiteId::MLB, &cat(category)).await
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    let stats = h.state().stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert_eq!(polite.counters().total_requests(), 31);
    // Clones share one limiter.
    assert!(Arc::ptr_eq(&polite.limiter(), &polite.clone().limiter()));
}

#[tokio::test]
async fn no_attempt_starts_that_cannot_finish_before_the_deadline() {
    // Every answer takes 4 s; the call has 2.5 s. The margins are wide so that a stalled test
    // thread (a loaded two-core CI machine) cannot turn "cut to the time left" into "no time left":
    // that would take a stall of over 2.4 s between the deadline and the attempt.
    let h = sandbox(SandboxConfig {
        faults: FaultConfig { slow: 1.0, slow_delay: Duration::from_millis(4000), ..FaultConfig::default() },
        ..Default::default()
    })
    .await;
    let mut c = config(&h, Grant::ClientCredentials);
    c.retry.request_timeout = Duration::from_secs(10);
    let client = client_with(c, Arc::new(MemoryTokenStore::new()));
    client.authenticate().await.unwrap(); // slow, but within the 10 s request timeout

    let deadline = std::time::Instant::now() + Duration::from_millis(2500);
    let bounded = client.with_deadline(deadline);
    let e = bounded.highlights(SiteId::MLB, &cat("MLB1055")).await.unwrap_err();
    assert_eq!(e, SourceError::Timeout);
    // The one attempt was cut to the time left; no second attempt was started after it.
    let c = client.counters().get(Endpoint::Highlights);
    assert_eq!((c.requests, c.retries), (1, 0));

    let past = client.with_deadline(std::time::Instant::now());
    assert_eq!(past.highlights(SiteId::MLB, &cat("MLB1055")).await.unwrap_err(), SourceError::DeadlineExceeded);
    assert_eq!(client.counters().get(Endpoint::Highlights).requests, 1, "no request after the deadline");
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// The buffer of the thread that is capturing its logs (see [`Capture`]).
    static CAPTURE: RefCell<Option<Buf>> = const { RefCell::new(None) };
}

/// Writes into the capturing thread's buffer (the filter lets nothing else through).
struct ThreadBuf;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ThreadBuf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        CAPTURE.with(|c| c.borrow().clone()).unwrap_or_default()
    }
}

/// One global subscriber for the binary, wanting every event (TRACE) on a thread that captures and
/// none elsewhere, decided per event.
///
/// Not a thread-local `set_default` subscriber: `tracing` caches per callsite, once for the whole
/// process, whether anyone wants its events, and while a single dispatcher is registered the thread
/// that first reaches a callsite decides it from its own default. A sibling test (no subscriber on
/// its thread) reaching `warn!("token request refused")` first cached "never", and the capturing
/// test's own event at that line was dropped: 16 failures in 30 runs with 8 test threads. Installed
/// by the first test through a `Once` (which the others wait for) before anything logs, the global
/// subscriber is every thread's default, and its filter answers "sometimes", never "never".
fn install_log_capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        let capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| CAPTURE.with(|c| c.borrow().is_some()));
        let layer = tracing_subscriber::fmt::layer().with_writer(ThreadBuf).with_ansi(false).with_filter(capturing);
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("the only global subscriber of this test binary");
    });
}

/// Captures what this thread logs until dropped.
struct Capture(Buf);

impl Capture {
    fn start() -> Capture {
        install_log_capture();
        let buf = Buf::default();
        CAPTURE.with(|c| *c.borrow_mut() = Some(buf.clone()));
        Capture(buf)
    }

    fn text(&self) -> String {
        String::from_utf8(self.0 .0.lock().unwrap().clone()).unwrap()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}

#[tokio::test]
async fn secrets_never_reach_logs_or_errors() {
    let client_secret = "Cl13nt-s3cr3t-do-not-log";
    let h = sandbox(SandboxConfig {
        client_secret: client_secret.into(),
        forbidden_categories: vec!["MLB1002".into()],
        ..Default::default()
    })
    .await;
    // current_thread runtime: every task of this test runs, and logs, on this thread.
    let capture = Capture::start();

    let store = Arc::new(MemoryTokenStore::new());
    let mut c = config(&h, Grant::AuthorizationCode);
    c.client_secret = SecretString::from(client_secret);
    let client = client_with(c, store.clone());
    let mut secrets: Vec<String> = vec![client_secret.to_string()];
    let mut texts: Vec<String> = vec![format!("{client:?}")];
    let code = authorize_code(&h, "https://radar.example/cb").await;
    secrets.push(code.expose_secret().to_string());
    client.exchange_code(&code, "https://radar.example/cb").await.unwrap();
    texts.push(keep(&store, &mut secrets).await);
    let first_refresh = store.load().await.unwrap().unwrap().refresh_token.unwrap();
    assert!(client.highlights(SiteId::MLB, &cat("MLB1055")).await.is_ok());
    client.refresh_now().await.unwrap();
    texts.push(keep(&store, &mut secrets).await);
    h.state().advance(chrono::Duration::hours(7)); // → 401 → forced refresh
    assert!(client.highlights(SiteId::MLB, &cat("MLB1055")).await.is_ok());
    texts.push(keep(&store, &mut secrets).await);
    let errors: Vec<String> = vec![
        format!("{0} {0:?}", client.highlights(SiteId::MLB, &cat("MLB1002")).await.unwrap_err()),
        format!("{0} {0:?}", client.refresh_with(&first_refresh).await.unwrap_err()),
        format!("{0} {0:?}", client.exchange_code(&code, "https://radar.example/cb").await.unwrap_err()),
        format!("{0:?}", SourceError::from(client.refresh_with(&first_refresh).await.unwrap_err())),
    ];
    texts.extend(errors);

    let log = capture.text();
    assert!(log.contains("401 with the current token"), "the run was logged: {log}");
    assert!(log.contains("token request refused"));
    texts.push(log);
    for text in &texts {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret leaked into: {text}");
        }
    }
}

/// Remembers the stored token's secrets and returns its `Debug` text.
async fn keep(store: &MemoryTokenStore, secrets: &mut Vec<String>) -> String {
    let t = store.load().await.unwrap().unwrap();
    secrets.push(t.access_token.expose_secret().to_string());
    secrets.push(t.refresh_token.as_ref().unwrap().expose_secret().to_string());
    format!("{t:?}")
}

//! The shared state of a running sandbox: market, clock, tick cache, tokens, limits and counters.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use crate::auth::{AppRules, AuthStore};
use crate::config::SandboxConfig;
use crate::market::Market;
use crate::sim::{tick_of, tick_time, truth_of, Sim, SimClock, TickData, Truth};

/// Why a truth query cannot be answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TruthError {
    #[error("unknown site {0}")]
    UnknownSite(String),
    #[error("unknown category {0}")]
    UnknownCategory(String),
    #[error("category {0} has no best-seller list")]
    NoList(String),
    #[error("time {0} is before the simulated start")]
    BeforeStart(String),
}

/// Request counters, as served by `GET /_sandbox/stats`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Every request counted (the stats route itself excluded).
    pub total: u64,
    /// `"METHOD /route/{template}"` → status (or `dropped`) → count.
    pub routes: BTreeMap<String, BTreeMap<String, u64>>,
    /// `POST /oauth/token` by `grant_type`.
    pub grants: BTreeMap<String, u64>,
    /// Injected faults by kind.
    pub faults: BTreeMap<String, u64>,
    /// Requests answered 429 by the rate limiter.
    pub rate_limited: u64,
}

impl Stats {
    /// Count of a route (e.g. `"GET /highlights/{site}/category/{cat}"`) with a status (`"200"`).
    pub fn count(&self, route: &str, status: &str) -> u64 {
        self.routes.get(route).and_then(|m| m.get(status)).copied().unwrap_or(0)
    }

    /// Count of a route over every status.
    pub fn route_total(&self, route: &str) -> u64 {
        self.routes.get(route).map_or(0, |m| m.values().sum())
    }
}

/// Serialized bodies of one tick.
#[derive(Debug, Default)]
struct BodyCache {
    k: usize,
    map: HashMap<String, Bytes>,
}

/// At most this many bodies are kept per tick.
const BODY_CACHE_MAX: usize = 20_000;

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

pub(crate) struct Inner {
    pub(crate) config: SandboxConfig,
    pub(crate) market: Market,
    pub(crate) clock: SimClock,
    pub(crate) sim: RwLock<Sim>,
    pub(crate) auth: Mutex<AuthStore>,
    buckets: Mutex<HashMap<String, Bucket>>,
    pub(crate) stats: Mutex<Stats>,
    /// The simulated tick and how many times each request (method, path and query, hashed) has been
    /// seen in it: fault decisions are per tick, request and occurrence, so clients that interleave
    /// (or cancel) concurrent requests differently still get the same faults.
    occurrences: Mutex<(usize, HashMap<u64, u64>)>,
    /// Rendered bodies of the current tick (responses are pure functions of tick and request).
    bodies: Mutex<BodyCache>,
    #[allow(clippy::type_complexity)]
    trends: Mutex<HashMap<(usize, Option<usize>, i64), Arc<Vec<(String, String)>>>>,
}

/// The state of one sandbox. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct SandboxState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for SandboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxState").field("config", &self.inner.config).field("now", &self.now()).finish()
    }
}

impl SandboxState {
    /// Generates the market for `config` and starts the clock.
    pub fn new(config: SandboxConfig) -> Self {
        let market = Market::generate(config.seed, config.scenario, config.user_id);
        let clock = SimClock::new(config.start, config.speed);
        let auth = AuthStore::new(config.seed);
        let state = SandboxState {
            inner: Arc::new(Inner {
                market,
                clock,
                sim: RwLock::new(Sim::default()),
                auth: Mutex::new(auth),
                buckets: Mutex::new(HashMap::new()),
                stats: Mutex::new(Stats::default()),
                occurrences: Mutex::new((0, HashMap::new())),
                trends: Mutex::new(HashMap::new()),
                bodies: Mutex::new(BodyCache::default()),
                config,
            }),
        };
        // Warm the cache up to the start so the first request is a lookup.
        state.current_tick();
        state
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// The current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Moves the simulated clock forward; returns the new time.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        self.inner.clock.advance(by)
    }

    /// A copy of the request counters.
    pub fn stats(&self) -> Stats {
        // Lock held only to clone a small map; no await inside.
        self.inner.stats.lock().clone()
    }

    pub(crate) fn market(&self) -> &Market {
        &self.inner.market
    }

    /// The data of internal tick `k`, computing missing ticks first.
    pub(crate) fn tick(&self, k: usize) -> Arc<TickData> {
        {
            // Read lock: a cheap lookup of an already computed tick; released before computing.
            let sim = self.inner.sim.read();
            if let Some(t) = sim.ticks.get(k) {
                return Arc::clone(t);
            }
        }
        // Write lock: extends the cache synchronously (pure computation, no await while held);
        // other requests for computed ticks wait at most this long.
        let mut sim = self.inner.sim.write();
        sim.extend_to(&self.inner.market, k);
        Arc::clone(&sim.ticks[k])
    }

    /// The tick of the current simulated time.
    pub(crate) fn current_tick(&self) -> Arc<TickData> {
        let k = tick_of(self.inner.config.start, self.now()).unwrap_or(crate::sim::WARMUP);
        self.tick(k)
    }

    /// The true ranking of a category at a simulated time: the same ids, in the same order,
    /// that `/highlights/{site}/category/{category}` answers at that time.
    pub fn truth(&self, site: &str, category: &str, at: DateTime<Utc>) -> Result<Truth, TruthError> {
        let m = self.market();
        let s = Market::site_index(site).ok_or_else(|| TruthError::UnknownSite(site.to_string()))?;
        let ci = *m.cat_index.get(category).ok_or_else(|| TruthError::UnknownCategory(category.to_string()))?;
        if m.cats[ci].site != s {
            return Err(TruthError::UnknownCategory(category.to_string()));
        }
        let li = m.cats[ci].list_idx.ok_or_else(|| TruthError::NoList(category.to_string()))?;
        let k = tick_of(self.inner.config.start, at).ok_or_else(|| TruthError::BeforeStart(at.to_rfc3339()))?;
        let tick = self.tick(k);
        Ok(Truth {
            site: site.to_string(),
            category: category.to_string(),
            at: crate::render::ts(at),
            tick_start: crate::render::ts(tick_time(self.inner.config.start, k)),
            ranking: truth_of(m, &tick, li),
        })
    }

    pub(crate) fn rules(&self) -> AppRules<'_> {
        let c = &self.inner.config;
        AppRules {
            client_id: &c.client_id,
            client_secret: &c.client_secret,
            allow_client_credentials: c.allow_client_credentials,
            user_id: c.user_id,
            ttl: c.access_token_ttl,
        }
    }

    /// Takes one token from the app's bucket; `false` = rate limited.
    pub(crate) fn take_token(&self, app: &str) -> bool {
        let Some(rate) = self.inner.config.rate_limit else { return true };
        let capacity = rate.max(1.0);
        let now = Instant::now();
        // Short critical section over a small map; no await while held.
        let mut buckets = self.inner.buckets.lock();
        let b = buckets.entry(app.to_string()).or_insert(Bucket { tokens: capacity, last: now });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            drop(buckets);
            self.inner.stats.lock().rate_limited += 1;
            false
        }
    }

    /// The simulated tick, and how many times the request hashed to `key` was seen before in it
    /// (for fault decisions). Only the current tick's counts are kept.
    pub(crate) fn occurrence(&self, key: u64) -> (usize, u64) {
        let k = tick_of(self.inner.config.start, self.now()).unwrap_or(0);
        let mut seen = self.inner.occurrences.lock();
        if seen.0 != k {
            *seen = (k, HashMap::new());
        }
        let n = seen.1.entry(key).or_insert(0);
        *n += 1;
        (k, *n - 1)
    }

    pub(crate) fn record(&self, route: &str, status: &str) {
        // Short critical section; no await while held.
        let mut s = self.inner.stats.lock();
        s.total += 1;
        *s.routes.entry(route.to_string()).or_default().entry(status.to_string()).or_insert(0) += 1;
    }

    pub(crate) fn record_grant(&self, grant: &str) {
        *self.inner.stats.lock().grants.entry(grant.to_string()).or_insert(0) += 1;
    }

    pub(crate) fn record_fault(&self, kind: &str) {
        *self.inner.stats.lock().faults.entry(kind.to_string()).or_insert(0) += 1;
    }

    /// The serialized body for `key` at tick `k`, rendered by `make` on a miss.
    pub(crate) fn cached_body(&self, k: usize, key: &str, make: impl FnOnce() -> serde_json::Value) -> Bytes {
        {
            // Short lock: a lookup and a cheap `Bytes` clone; no await while held.
            let cache = self.inner.bodies.lock();
            if cache.k == k {
                if let Some(b) = cache.map.get(key) {
                    return b.clone();
                }
            }
        }
        // Rendered without the lock; a racing request renders the same bytes.
        let body = Bytes::from(serde_json::to_vec(&make()).unwrap_or_default());
        let mut cache = self.inner.bodies.lock();
        if cache.k != k {
            if k < cache.k {
                return body; // a request for an older tick: do not evict the current one
            }
            cache.k = k;
            cache.map.clear();
        }
        if cache.map.len() < BODY_CACHE_MAX {
            cache.map.insert(key.to_string(), body.clone());
        }
        body
    }

    /// Weekly trends, cached per (site, category, week).
    pub(crate) fn trends(&self, site: usize, cat: Option<usize>, week: i64) -> Arc<Vec<(String, String)>> {
        // Lookup under a short lock; the computation runs without it (two racing requests compute
        // the same deterministic list; the second insert is harmless).
        if let Some(v) = self.inner.trends.lock().get(&(site, cat, week)) {
            return Arc::clone(v);
        }
        let v = Arc::new(crate::trends::keywords(self.market(), site, cat, week));
        self.inner.trends.lock().insert((site, cat, week), Arc::clone(&v));
        v
    }
}

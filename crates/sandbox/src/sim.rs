//! The simulation in discrete ticks: sales, rolling 24 h sales and the rankings, computed once per
//! tick and cached; plus the clock.
//!
//! A tick is 15 simulated minutes. The simulation starts [`WARMUP`] ticks before the configured
//! start, so the 24 h window is full when the sandbox opens.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use crate::market::{Kind, Market};

/// Minutes per tick.
pub const TICK_MINUTES: i64 = 15;
/// Hours per tick.
pub const TICK_HOURS: f64 = TICK_MINUTES as f64 / 60.0;
/// Ticks in the ranking window (24 h).
pub const WINDOW: usize = 96;
/// Ticks simulated before the start.
pub const WARMUP: usize = WINDOW;
/// Entries in a best-seller list.
pub const LIST_SIZE: usize = 20;

/// The simulated clock: `start + offset + real elapsed × speed`.
#[derive(Debug)]
pub struct SimClock {
    start: DateTime<Utc>,
    speed: f64,
    real_origin: Instant,
    /// Milliseconds added by `advance`.
    offset_ms: AtomicI64,
}

impl SimClock {
    pub fn new(start: DateTime<Utc>, speed: f64) -> Self {
        SimClock { start, speed: speed.max(0.0), real_origin: Instant::now(), offset_ms: AtomicI64::new(0) }
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn now(&self) -> DateTime<Utc> {
        let mut ms = self.offset_ms.load(Ordering::SeqCst);
        if self.speed > 0.0 {
            ms += (self.real_origin.elapsed().as_secs_f64() * 1000.0 * self.speed) as i64;
        }
        self.start + Duration::milliseconds(ms)
    }

    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        self.offset_ms.fetch_add(by.num_milliseconds().max(0), Ordering::SeqCst);
        self.now()
    }
}

/// Everything computed for one tick.
#[derive(Debug)]
pub struct TickData {
    /// Internal tick index (0 = `WARMUP` ticks before the start).
    pub k: usize,
    /// Cumulative units sold since the simulation began, per product.
    pub cum: Vec<u32>,
    /// Units sold in the last 24 h, per product.
    pub recent: Vec<u32>,
    /// Per listed category: every product of the subtree with sales in the window, best first.
    pub lists: Vec<Vec<u32>>,
    /// Per product: position (1-based) in its leaf's top 20.
    pub positions: Vec<Option<u8>>,
}

/// The tick cache.
#[derive(Debug, Default)]
pub struct Sim {
    pub ticks: Vec<Arc<TickData>>,
}

/// Internal tick index of a time, or `None` before the start.
pub fn tick_of(start: DateTime<Utc>, t: DateTime<Utc>) -> Option<usize> {
    let mins = (t - start).num_minutes();
    if mins < 0 {
        return None;
    }
    usize::try_from(mins / TICK_MINUTES).ok().map(|k| k + WARMUP)
}

/// Start time of an internal tick.
pub fn tick_time(start: DateTime<Utc>, k: usize) -> DateTime<Utc> {
    start + Duration::minutes((k as i64 - WARMUP as i64) * TICK_MINUTES)
}

/// Hours since start at the middle of internal tick `k`.
pub fn tick_hours(k: usize) -> f64 {
    (k as f64 - WARMUP as f64) * TICK_HOURS + TICK_HOURS / 2.0
}

impl Sim {
    /// Computes ticks up to and including `k`.
    pub fn extend_to(&mut self, market: &Market, k: usize) {
        while self.ticks.len() <= k {
            let next = self.ticks.len();
            let data = Self::compute(market, next, self.ticks.last().map(|t| &t.cum[..]), self.window_base(next));
            self.ticks.push(Arc::new(data));
        }
    }

    fn window_base(&self, k: usize) -> Option<&[u32]> {
        if k >= WINDOW {
            self.ticks.get(k - WINDOW).map(|t| &t.cum[..])
        } else {
            None
        }
    }

    fn compute(market: &Market, k: usize, prev: Option<&[u32]>, base: Option<&[u32]>) -> TickData {
        let h = tick_hours(k);
        let n = market.products.len();
        let mut cum = Vec::with_capacity(n);
        let mut recent = Vec::with_capacity(n);
        for (i, p) in market.products.iter().enumerate() {
            let sold = market.tick_sales(p, k as u64, h, TICK_HOURS);
            let c = prev.map_or(0, |v| v[i]).saturating_add(sold);
            cum.push(c);
            recent.push(c - base.map_or(0, |v| v[i]));
        }
        let mut lists = Vec::with_capacity(market.listed.len());
        let mut positions = vec![None; n];
        for &ci in &market.listed {
            let cat = &market.cats[ci];
            let mut v: Vec<u32> = cat.products.iter().filter(|&&p| recent[p] > 0).map(|&p| p as u32).collect();
            v.sort_by(|&a, &b| {
                recent[b as usize]
                    .cmp(&recent[a as usize])
                    .then_with(|| market.products[a as usize].id.cmp(&market.products[b as usize].id))
            });
            if cat.tpl.is_some() {
                for (pos, &p) in v.iter().take(LIST_SIZE).enumerate() {
                    positions[p as usize] = Some(pos as u8 + 1);
                }
            }
            lists.push(v);
        }
        TickData { k, cum, recent, lists, positions }
    }
}

/// One entry of the true ranking.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TruthEntry {
    pub position: u32,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Units sold in the 24 h before the tick.
    pub sales_recent: u32,
    /// The catalog product id when the entry is a catalog product, else `None`.
    pub product_id: Option<String>,
}

/// The true ranking of a category at a time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Truth {
    pub site: String,
    pub category: String,
    /// The requested time (RFC 3339).
    pub at: String,
    /// Start of the tick the ranking belongs to.
    pub tick_start: String,
    pub ranking: Vec<TruthEntry>,
}

/// Builds the ranking entries of a list (top 20, optionally filtered by brand value id).
pub fn top_entries<'a>(
    market: &'a Market,
    tick: &'a TickData,
    list_idx: usize,
    brand: Option<&'a str>,
) -> impl Iterator<Item = (u32, usize)> + 'a {
    tick.lists[list_idx]
        .iter()
        .map(|&p| p as usize)
        .filter(move |&p| brand.is_none_or(|b| market.products[p].brand_value_id == b))
        .take(LIST_SIZE)
        .enumerate()
        .map(|(i, p)| (i as u32 + 1, p))
}

/// The truth of one list at one tick.
pub fn truth_of(market: &Market, tick: &TickData, list_idx: usize) -> Vec<TruthEntry> {
    top_entries(market, tick, list_idx, None)
        .map(|(position, p)| {
            let prod = &market.products[p];
            TruthEntry {
                position,
                id: prod.id.clone(),
                kind: prod.kind.as_str().to_string(),
                sales_recent: tick.recent[p],
                product_id: (prod.kind == Kind::Product).then(|| prod.id.clone()),
            }
        })
        .collect()
}

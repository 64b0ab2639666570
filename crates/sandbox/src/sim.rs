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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Scenario;
    use std::collections::BTreeSet;

    fn top(tick: &TickData, li: usize) -> Vec<u32> {
        tick.lists[li].iter().take(LIST_SIZE).copied().collect()
    }

    #[test]
    fn lists_churn_like_real_ones_over_48_hours() {
        let m = Market::generate(42, Scenario::Default, 1);
        let mut sim = Sim::default();
        let k0 = WARMUP;
        let days = 7;
        sim.extend_to(&m, k0 + days * 96);
        let mut entered_per_day = Vec::new();
        let mut new_number_one = 0;
        for li in 0..m.listed.len() {
            // Tick to tick: never a reshuffle.
            for k in k0..k0 + 192 {
                let a: BTreeSet<u32> = top(&sim.ticks[k], li).into_iter().collect();
                let b: BTreeSet<u32> = top(&sim.ticks[k + 1], li).into_iter().collect();
                assert!(a.intersection(&b).count() >= a.len().min(b.len()).saturating_sub(3), "list {li} at tick {k}");
            }
            for d in 0..days {
                let a: BTreeSet<u32> = top(&sim.ticks[k0 + d * 96], li).into_iter().collect();
                let b: BTreeSet<u32> = top(&sim.ticks[k0 + (d + 1) * 96], li).into_iter().collect();
                entered_per_day.push(b.difference(&a).count());
            }
            let firsts: BTreeSet<u32> = (k0..k0 + days * 96).map(|k| sim.ticks[k].lists[li][0]).collect();
            if firsts.len() > 1 {
                new_number_one += 1;
            }
        }
        let mean = entered_per_day.iter().sum::<usize>() as f64 / entered_per_day.len() as f64;
        // A few entries in and out per day, not a new list every day.
        assert!((0.5..8.0).contains(&mean), "mean entries per day {mean}");
        assert!(entered_per_day.iter().all(|&n| n <= 12), "{entered_per_day:?}");
        // A new #1 now and then.
        assert!(new_number_one >= 2, "{new_number_one}");
    }

    /// Mean number of entries that enter a top 20 per simulated day over three days.
    fn daily_entries(scenario: Scenario) -> f64 {
        let m = Market::generate(5, scenario, 1);
        let mut sim = Sim::default();
        sim.extend_to(&m, WARMUP + 3 * 96);
        let mut n = 0usize;
        for li in 0..m.listed.len() {
            for d in 0..3 {
                let a: BTreeSet<u32> = top(&sim.ticks[WARMUP + d * 96], li).into_iter().collect();
                let b: BTreeSet<u32> = top(&sim.ticks[WARMUP + (d + 1) * 96], li).into_iter().collect();
                n += b.difference(&a).count();
            }
        }
        n as f64 / (3 * m.listed.len()) as f64
    }

    #[test]
    fn reviews_grow_with_sales_so_faster_at_the_top() {
        use crate::render::review_counts;
        let m = Market::generate(42, Scenario::Default, 1);
        let mut sim = Sim::default();
        let (k0, k1) = (WARMUP, WARMUP + 2 * 96);
        sim.extend_to(&m, k1);
        let (a, b) = (&sim.ticks[k0], &sim.ticks[k1]);
        // Per listed category: mean review growth over 48 h of the products at #1–#5 and at #16–#20.
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        for li in 0..m.listed.len() {
            let list = top(a, li);
            if list.len() < LIST_SIZE {
                continue;
            }
            let growth = |ids: &[u32]| -> f64 {
                let g: u64 = ids
                    .iter()
                    .map(|&p| {
                        let p = &m.products[p as usize];
                        let sold = u64::from(b.cum[p.idx] - a.cum[p.idx]);
                        let grew = review_counts(p, b).0 - review_counts(p, a).0;
                        // In proportion to the units sold in between (the product's review rate), up to rounding.
                        assert!(
                            (grew as f64 - sold as f64 * p.review_rate).abs() <= 1.0,
                            "{}: {grew} for {sold}",
                            p.id
                        );
                        grew
                    })
                    .sum();
                g as f64 / ids.len() as f64
            };
            head.push(growth(&list[..5]));
            tail.push(growth(&list[15..]));
        }
        assert!(head.len() >= 5, "{} full lists", head.len());
        assert!(tail.iter().all(|&g| g > 0.0), "every tail grows: {tail:?}");
        let (t, l) = (head.iter().sum::<f64>(), tail.iter().sum::<f64>());
        assert!(t > 2.0 * l, "top five {head:?} vs #16–#20 {tail:?}");
        let faster = head.iter().zip(&tail).filter(|(t, l)| t > l).count();
        assert!(faster * 10 >= head.len() * 9, "top five grew faster in {faster} of {} lists", head.len());
    }

    #[test]
    fn the_volatile_scenario_churns_more() {
        let calm = daily_entries(Scenario::Default);
        let volatile = daily_entries(Scenario::Volatile);
        assert!(volatile > calm, "volatile {volatile} <= default {calm}");
    }

    #[test]
    fn the_same_seed_gives_the_same_ticks_and_another_seed_does_not() {
        let run = |seed| {
            let m = Market::generate(seed, Scenario::Default, 1);
            let mut sim = Sim::default();
            sim.extend_to(&m, WARMUP + 10);
            (m.products.iter().map(|p| p.id.clone()).collect::<Vec<_>>(), sim.ticks[WARMUP + 10].cum.clone())
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn processes_shape_demand() {
        let b = crate::market::Process::Breakout { at_h: 10.0, factor: 4.0, rise_h: 5.0 };
        assert_eq!(b.at(0.0), 1.0);
        assert!((b.at(20.0) - 4.0).abs() < 1e-9);
        let n = crate::market::Process::Newcomer { launch_h: 5.0, ramp_h: 10.0 };
        assert_eq!(n.at(4.0), 0.0);
        assert!((n.at(10.0) - 0.5).abs() < 1e-9);
        let f = crate::market::Process::Fading { start_h: 0.0, half_life_h: 24.0, floor: 0.2 };
        assert!((f.at(24.0) - 0.6).abs() < 1e-9);
    }

    #[test]
    fn tick_arithmetic() {
        let start = crate::config::default_start();
        assert_eq!(tick_of(start, start), Some(WARMUP));
        assert_eq!(tick_of(start, start + Duration::minutes(14)), Some(WARMUP));
        assert_eq!(tick_of(start, start + Duration::minutes(15)), Some(WARMUP + 1));
        assert_eq!(tick_of(start, start - Duration::minutes(1)), None);
        assert_eq!(tick_time(start, WARMUP + 4), start + Duration::hours(1));
    }
}

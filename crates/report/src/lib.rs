//! `meli-report`: the HTML report of the rank histories (docs/report.md), pure enough for a Lambda.
//!
//! It reads the report's data through meli-core's [`SnapshotStore`] port (the snapshot items
//! `CAT#…`/`SNAP#…` of the period for the rank history, the prices and the volatility; the product
//! items `PROD#…`/`META` for the names of the newest list's products; the event items `EVT#…` for
//! the events) and renders self-contained pages as strings. Writing them is the
//! caller's business: `meli-radar report` (meli-local) writes files, the notifier's digest publishes
//! them to S3 through [`publish`]. No SQLite, no CLI, no AWS SDK here.
//!
//! Layout:
//! - this module: the report's data ([`CategoryReport`], [`load_category`], [`build`]);
//! - [`chart`]: the hand-written SVG charts (pure geometry functions with tests);
//! - [`html`]: the pages and the one HTML escaper every marketplace text goes through;
//! - [`labels`]: the pages' words in pt-BR, Spanish and English;
//! - [`publish`]: the digest's report links ([`publish::StoreReportLinks`]: render a category's page,
//!   publish it to a [`meli_core::notify::ReportSink`] under [`publish::report_key`]) and the
//!   in-memory sink.
//!
//! A page needs no network: the charts are inline SVG, the style is inline, there is no script, and
//! a Content-Security-Policy of `default-src 'none'` forbids the browser any request.

pub mod chart;
pub mod html;
pub mod labels;
pub mod publish;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use meli_core::ids::{CategoryId, EntryId, EntryType, SiteId};
use meli_core::keys;
use meli_core::names;
use meli_core::signals::category::volatility;
use meli_core::signals::{EventItem, SnapshotItem};
use meli_core::snapshot::Snapshot;
use meli_core::store::{Query, SnapshotStore, StoreError};

/// Products whose price line the report draws.
pub const PRICE_TOP: u8 = 10;
/// Movers highlighted in the bump chart and listed.
pub const MOVERS: usize = 6;
/// Events listed on a page (the most recent; the counts cover all of them).
pub const EVENTS_LISTED: usize = 200;

/// Why a report could not be read from the store.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("store failure while reading the report's data")]
    Store(#[from] StoreError),
}

/// One product of the current list, with its history over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSeries {
    pub id: EntryId,
    pub kind: EntryType,
    /// The newest title seen in the period: the product item's for the newest list (snapshot items
    /// written before the names moved there carry their own) (untrusted text: escape before use).
    pub title: Option<String>,
    pub permalink: Option<String>,
    /// Position in each snapshot of the period (aligned with [`CategoryReport::times`]); `None`
    /// where the product was out of the list.
    pub positions: Vec<Option<u8>>,
    /// Position now (in the newest snapshot).
    pub current: u8,
    /// Price points of the period: the product's price in each snapshot where it was in the list
    /// with a price (the snapshot items are the one source; product history items are not read).
    pub prices: Vec<(DateTime<Utc>, f64)>,
    /// Price in the newest snapshot.
    pub price: Option<f64>,
}

impl ProductSeries {
    /// Position in the first snapshot of the period (`None`: not in the list then).
    pub fn start(&self) -> Option<u8> {
        self.positions.first().copied().flatten()
    }

    /// Places climbed over the period (positive = up); `None` for a new entrant.
    pub fn change(&self) -> Option<i32> {
        self.start().map(|s| i32::from(s) - i32::from(self.current))
    }
}

/// Everything a category page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryReport {
    pub site: SiteId,
    pub category: CategoryId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Times of the period's snapshots, oldest first.
    pub times: Vec<DateTime<Utc>>,
    /// The newest list, in position order.
    pub products: Vec<ProductSeries>,
    /// Volatility of each snapshot against the one before.
    pub volatility: Vec<(DateTime<Utc>, f64)>,
    /// Events of the period, oldest first.
    pub events: Vec<EventItem>,
}

impl CategoryReport {
    /// The movers of the period: products in the list at both ends that changed position, biggest
    /// move first (ties: the better current position first).
    pub fn movers(&self) -> Vec<&ProductSeries> {
        let mut m: Vec<&ProductSeries> = self.products.iter().filter(|p| p.change().is_some_and(|c| c != 0)).collect();
        m.sort_by_key(|p| (std::cmp::Reverse(p.change().map_or(0, i32::unsigned_abs)), p.current));
        m
    }

    /// Products of the current list that were not in the period's first list, best position first.
    pub fn new_entrants(&self) -> Vec<&ProductSeries> {
        self.products.iter().filter(|p| p.start().is_none()).collect()
    }

    /// The mean of the per-snapshot volatility over the period.
    pub fn mean_volatility(&self) -> Option<f64> {
        if self.volatility.is_empty() {
            None
        } else {
            Some(self.volatility.iter().map(|v| v.1).sum::<f64>() / self.volatility.len() as f64)
        }
    }
}

/// The newest snapshot time of a category.
pub async fn newest_snapshot(
    store: &dyn SnapshotStore,
    site: SiteId,
    cat: &CategoryId,
) -> Result<Option<DateTime<Utc>>, ReportError> {
    let q = Query::pk(keys::category_pk(site, cat)).begins_with(keys::SNAP_PREFIX).backward().limit(1);
    let items = store.query(&q).await?;
    Ok(match items.first() {
        Some(i) => Some(SnapshotItem::from_item(i)?.snapshot.taken_at),
        None => None,
    })
}

/// Reads a category's report for the `days` before `to` (default: its newest snapshot).
pub async fn load_category(
    store: &dyn SnapshotStore,
    site: SiteId,
    cat: &CategoryId,
    to: Option<DateTime<Utc>>,
    days: u32,
) -> Result<CategoryReport, ReportError> {
    let to = match to {
        Some(t) => Some(t),
        None => newest_snapshot(store, site, cat).await?,
    };
    let to = to.unwrap_or_else(Utc::now);
    let from = to - Duration::days(i64::from(days.max(1)));
    let pk = keys::category_pk(site, cat);
    let mut snaps: Vec<Snapshot> = store
        .query(&Query::pk(pk).between(keys::snapshot_sk(from), keys::snapshot_sk(to)))
        .await?
        .iter()
        .map(|i| SnapshotItem::from_item(i).map(|s| s.snapshot))
        .collect::<Result<_, _>>()?;
    // The products shown are the newest list's; their names are in their product items (a stored
    // snapshot does not carry them; items written before do, and keep theirs).
    if let Some(last) = snaps.last_mut() {
        names::fill_entries(store, site, &mut last.entries).await?;
    }
    let events: Vec<EventItem> = store
        .query(&Query::pk(keys::event_pk(site, cat)).between(keys::ts(from), format!("{}#\u{10FFFF}", keys::ts(to))))
        .await?
        .iter()
        .map(|i| i.decode())
        .collect::<Result<_, _>>()?;
    Ok(build(site, cat.clone(), from, to, &snaps, events))
}

/// The report of a period from its snapshots (oldest first) and events.
pub fn build(
    site: SiteId,
    category: CategoryId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    snaps: &[Snapshot],
    mut events: Vec<EventItem>,
) -> CategoryReport {
    let times: Vec<DateTime<Utc>> = snaps.iter().map(|s| s.taken_at).collect();
    let volatility = snaps.windows(2).map(|w| (w[1].taken_at, volatility(&w[1], &w[0]))).collect();
    let mut products = Vec::new();
    if let Some(last) = snaps.last() {
        let index: HashMap<&EntryId, usize> = last.entries.iter().enumerate().map(|(i, e)| (&e.id, i)).collect();
        let mut positions = vec![vec![None; snaps.len()]; last.entries.len()];
        let mut titles: Vec<Option<String>> = vec![None; last.entries.len()];
        let mut links: Vec<Option<String>> = vec![None; last.entries.len()];
        let mut prices: Vec<Vec<(DateTime<Utc>, f64)>> = vec![Vec::new(); last.entries.len()];
        for (col, s) in snaps.iter().enumerate() {
            for e in &s.entries {
                if let Some(&row) = index.get(&e.id) {
                    positions[row][col] = Some(e.position.get());
                    if let Some(price) = e.price.filter(|v| v.is_finite() && *v > 0.0) {
                        prices[row].push((s.taken_at, price));
                    }
                    if e.title.is_some() {
                        titles[row].clone_from(&e.title);
                    }
                    if e.permalink.is_some() {
                        links[row].clone_from(&e.permalink);
                    }
                }
            }
        }
        let rows = last.entries.iter().zip(positions).zip(titles).zip(links).zip(prices);
        for ((((e, positions), title), permalink), prices) in rows {
            products.push(ProductSeries {
                id: e.id.clone(),
                kind: e.kind,
                title,
                permalink,
                positions,
                current: e.position.get(),
                prices,
                price: e.price,
            });
        }
    }
    events.sort_by(|a, b| (a.taken_at, &a.sk).cmp(&(b.taken_at, &b.sk)));
    CategoryReport { site, category, from, to, times, products, volatility, events }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    use meli_core::store::{Item, MemorySnapshotStore, PutCondition, PutOutcome};

    fn snap(h: i64, ids: &[&str]) -> Snapshot {
        let at = keys::parse_ts("2026-11-02T00:00:00Z").unwrap() + Duration::hours(h);
        let mut s = Snapshot::ranked(&CategoryId::parse("MLB1055").unwrap(), at, ids, EntryType::Product).unwrap();
        for e in &mut s.entries {
            e.title = Some(format!("title {} at {h}", e.id));
        }
        s
    }

    #[test]
    fn series_follow_the_newest_list_with_gaps() {
        let snaps =
            [snap(0, &["MLB1", "MLB2", "MLB3"]), snap(1, &["MLB2", "MLB1"]), snap(2, &["MLB3", "MLB4", "MLB2"])];
        let (from, to) = (snaps[0].taken_at, snaps[2].taken_at);
        let r = build(SiteId::MLB, snaps[0].category.clone(), from, to, &snaps, Vec::new());
        assert_eq!(r.times.len(), 3);
        let ids: Vec<&str> = r.products.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["MLB3", "MLB4", "MLB2"]);
        assert_eq!(r.products[0].positions, vec![Some(3), None, Some(1)]);
        assert_eq!(r.products[1].positions, vec![None, None, Some(2)]);
        assert_eq!(r.products[2].positions, vec![Some(2), Some(1), Some(3)]);
        assert_eq!(r.products[0].title.as_deref(), Some("title MLB3 at 2"), "the newest title");
        // Movers: MLB3 +2, MLB2 −1; MLB4 is new.
        let movers: Vec<(&str, Option<i32>)> = r.movers().iter().map(|p| (p.id.as_str(), p.change())).collect();
        assert_eq!(movers, [("MLB3", Some(2)), ("MLB2", Some(-1))]);
        let new: Vec<&str> = r.new_entrants().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(new, ["MLB4"]);
        // Volatility per snapshot against the one before, from the scorer's own definition.
        assert_eq!(r.volatility.len(), 2);
        assert_eq!(r.volatility[0].1, 1.0, "#1, #2 changed and #3 emptied");
        assert_eq!(r.volatility[1].1, 1.0);
        assert_eq!(r.mean_volatility(), Some(1.0));
    }

    #[test]
    fn prices_come_from_the_snapshots() {
        let mut snaps = [snap(0, &["MLB1", "MLB2"]), snap(1, &["MLB2", "MLB1"]), snap(2, &["MLB1", "MLB3"])];
        snaps[0].entries[0].price = Some(100.0);
        snaps[1].entries[1].price = Some(90.0);
        snaps[2].entries[0].price = Some(f64::NAN);
        snaps[0].entries[1].price = Some(50.0);
        snaps[2].entries[1].price = Some(0.0);
        let (from, to) = (snaps[0].taken_at, snaps[2].taken_at);
        let r = build(SiteId::MLB, snaps[0].category.clone(), from, to, &snaps, Vec::new());
        assert_eq!(r.products[0].prices, vec![(snaps[0].taken_at, 100.0), (snaps[1].taken_at, 90.0)]);
        assert!(r.products[1].prices.is_empty(), "a zero price is no price");
        assert!(r.products[0].price.unwrap().is_nan(), "the current price is the newest list's, as stored");
    }

    /// A store that records every partition key it is asked for.
    struct Watched {
        inner: MemorySnapshotStore,
        pks: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl SnapshotStore for Watched {
        async fn put(&self, item: Item, c: PutCondition) -> Result<PutOutcome, StoreError> {
            self.inner.put(item, c).await
        }
        async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
            self.pks.lock().unwrap().push(format!("{pk}/{sk}"));
            self.inner.get(pk, sk).await
        }
        async fn query(&self, q: &Query) -> Result<Vec<Item>, StoreError> {
            self.pks.lock().unwrap().push(q.pk.clone());
            self.inner.query(q).await
        }
        async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
            self.inner.delete(pk, sk).await
        }
    }

    #[test]
    fn loading_reads_snapshots_events_and_the_names_only() {
        let store = Watched { inner: MemorySnapshotStore::new(), pks: Default::default() };
        let mut snaps = [snap(0, &["MLB1", "MLB2"]), snap(1, &["MLB2", "MLB1"])];
        snaps[0].entries[0].price = Some(100.0);
        snaps[1].entries[1].price = Some(95.0);
        for s in &snaps {
            let item = SnapshotItem::new(s.clone(), 30);
            block_on(meli_core::names::store_snapshot(&store, &item, PutCondition::Always, &[])).unwrap();
        }
        // A product-history item that says otherwise: it must not be read.
        let hist = Item::new(
            "PROD#MLB#MLB1",
            format!("HIST#{}", keys::ts(snaps[1].taken_at)),
            serde_json::json!({"price": 1.0, "category": "MLB1055"}).as_object().unwrap().clone(),
        );
        block_on(store.put(hist, PutCondition::Always)).unwrap();
        let cat = snaps[0].category.clone();
        let r = block_on(load_category(&store, SiteId::MLB, &cat, None, 7)).unwrap();
        let mlb1 = r.products.iter().find(|p| p.id.as_str() == "MLB1").unwrap();
        assert_eq!(mlb1.prices, vec![(snaps[0].taken_at, 100.0), (snaps[1].taken_at, 95.0)]);
        assert_eq!(mlb1.title.as_deref(), Some("title MLB1 at 1"), "the newest title, from the product item");
        store.pks.lock().unwrap().clear();
        let again = block_on(load_category(&store, SiteId::MLB, &cat, None, 7)).unwrap();
        assert_eq!(again, r);
        let pks = store.pks.lock().unwrap().clone();
        let read = |pk: &String| pk.starts_with("CAT#") || pk.starts_with("EVT#") || pk.ends_with("/META");
        assert!(pks.iter().all(read), "{pks:?}");
        assert!(pks.iter().any(|pk| pk.starts_with("EVT#")), "events are read: {pks:?}");
        assert_eq!(pks.iter().filter(|pk| pk.ends_with("/META")).count(), 2, "one read per product: {pks:?}");
    }

    #[test]
    fn names_come_from_the_product_items_and_old_items_keep_theirs() {
        let store = MemorySnapshotStore::new();
        let old = snap(0, &["MLB1", "MLB2"]);
        // An item written before the names left the snapshot item: its entries carry them.
        let mut old_item = SnapshotItem::new(old.clone(), 30).to_item().unwrap();
        let cols = format!(
            r#"{{"position":[1,2],"id":["MLB1","MLB2"],"type":["PRODUCT","PRODUCT"],"title":["{}","{}"]}}"#,
            "old MLB1", "old MLB2"
        );
        old_item.attrs.insert("entries", serde_json::Value::String(cols));
        block_on(store.put(old_item, PutCondition::Always)).unwrap();
        let cat = old.category.clone();
        let r = block_on(load_category(&store, SiteId::MLB, &cat, None, 7)).unwrap();
        assert_eq!(r.products[0].title.as_deref(), Some("old MLB1"), "an old item's own title");
        // A slim item: the names come from the product item, and are the current ones.
        let new = snap(1, &["MLB2", "MLB1"]);
        block_on(meli_core::names::store_snapshot(&store, &SnapshotItem::new(new, 30), PutCondition::Always, &[]))
            .unwrap();
        let r = block_on(load_category(&store, SiteId::MLB, &cat, None, 7)).unwrap();
        let titles: Vec<Option<&str>> = r.products.iter().map(|p| p.title.as_deref()).collect();
        assert_eq!(titles, [Some("title MLB2 at 1"), Some("title MLB1 at 1")]);
    }

    #[test]
    fn an_empty_period_has_no_products() {
        let t = Utc::now();
        let r = build(SiteId::MLB, CategoryId::parse("MLB1055").unwrap(), t, t, &[], Vec::new());
        assert!(r.products.is_empty() && r.times.is_empty() && r.mean_volatility().is_none());
        assert!(r.movers().is_empty());
    }
}

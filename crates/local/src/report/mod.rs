//! `meli-radar report`: self-contained HTML reports of the rank histories (docs/report.md).
//!
//! Layout:
//! - this module: the report's data, read from any [`SnapshotStore`] (snapshots of the period for
//!   the rank history and the volatility, `HIST#` items for prices, `EVT#` items for events), and
//!   the command that writes the files;
//! - [`chart`]: the hand-written SVG charts (pure geometry functions with tests);
//! - [`html`]: the pages and the one HTML escaper every marketplace text goes through;
//! - [`labels`]: the pages' words in pt-BR, Spanish and English.
//!
//! A page needs no network: the charts are inline SVG, the style is inline, there is no script, and
//! a Content-Security-Policy of `default-src 'none'` forbids the browser any request.
#![allow(clippy::print_stdout)] // the command prints the paths it wrote

pub mod chart;
pub mod html;
pub mod labels;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, Utc};
use meli_core::ids::{CategoryId, EntryId, EntryType, SiteId};
use meli_core::keys;
use meli_core::signals::category::volatility;
use meli_core::signals::{EventItem, HistoryItem, SnapshotItem};
use meli_core::snapshot::Snapshot;
use meli_core::store::{Query, SnapshotStore, StoreError};

/// Products whose price history the report draws.
pub const PRICE_TOP: u8 = 10;
/// Movers highlighted in the bump chart and listed.
pub const MOVERS: usize = 6;
/// Events listed on a page (the most recent; the counts cover all of them).
pub const EVENTS_LISTED: usize = 200;

/// `meli-radar report` arguments.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The site, such as MLB.
    #[arg(long)]
    pub site: String,
    /// One category's report (a single HTML file); without it, the site overview and one page per
    /// tracked category of the site, in the directory --out.
    #[arg(long)]
    pub category: Option<String>,
    /// The period, in days, counted back from the newest stored list.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// The HTML file (with --category) or the directory (without); default report-{id}.html or
    /// report-{site}/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
    pub data_dir: PathBuf,
}

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
    /// The newest title seen in the period (untrusted text: escape before use).
    pub title: Option<String>,
    pub permalink: Option<String>,
    /// Position in each snapshot of the period (aligned with [`CategoryReport::times`]); `None`
    /// where the product was out of the list.
    pub positions: Vec<Option<u8>>,
    /// Position now (in the newest snapshot).
    pub current: u8,
    /// Price points of the period (from the product history), for the top [`PRICE_TOP`].
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
    let snaps: Vec<Snapshot> = store
        .query(&Query::pk(pk).between(keys::snapshot_sk(from), keys::snapshot_sk(to)))
        .await?
        .iter()
        .map(|i| SnapshotItem::from_item(i).map(|s| s.snapshot))
        .collect::<Result<_, _>>()?;
    let events: Vec<EventItem> = store
        .query(&Query::pk(keys::event_pk(site, cat)).between(keys::ts(from), format!("{}#\u{10FFFF}", keys::ts(to))))
        .await?
        .iter()
        .map(|i| i.decode())
        .collect::<Result<_, _>>()?;
    let mut report = build(site, cat.clone(), from, to, &snaps, events);
    for p in report.products.iter_mut().filter(|p| p.current <= PRICE_TOP) {
        let q = Query::pk(keys::product_pk(site, &p.id)).between(keys::history_sk(from), keys::history_sk(to));
        for item in store.query(&q).await? {
            let h: HistoryItem = item.decode()?;
            if let (true, Some(price)) = (&h.category == cat, h.price.filter(|v| v.is_finite() && *v > 0.0)) {
                p.prices.push((h.taken_at, price));
            }
        }
    }
    Ok(report)
}

/// The report of a period from its snapshots (oldest first) and events; prices are left empty.
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
        for (col, s) in snaps.iter().enumerate() {
            for e in &s.entries {
                if let Some(&row) = index.get(&e.id) {
                    positions[row][col] = Some(e.position.get());
                    if e.title.is_some() {
                        titles[row].clone_from(&e.title);
                    }
                    if e.permalink.is_some() {
                        links[row].clone_from(&e.permalink);
                    }
                }
            }
        }
        for (((e, positions), title), permalink) in last.entries.iter().zip(positions).zip(titles).zip(links) {
            products.push(ProductSeries {
                id: e.id.clone(),
                kind: e.kind,
                title,
                permalink,
                positions,
                current: e.position.get(),
                prices: Vec::new(),
                price: e.price,
            });
        }
    }
    events.sort_by(|a, b| (a.taken_at, &a.sk).cmp(&(b.taken_at, &b.sk)));
    CategoryReport { site, category, from, to, times, products, volatility, events }
}

/// The categories of a site that the store tracks (those with a latest ranking).
pub fn tracked_categories(store: &crate::EmbeddedSnapshotStore, site: SiteId) -> Result<Vec<CategoryId>> {
    let prefix = format!("CAT#{site}#");
    let mut out = BTreeSet::new();
    for item in store.scan_prefix(&prefix)? {
        if item.sk == keys::LATEST {
            if let Ok(c) = CategoryId::parse(&item.pk[prefix.len()..]) {
                out.insert(c);
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Writes a site's overview (`index.html`) and one page per category (`{category}.html`) into
/// `dir`; the period ends at the newest list of the site's categories. Returns the index's path.
pub async fn write_site(store: &crate::EmbeddedSnapshotStore, site: SiteId, days: u32, dir: &Path) -> Result<PathBuf> {
    let cats = tracked_categories(store, site)?;
    if cats.is_empty() {
        bail!("no tracked category of {site} in the store; run `meli-radar demo` or `meli-radar fetch --once` first");
    }
    let mut newest = None;
    for c in &cats {
        newest = newest.max(newest_snapshot(store, site, c).await?);
    }
    let mut reports = Vec::new();
    for c in &cats {
        reports.push(load_category(store, site, c, newest, days).await?);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}; pass another --out", dir.display()))?;
    for r in &reports {
        let path = dir.join(html::category_file(&r.category));
        write_file(&path, &html::category_page(r, true))?;
    }
    let index = dir.join("index.html");
    write_file(&index, &html::overview_page(site, &reports))?;
    Ok(index)
}

/// Writes one category's page to `path`.
pub async fn write_category(
    store: &dyn SnapshotStore,
    site: SiteId,
    cat: &CategoryId,
    days: u32,
    path: &Path,
) -> Result<CategoryReport> {
    let report = load_category(store, site, cat, None, days).await?;
    if report.times.is_empty() {
        bail!("no list stored for {site}/{cat}; is it tracked (MELI_CATEGORIES) and has a fetch run?");
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    write_file(path, &html::category_page(&report, false))?;
    Ok(report)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}; pass another --out", path.display()))
}

/// `meli-radar report`.
pub async fn run(args: ReportArgs) -> Result<()> {
    let site = SiteId::parse(&args.site).map_err(|e| anyhow::anyhow!("--site: {e}"))?;
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let store = crate::cli::open_existing(&args.data_dir)?;
    match &args.category {
        Some(c) => {
            let cat = CategoryId::parse(c).map_err(|e| anyhow::anyhow!("--category: {e}"))?;
            if cat.site() != site {
                bail!("--category {cat} belongs to site {}, not {site}", cat.site());
            }
            let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("report-{cat}.html")));
            write_category(&store, site, &cat, args.days, &out).await?;
            println!("{}", out.display());
        }
        None => {
            let dir = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("report-{site}")));
            let index = write_site(&store, site, args.days, &dir).await?;
            println!("{}", index.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use meli_core::ids::Position;
    use meli_core::snapshot::SnapshotEntry;

    fn snap(h: i64, ids: &[&str]) -> Snapshot {
        Snapshot {
            site: SiteId::MLB,
            category: CategoryId::parse("MLB1055").unwrap(),
            taken_at: keys::parse_ts("2026-11-02T00:00:00Z").unwrap() + Duration::hours(h),
            entries: ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let mut e = SnapshotEntry::bare(
                        Position::new(i as i64 + 1).unwrap(),
                        EntryId::parse(id).unwrap(),
                        EntryType::Product,
                    );
                    e.title = Some(format!("title {id} at {h}"));
                    e
                })
                .collect(),
            fetch: Default::default(),
        }
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
    fn an_empty_period_has_no_products() {
        let t = Utc::now();
        let r = build(SiteId::MLB, CategoryId::parse("MLB1055").unwrap(), t, t, &[], Vec::new());
        assert!(r.products.is_empty() && r.times.is_empty() && r.mean_volatility().is_none());
        assert!(r.movers().is_empty());
    }
}

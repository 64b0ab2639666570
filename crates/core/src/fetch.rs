//! The fetch step: from `/highlights` to stored snapshots, within the API budget.
//!
//! For each tracked category that is due (per-category schedule in its `STATE` item) it calls
//! `/highlights`, resolves only the entries it does not know yet or whose cache expired (a few per
//! refresh, so the steady state costs about one call per category), and writes one snapshot item per
//! category and schedule slot with a conditional put: the same slot fetched twice stores one snapshot.
//! A position is never dropped because its entry could not be resolved.
//!
//! Used by the `fetcher` Lambda and by the local runner.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::ids::{CategoryId, EntryId, EntryType, SiteId};
use crate::keys;
use crate::names;
use crate::signals::items::SnapshotItem;
use crate::snapshot::{EntryResolution, FetchMeta, Snapshot, SnapshotEntry};
use crate::source::{ForbiddenKind, HighlightEntry, MarketplaceSource, SourceError};
use crate::store::{Item, PutCondition, PutOutcome, SnapshotStore, StoreError};

/// How the fetcher spends its budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchConfig {
    /// How often a category's list is refreshed; also the snapshot slot size.
    pub refresh_every: Duration,
    /// Product metadata (name, brand, link) is re-read after this long.
    pub meta_ttl: Duration,
    /// Prices and offers are re-read after this long.
    pub price_ttl: Duration,
    /// Review totals are re-read after this long.
    pub reviews_ttl: Duration,
    /// An entry whose resolution answered 403/404 is asked again only after this long.
    pub denied_ttl: Duration,
    /// At most this many cached entries are refreshed per category refresh (new entries are always
    /// resolved), which spreads the refresh cost evenly over time.
    pub max_refreshes_per_fetch: usize,
    /// A category with no list (404) is asked again after this long.
    pub no_list_backoff: Duration,
    /// A forbidden category (403) is asked again after this long.
    pub forbidden_backoff: Duration,
    /// First retry delay after a transient failure; doubles per consecutive failure, capped at
    /// `no_list_backoff`.
    pub failure_backoff: Duration,
    /// Whether to read `/reviews` (a popularity proxy) at all.
    pub fetch_reviews: bool,
    /// Offers read per product (`/products/{id}/items?limit=`), ≤ 100.
    pub offers_limit: u32,
    /// Snapshots and history expire (DynamoDB TTL) after this long.
    pub retention: Duration,
    /// Categories fetched at the same time.
    pub concurrency: usize,
    /// Stop starting new categories when less than this is left before the deadline.
    pub deadline_margin: std::time::Duration,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            refresh_every: Duration::minutes(15),
            meta_ttl: Duration::days(7),
            price_ttl: Duration::hours(24),
            reviews_ttl: Duration::hours(48),
            denied_ttl: Duration::days(3),
            max_refreshes_per_fetch: 1,
            no_list_backoff: Duration::hours(24),
            forbidden_backoff: Duration::hours(24),
            failure_backoff: Duration::minutes(5),
            fetch_reviews: true,
            offers_limit: 50,
            retention: Duration::days(180),
            concurrency: 4,
            deadline_margin: std::time::Duration::from_secs(10),
        }
    }
}

/// The last outcome of a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CategoryStatus {
    Ok,
    NoList,
    Forbidden { kind: ForbiddenKind },
    Error { kind: String },
}

/// The `STATE` item of a category: its schedule and last outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryState {
    pub site: SiteId,
    pub category: CategoryId,
    pub next_due: DateTime<Utc>,
    pub last_status: CategoryStatus,
    pub last_attempt: DateTime<Utc>,
    #[serde(default)]
    pub last_ok: Option<DateTime<Utc>>,
    #[serde(default)]
    pub consecutive_failures: u32,
}

/// The product cache item (`PROD#{site}#{id}` / `META`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductMeta {
    pub id: EntryId,
    #[serde(rename = "type")]
    pub kind: EntryType,
    pub first_seen: DateTime<Utc>,
    pub resolution: EntryResolution,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub permalink: Option<String>,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub price_min: Option<f64>,
    #[serde(default)]
    pub price_max: Option<f64>,
    #[serde(default)]
    pub seller_count: Option<u32>,
    #[serde(default)]
    pub reviews_total: Option<u64>,
    #[serde(default)]
    pub rating: Option<f64>,
    /// A listing to read reviews through (the buy-box winner or the first offer).
    #[serde(default)]
    pub review_item: Option<EntryId>,
    #[serde(default)]
    pub meta_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub price_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reviews_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl ProductMeta {
    /// A product first seen at `now`, with nothing resolved yet.
    pub(crate) fn new(id: EntryId, kind: EntryType, now: DateTime<Utc>) -> Self {
        ProductMeta {
            id,
            kind,
            first_seen: now,
            resolution: if kind == EntryType::UserProduct { EntryResolution::Opaque } else { EntryResolution::Pending },
            title: None,
            brand: None,
            permalink: None,
            price: None,
            currency: None,
            price_min: None,
            price_max: None,
            seller_count: None,
            reviews_total: None,
            rating: None,
            review_item: None,
            meta_at: None,
            price_at: None,
            reviews_at: None,
            expires_at: None,
        }
    }

    fn fill(&self, e: &mut SnapshotEntry, resolution: EntryResolution) {
        e.resolution = resolution;
        e.title.clone_from(&self.title);
        e.brand.clone_from(&self.brand);
        e.permalink.clone_from(&self.permalink);
        e.price = self.price;
        e.currency.clone_from(&self.currency);
        e.price_min = self.price_min;
        e.price_max = self.price_max;
        e.seller_count = self.seller_count;
        e.reviews_total = self.reviews_total;
        e.rating = self.rating;
    }
}

/// What happened to one category in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum CategoryOutcome {
    /// A snapshot was written (or already existed for this slot).
    Ok {
        entries: usize,
        api_calls: u32,
        already_stored: bool,
    },
    NoList,
    Forbidden {
        kind: ForbiddenKind,
    },
    Failed {
        error: String,
    },
    /// Not started: the deadline was near.
    Skipped,
}

/// The result of a fetch run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FetchReport {
    pub ok: usize,
    pub no_list: usize,
    pub forbidden: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Tracked categories that were not due.
    pub not_due: usize,
    pub snapshots_written: usize,
    /// API calls by endpoint family (`highlights`, `products`, `product_items`, `items`, `reviews`).
    pub api_calls: BTreeMap<String, u32>,
    /// Entry resolutions that failed, by error kind (403s on `/items` are expected in 2026).
    pub entry_errors: BTreeMap<String, u32>,
    pub categories: Vec<(SiteId, CategoryId, CategoryOutcome)>,
    pub duration_ms: u64,
}

impl FetchReport {
    pub fn total_calls(&self) -> u32 {
        self.api_calls.values().sum()
    }

    fn add(&mut self, site: SiteId, cat: CategoryId, outcome: CategoryOutcome, calls: &BTreeMap<String, u32>) {
        for (k, v) in calls {
            *self.api_calls.entry(k.clone()).or_default() += v;
        }
        match &outcome {
            CategoryOutcome::Ok { already_stored, .. } => {
                self.ok += 1;
                if !already_stored {
                    self.snapshots_written += 1;
                }
            }
            CategoryOutcome::NoList => self.no_list += 1,
            CategoryOutcome::Forbidden { .. } => self.forbidden += 1,
            CategoryOutcome::Failed { .. } => self.failed += 1,
            CategoryOutcome::Skipped => self.skipped += 1,
        }
        self.categories.push((site, cat, outcome));
    }
}

/// A store failure during fetch; source failures are per category and end up in the report.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("store failure")]
    Store(#[from] StoreError),
}

/// The slot a time falls in: the snapshot time of a fetch, so a retried run writes the same key.
pub fn slot_of(t: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    t.duration_trunc(every).unwrap_or(t)
}

/// Reads the `STATE` item of a category.
pub async fn load_state(
    store: &dyn SnapshotStore,
    site: SiteId,
    cat: &CategoryId,
) -> Result<Option<CategoryState>, StoreError> {
    match store.get_eventually_consistent(&keys::category_pk(site, cat), keys::STATE).await? {
        Some(item) => Ok(Some(item.decode()?)),
        None => Ok(None),
    }
}

/// Runs one fetch over the tracked categories that are due.
pub async fn fetch_due(
    source: &dyn MarketplaceSource,
    store: &dyn SnapshotStore,
    clock: &dyn Clock,
    tracked: &[(SiteId, CategoryId)],
    cfg: &FetchConfig,
    deadline: Option<Instant>,
) -> Result<FetchReport, FetchError> {
    use futures::stream::{self, StreamExt};

    let started = Instant::now();
    let now = clock.now();
    let mut report = FetchReport::default();
    let mut due = Vec::new();
    for (site, cat) in tracked {
        match load_state(store, *site, cat).await? {
            Some(st) if st.next_due > now => report.not_due += 1,
            _ => due.push((*site, cat.clone())),
        }
    }

    let results: Vec<_> = stream::iter(due)
        .map(|(site, cat)| async move {
            let near = deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < cfg.deadline_margin);
            if near {
                return (site, cat, Ok((CategoryOutcome::Skipped, BTreeMap::new())));
            }
            let r = fetch_category(source, store, clock, site, &cat, cfg).await;
            (site, cat, r)
        })
        .buffer_unordered(cfg.concurrency.max(1))
        .collect()
        .await;

    for (site, cat, r) in results {
        let (outcome, calls) = r?;
        report.add(site, cat, outcome, &calls);
    }
    // Entry-level errors come back from fetch_category under `err:{kind}` keys of the calls map.
    let errs: Vec<(String, u32)> =
        report.api_calls.iter().filter(|(k, _)| k.starts_with("err:")).map(|(k, v)| (k.clone(), *v)).collect();
    for (k, v) in errs {
        report.api_calls.remove(&k);
        report.entry_errors.insert(k.trim_start_matches("err:").to_string(), v);
    }
    report.categories.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// Counts calls per endpoint family, and entry errors under `err:{kind}`.
#[derive(Default)]
struct Calls(BTreeMap<String, u32>);

impl Calls {
    fn hit(&mut self, endpoint: &str) {
        *self.0.entry(endpoint.to_string()).or_default() += 1;
    }
    fn entry_error(&mut self, e: &SourceError) {
        *self.0.entry(format!("err:{}", e.kind_name())).or_default() += 1;
    }
    fn total(&self) -> u32 {
        self.0.iter().filter(|(k, _)| !k.starts_with("err:")).map(|(_, v)| v).sum()
    }
}

async fn write_state(
    store: &dyn SnapshotStore,
    site: SiteId,
    cat: &CategoryId,
    prev: Option<&CategoryState>,
    status: CategoryStatus,
    now: DateTime<Utc>,
    cfg: &FetchConfig,
) -> Result<(), StoreError> {
    let failures = match status {
        CategoryStatus::Error { .. } => prev.map_or(0, |p| p.consecutive_failures) + 1,
        _ => 0,
    };
    let slot = slot_of(now, cfg.refresh_every);
    let next_due = match &status {
        CategoryStatus::Ok => slot + cfg.refresh_every,
        CategoryStatus::NoList => now + cfg.no_list_backoff,
        CategoryStatus::Forbidden { .. } => now + cfg.forbidden_backoff,
        CategoryStatus::Error { .. } => {
            let factor = 1i32 << failures.saturating_sub(1).min(10);
            now + (cfg.failure_backoff * factor).min(cfg.no_list_backoff)
        }
    };
    let last_ok = if status == CategoryStatus::Ok { Some(now) } else { prev.and_then(|p| p.last_ok) };
    let st = CategoryState {
        site,
        category: cat.clone(),
        next_due,
        last_status: status,
        last_attempt: now,
        last_ok,
        consecutive_failures: failures,
    };
    store.put(Item::from_typed(keys::category_pk(site, cat), keys::STATE, &st)?, PutCondition::Always).await?;
    Ok(())
}

async fn fetch_category(
    source: &dyn MarketplaceSource,
    store: &dyn SnapshotStore,
    clock: &dyn Clock,
    site: SiteId,
    cat: &CategoryId,
    cfg: &FetchConfig,
) -> Result<(CategoryOutcome, BTreeMap<String, u32>), FetchError> {
    let started = Instant::now();
    let now = clock.now();
    let prev = load_state(store, site, cat).await?;
    let mut calls = Calls::default();

    calls.hit("highlights");
    let list = match source.highlights(site, cat).await {
        Ok(list) => list,
        Err(e) => {
            let (status, outcome) = match &e {
                SourceError::NoList => (CategoryStatus::NoList, CategoryOutcome::NoList),
                SourceError::Forbidden { kind, .. } => {
                    (CategoryStatus::Forbidden { kind: *kind }, CategoryOutcome::Forbidden { kind: *kind })
                }
                other => (
                    CategoryStatus::Error { kind: other.kind_name().to_string() },
                    CategoryOutcome::Failed { error: other.to_string() },
                ),
            };
            write_state(store, site, cat, prev.as_ref(), status, now, cfg).await?;
            return Ok((outcome, calls.0));
        }
    };

    let mut entries: Vec<SnapshotEntry> =
        list.iter().map(|h: &HighlightEntry| SnapshotEntry::bare(h.position, h.id.clone(), h.kind)).collect();
    let metas = resolve_entries(source, store, site, &mut entries, now, cfg, &mut calls).await?;

    let taken_at = slot_of(now, cfg.refresh_every);
    let snapshot = Snapshot {
        site,
        category: cat.clone(),
        taken_at,
        entries,
        fetch: FetchMeta {
            api_calls: calls.total(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
    };
    let snapshot = match snapshot.normalized() {
        Ok(s) => s,
        Err(e) => {
            let status = CategoryStatus::Error { kind: "malformed".into() };
            write_state(store, site, cat, prev.as_ref(), status, now, cfg).await?;
            return Ok((CategoryOutcome::Failed { error: format!("the list is not valid: {e}") }, calls.0));
        }
    };
    let n = snapshot.entries.len();
    // The entries' names go to the product items, which `resolve_entries` has just written (so
    // `store_snapshot` only writes one whose expiry would come before the snapshot's).
    let item = SnapshotItem::new(snapshot, cfg.retention.num_days());
    let outcome = names::store_snapshot(store, &item, PutCondition::IfAbsent, &metas).await?;
    write_state(store, site, cat, prev.as_ref(), CategoryStatus::Ok, now, cfg).await?;
    let api_calls = calls.total();
    Ok((CategoryOutcome::Ok { entries: n, api_calls, already_stored: outcome == PutOutcome::ConditionFailed }, calls.0))
}

fn stale(at: Option<DateTime<Utc>>, ttl: Duration, now: DateTime<Utc>) -> bool {
    at.is_none_or(|t| now - t >= ttl)
}

/// Fills the entries from the product cache and resolves what is missing or stale. Returns the
/// product items as they now are in the store.
async fn resolve_entries(
    source: &dyn MarketplaceSource,
    store: &dyn SnapshotStore,
    site: SiteId,
    entries: &mut [SnapshotEntry],
    now: DateTime<Utc>,
    cfg: &FetchConfig,
    calls: &mut Calls,
) -> Result<Vec<ProductMeta>, StoreError> {
    // 1. Load the cache.
    let mut metas: Vec<(ProductMeta, bool)> = Vec::with_capacity(entries.len());
    for e in entries.iter() {
        let cached = match store.get_eventually_consistent(&keys::product_pk(site, &e.id), keys::META).await? {
            Some(item) => item.decode::<ProductMeta>().ok(),
            None => None,
        };
        let is_new = cached.is_none();
        metas.push((cached.unwrap_or_else(|| ProductMeta::new(e.id.clone(), e.kind, now)), is_new));
    }

    // 2. Decide what to refresh: every unknown entry, and the stalest few known ones.
    let mut refresh_budget = cfg.max_refreshes_per_fetch;
    let mut plan: Vec<Work> = vec![Work::None; entries.len()];
    for (i, (m, is_new)) in metas.iter().enumerate() {
        let denied = matches!(m.resolution, EntryResolution::Forbidden | EntryResolution::NotFound);
        let work = match m.kind {
            EntryType::UserProduct => Work::None,
            _ if denied => {
                if stale(m.meta_at, cfg.denied_ttl, now) {
                    Work::Meta
                } else {
                    Work::None
                }
            }
            _ if *is_new || m.meta_at.is_none() || m.resolution == EntryResolution::Failed => Work::Meta,
            _ if stale(m.meta_at, cfg.meta_ttl, now) => Work::Meta,
            _ if stale(m.price_at, cfg.price_ttl, now) => Work::Price,
            _ if cfg.fetch_reviews && m.review_item.is_some() && stale(m.reviews_at, cfg.reviews_ttl, now) => {
                Work::Reviews
            }
            _ => Work::None,
        };
        let unknown = *is_new || m.meta_at.is_none();
        plan[i] = match work {
            Work::None => Work::None,
            w if unknown => w,
            w if refresh_budget > 0 => {
                refresh_budget -= 1;
                w
            }
            _ => Work::None,
        };
    }

    // 3. Products: /products/{id} and /products/{id}/items, one entry at a time.
    let mut item_ids: Vec<usize> = Vec::new();
    for (i, work) in plan.iter().enumerate() {
        let (m, _) = &mut metas[i];
        match (m.kind, work) {
            (_, Work::None) => {}
            (EntryType::Item, Work::Meta | Work::Price) => item_ids.push(i),
            (EntryType::Product, Work::Meta) => {
                calls.hit("products");
                match source.product(&m.id).await {
                    Ok(p) => {
                        m.title = Some(p.name);
                        m.brand = p.brand.or(m.brand.take());
                        m.permalink = p.permalink.filter(|s| !s.is_empty()).or(m.permalink.take());
                        m.price_min = p.price_min;
                        m.price_max = p.price_max;
                        if p.price.is_some() {
                            m.price = p.price;
                            m.currency = p.currency;
                        }
                        if p.winner_item_id.is_some() {
                            m.review_item = p.winner_item_id;
                        }
                        m.resolution = EntryResolution::Resolved;
                        m.meta_at = Some(now);
                        refresh_offers(source, m, now, cfg, calls).await;
                    }
                    Err(e) => {
                        calls.entry_error(&e);
                        mark_failed(m, &e, now);
                    }
                }
            }
            (EntryType::Product, Work::Price) => refresh_offers(source, m, now, cfg, calls).await,
            (EntryType::UserProduct, _) => {}
            (_, Work::Reviews) => refresh_reviews(source, m, now, calls).await,
        }
    }

    // 4. Listings: one multiget for up to 20 ids.
    for chunk in item_ids.chunks(20) {
        let ids: Vec<EntryId> = chunk.iter().map(|&i| metas[i].0.id.clone()).collect();
        calls.hit("items");
        match source.items(&ids).await {
            Ok(results) => {
                for (id, r) in results {
                    let Some(&i) = chunk.iter().find(|&&i| metas[i].0.id == id) else { continue };
                    let m = &mut metas[i].0;
                    match r {
                        Ok(info) => {
                            m.title = Some(info.title);
                            m.brand = info.brand.or(m.brand.take());
                            m.permalink = info.permalink.or(m.permalink.take());
                            m.price = info.price;
                            m.currency = info.currency;
                            m.review_item = Some(info.id);
                            m.resolution = EntryResolution::Resolved;
                            m.meta_at = Some(now);
                            m.price_at = Some(now);
                        }
                        Err(e) => {
                            calls.entry_error(&e);
                            mark_failed(m, &e, now);
                        }
                    }
                }
            }
            Err(e) => {
                calls.entry_error(&e);
                for &i in chunk {
                    mark_failed(&mut metas[i].0, &e, now);
                }
            }
        }
    }

    // 5. Write back the cache entries that changed and fill the snapshot.
    for (i, e) in entries.iter_mut().enumerate() {
        let (m, is_new) = &mut metas[i];
        let worked = !matches!(plan[i], Work::None);
        let resolution = match (worked, m.resolution) {
            (true, r) => r,
            (false, EntryResolution::Resolved) => EntryResolution::Cached,
            (false, r) => r,
        };
        m.fill(e, resolution);
        if worked || *is_new {
            m.expires_at = Some(names::meta_expiry(now, cfg.retention.num_days()));
            store.put(Item::from_typed(keys::product_pk(site, &m.id), keys::META, &*m)?, PutCondition::Always).await?;
        }
    }
    Ok(metas.into_iter().map(|(m, _)| m).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    None,
    Meta,
    Price,
    Reviews,
}

fn mark_failed(m: &mut ProductMeta, e: &SourceError, now: DateTime<Utc>) {
    match e {
        SourceError::Forbidden { .. } => {
            m.resolution = EntryResolution::Forbidden;
            m.meta_at = Some(now);
        }
        SourceError::NotFound | SourceError::NoList => {
            m.resolution = EntryResolution::NotFound;
            m.meta_at = Some(now);
        }
        _ => {
            // Transient or unexpected: keep what we knew and try again next time.
            if m.meta_at.is_none() {
                m.resolution = EntryResolution::Failed;
            }
        }
    }
}

async fn refresh_offers(
    source: &dyn MarketplaceSource,
    m: &mut ProductMeta,
    now: DateTime<Utc>,
    cfg: &FetchConfig,
    calls: &mut Calls,
) {
    calls.hit("product_items");
    match source.product_offers(&m.id, 0, cfg.offers_limit.clamp(1, 100)).await {
        Ok(page) => {
            let prices: Vec<f64> = page.offers.iter().filter_map(|o| o.price).filter(|p| p.is_finite()).collect();
            let min = prices.iter().copied().fold(None, |a: Option<f64>, p| Some(a.map_or(p, |a| a.min(p))));
            let max = prices.iter().copied().fold(None, |a: Option<f64>, p| Some(a.map_or(p, |a| a.max(p))));
            if let Some(min) = min {
                m.price = Some(min);
                m.price_min = Some(min);
                m.price_max = max;
                m.currency = page.offers.iter().find_map(|o| o.currency.clone()).or(m.currency.take());
            }
            m.seller_count = Some(page.total);
            if m.review_item.is_none() {
                m.review_item = page.offers.first().map(|o| o.item_id.clone());
            }
            m.price_at = Some(now);
        }
        Err(e) => calls.entry_error(&e),
    }
}

async fn refresh_reviews(source: &dyn MarketplaceSource, m: &mut ProductMeta, now: DateTime<Utc>, calls: &mut Calls) {
    let Some(item) = m.review_item.clone() else { return };
    calls.hit("reviews");
    let product = (m.kind == EntryType::Product).then(|| m.id.clone());
    match source.reviews(&item, product.as_ref()).await {
        Ok(r) => {
            m.reviews_total = Some(r.total);
            m.rating = r.rating_average;
            m.reviews_at = Some(now);
        }
        Err(e) => {
            calls.entry_error(&e);
            // A listing without reviews access is not asked again before the next window.
            m.reviews_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use futures::executor::block_on;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ids::Position;
    use crate::source::{ItemResult, OfferPage, ProductInfo, ReviewSummary};
    use crate::store::MemorySnapshotStore;

    /// A product's name, brand and link.
    type Listing = (String, Option<String>, Option<String>);

    /// A marketplace of catalog products whose names can change between fetches.
    #[derive(Default)]
    struct Catalog {
        // Held only inside each method (no await while held).
        names: Mutex<HashMap<EntryId, Listing>>,
        list: Vec<EntryId>,
    }

    impl Catalog {
        fn rename(&self, id: &EntryId, title: &str, brand: Option<&str>, link: Option<&str>) {
            let mut g = self.names.lock().unwrap();
            g.insert(id.clone(), (title.into(), brand.map(Into::into), link.map(Into::into)));
        }
    }

    #[async_trait::async_trait]
    impl MarketplaceSource for Catalog {
        async fn highlights(&self, _: SiteId, _: &CategoryId) -> Result<Vec<HighlightEntry>, SourceError> {
            Ok(self
                .list
                .iter()
                .enumerate()
                .map(|(i, id)| HighlightEntry {
                    position: Position::new(i as i64 + 1).unwrap(),
                    id: id.clone(),
                    kind: EntryType::Product,
                })
                .collect())
        }
        async fn product(&self, id: &EntryId) -> Result<ProductInfo, SourceError> {
            let g = self.names.lock().unwrap();
            let (name, brand, permalink) = g.get(id).cloned().ok_or(SourceError::NotFound)?;
            Ok(ProductInfo {
                id: id.clone(),
                name,
                status: None,
                brand,
                permalink,
                domain_id: None,
                price: Some(10.0),
                currency: Some("BRL".into()),
                price_min: None,
                price_max: None,
                winner_item_id: None,
            })
        }
        async fn product_offers(&self, _: &EntryId, offset: u32, limit: u32) -> Result<OfferPage, SourceError> {
            Ok(OfferPage { total: 0, offset, limit, offers: Vec::new() })
        }
        async fn items(&self, _: &[EntryId]) -> Result<Vec<ItemResult>, SourceError> {
            Ok(Vec::new())
        }
        async fn reviews(&self, _: &EntryId, _: Option<&EntryId>) -> Result<ReviewSummary, SourceError> {
            Err(SourceError::NotFound)
        }
    }

    fn meta(store: &MemorySnapshotStore, id: &EntryId) -> ProductMeta {
        block_on(store.get(&keys::product_pk(id.site(), id), keys::META)).unwrap().unwrap().decode().unwrap()
    }

    #[test]
    fn the_product_items_keep_the_names_current_and_the_snapshot_items_leave_them_out() {
        let (a, b) = (EntryId::parse("MLB1").unwrap(), EntryId::parse("MLB2").unwrap());
        let source = Catalog { list: vec![a.clone(), b.clone()], ..Catalog::default() };
        source.rename(&a, "Celular A", Some("Marca"), Some("https://x/a"));
        source.rename(&b, "Celular B", None, None);
        let store = MemorySnapshotStore::new();
        let t0 = keys::parse_ts("2026-11-01T00:00:00Z").unwrap();
        let clock = ManualClock::new(t0);
        let cat = CategoryId::parse("MLB1055").unwrap();
        let tracked = [(SiteId::MLB, cat.clone())];
        let cfg = FetchConfig { max_refreshes_per_fetch: 20, ..FetchConfig::default() };
        let r = block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        assert_eq!(r.snapshots_written, 1, "{r:?}");
        let m = meta(&store, &a);
        assert_eq!(
            (m.title.as_deref(), m.brand.as_deref(), m.permalink.as_deref()),
            (Some("Celular A"), Some("Marca"), Some("https://x/a"))
        );
        // The product item outlives the snapshot item that needs its names.
        let snaps =
            block_on(store.query(&crate::store::Query::pk(keys::category_pk(SiteId::MLB, &cat)).begins_with("SNAP#")))
                .unwrap();
        let stored = SnapshotItem::from_item(&snaps[0]).unwrap();
        assert!(m.expires_at.unwrap() >= stored.expires_at);
        assert!(!snaps[0].attrs["entries"].as_str().unwrap().contains("Celular"), "{:?}", snaps[0].attrs);
        assert!(stored.snapshot.entries.iter().all(|e| e.title.is_none() && e.price == Some(10.0)));

        // The marketplace renames A; once its metadata is stale the fetcher reads it again, and the
        // product item says the new names.
        source.rename(&a, "Celular A (2026)", None, Some("https://x/a2"));
        clock.advance(cfg.meta_ttl + cfg.refresh_every);
        let r = block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        assert_eq!(r.snapshots_written, 1, "{r:?}");
        let m = meta(&store, &a);
        assert_eq!(
            (m.title.as_deref(), m.brand.as_deref(), m.permalink.as_deref()),
            (Some("Celular A (2026)"), Some("Marca"), Some("https://x/a2")),
            "a missing brand keeps the one known"
        );
        let names = block_on(crate::names::read_names(&store, SiteId::MLB, [&a, &b])).unwrap();
        assert_eq!(names[&a].title.as_deref(), Some("Celular A (2026)"));
        assert_eq!(names[&b].title.as_deref(), Some("Celular B"));
    }
}

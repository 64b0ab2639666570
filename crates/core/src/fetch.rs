//! The fetch step: from `/highlights` to stored snapshots, within the API budget.
//!
//! For each tracked category that is due (per-category schedule in its `STATE` item) it calls
//! `/highlights`, resolves only the entries it does not know yet or whose cache expired (a few per
//! refresh, so the steady state costs about one call per category), and writes one snapshot item per
//! category and schedule slot with a conditional put: the same slot fetched twice stores one snapshot.
//! A position is never dropped because its entry could not be resolved.
//!
//! The `STATE` item read to find a category due is the one the refresh uses, and it carries the
//! current list's entries ([`cache`]): a refresh reads the product item (`PROD#…`/`META`) only of an
//! entry that is new to the list or due for work, and rewrites it whole from what it read.
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
use crate::snapshot::{Currency, EntryResolution, FetchMeta, Snapshot, SnapshotEntry};
use crate::source::{ForbiddenKind, HighlightEntry, MarketplaceSource, SourceError};
use crate::store::{Item, PutCondition, PutOutcome, SnapshotStore, StoreError};

pub mod cache;

use cache::{CachedEntry, EntryCache};

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
    /// `refresh_every` (at least `failure_backoff`): a list that keeps failing is asked no more often
    /// than a healthy one, and no less, so a run of errors never blinds the history for longer than
    /// the errors last.
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
    /// The current list's entries as the last refresh left them; absent in items written before
    /// the cache (their refresh reads every entry's product item).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "cache::attr")]
    pub entries: Option<EntryCache>,
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
        e.currency = self.currency.as_deref().map(Currency::from);
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
            // The refresh goes on from this read: no second one.
            prev => due.push((*site, cat.clone(), prev)),
        }
    }

    let results: Vec<_> = stream::iter(due)
        .map(|(site, cat, prev)| async move {
            let near = deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < cfg.deadline_margin);
            if near {
                return (site, cat, Ok((CategoryOutcome::Skipped, BTreeMap::new())));
            }
            let r = fetch_category(source, store, clock, site, &cat, prev, cfg).await;
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

/// Writes the `STATE` item after a refresh, with the list's entries as `entries` says (on a failed
/// refresh, the previous ones: nothing was learned about them).
#[allow(clippy::too_many_arguments)] // one call per outcome of fetch_category; a struct would only rename them
async fn write_state(
    store: &dyn SnapshotStore,
    site: SiteId,
    cat: &CategoryId,
    prev: Option<&CategoryState>,
    status: CategoryStatus,
    now: DateTime<Utc>,
    cfg: &FetchConfig,
    entries: Option<EntryCache>,
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
            now + (cfg.failure_backoff * factor).min(cfg.refresh_every.max(cfg.failure_backoff))
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
        entries,
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
    prev: Option<CategoryState>,
    cfg: &FetchConfig,
) -> Result<(CategoryOutcome, BTreeMap<String, u32>), FetchError> {
    let started = Instant::now();
    let now = clock.now();
    let kept = || prev.as_ref().and_then(|p| p.entries.clone());
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
            write_state(store, site, cat, prev.as_ref(), status, now, cfg, kept()).await?;
            return Ok((outcome, calls.0));
        }
    };

    let mut entries: Vec<SnapshotEntry> =
        list.iter().map(|h: &HighlightEntry| SnapshotEntry::bare(h.position, h.id.clone(), h.kind)).collect();
    let taken_at = slot_of(now, cfg.refresh_every);
    let usable =
        prev.as_ref().and_then(|p| p.entries.as_ref()).filter(|c| c.site == site && c.rules == cache::rules(cfg));
    let (metas, entry_cache) =
        resolve_entries(source, store, site, &mut entries, usable, now, taken_at, cfg, &mut calls).await?;
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
            write_state(store, site, cat, prev.as_ref(), status, now, cfg, Some(entry_cache)).await?;
            return Ok((CategoryOutcome::Failed { error: format!("the list is not valid: {e}") }, calls.0));
        }
    };
    let n = snapshot.entries.len();
    // The names of the entries read this refresh go to the product items, which `resolve_entries`
    // has just read or written, each outliving the snapshot (so `store_snapshot` reads and writes
    // none); the entries filled from the cache carry no names and are left alone.
    let item = SnapshotItem::new(snapshot, cfg.retention.num_days());
    let outcome = names::store_snapshot(store, &item, PutCondition::IfAbsent, &metas).await?;
    write_state(store, site, cat, prev.as_ref(), CategoryStatus::Ok, now, cfg, Some(entry_cache)).await?;
    let api_calls = calls.total();
    Ok((CategoryOutcome::Ok { entries: n, api_calls, already_stored: outcome == PutOutcome::ConditionFailed }, calls.0))
}

fn stale(at: Option<DateTime<Utc>>, ttl: Duration, now: DateTime<Utc>) -> bool {
    at.is_none_or(|t| now - t >= ttl)
}

/// The work the plan wants on a product known from its product item `m` (`is_new`: there was none),
/// before the refresh budget. [`cache::due`] is the earliest time at which this is not `None`.
fn wanted(m: &ProductMeta, is_new: bool, cfg: &FetchConfig, now: DateTime<Utc>) -> Work {
    let denied = matches!(m.resolution, EntryResolution::Forbidden | EntryResolution::NotFound);
    match m.kind {
        EntryType::UserProduct => Work::None,
        _ if denied => {
            if stale(m.meta_at, cfg.denied_ttl, now) {
                Work::Meta
            } else {
                Work::None
            }
        }
        _ if is_new || m.meta_at.is_none() || m.resolution == EntryResolution::Failed => Work::Meta,
        _ if stale(m.meta_at, cfg.meta_ttl, now) => Work::Meta,
        _ if stale(m.price_at, cfg.price_ttl, now) => Work::Price,
        _ if cfg.fetch_reviews && m.review_item.is_some() && stale(m.reviews_at, cfg.reviews_ttl, now) => Work::Reviews,
        _ => Work::None,
    }
}

/// Reads an entry's product item; a missing one (or one that does not decode) starts a new product.
async fn read_meta(
    store: &dyn SnapshotStore,
    site: SiteId,
    e: &SnapshotEntry,
    now: DateTime<Utc>,
) -> Result<(ProductMeta, bool), StoreError> {
    let cached = match store.get_eventually_consistent(&keys::product_pk(site, &e.id), keys::META).await? {
        Some(item) => item.decode::<ProductMeta>().ok(),
        None => None,
    };
    let is_new = cached.is_none();
    Ok((cached.unwrap_or_else(|| ProductMeta::new(e.id.clone(), e.kind, now)), is_new))
}

/// Fills the entries and resolves what is missing or stale. An entry in `cache` is filled from it
/// unless it is due (or the product items may expire before the snapshot); any other entry's product
/// item is read, planned from, worked on and written back whole. Returns the product items read or
/// written (as they now are in the store) and the cache for the next refresh.
#[allow(clippy::too_many_arguments)] // the steps of one refresh; a struct would only rename them
async fn resolve_entries(
    source: &dyn MarketplaceSource,
    store: &dyn SnapshotStore,
    site: SiteId,
    entries: &mut [SnapshotEntry],
    cache: Option<&EntryCache>,
    now: DateTime<Utc>,
    taken_at: DateTime<Utc>,
    cfg: &FetchConfig,
    calls: &mut Calls,
) -> Result<(Vec<ProductMeta>, EntryCache), StoreError> {
    let retention_days = cfg.retention.num_days();
    // The snapshot item's expiry: a product item that would expire first is rewritten.
    let snapshot_expiry = crate::signals::items::expiry(taken_at, retention_days);
    let cached: std::collections::HashMap<&EntryId, &CachedEntry> =
        cache.map(|c| c.entries.iter().map(|e| (&e.id, e)).collect()).unwrap_or_default();
    // Some cached entry's product item may expire before this snapshot: read them all this once.
    let sweep = cache.is_some_and(|c| taken_at.timestamp() > c.keeps_until);

    // 1-2. Per entry in list order: the cache, or the product item and what to do about it. Every
    // unknown entry is resolved, and the first few known ones that need it.
    let mut refresh_budget = cfg.max_refreshes_per_fetch;
    let mut plan: Vec<Work> = Vec::with_capacity(entries.len());
    let mut known: Vec<Known> = Vec::with_capacity(entries.len());
    for e in entries.iter() {
        let hit = cached.get(&e.id).filter(|c| {
            let due = c.due.is_some_and(|d| now >= d) && (refresh_budget > 0 || c.unknown());
            !sweep && !due
        });
        if let Some(c) = hit {
            plan.push(Work::None);
            known.push(Known::Cached((*c).clone()));
            continue;
        }
        let (m, is_new) = read_meta(store, site, e, now).await?;
        let unknown = is_new || m.meta_at.is_none();
        let work = match wanted(&m, is_new, cfg, now) {
            Work::None => Work::None,
            w if unknown => w,
            w if refresh_budget > 0 => {
                refresh_budget -= 1;
                w
            }
            _ => Work::None,
        };
        plan.push(work);
        known.push(Known::Read { meta: m, is_new });
    }

    // 3. Products: /products/{id} and /products/{id}/items, one entry at a time.
    let mut item_ids: Vec<usize> = Vec::new();
    for (i, work) in plan.iter().enumerate() {
        // Only an entry whose product item was read has work.
        let Some(m) = known[i].read_mut() else { continue };
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
        let ids: Vec<EntryId> = chunk.iter().filter_map(|&i| known[i].read().map(|m| m.id.clone())).collect();
        calls.hit("items");
        match source.items(&ids).await {
            Ok(results) => {
                for (id, r) in results {
                    let at = chunk.iter().copied().find(|&i| known[i].read().is_some_and(|m| m.id == id));
                    let Some(m) = at.and_then(|i| known[i].read_mut()) else { continue };
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
                    if let Some(m) = known[i].read_mut() {
                        mark_failed(m, &e, now);
                    }
                }
            }
        }
    }

    // 5. Fill the snapshot; write back the product items worked on, new, or that would expire
    // before the snapshot item; keep the list's entries for the next refresh.
    let mut out = Vec::new();
    let mut cache_entries = Vec::with_capacity(entries.len());
    // The carried entries' product items outlive the snapshots up to the old bound (they were not
    // read); those read now, up to their own expiry.
    let mut keeps_until = match cache {
        Some(c) if known.iter().any(|k| matches!(k, Known::Cached(_))) => c.keeps_until,
        _ => i64::MAX,
    };
    for ((e, k), work) in entries.iter_mut().zip(known).zip(&plan) {
        let worked = !matches!(work, Work::None);
        let cached_resolution = |r| if r == EntryResolution::Resolved { EntryResolution::Cached } else { r };
        let (mut m, is_new) = match k {
            Known::Cached(c) => {
                c.fill(e, cached_resolution(c.resolution));
                cache_entries.push(c);
                continue;
            }
            Known::Read { meta, is_new } => (meta, is_new),
        };
        m.fill(e, if worked { m.resolution } else { cached_resolution(m.resolution) });
        if worked || is_new || m.expires_at.is_none_or(|x| x < snapshot_expiry) {
            // Written whole: `m` is the product item as read (names, review listing and all), updated.
            m.expires_at = Some(names::meta_expiry(now, retention_days));
            store.put(Item::from_typed(keys::product_pk(site, &m.id), keys::META, &m)?, PutCondition::Always).await?;
        }
        if let Some(x) = m.expires_at {
            keeps_until = keeps_until.min(x.saturating_sub(retention_days.saturating_mul(86_400)));
        }
        cache_entries.push(CachedEntry::of(&m, cfg, now));
        out.push(m);
    }
    let next = EntryCache {
        site,
        at: now,
        unit_secs: cache::unit_secs(cfg),
        rules: cache::rules(cfg),
        keeps_until,
        entries: cache_entries,
    };
    Ok((out, next))
}

/// What a refresh knows of an entry: the cache's copy, or the product item it read (and whether
/// there was none).
enum Known {
    Cached(CachedEntry),
    Read { meta: ProductMeta, is_new: bool },
}

impl Known {
    fn read(&self) -> Option<&ProductMeta> {
        match self {
            Known::Read { meta, .. } => Some(meta),
            Known::Cached(_) => None,
        }
    }

    fn read_mut(&mut self) -> Option<&mut ProductMeta> {
        match self {
            Known::Read { meta, .. } => Some(meta),
            Known::Cached(_) => None,
        }
    }
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

    /// A marketplace whose list can change: catalog products with offers and reviews, and user
    /// products; it counts the offer pages it serves.
    struct Market {
        // Each held only inside one method (no await while held).
        list: Mutex<Vec<(EntryId, EntryType)>>,
        /// The listing of each product's first offer.
        first_offer: Mutex<HashMap<EntryId, EntryId>>,
        offer_pages: Mutex<u32>,
        /// Whether the list answers 503.
        down: Mutex<bool>,
    }

    impl Market {
        fn new(ids: &[(&str, EntryType)]) -> Self {
            let m = Market {
                list: Mutex::new(Vec::new()),
                first_offer: Mutex::new(HashMap::new()),
                offer_pages: Mutex::new(0),
                down: Mutex::new(false),
            };
            m.set_list(ids);
            m
        }
        fn set_list(&self, ids: &[(&str, EntryType)]) {
            *self.list.lock().unwrap() = ids.iter().map(|(id, k)| (EntryId::parse(id).unwrap(), *k)).collect();
        }
        fn winner(id: &EntryId) -> EntryId {
            EntryId::parse(&format!("MLB9{}", &id.as_str()[3..])).unwrap()
        }
    }

    #[async_trait::async_trait]
    impl MarketplaceSource for Market {
        async fn highlights(&self, _: SiteId, _: &CategoryId) -> Result<Vec<HighlightEntry>, SourceError> {
            if *self.down.lock().unwrap() {
                return Err(SourceError::Server { status: 503 });
            }
            if *self.down.lock().unwrap() {
                return Err(SourceError::Server { status: 503 });
            }
            Ok(self
                .list
                .lock()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, (id, kind))| HighlightEntry {
                    position: Position::new(i as i64 + 1).unwrap(),
                    id: id.clone(),
                    kind: *kind,
                })
                .collect())
        }
        async fn product(&self, id: &EntryId) -> Result<ProductInfo, SourceError> {
            Ok(ProductInfo {
                id: id.clone(),
                name: format!("Produto {id}"),
                status: None,
                brand: Some("Marca".into()),
                permalink: Some(format!("https://x/{id}")),
                domain_id: None,
                price: None,
                currency: None,
                price_min: None,
                price_max: None,
                winner_item_id: Some(Market::winner(id)),
            })
        }
        async fn product_offers(&self, id: &EntryId, offset: u32, limit: u32) -> Result<OfferPage, SourceError> {
            let pages = {
                let mut g = self.offer_pages.lock().unwrap();
                *g += 1;
                *g
            };
            let first = self.first_offer.lock().unwrap().get(id).cloned().unwrap_or_else(|| Market::winner(id));
            let offer = |item_id: EntryId, price: f64| crate::source::Offer {
                item_id,
                seller_id: None,
                price: Some(price),
                currency: Some("BRL".into()),
                free_shipping: None,
            };
            let base = 100.0 + f64::from(pages);
            Ok(OfferPage {
                total: 2,
                offset,
                limit,
                offers: vec![offer(first, base), offer(Market::winner(id), base + 50.5)],
            })
        }
        async fn items(&self, _: &[EntryId]) -> Result<Vec<ItemResult>, SourceError> {
            Ok(Vec::new())
        }
        async fn reviews(&self, item: &EntryId, _: Option<&EntryId>) -> Result<ReviewSummary, SourceError> {
            Ok(ReviewSummary { total: item.as_str().len() as u64 * 10, rating_average: Some(4.5) })
        }
    }

    use crate::billing::{Meter, MeteredStore};
    use std::sync::Arc;

    /// A metered in-memory store, a clock at a slot and one tracked category.
    type Metered = MeteredStore<MemorySnapshotStore>;

    fn setup() -> (Metered, Arc<Meter>, ManualClock, [(SiteId, CategoryId); 1]) {
        let meter = Arc::new(Meter::new());
        let store = MeteredStore::new(MemorySnapshotStore::new(), meter.clone());
        let clock = ManualClock::new(keys::parse_ts("2026-11-01T00:00:00Z").unwrap());
        (store, meter, clock, [(SiteId::MLB, CategoryId::parse("MLB1055").unwrap())])
    }

    fn usage(meter: &Meter, kind: &str) -> crate::billing::Usage {
        meter.by_kind().get(kind).copied().unwrap_or_default()
    }

    fn state(store: &Metered) -> CategoryState {
        let pk = keys::category_pk(SiteId::MLB, &CategoryId::parse("MLB1055").unwrap());
        block_on(store.inner().get(&pk, keys::STATE)).unwrap().unwrap().decode().unwrap()
    }

    fn stored_meta(store: &Metered, id: &str) -> ProductMeta {
        meta(store.inner(), &EntryId::parse(id).unwrap())
    }

    fn latest_snapshot(store: &Metered) -> SnapshotItem {
        let pk = keys::category_pk(SiteId::MLB, &CategoryId::parse("MLB1055").unwrap());
        let items = block_on(store.inner().query(&crate::store::Query::pk(pk).begins_with("SNAP#"))).unwrap();
        SnapshotItem::from_item(items.last().unwrap()).unwrap()
    }

    const P: EntryType = EntryType::Product;

    #[test]
    fn a_failing_list_is_retried_sooner_than_its_refresh_and_never_later() {
        let (store, _, clock, tracked) = setup();
        let source = Market::new(&[("MLB1", P)]);
        *source.down.lock().unwrap() = true;
        for (every, expected) in [(60, [5, 10, 20, 40, 60, 60, 60, 60]), (15, [5, 10, 15, 15, 15, 15, 15, 15])] {
            let cfg = FetchConfig { refresh_every: Duration::minutes(every), ..FetchConfig::default() };
            let mut delays = Vec::new();
            for _ in 0..8 {
                let r = block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
                assert_eq!((r.failed, r.snapshots_written), (1, 0), "{r:?}");
                let st = state(&store);
                delays.push((st.next_due - clock.now()).num_minutes());
                clock.set(st.next_due);
            }
            assert_eq!(delays, expected, "minutes until the next try, refreshing every {every} min");
            // Back up: the next try refreshes, and the list is on its cadence again.
            *source.down.lock().unwrap() = false;
            let r = block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
            assert_eq!((r.ok, r.snapshots_written), (1, 1), "{r:?}");
            let st = state(&store);
            assert_eq!(
                (st.consecutive_failures, st.next_due),
                (0, slot_of(clock.now(), cfg.refresh_every) + cfg.refresh_every)
            );
            *source.down.lock().unwrap() = true;
            clock.set(st.next_due);
        }
    }

    #[test]
    fn a_steady_state_refresh_reads_no_product_item_and_writes_one_state_and_one_snapshot() {
        let (store, meter, clock, tracked) = setup();
        let source = Market::new(&[("MLB1", P), ("MLB2", P), ("MLBU3", EntryType::UserProduct)]);
        let cfg = FetchConfig { max_refreshes_per_fetch: 20, ..FetchConfig::default() };
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        // The first refresh: every product item read (none there), written once.
        let prod = usage(&meter, "PROD");
        assert_eq!((prod.reads, prod.writes), (3, 3));
        assert_eq!(usage(&meter, "CAT/STATE").reads, 1, "fetch_due's read is the refresh's");
        // The next refresh reads the reviews of the resolved products (due at once).
        clock.advance(cfg.refresh_every);
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        assert_eq!(usage(&meter, "PROD").reads, 5);
        let first = latest_snapshot(&store);

        let before = meter.by_kind();
        for _ in 0..8 {
            clock.advance(cfg.refresh_every);
            let r = block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
            assert_eq!((r.ok, r.snapshots_written, r.total_calls()), (1, 1, 1), "{r:?}");
        }
        let after = meter.by_kind();
        let delta = |kind: &str, f: fn(&crate::billing::Usage) -> u64| {
            f(&after.get(kind).copied().unwrap_or_default()) - f(&before.get(kind).copied().unwrap_or_default())
        };
        assert_eq!(delta("PROD", |u| u.reads), 0, "no product item read in steady state");
        assert_eq!(delta("PROD", |u| u.writes), 0);
        assert_eq!((delta("CAT/STATE", |u| u.reads), delta("CAT/STATE", |u| u.writes)), (8, 8));
        assert_eq!(delta("CAT/SNAP", |u| u.writes), 8);

        // The list filled from the cache is the one filled from the product items, but for what the
        // stored item leaves out (names, the offer range) and the resolution saying where it came from.
        let last = latest_snapshot(&store);
        let strip = |item: &SnapshotItem| {
            let mut es = item.snapshot.entries.clone();
            for e in &mut es {
                (e.price_min, e.price_max, e.seller_count) = (None, None, None);
                if e.resolution == EntryResolution::Resolved {
                    e.resolution = EntryResolution::Cached;
                }
            }
            es
        };
        assert_eq!(strip(&first), strip(&last));
        assert!(last.snapshot.entries.iter().take(2).all(|e| e.resolution == EntryResolution::Cached));
        assert!(last.snapshot.entries[0].price.is_some() && last.snapshot.entries[0].reviews_total.is_some());
    }

    #[test]
    fn new_and_due_entries_read_their_product_items_and_rewrite_them_whole() {
        let (store, meter, clock, tracked) = setup();
        let source = Market::new(&[("MLB1", P), ("MLB2", P), ("MLB3", P)]);
        // Without reviews, the prices are the first work due after the resolution.
        let cfg = FetchConfig { fetch_reviews: false, ..FetchConfig::default() };
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        let reads = || usage(&meter, "PROD").reads;
        let writes = || usage(&meter, "PROD").writes;
        assert_eq!((reads(), writes()), (3, 3));

        // A new entrant: its product item is read (absent) and written; the others are not read.
        source.set_list(&[("MLB4", P), ("MLB1", P), ("MLB2", P), ("MLB3", P)]);
        clock.advance(cfg.refresh_every);
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        assert_eq!((reads(), writes()), (4, 4));
        assert_eq!(stored_meta(&store, "MLB4").title.as_deref(), Some("Produto MLB4"));

        // A user edits a product item's names (as `store_snapshot` would); the marketplace now lists
        // another first offer. Once the prices are due, one entry per refresh is read (the budget is
        // one) and written back from what was read: names, first seen and review listing kept.
        let mut edited = stored_meta(&store, "MLB1");
        edited.title = Some("Nome editado".into());
        block_on(store.inner().put(
            Item::from_typed(keys::product_pk(SiteId::MLB, &edited.id), keys::META, &edited).unwrap(),
            PutCondition::Always,
        ))
        .unwrap();
        source.first_offer.lock().unwrap().insert(edited.id.clone(), EntryId::parse("MLB777").unwrap());
        clock.set(keys::parse_ts("2026-11-02T00:00:00Z").unwrap());
        let (r0, w0) = (reads(), writes());
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        assert_eq!((reads() - r0, writes() - w0), (1, 1), "only the entry the budget allows is read");
        let m = stored_meta(&store, "MLB1");
        assert_eq!(m.title.as_deref(), Some("Nome editado"));
        assert_eq!((m.brand.as_deref(), m.permalink.as_deref()), (Some("Marca"), Some("https://x/MLB1")));
        assert_eq!(m.review_item, Some(Market::winner(&edited.id)), "the review listing is not the new first offer");
        assert_eq!(m.first_seen, edited.first_seen);
        assert!(m.price_at > edited.price_at && m.price != edited.price, "{m:?}");
        // The snapshot has the new price; the next refresh takes the first due entry in list order:
        // the entrant, whose prices were read 24 h before.
        let snap = latest_snapshot(&store);
        assert_eq!(snap.snapshot.entries[1].price, m.price);
        assert_eq!(snap.snapshot.entries[1].resolution, EntryResolution::Resolved);
        clock.advance(cfg.refresh_every);
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        assert_eq!((reads() - r0, writes() - w0), (2, 2));
        assert_eq!(stored_meta(&store, "MLB4").price_at, Some(clock.now()));
        assert!(stored_meta(&store, "MLB2").price_at < Some(clock.now()));
    }

    #[test]
    fn an_entry_refreshed_through_another_list_is_read_but_not_called_again() {
        // Two categories list the same product; the first refreshes its prices, the second finds
        // it due in its cache, reads the product item and plans from it: no second call.
        let (store, meter, clock, _) = setup();
        let source = Market::new(&[("MLB1", P)]);
        let cats = [
            (SiteId::MLB, CategoryId::parse("MLB1055").unwrap()),
            (SiteId::MLB, CategoryId::parse("MLB1000").unwrap()),
        ];
        let cfg = FetchConfig { concurrency: 1, ..FetchConfig::default() };
        block_on(fetch_due(&source, &store, &clock, &cats[..1], &cfg, None)).unwrap();
        block_on(fetch_due(&source, &store, &clock, &cats[1..], &cfg, None)).unwrap();
        clock.advance(cfg.price_ttl);
        let pages = *source.offer_pages.lock().unwrap();
        block_on(fetch_due(&source, &store, &clock, &cats[..1], &cfg, None)).unwrap();
        assert_eq!(*source.offer_pages.lock().unwrap(), pages + 1);
        let reads = usage(&meter, "PROD").reads;
        let r = block_on(fetch_due(&source, &store, &clock, &cats[1..], &cfg, None)).unwrap();
        assert_eq!(*source.offer_pages.lock().unwrap(), pages + 1, "{r:?}");
        assert_eq!(usage(&meter, "PROD").reads, reads + 1);
    }

    #[test]
    fn a_state_without_the_cache_reads_every_product_item_as_before() {
        let (store, meter, clock, tracked) = setup();
        let source = Market::new(&[("MLB1", P), ("MLB2", P)]);
        let cfg = FetchConfig { fetch_reviews: false, ..FetchConfig::default() };
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        // The item as written before the cache existed, and one whose cache does not decode.
        let pk = keys::category_pk(SiteId::MLB, &tracked[0].1);
        let mut old = Item::from_typed(pk, keys::STATE, &state(&store)).unwrap();
        assert!(old.attrs.remove("entries").is_some());
        let mut garbled = old.clone();
        garbled.attrs.insert("entries", serde_json::json!("{\"site\":\"MLB\",\"id\":7}"));
        for item in [old, garbled] {
            block_on(store.inner().put(item, PutCondition::Always)).unwrap();
            assert!(state(&store).entries.is_none());
            clock.advance(cfg.refresh_every);
            let reads = usage(&meter, "PROD").reads;
            let r = block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
            assert_eq!((r.ok, r.total_calls()), (1, 1), "{r:?}");
            assert_eq!(usage(&meter, "PROD").reads, reads + 2);
            assert_eq!(state(&store).entries.map(|c| c.entries.len()), Some(2), "written again with the cache");
        }
        // A cache written under other TTLs is not used either.
        let other = FetchConfig { price_ttl: Duration::hours(12), ..cfg.clone() };
        clock.advance(cfg.refresh_every);
        let reads = usage(&meter, "PROD").reads;
        block_on(fetch_due(&source, &store, &clock, &tracked, &other, None)).unwrap();
        assert_eq!(usage(&meter, "PROD").reads, reads + 2);
    }

    #[test]
    fn product_items_of_cached_entries_are_kept_alive_past_the_snapshots() {
        // User products are never due: only their expiry brings a read.
        let (store, meter, clock, tracked) = setup();
        let source = Market::new(&[("MLBU1", EntryType::UserProduct), ("MLBU2", EntryType::UserProduct)]);
        let cfg = FetchConfig { refresh_every: Duration::days(1), ..FetchConfig::default() };
        block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
        let reads = || usage(&meter, "PROD").reads;
        assert_eq!(reads(), 2);
        let mut sweeps = 0;
        for _ in 0..(2 * names::META_SLACK_DAYS + 5) {
            clock.advance(cfg.refresh_every);
            let before = reads();
            block_on(fetch_due(&source, &store, &clock, &tracked, &cfg, None)).unwrap();
            let snap = latest_snapshot(&store);
            for id in ["MLBU1", "MLBU2"] {
                let m = stored_meta(&store, id);
                assert!(
                    m.expires_at.unwrap() >= snap.expires_at,
                    "{id} would expire before {}",
                    snap.snapshot.taken_at
                );
            }
            match reads() - before {
                0 => {}
                2 => sweeps += 1,
                n => panic!("{n} reads"),
            }
        }
        assert_eq!(sweeps, 2, "about once per {} days", names::META_SLACK_DAYS);
    }
}

//! The entry cache of a category's `STATE` item: what a refresh needs of each entry of the current
//! list, so that it reads an entry's product item (`PROD#{site}#{id}` / `META`) only when the entry
//! is new or due (docs/decisions.md, "The fetcher's entry cache in STATE").
//!
//! Per entry it keeps what fills the stored snapshot (resolution, price, currency, review total,
//! rating: [`CachedEntry::fill`]) and one time, `due`: the earliest time at which the refresh plan
//! could want work on the entry. That one time stands for the product item's `meta_at`, `price_at`,
//! `reviews_at` and whether it has a `review_item` ([`due`]): when it has come, the refresh reads the
//! product item and plans from it exactly as before, so the cache only has to be early, never late. A
//! cache written under other TTLs or retention ([`rules`]) is not used.
//!
//! The product items must outlive the snapshot items that need their names (`names::store_snapshot`).
//! The cache keeps one bound for the whole list, `keeps_until`: the latest snapshot time that every
//! cached entry's product item outlives. A snapshot taken after it makes the refresh read every
//! entry's product item (and rewrite the ones that would expire first): about once per
//! `names::META_SLACK_DAYS` per category, for the entries that were not read since. One number
//! instead of an expiry per entry keeps the item within 1 KB.
//!
//! Stored as one string attribute, a JSON text of columns in list order (like the snapshot item's
//! entries): `{"site":"MLB","at":…,"u":3600,"rules":"9a3c…","keep":720,"id":"15960724,U3013800008",
//! "res":"RO","price":[…],"currency":"BRL","reviews":[…],"rating":[…],"due":[…]}`:
//! - ids without their site's prefix, comma-separated;
//! - resolutions as the snapshot item's one-letter codes;
//! - times (`keep`, `due`) as whole units `u` (the refresh cadence) after `at`, on the grid of `u` (a time is
//!   rounded down to it, so a due time read back is never later than the one written, and writing it
//!   again does not move it);
//! - a column that no entry has is left out; prices that are whole numbers are written without `.0`.
//!
//! A text that does not decode is treated as no cache (every entry's product item is read, as for a
//! `STATE` written before the cache existed). `STATE` is read eventually consistently: a read that
//! misses the latest write gives the cache before it, whose due times are no later, so the refresh
//! reads the product items of the entries worked on since (budget allowing; else it fills them with
//! values one refresh old, as the plan would have left them unworked anyway).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{FetchConfig, ProductMeta};
use crate::ids::{EntryId, EntryType, SiteId};
use crate::snapshot::{self, Coded, Currency, CurrencyColumn, EntryResolution, Num, SnapshotEntry};

/// One entry of the list as the last refresh left it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedEntry {
    pub id: EntryId,
    /// The product item's resolution (`Resolved`, never `Cached`).
    pub resolution: EntryResolution,
    pub price: Option<f64>,
    pub currency: Option<Currency>,
    pub reviews_total: Option<u64>,
    pub rating: Option<f64>,
    /// From this time on, the plan may want work on the entry: the refresh reads its product item.
    /// `None`: never (a user product).
    pub due: Option<DateTime<Utc>>,
}

impl CachedEntry {
    /// What a refresh keeps of a product item.
    pub(crate) fn of(m: &ProductMeta, cfg: &FetchConfig, now: DateTime<Utc>) -> Self {
        CachedEntry {
            id: m.id.clone(),
            resolution: m.resolution,
            price: m.price,
            currency: m.currency.as_deref().map(Currency::from),
            reviews_total: m.reviews_total,
            rating: m.rating,
            due: due(m, cfg, now),
        }
    }

    /// Fills a snapshot entry as [`ProductMeta::fill`] does, but for the names and the offer range,
    /// which the stored snapshot item does not keep.
    pub(crate) fn fill(&self, e: &mut SnapshotEntry, resolution: EntryResolution) {
        e.resolution = resolution;
        e.price = self.price;
        e.currency.clone_from(&self.currency);
        e.reviews_total = self.reviews_total;
        e.rating = self.rating;
    }

    /// An entry whose resolution is still to be learned: resolved whatever the refresh budget.
    pub(crate) fn unknown(&self) -> bool {
        matches!(self.resolution, EntryResolution::Pending | EntryResolution::Failed)
    }
}

/// The entries of a category's current list, as its `STATE` item keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryCache {
    pub site: SiteId,
    /// When the cache was written.
    pub at: DateTime<Utc>,
    /// The unit of the stored times, in seconds (the refresh cadence when written).
    pub unit_secs: i64,
    /// The rules the due times were computed under ([`rules`]).
    pub rules: String,
    /// Every cached entry's product item outlives a snapshot item taken at or before this time
    /// (epoch seconds; `i64::MAX` for an empty list).
    pub keeps_until: i64,
    pub entries: Vec<CachedEntry>,
}

/// The settings the due times depend on, as a short fingerprint (8 hex digits of FNV-1a over
/// `meta,price,reviews,denied TTLs in minutes,fetch_reviews,retention days`). A cache written under
/// other settings is not used: a shorter TTL or a longer retention would otherwise act only once the
/// old due times came.
pub fn rules(cfg: &FetchConfig) -> String {
    let text = format!(
        "{},{},{},{},{},{}",
        cfg.meta_ttl.num_minutes(),
        cfg.price_ttl.num_minutes(),
        cfg.reviews_ttl.num_minutes(),
        cfg.denied_ttl.num_minutes(),
        u8::from(cfg.fetch_reviews),
        cfg.retention.num_days()
    );
    // FNV-1a, 32 bits: stable across builds (unlike std's hasher).
    let hash = text.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{hash:08x}")
}

/// The unit of the stored times for a cadence: the cadence, at least a minute.
pub fn unit_secs(cfg: &FetchConfig) -> i64 {
    cfg.refresh_every.num_seconds().max(60)
}

/// The earliest time at which the refresh plan (`fetch::wanted`) wants work on a product known
/// from `m`, or `None` if it never does. Before it the plan wants nothing; from it on, it may.
pub fn due(m: &ProductMeta, cfg: &FetchConfig, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if m.kind == EntryType::UserProduct {
        return None;
    }
    if matches!(m.resolution, EntryResolution::Forbidden | EntryResolution::NotFound) {
        return Some(m.meta_at.map_or(now, |t| t + cfg.denied_ttl));
    }
    let meta_at = match m.meta_at {
        Some(t) if m.resolution != EntryResolution::Failed => t,
        _ => return Some(now),
    };
    let mut due = (meta_at + cfg.meta_ttl).min(m.price_at.map_or(now, |t| t + cfg.price_ttl));
    if cfg.fetch_reviews && m.review_item.is_some() {
        due = due.min(m.reviews_at.map_or(now, |t| t + cfg.reviews_ttl));
    }
    Some(due)
}

/// The stored text's fields.
#[derive(Serialize, Deserialize)]
struct Text {
    site: SiteId,
    at: i64,
    u: i64,
    rules: String,
    keep: i64,
    id: String,
    res: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    price: Vec<Option<Num>>,
    #[serde(default, skip_serializing_if = "CurrencyColumn::is_empty")]
    currency: CurrencyColumn,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    reviews: Vec<Option<u64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rating: Vec<Option<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    due: Vec<Option<i64>>,
}

/// A column of `n` values, or nothing when no value is there.
fn column<T>(es: &[CachedEntry], f: impl Fn(&CachedEntry) -> Option<T>) -> Vec<Option<T>> {
    if es.iter().any(|e| f(e).is_some()) {
        es.iter().map(f).collect()
    } else {
        Vec::new()
    }
}

/// Column `c` read back for `n` entries: all `None` when absent.
fn read_column<T>(c: Vec<Option<T>>, n: usize, name: &str) -> Result<Vec<Option<T>>, String> {
    Ok(snapshot::column(c, n, name)?.chain(std::iter::repeat_with(|| None)).take(n).collect())
}

impl EntryCache {
    /// The stored text.
    pub fn to_text(&self) -> String {
        let u = self.unit_secs.max(1);
        let base = self.at.timestamp().div_euclid(u);
        let es = &self.entries;
        let prefix = self.site.as_str();
        let id: Vec<&str> = es.iter().map(|e| e.id.as_str().strip_prefix(prefix).unwrap_or(e.id.as_str())).collect();
        let currency = match snapshot::one_currency(es, |e| e.price, |e| e.currency.as_deref()) {
            Some(one) => CurrencyColumn::One(Currency::from(one)),
            None => CurrencyColumn::Each(column(es, |e| e.currency.clone())),
        };
        let text = Text {
            site: self.site,
            at: base * u,
            u,
            rules: self.rules.clone(),
            // Rounded down, like the due times: never later than the true bound.
            keep: self.keeps_until.div_euclid(u) - base,
            id: id.join(","),
            res: es.iter().map(|e| e.resolution.code()).collect(),
            price: column(es, |e| e.price).into_iter().map(|p| p.map(Num)).collect(),
            currency,
            reviews: column(es, |e| e.reviews_total),
            rating: column(es, |e| e.rating),
            due: column(es, |e| e.due.map(|d| d.timestamp().div_euclid(u) - base)),
        };
        // A map of strings and numbers always serializes.
        serde_json::to_string(&text).unwrap_or_default()
    }

    /// The cache a stored text holds.
    pub fn from_text(s: &str) -> Result<Self, String> {
        let t: Text = serde_json::from_str(s).map_err(|e| e.to_string())?;
        if t.u <= 0 {
            return Err(format!("the time unit {} is not positive", t.u));
        }
        let ids: Vec<EntryId> = if t.id.is_empty() {
            Vec::new()
        } else {
            t.id.split(',')
                .map(|part| {
                    EntryId::parse(part)
                        .or_else(|_| EntryId::parse(&format!("{}{part}", t.site.as_str())))
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<_, _>>()?
        };
        let n = ids.len();
        let res: Vec<EntryResolution> = t
            .res
            .chars()
            .map(|c| EntryResolution::from_code(c).ok_or_else(|| format!("unknown resolution code {c:?}")))
            .collect::<Result<_, _>>()?;
        if res.len() != n {
            return Err(format!("{} resolutions for {n} entries", res.len()));
        }
        let price: Vec<Option<f64>> =
            read_column(t.price, n, "price")?.into_iter().map(|p| p.map(|Num(x)| x)).collect();
        let currency = match t.currency {
            CurrencyColumn::One(c) => price.iter().map(|p| p.map(|_| c.clone())).collect(),
            CurrencyColumn::Each(c) => read_column(c, n, "currency")?,
        };
        let reviews = read_column(t.reviews, n, "reviews")?;
        let rating = read_column(t.rating, n, "rating")?;
        let due = read_column(t.due, n, "due")?;
        let base = t.at.div_euclid(t.u);
        let time = |units: i64| {
            DateTime::from_timestamp(base.saturating_add(units).saturating_mul(t.u), 0)
                .ok_or_else(|| format!("a due time {units} units after {} is out of range", t.at))
        };
        let mut entries = Vec::with_capacity(n);
        for (i, id) in ids.into_iter().enumerate() {
            entries.push(CachedEntry {
                id,
                resolution: res[i],
                price: price[i],
                currency: currency[i].clone(),
                reviews_total: reviews[i],
                rating: rating[i],
                due: due[i].map(time).transpose()?,
            });
        }
        Ok(EntryCache {
            site: t.site,
            at: DateTime::from_timestamp(t.at, 0).ok_or_else(|| format!("the time {} is out of range", t.at))?,
            unit_secs: t.u,
            rules: t.rules,
            keeps_until: base.saturating_add(t.keep).saturating_mul(t.u),
            entries,
        })
    }

    /// The cache as read back: its times rounded down to its unit.
    pub fn stored(&self) -> Option<Self> {
        Self::from_text(&self.to_text()).ok()
    }
}

/// `#[serde(with)]` for the `STATE` item's `entries`: one string attribute; a text that does not
/// decode reads as no cache.
pub(crate) mod attr {
    use super::EntryCache;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &Option<EntryCache>, s: S) -> Result<S::Ok, S::Error> {
        match c {
            Some(c) => s.serialize_str(&c.to_text()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EntryCache>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        match EntryCache::from_text(&text) {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                tracing::warn!(error = %e, "a category's entry cache does not decode; reading its product items");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::fetch::{wanted, CategoryState, CategoryStatus, Work};
    use crate::ids::{CategoryId, Position};
    use crate::keys;
    use crate::signals::SnapshotItem;
    use crate::snapshot::{FetchMeta, Snapshot};
    use crate::store::Item;

    fn t0() -> DateTime<Utc> {
        keys::parse_ts("2026-11-01T00:00:00Z").unwrap()
    }

    const KINDS: [EntryType; 3] = [EntryType::Item, EntryType::Product, EntryType::UserProduct];
    const RESOLUTIONS: [EntryResolution; 6] = [
        EntryResolution::Resolved,
        EntryResolution::Forbidden,
        EntryResolution::NotFound,
        EntryResolution::Opaque,
        EntryResolution::Failed,
        EntryResolution::Pending,
    ];

    /// A time up to 10 days before `t0`, to the second, or none.
    fn arb_time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
        proptest::option::of((0i64..10 * 86_400).prop_map(|s| t0() - Duration::seconds(s)))
    }

    prop_compose! {
        fn arb_meta()(
            n in 1u64..10_000_000_000,
            kind in 0usize..3,
            resolution in 0usize..6,
            price in proptest::option::of(prop_oneof![(1u32..5_000_000).prop_map(f64::from), 0.01f64..1e7]),
            currency in proptest::option::of(prop_oneof![Just("BRL"), Just("ARS")]),
            reviews in proptest::option::of(0u64..100_000),
            rating in proptest::option::of((0u32..=50).prop_map(|r| f64::from(r) / 10.0)),
            review_item in any::<bool>(),
            (meta_at, price_at, reviews_at) in (arb_time(), arb_time(), arb_time()),
            expires in 0i64..400,
        ) -> ProductMeta {
            let kind = KINDS[kind];
            let prefix = if kind == EntryType::UserProduct { "MLBU" } else { "MLB" };
            let mut m = ProductMeta::new(EntryId::parse(&format!("{prefix}{n}")).unwrap(), kind, t0());
            m.resolution = RESOLUTIONS[resolution];
            (m.price, m.currency, m.reviews_total, m.rating) = (price, currency.map(Into::into), reviews, rating);
            m.review_item = review_item.then(|| EntryId::parse("MLB42").unwrap());
            (m.meta_at, m.price_at, m.reviews_at) = (meta_at, price_at, reviews_at);
            m.title = Some(format!("Produto {n}"));
            (m.price_min, m.price_max, m.seller_count) = (price, price.map(|p| p * 2.0), Some(3));
            m.expires_at = Some(crate::signals::items::expiry(t0(), expires));
            m
        }
    }

    fn cfg_of(reviews: bool, every_min: i64) -> FetchConfig {
        FetchConfig { fetch_reviews: reviews, refresh_every: Duration::minutes(every_min), ..FetchConfig::default() }
    }

    /// A cache of `metas` written at `now`, as stored and read back.
    fn stored(metas: &[ProductMeta], cfg: &FetchConfig, now: DateTime<Utc>) -> EntryCache {
        let c = EntryCache {
            site: SiteId::MLB,
            at: now,
            unit_secs: unit_secs(cfg),
            rules: rules(cfg),
            keeps_until: 1_800_000_000,
            entries: metas.iter().map(|m| CachedEntry::of(m, cfg, now)).collect(),
        };
        EntryCache::from_text(&c.to_text()).unwrap()
    }

    proptest! {
        /// The cached due time is never later than the first time the plan wants work (so a cached
        /// entry is never left alone when its product item would have been worked on), and at most one
        /// unit earlier.
        #[test]
        fn the_due_time_is_never_late(m in arb_meta(), reviews in any::<bool>(), every in prop_oneof![Just(15i64), Just(60)], later in 0i64..(12 * 24 * 60)) {
            let cfg = cfg_of(reviews, every);
            let now = t0();
            let exact = due(&m, &cfg, now);
            let read_back = stored(std::slice::from_ref(&m), &cfg, now).entries[0].due;
            let t = now + Duration::minutes(later);
            let wants = wanted(&m, false, &cfg, t) != Work::None;
            match exact {
                None => prop_assert!(!wants && read_back.is_none()),
                Some(d) => {
                    prop_assert!(!wants || t >= d, "work wanted at {t} before the due time {d}");
                    prop_assert!(wanted(&m, false, &cfg, d.max(now)) != Work::None, "nothing wanted at the due time {d}");
                    let r = read_back.unwrap();
                    prop_assert!(r <= d && d - r < Duration::minutes(every), "{r} for {d}");
                }
            }
        }

        /// The stored snapshot item is the same whether its entries were filled from the product
        /// items or from the cache (but for the offer range and seller count, which the cache does not
        /// keep and the stored item is to drop).
        #[test]
        fn the_snapshot_filled_from_the_cache_is_the_one_filled_from_the_product_items(
            metas in proptest::collection::vec(arb_meta(), 1..=20),
            worked in proptest::collection::vec(any::<bool>(), 20),
        ) {
            let cfg = FetchConfig::default();
            let mut metas = metas;
            metas.dedup_by(|a, b| a.id == b.id);
            metas.sort_by(|a, b| a.id.cmp(&b.id));
            metas.dedup_by(|a, b| a.id == b.id);
            let cache = stored(&metas, &cfg, t0());
            let snapshot = |fill: &dyn Fn(usize, &mut SnapshotEntry)| {
                let entries = metas.iter().enumerate().map(|(i, m)| {
                    let mut e = SnapshotEntry::bare(Position::new(i as i64 + 1).unwrap(), m.id.clone(), m.kind);
                    fill(i, &mut e);
                    (e.price_min, e.price_max, e.seller_count) = (None, None, None);
                    e
                }).collect();
                let s = Snapshot { site: SiteId::MLB, category: CategoryId::parse("MLB1055").unwrap(), taken_at: t0(), entries, fetch: FetchMeta::default() };
                SnapshotItem::new(s, 180).to_item().unwrap()
            };
            let resolution = |i: usize, r: EntryResolution| if worked[i] || r != EntryResolution::Resolved { r } else { EntryResolution::Cached };
            let from_meta = snapshot(&|i, e| metas[i].fill(e, resolution(i, metas[i].resolution)));
            let from_cache = snapshot(&|i, e| cache.entries[i].fill(e, resolution(i, cache.entries[i].resolution)));
            prop_assert_eq!(from_meta, from_cache);
        }
    }

    /// A 20-entry list as the demo's hourly run leaves it: the `STATE` item stays within one write unit.
    #[test]
    fn a_state_with_a_twenty_entry_cache_fits_one_kilobyte() {
        let cfg = FetchConfig { refresh_every: Duration::hours(1), ..FetchConfig::default() };
        let now = t0();
        let metas: Vec<ProductMeta> = (0..20)
            .map(|i| {
                let (kind, id) = match i % 10 {
                    4 => (EntryType::UserProduct, format!("MLBU27988685{i:02}")),
                    8 => (EntryType::Item, format!("MLB61116129{i:02}")),
                    _ => (EntryType::Product, format!("MLB578924{i:02}")),
                };
                let mut m = ProductMeta::new(EntryId::parse(&id).unwrap(), kind, now - Duration::days(3));
                if kind != EntryType::UserProduct {
                    m.resolution = EntryResolution::Resolved;
                    m.price = Some(1_866_959.99 - f64::from(i) * 1000.0);
                    m.currency = Some("ARS".into());
                    m.reviews_total = Some(10_640 + i as u64);
                    m.rating = Some(4.6);
                    m.review_item = Some(EntryId::parse("MLB3675208108").unwrap());
                    m.meta_at = Some(now - Duration::days(6));
                    m.price_at = Some(now - Duration::hours(23));
                    m.reviews_at = Some(now - Duration::hours(47));
                }
                m.expires_at = Some(crate::names::meta_expiry(now, 180));
                m
            })
            .collect();
        let st = CategoryState {
            site: SiteId::MLB,
            category: CategoryId::parse("MLB126793").unwrap(),
            next_due: now,
            last_status: CategoryStatus::Error { kind: "transient".into() },
            last_attempt: now,
            last_ok: Some(now),
            consecutive_failures: 3,
            entries: Some(stored(&metas, &cfg, now)),
        };
        let item = Item::from_typed(keys::category_pk(st.site, &st.category), keys::STATE, &st).unwrap();
        let size = crate::billing::item_size(&item);
        assert!(size <= 1024, "{size} B: {}", item.attrs["entries"]);
        // And it reads back as written.
        let back: CategoryState = item.decode().unwrap();
        assert_eq!(back, st);
    }

    #[test]
    fn a_cache_reads_back_and_rewriting_it_does_not_move_its_times() {
        let cfg = cfg_of(true, 15);
        let mut m = ProductMeta::new(EntryId::parse("MLB15960724").unwrap(), EntryType::Product, t0());
        m.resolution = EntryResolution::Resolved;
        m.meta_at = Some(t0() - Duration::seconds(100));
        m.price_at = Some(t0() - Duration::seconds(7));
        m.price = Some(10.5);
        let u = EntryId::parse("MLBU3013800008").unwrap();
        let metas = [m, ProductMeta::new(u.clone(), EntryType::UserProduct, t0())];
        let once = stored(&metas, &cfg, t0() + Duration::seconds(5));
        assert_eq!(once.entries[0].due, Some(keys::parse_ts("2026-10-31T23:45:00Z").unwrap() + Duration::hours(24)));
        assert_eq!(once.entries[1].id, u);
        assert_eq!(once.entries[1].due, None);
        let text = once.to_text();
        assert!(text.contains("\"id\":\"15960724,U3013800008\""), "{text}");
        assert!(text.contains("\"price\":[10.5,null]") && !text.contains("currency"), "{text}");
        let mut later = once.clone();
        later.at = t0() + Duration::hours(5) + Duration::seconds(17);
        assert_eq!(later.stored().unwrap().entries, once.entries);
        for bad in
            ["", "{}", "{\"site\":\"MLB\",\"at\":0,\"u\":0,\"rules\":\"\",\"keep\":0,\"id\":\"1\",\"res\":\"R\"}"]
        {
            assert!(EntryCache::from_text(bad).is_err(), "{bad}");
        }
        let short = text.replace("\"res\":\"RO\"", "\"res\":\"R\"");
        assert!(EntryCache::from_text(&short).is_err());
    }
}

//! Where the names of products (title, brand, link) live: the product item `PROD#{site}#{id}` /
//! `META` ([`ProductMeta`]), not the snapshot items (docs/decisions.md, 2026-11-30).
//!
//! A snapshot's in-memory entries carry their names (the fetcher fills them from the product cache;
//! `meli-radar score --input` reads them), but its stored item leaves them out. So:
//!
//! - whoever stores a snapshot stores it through [`store_snapshot`], which first makes the product
//!   items hold the names the entries carry (and outlive the snapshot item);
//! - whoever shows names joins the product items: [`read_names`] (one `get` per distinct product),
//!   and [`fill_events`], [`fill_entries`], [`fill_latest`] on top of it. A product item that is
//!   missing or does not decode leaves the names empty: a reader still shows the ranking.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::Deserialize;

use crate::fetch::ProductMeta;
use crate::ids::{EntryId, SiteId};
use crate::keys;
use crate::signals::items::expiry;
use crate::signals::{EventItem, LatestItem, SnapshotItem};
use crate::snapshot::SnapshotEntry;
use crate::store::{Item, PutCondition, PutOutcome, SnapshotStore, StoreError};

/// A product item is written to expire this long after the newest snapshot item that needs its
/// names, so that it is rewritten for its expiry at most once per this many days (the fetcher
/// rewrites it anyway whenever it resolves the product, every `meta_ttl`).
pub const META_SLACK_DAYS: i64 = 30;

/// The `expires_at` of a product item written at `at` for snapshots kept `ttl_days`.
pub fn meta_expiry(at: chrono::DateTime<chrono::Utc>, ttl_days: i64) -> i64 {
    expiry(at, ttl_days.saturating_add(META_SLACK_DAYS))
}

/// Products' names by id, as [`read_names`] gives them and [`fill_events_from`] reads them: hashed
/// with [`IdHasher`], not SipHash (the trend-scorer looks up the names of every event of every
/// record; SipHash was ~200 instructions a lookup).
pub type NameMap = HashMap<EntryId, Names, BuildHasherDefault<IdHasher>>;

/// A small hasher for ids: eight bytes at a time, each xored in and the state multiplied by a
/// constant, the 128-bit product's halves folded together (as foldhash and rustc-hash 2 do: FxHash's
/// 64-bit multiply and rotate let a change in a word's top bits cancel one in the next word's
/// low bits, so `MLBU…0050` and `MLBU…0800` hashed alike). For maps keyed by ids the store holds
/// (not chosen by whoever asks), so without SipHash's keys against flooding.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

impl IdHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        let full = u128::from(self.0 ^ word) * u128::from(Self::K);
        self.0 = (full as u64) ^ ((full >> 64) as u64);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        // The bytes left and their count (so that trailing zero bytes still count).
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A product's names, as its `META` item holds them (the item's other attributes are not read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Names {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub permalink: Option<String>,
}

impl Names {
    /// The names an entry carries; `None` when it has none (nothing to keep, or to look up).
    pub fn of(e: &SnapshotEntry) -> Option<Names> {
        let n = Names { title: e.title.clone(), brand: e.brand.clone(), permalink: e.permalink.clone() };
        (!n.is_empty()).then_some(n)
    }

    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.brand.is_none() && self.permalink.is_none()
    }

    fn of_meta(m: &ProductMeta) -> Names {
        Names { title: m.title.clone(), brand: m.brand.clone(), permalink: m.permalink.clone() }
    }

    fn set_on(self, m: &mut ProductMeta) {
        (m.title, m.brand, m.permalink) = (self.title, self.brand, self.permalink);
    }

    fn fill(&self, title: &mut Option<String>, brand: &mut Option<String>, permalink: &mut Option<String>) {
        title.clone_from(&self.title);
        brand.clone_from(&self.brand);
        permalink.clone_from(&self.permalink);
    }
}

/// Makes the product items hold the names of the snapshot's entries, and expire no earlier than
/// the snapshot item: for each entry with names, its `META` item (from `known`, the product items
/// as the caller last read or wrote them, else read here) is written when its names differ or it
/// would expire first. An entry without names leaves its product item as it is. Returns how many
/// product items were written.
pub async fn keep_names(
    store: &dyn SnapshotStore,
    item: &SnapshotItem,
    known: &[ProductMeta],
) -> Result<usize, StoreError> {
    let s = &item.snapshot;
    let mut written = 0;
    for e in &s.entries {
        let Some(names) = Names::of(e) else { continue };
        let pk = keys::product_pk(s.site, &e.id);
        let meta = match known.iter().find(|m| m.id == e.id) {
            Some(m) => Some(m.clone()),
            None => store.get(&pk, keys::META).await?.and_then(|i| i.decode::<ProductMeta>().ok()),
        };
        let lasts = |m: &ProductMeta| m.expires_at.is_some_and(|x| x >= item.expires_at);
        if meta.as_ref().is_some_and(|m| Names::of_meta(m) == names && lasts(m)) {
            continue;
        }
        let mut m = meta.unwrap_or_else(|| ProductMeta::new(e.id.clone(), e.kind, s.taken_at));
        names.set_on(&mut m);
        let wanted = item.expires_at.saturating_add(META_SLACK_DAYS * 86_400);
        m.expires_at = Some(m.expires_at.map_or(wanted, |x| x.max(wanted)));
        store.put(Item::from_typed(pk, keys::META, &m)?, PutCondition::Always).await?;
        written += 1;
    }
    Ok(written)
}

/// Stores a snapshot item: the names of its entries into the product items ([`keep_names`]) first
/// (a reader woken by the snapshot's insert finds them), then the item itself with `condition`.
pub async fn store_snapshot(
    store: &dyn SnapshotStore,
    item: &SnapshotItem,
    condition: PutCondition,
    known: &[ProductMeta],
) -> Result<PutOutcome, StoreError> {
    keep_names(store, item, known).await?;
    store.put(item.to_item()?, condition).await
}

/// The names of products of a site from their `META` items: one `get` per distinct id (issued
/// together). Products without a readable item are absent from the map.
pub async fn read_names<'a>(
    store: &dyn SnapshotStore,
    site: SiteId,
    ids: impl IntoIterator<Item = &'a EntryId>,
) -> Result<NameMap, StoreError> {
    let mut seen = HashSet::new();
    let distinct: Vec<&EntryId> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
    let gets = distinct.iter().map(|id| async move {
        let item = store.get(&keys::product_pk(site, id), keys::META).await?;
        Ok::<_, StoreError>(item.and_then(|i| i.decode::<Names>().ok()).map(|n| ((*id).clone(), n)))
    });
    Ok(futures::future::try_join_all(gets).await?.into_iter().flatten().collect())
}

/// Gives the events that carry no names those of their products' `META` items (events of
/// products that left the list, and every event of a snapshot decoded from a stored item).
pub async fn fill_events(store: &dyn SnapshotStore, events: &mut [EventItem]) -> Result<(), StoreError> {
    let mut sites: Vec<SiteId> = events.iter().filter(|e| lacks(e)).map(|e| e.site).collect();
    sites.sort();
    sites.dedup();
    for site in sites {
        let ids = events.iter().filter(|e| e.site == site && lacks(e)).map(|e| &e.product);
        let names = read_names(store, site, ids).await?;
        fill_events_from(events, &names);
    }
    Ok(())
}

fn lacks(e: &EventItem) -> bool {
    e.title.is_none() && e.brand.is_none() && e.permalink.is_none()
}

/// The pure half of [`fill_events`]: names from a map already read.
pub fn fill_events_from(events: &mut [EventItem], names: &NameMap) {
    for e in events.iter_mut().filter(|e| lacks(e)) {
        if let Some(n) = names.get(&e.product) {
            n.fill(&mut e.title, &mut e.brand, &mut e.permalink);
        }
    }
}

/// Gives the entries of a site's list that carry no names those of their products' `META` items.
pub async fn fill_entries(
    store: &dyn SnapshotStore,
    site: SiteId,
    entries: &mut [SnapshotEntry],
) -> Result<(), StoreError> {
    let bare = |e: &SnapshotEntry| e.title.is_none() && e.brand.is_none() && e.permalink.is_none();
    let names = read_names(store, site, entries.iter().filter(|e| bare(e)).map(|e| &e.id)).await?;
    for e in entries.iter_mut().filter(|e| bare(e)) {
        if let Some(n) = names.get(&e.id) {
            n.fill(&mut e.title, &mut e.brand, &mut e.permalink);
        }
    }
    Ok(())
}

/// Gives the products of a latest ranking that carry no names those of their `META` items.
pub async fn fill_latest(store: &dyn SnapshotStore, latest: &mut LatestItem) -> Result<(), StoreError> {
    let bare = |p: &crate::signals::ProductSignals| p.title.is_none() && p.brand.is_none() && p.permalink.is_none();
    let names = read_names(store, latest.site, latest.products.iter().filter(|p| bare(p)).map(|p| &p.id)).await?;
    for p in latest.products.iter_mut().filter(|p| bare(p)) {
        if let Some(n) = names.get(&p.id) {
            n.fill(&mut p.title, &mut p.brand, &mut p.permalink);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::executor::block_on;

    use super::*;
    use crate::ids::{CategoryId, EntryType};
    use crate::snapshot::Snapshot;
    use crate::store::{MemorySnapshotStore, Query};
    use proptest::prelude::*;
    use std::hash::BuildHasher;

    /// A store that counts the reads and writes of product items.
    #[derive(Default)]
    struct Counting {
        inner: MemorySnapshotStore,
        meta_gets: Mutex<Vec<String>>,
        meta_puts: Mutex<usize>,
    }

    #[async_trait::async_trait]
    impl SnapshotStore for Counting {
        async fn put(&self, item: Item, c: PutCondition) -> Result<PutOutcome, StoreError> {
            if item.sk == keys::META {
                *self.meta_puts.lock().unwrap() += 1;
            }
            self.inner.put(item, c).await
        }
        async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
            if sk == keys::META {
                self.meta_gets.lock().unwrap().push(pk.to_string());
            }
            self.inner.get(pk, sk).await
        }
        async fn query(&self, q: &Query) -> Result<Vec<Item>, StoreError> {
            self.inner.query(q).await
        }
        async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
            self.inner.delete(pk, sk).await
        }
    }

    fn snap(h: i64, ids: &[&str], title: &str) -> Snapshot {
        let t = keys::parse_ts("2026-11-01T00:00:00Z").unwrap() + chrono::Duration::hours(h);
        let mut s = Snapshot::ranked(&CategoryId::parse("MLB1055").unwrap(), t, ids, EntryType::Product).unwrap();
        for e in &mut s.entries {
            e.title = Some(format!("{title} {}", e.id));
            e.permalink = Some(format!("https://x/{}", e.id));
        }
        s
    }

    fn meta(store: &Counting, id: &str) -> ProductMeta {
        let id = EntryId::parse(id).unwrap();
        block_on(store.inner.get(&keys::product_pk(id.site(), &id), keys::META)).unwrap().unwrap().decode().unwrap()
    }

    #[test]
    fn storing_a_snapshot_keeps_its_names_in_the_product_items_only_when_they_change() {
        let store = Counting::default();
        let item = SnapshotItem::new(snap(0, &["MLB1", "MLB2"], "A"), 30);
        block_on(store_snapshot(&store, &item, PutCondition::Always, &[])).unwrap();
        assert_eq!(*store.meta_puts.lock().unwrap(), 2);
        let m = meta(&store, "MLB1");
        assert_eq!((m.title.as_deref(), m.permalink.as_deref()), (Some("A MLB1"), Some("https://x/MLB1")));
        assert_eq!(m.first_seen, item.snapshot.taken_at);
        assert!(m.meta_at.is_none(), "not resolved: the fetcher still resolves it");
        assert!(m.expires_at.unwrap() >= item.expires_at + META_SLACK_DAYS * 86_400);
        let stored = block_on(store.inner.get(&item.pk, &item.sk)).unwrap().unwrap();
        let text = stored.attrs["entries"].as_str().unwrap();
        assert!(!text.contains("https://x/") && !text.contains("A MLB1"), "the item has no names: {text}");

        // The same names an hour later: nothing written.
        let item = SnapshotItem::new(snap(1, &["MLB2", "MLB1"], "A"), 30);
        block_on(store_snapshot(&store, &item, PutCondition::Always, &[])).unwrap();
        assert_eq!(*store.meta_puts.lock().unwrap(), 2);

        // A fetcher-resolved field survives a rename; an entry without names leaves its item alone.
        let mut resolved = meta(&store, "MLB1");
        resolved.price = Some(99.0);
        block_on(store.inner.put(
            Item::from_typed(keys::product_pk(SiteId::MLB, &resolved.id), keys::META, &resolved).unwrap(),
            PutCondition::Always,
        ))
        .unwrap();
        let mut s = snap(2, &["MLB1", "MLB2"], "B");
        s.entries[1].title = None;
        s.entries[1].permalink = None;
        block_on(store_snapshot(&store, &SnapshotItem::new(s, 30), PutCondition::Always, &[])).unwrap();
        assert_eq!(*store.meta_puts.lock().unwrap(), 3);
        let m = meta(&store, "MLB1");
        assert_eq!((m.title.as_deref(), m.price), (Some("B MLB1"), Some(99.0)));
        assert_eq!(meta(&store, "MLB2").title.as_deref(), Some("A MLB2"));

        // A product item that would expire before the snapshot item is written again.
        let late = SnapshotItem::new(snap(24 * 40, &["MLB1"], "B"), 30);
        assert!(m.expires_at.unwrap() < late.expires_at);
        block_on(store_snapshot(&store, &late, PutCondition::Always, &[])).unwrap();
        assert_eq!(*store.meta_puts.lock().unwrap(), 4);
        assert!(meta(&store, "MLB1").expires_at.unwrap() >= late.expires_at);

        // Given the product items as known, nothing is read.
        store.meta_gets.lock().unwrap().clear();
        let known = [meta(&store, "MLB1")];
        block_on(store_snapshot(&store, &late, PutCondition::Always, &known)).unwrap();
        assert!(store.meta_gets.lock().unwrap().is_empty());
        assert_eq!(*store.meta_puts.lock().unwrap(), 4);
    }

    #[test]
    fn events_read_each_product_item_once() {
        let store = Counting::default();
        let item = SnapshotItem::new(snap(0, &["MLB1", "MLB2"], "A"), 30);
        block_on(store_snapshot(&store, &item, PutCondition::Always, &[])).unwrap();
        store.meta_gets.lock().unwrap().clear();
        let event = |product: &str, kind: &str| EventItem {
            pk: "EVT#MLB#MLB1055".into(),
            sk: format!("2026-11-01T00:00:00Z#{kind}#{product}"),
            kind: crate::signals::EventKind::Climber,
            key_kind: kind.into(),
            n: None,
            severity: crate::signals::Severity::Info,
            site: SiteId::MLB,
            category: CategoryId::parse("MLB1055").unwrap(),
            product: EntryId::parse(product).unwrap(),
            product_type: EntryType::Product,
            taken_at: item.snapshot.taken_at,
            title: None,
            brand: None,
            permalink: None,
            price: None,
            currency: None,
            from_position: None,
            to_position: None,
            places: None,
            previous_number_one: None,
            reference_price: None,
            price_change_share: None,
            reviews_before: None,
            reviews_after: None,
            reviews_delta: None,
            last_seen_at: None,
            momentum: None,
            trend: None,
            recent_positions: Vec::new(),
            expires_at: 0,
        };
        let mut own = event("MLB2", "climber");
        own.title = Some("kept".into());
        let mut events = vec![event("MLB1", "climber"), event("MLB1", "entered_top_1"), event("MLB9", "climber"), own];
        block_on(fill_events(&store, &mut events)).unwrap();
        assert_eq!(*store.meta_gets.lock().unwrap(), ["PROD#MLB#MLB1", "PROD#MLB#MLB9"]);
        let titles: Vec<Option<&str>> = events.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(titles, [Some("A MLB1"), Some("A MLB1"), None, Some("kept")]);
        assert_eq!(events[0].permalink.as_deref(), Some("https://x/MLB1"));
    }

    proptest! {
        /// A [`NameMap`] answers as a map with the standard hasher: the same names for the ids
        /// present, none for the others.
        #[test]
        fn a_name_map_answers_as_a_std_map(
            ids in proptest::collection::vec("MLB(U)?[0-9]{1,15}", 0..40),
            probes in proptest::collection::vec("MLB(U)?[0-9]{1,15}", 0..20),
        ) {
            let (mut fast, mut plain) = (NameMap::default(), HashMap::new());
            for (i, id) in ids.iter().enumerate() {
                let n = Names { title: Some(format!("t{i}")), brand: None, permalink: None };
                let id = EntryId::parse(id).unwrap();
                prop_assert_eq!(fast.insert(id.clone(), n.clone()), plain.insert(id, n));
            }
            prop_assert_eq!(fast.len(), plain.len());
            for id in ids.iter().chain(&probes) {
                let id = EntryId::parse(id).unwrap();
                prop_assert_eq!(fast.get(&id), plain.get(&id));
            }
        }
    }

    /// [`IdHasher`] tells ids apart by every byte (the bench's and the sites' forms, 3 to 18
    /// bytes), in the bits a table uses: the low ones pick the bucket, the top seven are
    /// hashbrown's tag.
    #[test]
    fn id_hashes_tell_ids_apart_in_the_bits_a_table_uses() {
        let b = BuildHasherDefault::<IdHasher>::default();
        let ids: Vec<EntryId> = (0..4096u64)
            .flat_map(|n| [format!("MLB{n}"), format!("MLB{}", 10_000_000_000 + n * 7), format!("MLBU{n:014}")])
            .map(|s| EntryId::parse(&s).unwrap())
            .collect();
        let hashes: HashSet<u64> = ids.iter().map(|id| b.hash_one(id)).collect();
        assert_eq!(hashes.len(), ids.len(), "two ids hash alike");
        // 12,288 ids in 4,096 buckets: ~3,890 buckets used if spread evenly.
        let low: HashSet<u64> = hashes.iter().map(|h| h & 4095).collect();
        assert!(low.len() > 3_700, "{} buckets of 4096", low.len());
        let top: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert_eq!(top.len(), 128);
        // Trailing zero bytes count (the remainder's length is hashed with it).
        let mut a = IdHasher::default();
        a.write(&[1, 0]);
        let mut z = IdHasher::default();
        z.write(&[1]);
        assert_ne!(a.finish(), z.finish());
    }
}

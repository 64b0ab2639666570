//! The `SnapshotStore` port: a single table of items keyed by `(pk, sk)`, as in DESIGN §4.
//!
//! Every adapter (the in-memory fake here, SQLite in `meli-local`, DynamoDB in `meli-aws`) passes the
//! same [`contract`] suite. Items are JSON objects beside their keys; typed items go in and out with
//! [`Item::from_typed`] and [`Item::decode`], so one item type serves the store and the stream decoder.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod attrs;
pub use attrs::{Attrs, Name};

/// One stored item: its keys and its other attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub attrs: Attrs,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, attrs: impl Into<Attrs>) -> Self {
        Item { pk: pk.into(), sk: sk.into(), attrs: attrs.into() }
    }

    /// Builds an item from a typed value that serializes to a JSON object.
    pub fn from_typed<T: Serialize>(
        pk: impl Into<String>,
        sk: impl Into<String>,
        value: &T,
    ) -> Result<Self, StoreError> {
        match serde_json::to_value(value) {
            Ok(Value::Object(mut attrs)) => {
                attrs.remove("pk");
                attrs.remove("sk");
                Ok(Item { pk: pk.into(), sk: sk.into(), attrs: attrs.into() })
            }
            Ok(_) => Err(StoreError::Corrupt("an item must serialize to a JSON object".into())),
            Err(e) => Err(StoreError::Corrupt(format!("cannot serialize item: {e}"))),
        }
    }

    /// Decodes the attributes (and keys) into a typed value.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        // Read in place: the keys first, then the attributes (no copy of the attribute tree).
        let keys = [("pk", self.pk.as_str()), ("sk", self.sk.as_str())];
        let fields = keys
            .into_iter()
            .map(|(k, v)| (k, ItemValue::Key(v)))
            .chain(self.attrs.iter().filter(|(k, _)| *k != "pk" && *k != "sk").map(|(k, v)| (k, ItemValue::Attr(v))));
        let de = serde::de::value::MapDeserializer::new(fields);
        T::deserialize(de).map_err(|e: serde_json::Error| {
            StoreError::Corrupt(format!("item {}/{} does not decode: {e}", self.pk, self.sk))
        })
    }
}

/// A value of [`Item::decode`]'s map: a key string or an attribute, both read by reference.
enum ItemValue<'a> {
    Key(&'a str),
    Attr(&'a Value),
}

impl<'de> serde::de::IntoDeserializer<'de, serde_json::Error> for ItemValue<'de> {
    type Deserializer = ItemValueDeserializer<'de>;

    fn into_deserializer(self) -> Self::Deserializer {
        ItemValueDeserializer(self)
    }
}

struct ItemValueDeserializer<'a>(ItemValue<'a>);

impl<'de> serde::Deserializer<'de> for ItemValueDeserializer<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            ItemValue::Key(s) => visitor.visit_borrowed_str(s),
            ItemValue::Attr(v) => serde::Deserializer::deserialize_any(v, visitor),
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            ItemValue::Key(s) => visitor.visit_some(serde::de::value::BorrowedStrDeserializer::new(s)),
            ItemValue::Attr(v) => serde::Deserializer::deserialize_option(v, visitor),
        }
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            ItemValue::Key(s) => visitor.visit_enum(serde::de::value::BorrowedStrDeserializer::new(s)),
            ItemValue::Attr(v) => serde::Deserializer::deserialize_enum(v, name, variants, visitor),
        }
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            ItemValue::Key(_) => visitor.visit_newtype_struct(self),
            ItemValue::Attr(v) => serde::Deserializer::deserialize_newtype_struct(v, name, visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

/// When a put may happen.
#[derive(Debug, Clone, PartialEq)]
pub enum PutCondition {
    /// Always write (create or replace).
    Always,
    /// Only if no item has these keys (an idempotent insert).
    IfAbsent,
    /// Only if the item exists and its attribute `name` equals `value` (compare-and-swap).
    IfAttrEquals { name: String, value: Value },
}

/// What a conditional put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    /// The condition did not hold; nothing was written.
    ConditionFailed,
}

/// Which sort keys a query returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkRange {
    All,
    BeginsWith(String),
    /// Both ends inclusive.
    Between(String, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub pk: String,
    pub sk: SkRange,
    /// `true`: ascending sort keys; `false`: descending.
    pub forward: bool,
    pub limit: Option<usize>,
    /// `true` (the default): strongly consistent, sees every write acknowledged before it. `false`:
    /// may miss writes of about the last second, for half the read units on DynamoDB; for items that
    /// are never rewritten (snapshots, events) or whose staleness is harmless.
    pub consistent: bool,
}

impl Query {
    pub fn pk(pk: impl Into<String>) -> Self {
        Query { pk: pk.into(), sk: SkRange::All, forward: true, limit: None, consistent: true }
    }
    pub fn begins_with(mut self, prefix: impl Into<String>) -> Self {
        self.sk = SkRange::BeginsWith(prefix.into());
        self
    }
    pub fn between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.sk = SkRange::Between(from.into(), to.into());
        self
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    /// An eventually consistent query (see [`Query::consistent`]).
    pub fn eventually_consistent(mut self) -> Self {
        self.consistent = false;
        self
    }

    /// Whether a sort key is in this query's range.
    pub fn matches_sk(&self, sk: &str) -> bool {
        match &self.sk {
            SkRange::All => true,
            SkRange::BeginsWith(p) => sk.starts_with(p.as_str()),
            SkRange::Between(a, b) => sk >= a.as_str() && sk <= b.as_str(),
        }
    }
}

/// A store failure. Condition failures are not errors: they are [`PutOutcome::ConditionFailed`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is throttling requests")]
    Throttled(#[source] Option<Box<dyn std::error::Error + Send + Sync>>),
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store rejected the request: {0}")]
    Rejected(String),
    #[error("store backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Throttled(_) | StoreError::Unavailable(_))
    }
}

/// The single table. Implementations must be safe to share between tasks.
#[async_trait::async_trait]
pub trait SnapshotStore: Send + Sync {
    async fn put(&self, item: Item, condition: PutCondition) -> Result<PutOutcome, StoreError>;
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError>;
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError>;

    /// A get that may miss a write of about the last second (DynamoDB: an eventually consistent
    /// read, half the read units of [`SnapshotStore::get`]). For items that are never rewritten, or
    /// whose staleness is harmless: the product cache, calibrations, snapshots, a category's schedule.
    /// Never for an item read before a compare-and-swap on it. Stores that have only one kind of read
    /// keep this default.
    async fn get_eventually_consistent(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get(pk, sk).await
    }

    /// Unconditional puts of many items (DynamoDB: `BatchWriteItem` in chunks of 25).
    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        for item in items {
            self.put(item, PutCondition::Always).await?;
        }
        Ok(())
    }
}

/// The in-memory fake: a `BTreeMap` behind a mutex. Used by tests and as the model for others.
#[derive(Debug, Default)]
pub struct MemorySnapshotStore {
    // Held only inside each method, never across an await (the methods do not await).
    items: Mutex<BTreeMap<(String, String), Attrs>>,
}

impl MemorySnapshotStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Attrs>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Every item, in key order (for tests that look at what a step left behind).
    pub fn all_items(&self) -> Vec<Item> {
        self.lock().iter().map(|((pk, sk), attrs)| Item::new(pk.clone(), sk.clone(), attrs.clone())).collect()
    }
}

/// Whether a condition holds for the current value of an item; shared by the fakes.
pub fn condition_holds(current: Option<&Attrs>, condition: &PutCondition) -> bool {
    match condition {
        PutCondition::Always => true,
        PutCondition::IfAbsent => current.is_none(),
        PutCondition::IfAttrEquals { name, value } => current.and_then(|m| m.get(name)) == Some(value),
    }
}

#[async_trait::async_trait]
impl SnapshotStore for MemorySnapshotStore {
    async fn put(&self, item: Item, condition: PutCondition) -> Result<PutOutcome, StoreError> {
        let mut g = self.lock();
        let key = (item.pk, item.sk);
        if !condition_holds(g.get(&key), &condition) {
            return Ok(PutOutcome::ConditionFailed);
        }
        g.insert(key, item.attrs);
        Ok(PutOutcome::Written)
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let g = self.lock();
        Ok(g.get(&(pk.to_string(), sk.to_string())).map(|a| Item::new(pk, sk, a.clone())))
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let g = self.lock();
        let lo = (query.pk.clone(), String::new());
        let range = g.range((Bound::Included(lo), Bound::Unbounded)).take_while(|((pk, _), _)| *pk == query.pk);
        let mut out: Vec<Item> = range
            .filter(|((_, sk), _)| query.matches_sk(sk))
            .map(|((pk, sk), a)| Item::new(pk.clone(), sk.clone(), a.clone()))
            .collect();
        if !query.forward {
            out.reverse();
        }
        if let Some(n) = query.limit {
            out.truncate(n);
        }
        Ok(out)
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.lock().remove(&(pk.to_string(), sk.to_string()));
        Ok(())
    }
}

/// The contract every `SnapshotStore` passes. Each function takes a key prefix so that several runs
/// can share one table (moto, a reused SQLite file) without seeing each other's items.
pub mod contract {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attrs {
        match v {
            Value::Object(m) => m.into(),
            _ => Attrs::new(),
        }
    }

    fn fail(what: &str) -> Result<(), String> {
        Err(what.to_string())
    }

    /// Runs every check; returns the first failure as text naming the check.
    pub async fn run_all(store: &dyn SnapshotStore, prefix: &str) -> Result<(), String> {
        put_get_round_trip(store, prefix).await.map_err(|e| format!("put_get_round_trip: {e}"))?;
        conditional_puts(store, prefix).await.map_err(|e| format!("conditional_puts: {e}"))?;
        query_ranges_and_order(store, prefix).await.map_err(|e| format!("query_ranges_and_order: {e}"))?;
        idempotent_inserts(store, prefix).await.map_err(|e| format!("idempotent_inserts: {e}"))?;
        batch_and_delete(store, prefix).await.map_err(|e| format!("batch_and_delete: {e}"))?;
        Ok(())
    }

    fn err(e: StoreError) -> String {
        format!("store error: {e}")
    }

    pub async fn put_get_round_trip(store: &dyn SnapshotStore, prefix: &str) -> Result<(), String> {
        let pk = format!("{prefix}CAT#MLB#MLB1055");
        let a = attrs(
            json!({"title": "Celular <b>&</b> ✓", "price": 1299.9, "n": 3, "nested": {"l": [1, 2, 3]}, "none": null, "flag": true}),
        );
        store.put(Item::new(&pk, "SNAP#2026-01-01T00:00:00Z", a.clone()), PutCondition::Always).await.map_err(err)?;
        let got = store.get(&pk, "SNAP#2026-01-01T00:00:00Z").await.map_err(err)?;
        match got {
            Some(item) if item.attrs == a && item.pk == pk => {}
            other => return Err(format!("read back {other:?}, wrote {a:?}")),
        }
        if store.get(&pk, "SNAP#1999").await.map_err(err)?.is_some() {
            return fail("get of a missing key returned an item");
        }
        Ok(())
    }

    pub async fn conditional_puts(store: &dyn SnapshotStore, prefix: &str) -> Result<(), String> {
        let pk = format!("{prefix}AUTH#app");
        let v1 = attrs(json!({"version": 1, "token": "a"}));
        let v2 = attrs(json!({"version": 2, "token": "b"}));
        let cas = |v: i64| PutCondition::IfAttrEquals { name: "version".into(), value: json!(v) };
        if store.put(Item::new(&pk, "TOKEN", v2.clone()), cas(1)).await.map_err(err)? != PutOutcome::ConditionFailed {
            return fail("compare-and-swap on a missing item succeeded");
        }
        if store.put(Item::new(&pk, "TOKEN", v1.clone()), PutCondition::IfAbsent).await.map_err(err)?
            != PutOutcome::Written
        {
            return fail("insert of a new key failed");
        }
        if store.put(Item::new(&pk, "TOKEN", v2.clone()), PutCondition::IfAbsent).await.map_err(err)?
            != PutOutcome::ConditionFailed
        {
            return fail("insert over an existing key succeeded");
        }
        if store.put(Item::new(&pk, "TOKEN", v2.clone()), cas(1)).await.map_err(err)? != PutOutcome::Written {
            return fail("compare-and-swap with the right version failed");
        }
        if store.put(Item::new(&pk, "TOKEN", v1.clone()), cas(1)).await.map_err(err)? != PutOutcome::ConditionFailed {
            return fail("compare-and-swap with a stale version succeeded");
        }
        let now = store.get(&pk, "TOKEN").await.map_err(err)?.map(|i| i.attrs);
        if now != Some(v2) {
            return Err(format!("after the swaps the item is {now:?}"));
        }
        Ok(())
    }

    pub async fn query_ranges_and_order(store: &dyn SnapshotStore, prefix: &str) -> Result<(), String> {
        let pk = format!("{prefix}CAT#MLA#MLA1055");
        let other = format!("{prefix}CAT#MLA#MLA10550");
        let sks =
            ["SNAP#2026-01-01T02:00:00Z", "SCORE", "SNAP#2026-01-01T00:00:00Z", "STATE", "SNAP#2026-01-01T01:00:00Z"];
        for (i, sk) in sks.iter().enumerate() {
            store.put(Item::new(&pk, *sk, attrs(json!({"i": i}))), PutCondition::Always).await.map_err(err)?;
        }
        store
            .put(Item::new(&other, "SNAP#2026-01-01T00:30:00Z", Map::new()), PutCondition::Always)
            .await
            .map_err(err)?;
        let sk_of = |v: Vec<Item>| v.into_iter().map(|i| i.sk).collect::<Vec<_>>();

        let all = sk_of(store.query(&Query::pk(&pk)).await.map_err(err)?);
        let mut expect: Vec<String> = sks.iter().map(|s| s.to_string()).collect();
        expect.sort();
        if all != expect {
            return Err(format!("query by pk gave {all:?}, expected {expect:?}"));
        }
        let snaps = sk_of(store.query(&Query::pk(&pk).begins_with("SNAP#")).await.map_err(err)?);
        if snaps != ["SNAP#2026-01-01T00:00:00Z", "SNAP#2026-01-01T01:00:00Z", "SNAP#2026-01-01T02:00:00Z"] {
            return Err(format!("begins_with gave {snaps:?}"));
        }
        let last = sk_of(store.query(&Query::pk(&pk).begins_with("SNAP#").backward().limit(2)).await.map_err(err)?);
        if last != ["SNAP#2026-01-01T02:00:00Z", "SNAP#2026-01-01T01:00:00Z"] {
            return Err(format!("backward with limit 2 gave {last:?}"));
        }
        let mid = sk_of(
            store
                .query(&Query::pk(&pk).between("SNAP#2026-01-01T00:30:00Z", "SNAP#2026-01-01T02:00:00Z"))
                .await
                .map_err(err)?,
        );
        if mid != ["SNAP#2026-01-01T01:00:00Z", "SNAP#2026-01-01T02:00:00Z"] {
            return Err(format!("between (inclusive) gave {mid:?}"));
        }
        let none = store.query(&Query::pk(format!("{prefix}CAT#MLA#MLA1"))).await.map_err(err)?;
        if !none.is_empty() {
            return Err(format!("query of an unused pk returned {} items", none.len()));
        }
        Ok(())
    }

    pub async fn idempotent_inserts(store: &dyn SnapshotStore, prefix: &str) -> Result<(), String> {
        let pk = format!("{prefix}EVT#MLB#MLB1055");
        let sk = "2026-01-01T00:00:00Z#new_number_one#MLB1";
        for attempt in 0..3 {
            let out = store
                .put(Item::new(&pk, sk, attrs(json!({"attempt": attempt}))), PutCondition::IfAbsent)
                .await
                .map_err(err)?;
            let expected = if attempt == 0 { PutOutcome::Written } else { PutOutcome::ConditionFailed };
            if out != expected {
                return Err(format!("attempt {attempt} gave {out:?}"));
            }
        }
        let items = store.query(&Query::pk(&pk)).await.map_err(err)?;
        if items.len() != 1 || items[0].attrs.get("attempt") != Some(&json!(0)) {
            return Err(format!("a replayed insert changed the stored item: {items:?}"));
        }
        Ok(())
    }

    pub async fn batch_and_delete(store: &dyn SnapshotStore, prefix: &str) -> Result<(), String> {
        let pk = format!("{prefix}PROD#MLB#MLB99");
        let items: Vec<Item> =
            (0..60).map(|i| Item::new(&pk, format!("HIST#{i:04}"), attrs(json!({"i": i})))).collect();
        store.put_batch(items).await.map_err(err)?;
        let got = store.query(&Query::pk(&pk).begins_with("HIST#")).await.map_err(err)?;
        if got.len() != 60 {
            return Err(format!("a batch of 60 stored {} items", got.len()));
        }
        store.delete(&pk, "HIST#0007").await.map_err(err)?;
        store.delete(&pk, "HIST#9999").await.map_err(err)?;
        if store.get(&pk, "HIST#0007").await.map_err(err)?.is_some() {
            return fail("a deleted item is still there");
        }
        if store.query(&Query::pk(&pk)).await.map_err(err)?.len() != 59 {
            return fail("delete removed more or less than one item");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn memory_store_passes_the_contract() {
        let store = MemorySnapshotStore::new();
        block_on(contract::run_all(&store, "t1/")).unwrap();
        // A second run with another prefix on the same store: runs do not see each other.
        block_on(contract::run_all(&store, "t2/")).unwrap();
    }

    #[test]
    fn typed_items_round_trip() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct T {
            pk: String,
            sk: String,
            n: u32,
        }
        let t = T { pk: "P".into(), sk: "S".into(), n: 4 };
        let item = Item::from_typed("P", "S", &t).unwrap();
        assert!(!item.attrs.contains_key("pk"));
        assert_eq!(item.decode::<T>().unwrap(), t);
        assert!(matches!(Item::from_typed("P", "S", &5), Err(StoreError::Corrupt(_))));
    }
}

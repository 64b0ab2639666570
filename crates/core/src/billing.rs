//! What DynamoDB on-demand would bill for the store's operations, counted as they happen.
//!
//! The embedded store can carry a [`Meter`]; `meli-radar demo` prints it, so the write and read units
//! per refresh in `docs/costs.md` are counted over a real run of the whole pipeline (fetcher, scorer,
//! notifier) rather than added up by hand. The rules are the developer guide's ("Item sizes and
//! formats", "DynamoDB read and write operations"):
//!
//! - an item's size is the sum of its attribute names and values: a string its UTF-8 length, a number
//!   one byte per two significant digits plus one, a boolean or null one byte, a list or map three
//!   bytes plus one per element plus the elements (a map's keys counted like attribute names);
//! - a write costs one write unit per started KB of the larger of the old and the new item, at least
//!   one, also when it changes nothing; a conditional write whose condition fails still costs the
//!   existing item's size (at least one unit); a delete costs the deleted item's size (at least one);
//! - a strongly consistent read costs one read unit per started 4 KB (a get of the item, a query of
//!   the sum of the items it returns, at least one either way), an eventually consistent one half.
//!
//! Units are kept per kind of item, named like `scripts/item-sizes.py` names them (`CAT/SNAP`,
//! `CAT/SCORE`, `EVT`, `DLV`, …). Global secondary indexes are not counted (the table has none).
//!
//! [`MeteredStore`] puts a meter in front of any other store (the in-memory one in `meli-core`'s
//! tests); the embedded store meters inside its own transactions instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::store::{Item, PutCondition, PutOutcome, Query, SnapshotStore, StoreError};

/// The size DynamoDB gives an attribute value.
pub fn value_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::String(s) => s.len(),
        Value::Number(n) => number_size(&n.to_string()),
        Value::Array(a) => 3 + a.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        Value::Object(m) => 3 + m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum::<usize>(),
    }
}

/// The size of a number written as `text`: one byte per two significant digits, plus one.
fn number_size(text: &str) -> usize {
    let mantissa = text.trim_start_matches('-').split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2).max(1) + 1
}

/// The size of attributes (names and values) as DynamoDB counts it.
pub fn attrs_size(attrs: &crate::store::Attrs) -> usize {
    attrs.iter().filter(|(k, _)| *k != "pk" && *k != "sk").map(|(k, v)| k.len() + value_size(v)).sum()
}

/// The size of the key attributes `pk` and `sk`.
pub fn keys_size(pk: &str, sk: &str) -> usize {
    "pk".len() + pk.len() + "sk".len() + sk.len()
}

/// The size of an item, keys included.
pub fn item_size(item: &Item) -> usize {
    keys_size(&item.pk, &item.sk) + attrs_size(&item.attrs)
}

/// Write units for an item of `bytes` (per started KB, at least one).
pub fn write_units(bytes: usize) -> u64 {
    bytes.div_ceil(1024).max(1) as u64
}

/// Read units for `bytes` read in one request: per started 4 KB, at least one, halved when eventually
/// consistent.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// The kind of an item for the meter: the partition key's prefix, and for a category's items the sort
/// key's too (`CAT/SNAP`, `CAT/SCORE`, `CAT/STATE`).
pub fn kind_of(pk: &str, sk: &str) -> String {
    let prefix = pk.split('#').next().unwrap_or(pk);
    if prefix == "CAT" {
        format!("CAT/{}", sk.split('#').next().unwrap_or(sk))
    } else {
        prefix.to_string()
    }
}

/// Requests and units of one kind of item.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub writes: u64,
    pub write_units: u64,
    /// Bytes of the items written (the new item's size).
    pub bytes_written: u64,
    pub reads: u64,
    pub read_units: f64,
}

impl Usage {
    fn add(&mut self, o: &Usage) {
        self.writes += o.writes;
        self.write_units += o.write_units;
        self.bytes_written += o.bytes_written;
        self.reads += o.reads;
        self.read_units += o.read_units;
    }
}

/// Units counted so far, by kind of item. Shared by the tasks that use one store.
#[derive(Debug, Default)]
pub struct Meter {
    by_kind: Mutex<BTreeMap<String, Usage>>,
}

impl Meter {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, kind: String, u: Usage) {
        let mut m = self.by_kind.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(kind).or_default().add(&u);
    }

    /// A put of `new_bytes` over an item of `old_bytes` (if any); `written` is false when its
    /// condition failed (billed on the existing item).
    pub fn put(&self, pk: &str, sk: &str, new_bytes: usize, old_bytes: Option<usize>, written: bool) {
        let billed = if written { new_bytes.max(old_bytes.unwrap_or(0)) } else { old_bytes.unwrap_or(0) };
        let u = Usage {
            writes: 1,
            write_units: write_units(billed),
            bytes_written: if written { new_bytes as u64 } else { 0 },
            ..Usage::default()
        };
        self.add(kind_of(pk, sk), u);
    }

    /// A delete of an item of `old_bytes` (None: there was none).
    pub fn delete(&self, pk: &str, sk: &str, old_bytes: Option<usize>) {
        let u = Usage { writes: 1, write_units: write_units(old_bytes.unwrap_or(0)), ..Usage::default() };
        self.add(kind_of(pk, sk), u);
    }

    /// A get that found an item of `bytes` (None: nothing found).
    pub fn get(&self, pk: &str, sk: &str, bytes: Option<usize>, consistent: bool) {
        let u = Usage { reads: 1, read_units: read_units(bytes.unwrap_or(0), consistent), ..Usage::default() };
        self.add(kind_of(pk, sk), u);
    }

    /// A query of partition `pk` that returned `total_bytes` of items (a query of a range of sort keys is
    /// named after the first item it returned, or after the partition alone when it returned none).
    pub fn query(&self, pk: &str, first_sk: Option<&str>, total_bytes: usize, consistent: bool) {
        let u = Usage { reads: 1, read_units: read_units(total_bytes, consistent), ..Usage::default() };
        self.add(kind_of(pk, first_sk.unwrap_or("")), u);
    }

    /// The units by kind.
    pub fn by_kind(&self) -> BTreeMap<String, Usage> {
        self.by_kind.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// All kinds together.
    pub fn total(&self) -> Usage {
        let mut t = Usage::default();
        for u in self.by_kind().values() {
            t.add(u);
        }
        t
    }
}

/// A store that counts what DynamoDB would bill for each operation on the store it wraps.
///
/// A put or a delete first reads the item it replaces from the wrapped store (that read is not
/// billed: DynamoDB knows the old item's size), so the two steps are not atomic: the meter is exact
/// for one writer at a time, which is what tests and accounting runs need.
pub struct MeteredStore<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S: SnapshotStore> MeteredStore<S> {
    pub fn new(inner: S, meter: Arc<Meter>) -> Self {
        MeteredStore { inner, meter }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }
}

#[async_trait::async_trait]
impl<S: SnapshotStore> SnapshotStore for MeteredStore<S> {
    async fn put(&self, item: Item, condition: PutCondition) -> Result<PutOutcome, StoreError> {
        let old = self.inner.get(&item.pk, &item.sk).await?.map(|i| item_size(&i));
        let (pk, sk, new) = (item.pk.clone(), item.sk.clone(), item_size(&item));
        let outcome = self.inner.put(item, condition).await?;
        self.meter.put(&pk, &sk, new, old, outcome == PutOutcome::Written);
        Ok(outcome)
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(pk, sk).await?;
        self.meter.get(pk, sk, item.as_ref().map(item_size), true);
        Ok(item)
    }

    async fn get_eventually_consistent(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get_eventually_consistent(pk, sk).await?;
        self.meter.get(pk, sk, item.as_ref().map(item_size), false);
        Ok(item)
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.query(query).await?;
        let bytes = items.iter().map(item_size).sum();
        self.meter.query(&query.pk, items.first().map(|i| i.sk.as_str()), bytes, query.consistent);
        Ok(items)
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let old = self.inner.get(pk, sk).await?.map(|i| item_size(&i));
        self.inner.delete(pk, sk).await?;
        self.meter.delete(pk, sk, old);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(attrs: Value) -> Item {
        match attrs {
            Value::Object(m) => Item::new("CAT#MLB#MLB1055", "SNAP#2026-11-29T13:00:00Z", m),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn sizes_follow_the_developer_guide() {
        // Strings: UTF-8 bytes (13 characters, of which "ã", "ç" and "ú" are two bytes each).
        assert_eq!(value_size(&json!("Pão de açúcar")), 16);
        // Numbers: one byte per two significant digits, plus one; leading and trailing zeros trimmed.
        assert_eq!(value_size(&json!(7)), 2);
        assert_eq!(value_size(&json!(1299.9)), 4);
        assert_eq!(value_size(&json!(100000)), 2);
        assert_eq!(value_size(&json!(-0.0012)), 2);
        assert_eq!(value_size(&json!(123456789)), 6);
        // Lists and maps: 3 + 1 per element + elements; map keys count.
        assert_eq!(value_size(&json!([1, "ab"])), 3 + (1 + 2) + (1 + 2));
        assert_eq!(value_size(&json!({"ab": true})), 3 + 1 + 2 + 1);
        assert_eq!(value_size(&Value::Null), 1);
        let i = item(json!({"n": 7, "s": "xyz"}));
        assert_eq!(item_size(&i), 2 + 15 + 2 + 25 + (1 + 2) + (1 + 3));
    }

    #[test]
    fn units_round_up_and_never_go_below_one() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(read_units(0, true), 1.0);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(10, false), 0.5);
    }

    #[test]
    fn the_meter_bills_the_larger_item_failed_conditions_and_reads() {
        let m = Meter::new();
        // A new 1.5 KB snapshot: 2 units.
        m.put("CAT#MLB#MLB1055", "SNAP#2026-11-29T13:00:00Z", 1536, None, true);
        // A 900 B state replacing a 2.1 KB one: billed on the larger, 3 units.
        m.put("CAT#MLB#MLB1055", "SCORE", 900, Some(2100), true);
        // An insert-if-absent that found an 800 B event: 1 unit, nothing written.
        m.put("EVT#MLB#MLB1055", "2026-11-29T13:00:00Z#climber#MLB1", 800, Some(800), false);
        m.delete("RETRY#slack", "x", None);
        m.get("PROD#MLB#MLB1", "META", Some(5000), true);
        m.get("PROD#MLB#MLB2", "META", None, false);
        m.query("CAT#MLB#MLB1055", Some("SNAP#2026-11-29T12:00:00Z"), 9000, true);
        let k = m.by_kind();
        assert_eq!(k["CAT/SNAP"], Usage { writes: 1, write_units: 2, bytes_written: 1536, reads: 1, read_units: 3.0 });
        assert_eq!(k["CAT/SCORE"].write_units, 3);
        assert_eq!(k["EVT"], Usage { writes: 1, write_units: 1, ..Usage::default() });
        assert_eq!(k["RETRY"].write_units, 1);
        // 5,000 B strongly consistent: 2; a miss, eventually consistent: 0.5.
        assert_eq!(k["PROD"], Usage { reads: 2, read_units: 2.5, ..Usage::default() });
        assert_eq!(m.total().write_units, 7);
        assert_eq!(m.total().read_units, 5.5);
    }

    #[test]
    fn kinds_are_named_like_the_size_script() {
        assert_eq!(kind_of("CAT#MLB#MLB1055", "SNAP#2026-11-29T13:00:00Z"), "CAT/SNAP");
        assert_eq!(kind_of("CAT#MLB#MLB1055", "SCORE"), "CAT/SCORE");
        assert_eq!(kind_of("DLV#EVT#MLB#MLB1055#x", "slack#ops"), "DLV");
        assert_eq!(kind_of("nohash", "x"), "nohash");
    }

    #[test]
    fn the_metered_store_bills_what_it_passes_on() {
        use crate::store::{contract, MemorySnapshotStore};
        use futures::executor::block_on;
        let meter = Arc::new(Meter::new());
        let store = MeteredStore::new(MemorySnapshotStore::new(), meter.clone());
        block_on(contract::run_all(&store, "metered")).unwrap();
        let before = meter.total();
        assert!(before.writes > 0 && before.reads > 0);
        // A 2 KB item: 2 units to write, 2 to replace with a small one (billed on the larger), 1 to
        // read, and a failed insert-if-absent costs the existing item's units.
        let big = item(json!({"blob": "x".repeat(2000)}));
        assert_eq!(block_on(store.put(big.clone(), PutCondition::Always)).unwrap(), PutOutcome::Written);
        let cond = PutCondition::IfAbsent;
        assert_eq!(block_on(store.put(big.clone(), cond)).unwrap(), PutOutcome::ConditionFailed);
        let small = item(json!({"n": 1}));
        block_on(store.put(small, PutCondition::Always)).unwrap();
        block_on(store.get(&big.pk, &big.sk)).unwrap();
        block_on(store.delete(&big.pk, &big.sk)).unwrap();
        // The contract's items are named after its prefix, so this kind holds only the five above.
        let snap = meter.by_kind()["CAT/SNAP"];
        assert_eq!((snap.writes, snap.write_units), (4, 2 + 2 + 2 + 1));
        assert_eq!((snap.reads, snap.read_units), (1, 1.0));
        assert_eq!(meter.total().writes - before.writes, 4);
    }
}

//! A best-seller list at one time, with what was resolved about each entry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CategoryId, EntryId, EntryType, Position, SiteId};

/// What the fetcher could learn about a ranked entry. A position is kept whatever the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryResolution {
    /// Resolved by API calls during this fetch.
    Resolved,
    /// Filled from the product cache (no call needed).
    Cached,
    /// The API answered 403 for this entry (other sellers' listings in 2026).
    Forbidden,
    /// The API answered 404 for this entry.
    NotFound,
    /// A `USER_PRODUCT`: kept as an opaque id.
    Opaque,
    /// Resolution failed after retries; try again next time.
    Failed,
    /// Not attempted (deadline, or an input without resolution data).
    #[default]
    Pending,
}

/// One ranked entry of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub position: Position,
    pub id: EntryId,
    #[serde(rename = "type")]
    pub kind: EntryType,
    #[serde(default)]
    pub resolution: EntryResolution,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permalink: Option<String>,
    /// The lowest current offer price (buy-box winner or cheapest offer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
}

impl SnapshotEntry {
    /// An entry with only what `/highlights` says.
    pub fn bare(position: Position, id: EntryId, kind: EntryType) -> Self {
        SnapshotEntry {
            position,
            id,
            kind,
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
        }
    }
}

/// Deserializes a list's entries into a vector sized for a whole list up front (serde_json gives no
/// length: growing one entry at a time moved the entries four times per snapshot).
pub(crate) fn deserialize_entries<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SnapshotEntry>, D::Error> {
    d.deserialize_seq(Entries)
}

/// The visitor of [`deserialize_entries`].
struct Entries;

impl<'de> serde::de::Visitor<'de> for Entries {
    type Value = Vec<SnapshotEntry>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        /// The length of a best-seller list.
        const TYPICAL: usize = 20;
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(TYPICAL).min(usize::from(Position::MAX)));
        while let Some(e) = seq.next_element()? {
            v.push(e);
        }
        Ok(v)
    }
}

/// How a snapshot was fetched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FetchMeta {
    /// API calls spent on this category in this fetch (highlights + resolution).
    #[serde(default)]
    pub api_calls: u32,
    #[serde(default)]
    pub duration_ms: u64,
}

/// A category's best-seller list at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub site: SiteId,
    pub category: CategoryId,
    pub taken_at: DateTime<Utc>,
    #[serde(deserialize_with = "deserialize_entries")]
    pub entries: Vec<SnapshotEntry>,
    #[serde(default)]
    pub fetch: FetchMeta,
}

/// Why a snapshot was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("category {category} does not belong to site {site}")]
    SiteMismatch { site: SiteId, category: CategoryId },
    #[error("position {0} appears twice")]
    DuplicatePosition(Position),
    #[error("entry {0} appears twice")]
    DuplicateEntry(EntryId),
    #[error("a list has at most {max} entries, got {got}", max = Position::MAX)]
    TooLong { got: usize },
}

impl Snapshot {
    /// A list of `category` taken at `taken_at` with `ids` at positions 1, 2, … in that order, each of
    /// `kind` and with nothing resolved yet. A bad id or a list longer than [`Position::MAX`] is an
    /// error.
    pub fn ranked<S: AsRef<str>>(
        category: &CategoryId,
        taken_at: DateTime<Utc>,
        ids: &[S],
        kind: EntryType,
    ) -> Result<Self, crate::ids::IdError> {
        let entries = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Ok(SnapshotEntry::bare(Position::new(i as i64 + 1)?, EntryId::parse(id.as_ref())?, kind)))
            .collect::<Result<Vec<_>, crate::ids::IdError>>()?;
        Ok(Snapshot {
            site: category.site(),
            category: category.clone(),
            taken_at,
            entries,
            fetch: FetchMeta::default(),
        })
    }

    /// Checks the invariants every stored snapshot keeps and sorts the entries by position.
    pub fn normalized(mut self) -> Result<Self, SnapshotError> {
        if self.category.site() != self.site {
            return Err(SnapshotError::SiteMismatch { site: self.site, category: self.category });
        }
        if self.entries.len() > usize::from(Position::MAX) {
            return Err(SnapshotError::TooLong { got: self.entries.len() });
        }
        self.entries.sort_by_key(|e| e.position);
        for w in self.entries.windows(2) {
            if w[0].position == w[1].position {
                return Err(SnapshotError::DuplicatePosition(w[0].position));
            }
        }
        let mut ids: Vec<&EntryId> = self.entries.iter().map(|e| &e.id).collect();
        ids.sort();
        for w in ids.windows(2) {
            if w[0] == w[1] {
                return Err(SnapshotError::DuplicateEntry(w[0].clone()));
            }
        }
        Ok(self)
    }

    /// The entry at a position, if any.
    pub fn at(&self, p: Position) -> Option<&SnapshotEntry> {
        self.entries.iter().find(|e| e.position == p)
    }

    /// The position of an entry, if it is in the list.
    pub fn position_of(&self, id: &EntryId) -> Option<Position> {
        self.entries.iter().find(|e| &e.id == id).map(|e| e.position)
    }
}

// ---------------------------------------------------------------------------------------------
// The snapshot item's stored entries: one JSON text of columns (docs/decisions.md).

/// The entries of a stored snapshot item as one JSON text, one array per field, in list order:
/// `{"position":[1,2],"id":["MLB1","MLB2"],"type":["PRODUCT","ITEM"],"resolution":[…],"title":[…],…}`.
/// A field that no entry has is left out. Written as a single string attribute: the stream decoder
/// reads one value instead of a typed map per field per entry (docs/decisions.md).
pub(crate) fn entries_to_columns(entries: &[SnapshotEntry]) -> Result<String, serde_json::Error> {
    serde_json::to_string(&ColumnsRef(entries))
}

struct ColumnsRef<'a>(&'a [SnapshotEntry]);

/// One column: `f` of every entry, as a sequence.
struct Col<'a, F>(&'a [SnapshotEntry], F);

fn col<'a, T: Serialize, F: Fn(&'a SnapshotEntry) -> T>(es: &'a [SnapshotEntry], f: F) -> Col<'a, F> {
    Col(es, f)
}

impl<'a, T: Serialize, F: Fn(&'a SnapshotEntry) -> T> Serialize for Col<'a, F> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(&self.1))
    }
}

impl Serialize for ColumnsRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let es = self.0;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("position", &col(es, |e| e.position))?;
        m.serialize_entry("id", &col(es, |e| &e.id))?;
        m.serialize_entry("type", &col(es, |e| e.kind))?;
        m.serialize_entry("resolution", &col(es, |e| e.resolution))?;
        macro_rules! optional {
            ($name:literal, $field:ident) => {
                if es.iter().any(|e| e.$field.is_some()) {
                    m.serialize_entry($name, &col(es, |e| &e.$field))?;
                }
            };
        }
        optional!("title", title);
        optional!("brand", brand);
        optional!("permalink", permalink);
        optional!("price", price);
        optional!("currency", currency);
        optional!("price_min", price_min);
        optional!("price_max", price_max);
        optional!("seller_count", seller_count);
        optional!("reviews_total", reviews_total);
        optional!("rating", rating);
        m.end()
    }
}

/// [`ColumnsRef`] as read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Columns {
    position: Vec<Position>,
    id: Vec<EntryId>,
    #[serde(rename = "type")]
    kind: Vec<EntryType>,
    #[serde(default)]
    resolution: Vec<EntryResolution>,
    #[serde(default)]
    title: Vec<Option<String>>,
    #[serde(default)]
    brand: Vec<Option<String>>,
    #[serde(default)]
    permalink: Vec<Option<String>>,
    #[serde(default)]
    price: Vec<Option<f64>>,
    #[serde(default)]
    currency: Vec<Option<String>>,
    #[serde(default)]
    price_min: Vec<Option<f64>>,
    #[serde(default)]
    price_max: Vec<Option<f64>>,
    #[serde(default)]
    seller_count: Vec<Option<u32>>,
    #[serde(default)]
    reviews_total: Vec<Option<u64>>,
    #[serde(default)]
    rating: Vec<Option<f64>>,
}

/// Column `c` as an iterator over `n` entries' values; an absent column is empty (its iterator ends
/// at once, and the reader takes the default).
fn column<T>(c: Vec<T>, n: usize, name: &str) -> Result<std::vec::IntoIter<T>, String> {
    match c.len() {
        len if len == 0 || len == n => Ok(c.into_iter()),
        len => Err(format!("the entries' {name} column has {len} values for {n} entries")),
    }
}

impl Columns {
    fn into_entries(self) -> Result<Vec<SnapshotEntry>, String> {
        let n = self.position.len();
        if self.id.len() != n || self.kind.len() != n {
            return Err(format!(
                "the entries' columns differ in length: {n} positions, {} ids, {} types",
                self.id.len(),
                self.kind.len()
            ));
        }
        let mut resolution = column(self.resolution, n, "resolution")?;
        let mut title = column(self.title, n, "title")?;
        let mut brand = column(self.brand, n, "brand")?;
        let mut permalink = column(self.permalink, n, "permalink")?;
        let mut price = column(self.price, n, "price")?;
        let mut currency = column(self.currency, n, "currency")?;
        let mut price_min = column(self.price_min, n, "price_min")?;
        let mut price_max = column(self.price_max, n, "price_max")?;
        let mut seller_count = column(self.seller_count, n, "seller_count")?;
        let mut reviews_total = column(self.reviews_total, n, "reviews_total")?;
        let mut rating = column(self.rating, n, "rating")?;
        let mut out = Vec::with_capacity(n);
        for ((position, id), kind) in self.position.into_iter().zip(self.id).zip(self.kind) {
            // Every iterator has `n` items, or none (an absent column: the default).
            out.push(SnapshotEntry {
                position,
                id,
                kind,
                resolution: resolution.next().unwrap_or_default(),
                title: title.next().flatten(),
                brand: brand.next().flatten(),
                permalink: permalink.next().flatten(),
                price: price.next().flatten(),
                currency: currency.next().flatten(),
                price_min: price_min.next().flatten(),
                price_max: price_max.next().flatten(),
                seller_count: seller_count.next().flatten(),
                reviews_total: reviews_total.next().flatten(),
                rating: rating.next().flatten(),
            });
        }
        Ok(out)
    }
}

/// Deserializes a stored snapshot item's entries: the JSON text of columns
/// ([`entries_to_columns`]), or a sequence of entry maps (items written before it, and the
/// `meli-radar score --input` shape).
pub(crate) fn deserialize_stored_entries<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<SnapshotEntry>, D::Error> {
    struct Stored;
    impl<'de> serde::de::Visitor<'de> for Stored {
        type Value = Vec<SnapshotEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the entries as a JSON text of columns, or a sequence of entries")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let cols: Columns = serde_json::from_str(v).map_err(|e| E::custom(format!("the entries' columns: {e}")))?;
            cols.into_entries().map_err(E::custom)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            serde::de::Visitor::visit_seq(Entries, seq)
        }
    }
    d.deserialize_any(Stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_score_command_input_shape() {
        let s: Snapshot = serde_json::from_str(
            r#"{"site":"MLB","category":"MLB1055","taken_at":"2026-11-01T10:00:00Z",
                "entries":[{"position":2,"id":"MLB2","type":"ITEM","price":10.5},
                           {"position":1,"id":"MLB1","type":"PRODUCT","reviews_total":7}]}"#,
        )
        .unwrap();
        let s = s.normalized().unwrap();
        assert_eq!(s.entries[0].id.as_str(), "MLB1");
        assert_eq!(s.entries[0].reviews_total, Some(7));
        assert_eq!(s.entries[1].price, Some(10.5));
    }

    #[test]
    fn rejects_duplicates_and_mismatched_sites() {
        let mk = |json: &str| serde_json::from_str::<Snapshot>(json).unwrap().normalized();
        assert!(matches!(
            mk(r#"{"site":"MLA","category":"MLB1055","taken_at":"2026-11-01T10:00:00Z","entries":[]}"#),
            Err(SnapshotError::SiteMismatch { .. })
        ));
        assert!(matches!(
            mk(r#"{"site":"MLB","category":"MLB1055","taken_at":"2026-11-01T10:00:00Z",
                  "entries":[{"position":1,"id":"MLB1","type":"ITEM"},{"position":1,"id":"MLB2","type":"ITEM"}]}"#),
            Err(SnapshotError::DuplicatePosition(_))
        ));
        assert!(matches!(
            mk(r#"{"site":"MLB","category":"MLB1055","taken_at":"2026-11-01T10:00:00Z",
                  "entries":[{"position":1,"id":"MLB1","type":"ITEM"},{"position":2,"id":"MLB1","type":"ITEM"}]}"#),
            Err(SnapshotError::DuplicateEntry(_))
        ));
    }

    fn stored_round_trip(entries: &[SnapshotEntry]) -> Result<Vec<SnapshotEntry>, String> {
        let text = entries_to_columns(entries).map_err(|e| e.to_string())?;
        // As the store carries it: a string attribute.
        deserialize_stored_entries(serde_json::Value::String(text)).map_err(|e| e.to_string())
    }

    fn arb_entry() -> impl proptest::strategy::Strategy<Value = SnapshotEntry> {
        use proptest::prelude::*;
        let kinds = prop_oneof![Just(EntryType::Item), Just(EntryType::Product), Just(EntryType::UserProduct)];
        let text = proptest::option::of("\\PC{0,24}");
        let number = proptest::option::of(prop_oneof![0.0f64..1e7, Just(219.35000000000002), Just(0.1)]);
        (
            (1i64..=50, 1u64..10_000_000_000, kinds),
            (text.clone(), text.clone(), text.clone(), text),
            (number.clone(), number.clone(), number.clone(), number),
            (proptest::option::of(0u32..100), proptest::option::of(any::<u64>())),
        )
            .prop_map(
                |(
                    (pos, n, kind),
                    (title, brand, permalink, currency),
                    (price, pmin, pmax, rating),
                    (sellers, reviews),
                )| {
                    let mut e = SnapshotEntry::bare(
                        Position::new(pos).unwrap_or(Position::new(1).unwrap()),
                        EntryId::parse(&format!("MLB{n}")).unwrap(),
                        kind,
                    );
                    (e.title, e.brand, e.permalink, e.currency) = (title, brand, permalink, currency);
                    (e.price, e.price_min, e.price_max, e.rating) = (price, pmin, pmax, rating);
                    (e.seller_count, e.reviews_total) = (sellers, reviews);
                    e
                },
            )
    }

    proptest::proptest! {
        #[test]
        fn stored_columns_give_back_the_entries(entries in proptest::collection::vec(arb_entry(), 0..30)) {
            proptest::prop_assert_eq!(stored_round_trip(&entries).unwrap(), entries);
        }
    }

    #[test]
    fn stored_entries_read_the_older_list_of_maps_and_reject_bad_columns() {
        let rows = serde_json::json!([{"position": 1, "id": "MLB1", "type": "ITEM", "title": "A"}]);
        let e = deserialize_stored_entries(rows).unwrap();
        assert_eq!((e[0].id.as_str(), e[0].title.as_deref()), ("MLB1", Some("A")));
        for bad in [
            r#"{"position":[1,2],"id":["MLB1"],"type":["ITEM","ITEM"]}"#,
            r#"{"position":[1],"id":["MLB1"],"type":["ITEM"],"title":["a","b"]}"#,
            r#"{"position":[1],"id":["MLB1"],"type":["ITEM"],"colour":["red"]}"#,
            r#"{"position":[1],"id":["nope"],"type":["ITEM"]}"#,
            r#"[1,2"#,
        ] {
            let r = deserialize_stored_entries(serde_json::Value::String(bad.into()));
            assert!(r.is_err(), "{bad} decoded: {r:?}");
        }
    }
}

//! A best-seller list at one time, with what was resolved about each entry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ddb_json::{plain_float, small_whole, Number, Scan};
use crate::ids::{CategoryId, EntryId, EntryType, IdPrefix, Position, SiteId};

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

/// A currency code (`BRL`, `ARS`, …): a string held inline up to 24 bytes, so an entry's currency
/// costs no allocation (the stream reader makes one per entry of every record; docs/decisions.md,
/// "Currencies inline"). Serialized as the plain string.
pub type Currency = compact_str::CompactString;

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
    pub currency: Option<Currency>,
    /// The offers' price range and seller count: filled by the fetcher and kept in the product item,
    /// not stored in the snapshot item (nothing that reads snapshots uses them; [`entries_to_columns`]).
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

/// The entries of a stored snapshot item of `site` as one JSON text, one column per field, in list
/// order. A list of four at positions 1–4 in an `MLB` item:
/// `{"id":[19615337,23186641,3944576712,"MLBU2811003407"],"type":"PPIU","resolution":"RRRO","price":[4599,1899.9,1299,null],"currency":"BRL"}`.
///
/// - `position` is left out when the positions are 1, 2, …, n in list order (a normalized list:
///   the order of the columns is the ranking); else it is a column.
/// - `id`: an id of the item's site followed by a number ([`EntryId::number_in`]: digits, no leading
///   zero, at most 15) is stored as that number, `19615337` for `MLB19615337`; any other id
///   (`"MLBU2811003407"`, an `MLA` id in an `MLB` item) as the whole id, a string. A string is always
///   a whole id and a number never is, so the two cannot be confused.
/// - Title, brand and permalink are not stored: they live in the product items (`PROD#…`/`META`),
///   which whoever stores a snapshot keeps current and readers join ([`crate::names`]).
/// - Nor are the price range and the seller count (`price_min`, `price_max`, `seller_count`): nothing
///   that reads snapshots uses them, and the product items hold them.
/// - `type` and `resolution` are strings of one-letter codes, one letter per entry ([`Coded`]).
/// - `price`, `currency`, `reviews_total`, `rating`: a column each (`null` for an entry without);
///   `currency` is one string when every entry with a price has the same one and the others have
///   none (the usual list: unresolved entries have neither), else a column.
/// - Numbers without a fractional part are written without one (`4599`, not `4599.0`); they read
///   back as the same `f64`.
/// - A field that no entry has is left out.
///
/// Written as a single string attribute: the stream decoder reads one value instead of a typed map
/// per field per entry. Items written before (a list of entry maps; columns with titles, long type
/// and resolution names, a currency per entry, whole ids, positions, the price range and seller
/// count) still decode ([`StoredEntries`]).
pub(crate) fn entries_to_columns(site: SiteId, entries: &[SnapshotEntry]) -> Result<String, serde_json::Error> {
    serde_json::to_string(&ColumnsRef { site, entries })
}

/// A value stored as one letter (the `type` and `resolution` columns).
pub(crate) trait Coded: Sized + Copy {
    const WHAT: &'static str;
    fn code(self) -> char;
    fn from_code(c: char) -> Option<Self>;
}

impl Coded for EntryType {
    const WHAT: &'static str = "type";
    fn code(self) -> char {
        match self {
            EntryType::Item => 'I',
            EntryType::Product => 'P',
            EntryType::UserProduct => 'U',
        }
    }
    fn from_code(c: char) -> Option<Self> {
        match c {
            'I' => Some(EntryType::Item),
            'P' => Some(EntryType::Product),
            'U' => Some(EntryType::UserProduct),
            _ => None,
        }
    }
}

impl Coded for EntryResolution {
    const WHAT: &'static str = "resolution";
    fn code(self) -> char {
        match self {
            EntryResolution::Resolved => 'R',
            EntryResolution::Cached => 'C',
            EntryResolution::Forbidden => 'F',
            EntryResolution::NotFound => 'N',
            EntryResolution::Opaque => 'O',
            EntryResolution::Failed => 'X',
            EntryResolution::Pending => 'P',
        }
    }
    fn from_code(c: char) -> Option<Self> {
        match c {
            'R' => Some(EntryResolution::Resolved),
            'C' => Some(EntryResolution::Cached),
            'F' => Some(EntryResolution::Forbidden),
            'N' => Some(EntryResolution::NotFound),
            'O' => Some(EntryResolution::Opaque),
            'X' => Some(EntryResolution::Failed),
            'P' => Some(EntryResolution::Pending),
            _ => None,
        }
    }
}

struct ColumnsRef<'a> {
    site: SiteId,
    entries: &'a [SnapshotEntry],
}

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

/// One column of codes: one letter per entry, as a string.
fn codes<C: Coded>(es: &[SnapshotEntry], f: impl Fn(&SnapshotEntry) -> C) -> String {
    es.iter().map(|e| f(e).code()).collect()
}

/// A number as stored: without a fractional part when it has none (`4599`, not `4599.0`). Also the
/// numbers of the fetcher's entry cache (`fetch::cache`).
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// Every whole `f64` below this is exact as an `i64` and back (2^53).
        const EXACT: f64 = 9_007_199_254_740_992.0;
        let x = self.0;
        // −0 stays a float, to keep its sign.
        if x.fract() == 0.0 && x.abs() < EXACT && (x != 0.0 || x.is_sign_positive()) {
            serializer.serialize_i64(x as i64)
        } else {
            serializer.serialize_f64(x)
        }
    }
}

/// The currency a `currency` column can store once: that of every entry with a price, when they
/// share it and no entry without a price has one (unresolved entries have neither). `None`: a column
/// of one per entry is needed (or there is no currency at all).
pub(crate) fn one_currency<'a, E>(
    es: &'a [E],
    price: impl Fn(&E) -> Option<f64>,
    currency: impl Fn(&'a E) -> Option<&'a str>,
) -> Option<&'a str> {
    let one = es.iter().find_map(&currency)?;
    let fits = |e: &'a E| match price(e) {
        Some(_) => currency(e) == Some(one),
        None => currency(e).is_none(),
    };
    es.iter().all(fits).then_some(one)
}

/// An id as the `id` column stores it: a number for an id of the item's site followed by a
/// number, else the whole id.
struct IdRef<'a>(&'a EntryId, SiteId);

impl Serialize for IdRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.number_in(self.1) {
            Some(n) => serializer.serialize_u64(n),
            None => serializer.serialize_str(self.0.as_str()),
        }
    }
}

impl Serialize for ColumnsRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (es, site) = (self.entries, self.site);
        let mut m = serializer.serialize_map(None)?;
        if !es.iter().enumerate().all(|(i, e)| usize::from(e.position.get()) == i + 1) {
            m.serialize_entry("position", &col(es, |e| e.position))?;
        }
        m.serialize_entry("id", &col(es, |e| IdRef(&e.id, site)))?;
        m.serialize_entry("type", &codes(es, |e| e.kind))?;
        m.serialize_entry("resolution", &codes(es, |e| e.resolution))?;
        macro_rules! optional {
            ($name:literal, $field:ident) => {
                optional!($name, $field, |v| v)
            };
            ($name:literal, $field:ident, $as:expr) => {
                if es.iter().any(|e| e.$field.is_some()) {
                    m.serialize_entry($name, &col(es, |e| e.$field.as_ref().map(|v| $as(v.clone()))))?;
                }
            };
        }
        optional!("price", price, Num);
        match one_currency(es, |e| e.price, |e| e.currency.as_deref()) {
            Some(one) => m.serialize_entry("currency", one)?,
            None => optional!("currency", currency),
        }
        optional!("reviews_total", reviews_total);
        optional!("rating", rating, Num);
        m.end()
    }
}

/// An `id` column's value: a number of the item's site (the stored form), or a whole id.
enum StoredId {
    Number(u64),
    Whole(EntryId),
}

impl StoredId {
    fn into_id(self, site: SiteId) -> EntryId {
        match self {
            StoredId::Number(n) => EntryId::from_number(site, n),
            StoredId::Whole(id) => id,
        }
    }
}

impl<'de> Deserialize<'de> for StoredId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = StoredId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id: a whole id (a string), or the number of an id of the item's site")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<StoredId, E> {
                Ok(StoredId::Number(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<StoredId, E> {
                u64::try_from(n).map(StoredId::Number).map_err(|_| E::custom(format!("negative id number {n}")))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<StoredId, E> {
                EntryId::parse(s).map(StoredId::Whole).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// [`ColumnsRef`] as read back, and the columns of items written before it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Columns {
    /// Absent: 1, 2, …, n.
    #[serde(default)]
    position: Option<Vec<Position>>,
    id: Vec<StoredId>,
    #[serde(rename = "type", deserialize_with = "coded_column")]
    kind: Vec<EntryType>,
    #[serde(default, deserialize_with = "coded_column")]
    resolution: Vec<EntryResolution>,
    /// Items written before the names moved to the product items carry them.
    #[serde(default)]
    title: Vec<Option<String>>,
    #[serde(default)]
    brand: Vec<Option<String>>,
    #[serde(default)]
    permalink: Vec<Option<String>>,
    #[serde(default)]
    price: Vec<Option<f64>>,
    #[serde(default)]
    currency: CurrencyColumn,
    /// Items written before the item fitted 1 KB carry the price range and the seller count.
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

/// A coded column: a string of one-letter codes, or (items written before) a sequence of names.
fn coded_column<'de, C, D>(d: D) -> Result<Vec<C>, D::Error>
where
    C: Coded + Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    struct Visitor<C>(std::marker::PhantomData<C>);
    impl<'de, C: Coded + Deserialize<'de>> serde::de::Visitor<'de> for Visitor<C> {
        type Value = Vec<C>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "the {} column: a string of one-letter codes, or a sequence", C::WHAT)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.chars()
                .map(|c| C::from_code(c).ok_or_else(|| E::custom(format!("unknown {} code {c:?}", C::WHAT))))
                .collect()
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(usize::from(Position::MAX)));
            while let Some(x) = seq.next_element()? {
                v.push(x);
            }
            Ok(v)
        }
    }
    d.deserialize_any(Visitor(std::marker::PhantomData))
}

/// The `currency` column: the one currency of every entry with a price ([`one_currency`]), or one per
/// entry. Also the entry cache's (`fetch::cache`).
pub(crate) enum CurrencyColumn {
    One(Currency),
    Each(Vec<Option<Currency>>),
}

impl Default for CurrencyColumn {
    fn default() -> Self {
        CurrencyColumn::Each(Vec::new())
    }
}

impl CurrencyColumn {
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, CurrencyColumn::Each(v) if v.is_empty())
    }
}

impl Serialize for CurrencyColumn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CurrencyColumn::One(c) => serializer.serialize_str(c),
            CurrencyColumn::Each(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for CurrencyColumn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = CurrencyColumn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the currency column: one currency, or a sequence")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CurrencyColumn::One(Currency::from(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(CurrencyColumn::Each)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Column `c` as an iterator over `n` entries' values; an absent column is empty (its iterator ends
/// at once, and the reader takes the default).
pub(crate) fn column<T>(c: Vec<T>, n: usize, name: &str) -> Result<std::vec::IntoIter<T>, String> {
    match c.len() {
        len if len == 0 || len == n => Ok(c.into_iter()),
        len => Err(format!("the entries' {name} column has {len} values for {n} entries")),
    }
}

impl Columns {
    /// The entries, with the ids stored as numbers read as ids of `site` (the item's).
    fn into_entries(self, site: SiteId) -> Result<Vec<SnapshotEntry>, String> {
        let n = self.id.len();
        if self.kind.len() != n {
            return Err(format!("the entries' columns differ in length: {n} ids, {} types", self.kind.len()));
        }
        let positions = match self.position {
            Some(p) if p.len() == n => p,
            Some(p) => return Err(format!("the entries' columns differ in length: {} positions, {n} ids", p.len())),
            None => (1..=n as i64).map(Position::new).collect::<Result<_, _>>().map_err(|e| e.to_string())?,
        };
        let mut resolution = column(self.resolution, n, "resolution")?;
        let mut title = column(self.title, n, "title")?;
        let mut brand = column(self.brand, n, "brand")?;
        let mut permalink = column(self.permalink, n, "permalink")?;
        let mut price = column(self.price, n, "price")?;
        let (one_currency, mut currency) = match self.currency {
            CurrencyColumn::One(c) => (Some(c), Vec::new().into_iter()),
            CurrencyColumn::Each(c) => (None, column(c, n, "currency")?),
        };
        let mut price_min = column(self.price_min, n, "price_min")?;
        let mut price_max = column(self.price_max, n, "price_max")?;
        let mut seller_count = column(self.seller_count, n, "seller_count")?;
        let mut reviews_total = column(self.reviews_total, n, "reviews_total")?;
        let mut rating = column(self.rating, n, "rating")?;
        let mut out = Vec::with_capacity(n);
        for ((position, id), kind) in positions.into_iter().zip(self.id).zip(self.kind) {
            // Every iterator has `n` items, or none (an absent column: the default).
            let entry_price = price.next().flatten();
            out.push(SnapshotEntry {
                position,
                id: id.into_id(site),
                kind,
                resolution: resolution.next().unwrap_or_default(),
                title: title.next().flatten(),
                brand: brand.next().flatten(),
                permalink: permalink.next().flatten(),
                currency: match &one_currency {
                    Some(c) => entry_price.map(|_| c.clone()),
                    None => currency.next().flatten(),
                },
                price: entry_price,
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

/// A stored snapshot item's entries as read, before the item's site is known (the attributes of
/// an item come in any order): the JSON text of columns ([`entries_to_columns`], and the columns
/// written before it), or a sequence of entry maps (items written before columns, and the
/// `meli-radar score --input` shape). [`StoredEntries::into_entries`] finishes them.
pub(crate) enum StoredEntries {
    Columns(Box<Columns>),
    Rows(Vec<SnapshotEntry>),
}

impl StoredEntries {
    /// The entries of an item of `site`.
    pub(crate) fn into_entries(self, site: SiteId) -> Result<Vec<SnapshotEntry>, String> {
        match self {
            StoredEntries::Columns(cols) => cols.into_entries(site),
            StoredEntries::Rows(rows) => Ok(rows),
        }
    }
}

impl<'de> Deserialize<'de> for StoredEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Stored;
        impl<'de> serde::de::Visitor<'de> for Stored {
            type Value = StoredEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the entries as a JSON text of columns, or a sequence of entries")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let cols: Columns =
                    serde_json::from_str(v).map_err(|e| E::custom(format!("the entries' columns: {e}")))?;
                Ok(StoredEntries::Columns(Box::new(cols)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                serde::de::Visitor::visit_seq(Entries, seq).map(StoredEntries::Rows)
            }
        }
        d.deserialize_any(Stored)
    }
}

// ---------------------------------------------------------------------------------------------
// The columns as a stream image carries them, read in place (`SnapshotItem::from_image_text`).

/// The `entries` attribute of a snapshot item read where an image holds it: inside a JSON string,
/// so every quote of the columns' text is written `\"`. Read without unescaping it, in one pass,
/// straight into the entries, and only in the form [`entries_to_columns`] writes (positions 1…n, no
/// names, `id` first): `None` for anything else, and the caller decodes the image the general way,
/// which gives the entries or the error ([`Columns`]). What it reads gives what
/// [`Columns::into_entries`] gives (tested against it).
///
/// The image's attributes come in any order, so the item's site (its `pk`) may come after the
/// entries: the ids stored as numbers are made ids of a site guessed by the caller (the record's
/// keys give it), and made again in [`EscapedColumns::into_entries`] when the guess was wrong.
pub(crate) struct EscapedColumns<'a> {
    entries: Vec<SnapshotEntry>,
    /// The site the ids stored as numbers were read as.
    site: SiteId,
    /// Which entries' ids were stored as numbers: a bit each (at most [`Position::MAX`] entries).
    numbers: u128,
    one_currency: Option<&'a str>,
}

/// Spaces (the only whitespace a JSON string holds unescaped).
fn spaces(s: &mut Scan<'_>) {
    while s.take(b' ') {}
}

/// An escaped quote, `\"`.
fn quote(s: &mut Scan<'_>) -> Option<()> {
    s.take_str("\\\"").then_some(())
}

/// A string of the escaped text, `\"text\"`, whose text has no escapes.
fn escaped_str<'a>(s: &mut Scan<'a>) -> Option<&'a str> {
    quote(s)?;
    let text = s.take_until(b'"')?;
    quote(s)?;
    Some(text)
}

/// A sequence of the escaped text, `[v, …]`: `f` reads each value; the length.
fn escaped_seq<'a>(s: &mut Scan<'a>, mut f: impl FnMut(&mut Scan<'a>) -> Option<()>) -> Option<usize> {
    s.take(b'[').then_some(())?;
    spaces(s);
    if s.take(b']') {
        return Some(0);
    }
    let mut n = 0;
    loop {
        f(s)?;
        n += 1;
        // As written: a comma straight after the value, the next value straight after the comma.
        if s.take(b',') {
            if s.peek() == Some(b' ') {
                spaces(s);
            }
            continue;
        }
        spaces(s);
        if !s.take(b',') {
            return s.take(b']').then_some(n);
        }
        spaces(s);
    }
}

/// A column of values or `null`s, one per entry in order, each stored in its entry by `set`; its
/// length (more values than entries: `None`).
fn cells_column<'a, T>(
    s: &mut Scan<'a>,
    entries: &mut [SnapshotEntry],
    read: impl Fn(&mut Scan<'a>) -> Option<T>,
    set: impl Fn(&mut SnapshotEntry, Option<T>),
) -> Option<usize> {
    let mut entries = entries.iter_mut();
    escaped_seq(s, |s| {
        let value = nullable(s, &read)?;
        set(entries.next()?, value);
        Some(())
    })
}

/// [`cells_column`] of a column in the form the writer gives it, `[v,v,…]` without spaces, with a
/// value or `null` for every entry: each value read at its first byte by `fast` (its value and
/// end), without the general reader. `None` at anything else (spaces, a value `fast` does not take,
/// fewer or more values than entries), and the caller reads the column from its start with
/// [`cells_column`], which sets every cell again; the cursor is moved only when it returns `Some`.
#[inline(always)]
fn compact_cells<T>(
    s: &mut Scan<'_>,
    entries: &mut [SnapshotEntry],
    fast: impl Fn(&[u8], usize) -> Option<(T, usize)>,
    set: impl Fn(&mut SnapshotEntry, Option<T>),
) -> Option<usize> {
    let b = s.text().as_bytes();
    let mut at = s.at();
    (b.get(at) == Some(&b'[') && !entries.is_empty()).then_some(())?;
    at += 1;
    let last = entries.len() - 1;
    for (i, e) in entries.iter_mut().enumerate() {
        let (v, end) = match fast(b, at) {
            Some((v, end)) => (Some(v), end),
            None => (b.get(at..at + 4) == Some(b"null")).then_some((None, at + 4))?,
        };
        (b.get(end) == Some(if i == last { &b']' } else { &b',' })).then_some(())?;
        set(e, v);
        at = end + 1;
    }
    s.rewind(at);
    Some(last + 1)
}

/// An entry as the `id` column gives it: its position and id (the type is set by the `type`
/// column, which every entry has).
#[inline(always)]
fn first_read(position: Position, id: EntryId) -> SnapshotEntry {
    SnapshotEntry { resolution: EntryResolution::default(), ..SnapshotEntry::bare(position, id, EntryType::Item) }
}

/// The `id` column in the form the writer gives it for a list of ids of the item's site, `[n,n,…]`
/// without spaces, numbers of fewer than eight digits ([`small_whole`]): an entry pushed for each
/// (its bit set in `numbers`), without the general reader; the number of entries. `None` at
/// anything else (after pushing some entries), and the caller reads the column again from its
/// start with the general reader; the cursor is moved only when it returns `Some`.
fn compact_ids(
    s: &mut Scan<'_>,
    entries: &mut Vec<SnapshotEntry>,
    numbers: &mut u128,
    prefix: &mut IdPrefix,
) -> Option<usize> {
    let text = s.text();
    let b = text.as_bytes();
    let mut at = s.at();
    (b.get(at) == Some(&b'[')).then_some(())?;
    at += 1;
    loop {
        let (_, end) = small_whole(b, at)?;
        let i = entries.len();
        // The list fits the positions (and `numbers`).
        let position = Position::new(i as i64 + 1).ok()?;
        entries.push(first_read(position, prefix.id(text.get(at..end)?)));
        at = end + 1;
        match b.get(end) {
            Some(b',') => {}
            Some(b']') => break,
            _ => return None,
        }
    }
    // Every entry's bit, `entries.len()` of them (1 to `Position::MAX`), set at once.
    *numbers |= u128::MAX.checked_shr(128 - entries.len() as u32).unwrap_or(0);
    s.rewind(at);
    Some(entries.len())
}

/// A column of values or `null`s read by [`compact_cells`] when it is in the writer's form, else
/// by [`cells_column`].
#[inline(always)]
fn column_of<'a, T>(
    s: &mut Scan<'a>,
    entries: &mut [SnapshotEntry],
    fast: impl Fn(&[u8], usize) -> Option<(T, usize)>,
    read: impl Fn(&mut Scan<'a>) -> Option<T>,
    set: impl Fn(&mut SnapshotEntry, Option<T>) + Copy,
) -> Option<usize> {
    compact_cells(s, entries, fast, set).or_else(|| cells_column(s, entries, read, set))
}

/// A column of one-letter codes, one per entry in order (or none), each stored by `set`: its
/// length.
fn codes_column<C: Coded>(
    s: &mut Scan<'_>,
    entries: &mut [SnapshotEntry],
    set: impl Fn(&mut SnapshotEntry, C),
) -> Option<usize> {
    let (b, at, n) = (s.text().as_bytes(), s.at(), entries.len());
    // As written: a code for every entry between the escaped quotes, compared there without
    // scanning for the string's end (the codes are letters: no quote, backslash or control
    // character among them, so the string ends where the scan would end it). Else as below.
    if let (Some(b"\\\""), Some(codes), Some(b"\\\"")) =
        (b.get(at..at + 2), b.get(at + 2..at + 2 + n), b.get(at + 2 + n..at + 4 + n))
    {
        if n > 0
            && entries.iter_mut().zip(codes).all(|(e, &c)| C::from_code(char::from(c)).map(|c| set(e, c)).is_some())
        {
            s.rewind(at + 4 + n);
            return Some(n);
        }
    }
    let codes = escaped_str(s)?.as_bytes();
    // A byte each: the codes are ASCII letters, and a byte of a longer character is no code.
    (codes.is_empty() || codes.len() == entries.len()).then_some(())?;
    for (e, &c) in entries.iter_mut().zip(codes) {
        set(e, C::from_code(char::from(c))?);
    }
    Some(codes.len())
}

/// The columns' names, in the order the writer writes them (`position`, written only for a list
/// whose positions are not 1…n, is not read in one pass).
const COLUMN_NAMES: [&str; 7] = ["id", "type", "resolution", "price", "currency", "reviews_total", "rating"];

/// A column's name and the colon after it (spaces around them). One of [`COLUMN_NAMES`] written
/// as the writer writes it, `\"<name>\":`, is found by comparing the bytes at the cursor, without
/// scanning it; another is read as an escaped string.
fn column_name<'a>(s: &mut Scan<'a>) -> Option<&'a str> {
    let (rest, at) = (s.text().as_bytes().get(s.at()..)?, s.at());
    for name in COLUMN_NAMES {
        let k = name.len();
        if rest.get(2..2 + k) == Some(name.as_bytes())
            && rest.get(..2) == Some(b"\\\"")
            && rest.get(2 + k..5 + k) == Some(b"\\\":")
        {
            s.rewind(at + 5 + k);
            return Some(name);
        }
    }
    let name = escaped_str(s)?;
    spaces(s);
    s.take(b':').then_some(name)
}

/// `null`, or `f`'s value.
fn nullable<'a, T>(s: &mut Scan<'a>, f: impl FnOnce(&mut Scan<'a>) -> Option<T>) -> Option<Option<T>> {
    if s.peek() == Some(b'n') && s.take_str("null") {
        Some(None)
    } else {
        f(s).map(Some)
    }
}

impl<'a> EscapedColumns<'a> {
    /// Reads the columns from `s`, just past the opening quote of the string that holds them, up to
    /// and including its closing quote; the ids stored as numbers as ids of `site`.
    pub(crate) fn read(s: &mut Scan<'a>, site: SiteId) -> Option<Self> {
        /// A best-seller list's length.
        const TYPICAL: usize = 20;
        let mut cols = EscapedColumns { entries: Vec::with_capacity(TYPICAL), site, numbers: 0, one_currency: None };
        spaces(s);
        s.take(b'{').then_some(())?;
        let mut seen = 0u8;
        let mut first = true;
        loop {
            spaces(s);
            let name = column_name(s)?;
            spaces(s);
            let entries = &mut cols.entries;
            let start = s.at();
            let (bit, len) = if first {
                // `id` first: it gives the number of entries.
                (name == "id").then_some(())?;
                let mut prefix = IdPrefix::of(site);
                let n = match compact_ids(s, entries, &mut cols.numbers, &mut prefix) {
                    Some(n) => n,
                    None => {
                        entries.clear();
                        cols.numbers = 0;
                        s.rewind(start);
                        let numbers = &mut cols.numbers;
                        escaped_seq(s, |s| {
                            let i = entries.len();
                            // The list fits the positions (and `numbers`).
                            let position = Position::new(i as i64 + 1).ok()?;
                            let id = if s.peek() == Some(b'\\') {
                                EntryId::parse(escaped_str(s)?).ok()?
                            } else {
                                *numbers |= 1 << i;
                                prefix.id(s.whole()?.1)
                            };
                            entries.push(first_read(position, id));
                            Some(())
                        })?
                    }
                };
                (1, n)
            } else {
                match name {
                    // A code per entry: `type` is never absent (as the general reader,
                    // `Columns::into_entries`, holds it).
                    "type" => (2, codes_column(s, entries, |e, c| e.kind = c).filter(|&n| n == entries.len())?),
                    "resolution" => (4, codes_column(s, entries, |e, c| e.resolution = c)?),
                    "price" => {
                        let set = |e: &mut SnapshotEntry, v| e.price = v;
                        (8, column_of(s, entries, plain_float, |s| s.number().map(Number::f64), set)?)
                    }
                    "currency" if s.peek() == Some(b'\\') => {
                        cols.one_currency = Some(escaped_str(s)?);
                        (16, entries.len())
                    }
                    "currency" => {
                        (16, cells_column(s, entries, escaped_str, |e, v| e.currency = v.map(Currency::from))?)
                    }
                    "reviews_total" => {
                        let set = |e: &mut SnapshotEntry, v| e.reviews_total = v;
                        (32, column_of(s, entries, small_whole, Scan::whole_value, set)?)
                    }
                    "rating" => (64, cells_column(s, entries, |s| s.number().map(Number::f64), |e, v| e.rating = v)?),
                    _ => return None,
                }
            };
            // No column twice; every column has a value per entry, or none (absent).
            (seen & bit == 0 && (len == 0 || len == cols.entries.len())).then_some(())?;
            seen |= bit;
            first = false;
            spaces(s);
            if !s.take(b',') {
                break;
            }
        }
        s.take(b'}').then_some(())?;
        spaces(s);
        // `type` is not optional.
        (seen & 2 != 0).then_some(())?;
        s.take(b'"').then_some(cols)
    }

    /// The entries of an item of `site`.
    pub(crate) fn into_entries(self, site: SiteId) -> Option<Vec<SnapshotEntry>> {
        let mut entries = self.entries;
        if site != self.site && self.numbers != 0 {
            // The ids stored as numbers read as another site's: made again.
            let mut prefix = IdPrefix::of(site);
            for (i, e) in entries.iter_mut().enumerate() {
                if self.numbers >> i & 1 == 1 {
                    e.id = prefix.id(e.id.as_str().get(3..)?);
                }
            }
        }
        if let Some(one) = self.one_currency {
            // Made once and copied: inline, a clone is the 24 bytes.
            let one = Currency::from(one);
            for e in entries.iter_mut().filter(|e| e.price.is_some()) {
                e.currency = Some(one.clone());
            }
        }
        Some(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry's currency (inline, [`Currency`]) is written and read as the plain string it was
    /// as a `String`: short codes, and one too long to be held inline.
    #[test]
    fn a_currency_is_serialized_as_its_string() {
        for code in ["BRL", "", "A currency code longer than 24 bytes"] {
            let mut e =
                SnapshotEntry::bare(Position::new(1).unwrap(), EntryId::parse("MLB1").unwrap(), EntryType::Item);
            e.currency = Some(code.into());
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json["currency"], serde_json::Value::String(code.to_string()));
            let back: SnapshotEntry = serde_json::from_value(json).unwrap();
            assert_eq!(back.currency.as_deref(), Some(code));
        }
    }

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

    /// `entries` stored in an item of `site` and read back, as the store carries them: a string
    /// attribute.
    fn stored_round_trip(site: SiteId, entries: &[SnapshotEntry]) -> Result<Vec<SnapshotEntry>, String> {
        let text = entries_to_columns(site, entries).map_err(|e| e.to_string())?;
        read_stored(site, serde_json::Value::String(text))
    }

    /// Stored entries (a JSON text of columns as a string, or a list of maps) read for an item of `site`.
    fn read_stored(site: SiteId, v: serde_json::Value) -> Result<Vec<SnapshotEntry>, String> {
        StoredEntries::deserialize(v).map_err(|e| e.to_string())?.into_entries(site)
    }

    fn text(v: serde_json::Value) -> serde_json::Value {
        serde_json::Value::String(v.to_string())
    }

    /// Ids of every shape the `id` column meets: numbers of the item's site (`MLB…` in an `MLB`
    /// item), user products, ids of another site, a leading zero, more digits than a number holds.
    fn arb_id() -> impl proptest::strategy::Strategy<Value = EntryId> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (1u64..10_000_000_000).prop_map(|n| format!("MLB{n}")),
            1 => (1u64..10_000_000_000).prop_map(|n| format!("MLBU{n}")),
            1 => (1u64..10_000_000_000).prop_map(|n| format!("MLA{n}")),
            1 => (0u64..1_000_000).prop_map(|n| format!("MLB0{n}")),
            1 => Just("MLB0".to_string()),
            1 => (100_000_000_000_000u64..u64::MAX).prop_map(|n| format!("MLB{n}")),
            1 => "[A-Z0-9]{1,12}".prop_map(|rest| format!("MLB{rest}")),
        ]
        .prop_map(|s| EntryId::parse(&s).unwrap())
    }

    fn arb_entry() -> impl proptest::strategy::Strategy<Value = SnapshotEntry> {
        use proptest::prelude::*;
        let kinds = prop_oneof![Just(EntryType::Item), Just(EntryType::Product), Just(EntryType::UserProduct)];
        let text = proptest::option::of("\\PC{0,24}");
        let number = proptest::option::of(prop_oneof![
            0.0f64..1e7,
            (0u64..10_000_000).prop_map(|n| n as f64),
            Just(219.35000000000002),
            Just(0.1),
            Just(-0.0),
            Just(4.0),
            Just(1e300),
        ]);
        (
            (1i64..=50, arb_id(), kinds),
            (text.clone(), text.clone(), text.clone(), text),
            (number.clone(), number.clone(), number.clone(), number),
            (proptest::option::of(0u32..100), proptest::option::of(any::<u64>())),
        )
            .prop_map(
                |(
                    (pos, id, kind),
                    (title, brand, permalink, currency),
                    (price, pmin, pmax, rating),
                    (sellers, reviews),
                )| {
                    let mut e = SnapshotEntry::bare(Position::new(pos).unwrap_or(Position::new(1).unwrap()), id, kind);
                    (e.title, e.brand, e.permalink, e.currency) =
                        (title, brand, permalink, currency.map(Currency::from));
                    (e.price, e.price_min, e.price_max, e.rating) = (price, pmin, pmax, rating);
                    (e.seller_count, e.reviews_total) = (sellers, reviews);
                    e
                },
            )
    }

    /// `entries` as a stored item gives them back: everything but the names (title, brand, link),
    /// the price range and the seller count, which the product items keep.
    fn as_stored(entries: &[SnapshotEntry]) -> Vec<SnapshotEntry> {
        let mut out = entries.to_vec();
        for e in &mut out {
            (e.title, e.brand, e.permalink) = (None, None, None);
            (e.price_min, e.price_max, e.seller_count) = (None, None, None);
        }
        out
    }

    /// Floats compared by their bits (−0 is not 0, and NaN never comes up: JSON has none).
    fn same(a: &[SnapshotEntry], b: &[SnapshotEntry]) -> bool {
        let bits = |es: &[SnapshotEntry]| {
            es.iter().map(|e| (e.price.map(f64::to_bits), e.rating.map(f64::to_bits))).collect::<Vec<_>>()
        };
        a == b && bits(a) == bits(b)
    }

    proptest::proptest! {
        #[test]
        fn stored_columns_give_back_what_they_keep(
            mut entries in proptest::collection::vec(arb_entry(), 0..30),
            one_currency in proptest::option::of("[A-Z]{3}"),
            ranked in proptest::bool::ANY,
            site in proptest::prop_oneof![proptest::strategy::Just(SiteId::MLB), proptest::strategy::Just(SiteId::MLA)],
        ) {
            if let Some(c) = one_currency {
                // Every entry with a price in the same currency, the others with none: stored once.
                for e in &mut entries {
                    e.currency = e.price.map(|_| Currency::from(c.as_str()));
                }
            }
            if ranked {
                // A normalized list: positions 1…n, not stored.
                for (i, e) in entries.iter_mut().enumerate() {
                    e.position = Position::new(i as i64 + 1).unwrap();
                }
            }
            let text = entries_to_columns(site, &entries).unwrap();
            let cols: serde_json::Value = serde_json::from_str(&text).unwrap();
            for name in ["title", "brand", "permalink", "price_min", "price_max", "seller_count"] {
                proptest::prop_assert!(cols.get(name).is_none(), "{} is stored: {}", name, text);
            }
            let one_to_n = entries.iter().enumerate().all(|(i, e)| usize::from(e.position.get()) == i + 1);
            proptest::prop_assert_eq!(cols.get("position").is_none(), one_to_n, "{}", text);
            // Numbers are ids of the item's site; strings are whole ids.
            for (v, e) in cols["id"].as_array().unwrap().iter().zip(&entries) {
                match v.as_u64() {
                    Some(n) => proptest::prop_assert_eq!(format!("{site}{n}"), e.id.as_str()),
                    None => proptest::prop_assert_eq!(v.as_str(), Some(e.id.as_str())),
                }
            }
            let back = stored_round_trip(site, &entries).unwrap();
            proptest::prop_assert!(same(&back, &as_stored(&entries)), "{:?}\n{:?}", back, as_stored(&entries));
        }
    }

    #[test]
    fn the_stored_columns_are_coded() {
        let mut entries = vec![
            SnapshotEntry::bare(Position::new(1).unwrap(), EntryId::parse("MLB1").unwrap(), EntryType::Product),
            SnapshotEntry::bare(Position::new(2).unwrap(), EntryId::parse("MLB2").unwrap(), EntryType::Item),
            SnapshotEntry::bare(Position::new(3).unwrap(), EntryId::parse("MLBU3").unwrap(), EntryType::UserProduct),
        ];
        entries[0].resolution = EntryResolution::Resolved;
        entries[1].resolution = EntryResolution::Forbidden;
        for e in &mut entries[..2] {
            e.price = Some(10.0);
            e.currency = Some("BRL".into());
            (e.price_min, e.price_max, e.seller_count) = (Some(9.5), Some(12.0), Some(3));
        }
        entries[1].price = Some(10.25);
        for e in &mut entries {
            e.title = Some(format!("t {}", e.id));
        }
        let text = entries_to_columns(SiteId::MLB, &entries).unwrap();
        assert_eq!(
            text,
            r#"{"id":[1,2,"MLBU3"],"type":"PIU","resolution":"RFO","price":[10,10.25,null],"currency":"BRL"}"#
        );
        assert_eq!(stored_round_trip(SiteId::MLB, &entries).unwrap(), as_stored(&entries));
        // A currency without a price, or two currencies: one per entry.
        for (i, cur) in [(2, Some("BRL")), (1, Some("USD"))] {
            let mut es = entries.clone();
            es[i].currency = cur.map(Into::into);
            let cols: serde_json::Value = serde_json::from_str(&entries_to_columns(SiteId::MLB, &es).unwrap()).unwrap();
            assert!(cols["currency"].is_array(), "{cols}");
            assert_eq!(stored_round_trip(SiteId::MLB, &es).unwrap(), as_stored(&es));
        }
        // Positions other than 1…n are a column.
        let mut gap = entries.clone();
        gap[2].position = Position::new(5).unwrap();
        let cols: serde_json::Value = serde_json::from_str(&entries_to_columns(SiteId::MLB, &gap).unwrap()).unwrap();
        assert_eq!(cols["position"], serde_json::json!([1, 2, 5]));
        assert_eq!(stored_round_trip(SiteId::MLB, &gap).unwrap(), as_stored(&gap));
    }

    #[test]
    fn ids_of_the_items_site_are_numbers_and_others_whole() {
        let ids = ["MLB1481736854", "MLA1481736854", "MLBU3013800008", "MLB0123", "MLB1234567890123456", "MLB7"];
        let entries: Vec<SnapshotEntry> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                SnapshotEntry::bare(Position::new(i as i64 + 1).unwrap(), EntryId::parse(id).unwrap(), EntryType::Item)
            })
            .collect();
        let cols: serde_json::Value =
            serde_json::from_str(&entries_to_columns(SiteId::MLB, &entries).unwrap()).unwrap();
        assert_eq!(
            cols["id"],
            serde_json::json!([1481736854u64, "MLA1481736854", "MLBU3013800008", "MLB0123", "MLB1234567890123456", 7])
        );
        assert_eq!(stored_round_trip(SiteId::MLB, &entries).unwrap(), entries);
        // In an MLA item the MLA id is the number and the MLB ids are whole.
        let cols: serde_json::Value =
            serde_json::from_str(&entries_to_columns(SiteId::MLA, &entries).unwrap()).unwrap();
        assert_eq!(cols["id"][0], "MLB1481736854");
        assert_eq!(cols["id"][1], 1481736854u64);
        assert_eq!(stored_round_trip(SiteId::MLA, &entries).unwrap(), entries);
        // A number is read as an id of the item's site.
        let e = read_stored(SiteId::MLM, text(serde_json::json!({"id": [42, "MLB42"], "type": "PP"}))).unwrap();
        assert_eq!((e[0].id.as_str(), e[1].id.as_str()), ("MLM42", "MLB42"));
        assert_eq!((e[0].position.get(), e[1].position.get()), (1, 2));
    }

    /// A column text written by session 5's code (a slim `MLA` list of 3 from the 72 h demo): whole
    /// ids, positions, prices with `.0`, the price range and the seller count.
    const COLUMNS_BEFORE_1KB: &str = r#"{"position":[1,2,3],"id":["MLA57892453","MLAU2798868515","MLA6111612913"],"type":"PUI","resolution":"ROF","price":[910069.0,null,null],"currency":"ARS","price_min":[910069.0,null,null],"price_max":[1224629.0,null,null],"seller_count":[7,null,null],"reviews_total":[120,null,null],"rating":[4.6,null,null]}"#;

    #[test]
    fn stored_entries_read_the_columns_written_before_the_item_fitted_a_kilobyte() {
        // Read in an item of the same site (its ids are whole: the site does not matter).
        for site in [SiteId::MLA, SiteId::MLB] {
            let e = read_stored(site, serde_json::Value::String(COLUMNS_BEFORE_1KB.into())).unwrap();
            let ids: Vec<&str> = e.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids, ["MLA57892453", "MLAU2798868515", "MLA6111612913"]);
            assert_eq!(e.iter().map(|e| e.position.get()).collect::<Vec<_>>(), [1, 2, 3]);
            assert_eq!(
                (e[0].kind, e[1].kind, e[2].kind),
                (EntryType::Product, EntryType::UserProduct, EntryType::Item)
            );
            assert_eq!(e[2].resolution, EntryResolution::Forbidden);
            assert_eq!(
                (e[0].price, e[0].currency.as_deref(), e[1].currency.as_deref()),
                (Some(910069.0), Some("ARS"), None)
            );
            assert_eq!((e[0].price_min, e[0].price_max, e[0].seller_count), (Some(910069.0), Some(1224629.0), Some(7)));
            assert_eq!((e[0].reviews_total, e[0].rating), (Some(120), Some(4.6)));
            // Written again, it is the new form, and reads back the same but for what it leaves out.
            assert_eq!(stored_round_trip(SiteId::MLA, &e).unwrap(), as_stored(&e));
        }
    }

    #[test]
    fn stored_entries_read_the_columns_written_before_with_names_and_long_codes() {
        let text = r#"{"position":[1,2],"id":["MLB1","MLB2"],"type":["PRODUCT","ITEM"],
            "resolution":["resolved","forbidden"],"title":["A",null],"brand":[null,"B"],
            "permalink":["https://x/1",null],"price":[10.5,null],"currency":["BRL",null]}"#;
        let e = read_stored(SiteId::MLB, serde_json::Value::String(text.into())).unwrap();
        assert_eq!((e[0].kind, e[1].kind), (EntryType::Product, EntryType::Item));
        assert_eq!((e[0].resolution, e[1].resolution), (EntryResolution::Resolved, EntryResolution::Forbidden));
        assert_eq!((e[0].title.as_deref(), e[1].title.as_deref()), (Some("A"), None));
        assert_eq!((e[0].brand.as_deref(), e[1].brand.as_deref()), (None, Some("B")));
        assert_eq!(e[0].permalink.as_deref(), Some("https://x/1"));
        assert_eq!((e[0].currency.as_deref(), e[1].currency.as_deref()), (Some("BRL"), None));
        assert_eq!(e[0].price, Some(10.5));
    }

    #[test]
    fn stored_entries_read_the_older_list_of_maps_and_reject_bad_columns() {
        let rows = serde_json::json!([{"position": 1, "id": "MLB1", "type": "ITEM", "title": "A"}]);
        let e = read_stored(SiteId::MLB, rows).unwrap();
        assert_eq!((e[0].id.as_str(), e[0].title.as_deref()), ("MLB1", Some("A")));
        let too_many: Vec<u64> = (1..=u64::from(Position::MAX) + 1).collect();
        let too_many = serde_json::json!({"id": too_many, "type": "P".repeat(too_many.len())}).to_string();
        for bad in [
            r#"{"position":[1,2],"id":["MLB1"],"type":["ITEM","ITEM"]}"#,
            r#"{"position":[1],"id":["MLB1"],"type":["ITEM"],"title":["a","b"]}"#,
            r#"{"position":[1],"id":["MLB1"],"type":["ITEM"],"colour":["red"]}"#,
            r#"{"position":[1],"id":["nope"],"type":["ITEM"]}"#,
            r#"{"position":[1],"id":["MLB1"],"type":"Z"}"#,
            r#"{"position":[1,2],"id":["MLB1","MLB2"],"type":"P"}"#,
            r#"{"position":[1],"id":["MLB1"],"type":"P","resolution":"RR"}"#,
            r#"{"position":[1],"id":["MLB1"],"type":"P","currency":["BRL","BRL"]}"#,
            r#"{"position":[1],"id":["MLB1"],"type":"P","currency":7}"#,
            r#"{"position":[1,2],"id":[1],"type":"P"}"#,
            r#"{"id":[1,2],"type":"P"}"#,
            r#"{"id":[-1],"type":"P"}"#,
            r#"{"id":[1.5],"type":"P"}"#,
            r#"{"id":["1"],"type":"P"}"#,
            r#"{"id":[null],"type":"P"}"#,
            r#"{"type":"P"}"#,
            too_many.as_str(),
            r#"[1,2"#,
        ] {
            let r = read_stored(SiteId::MLB, serde_json::Value::String(bad.into()));
            assert!(r.is_err(), "{bad} decoded: {r:?}");
        }
    }

    // The snapshot item's stream image read in one pass (`SnapshotItem::from_image_text`) against
    // the general path.

    /// The stream record (JSON, as Lambda delivers it) of the insert of `item`.
    fn record_of(item: &crate::signals::SnapshotItem) -> String {
        let change = crate::stream::Change::insert(item.to_item().unwrap(), "000000000000000000042".into());
        let record = crate::stream::encode(&change, "meli-radar", "sa-east-1", item.snapshot.taken_at).unwrap();
        serde_json::to_string(&record).unwrap()
    }

    /// The record's new image, as the text the trend-scorer's `RawRecord` holds.
    fn image_of(record: &str) -> String {
        let raw: crate::stream::RawRecord = serde_json::from_str(record).unwrap();
        raw.dynamodb.new_image.unwrap().get().to_string()
    }

    /// Whether the one-pass reader takes the item of `entries` (the form the fetcher writes): else
    /// the general path decodes it. A currency that needs escaping, a negative number (`-0.0`
    /// included), a review total of 20 digits, positions other than 1…n.
    fn one_pass_form(entries: &[SnapshotEntry]) -> bool {
        let plain =
            |c: &Option<Currency>| c.as_deref().is_none_or(|c| !c.chars().any(|c| c == '"' || c == '\\' || c < ' '));
        let positive = |x: Option<f64>| x.is_none_or(|x| x.is_sign_positive());
        entries.iter().enumerate().all(|(i, e)| {
            usize::from(e.position.get()) == i + 1
                && plain(&e.currency)
                && positive(e.price)
                && positive(e.rating)
                && e.reviews_total.is_none_or(|r| r < 10_000_000_000_000_000_000)
        })
    }

    /// Snapshots of every shape a snapshot item stores; with `fetcher_form`, only in the form the
    /// fetcher writes ([`one_pass_form`], times in whole seconds), which the one-pass reader takes.
    fn arb_snapshot(fetcher_form: bool) -> impl proptest::strategy::Strategy<Value = Snapshot> {
        use proptest::prelude::*;
        let any_or = |p: f64| if fetcher_form { proptest::bool::weighted(1.0) } else { proptest::bool::weighted(p) };
        (
            proptest::collection::vec(arb_entry(), 0..25),
            proptest::option::of(prop_oneof![Just("BRL".to_string()), "\\PC{0,5}"]),
            (any_or(0.8), any_or(0.7)),
            prop_oneof![Just(SiteId::MLB), Just(SiteId::MLA)],
            (0i64..4_000_000_000, prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000]),
            (any::<u32>(), any::<u64>()),
        )
            .prop_map(
                move |(mut entries, one_currency, (ranked, tidy), site, (secs, nanos), (api_calls, duration_ms))| {
                    if let Some(c) = one_currency {
                        for e in &mut entries {
                            e.currency = e.price.map(|_| Currency::from(c.as_str()));
                        }
                    }
                    if tidy {
                        // As a fetcher's: no sign, review totals of a few digits, currencies that need no
                        // escaping.
                        for e in &mut entries {
                            (e.price, e.rating) = (e.price.map(f64::abs), e.rating.map(f64::abs));
                            e.reviews_total = e.reviews_total.map(|r| r % 1_000_000_000);
                            if let Some(c) = &mut e.currency {
                                c.retain(|c| c != '"' && c != '\\' && c >= ' ');
                            }
                        }
                    }
                    if ranked {
                        for (i, e) in entries.iter_mut().enumerate() {
                            e.position = Position::new(i as i64 + 1).unwrap();
                        }
                    }
                    Snapshot {
                        site,
                        category: CategoryId::parse(&format!("{site}1055")).unwrap(),
                        taken_at: chrono::DateTime::from_timestamp(secs, if fetcher_form { 0 } else { nanos }).unwrap(),
                        entries,
                        fetch: FetchMeta { api_calls, duration_ms },
                    }
                },
            )
    }

    proptest::proptest! {
        #[test]
        fn a_snapshot_record_reads_in_one_pass_as_the_general_path_reads_it(snapshot in arb_snapshot(false)) {
            use crate::pipeline::SnapshotRecord;
            use crate::signals::SnapshotItem;
            let item = SnapshotItem::new(snapshot.clone(), 30);
            let record = record_of(&item);
            let raw: crate::stream::RawRecord = serde_json::from_str(&record).unwrap();
            let general: aws_lambda_events::dynamodb::EventRecord = serde_json::from_str(&record).unwrap();
            let (fast, slow) = (raw.snapshot_insert().unwrap().unwrap(), general.snapshot_insert().unwrap().unwrap());
            proptest::prop_assert!(same(&fast.entries, &slow.entries), "{:?}\n{:?}", fast.entries, slow.entries);
            proptest::prop_assert_eq!(&fast, &slow);
            let mut expected = snapshot.clone();
            expected.entries = as_stored(&snapshot.entries);
            proptest::prop_assert!(same(&fast.entries, &expected.entries));
            proptest::prop_assert_eq!(&fast, &expected);
            // The fetcher's form is read in one pass (else this test would only test the general path).
            let one_pass = SnapshotItem::from_image_text(&image_of(&record));
            let whole_seconds = snapshot.taken_at.timestamp_subsec_nanos() == 0;
            if one_pass_form(&snapshot.entries) && whole_seconds {
                proptest::prop_assert_eq!(one_pass.as_ref().map(|i| &i.snapshot), Some(&fast));
            }
        }

        #[test]
        fn a_record_of_the_fetchers_form_is_read_in_one_pass(snapshot in arb_snapshot(true)) {
            use crate::signals::SnapshotItem;
            proptest::prop_assert!(one_pass_form(&snapshot.entries));
            let item = SnapshotItem::new(snapshot, 30);
            let image = image_of(&record_of(&item));
            let one_pass = SnapshotItem::from_image_text(&image);
            let stored = as_stored(&item.snapshot.entries);
            proptest::prop_assert!(one_pass.as_ref().is_some_and(|i| same(&i.snapshot.entries, &stored)));
            proptest::prop_assert_eq!(one_pass, crate::ddb_json::from_image::<SnapshotItem>(&image).ok());
        }
    }

    /// A column of codes emptied (`"type":""`, `"resolution":""`) in an image of one entry, as the
    /// damaged-image test found it (session 15): `type` has one per entry, so the one-pass reader
    /// refuses it as the general path does; `resolution` may be absent, and both read it so.
    #[test]
    fn an_empty_type_column_is_refused_in_one_pass_as_by_the_general_path() {
        use crate::signals::SnapshotItem;
        let image = |columns: &str| {
            format!(
                r#"{{"entries":{{"S":"{columns}"}},"expires_at":{{"N":"2317640115"}},"pk":{{"S":"CAT#MLB#MLB1055"}},"sk":{{"S":"SNAP#2043-05-12T12:55:15Z"}}}}"#
            )
        };
        for (columns, reads) in [
            (r#"{\"id\":[816028],\"type\":\"\",\"resolution\":\"P\"}"#, false),
            (r#"{\"id\":[816028],\"type\":\"I\",\"resolution\":\"\"}"#, true),
            (r#"{\"id\":[816028],\"type\":\"I\",\"resolution\":\"P\"}"#, true),
        ] {
            let image = image(columns);
            let general = crate::ddb_json::from_image::<SnapshotItem>(&image).ok();
            assert_eq!(general.is_some(), reads, "{image}");
            assert_eq!(SnapshotItem::from_image_text(&image), general, "{image}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Damaged images (a byte or a token deleted, inserted or replaced anywhere, in the columns'
        /// text or around it): the one-pass reader reads one only when the general path reads it
        /// the same, so a bad record gets the error it always got.
        #[test]
        fn a_damaged_image_reads_in_one_pass_only_as_the_general_path_reads_it(
            snapshot in arb_snapshot(true),
            edits in proptest::collection::vec((proptest::num::usize::ANY, 0usize..3, 0usize..TOKENS.len()), 1..4),
        ) {
            use crate::signals::SnapshotItem;
            let mut image = image_of(&record_of(&SnapshotItem::new(snapshot, 30)));
            for (at, op, token) in edits {
                let mut at = at % (image.len() + 1);
                while !image.is_char_boundary(at) {
                    at -= 1;
                }
                let next = image[at..].chars().next().map_or(0, char::len_utf8);
                match op {
                    0 => drop(image.drain(at..at + next)),
                    1 => image.insert_str(at, TOKENS[token]),
                    _ => image.replace_range(at..at + next, TOKENS[token]),
                }
            }
            let general = crate::ddb_json::from_image::<SnapshotItem>(&image);
            if let Some(fast) = SnapshotItem::from_image_text(&image) {
                let general = general.map_err(|e| e.to_string());
                proptest::prop_assert!(general.as_ref().is_ok_and(|g| same(&g.snapshot.entries, &fast.snapshot.entries)));
                proptest::prop_assert_eq!(general, Ok(fast), "{}", image);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// The columns in the writer's form (ids of the item's site of fewer than eight digits,
        /// prices as float arithmetic leaves them, review totals, `null`s) are read by the compact
        /// readers ([`compact_ids`], [`compact_cells`] with [`plain_float`] and [`small_whole`]),
        /// and the one-pass reader gives what the general reader of the stored entries gives.
        #[test]
        fn compact_columns_read_as_the_general_reader_reads_them(
            cells in proptest::collection::vec(
                (
                    1u64..10_000_000,
                    proptest::option::of(crate::ddb_json::tests::stored_price()),
                    proptest::option::of(0u64..10_000_000),
                    proptest::sample::select(vec![EntryType::Item, EntryType::Product, EntryType::UserProduct]),
                    proptest::sample::select(vec![EntryResolution::Resolved, EntryResolution::Cached, EntryResolution::Pending]),
                ),
                1..30,
            ),
        ) {
            use proptest::prelude::*;
            let entries: Vec<SnapshotEntry> = cells
                .iter()
                .enumerate()
                .map(|(i, &(n, price, reviews, kind, resolution))| {
                    let id = EntryId::parse(&format!("MLB{n}")).unwrap();
                    let mut e = SnapshotEntry::bare(Position::new(i as i64 + 1).unwrap(), id, kind);
                    (e.resolution, e.price, e.reviews_total) = (resolution, price, reviews);
                    e.currency = price.map(|_| Currency::from("BRL"));
                    e
                })
                .collect();
            let text = entries_to_columns(SiteId::MLB, &entries).unwrap();
            let escaped = serde_json::to_string(&text).unwrap();
            let mut s = Scan::new(&escaped[1..]);
            let fast = EscapedColumns::read(&mut s, SiteId::MLB).and_then(|c| c.into_entries(SiteId::MLB));
            prop_assert_eq!(s.at(), escaped.len() - 1, "{}", escaped);
            let general = read_stored(SiteId::MLB, serde_json::Value::String(text.clone())).unwrap();
            prop_assert!(fast.as_ref().is_some_and(|f| same(f, &general)), "{:?}\n{:?}", fast, general);
            prop_assert!(same(&general, &entries));
            // Each column read by its compact reader.
            let cols: serde_json::Value = serde_json::from_str(&text).unwrap();
            let column = |name: &str| format!("{}        ", cols[name]);
            let (ids, mut read, mut numbers) = (column("id"), Vec::new(), 0);
            let taken = compact_ids(&mut Scan::new(&ids), &mut read, &mut numbers, &mut IdPrefix::of(SiteId::MLB));
            prop_assert_eq!(taken, Some(entries.len()), "{}", ids);
            prop_assert_eq!(numbers, (1u128 << entries.len()) - 1);
            prop_assert!(read.iter().zip(&entries).all(|(r, e)| r.id == e.id && r.position == e.position));
            if entries.iter().any(|e| e.reviews_total.is_some()) {
                let reviews = column("reviews_total");
                let mut read = entries.clone();
                let taken = compact_cells(&mut Scan::new(&reviews), &mut read, small_whole, |e, v| e.reviews_total = v);
                prop_assert_eq!((taken, &read), (Some(entries.len()), &entries), "{}", reviews);
            }
            if entries.iter().any(|e| e.price.is_some()) {
                let prices = column("price");
                let plain = entries.iter().filter_map(|e| e.price).all(|x| {
                    let x = format!("{},       ", serde_json::to_string(&x).unwrap());
                    plain_float(x.as_bytes(), 0).is_some()
                });
                let mut read = entries.clone();
                let taken = compact_cells(&mut Scan::new(&prices), &mut read, plain_float, |e, v| e.price = v);
                prop_assert_eq!(taken.is_some(), plain, "{}", prices);
                if plain {
                    prop_assert!(same(&read, &entries), "{}", prices);
                }
            }
        }
    }

    /// What a damaged image gets: JSON's structure, escapes, numbers and names of the item.
    const TOKENS: &[&str] = &[
        "\\\"",
        "\"",
        "\\\\",
        "\\n",
        "\n",
        "\t",
        " ",
        ",",
        ":",
        "[",
        "]",
        "{",
        "}",
        "null",
        "0",
        "1",
        "01",
        "-",
        "-0",
        ".",
        "e",
        "E+",
        "1e999",
        "1.5",
        "18446744073709551616",
        "\\u0022",
        "\"S\"",
        "\"N\"",
        "\"M\"",
        "\"L\"",
        "\\\"id\\\"",
        "\\\"type\\\"",
        "\\\"price\\\"",
        "\\\"currency\\\"",
        "\\\"position\\\"",
        "\\\"rating\\\"",
        "\\\"reviews_total\\\"",
        "\\\"resolution\\\"",
        "\\\"title\\\"",
        "\"pk\"",
        "\"sk\"",
        "\"fetch\"",
        "\"expires_at\"",
        "\"site\"",
        "\"taken_at\"",
        "P",
        "Z",
        "é",
        "MLB",
        "\\\"MLB1\\\"",
    ];

    /// The one-pass reader reads the ids stored as numbers as ids of the site its caller guesses
    /// (the record's keys'), or of the image's `pk` when that comes first: a wrong guess gives the
    /// same entries as the general path, in either order of the attributes, and so does an id of
    /// another site (stored whole).
    #[test]
    fn ids_read_as_another_sites_are_made_again() {
        use crate::signals::SnapshotItem;
        for site in [SiteId::MLB, SiteId::MLA] {
            let category = CategoryId::parse(&format!("{site}1055")).unwrap();
            let ids =
                [format!("{site}7"), "MLB12".to_string(), format!("{site}U3"), "MLA45".to_string(), format!("{site}0")];
            let taken_at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let mut snapshot = Snapshot::ranked(&category, taken_at, &ids, EntryType::Product).unwrap();
            snapshot.entries[1].price = Some(12.5);
            snapshot.entries[1].currency = Some("BRL".into());
            let item = SnapshotItem::new(snapshot, 30);
            let image = image_of(&record_of(&item));
            // `pk` before the entries, and after them.
            let serde_json::Value::Object(attrs) = serde_json::from_str(&image).unwrap() else { panic!("{image}") };
            let (pk, rest): (Vec<_>, Vec<_>) = attrs.into_iter().partition(|(k, _)| k == "pk");
            let write = |members: Vec<&(String, serde_json::Value)>| {
                let members: Vec<_> =
                    members.iter().map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str()))).collect();
                format!("{{{}}}", members.join(","))
            };
            let (pk_first, pk_last) =
                (write(pk.iter().chain(&rest).collect()), write(rest.iter().chain(&pk).collect()));
            assert!(pk_first.find("\"pk\"") < pk_first.find("\"entries\""), "{pk_first}");
            assert!(pk_last.find("\"pk\"") > pk_last.find("\"entries\""), "{pk_last}");
            for text in [pk_first.as_str(), pk_last.as_str()] {
                let general = crate::ddb_json::from_image::<SnapshotItem>(text).unwrap();
                assert_eq!(general.snapshot.entries, item.snapshot.entries, "{text}");
                for guess in [SiteId::MLB, SiteId::MLA, SiteId::MLM] {
                    let mut s = crate::ddb_json::Scan::new(text);
                    let (_, _, read, _) = SnapshotItem::read_image(&mut s, guess).unwrap();
                    assert_eq!(read, general.snapshot, "{guess} {text}");
                }
            }
        }
    }

    #[test]
    fn bad_snapshot_records_get_the_error_they_got_before() {
        use crate::pipeline::SnapshotRecord;
        use crate::signals::SnapshotItem;
        let snapshot = Snapshot::ranked(
            &CategoryId::parse("MLB1055").unwrap(),
            chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            &["MLB1", "MLB2"],
            EntryType::Product,
        )
        .unwrap();
        let record = record_of(&SnapshotItem::new(snapshot.clone(), 30));
        let columns = r#"{\"id\":[1,2],\"type\":\"PP\",\"resolution\":\"PP\"}"#;
        assert!(record.contains(columns), "{record}");
        let raw = |record: &str| serde_json::from_str::<crate::stream::RawRecord>(record).unwrap();
        assert_eq!(raw(&record).snapshot_insert().unwrap().unwrap(), snapshot);
        for (bad, why) in [
            (r#"{\"id\":[1,2],\"type\":\"PP\",\"resolution\":\"PP\""#, "the columns' text cut short"),
            (r#"{\"id\":[1,2],\"type\":\"PZ\",\"resolution\":\"PP\"}"#, "an unknown code"),
            (r#"{\"id\":[1,2],\"type\":\"P\",\"resolution\":\"PP\"}"#, "a column too short"),
            (r#"{\"id\":[1,2],\"type\":\"PPI,\"resolution\":\"PP\"}"#, "a column too long"),
            (r#"{\"id\":[1,2],\"type\":\"PPxx,\"resolution\":\"PP\"}"#, "codes not closed after the last entry's"),
            (r#"{\"id\":[1,02],\"type\":\"PP\",\"resolution\":\"PP\"}"#, "a leading zero"),
            (r#"{\"id\":[1,2.5],\"type\":\"PP\",\"resolution\":\"PP\"}"#, "an id that is not whole"),
            (r#"{\"id\":[1,\"x\"],\"type\":\"PP\",\"resolution\":\"PP\"}"#, "an id that is not one"),
            (r#"{\"id\":[1,2],\"id\":[1,2],\"type\":\"PP\"}"#, "a column twice"),
            (r#"{\"id\":[1,2],\"type\":\"PP\",\"type\":\"PP\"}"#, "types twice"),
            (r#"{\"id\":[1,2],\"type\":\"PP\",\"price\":[1,2],\"price\":[1,2]}"#, "prices twice"),
            (r#"{\"id\":[1,2],\"type\":\"PP\",\"currency\":\"BRL\",\"currency\":[null,null]}"#, "currencies twice"),
            (r#"{\"id\":[1,2],\"type\":\"PP\",\"colour\":[1,2]}"#, "an unknown column"),
            (r#"{\"id\":[1,2],\"type\":\"PP\",\"price\":[1,1e999]}"#, "a price out of range"),
            (r#"{\"type\":\"PP\"}"#, "no ids"),
            (r#"{\"id\":[1,2]}"#, "no types"),
            (r#"[1,2]"#, "not columns"),
        ] {
            let bad = record.replace(columns, bad);
            let (got, before) = (raw(&bad).snapshot_insert(), raw(&bad).new_image::<SnapshotItem>());
            assert!(got.is_err(), "{why}: {got:?}");
            let before = before.unwrap_err();
            assert_eq!(got.unwrap_err(), format!("snapshot item does not decode: {before}"), "{why}");
        }
        for (from, to, why) in [
            (r#""expires_at":{"N":""#, r#""expires_at":{"S":""#, "a number as a string"),
            (r#""expires_at":{"N":""#, r#""expires_at":{"N":"-"#, "a negative TTL: not read in one pass"),
            (r#""pk":{"S":"CAT#MLB#MLB1055"}"#, r#""pk":{"S":"CAT#MLB#1055"}"#, "a bad partition key"),
            (r#""expires_at":{"N":""#, r#""expires_at":{"N":"1"},"expires_at":{"N":""#, "an attribute twice"),
            (
                r#""expires_at":{"N":""#,
                r#""colour":{"S":"red"},"expires_at":{"N":""#,
                "an attribute the item does not have",
            ),
            (r#""sk":{"S":"SNAP#"#, r#""sk":{"S":"SNAPS#"#, "a bad sort key"),
            (r#""fetch":{"M":{"#, r#""fetch":{"M":{"api_calls":{"N":"4294967296"},"#, "api calls out of range"),
        ] {
            // In the image only (not in the record's keys).
            let (head, image) = record.split_at(record.find("\"NewImage\"").unwrap());
            assert!(image.contains(from), "{from} in {image}");
            let bad = format!("{head}{}", image.replace(from, to));
            let (got, before) = (raw(&bad).snapshot_insert(), raw(&bad).new_image::<SnapshotItem>());
            match before {
                Ok(item) => assert_eq!(got, Ok(item.map(|i| i.snapshot)), "{why}"),
                Err(e) => assert_eq!(got, Err(format!("snapshot item does not decode: {e}")), "{why}"),
            }
        }
    }
}

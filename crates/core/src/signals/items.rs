//! The stored items the scorer reads and writes (DESIGN §4), as serde structs. Each one goes in and
//! out of a [`SnapshotStore`](crate::store::SnapshotStore) through [`Item::from_typed`] and
//! [`Item::decode`], so the stores, the stream decoder and the notifier share one definition.

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{CategoryId, EntryId, EntryType, SiteId};
use crate::keys;
use crate::signals::category::CategorySignals;
use crate::signals::events::{EventKind, PositionPoint, Severity, KEY_KIND_MAX};
use crate::signals::product::{ProductSignals, Trend};
use crate::snapshot::Snapshot;
use crate::store::{Attrs, Item, StoreError};

/// Epoch seconds of a time plus a number of days, for `expires_at`.
pub fn expiry(t: DateTime<Utc>, days: i64) -> i64 {
    t.timestamp().saturating_add(days.saturating_mul(86_400))
}

/// The snapshot item `CAT#{site}#{cat}` / `SNAP#{ts}`: a snapshot with its keys and TTL.
///
/// Stored as `entries`, one string attribute holding a JSON text of columns
/// ([`crate::snapshot::entries_to_columns`]; docs/decisions.md), `fetch` (API calls and duration)
/// and `expires_at` (the TTL). `site` and `category` are stored only when the partition key does
/// not give them back, `taken_at` only when the sort key does not (a time with a fraction of a
/// second). Decoded through [`SnapshotItemFields`], the same attributes spelled out (serde's
/// `flatten` buffers the whole item before decoding it again). Items written before (with `site`,
/// `category` and `taken_at`; entries as a list of maps) still decode.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "SnapshotItemFields")]
pub struct SnapshotItem {
    pub pk: String,
    pub sk: String,
    pub snapshot: Snapshot,
    /// Epoch seconds (DynamoDB TTL).
    pub expires_at: i64,
}

impl Serialize for SnapshotItem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeStruct};
        let s = &self.snapshot;
        let entries = crate::snapshot::entries_to_columns(s.site, &s.entries).map_err(S::Error::custom)?;
        let ids_in_key = self.pk == keys::category_pk(s.site, &s.category);
        let time_in_key = keys::is_key_time(s.taken_at)
            && self.sk.strip_prefix(keys::SNAP_PREFIX).is_some_and(|t| keys::is_ts_of(t, s.taken_at));
        let mut m = serializer.serialize_struct("SnapshotItem", 8)?;
        m.serialize_field("pk", &self.pk)?;
        m.serialize_field("sk", &self.sk)?;
        if ids_in_key {
            m.skip_field("site")?;
            m.skip_field("category")?;
        } else {
            m.serialize_field("site", &s.site)?;
            m.serialize_field("category", &s.category)?;
        }
        if time_in_key {
            m.skip_field("taken_at")?;
        } else {
            m.serialize_field("taken_at", &s.taken_at)?;
        }
        m.serialize_field("entries", &entries)?;
        m.serialize_field("fetch", &s.fetch)?;
        m.serialize_field("expires_at", &self.expires_at)?;
        m.end()
    }
}

/// The attributes of a [`SnapshotItem`], flat (its decoding form). `site`, `category` and
/// `taken_at` are read from the keys when absent.
#[derive(Deserialize)]
struct SnapshotItemFields {
    pk: String,
    sk: String,
    #[serde(default)]
    site: Option<SiteId>,
    #[serde(default)]
    category: Option<CategoryId>,
    #[serde(default)]
    taken_at: Option<DateTime<Utc>>,
    entries: crate::snapshot::StoredEntries,
    #[serde(default)]
    fetch: crate::snapshot::FetchMeta,
    expires_at: i64,
}

/// Why a snapshot item does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SnapshotItemError(String);

impl TryFrom<SnapshotItemFields> for SnapshotItem {
    type Error = SnapshotItemError;

    fn try_from(f: SnapshotItemFields) -> Result<Self, Self::Error> {
        let (site, category) = match (f.site, f.category) {
            (Some(s), Some(c)) => (s, c),
            (site, category) => {
                let (s, c) = keys::parse_category_pk(&f.pk).ok_or_else(|| {
                    SnapshotItemError(format!("the partition key {:?} is not CAT#{{site}}#{{category}}", f.pk))
                })?;
                (site.unwrap_or(s), category.unwrap_or(c))
            }
        };
        let taken_at = match f.taken_at {
            Some(t) => t,
            None => f.sk.strip_prefix(keys::SNAP_PREFIX).and_then(keys::parse_ts).ok_or_else(|| {
                SnapshotItemError(format!("the sort key {:?} is not {}{{time}}", f.sk, keys::SNAP_PREFIX))
            })?,
        };
        let entries = f.entries.into_entries(site).map_err(SnapshotItemError)?;
        Ok(SnapshotItem {
            pk: f.pk,
            sk: f.sk,
            snapshot: Snapshot { site, category, taken_at, entries, fetch: f.fetch },
            expires_at: f.expires_at,
        })
    }
}

impl SnapshotItem {
    pub fn new(snapshot: Snapshot, ttl_days: i64) -> Self {
        SnapshotItem {
            pk: keys::category_pk(snapshot.site, &snapshot.category),
            sk: keys::snapshot_sk(snapshot.taken_at),
            expires_at: expiry(snapshot.taken_at, ttl_days),
            snapshot,
        }
    }

    pub fn to_item(&self) -> Result<Item, StoreError> {
        Item::from_typed(&self.pk, &self.sk, self)
    }

    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        item.decode()
    }

    /// The item from its image in a stream record (DynamoDB JSON), read in one pass when it is in
    /// the form [`SnapshotItem`]'s `Serialize` writes (the `entries` columns read in place:
    /// [`crate::snapshot::EscapedColumns`]); `None` for any other form (items written before,
    /// attributes it does not write, escapes in the keys, anything malformed), which
    /// [`crate::ddb_json::from_image`] then decodes, giving the item or the error. Where both read
    /// an image they give the same item (a property test holds them to it). The trend-scorer keeps
    /// only the snapshot ([`SnapshotItem::read_image_text`]).
    #[cfg(test)]
    pub(crate) fn from_image_text(image: &str) -> Option<SnapshotItem> {
        let (pk, sk, snapshot, expires_at) = Self::read_image_text(image)?;
        Some(SnapshotItem { pk: pk.to_string(), sk: sk.to_string(), snapshot, expires_at })
    }

    /// The item of [`SnapshotItem::from_image_text`] as its keys (borrowed from the image), snapshot
    /// and `expires_at`, without copying the keys.
    pub(crate) fn read_image_text(image: &str) -> Option<(&str, &str, Snapshot, i64)> {
        let mut s = crate::ddb_json::Scan::new(image);
        let read = Self::read_image(&mut s, SiteId::MLB)?;
        s.end()?;
        Some(read)
    }

    /// [`SnapshotItem::read_image_text`] on the image at the cursor of `s` (the stream body reader's
    /// NewImage), leaving the cursor after it. `site` is the item's site as far as the caller
    /// knows (the record's keys'): the entries' ids are read as its ids when the image's `pk` comes
    /// after them, and made again if the `pk` says otherwise.
    pub(crate) fn read_image<'a>(
        s: &mut crate::ddb_json::Scan<'a>,
        site: SiteId,
    ) -> Option<(&'a str, &'a str, Snapshot, i64)> {
        use crate::snapshot::{EscapedColumns, FetchMeta};
        let (mut pk, mut sk, mut entries, mut fetch, mut expires_at) = (None, None, None, None, None);
        s.members_of(&["pk", "sk", "entries", "fetch", "expires_at"], |s, i, _| {
            match i {
                0 if pk.is_none() => {
                    let text = s.typed_str("S")?;
                    pk = Some((text, keys::parse_category_pk(text)?));
                }
                1 if sk.is_none() => sk = Some(s.typed_str("S")?),
                2 if entries.is_none() => {
                    s.open("S")?;
                    s.eat(b'"')?;
                    let site = pk.as_ref().map_or(site, |(_, (site, _))| *site);
                    entries = Some(EscapedColumns::read(s, site)?);
                    s.eat(b'}')?;
                }
                3 if fetch.is_none() => {
                    let mut f = FetchMeta::default();
                    let (mut calls, mut duration) = (false, false);
                    s.open("M")?;
                    s.members_of(&["api_calls", "duration_ms"], |s, i, _| {
                        match i {
                            0 if !calls => {
                                f.api_calls = u32::try_from(s.typed_u64()?).ok()?;
                                calls = true;
                            }
                            1 if !duration => {
                                f.duration_ms = s.typed_u64()?;
                                duration = true;
                            }
                            _ => return None,
                        }
                        Some(())
                    })?;
                    s.eat(b'}')?;
                    fetch = Some(f);
                }
                4 if expires_at.is_none() => expires_at = Some(s.typed_i64()?),
                // `site`, `category`, `taken_at` (written when the keys do not give them back), an
                // attribute twice, or one this item does not have.
                _ => return None,
            }
            Some(())
        })?;
        let ((pk, (site, category)), sk) = (pk?, sk?);
        let taken_at = sk.strip_prefix(keys::SNAP_PREFIX).and_then(keys::parse_ts)?;
        let entries = entries?.into_entries(site)?;
        Some((pk, sk, Snapshot { site, category, taken_at, entries, fetch: fetch.unwrap_or_default() }, expires_at?))
    }
}

/// An event item `EVT#{site}#{cat}` / `{ts}#{key_kind}#{product}`: everything a notification needs.
///
/// The fields that repeat the keys (`kind`, `key_kind`, `n`, `site`, `category`, `product`,
/// `taken_at`) and `places` (`from_position − to_position`) must agree with them:
/// [`EventItem::to_item`] refuses an item where they do not, because the stored item leaves them out
/// and [`EventItem::from_item`] reads them back from the keys (docs/decisions.md, "Event items are
/// stored lean"). `Serialize` writes every field (the CLI's `--json`, the notifier's hold items);
/// `Deserialize` reads that form, the stored form and the stored form of before (every field, the
/// sparkline as a list of maps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EventItemFields")]
pub struct EventItem {
    pub pk: String,
    pub sk: String,
    pub kind: EventKind,
    /// The kind as it appears in the key (`entered_top_10` for `entered_top_n` with n = 10).
    pub key_kind: String,
    /// N of the top-N events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u8>,
    pub severity: Severity,
    pub site: SiteId,
    pub category: CategoryId,
    pub product: EntryId,
    pub product_type: EntryType,
    #[serde(serialize_with = "keys::serialize_time")]
    pub taken_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permalink: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_position: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_position: Option<u8>,
    /// Places moved against the previous list (positive = up): `from_position − to_position`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub places: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_number_one: Option<EntryId>,
    /// The rolling minimum a price drop is measured against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_price: Option<f64>,
    /// `price / reference_price − 1` (negative for a drop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_change_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviews_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviews_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviews_delta: Option<i64>,
    /// For a re-entry: when the product was last in the list (within the lookback).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "keys::serialize_opt_time")]
    pub last_seen_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
    /// The last positions of the product, oldest first, for a sparkline.
    pub recent_positions: Vec<PositionPoint>,
    pub expires_at: i64,
}

/// The places moved from one position to another (positive = up).
pub fn places(from: Option<u8>, to: Option<u8>) -> Option<i32> {
    match (from, to) {
        (Some(a), Some(b)) => Some(i32::from(a) - i32::from(b)),
        _ => None,
    }
}

impl EventItem {
    /// The stored item: the attributes the keys do not already say, the sparkline as one string
    /// (`recent`, see [`write_recent`]), built straight into the item's map.
    ///
    /// Attributes, in this order: `severity`, `product_type`, then those present of `title`, `brand`, `permalink`, `price`, `currency`, `from_position`,
    /// `to_position`, `previous_number_one`, `reference_price`, `price_change_share`,
    /// `reviews_before`, `reviews_after`, `reviews_delta`, `last_seen_at`, `momentum`, `trend`,
    /// `recent`, then `expires_at` (the TTL), and `taken_at` only when the key's time (whole
    /// seconds) does not give it back exactly.
    pub fn to_item(&self) -> Result<Item, StoreError> {
        self.to_item_sharing(None)
    }

    /// [`EventItem::to_item`], with what the items written before it worked out (`shared`): the
    /// sparkline's ages where its points are theirs (the items of one record share their points'
    /// times: the window's last columns), and the start of the sort key where its time is theirs.
    pub(crate) fn to_item_sharing(&self, shared: Option<&mut Shared>) -> Result<Item, StoreError> {
        let (ages, sk_start) = match shared {
            Some(s) => (Some(&mut s.ages), Some(&mut s.sk_start)),
            None => (None, None),
        };
        if let Some(what) = self.disagreement(sk_start) {
            return Err(StoreError::Corrupt(format!("event item {}/{}: {what}", self.pk, self.sk)));
        }
        let mut a = Attrs::with_capacity(24);
        let mut put = |name: &'static str, v: Value| a.push(name, v);
        let text = |s: &str| Value::String(s.to_string());
        put("severity", text(self.severity.as_str()));
        put("product_type", text(self.product_type.as_str()));
        let strings = [("title", &self.title), ("brand", &self.brand), ("permalink", &self.permalink)];
        for (name, v) in strings {
            if let Some(v) = v {
                put(name, text(v));
            }
        }
        if let Some(x) = self.price {
            put("price", float(x));
        }
        if let Some(x) = &self.currency {
            put("currency", text(x));
        }
        for (name, v) in [("from_position", self.from_position), ("to_position", self.to_position)] {
            if let Some(x) = v {
                put(name, Value::from(x));
            }
        }
        if let Some(x) = &self.previous_number_one {
            put("previous_number_one", text(x.as_str()));
        }
        for (name, v) in [("reference_price", self.reference_price), ("price_change_share", self.price_change_share)] {
            if let Some(x) = v {
                put(name, float(x));
            }
        }
        for (name, v) in [("reviews_before", self.reviews_before), ("reviews_after", self.reviews_after)] {
            if let Some(x) = v {
                put(name, Value::from(x));
            }
        }
        if let Some(x) = self.reviews_delta {
            put("reviews_delta", Value::from(x));
        }
        if let Some(t) = self.last_seen_at {
            put("last_seen_at", Value::String(keys::time_string(t)));
        }
        if let Some(x) = self.momentum {
            put("momentum", float(x));
        }
        if let Some(x) = self.trend {
            put("trend", text(x.as_str()));
        }
        if !self.recent_positions.is_empty() {
            put("recent", Value::String(write_recent_sharing(&self.recent_positions, self.taken_at, ages)));
        }
        put("expires_at", Value::from(self.expires_at));
        if !keys::is_key_time(self.taken_at) {
            put("taken_at", Value::String(keys::time_string(self.taken_at)));
        }
        Ok(Item { pk: self.pk.clone(), sk: self.sk.clone(), attrs: a })
    }

    /// Decodes a stored event item, in the form [`EventItem::to_item`] writes or the one before.
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        item.decode()
    }

    /// What the fields that the stored item leaves out say against the keys, if anything. The
    /// sort key's time is checked against `sk_start` when it is of `taken_at` (a prefix compared,
    /// not the time written again: ~180 instructions an item), and kept there for the next item.
    fn disagreement(&self, sk_start: Option<&mut Option<SkStart>>) -> Option<&'static str> {
        let pk_rest = self.pk.strip_prefix(keys::EVENT_PREFIX).and_then(|r| r.strip_prefix(self.site.as_str()));
        if pk_rest.and_then(|r| r.strip_prefix('#')) != Some(self.category.as_str()) {
            return Some("the partition key is not EVT#{site}#{category}");
        }
        let mut buf = [0u8; KEY_KIND_MAX];
        let n_fits = self.n.is_none() || matches!(self.kind, EventKind::EnteredTopN | EventKind::LeftTopN);
        if !n_fits || self.kind.key_kind_in(self.n, &mut buf) != self.key_kind {
            return Some("key_kind is not the key kind of kind and n");
        }
        let after_ts = match sk_start {
            Some(Some(start)) if start.at == self.taken_at => start.rest_of(&self.sk),
            Some(kept) => {
                let rest = keys::after_ts(&self.sk, self.taken_at);
                if let Some(start) = rest.and_then(|r| self.sk.get(..self.sk.len() - r.len())) {
                    *kept = SkStart::of(self.taken_at, start);
                }
                rest
            }
            None => keys::after_ts(&self.sk, self.taken_at),
        };
        let sk_fits =
            after_ts.and_then(|rest| rest.strip_prefix(self.key_kind.as_str())).and_then(|r| r.strip_prefix('#'))
                == Some(self.product.as_str());
        if !sk_fits {
            return Some("the sort key is not {taken_at}#{key_kind}#{product}");
        }
        if self.places != places(self.from_position, self.to_position) {
            return Some("places is not from_position − to_position");
        }
        None
    }
}

/// A float as `serde_json` serializes it (`null` when not finite).
fn float(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// The sparkline as stored: `{position}@{age}` per point, oldest first, separated by spaces, where
/// the position is `-` when the product was not in the list and the age is the seconds from the
/// point to `taken_at` (`-` before it for a point after `taken_at`; a fraction only when there is
/// one): `9@10800 7@7200 -@3600 4@0`.
pub fn write_recent(points: &[PositionPoint], taken_at: DateTime<Utc>) -> String {
    write_recent_sharing(points, taken_at, None)
}

/// What the event items of one record share, kept from one [`EventItem::to_item_sharing`] to the
/// next ([`crate::signals::plan_writes`]).
#[derive(Default)]
pub(crate) struct Shared {
    ages: Ages,
    sk_start: Option<SkStart>,
}

/// The start of a sort key that [`keys::after_ts`] found to be of `at` (its time as keys write it
/// and `#`): another key starts with it exactly when `after_ts` finds it of `at` too (the time's
/// text has no `#`).
pub(crate) struct SkStart {
    at: DateTime<Utc>,
    len: usize,
    text: [u8; SK_START_MAX],
}

/// The longest start [`SkStart`] keeps (a key time and `#` are 21 bytes; longer ones, of
/// fractions or years past 9999, are checked by `after_ts` every time).
const SK_START_MAX: usize = 24;

impl SkStart {
    fn of(at: DateTime<Utc>, start: &str) -> Option<Self> {
        let mut text = [0u8; SK_START_MAX];
        text.get_mut(..start.len())?.copy_from_slice(start.as_bytes());
        Some(SkStart { at, len: start.len(), text })
    }

    /// [`keys::after_ts`] of `sk` and `at`.
    fn rest_of<'a>(&self, sk: &'a str) -> Option<&'a str> {
        sk.as_bytes().starts_with(&self.text[..self.len]).then(|| sk.get(self.len..)).flatten()
    }
}

/// The ages of sparkline points as [`write_recent`] wrote them (`@`, the sign, the seconds and the
/// fraction), by point, against one `taken_at`: the event items of a record share their points'
/// times (the window's last columns), so the second and later copy them (16 bytes each) instead
/// of working them out and writing their digits again.
#[derive(Default)]
pub(crate) struct Ages {
    taken_at: Option<DateTime<Utc>>,
    /// Per point: its time, and its age's text (its length, then the bytes, `AGE_MAX` at most).
    points: Vec<(DateTime<Utc>, u8, [u8; AGE_MAX])>,
}

/// The longest age [`Ages`] keeps: `@`, a sign and 14 digits (the seconds of 3 million years, or
/// a fraction's: those are written out every time).
const AGE_MAX: usize = 16;

/// [`write_recent`], the points' ages copied from `ages` where they were written before against
/// the same `taken_at` (and kept there for the next call).
fn write_recent_sharing(points: &[PositionPoint], taken_at: DateTime<Utc>, mut ages: Option<&mut Ages>) -> String {
    if let Some(a) = ages.as_deref_mut() {
        if a.taken_at != Some(taken_at) {
            a.taken_at = Some(taken_at);
            a.points.clear();
            a.points.reserve(points.len());
        }
    }
    // Written as bytes into a buffer sized for the longest points, checked once at the end (every
    // byte is ASCII): no copy per point.
    // A point: ' ', the position (at most 3 digits), '@', '-', the seconds (at most 19 digits),
    // '.', 9 digits.
    const POINT_MAX: usize = 36;
    // An age copied whole (`Ages`) after the space and a position of 3 digits.
    const _: () = assert!(4 + AGE_MAX <= POINT_MAX);
    // Not `vec![0; n]`: mimalloc's zeroed allocation clears a byte at a time (as in `Window::build`).
    #[allow(clippy::slow_vector_initialization)]
    let mut out: Vec<u8> = Vec::with_capacity(points.len() * POINT_MAX);
    out.resize(points.len() * POINT_MAX, 0);
    let mut n = 0;
    let t_secs = Some(taken_at.timestamp()).filter(|_| taken_at.timestamp_subsec_nanos() == 0);
    // The date of the last point read and its midnight in seconds: a list's points are mostly on
    // the day of the one before, and `timestamp` works the date out every time.
    let mut day: Option<(chrono::NaiveDate, i64)> = None;
    for (i, p) in points.iter().enumerate() {
        let tok = &mut out[n..n + POINT_MAX];
        let mut k = 0;
        if i > 0 {
            tok[0] = b' ';
            k = 1;
        }
        match p.position {
            Some(x) => k = put_u8(tok, k, x),
            None => {
                tok[k] = b'-';
                k += 1;
            }
        }
        // The age as an item before this one wrote it, when it did.
        let known = ages.as_deref().and_then(|a| a.points.get(i)).filter(|(at, _, _)| *at == p.at);
        if let Some((_, len, text)) = known {
            tok[k..k + AGE_MAX].copy_from_slice(text);
            n += k + usize::from(*len);
            continue;
        }
        let age_at = k;
        tok[k] = b'@';
        k += 1;
        // Whole seconds subtracted as integers (nearly always); chrono's subtraction otherwise.
        let (secs, nanos) = match t_secs.filter(|_| p.at.timestamp_subsec_nanos() == 0) {
            Some(t) => {
                let utc = p.at.naive_utc();
                let (date, of_day) = (utc.date(), i64::from(utc.time().num_seconds_from_midnight()));
                let midnight = match day {
                    Some((d, m)) if d == date => m,
                    _ => {
                        let m = p.at.timestamp() - of_day;
                        day = Some((date, m));
                        m
                    }
                };
                (t - (midnight + of_day), 0)
            }
            None => {
                let age = taken_at.signed_duration_since(p.at);
                (age.num_seconds(), age.subsec_nanos())
            }
        };
        if secs < 0 || nanos < 0 {
            tok[k] = b'-';
            k += 1;
        }
        k = put_digits(tok, k, secs.unsigned_abs());
        if nanos != 0 {
            // The nanoseconds as 9 digits, without the trailing zeros.
            let mut frac = nanos.unsigned_abs();
            let mut width = 9;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            tok[k] = b'.';
            for d in tok[k + 1..k + 1 + width].iter_mut().rev() {
                *d = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            k += 1 + width;
        }
        // Kept for the items after this one, when it is the next point and fits.
        if let Some(a) = ages.as_deref_mut().filter(|a| a.points.len() == i && k - age_at <= AGE_MAX) {
            // The whole width (the point's room is `POINT_MAX`): a copy of fixed size.
            let mut text = [0u8; AGE_MAX];
            text.copy_from_slice(&tok[age_at..age_at + AGE_MAX]);
            a.points.push((p.at, (k - age_at) as u8, text));
        }
        n += k;
    }
    out.truncate(n);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `x` in decimal into `buf` at `at` (as `format!("{x}")`); returns the index after it.
/// `buf` must have room for `x`'s digits (at most 20). Two digits a division (most of a
/// sparkline's numbers are a position of 1–2 digits and an age of 4–6).
#[inline(always)]
fn put_digits(buf: &mut [u8], at: usize, mut x: u64) -> usize {
    let width = if x == 0 { 1 } else { x.ilog10() as usize + 1 };
    let mut i = at + width;
    while x >= 10 {
        let d = (x % 100) as usize;
        x /= 100;
        i -= 2;
        buf[i] = DIGIT_PAIRS[2 * d];
        buf[i + 1] = DIGIT_PAIRS[2 * d + 1];
    }
    if i > at {
        buf[at] = b'0' + x as u8;
    }
    at + width
}

/// [`put_digits`] of a position (at most 3 digits).
#[inline(always)]
fn put_u8(buf: &mut [u8], mut at: usize, x: u8) -> usize {
    if x >= 100 {
        buf[at] = b'0' + x / 100;
        at += 1;
    }
    let d = usize::from(x % 100);
    if x >= 10 {
        buf[at] = DIGIT_PAIRS[2 * d];
        at += 1;
    }
    buf[at] = DIGIT_PAIRS[2 * d + 1];
    at + 1
}

/// "00", "01", … "99": the two digits of each number below 100.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Reads a sparkline written by [`write_recent`] back.
pub fn read_recent(text: &str, taken_at: DateTime<Utc>) -> Result<Vec<PositionPoint>, EventItemError> {
    let bad = || EventItemError(format!("recent: {text:?} is not `{{position}}@{{seconds}} …`"));
    text.split(' ')
        .filter(|t| !t.is_empty())
        .map(|token| {
            let (pos, age) = token.split_once('@').ok_or_else(bad)?;
            let position = match pos {
                "-" => None,
                p => Some(digits(p).and_then(|x| u8::try_from(x).ok()).ok_or_else(bad)?),
            };
            let (negative, age) = match age.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, age),
            };
            let (secs, frac) = match age.split_once('.') {
                Some((s, f)) => (s, Some(f)),
                None => (age, None),
            };
            let secs = digits(secs).and_then(|s| i64::try_from(s).ok()).ok_or_else(bad)?;
            let nanos = match frac {
                None => 0,
                Some(f) if f.len() <= 9 => digits(f).map(|x| x * 10u64.pow(9 - f.len() as u32)).ok_or_else(bad)?,
                Some(_) => return Err(bad()),
            };
            let age = chrono::TimeDelta::new(secs, u32::try_from(nanos).map_err(|_| bad())?).ok_or_else(bad)?;
            let at = if negative { taken_at.checked_add_signed(age) } else { taken_at.checked_sub_signed(age) };
            Ok(PositionPoint { at: at.ok_or_else(bad)?, position })
        })
        .collect()
}

/// A run of ASCII digits as a number (no sign, not empty).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Why an event item does not decode.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EventItemError(String);

/// Every attribute an event item has had: what [`EventItem`] decodes from. The fields that repeat
/// the keys are read from the keys when absent (the stored form leaves them out).
#[derive(Deserialize)]
struct EventItemFields {
    pk: String,
    sk: String,
    #[serde(default)]
    kind: Option<EventKind>,
    #[serde(default)]
    key_kind: Option<String>,
    #[serde(default)]
    n: Option<u8>,
    severity: Severity,
    #[serde(default)]
    site: Option<SiteId>,
    #[serde(default)]
    category: Option<CategoryId>,
    #[serde(default)]
    product: Option<EntryId>,
    product_type: EntryType,
    #[serde(default)]
    taken_at: Option<DateTime<Utc>>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    brand: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    price: Option<f64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    from_position: Option<u8>,
    #[serde(default)]
    to_position: Option<u8>,
    #[serde(default)]
    places: Option<i32>,
    #[serde(default)]
    previous_number_one: Option<EntryId>,
    #[serde(default)]
    reference_price: Option<f64>,
    #[serde(default)]
    price_change_share: Option<f64>,
    #[serde(default)]
    reviews_before: Option<u64>,
    #[serde(default)]
    reviews_after: Option<u64>,
    #[serde(default)]
    reviews_delta: Option<i64>,
    #[serde(default)]
    last_seen_at: Option<DateTime<Utc>>,
    #[serde(default)]
    momentum: Option<f64>,
    #[serde(default)]
    trend: Option<Trend>,
    /// The stored form's sparkline.
    #[serde(default)]
    recent: Option<String>,
    /// The sparkline as written before the stored form (a list of `{at, position}`), and in the
    /// form `Serialize` writes.
    #[serde(default)]
    recent_positions: Option<Vec<PositionPoint>>,
    expires_at: i64,
}

impl TryFrom<EventItemFields> for EventItem {
    type Error = EventItemError;

    fn try_from(f: EventItemFields) -> Result<Self, Self::Error> {
        // `{time}#{key kind}#{product}`, read for the fields that are absent.
        let mut parts = f.sk.splitn(3, '#');
        let (sk_at, sk_kind, sk_product) = (parts.next(), parts.next(), parts.next());
        let bad_sk = || EventItemError(format!("the sort key {:?} is not {{time}}#{{key kind}}#{{product}}", f.sk));
        let key_kind = match f.key_kind {
            Some(k) => k,
            None => sk_kind.ok_or_else(bad_sk)?.to_string(),
        };
        let product = match f.product {
            Some(p) => p,
            None => sk_product.and_then(|p| EntryId::parse(p).ok()).ok_or_else(bad_sk)?,
        };
        let taken_at = match f.taken_at {
            Some(t) => t,
            None => sk_at.and_then(keys::parse_ts).ok_or_else(bad_sk)?,
        };
        let (kind, n) = match f.kind {
            Some(kind) => (kind, f.n),
            None => EventKind::from_key_kind(&key_kind)
                .ok_or_else(|| EventItemError(format!("{key_kind:?} is not the key kind of an event")))?,
        };
        let (site, category) = match (f.site, f.category) {
            (Some(s), Some(c)) => (s, c),
            (site, category) => {
                let (s, c) =
                    f.pk.strip_prefix(keys::EVENT_PREFIX)
                        .and_then(|r| r.split_once('#'))
                        .and_then(|(s, c)| Some((SiteId::parse(s).ok()?, CategoryId::parse(c).ok()?)))
                        .ok_or_else(|| {
                            EventItemError(format!("the partition key {:?} is not EVT#{{site}}#{{category}}", f.pk))
                        })?;
                (site.unwrap_or(s), category.unwrap_or(c))
            }
        };
        let recent_positions = match (f.recent_positions, f.recent) {
            (Some(points), _) => points,
            (None, Some(text)) => read_recent(&text, taken_at)?,
            (None, None) => Vec::new(),
        };
        Ok(EventItem {
            pk: f.pk,
            sk: f.sk,
            kind,
            key_kind,
            n,
            severity: f.severity,
            site,
            category,
            product,
            product_type: f.product_type,
            taken_at,
            title: f.title,
            brand: f.brand,
            permalink: f.permalink,
            price: f.price,
            currency: f.currency,
            from_position: f.from_position,
            to_position: f.to_position,
            places: f.places.or_else(|| places(f.from_position, f.to_position)),
            previous_number_one: f.previous_number_one,
            reference_price: f.reference_price,
            price_change_share: f.price_change_share,
            reviews_before: f.reviews_before,
            reviews_after: f.reviews_after,
            reviews_delta: f.reviews_delta,
            last_seen_at: f.last_seen_at,
            momentum: f.momentum,
            trend: f.trend,
            recent_positions,
            expires_at: f.expires_at,
        })
    }
}

/// A list's latest ranking with its signals: a read model, not a stored item. The ranking is the
/// newest snapshot of the list's `SCORE` item and its signals are computed again from that state
/// when read ([`crate::score_step::read_latest`]; docs/signals.md §7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestItem {
    pub site: SiteId,
    pub category: CategoryId,
    #[serde(serialize_with = "keys::serialize_time")]
    pub taken_at: DateTime<Utc>,
    pub baseline: bool,
    pub products: Vec<ProductSignals>,
    pub signals: CategorySignals,
}

impl LatestItem {
    /// Adds the snapshot's fields (price, currency, reviews, rating, and title, brand and link when
    /// its entries carry them: a stored item does not, see [`crate::names`]) to the products; `s`
    /// should be the snapshot taken at `taken_at`.
    pub fn fill_from(&mut self, s: &Snapshot) {
        for p in &mut self.products {
            if let Some(e) = s.entries.iter().find(|e| e.id == p.id) {
                p.title.clone_from(&e.title);
                p.brand.clone_from(&e.brand);
                p.permalink.clone_from(&e.permalink);
                p.price = e.price;
                p.currency = e.currency.as_deref().map(str::to_string);
                p.reviews_total = e.reviews_total;
                p.rating = e.rating;
            }
        }
    }
}

/// When a product was first and last in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRange {
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// The per-category rank→demand curve `CAL#{site}#{cat}` / `RANKCURVE`, fitted by the Spark job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationItem {
    pub pk: String,
    pub sk: String,
    /// The exponent of `share ∝ position^-b`.
    pub b: f64,
    /// Its standard error.
    pub b_stderr: f64,
    pub fitted_at: DateTime<Utc>,
    /// Observations behind the fit.
    pub n: u64,
}

impl CalibrationItem {
    pub fn new(site: SiteId, cat: &CategoryId, b: f64, b_stderr: f64, fitted_at: DateTime<Utc>, n: u64) -> Self {
        CalibrationItem {
            pk: keys::calibration_pk(site, cat),
            sk: keys::RANKCURVE.to_string(),
            b,
            b_stderr,
            fitted_at,
            n,
        }
    }

    pub fn to_item(&self) -> Result<Item, StoreError> {
        Item::from_typed(&self.pk, &self.sk, self)
    }
}

/// An event that already fired, as read back from its key (for re-arm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredEvent {
    pub at: DateTime<Utc>,
    pub key_kind: String,
    pub product: EntryId,
}

impl FiredEvent {
    /// Parses an event sort key `{ts}#{key_kind}#{product}`.
    pub fn from_sk(sk: &str) -> Option<Self> {
        let mut it = sk.splitn(3, '#');
        let at = keys::parse_ts(it.next()?)?;
        let key_kind = it.next()?.to_string();
        let product = EntryId::parse(it.next()?).ok()?;
        Some(FiredEvent { at, key_kind, product })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Position;
    use crate::snapshot::SnapshotEntry;
    use proptest::prelude::*;

    fn snap(t: &str, ids: &[&str]) -> Snapshot {
        Snapshot {
            site: SiteId::MLB,
            category: CategoryId::parse("MLB1055").unwrap(),
            taken_at: keys::parse_ts(t).unwrap(),
            entries: ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    SnapshotEntry::bare(
                        Position::new(i as i64 + 1).unwrap(),
                        EntryId::parse(id).unwrap(),
                        EntryType::Item,
                    )
                })
                .collect(),
            fetch: Default::default(),
        }
    }

    #[test]
    fn snapshot_item_round_trips_through_an_item() {
        let s = snap("2026-11-01T10:00:00Z", &["MLB1", "MLB2"]);
        let si = SnapshotItem::new(s.clone(), 10);
        let item = si.to_item().unwrap();
        assert_eq!(item.pk, "CAT#MLB#MLB1055");
        assert_eq!(item.sk, "SNAP#2026-11-01T10:00:00Z");
        assert_eq!(item.attrs["expires_at"], serde_json::json!(s.taken_at.timestamp() + 864_000));
        // What the keys say is not stored again.
        let mut names: Vec<&str> = item.attrs.keys().collect();
        names.sort_unstable();
        assert_eq!(names, ["entries", "expires_at", "fetch"]);
        let columns: serde_json::Value = serde_json::from_str(item.attrs["entries"].as_str().unwrap()).unwrap();
        assert_eq!(columns["id"], serde_json::json!([1, 2]), "ids of the item's site are numbers");
        assert!(columns.get("position").is_none(), "positions 1…n are the order of the columns");
        assert!(columns.get("title").is_none(), "a column no entry has is left out");
        assert_eq!(SnapshotItem::from_item(&item).unwrap(), si);
    }

    #[test]
    fn a_snapshot_item_stores_what_its_keys_do_not_give_back() {
        // A time with a fraction of a second: the key has whole seconds.
        let mut s = snap("2026-11-01T10:00:00Z", &["MLB1"]);
        s.taken_at += chrono::Duration::milliseconds(250);
        let si = SnapshotItem::new(s, 10);
        let item = si.to_item().unwrap();
        assert_eq!(item.attrs["taken_at"], "2026-11-01T10:00:00.250Z");
        assert!(!item.attrs.contains_key("site"));
        assert_eq!(SnapshotItem::from_item(&item).unwrap(), si);
        // Keys that are not the snapshot's own (built by hand): every attribute is stored.
        let mut odd = SnapshotItem::new(snap("2026-11-01T10:00:00Z", &["MLB1"]), 10);
        (odd.pk, odd.sk) = ("CAT#MLB#MLB1".into(), "SNAP#2026-11-01T11:00:00Z".into());
        let item = odd.to_item().unwrap();
        assert_eq!(
            (&item.attrs["site"], &item.attrs["category"]),
            (&serde_json::json!("MLB"), &serde_json::json!("MLB1055"))
        );
        assert_eq!(item.attrs["taken_at"], "2026-11-01T10:00:00Z");
        assert_eq!(SnapshotItem::from_item(&item).unwrap(), odd);
        // Keys that say nothing, and no attributes to say it: not a snapshot item.
        let mut bare = SnapshotItem::new(snap("2026-11-01T10:00:00Z", &["MLB1"]), 10).to_item().unwrap();
        bare.pk = "CAT#nope".into();
        assert!(SnapshotItem::from_item(&bare).is_err());
        let mut bare = SnapshotItem::new(snap("2026-11-01T10:00:00Z", &["MLB1"]), 10).to_item().unwrap();
        bare.sk = "SNAP#yesterday".into();
        assert!(SnapshotItem::from_item(&bare).is_err());
    }

    /// A snapshot item as session 5's code wrote it (from the 72 h demo, cut to 3 entries): `site`,
    /// `category` and `taken_at` stored, whole ids, positions, the price range and the seller count.
    const ITEM_BEFORE_1KB: &str = r#"{"pk":"CAT#MLA#MLA1002","sk":"SNAP#2026-11-02T00:00:00Z","expires_at":1809129600,
        "fetch":{"api_calls":36,"duration_ms":17},"site":"MLA","category":"MLA1002","taken_at":"2026-11-02T00:00:00Z",
        "entries":"{\"position\":[1,2,3],\"id\":[\"MLA57892453\",\"MLA22181595\",\"MLAU2798868515\"],\"type\":\"PPU\",\"resolution\":\"RRO\",\"price\":[910069.0,1273559.0,null],\"currency\":\"ARS\",\"price_min\":[910069.0,1273559.0,null],\"price_max\":[1224629.0,1698349.0,null],\"seller_count\":[7,10,null]}"}"#;

    #[test]
    fn a_snapshot_item_written_before_decodes_and_is_written_smaller() {
        let item: Item = serde_json::from_str(ITEM_BEFORE_1KB).unwrap();
        let si = SnapshotItem::from_item(&item).unwrap();
        let s = &si.snapshot;
        assert_eq!((s.site, s.category.as_str()), (SiteId::MLA, "MLA1002"));
        assert_eq!(s.taken_at, keys::parse_ts("2026-11-02T00:00:00Z").unwrap());
        assert_eq!((s.fetch.api_calls, s.fetch.duration_ms, si.expires_at), (36, 17, 1_809_129_600));
        let ids: Vec<&str> = s.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["MLA57892453", "MLA22181595", "MLAU2798868515"]);
        assert_eq!(
            (s.entries[1].price, s.entries[1].price_max, s.entries[1].seller_count),
            (Some(1273559.0), Some(1698349.0), Some(10))
        );
        // Written again: the new form, which reads back all it keeps.
        let again = si.to_item().unwrap();
        assert!(crate::billing::item_size(&again) < crate::billing::item_size(&item));
        let back = SnapshotItem::from_item(&again).unwrap();
        let mut want = si.clone();
        for e in &mut want.snapshot.entries {
            (e.price_min, e.price_max, e.seller_count) = (None, None, None);
        }
        assert_eq!(back, want);
    }

    /// A full list at its largest: 20 resolved entries with 10-digit ids (listings), prices in
    /// the millions with cents, reviews in the hundreds of thousands, ratings, a long category id
    /// and slow-fetch metadata. DynamoDB bills a write per started KB: the snapshot item must stay
    /// one write unit.
    #[test]
    fn a_full_snapshot_item_is_one_write_unit() {
        let ids: Vec<String> = (0..20).map(|i| format!("MLB{}", 9_876_543_210u64 - i * 7_654_321)).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut s = snap("2026-11-29T23:59:59Z", &ids);
        s.category = CategoryId::parse("MLB123456789").unwrap();
        s.fetch = crate::snapshot::FetchMeta { api_calls: 41, duration_ms: 12_345 };
        for (i, e) in s.entries.iter_mut().enumerate() {
            e.resolution = crate::snapshot::EntryResolution::Resolved;
            // A price as the API gives it: a decimal with cents, read into the nearest `f64`.
            e.price = Some((123_456_789 + i as u64 * 111_111) as f64 / 100.0);
            e.currency = Some("BRL".into());
            e.reviews_total = Some(123_456 + i as u64 * 1_000);
            e.rating = Some(4.7);
            (e.title, e.brand, e.permalink) = (Some("x".repeat(60)), Some("Brand".into()), Some("https://x".into()));
            (e.price_min, e.price_max, e.seller_count) = (e.price, e.price.map(|p| p * 1.3), Some(12));
        }
        let item = SnapshotItem::new(s, 180).to_item().unwrap();
        let size = crate::billing::item_size(&item);
        assert!(size <= 1024, "the snapshot item is {size} B: {item:?}");
        assert_eq!(crate::billing::write_units(size), 1);
    }

    fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, nanos).unwrap()
    }

    /// A time from 2000 to 2100, whole seconds most of the time.
    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        let nanos = prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000];
        (946_684_800i64..4_102_444_800, nanos).prop_map(|(s, n)| at(s, n))
    }

    fn float() -> impl Strategy<Value = f64> {
        use proptest::num::f64::{NORMAL, SUBNORMAL, ZERO};
        NORMAL | SUBNORMAL | ZERO
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("\\PC{0,40}")
    }

    /// An event item as the scorer could write it: any values, the fields that repeat the keys
    /// agreeing with them.
    fn event_item() -> impl Strategy<Value = EventItem> {
        let ids = (
            prop::sample::select(vec![SiteId::MLB, SiteId::MLA, SiteId::MLM]),
            1u64..1_000_000_000_000,
            "[0-9A-Z]{1,20}",
            prop::sample::select(EventKind::ALL.to_vec()),
            proptest::option::of(any::<u8>()),
            time(),
            prop::sample::select(vec![Severity::Info, Severity::Notable, Severity::Major]),
            prop::sample::select(vec![EntryType::Item, EntryType::Product, EntryType::UserProduct]),
        );
        let listing = (
            (text(), text(), text(), proptest::option::of(float()), text()),
            proptest::option::of(any::<u8>()),
            proptest::option::of(any::<u8>()),
            proptest::option::of("[0-9]{1,12}"),
        );
        let numbers = (
            proptest::option::of(float()),
            proptest::option::of(float()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<i64>()),
            proptest::option::of(time()),
            proptest::option::of(float()),
            proptest::option::of(prop::sample::select(vec![
                Trend::New,
                Trend::Rising,
                Trend::Stable,
                Trend::Falling,
                Trend::Breakout,
            ])),
        );
        let recent = prop::collection::vec((time(), proptest::option::of(any::<u8>())), 0..14);
        (ids, listing, numbers, recent, any::<i64>()).prop_map(
            |(
                (site, cat, product, kind, n, taken_at, severity, product_type),
                listing,
                numbers,
                recent,
                expires_at,
            )| {
                let category = CategoryId::parse(&format!("{}{cat}", site.as_str())).unwrap();
                let product = EntryId::parse(&format!("{}{product}", site.as_str())).unwrap();
                let n = n.filter(|_| matches!(kind, EventKind::EnteredTopN | EventKind::LeftTopN));
                let key_kind = kind.key_kind(n);
                let ((title, brand, permalink, price, currency), from, to, previous) = listing;
                let (reference_price, share, before, after, delta, last_seen_at, momentum, trend) = numbers;
                EventItem {
                    pk: keys::event_pk(site, &category),
                    sk: keys::event_sk(taken_at, &key_kind, &product),
                    kind,
                    key_kind,
                    n,
                    severity,
                    site,
                    category,
                    product,
                    product_type,
                    taken_at,
                    title,
                    brand,
                    permalink,
                    price,
                    currency,
                    from_position: from,
                    to_position: to,
                    places: places(from, to),
                    previous_number_one: previous.map(|p| EntryId::parse(&format!("{}{p}", site.as_str())).unwrap()),
                    reference_price,
                    price_change_share: share,
                    reviews_before: before,
                    reviews_after: after,
                    reviews_delta: delta,
                    last_seen_at,
                    momentum,
                    trend,
                    recent_positions: recent.into_iter().map(|(at, position)| PositionPoint { at, position }).collect(),
                    expires_at,
                }
            },
        )
    }

    /// An event of the notifier's sample batch (`events/notifier/insert.json`), with a sparkline
    /// that has a gap.
    fn sample_event() -> EventItem {
        let taken_at = keys::parse_ts("2026-11-29T12:00:00Z").unwrap();
        let site = SiteId::MLB;
        let category = CategoryId::parse("MLB1055").unwrap();
        let product = EntryId::parse("MLB19615337").unwrap();
        let key_kind = EventKind::NewNumberOne.key_kind(None);
        EventItem {
            pk: keys::event_pk(site, &category),
            sk: keys::event_sk(taken_at, &key_kind, &product),
            kind: EventKind::NewNumberOne,
            key_kind,
            n: None,
            severity: Severity::Major,
            site,
            category,
            product,
            product_type: EntryType::Product,
            taken_at,
            title: Some("Apple iPhone 15 (128 GB) - Preto".into()),
            brand: Some("Apple".into()),
            permalink: Some("https://www.mercadolivre.com.br/p/MLB19615337".into()),
            price: Some(4599.0),
            currency: Some("BRL".into()),
            from_position: Some(2),
            to_position: Some(1),
            places: Some(1),
            previous_number_one: Some(EntryId::parse("MLB22639473").unwrap()),
            reference_price: None,
            price_change_share: None,
            reviews_before: None,
            reviews_after: None,
            reviews_delta: None,
            last_seen_at: None,
            momentum: Some(14.2),
            trend: Some(Trend::Rising),
            recent_positions: [Some(9), Some(7), None, Some(4), Some(2), Some(1)]
                .into_iter()
                .enumerate()
                .map(|(i, position)| PositionPoint { at: taken_at - chrono::Duration::hours(5 - i as i64), position })
                .collect(),
            expires_at: expiry(taken_at, 90),
        }
    }

    /// What a data engineer sees in the table for one event.
    #[test]
    fn an_event_item_is_stored_lean() {
        let e = sample_event();
        let item = e.to_item().unwrap();
        insta::assert_json_snapshot!("event_item", item);
        assert_eq!(item.attrs["recent"], "9@18000 7@14400 -@10800 4@7200 2@3600 1@0");
        assert_eq!(EventItem::from_item(&item).unwrap(), e);
        // The same event in the form written before: every field, the sparkline as maps.
        let mut old = Item::from_typed(&e.pk, &e.sk, &e).unwrap();
        // Items of that form also carried `day`, the key of a by-day index since dropped.
        old.attrs.insert("day", serde_json::json!("2026-11-29"));
        assert_eq!(
            old.attrs["recent_positions"][2],
            serde_json::json!({"at": "2026-11-29T09:00:00Z", "position": null})
        );
        assert_eq!(EventItem::from_item(&old).unwrap(), e);
        // DynamoDB's size (what it bills per started KB, `crate::billing`): 360 bytes against 688.
        let size = crate::billing::item_size;
        assert_eq!((size(&item), size(&old)), (360, 688));
    }

    #[test]
    fn sparklines_are_written_and_read_back() {
        let t = at(1_796_040_000, 0);
        let points = |v: &[(i64, u32, Option<u8>)]| -> Vec<PositionPoint> {
            v.iter().map(|(s, n, p)| PositionPoint { at: at(1_796_040_000 - s, *n), position: *p }).collect()
        };
        // Sub-second times, and a point after `taken_at`.
        let odd =
            points(&[(7200, 500_000_000, Some(12)), (1, 999_999_999, None), (-90, 0, Some(0)), (0, 7, Some(255))]);
        let text = write_recent(&odd, t);
        assert_eq!(text, "12@7199.5 -@0.000000001 0@-90 255@-0.000000007");
        assert_eq!(read_recent(&text, t).unwrap(), odd);
        assert_eq!(read_recent("", t).unwrap(), []);
        for bad in ["9", "9@", "x@1", "256@0", "1@1.", "1@1.0000000001", "1@+3", "1@--3", "1@9999999999999999999"] {
            assert!(read_recent(bad, t).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn event_items_that_disagree_with_their_keys_are_refused() {
        let e = sample_event();
        let mut wrong: Vec<EventItem> = vec![e.clone(); 7];
        wrong[0].places = Some(3);
        wrong[1].product = EntryId::parse("MLB1").unwrap();
        wrong[2].taken_at += chrono::Duration::hours(1);
        wrong[3].kind = EventKind::Climber;
        wrong[4].n = Some(10);
        wrong[5].category = CategoryId::parse("MLB1000").unwrap();
        wrong[6].site = SiteId::MLA;
        for w in &wrong {
            assert!(matches!(w.to_item(), Err(StoreError::Corrupt(_))), "{w:?}");
        }
        // A time the key cannot carry is stored beside it.
        let mut fine = e.clone();
        fine.taken_at += chrono::Duration::milliseconds(250);
        let item = fine.to_item().unwrap();
        assert_eq!(item.attrs["taken_at"], "2026-11-29T12:00:00.250Z");
        assert_eq!(EventItem::from_item(&item).unwrap(), fine);
        assert!(!e.to_item().unwrap().attrs.contains_key("taken_at"));
    }

    #[test]
    fn positions_are_written_as_format_writes_them() {
        for x in 0..=u8::MAX {
            let mut buf = [b'x'; 8];
            let end = put_u8(&mut buf, 2, x);
            assert_eq!(&buf[2..end], x.to_string().as_bytes(), "{x}");
            assert!(buf[..2].iter().chain(&buf[end..]).all(|b| *b == b'x'), "{x}: wrote outside its digits");
        }
    }

    /// [`write_recent`] as plainly as it can be written, for the property below.
    fn recent_plainly(points: &[PositionPoint], taken_at: DateTime<Utc>) -> String {
        let token = |p: &PositionPoint| {
            let pos = p.position.map_or("-".to_string(), |x| x.to_string());
            let age = taken_at.signed_duration_since(p.at);
            let (secs, nanos) = (age.num_seconds(), age.subsec_nanos());
            let sign = if secs < 0 || nanos < 0 { "-" } else { "" };
            let frac = match nanos.unsigned_abs() {
                0 => String::new(),
                n => format!(".{n:09}").trim_end_matches('0').to_string(),
            };
            format!("{pos}@{sign}{}{frac}", secs.unsigned_abs())
        };
        points.iter().map(token).collect::<Vec<_>>().join(" ")
    }

    proptest! {
        #[test]
        fn sparklines_are_written_as_plainly_and_read_back(
            raw in proptest::collection::vec((-400_000_000i64..400_000_000, 0u32..1_000_000_000, any::<bool>(), any::<Option<u8>>()), 0..30),
            t_nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000],
        ) {
            let t = at(1_796_040_000, t_nanos);
            let points: Vec<PositionPoint> = raw
                .iter()
                .map(|(s, n, whole, position)| PositionPoint { at: at(1_796_040_000 - s, if *whole { 0 } else { *n }), position: *position })
                .collect();
            let text = write_recent(&points, t);
            prop_assert_eq!(&text, &recent_plainly(&points, t));
            prop_assert_eq!(read_recent(&text, t).unwrap(), points);
        }

        #[test]
        fn digits_are_written_as_format_writes_them(x in prop_oneof![any::<u64>(), 0u64..1_000, Just(u64::MAX)]) {
            let mut buf = [b'x'; 24];
            let end = put_digits(&mut buf, 2, x);
            let plain = x.to_string();
            prop_assert_eq!(&buf[2..end], plain.as_bytes());
            prop_assert_eq!((buf[..2].to_vec(), buf[end..].iter().all(|b| *b == b'x')), (b"xx".to_vec(), true));
        }

        /// Hourly points (a list's columns), some a few seconds or a fraction off, across midnight.
        #[test]
        fn hourly_sparklines_are_written_as_plainly(
            start in 1_796_000_000i64..1_796_100_000,
            offs in proptest::collection::vec((0i64..3, 0u32..3, any::<Option<u8>>()), 1..30),
            t_nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000],
        ) {
            let points: Vec<PositionPoint> = offs
                .iter()
                .enumerate()
                .map(|(i, (jitter, frac, position))| PositionPoint {
                    at: at(start + 3_600 * i as i64 + jitter, if *frac == 2 { 500_000_000 } else { 0 }),
                    position: *position,
                })
                .collect();
            let t = at(start + 3_600 * offs.len() as i64, t_nanos);
            let text = write_recent(&points, t);
            prop_assert_eq!(&text, &recent_plainly(&points, t));
            prop_assert_eq!(read_recent(&text, t).unwrap(), points);
        }

        /// Items written one after another with their ages shared, as `plan_writes` does: a
        /// record's items (the same times, other positions, fewer or more points), then another
        /// record's (`taken_at` moved on), points off the hour and long ages among them.
        #[test]
        fn sparklines_sharing_their_ages_are_written_as_plainly(
            lists in proptest::collection::vec(
                (0i64..3, proptest::collection::vec((0u8..4, any::<Option<u8>>()), 0..8)),
                1..8,
            ),
            far_fraction in any::<bool>(),
        ) {
            let mut ages = Ages::default();
            let start = 1_796_000_000;
            for (record, offs) in &lists {
                let t = at(start + 3_600 * (8 + record), 0);
                let points: Vec<PositionPoint> = offs
                    .iter()
                    .enumerate()
                    .map(|(i, (kind, position))| {
                        // On the hour, a few seconds off, a fraction off, and 250,000 years
                        // before (an age of 14 characters, or 24 with a fraction: not kept).
                        let (secs, nanos) = match kind {
                            0 => (start + 3_600 * i as i64, 0),
                            1 => (start + 3_600 * i as i64 + 7, 0),
                            2 => (start + 3_600 * i as i64 - 1, 250_000_000),
                            _ => (start - 8_000_000_000_000, if far_fraction { 1 } else { 0 }),
                        };
                        PositionPoint { at: at(secs, nanos), position: *position }
                    })
                    .collect();
                let text = write_recent_sharing(&points, t, Some(&mut ages));
                prop_assert_eq!(&text, &recent_plainly(&points, t));
            }
        }

        /// Items checked one after another keeping the start of their sort keys, as `plan_writes`
        /// checks them, are refused exactly when each checked alone is: items of one time and of
        /// others (fractions and years past 9999 among them), sort keys right and wrong.
        #[test]
        fn sort_key_starts_kept_refuse_what_after_ts_refuses(
            items in prop::collection::vec((event_item(), any::<bool>(), 0u8..8, any::<bool>()), 1..10),
        ) {
            let mut kept = None;
            let mut record_time = None;
            for (mut e, same_time, damage, far) in items {
                let own = match far {
                    true => at(253_402_300_800 + e.taken_at.timestamp() % 1_000, e.taken_at.timestamp_subsec_nanos()),
                    false => e.taken_at,
                };
                let t = if same_time { *record_time.get_or_insert(own) } else { own };
                let ts = keys::ts(t);
                let right = keys::event_sk(t, &e.key_kind, &e.product);
                e.taken_at = t;
                e.sk = match damage {
                    0 => format!("{}#{}#{}", keys::ts(t + chrono::Duration::seconds(1)), e.key_kind, e.product),
                    1 => right.replacen('#', "x", 1),
                    2 => format!("{ts}#"),
                    3 => ts.clone(),
                    4 => right[..right.len().min(12)].to_string(),
                    _ => right,
                };
                let alone = e.disagreement(None);
                prop_assert_eq!(e.disagreement(Some(&mut kept)), alone, "{}", e.sk);
            }
        }

        #[test]
        fn event_items_survive_the_store(e in event_item()) {
            let item = e.to_item().unwrap();
            prop_assert_eq!(&EventItem::from_item(&item).unwrap(), &e);
            // As the embedded store keeps it (JSON text) and as the notifier reads it (a stream image).
            let text: Item = serde_json::from_str(&serde_json::to_string(&item).unwrap()).unwrap();
            prop_assert_eq!(&EventItem::from_item(&text).unwrap(), &e);
            let change = crate::stream::Change {
                kind: crate::stream::ChangeKind::Insert,
                pk: item.pk.clone(),
                sk: item.sk.clone(),
                new: Some(item.clone()),
                old: None,
                sequence: "1".into(),
            };
            let record = crate::stream::encode(&change, "t", "us-east-1", e.taken_at).unwrap();
            let image = crate::stream::decode(&record).unwrap().new.unwrap();
            prop_assert_eq!(&EventItem::from_item(&image).unwrap(), &e);
            // Items written before (every field, the sparkline as maps) and the `Serialize` form.
            let old = Item::from_typed(&e.pk, &e.sk, &e).unwrap();
            prop_assert_eq!(&EventItem::from_item(&old).unwrap(), &e);
            let json: EventItem = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            prop_assert_eq!(&json, &e);
            // Nothing the keys say is stored again.
            for name in ["kind", "key_kind", "n", "site", "category", "product", "places", "recent_positions"] {
                prop_assert!(!item.attrs.contains_key(name), "{}", name);
            }
        }
    }

    #[test]
    fn fired_event_parses_its_key() {
        let e = FiredEvent::from_sk("2026-11-01T10:00:00Z#entered_top_10#MLB12").unwrap();
        assert_eq!(e.key_kind, "entered_top_10");
        assert_eq!(e.product.as_str(), "MLB12");
        assert!(FiredEvent::from_sk("nope#x#MLB1").is_none());
        assert!(FiredEvent::from_sk("2026-11-01T10:00:00Z#x").is_none());
    }
}

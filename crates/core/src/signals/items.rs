//! The stored items the scorer reads and writes (DESIGN §4), as serde structs. Each one goes in and
//! out of a [`SnapshotStore`](crate::store::SnapshotStore) through [`Item::from_typed`] and
//! [`Item::decode`], so the stores, the stream decoder and the notifier share one definition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CategoryId, EntryId, EntryType, SiteId};
use crate::keys;
use crate::signals::category::CategorySignals;
use crate::signals::events::{EventKind, PositionPoint, Severity};
use crate::signals::product::{ProductSignals, Trend};
use crate::snapshot::Snapshot;
use crate::store::{Item, StoreError};

/// Epoch seconds of a time plus a number of days, for `expires_at`.
pub fn expiry(t: DateTime<Utc>, days: i64) -> i64 {
    t.timestamp().saturating_add(days.saturating_mul(86_400))
}

/// The snapshot item `CAT#{site}#{cat}` / `SNAP#{ts}`: a snapshot with its keys and TTL.
///
/// Stored with its entries as one string attribute, a JSON text of columns
/// ([`crate::snapshot::entries_to_columns`]; docs/decisions.md), and decoded through
/// [`SnapshotItemFields`], the same attributes spelled out (serde's `flatten` buffers the whole item
/// before decoding it again). Items whose entries are a list of maps (written before) still decode.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "SnapshotItemFields")]
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
        let entries = crate::snapshot::entries_to_columns(&s.entries).map_err(S::Error::custom)?;
        let mut m = serializer.serialize_struct("SnapshotItem", 8)?;
        m.serialize_field("pk", &self.pk)?;
        m.serialize_field("sk", &self.sk)?;
        m.serialize_field("site", &s.site)?;
        m.serialize_field("category", &s.category)?;
        m.serialize_field("taken_at", &s.taken_at)?;
        m.serialize_field("entries", &entries)?;
        m.serialize_field("fetch", &s.fetch)?;
        m.serialize_field("expires_at", &self.expires_at)?;
        m.end()
    }
}

/// The attributes of a [`SnapshotItem`], flat (its decoding form).
#[derive(Deserialize)]
struct SnapshotItemFields {
    pk: String,
    sk: String,
    site: crate::ids::SiteId,
    category: CategoryId,
    taken_at: DateTime<Utc>,
    #[serde(deserialize_with = "crate::snapshot::deserialize_stored_entries")]
    entries: Vec<crate::snapshot::SnapshotEntry>,
    #[serde(default)]
    fetch: crate::snapshot::FetchMeta,
    expires_at: i64,
}

impl From<SnapshotItemFields> for SnapshotItem {
    fn from(f: SnapshotItemFields) -> Self {
        SnapshotItem {
            pk: f.pk,
            sk: f.sk,
            snapshot: Snapshot {
                site: f.site,
                category: f.category,
                taken_at: f.taken_at,
                entries: f.entries,
                fetch: f.fetch,
            },
            expires_at: f.expires_at,
        }
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
}

/// An event item `EVT#{site}#{cat}` / `{ts}#{key_kind}#{product}`: everything a notification needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventItem {
    pub pk: String,
    pub sk: String,
    pub kind: EventKind,
    /// The kind as it appears in the key (`entered_top_10` for `entered_top_n` with n = 10).
    pub key_kind: String,
    /// N of the top-N events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u8>,
    pub severity: Severity,
    pub site: SiteId,
    pub category: CategoryId,
    pub product: EntryId,
    pub product_type: EntryType,
    #[serde(serialize_with = "keys::serialize_time")]
    pub taken_at: DateTime<Utc>,
    /// `YYYY-MM-DD` of `taken_at`, for the by-day index.
    pub day: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permalink: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_position: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_position: Option<u8>,
    /// Places moved against the previous list (positive = up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub places: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_number_one: Option<EntryId>,
    /// The rolling minimum a price drop is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_price: Option<f64>,
    /// `price / reference_price − 1` (negative for a drop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_change_share: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews_delta: Option<i64>,
    /// For a re-entry: when the product was last in the list (within the lookback).
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "keys::serialize_opt_time")]
    pub last_seen_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
    /// The last positions of the product, oldest first, for a sparkline.
    #[serde(default)]
    pub recent_positions: Vec<PositionPoint>,
    pub expires_at: i64,
}

impl EventItem {
    pub fn to_item(&self) -> Result<Item, StoreError> {
        Item::from_typed(&self.pk, &self.sk, self)
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
                p.currency.clone_from(&e.currency);
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
        let columns: serde_json::Value = serde_json::from_str(item.attrs["entries"].as_str().unwrap()).unwrap();
        assert_eq!(columns["id"][1], "MLB2");
        assert_eq!(columns["position"], serde_json::json!([1, 2]));
        assert!(columns.get("title").is_none(), "a column no entry has is left out");
        assert_eq!(SnapshotItem::from_item(&item).unwrap(), si);
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

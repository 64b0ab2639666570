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
    d.deserialize_seq(Entries)
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
}

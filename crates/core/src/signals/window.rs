//! The scored snapshot and its history laid out as a grid: one column per snapshot (history first,
//! the scored snapshot last), one row per product of interest (the scored list, then the products of
//! the previous list that left it). Every signal reads this grid; building it is one pass over the
//! entries.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Duration, Utc};

use crate::ids::EntryId;
use crate::signals::config::{SignalConfig, DAY_SECS};
use crate::snapshot::{Snapshot, SnapshotEntry};

pub(crate) struct Window<'a> {
    pub t: DateTime<Utc>,
    /// `H` (ascending) followed by `S`.
    pub cols: Vec<&'a Snapshot>,
    /// Products of `S` (in list order), then products of `P` that are not in `S`.
    pub rows: Vec<&'a EntryId>,
    /// How many of `rows` are in `S`.
    pub n_current: usize,
    /// `cells[row * cols.len() + col]`: the product's entry in that snapshot.
    cells: Vec<Option<&'a SnapshotEntry>>,
}

/// FNV-1a: ids are short strings and the maps are tiny, so a simple hash beats SipHash here (the
/// keys come from our own snapshots; there is no untrusted flooding to resist).
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A hash map keyed by short ids.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

impl<'a> Window<'a> {
    /// Keeps the non-empty history of the same list within `[t − lookback, t)`, sorted, one snapshot
    /// per time.
    pub fn build(current: &'a Snapshot, history: &'a [Snapshot], cfg: &SignalConfig) -> Self {
        let t = current.taken_at;
        let from = t - cfg.lookback();
        let mut cols: Vec<&Snapshot> = history
            .iter()
            .filter(|h| {
                h.taken_at >= from
                    && h.taken_at < t
                    && !h.entries.is_empty()
                    && h.site == current.site
                    && h.category == current.category
            })
            .collect();
        cols.sort_by_key(|h| h.taken_at);
        cols.dedup_by_key(|h| h.taken_at);
        cols.push(current);

        let mut rows: Vec<&EntryId> = current.entries.iter().map(|e| &e.id).collect();
        let n_current = rows.len();
        let mut index: IdMap<&EntryId, usize> = rows.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        if cols.len() >= 2 {
            for e in &cols[cols.len() - 2].entries {
                if !index.contains_key(&e.id) {
                    index.insert(&e.id, rows.len());
                    rows.push(&e.id);
                }
            }
        }
        let width = cols.len();
        let mut cells = vec![None; width * rows.len()];
        for (c, snap) in cols.iter().enumerate() {
            for e in &snap.entries {
                if let Some(&r) = index.get(&e.id) {
                    cells[r * width + c] = Some(e);
                }
            }
        }
        Window { t, cols, rows, n_current, cells }
    }

    pub fn s_col(&self) -> usize {
        self.cols.len() - 1
    }

    /// The previous list's column, if there is one.
    pub fn p_col(&self) -> Option<usize> {
        self.cols.len().checked_sub(2)
    }

    pub fn time(&self, col: usize) -> DateTime<Utc> {
        self.cols[col].taken_at
    }

    /// The product's entry in a snapshot.
    pub fn cell(&self, row: usize, col: usize) -> Option<&'a SnapshotEntry> {
        self.cells[row * self.cols.len() + col]
    }

    pub fn pos(&self, row: usize, col: usize) -> Option<u8> {
        self.cell(row, col).map(|e| e.position.get())
    }

    /// `len(X) + 1`: the position of "not in the list".
    pub fn outside(&self, col: usize) -> u8 {
        u8::try_from(self.cols[col].entries.len() + 1).unwrap_or(u8::MAX)
    }

    /// The history column closest to `t − 24 h`, within the tolerance (ties: the earlier one).
    pub fn r24(&self, cfg: &SignalConfig) -> Option<usize> {
        let target = self.t - Duration::seconds(DAY_SECS);
        let mut best: Option<(usize, i64)> = None;
        for c in 0..self.s_col() {
            let d = (self.time(c) - target).num_seconds().abs();
            if d <= cfg.day_tolerance_secs && best.is_none_or(|(_, bd)| d < bd) {
                best = Some((c, d));
            }
        }
        best.map(|(c, _)| c)
    }

    /// The first column at or after `t − secs`.
    pub fn first_col_since(&self, secs: i64) -> usize {
        let from = self.t - Duration::seconds(secs);
        self.cols.iter().position(|c| c.taken_at >= from).unwrap_or(self.s_col())
    }
}

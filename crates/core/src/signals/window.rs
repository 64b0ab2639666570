//! The scored snapshot and its history laid out as a grid: one column per snapshot (history first,
//! the scored snapshot last), one row per product of interest (the scored list, then the products of
//! the previous list that left it). Every signal reads this grid. The history comes from the
//! scorer state ([`ListState`]), whose products are interned, so building the grid indexes arrays
//! and hashes nothing.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{EntryId, EntryType};
use crate::signals::config::{SignalConfig, DAY_SECS};
use crate::signals::items::SeenRange;
use crate::signals::state::{Cell, Column, ListState, Prepared};
use crate::snapshot::Snapshot;

pub(crate) struct Window<'a> {
    pub t: DateTime<Utc>,
    pub current: &'a Snapshot,
    /// `H` (ascending) followed by `S`.
    pub cols: Vec<&'a Column>,
    /// Product indices: products of `S` (in list order), then products of `P` that are not in `S`.
    rows: Vec<u32>,
    /// How many of `rows` are in `S`.
    pub n_current: usize,
    /// `cells[row * cols.len() + col]`: the product's entry in that snapshot.
    cells: Vec<Option<&'a Cell>>,
    pub state: &'a ListState,
    prepared: &'a Prepared<'a>,
}

const NO_ROW: u32 = u32::MAX;

impl<'a> Window<'a> {
    /// The state's snapshots within `[t − lookback, t)`, then the scored one.
    pub fn build(current: &'a Snapshot, prepared: &'a Prepared<'a>, state: &'a ListState, cfg: &SignalConfig) -> Self {
        let t = current.taken_at;
        let from = t - cfg.lookback();
        let lo = state.cols.partition_point(|c| c.at < from);
        let hi = state.cols.partition_point(|c| c.at < t);
        // The state never holds an empty snapshot (`ListState::absorb` skips them).
        let mut cols: Vec<&Column> = state.cols[lo..hi].iter().collect();
        cols.push(&prepared.col);

        let n_ids = state.ids.len() + prepared.new_ids.len();
        let mut row_of = vec![NO_ROW; n_ids];
        let mut rows: Vec<u32> = Vec::with_capacity(prepared.col.cells.len() + 4);
        for c in &prepared.col.cells {
            row_of[c.id as usize] = rows.len() as u32;
            rows.push(c.id);
        }
        let n_current = rows.len();
        if cols.len() >= 2 {
            for c in &cols[cols.len() - 2].cells {
                if row_of[c.id as usize] == NO_ROW {
                    row_of[c.id as usize] = rows.len() as u32;
                    rows.push(c.id);
                }
            }
        }
        let width = cols.len();
        let mut cells = vec![None; width * rows.len()];
        for (k, col) in cols.iter().enumerate() {
            for cell in &col.cells {
                let r = row_of[cell.id as usize];
                if r != NO_ROW {
                    cells[r as usize * width + k] = Some(cell);
                }
            }
        }
        Window { t, current, cols, rows, n_current, cells, state, prepared }
    }

    pub fn s_col(&self) -> usize {
        self.cols.len() - 1
    }

    /// The previous list's column, if there is one.
    pub fn p_col(&self) -> Option<usize> {
        self.cols.len().checked_sub(2)
    }

    pub fn time(&self, col: usize) -> DateTime<Utc> {
        self.cols[col].at
    }

    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }

    /// The product of a row.
    pub fn id(&self, row: usize) -> &'a EntryId {
        self.id_of(self.rows[row])
    }

    /// The product of an index of the state (or of the scored snapshot's new products).
    pub fn id_of(&self, idx: u32) -> &'a EntryId {
        let i = idx as usize;
        match self.state.ids.get(i) {
            Some(id) => id,
            None => self.prepared.new_ids[i - self.state.ids.len()].0,
        }
    }

    pub fn kind(&self, row: usize) -> EntryType {
        let i = self.rows[row] as usize;
        match self.state.kinds.get(i) {
            Some(k) => *k,
            None => self.prepared.new_ids[i - self.state.ids.len()].1,
        }
    }

    /// A currency of a cell, by index.
    pub fn currency(&self, cur: u16) -> Option<&'a str> {
        let i = usize::from(cur);
        match self.state.currencies.get(i) {
            Some(c) => Some(c.as_str()),
            None => self.prepared.new_currencies.get(i - self.state.currencies.len()).copied(),
        }
    }

    /// The stored seen range of a row's product (None for a product the state has never seen).
    pub fn seen(&self, row: usize) -> Option<&'a SeenRange> {
        self.state.seen_of(self.rows[row])
    }

    /// The product's entry in a snapshot.
    pub fn cell(&self, row: usize, col: usize) -> Option<&'a Cell> {
        self.cells[row * self.cols.len() + col]
    }

    pub fn pos(&self, row: usize, col: usize) -> Option<u8> {
        self.cell(row, col).map(|e| e.pos)
    }

    /// How many entries a snapshot has.
    pub fn len(&self, col: usize) -> usize {
        self.cols[col].cells.len()
    }

    /// `len(X) + 1`: the position of "not in the list".
    pub fn outside(&self, col: usize) -> u8 {
        u8::try_from(self.len(col) + 1).unwrap_or(u8::MAX)
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
        self.cols.iter().position(|c| c.at >= from).unwrap_or(self.s_col())
    }
}

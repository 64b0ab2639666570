//! The scored snapshot and its history laid out as a grid: one column per snapshot (history first,
//! the scored snapshot last), one row per product of interest (the scored list, then the products of
//! the previous list that left it). Every signal reads this grid. The history comes from the
//! scorer state ([`ListState`]), whose products are interned, so building the grid indexes arrays
//! and hashes nothing.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{EntryId, EntryType};
use crate::signals::category::volatility_cols;
use crate::signals::config::{SignalConfig, DAY_SECS};
use crate::signals::items::SeenRange;
use crate::signals::state::{Cell, Column, Dwell, ListState, Prepared};
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
    /// The state's column tables, held for the window's life: most rows are read where the tables
    /// keep them (see [`Window::slots`]).
    tab: TabRef<'a>,
    /// Per row: where its slots are, one per column (a short contiguous slice, which the signals
    /// walk column by column): at that offset of the tables' slots, or with [`LOCAL`] set, of
    /// `grid`.
    place: Vec<usize>,
    /// The rows that are not read in place: zeros for the history of a product the tables have no
    /// row for, or every row when `S` is not after every column of the state (a late snapshot).
    grid: Vec<Slot>,
    /// The row of each product index, or `NO_ROW`.
    row_of: Vec<u32>,
    /// The state's index of the first column (the tables' `dense` and `meta` are read from there
    /// on).
    lo: usize,
    /// Whether `S`'s cells are at positions `1, 2, …, len` in that order (see [`Window::dense`]).
    s_dense: bool,
    /// Per column: `(t − at).num_seconds()` when both are whole seconds (see [`Window::age_secs`]).
    ages: Vec<Option<i64>>,
    /// Whether every column's age is known: the ages then fall strictly along the columns (their
    /// times rise), which [`Window::first_col_since`] and [`Window::r24`] search.
    whole: bool,
    /// Per row of `S`: the product's lowest valid price in its currency in `S` over the price window
    /// (+∞ when there is none; see [`Window::price_min`]).
    price_min: Vec<f64>,
    pub state: &'a ListState,
    prepared: &'a Prepared<'a>,
    /// The momentum window's first column, weights and their sum (see [`Window::momentum`]).
    momentum_from: usize,
    weights: Weights,
    /// `S`'s slots by row, while the window was built (room only, given back with the others).
    s_slots: Vec<Slot>,
}

/// The momentum weights of a window, kept by the thread for the next window: a list scored every
/// hour has the same columns' ages from one record to the next (and lists scored at the same times
/// have the same ones), and so the same weights, bit for bit (each is `exp(−age/τ)` of its age,
/// summed in order).
#[derive(Default)]
pub(crate) struct Weights {
    /// The `τ` and columns' ages they are for (None: not to be kept, an age unknown).
    key: Option<(i64, Vec<i64>)>,
    weights: Vec<f64>,
    den: f64,
    /// Whether the weights were computed for the last window (not kept from an earlier one).
    fresh: bool,
    /// Their terms ([`Window::keep_terms`]), boxed: the scratch the thread keeps is moved twice a
    /// record, and held inline they made it longer than 256 bytes, which `memcpy` copies slower
    /// (~110 instructions a record more).
    terms: Option<Box<Terms>>,
}

/// `weights[c] × points[b]` for each column `c` of the weights and each low byte `b` of a dense
/// window's slots (each row padded past 256 so that the rows fall on different cache sets), for the
/// points of `base` ([`Window::keep_terms`]); None: not built for the weights held.
#[derive(Default)]
struct Terms {
    base: Option<u8>,
    rows: Vec<[f64; TERMS_ROW]>,
}

/// The length of a row of [`Weights::terms`]: the 256 low bytes and one cache line of padding.
pub(crate) const TERMS_ROW: usize = 264;

impl Weights {
    /// The weights of the columns `from..=s` of `cols` (`ages`: theirs, known or not) for `τ`:
    /// kept when the ages (all known) and `τ` are those of the weights held, else computed.
    fn update(&mut self, cols: &[&Column], ages: &[Option<i64>], from: usize, t: DateTime<Utc>, tau_secs: i64) {
        let ages_from = ages.get(from..).unwrap_or_default();
        let same = |(tau, k): &(i64, Vec<i64>)| {
            *tau == tau_secs && k.len() == ages_from.len() && k.iter().zip(ages_from).all(|(k, a)| *a == Some(*k))
        };
        if self.key.as_ref().is_some_and(same) {
            self.fresh = false;
        } else {
            self.compute(cols, ages, from, t, tau_secs);
        }
    }

    /// [`Weights::update`] when the weights held are not for these ages (out of line: the usual
    /// record keeps them).
    #[inline(never)]
    fn compute(&mut self, cols: &[&Column], ages: &[Option<i64>], from: usize, t: DateTime<Utc>, tau_secs: i64) {
        let ages_from = ages.get(from..).unwrap_or_default();
        let age = |c: usize| ages[c].unwrap_or_else(|| (t - cols[c].at).num_seconds());
        let s = cols.len() - 1;
        self.den = crate::signals::product::decay_weights((from..=s).map(age), tau_secs, &mut self.weights);
        let mut key = self.key.take().map(|(_, k)| k).unwrap_or_default();
        key.clear();
        // At its size (`map_while` does not know it: the key grew by doubling, a record at a time
        // when the tables are new, as on the cold path).
        key.reserve(ages_from.len());
        key.extend(ages_from.iter().map_while(|a| *a));
        self.key = (key.len() == ages_from.len()).then_some((tau_secs, key));
        self.fresh = true;
        if let Some(terms) = &mut self.terms {
            terms.base = None;
        }
    }

    /// Builds [`Weights::terms`] for `points` (the dense points of `base`).
    #[inline(never)]
    fn build_terms(&mut self, points: &[f64; 256], base: u8) {
        let terms = self.terms.get_or_insert_with(Box::default);
        // Written in place: rows built and pushed were copied (~78k instructions a build, ~23k so).
        terms.rows.resize(self.weights.len(), [0.0; TERMS_ROW]);
        for (row, w) in terms.rows.iter_mut().zip(&self.weights) {
            for (x, p) in row.iter_mut().zip(points) {
                *x = w * p;
            }
        }
        terms.base = Some(base);
    }
}

/// `a − b`, from the timestamps when both times are whole seconds (every time the scorer stores
/// is; chrono's subtraction works through dates and was a visible cost per product).
pub(crate) fn delta(a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
    if a.timestamp_subsec_nanos() == 0 && b.timestamp_subsec_nanos() == 0 {
        if let Some(d) = Duration::try_seconds(a.timestamp() - b.timestamp()) {
            return d;
        }
    }
    a - b
}

/// A time's timestamp when it is a whole second (every time the scorer stores is).
fn whole_secs(t: DateTime<Utc>) -> Option<i64> {
    Some(t.timestamp()).filter(|_| t.timestamp_subsec_nanos() == 0)
}

/// `(a − b).num_seconds()`: the timestamps' difference when both times are whole seconds (see
/// [`delta`]; two timestamps of chrono's range subtract without overflow).
#[inline]
pub(crate) fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
    if a.timestamp_subsec_nanos() == 0 && b.timestamp_subsec_nanos() == 0 {
        return a.timestamp() - b.timestamp();
    }
    (a - b).num_seconds()
}

/// A product's entry in one column of the grid: 0 when it is not in that snapshot, else
/// `(index of its cell in the column + 1) << 8 | position`. Two bytes: the column tables, which a
/// state holds and every record walks, are half the cache lines they were with four. A column has
/// at most `Position::MAX` (100) cells (a normalized snapshot; a state's decoder refuses more), so
/// the index fits; past a column's 255th cell (a list scored without being normalized) the slot
/// keeps only the position: its cell reads as absent ([`slot_index`] None), its position does not.
pub(crate) type Slot = u16;

/// The slot of the cell at index `i` of a column.
fn slot(i: usize, pos: u8) -> Slot {
    match u8::try_from(i + 1) {
        Ok(k) => Slot::from(k) << 8 | Slot::from(pos),
        Err(_) => Slot::from(pos),
    }
}

/// The position of a slot (None: not in that snapshot).
pub(crate) fn slot_pos(v: Slot) -> Option<u8> {
    if v == 0 {
        None
    } else {
        Some(v as u8)
    }
}

/// The index of a slot's cell in its column (None: not in that snapshot).
pub(crate) fn slot_index(v: Slot) -> Option<usize> {
    (v >> 8).checked_sub(1).map(|i| i as usize)
}

const NO_ROW: u32 = u32::MAX;

/// The bit of a row's place that says it is in the window's own `grid` (see [`Window::slots`]).
const LOCAL: usize = 1 << (usize::BITS - 1);

impl<'a> Window<'a> {
    /// The state's snapshots within `[t − lookback, t)`, then the scored one. Not inlined into
    /// `score_keeping`: the events' loop then lost its own inlining (+3.5k instructions a record).
    #[inline(never)]
    pub fn build(current: &'a Snapshot, prepared: &'a Prepared<'a>, state: &'a ListState, cfg: &SignalConfig) -> Self {
        let t = current.taken_at;
        let from = t - cfg.lookback();
        let lo = state.cols.partition_point(|c| c.at < from);
        let hi = state.cols.partition_point(|c| c.at < t);
        // The state never holds an empty snapshot (`ListState::absorb` skips them).
        let mut cols: Vec<&Column> = Vec::with_capacity(hi - lo + 1);
        cols.extend(&state.cols[lo..hi]);
        cols.push(&prepared.col);

        let mut tab = state.tables().lock(state);
        // The window's vectors, kept by the thread from one window to the next, whatever its list
        // (given back when the window is dropped): building them allocated nine times a record,
        // and kept with each list's tables they were cold at every record of a list.
        let mut sc = SCRATCH.take();
        let n_ids = state.ids.len() + prepared.new_ids.len();
        let mut row_of = std::mem::take(&mut sc.row_of);
        row_of.clear();
        row_of.resize(n_ids, NO_ROW);
        let mut rows = std::mem::take(&mut sc.rows);
        rows.clear();
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
        let s = width - 1;
        // `S`'s slots, by row.
        let mut s_slots = std::mem::take(&mut sc.s_slots);
        s_slots.clear();
        s_slots.resize(rows.len(), 0);
        let mut in_order = true;
        for (i, cell) in prepared.col.cells.iter().enumerate() {
            in_order &= usize::from(cell.pos) == i + 1;
            let r = row_of[cell.id as usize];
            if r != NO_ROW {
                s_slots[r as usize] = slot(i, cell.pos);
            }
        }
        // Whole-second times (all the scorer stores) subtract as timestamps.
        let t_secs = whole_secs(t);
        // The columns' ages, from their timestamps kept in the tables.
        let mut ages = std::mem::take(&mut sc.ages);
        ages.clear();
        let mut whole = t_secs.is_some();
        for m in &tab.meta[lo..hi] {
            let age = t_secs.zip(m.whole_secs()).map(|(t, c)| t - c);
            whole &= age.is_some();
            ages.push(age);
        }
        ages.push(t_secs.map(|_| 0));
        let price_from = first_since(&cols, &ages, whole, t, cfg.price_window_secs);
        let momentum_from = first_since(&cols, &ages, whole, t, cfg.momentum_window_secs);
        let mut weights = std::mem::take(&mut sc.weights);
        weights.update(&cols, &ages, momentum_from, t, cfg.momentum_tau_secs);
        // The rows of the history's slots are read where the tables keep them, `S`'s slots written
        // where the tables' next column will go, when `S` comes after every column of the state
        // (the usual record); else, and for the products the tables have no row for, copied. And
        // the price minimum of each row of `S` over the price window, in its currency in `S`.
        let in_place = hi == state.cols.len() && tab.make_room();
        let (cap, first) = (tab.cap, tab.place(lo));
        let mut place = std::mem::take(&mut sc.place);
        place.clear();
        let mut grid = std::mem::take(&mut sc.grid);
        grid.clear();
        let mut price_min = std::mem::take(&mut sc.price_min);
        price_min.clear();
        price_min.resize(n_current, f64::INFINITY);
        let from = price_from.min(s);
        for (r, &id) in rows.iter().enumerate() {
            // A product is in a column's table at most once, with its last cell (a list read
            // from elsewhere may repeat one; the grid gives its row, `row_of`, that cell).
            let own = row_of[id as usize] == r as u32;
            let held = tab.held(id, lo..hi).filter(|_| own);
            match &held {
                Some(h) if in_place => {
                    let at = h.row * cap + first;
                    tab.slots[at + s] = s_slots[r];
                    place.push(at);
                }
                _ => {
                    // Not `vec![0; n]`: mimalloc's zeroed allocation clears a byte at a time.
                    let at = grid.len();
                    grid.resize(at + width, 0);
                    if let Some(h) = &held {
                        let from = h.row * cap + first;
                        grid[at..at + s].copy_from_slice(&tab.slots[from..from + s]);
                    }
                    grid[at + s] = s_slots[r];
                    place.push(at | LOCAL);
                }
            }
            let Some(held) = held else { continue };
            let cur = slot_index(s_slots[r]).and_then(|i| prepared.col.cells.get(i)).map(|c| c.cur);
            if let Some((min, cur)) = price_min.get_mut(r).zip(cur) {
                *min = tab.price_min(&held, cur, lo + from, &state.cols);
            }
        }
        Window {
            t,
            current,
            cols,
            rows,
            n_current,
            tab,
            place,
            grid,
            row_of,
            lo,
            s_dense: in_order,
            ages,
            whole,
            price_min,
            state,
            prepared,
            momentum_from,
            weights,
            s_slots,
        }
    }

    /// The first column of the momentum window, `exp(−age/τ)` of each of its columns (to `S`) and
    /// their sum: those of the last window the thread built, of this list or another, when the
    /// columns' ages and `τ` are the same (the same values, bit for bit), else computed.
    pub fn momentum(&self) -> (usize, &[f64], f64) {
        (self.momentum_from, &self.weights.weights, self.weights.den)
    }

    /// Whether [`Window::terms`] holds each momentum weight times each of `points` (the dense
    /// points of `base`: `points[0]` is 0), which it builds when the weights were kept from an
    /// earlier window (a list scored every hour keeps them: 13 builds in the bench's 20,000
    /// records) and are not built yet. Weights computed for this window are used as they are: a
    /// build costs ~23k instructions, the momentum off the table ~1.2k instructions a record less.
    pub fn keep_terms(&mut self, points: &[f64; 256], base: u8) -> bool {
        let w = &mut self.weights;
        if w.fresh {
            return false;
        }
        if !w.terms.as_ref().is_some_and(|t| t.base == Some(base) && t.rows.len() == w.weights.len()) {
            w.build_terms(points, base);
        }
        true
    }

    /// The momentum terms [`Window::keep_terms`] built, one row a column of the momentum window.
    pub fn terms(&self) -> &[[f64; TERMS_ROW]] {
        self.weights.terms.as_ref().map_or(&[], |t| &t.rows)
    }

    /// The lowest valid price (finite, positive) of the product of row `row` of `S`, in the same
    /// currency as its cell in `S`, over the snapshots of `H` at or after `t − price_window` (None
    /// when there is none); read off the state's tables.
    pub fn price_min(&self, row: usize) -> Option<f64> {
        self.price_min.get(row).copied().filter(|m| *m < f64::INFINITY)
    }

    /// The volatility of the history columns `c − 1` and `c` (`c ≥ 1`, `c` not the scored one), as
    /// [`crate::signals::category`] computes it (kept from one record to the next).
    pub fn volatility_prev(&self, c: usize) -> Option<f64> {
        self.tab.meta.get(self.lo + c).map(|m| m.vol_prev).filter(|_| c >= 1 && c < self.s_col())
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
        self.slot_cell(col, self.slots(row)[col])
    }

    /// The cell a slot of column `col` points to.
    pub fn slot_cell(&self, col: usize, v: Slot) -> Option<&'a Cell> {
        let cols: &[&'a Column] = &self.cols;
        slot_index(v).and_then(|i| cols[col].cells.get(i))
    }

    /// The dwell runs of the cell a slot of column `col` points to (None: the column has none).
    pub fn slot_dwell(&self, col: usize, v: Slot) -> Option<&'a Dwell> {
        let cols: &[&'a Column] = &self.cols;
        slot_index(v).and_then(|i| cols[col].dwell.get(i))
    }

    pub fn pos(&self, row: usize, col: usize) -> Option<u8> {
        slot_pos(self.slots(row)[col])
    }

    /// A row's slots, one per column: in the tables' row of its product (their columns `lo..hi`
    /// then `S`'s, written where their next column goes), or in the window's own `grid`.
    #[inline]
    pub fn slots(&self, row: usize) -> &[Slot] {
        let width = self.cols.len();
        let at = self.place[row];
        if at & LOCAL == 0 {
            &self.tab.slots[at..at + width]
        } else {
            let at = at & !LOCAL;
            &self.grid[at..at + width]
        }
    }

    /// Whether the row is read where the tables keep it.
    #[cfg(test)]
    fn in_place(&self, row: usize) -> bool {
        self.place[row] & LOCAL == 0
    }

    /// Whether a column's cells are at positions `1, 2, …, len` in that order.
    pub fn dense(&self, col: usize) -> bool {
        if col < self.s_col() {
            self.tab.dense[self.lo + col]
        } else {
            self.s_dense
        }
    }

    /// Whether every column from `from` on (`S` included) is dense ([`Window::dense`] of each).
    pub fn dense_from(&self, from: usize) -> bool {
        let s = self.s_col();
        self.s_dense && self.tab.dense[self.lo + from.min(s)..self.lo + s].iter().all(|d| *d)
    }

    /// The row of a product index (None when the product is in neither `S` nor `P`).
    pub fn row_of(&self, idx: u32) -> Option<usize> {
        self.row_of.get(idx as usize).copied().filter(|r| *r != NO_ROW).map(|r| r as usize)
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
    /// When every age is known, the closest is one of the two columns either side of the day
    /// ([`Window::r24_of_ages`]); else (and in the tests) every column is compared.
    pub fn r24(&self, cfg: &SignalConfig) -> Option<usize> {
        if self.whole {
            return self.r24_of_ages(cfg);
        }
        self.r24_compared(cfg)
    }

    /// [`Window::r24`] when the ages of the history columns are known and fall strictly: the
    /// distance to the day, `|day − age|`, falls to the last column older than a day and rises from
    /// the next, so the closest is one of those two (the older on a tie, as comparing each in
    /// order finds).
    fn r24_of_ages(&self, cfg: &SignalConfig) -> Option<usize> {
        let hist = &self.ages[..self.s_col()];
        let k = hist.partition_point(|a| a.is_some_and(|a| a > DAY_SECS));
        let d = |c: usize| hist.get(c).copied().flatten().map(|age| (DAY_SECS - age).abs());
        let best = match (k.checked_sub(1).and_then(|c| Some((c, d(c)?))), d(k)) {
            (Some((_, db)), Some(da)) if da < db => Some((k, da)),
            (Some(b), _) => Some(b),
            (None, Some(da)) => Some((k, da)),
            (None, None) => None,
        };
        best.filter(|(_, d)| *d <= cfg.day_tolerance_secs).map(|(c, _)| c)
    }

    /// [`Window::r24`], every history column compared in order.
    fn r24_compared(&self, cfg: &SignalConfig) -> Option<usize> {
        let target = self.t - Duration::seconds(DAY_SECS);
        let mut best: Option<(usize, i64)> = None;
        for c in 0..self.s_col() {
            // `at − (t − 1 day)` is `1 day − (t − at)`.
            let d = match self.ages[c] {
                Some(age) => (DAY_SECS - age).abs(),
                None => secs_between(self.time(c), target).abs(),
            };
            if d <= cfg.day_tolerance_secs && best.is_none_or(|(_, bd)| d < bd) {
                best = Some((c, d));
            }
        }
        best.map(|(c, _)| c)
    }

    /// `(t − at).num_seconds()` of a column.
    #[cfg(test)]
    pub fn age_secs(&self, col: usize) -> i64 {
        self.ages[col].unwrap_or_else(|| (self.t - self.time(col)).num_seconds())
    }

    /// The first column at or after `t − secs`.
    pub fn first_col_since(&self, secs: i64) -> usize {
        first_since(&self.cols, &self.ages, self.whole, self.t, secs)
    }
}

impl Drop for Window<'_> {
    /// Gives the window's vectors back to the thread, for the next window.
    fn drop(&mut self) {
        SCRATCH.set(Scratch {
            rows: std::mem::take(&mut self.rows),
            row_of: std::mem::take(&mut self.row_of),
            place: std::mem::take(&mut self.place),
            grid: std::mem::take(&mut self.grid),
            ages: std::mem::take(&mut self.ages),
            price_min: std::mem::take(&mut self.price_min),
            s_slots: std::mem::take(&mut self.s_slots),
            weights: std::mem::take(&mut self.weights),
        });
    }
}

thread_local! {
    /// The vectors of the last window the thread dropped (empty while a window holds them: a
    /// window built meanwhile on the same thread makes its own).
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// A window's vectors between windows (see [`Window::build`]): their contents are stale, only their
/// room is kept (and the momentum weights, with what they are for).
#[derive(Default)]
pub(crate) struct Scratch {
    rows: Vec<u32>,
    row_of: Vec<u32>,
    place: Vec<usize>,
    grid: Vec<Slot>,
    ages: Vec<Option<i64>>,
    price_min: Vec<f64>,
    s_slots: Vec<Slot>,
    /// Not only room: the last window's momentum weights, with what they are for.
    weights: Weights,
}

/// The first of `cols` at or after `t − secs` (the last, the scored one, when none is), found among
/// the columns' ages when every one is known (`at ≥ t − secs` is `t − at ≤ secs`, exactly, and the
/// ages fall along the columns: a binary search of integers instead of a subtraction of times and
/// a walk comparing them), else by [`first_col_at_or_after`].
fn first_since(cols: &[&Column], ages: &[Option<i64>], whole: bool, t: DateTime<Utc>, secs: i64) -> usize {
    if whole {
        let i = ages.partition_point(|a| a.is_some_and(|a| a > secs));
        return i.min(cols.len().saturating_sub(1));
    }
    first_col_at_or_after(cols, t - Duration::seconds(secs))
}

/// The first of `cols` at or after `from`; the last (the scored one) when none is.
fn first_col_at_or_after(cols: &[&Column], from: DateTime<Utc>) -> usize {
    cols.iter().position(|c| c.at >= from).unwrap_or(cols.len().saturating_sub(1))
}

/// What the grid reads from the state's columns, computed once per column and kept with the state
/// from one record to the next: a column's slot of each of its products (one row per product of the
/// columns held, found by product index), each row's lowest price and where it is, whether a column's
/// cells are dense, and its volatility against the column before it. A state held between records
/// gains a column and loses its oldest per record; building the grid then gathers the rows from
/// these tables instead of scattering every cell of every column again, and the category signals
/// read the volatilities of the day's pairs instead of comparing the columns again.
///
/// The tables follow the state by itself ([`Tables::sync`]): columns that left its front are dropped
/// (and the rows of products in none of the others freed), new ones at its end are added, a new
/// product renumbering every cell (which grows `ids`) finds the rows again by their slots, and
/// anything else (a late snapshot merged between columns) lays them out again. A column is known by
/// its time and number of cells: its cells do not change while it is in the state, but for that
/// renumbering.
/// Not part of the state: equal states may hold different tables, a clone starts without any.
#[derive(Default)]
pub(crate) struct ColumnTables(std::sync::Mutex<Tables>);

impl Clone for ColumnTables {
    fn clone(&self) -> Self {
        ColumnTables::default()
    }
}

impl PartialEq for ColumnTables {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ColumnTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("column tables")
    }
}

/// The tables a window reads: the state's, locked, or, when another window holds them (two records
/// of the same list scored at once), tables built for this one.
pub(crate) enum TabRef<'a> {
    Locked(std::sync::MutexGuard<'a, Tables>),
    Own(Box<Tables>),
}

impl std::ops::Deref for TabRef<'_> {
    type Target = Tables;
    fn deref(&self) -> &Tables {
        match self {
            TabRef::Locked(t) => t,
            TabRef::Own(t) => t,
        }
    }
}

impl std::ops::DerefMut for TabRef<'_> {
    fn deref_mut(&mut self) -> &mut Tables {
        match self {
            TabRef::Locked(t) => t,
            TabRef::Own(t) => t,
        }
    }
}

impl ColumnTables {
    /// The tables brought up to date with `state`, held until dropped.
    pub fn lock(&self, state: &ListState) -> TabRef<'_> {
        use std::sync::TryLockError;
        let mut tab = match self.0.try_lock() {
            Ok(tab) => TabRef::Locked(tab),
            Err(TryLockError::Poisoned(p)) => {
                // A panic left them half updated: start again.
                let mut tab = p.into_inner();
                *tab = Tables::default();
                TabRef::Locked(tab)
            }
            Err(TryLockError::WouldBlock) => TabRef::Own(Box::default()),
        };
        tab.sync(state);
        tab
    }

    /// The bytes the tables hold (for [`ListState::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        self.0.try_lock().map_or(0, |t| {
            use std::mem::size_of;
            t.slots.capacity() * size_of::<Slot>()
                + t.row_of.capacity() * size_of::<u32>()
                + t.rows.capacity() * size_of::<Row>()
                + t.free.capacity() * size_of::<u32>()
                + t.meta.capacity() * size_of::<ColMeta>()
                + t.dense.capacity()
        })
    }
}

/// See [`ColumnTables`]: one entry per column of the state, in its order, and one row per product
/// that is in any of them.
#[derive(Default)]
pub(crate) struct Tables {
    /// The number of products (`ids.len()`) the row map was made for.
    n: usize,
    /// Per column: its time, number of cells and volatility (see [`ColMeta`]).
    meta: Vec<ColMeta>,
    /// The number of the first column held (`meta[0]`). Columns are numbered from the last layout
    /// on, so a column keeps its number while it is held; its cells are at `number − origin` in
    /// every row.
    base: u32,
    /// The number of the column at the start of every row (at most `base`): when the next column
    /// would not fit, the held columns are moved to the rows' start ([`Tables::make_room`]), so a
    /// row's columns are one slice, which a window reads in place.
    origin: u32,
    /// Cells per row: more than columns held (a window writes `S`'s slots after them).
    cap: usize,
    /// Per product index: its row (`NO_ROW`: the product is in none of the columns held).
    row_of: Vec<u32>,
    /// Per row: whose it is, which of its cells hold columns, its price minimum (see [`Row`]).
    rows: Vec<Row>,
    /// Rows whose product left every column held, for the next product that needs one.
    free: Vec<u32>,
    /// `slots[row * cap + number − origin]`: the row's product's slot in that column (its last cell
    /// there), 0 when absent, in every row and every column held (a new column clears its cell in
    /// every row, so a free row's cells are 0). Past the columns held: stale, or the slots of the
    /// scored snapshot a window wrote there.
    slots: Vec<Slot>,
    /// Per column: whether its cells are at positions `1, 2, …, len` in that order.
    dense: Vec<bool>,
}

/// What [`Tables`] keep of a column besides its slots: 24 bytes, where its time, timestamp, number
/// of cells and volatility in vectors of their own were 56 (a state's tables are cold at each of
/// its records, and every record reads these of every column held: fewer cache lines).
#[derive(Clone, Copy)]
struct ColMeta {
    /// Its time: the timestamp and nanoseconds (with `len`, it is known by them).
    secs: i64,
    /// Its volatility against the column before it (NaN for the first).
    vol_prev: f64,
    nanos: u32,
    /// Its number of cells (`u32::MAX` for more).
    len: u32,
}

impl ColMeta {
    fn of(col: &Column, vol_prev: f64) -> Self {
        let (secs, nanos) = (col.at.timestamp(), col.at.timestamp_subsec_nanos());
        ColMeta { secs, vol_prev, nanos, len: u32::try_from(col.cells.len()).unwrap_or(u32::MAX) }
    }

    /// Whether it is the column `col` (its time, as [`time_key`] gives it, and number of cells).
    fn is(&self, col: &Column, at: (i64, u32)) -> bool {
        let len = u32::try_from(col.cells.len()).unwrap_or(u32::MAX);
        self.time() == at && self.len == len
    }

    /// Its time as [`time_key`] gives it.
    fn time(&self) -> (i64, u32) {
        (self.secs, self.nanos)
    }

    /// Its time's timestamp when it is a whole second (the grid's ages subtract them).
    fn whole_secs(&self) -> Option<i64> {
        Some(self.secs).filter(|_| self.nanos == 0)
    }
}

/// A time as its timestamp and nanoseconds, which order as the times do.
fn time_key(t: DateTime<Utc>) -> (i64, u32) {
    (t.timestamp(), t.timestamp_subsec_nanos())
}

/// A row of [`Tables`]: its cells of the columns held hold the product's slot in each (0 where it
/// is absent); it is absent from the columns held before `first` and after `last`.
#[derive(Clone, Copy)]
struct Row {
    /// The product index (`NO_ROW`: a free row).
    id: u32,
    first: u32,
    last: u32,
    /// The currency of the product's first cell in the row; `mixed`: a valid price in another
    /// currency since (its minimums are then always read off the columns' cells).
    cur: u16,
    mixed: bool,
    /// The lowest valid price in `cur` of the product's cells in the columns `min_from..=last`
    /// (+∞: none), and the last of those columns where it is (`u32::MAX` for `min_from`: not known).
    /// A new column lowers it or not; the minimum over a later start is the same while its column
    /// is at or after that start, and is read off the cells again when it is not.
    min: f64,
    min_at: u32,
    min_from: u32,
}

/// The room a row gets past the columns held when the tables are laid out again (that many more
/// columns may be held before the next layout, and about as many added before the held ones are
/// moved to the rows' start).
const SLACK: usize = 6;

impl Tables {
    /// Brings the tables up to date with the state's columns.
    fn sync(&mut self, state: &ListState) {
        // Columns that left the state's front, and the rows of products in none of those left.
        let first = state.cols.first().map(|c| time_key(c.at));
        let gone = self.meta.iter().take_while(|m| first.is_none_or(|f| m.time() < f)).count();
        if gone > 0 {
            self.meta.drain(..gone);
            self.dense.drain(..gone);
            self.base += gone as u32;
            if let Some(m) = self.meta.first_mut() {
                m.vol_prev = f64::NAN;
            }
            self.free_rows();
        }
        // What is left must be the state's first columns, and there must be room (and numbers) for
        // the others; else the tables are laid out again. The state's columns only ever gain one
        // (in time order) or lose their oldest, so the first and last held decide it: a column
        // merged before the last one held moves that one along, a column merged first is older
        // than the first one held.
        let k = self.meta.len();
        let same = k <= state.cols.len()
            && (k == 0
                || (first.is_some_and(|f| self.meta[0].is(&state.cols[0], f))
                    && self.meta[k - 1].is(&state.cols[k - 1], time_key(state.cols[k - 1].at))));
        if same && state.cols.len() >= self.cap && !self.meta.is_empty() {
            self.grow(state.cols.len() + SLACK);
        }
        let room = state.cols.len() < self.cap && (self.base as usize) + state.cols.len() < NO_ROW as usize;
        // New products renumber every cell: the rows stay, the row map is made again.
        if !same || !room || (self.n != state.ids.len() && !self.renumber(state)) {
            return self.layout(state);
        }
        for k in self.meta.len()..state.cols.len() {
            self.push(&state.cols[..=k]);
        }
    }

    /// Lays the tables out again from the state's columns.
    fn layout(&mut self, state: &ListState) {
        let need = state.cols.len();
        if need >= self.cap || self.cap > need + 2 * SLACK {
            self.cap = need + SLACK;
        }
        self.n = state.ids.len();
        self.base = 0;
        self.origin = 0;
        self.meta.clear();
        self.dense.clear();
        self.row_of.clear();
        self.row_of.resize(self.n, NO_ROW);
        self.rows.clear();
        self.free.clear();
        self.slots.clear();
        for k in 0..need {
            self.push(&state.cols[..=k]);
        }
    }

    /// Gives every row room for `cap` columns, the columns held kept (at the rows' start).
    fn grow(&mut self, cap: usize) {
        let (old, old_cap) = (std::mem::take(&mut self.slots), self.cap);
        self.slots.resize(self.rows.len() * cap, 0);
        let (from, len) = (self.place(0), self.meta.len().min(cap));
        for (to, old) in self.slots.chunks_exact_mut(cap).zip(old.chunks_exact(old_cap)) {
            if let Some(old) = old.get(from..from + len) {
                to[..len].copy_from_slice(old);
            }
        }
        self.origin = self.base;
        self.cap = cap;
    }

    /// Where held column `c` (0: the first held) is in a row.
    fn place(&self, c: usize) -> usize {
        (self.base - self.origin) as usize + c
    }

    /// Makes room in every row for a column after those held, moving them to the rows' start when
    /// there is none after them; false when the rows are too short for that.
    fn make_room(&mut self) -> bool {
        let (len, cap) = (self.meta.len(), self.cap);
        if self.place(len) < cap {
            return true;
        }
        if len >= cap {
            return false;
        }
        let from = self.place(0);
        for row in self.slots.chunks_exact_mut(cap) {
            row.copy_within(from..from + len, 0);
        }
        self.origin = self.base;
        true
    }

    /// Frees the rows of products absent from every column held.
    fn free_rows(&mut self) {
        for (r, row) in self.rows.iter_mut().enumerate() {
            if row.id != NO_ROW && row.last < self.base {
                if let Some(x) = self.row_of.get_mut(row.id as usize) {
                    *x = NO_ROW;
                }
                row.id = NO_ROW;
                self.free.push(r as u32);
            }
        }
    }

    /// Makes the row map again after new products renumbered the state's cells: each row's product
    /// is the one its slot in its last column points to. False when a slot does not point to a
    /// cell, or two rows to one product (the tables do not match the state: they are laid out again).
    fn renumber(&mut self, state: &ListState) -> bool {
        let (cap, base) = (self.cap, self.base);
        self.n = state.ids.len();
        let origin = self.origin;
        self.row_of.clear();
        self.row_of.resize(self.n, NO_ROW);
        for (r, row) in self.rows.iter_mut().enumerate().filter(|(_, row)| row.id != NO_ROW) {
            let slot = self.slots[r * cap + (row.last - origin) as usize];
            let col = state.cols.get((row.last - base) as usize);
            let Some(cell) = slot_index(slot).and_then(|i| col?.cells.get(i)) else { return false };
            match self.row_of.get_mut(cell.id as usize) {
                Some(x) if *x == NO_ROW => *x = r as u32,
                _ => return false,
            }
            row.id = cell.id;
        }
        true
    }

    /// Adds the last of `cols` (the others are in the tables; there is room for it).
    fn push(&mut self, cols: &[Column]) {
        let Some((col, before)) = cols.split_last() else { return };
        if !self.make_room() {
            self.grow(self.meta.len() + SLACK);
        }
        let in_order = self.scatter(self.base + self.meta.len() as u32, col);
        let vol = match (before.last(), self.dense.last()) {
            (Some(prev), Some(prev_dense)) => volatility_cols(prev, col, (*prev_dense, in_order)),
            _ => f64::NAN,
        };
        self.meta.push(ColMeta::of(col, vol));
        self.dense.push(in_order);
    }

    /// Writes the slots of column number `at` into its products' rows, having cleared its cell in
    /// every row; returns whether its cells are dense.
    fn scatter(&mut self, at: u32, col: &Column) -> bool {
        let (cap, place) = (self.cap, (at - self.origin) as usize);
        for row in self.slots.chunks_exact_mut(cap) {
            row[place] = 0;
        }
        let mut in_order = true;
        for (i, cell) in col.cells.iter().enumerate() {
            in_order &= usize::from(cell.pos) == i + 1;
            // Every cell of the state names one of its products.
            let Some(r) = self.row_for(cell, at) else { continue };
            self.slots[r * cap + place] = slot(i, cell.pos);
        }
        in_order
    }

    /// The row of a cell's product for column number `at`, which it is written into next: a free
    /// or new row for a product that has none, else its row (absent from the columns since its
    /// last), its price minimum lowered by the cell's.
    fn row_for(&mut self, cell: &Cell, at: u32) -> Option<usize> {
        let id = cell.id;
        let r = *self.row_of.get(id as usize)?;
        let price = price_or_inf(cell.price());
        if r == NO_ROW {
            let row =
                Row { id, first: at, last: at, cur: cell.cur, mixed: false, min: price, min_at: at, min_from: at };
            let r = match self.free.pop() {
                Some(r) => {
                    // Its cells of the columns held are already 0: its last product was in none of
                    // them, and a new column clears its cell in every row, free ones too.
                    self.rows[r as usize] = row;
                    r
                }
                None => {
                    self.rows.push(row);
                    self.slots.resize(self.rows.len() * self.cap, 0);
                    (self.rows.len() - 1) as u32
                }
            };
            self.row_of[id as usize] = r;
            return Some(r as usize);
        }
        let r = r as usize;
        let row = &mut self.rows[r];
        row.mixed |= cell.cur != row.cur && price < f64::INFINITY;
        if row.last == at {
            // The product twice in a column (a list read from elsewhere): the row keeps the last
            // cell, and its minimum is read off the cells again.
            row.min_from = u32::MAX;
        } else if cell.cur == row.cur && price <= row.min {
            (row.min, row.min_at) = (price, at);
        }
        row.last = at;
        Some(r)
    }

    /// Product `id`'s row and which of the columns `range` it holds (None: the product has no row).
    fn held(&self, id: u32, range: std::ops::Range<usize>) -> Option<Held> {
        let r = *self.row_of.get(id as usize).filter(|r| **r != NO_ROW)?;
        let row = self.rows[r as usize];
        let (lo, hi) = (self.base + range.start as u32, self.base + range.end as u32);
        let start = row.first.clamp(lo, hi);
        Some(Held { row: r as usize, cols: start..(row.last + 1).clamp(start, hi) })
    }

    /// The lowest valid price in currency `cur` of a row over the columns it was found for from
    /// column `from` on (+∞ when there is none), as `product_signals` defines it: the row's minimum
    /// when it holds for those columns, else read off the cells of the state's columns `cols`.
    fn price_min(&mut self, h: &Held, cur: u16, from: usize, cols: &[Column]) -> f64 {
        let from = h.cols.start.max(self.base + from as u32);
        let row = self.rows[h.row];
        if !row.mixed && row.cur != cur {
            return f64::INFINITY;
        }
        // The row's minimum covers the columns from `min_from` to its last.
        let to_last = h.cols.end == row.last + 1;
        if !row.mixed && to_last && from >= row.min_from && (row.min_at >= from || row.min == f64::INFINITY) {
            return row.min;
        }
        let (mut min, mut min_at) = (f64::INFINITY, from);
        for c in from..h.cols.end {
            let v = self.slots[h.row * self.cap + (c - self.origin) as usize];
            let cell = cols.get((c - self.base) as usize).zip(slot_index(v)).and_then(|(col, i)| col.cells.get(i));
            if let Some(cell) = cell.filter(|x| x.cur == cur) {
                let p = price_or_inf(cell.price());
                if p <= min {
                    (min, min_at) = (p, c);
                }
            }
        }
        if !row.mixed && to_last {
            let row = &mut self.rows[h.row];
            (row.min, row.min_at, row.min_from) = (min, min_at, from);
        }
        min
    }
}

/// A row of [`Tables`] found for a range of columns.
struct Held {
    row: usize,
    /// The columns of the range the row holds (numbers; the product is absent from the others).
    cols: std::ops::Range<u32>,
}

/// A cell's price when it is valid (finite and positive), else +∞.
fn price_or_inf(p: Option<f64>) -> f64 {
    crate::signals::product::valid_price(p).unwrap_or(f64::INFINITY)
}

/// Lists and states for the tests of the grid and of what reads it.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::DateTime;
    use proptest::prelude::*;

    use crate::ids::{CategoryId, EntryId, EntryType, Position, SiteId};
    use crate::signals::config::SignalConfig;
    use crate::signals::state::ListState;
    use crate::snapshot::{Snapshot, SnapshotEntry};

    /// A list: `(product, position)` pairs, positions increasing, sometimes with gaps.
    pub type List = Vec<(u32, u8)>;

    pub fn snap(h: i64, list: &[(u32, u8)]) -> Snapshot {
        let t = DateTime::from_timestamp(1_793_000_000 + h * 3600, 0).unwrap_or_default();
        Snapshot {
            site: SiteId::MLB,
            category: CategoryId::parse("MLB1055").unwrap(),
            taken_at: t,
            entries: list
                .iter()
                .map(|(n, p)| {
                    let mut e = SnapshotEntry::bare(
                        Position::new(i64::from(*p)).unwrap(),
                        EntryId::parse(&format!("MLB{n}")).unwrap(),
                        EntryType::Product,
                    );
                    e.price = Some(100.0 + f64::from(*n));
                    e.currency = Some(if n % 5 == 0 { "USD" } else { "BRL" }.into());
                    e.reviews_total = Some(u64::from(*n) * 10 + h as u64);
                    e
                })
                .collect(),
            fetch: Default::default(),
        }
    }

    pub fn list() -> impl Strategy<Value = List> {
        (prop::sample::subsequence((1u32..=30).collect::<Vec<_>>(), 1..=20).prop_shuffle(), any::<bool>(), any::<u64>())
            .prop_map(|(ids, gaps, seed)| {
                let mut pos = 0u8;
                ids.into_iter()
                    .enumerate()
                    .map(|(i, id)| {
                        // With gaps: skip a position now and then (a list read from elsewhere).
                        pos += if gaps && (seed >> (i % 64)) & 1 == 1 { 2 } else { 1 };
                        (id, pos)
                    })
                    .collect()
            })
    }

    /// The hours of the history (some missing), its lists, and the scored list (the last hour).
    pub fn scenario() -> impl Strategy<Value = (Vec<(i64, List)>, List)> {
        (prop::collection::vec((any::<bool>(), list()), 0..30), list()).prop_map(|(hist, scored)| {
            let hist = hist.into_iter().enumerate().filter(|(_, (keep, _))| *keep).map(|(h, (_, l))| (h as i64, l));
            (hist.collect(), scored)
        })
    }

    /// The state holding the history, and the scored snapshot (an hour after the last one).
    pub fn state_and_snapshot(hist: &[(i64, List)], scored: &List) -> (ListState, Snapshot) {
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        for (h, l) in hist {
            st.absorb(&snap(*h, l), &[], &[], &cfg);
        }
        (st, snap(30, scored))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{list, scenario, snap, state_and_snapshot, List};
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    proptest! {
        /// Looking a product up next to its place in the newest column finds what searching finds.
        #[test]
        fn ids_looked_up_near_their_place_are_the_ids_searched((hist, scored) in scenario(), shift in 0usize..3) {
            let (st, s) = state_and_snapshot(&hist, &scored);
            prop_assert_eq!(st.prepare(&s), st.prepare_near(&s, false));
            let newest = st.cols.last().map_or(&[][..], |c| &c.cells[..]);
            // Every id of the state and of the snapshot, looked for at every place (and past the end).
            let ids = st.ids.iter().chain(s.entries.iter().map(|e| &e.id));
            for id in ids {
                for at in 0..newest.len() + shift + 1 {
                    prop_assert_eq!(st.index_near(id, newest, at), st.index_of(id));
                }
            }
        }

        /// Ids compared as words are ids compared as bytes (short, word-sized and long ones).
        #[test]
        fn ids_compared_as_words_are_compared_as_bytes(a in "[A-C0-2]{0,20}", b in "[A-C0-2]{0,20}", how in 0u8..3, k in any::<usize>()) {
            let b = match how {
                0 => a.clone(),
                // One byte changed: anywhere, head or tail.
                1 if !a.is_empty() => {
                    let mut x = a.clone().into_bytes();
                    let k = k % x.len();
                    x[k] = if x[k] == b'A' { b'B' } else { b'A' };
                    String::from_utf8(x).unwrap()
                }
                _ => b,
            };
            prop_assert_eq!(crate::signals::state::same_bytes(a.as_bytes(), b.as_bytes()), a == b);
        }

        /// Word keys order byte strings of 8 to 16 bytes as the bytes order (zeros included).
        #[test]
        fn word_keys_order_as_bytes(a in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(b'7'), Just(255u8)], 0..20),
                                    b in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(b'7'), Just(255u8)], 0..20),
                                    prefix in any::<bool>()) {
            // Often one a prefix of the other, or the same head.
            let b = if prefix { a[..b.len().min(a.len())].to_vec() } else { b };
            let (ka, kb) = (crate::signals::state::word_key(&a), crate::signals::state::word_key(&b));
            prop_assert_eq!(ka.is_some(), (8..=16).contains(&a.len()));
            if let (Some(ka), Some(kb)) = (ka, kb) {
                prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            }
        }

        /// `index_of` finds every id of a table of ids of every length, and no other.
        #[test]
        fn index_of_finds_what_a_scan_finds(ids in proptest::collection::btree_set("MLB[0-9A]{1,16}", 0..40), probe in "MLB[0-9A]{1,16}") {
            let mut st = ListState::default();
            st.ids = ids.iter().map(|s| EntryId::parse(s).unwrap()).collect();
            for (i, id) in st.ids.iter().enumerate() {
                prop_assert_eq!(st.index_of(id), Some(i as u32));
            }
            let probe = EntryId::parse(&probe).unwrap();
            prop_assert_eq!(st.index_of(&probe), st.ids.iter().position(|x| *x == probe).map(|i| i as u32));
        }

        /// The grid says what searching the columns says.
        #[test]
        fn the_grid_is_the_columns_searched((hist, scored) in scenario()) {
            let cfg = SignalConfig::default();
            let (st, s) = state_and_snapshot(&hist, &scored);
            let prepared = st.prepare(&s);
            let w = Window::build(&s, &prepared, &st, &cfg);
            grid_is_the_columns_searched(&w, &s, &prepared, &cfg)?;
            // `S` comes after every column held: the rows of the products held are read in place.
            for row in 0..w.n_rows() {
                let held = st.cols.iter().any(|c| c.cells.iter().any(|x| x.id == w.rows[row]));
                prop_assert_eq!(w.in_place(row), held, "row {}", row);
            }
        }

        /// The tables a state keeps from one record to the next follow its merges, in any order
        /// (late snapshots landing between columns, replays, new products renumbering the cells, the
        /// oldest columns trimmed, products leaving every column held and coming back, prices moving
        /// under their minimums, snapshots merged without a window of them): the grid built from
        /// them is still the columns searched, and the signals are those of a copy of the state,
        /// which builds its tables afresh.
        #[test]
        fn the_tables_kept_with_a_state_follow_its_merges(
            lists in prop::collection::vec(list(), 60),
            blind in prop::collection::vec(any::<bool>(), 1..8),
            order in prop::collection::vec(0usize..60, 1..60),
            sorted in any::<bool>(),
            drift in any::<bool>(),
            vary in any::<bool>(),
            odd in prop::collection::vec(prop_oneof![
                4 => Just(None),
                1 => prop::sample::select(vec![f64::NAN, 0.0, -3.0, f64::INFINITY, 1e-300, 7.5]).prop_map(Some),
            ], 1..50),
        ) {
            let cfg = SignalConfig::default();
            let mut order = order;
            if sorted {
                order.sort_unstable();
            }
            let mut st = ListState::default();
            for (i, h) in order.into_iter().enumerate() {
                // With `drift`, the products of hours 0–9 are back in hours 40–49, after a day and
                // more away: their rows have gone to others in between.
                let block = if drift { (h as u32 / 10 % 4) * 30 } else { 0 };
                let list: List = lists[h].iter().map(|(id, pos)| (id + block, *pos)).collect();
                let mut s = snap(h as i64, &list);
                // Now and then a price that is not valid, a cheap one, none, or another currency.
                for (j, e) in s.entries.iter_mut().enumerate() {
                    if vary {
                        e.price = e.price.map(|p| p + ((h * 5 + j * 3) % 7) as f64);
                    }
                    match odd[(h * 7 + j) % odd.len()] {
                        Some(7.5) => e.currency = Some("ARS".into()),
                        Some(p) if p == 0.0 && j % 2 == 0 => e.price = None,
                        Some(p) => e.price = Some(p),
                        None => {}
                    }
                }
                let fresh = st.clone();
                let again = crate::signals::score(&s, &crate::signals::ScoreContext { state: &fresh, calibration: None }, &cfg);
                if blind[i % blind.len()] {
                    // Scored on a copy: the state's tables meet the snapshot only when it is merged.
                    st.absorb(&s, &again.products, &again.events, &cfg);
                    continue;
                }
                let ctx = crate::signals::ScoreContext { state: &st, calibration: None };
                let scored = crate::signals::score(&s, &ctx, &cfg);
                prop_assert_eq!(format!("{scored:?}"), format!("{again:?}"));
                {
                    let prepared = st.prepare(&s);
                    let w = Window::build(&s, &prepared, &st, &cfg);
                    grid_is_the_columns_searched(&w, &s, &prepared, &cfg)?;
                }
                st.absorb(&s, &scored.products, &scored.events, &cfg);
            }
        }
    }

    proptest! {
        /// The columns found by their ages (the first since a time, the one nearest a day back)
        /// are those found by comparing times, at any whole-second times.
        #[test]
        fn columns_found_by_age_are_found_by_time(
            offsets in prop::collection::btree_set(0i64..3 * 86_400, 0..40),
            gap in prop_oneof![1i64..7_200, Just(3_600i64)],
            hourly in any::<bool>(),
        ) {
            let cfg = SignalConfig::default();
            let mut st = ListState::default();
            let list: List = (1..=5).map(|i| (i, i as u8)).collect();
            // Whole hours now and then: the day back then falls on a column, or halfway between two.
            let at = |o: i64| if hourly { o / 1800 * 1800 } else { o };
            for o in &offsets {
                let mut s = snap(0, &list);
                s.taken_at += Duration::seconds(at(*o));
                st.absorb(&s, &[], &[], &cfg);
            }
            let mut s = snap(0, &list);
            s.taken_at += Duration::seconds(at(offsets.last().copied().unwrap_or(0)) + gap);
            let prepared = st.prepare(&s);
            let w = Window::build(&s, &prepared, &st, &cfg);
            prop_assert!(w.whole);
            found_by_age_as_by_time(&w, &cfg)?;
        }
    }

    proptest! {
        /// The momentum weights a window keeps from the thread's last window (of its list or
        /// another's) are the weights computed again, bit for bit: windows built one after another
        /// on two states, every hour or after a gap, now and then at a time off the hour, late, or
        /// with another `τ`.
        #[test]
        fn momentum_weights_kept_are_computed_again(
            steps in prop::collection::vec((prop_oneof![4 => Just(1i64), 1 => 0i64..4, 1 => -3i64..0], any::<bool>(),
                                            prop_oneof![3 => Just(43_200i64), 1 => Just(3_600i64), 1 => Just(0i64)],
                                            any::<bool>()), 1..60),
            second_offset in prop_oneof![Just(0i64), Just(1_800i64), 0i64..7_200],
        ) {
            // Two lists scored by one thread, whose windows keep the weights for each other's: at
            // the same times as each other, or half an hour or any seconds apart.
            let mut sts = [ListState::default(), ListState::default()];
            let list: List = (1..=5).map(|i| (i, i as u8)).collect();
            let mut ats = [0i64, second_offset];
            for (gap, odd, tau, second) in steps {
                let cfg = SignalConfig { momentum_tau_secs: tau, ..SignalConfig::default() };
                let k = usize::from(second);
                let (st, at) = (&mut sts[k], &mut ats[k]);
                *at += gap * 3600 + if odd { 17 } else { 0 };
                let mut s = snap(0, &list);
                s.taken_at += Duration::seconds(*at);
                {
                    let prepared = st.prepare(&s);
                    let w = Window::build(&s, &prepared, st, &cfg);
                    let (from, weights, den) = crate::signals::product::ProductContext::momentum_weights(&w, &cfg);
                    let (kept_from, kept, kept_den) = w.momentum();
                    prop_assert_eq!(kept_from, from);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    prop_assert_eq!(bits(kept), bits(&weights));
                    prop_assert_eq!(kept_den.to_bits(), den.to_bits());
                }
                st.absorb(&s, &[], &[], &cfg);
            }
        }
    }

    /// Past a column's 255th cell a slot keeps its position and not its cell (two bytes hold the
    /// index up to 254): lists of 300 products (not normalized: positions 1–100 three times over),
    /// scored and merged hour after hour; the grid's positions are the columns searched, its cells
    /// those searched up to the 255th and none after it.
    #[test]
    fn a_slot_past_the_255th_cell_keeps_its_position() {
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        let mut past = 0;
        for h in 0..4u32 {
            let list: List = (0..300u32).map(|i| ((i * 7 + h * 13) % 300 + 1, (i % 100) as u8 + 1)).collect();
            let s = snap(i64::from(h), &list);
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            {
                let prepared = st.prepare(&s);
                let w = Window::build(&s, &prepared, &st, &cfg);
                for row in 0..w.n_rows() {
                    let idx = w.rows[row];
                    for col in 0..w.cols.len() {
                        let found = w.cols[col].cells.iter().enumerate().rev().find(|(_, c)| c.id == idx);
                        assert_eq!(w.pos(row, col), found.map(|(_, c)| c.pos), "row {row}, column {col}");
                        past += usize::from(found.is_some_and(|(i, _)| i >= 255));
                        let want = found.filter(|(i, _)| *i < 255).map(|(_, c)| c as *const Cell);
                        assert_eq!(w.cell(row, col).map(|c| c as *const Cell), want, "row {row}, column {col}");
                    }
                }
            }
            st.absorb(&s, &scored.products, &scored.events, &cfg);
        }
        assert!(past >= 4 * 45, "{past} cells past the 255th");
    }

    /// A held state's size (what `StateCache` budgets by) counts every table the grid keeps.
    #[test]
    fn the_tables_bytes_are_counted() {
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        let list: Vec<(u32, u8)> = (1..=20).map(|i| (i, i as u8)).collect();
        for h in 0..30 {
            let s = snap(h, &list);
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            st.absorb(&s, &scored.products, &scored.events, &cfg);
        }
        let tab = st.tables().0.lock().unwrap();
        let cells = tab.slots.len();
        assert!(cells >= 20 * st.cols.len(), "{cells} cells");
        let least = cells * size_of::<Slot>() + tab.rows.len() * size_of::<Row>() + tab.row_of.len() * size_of::<u32>();
        drop(tab);
        assert!(st.tables().heap_bytes() >= least, "{} < {least}", st.tables().heap_bytes());
    }

    /// The tables hold a row for each product of the columns held, not for every product the list
    /// has had: 300 products passing through a list of 20 leave as many rows as the window has
    /// products (rows are reused), while `ids` keeps them all.
    #[test]
    fn the_tables_stay_bounded_by_the_window_products() {
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        let mut list: Vec<u32> = (0..20).collect();
        let mut next = 20u32;
        let mut most = 0usize;
        for h in 0..150 {
            // Two products leave, two new ones come in, every hour.
            for k in 0..2 {
                list[(h as usize * 7 + k * 11) % 20] = next;
                next += 1;
            }
            let s = snap(h, &list.iter().enumerate().map(|(i, id)| (*id, i as u8 + 1)).collect::<Vec<_>>());
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            st.absorb(&s, &scored.products, &scored.events, &cfg);
            let held: std::collections::BTreeSet<u32> =
                st.cols.iter().flat_map(|c| c.cells.iter().map(|x| x.id)).collect();
            most = most.max(held.len());
            let tab = st.tables().0.lock().unwrap();
            let live = tab.rows.iter().filter(|r| r.id != NO_ROW).count();
            // The tables were synced before this snapshot's merge: at most its new products short.
            assert!(live <= held.len(), "hour {h}: {live} rows in use, {} products held", held.len());
            assert!(tab.rows.len() <= most, "hour {h}: {} rows, at most {most} products held", tab.rows.len());
            assert_eq!(tab.slots.len(), tab.rows.len() * tab.cap);
            assert!(tab.cap <= st.cols.len() + 2 * SLACK, "hour {h}: room for {} columns", tab.cap);
        }
        assert!(st.ids.len() >= 300, "{} products", st.ids.len());
        assert!(most < 100, "{most} products held at once");
    }

    /// [`Window::first_col_since`] and [`Window::r24`] against the columns' times compared.
    fn found_by_age_as_by_time(w: &Window<'_>, cfg: &SignalConfig) -> Result<(), TestCaseError> {
        let ages: Vec<i64> = (0..w.cols.len()).map(|c| w.age_secs(c)).collect();
        let near = ages.iter().flat_map(|a| [*a - 1, *a, *a + 1]);
        for secs in near.chain([0, -1, -3_600, 86_400, 97_200, 10 * 86_400, 100_000_000_000]) {
            let want = first_col_at_or_after(&w.cols, w.t - Duration::seconds(secs));
            prop_assert_eq!(w.first_col_since(secs), want, "since {} s", secs);
        }
        let near_day = ages.iter().map(|a| (DAY_SECS - a).abs());
        for tol in near_day.flat_map(|d| [d - 1, d]).chain([0, 1_800, 3_600, 2 * DAY_SECS]) {
            let cfg = SignalConfig { day_tolerance_secs: tol, ..cfg.clone() };
            prop_assert_eq!(w.r24(&cfg), w.r24_compared(&cfg), "tolerance {}", tol);
        }
        Ok(())
    }

    /// The definition of every cell of the grid, and of the volatilities it keeps.
    fn grid_is_the_columns_searched(
        w: &Window<'_>,
        s: &Snapshot,
        prepared: &Prepared<'_>,
        cfg: &SignalConfig,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(w.n_current, s.entries.len());
        found_by_age_as_by_time(w, cfg)?;
        for row in 0..w.n_rows() {
            let idx = w.rows[row];
            prop_assert_eq!(w.row_of(idx), Some(row));
            if row < w.n_current {
                prop_assert_eq!(w.id(row), &s.entries[row].id);
            } else {
                let p = w.p_col().unwrap();
                prop_assert!(w.cols[p].cells.iter().any(|c| c.id == idx));
                prop_assert!(!prepared.col.cells.iter().any(|c| c.id == idx));
            }
            for col in 0..w.cols.len() {
                prop_assert_eq!(w.age_secs(col), (w.t - w.time(col)).num_seconds());
                let in_order = w.cols[col].cells.iter().enumerate().all(|(i, c)| usize::from(c.pos) == i + 1);
                prop_assert_eq!(w.dense(col), in_order);
                prop_assert_eq!(w.dense_from(col), (col..w.cols.len()).all(|c| w.dense(c)), "dense from {}", col);
                let found = w.cols[col].cells.iter().rev().find(|c| c.id == idx);
                prop_assert_eq!(w.cell(row, col).map(|c| c as *const Cell), found.map(|c| c as *const Cell));
                prop_assert_eq!(w.pos(row, col), found.map(|c| c.pos));
                prop_assert_eq!(slot_pos(w.slots(row)[col]), found.map(|c| c.pos));
            }
        }
        for c in 1..w.s_col() {
            let want = volatility_cols(w.cols[c - 1], w.cols[c], (w.dense(c - 1), w.dense(c)));
            prop_assert_eq!(w.volatility_prev(c).map(f64::to_bits), Some(want.to_bits()), "column {}", c);
        }
        let price_from = w.first_col_since(cfg.price_window_secs);
        for row in 0..w.n_current {
            let want = crate::signals::product::price_min_of_cells(w, row, price_from);
            prop_assert_eq!(w.price_min(row).map(f64::to_bits), want.map(f64::to_bits), "row {}", row);
        }
        Ok(())
    }
}

#[cfg(test)]
mod time_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn secs_between_is_chronos(a in -10_000_000_000i64..10_000_000_000, b in -10_000_000_000i64..10_000_000_000,
                                   na in prop_oneof![Just(0u32), 0u32..1_999_999_999], nb in prop_oneof![Just(0u32), 0u32..1_999_999_999]) {
            let (Some(x), Some(y)) = (DateTime::from_timestamp(a, na), DateTime::from_timestamp(b, nb)) else { return Ok(()) };
            prop_assert_eq!(delta(x, y), x - y);
            prop_assert_eq!(secs_between(x, y), (x - y).num_seconds());
        }

        /// A column's time and number of cells as the tables keep them compare as the column's
        /// own (times a second or less apart, leap seconds' nanoseconds, lengths equal or not).
        #[test]
        fn column_keys_compare_as_times(a in 1_700_000_000i64..1_700_000_003, b in 1_700_000_000i64..1_700_000_003,
                                        na in prop_oneof![Just(0u32), Just(1u32), 0u32..1_999_999_999],
                                        nb in prop_oneof![Just(0u32), Just(1u32), 0u32..1_999_999_999],
                                        la in 0usize..3, lb in 0usize..3, vol in any::<f64>()) {
            let (Some(x), Some(y)) = (DateTime::from_timestamp(a, na), DateTime::from_timestamp(b, nb)) else { return Ok(()) };
            let col = |at: DateTime<Utc>, len: usize| Column { at, cells: vec![Cell::new(0, 1, 0, None, None); len], dwell: Vec::new() };
            let m = ColMeta::of(&col(x, la), vol);
            prop_assert_eq!(m.is(&col(y, lb), time_key(y)), x == y && la == lb);
            prop_assert_eq!(m.time() < time_key(y), x < y);
            prop_assert_eq!(m.whole_secs(), whole_secs(x));
            prop_assert_eq!(m.vol_prev.to_bits(), vol.to_bits());
        }
    }
}

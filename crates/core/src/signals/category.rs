//! Per-category signals (docs/signals.md §5).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::EntryId;
use crate::signals::config::DAY_SECS;
use crate::signals::demand::DemandCurve;
use crate::signals::state::Column;
use crate::signals::window::Window;
use crate::snapshot::Snapshot;

/// The signals of a whole list at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategorySignals {
    pub baseline: bool,
    pub has_previous: bool,
    pub list_length: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "crate::keys::serialize_opt_time")]
    pub previous_at: Option<DateTime<Utc>>,
    /// Share of positions whose occupant changed against the previous list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatility: Option<f64>,
    /// `|S Δ P| / (|S| + |P|)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<f64>,
    pub entrants: usize,
    pub exits: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatility_24h: Option<f64>,
    pub new_entrants_24h: usize,
    pub new_entrant_rate: f64,
    /// How many history snapshots were used.
    pub history_snapshots: usize,
    pub demand: DemandCurve,
}

/// Share of positions whose occupant differs between two lists.
pub fn volatility(a: &Snapshot, b: &Snapshot) -> f64 {
    changed_share(&entries(a), &entries(b))
}

fn entries(s: &Snapshot) -> Vec<(u8, &EntryId)> {
    s.entries.iter().map(|e| (e.position.get(), &e.id)).collect()
}

/// Share of positions whose occupant differs between two columns (`dense`: whether each holds
/// positions `1..=len` in order, see [`Window::dense`]).
pub(crate) fn volatility_cols(a: &Column, b: &Column, dense: (bool, bool)) -> f64 {
    if dense == (true, true) {
        return dense_changed_share(a, b);
    }
    let cells = |c: &Column| c.cells.iter().map(|x| (x.pos, x.id)).collect::<Vec<_>>();
    changed_share(&cells(a), &cells(b))
}

/// [`changed_share`] of two dense columns: the occupant of position `p` is the cell at `p − 1`, and
/// every position past the shorter list changed.
fn dense_changed_share(a: &Column, b: &Column) -> f64 {
    let m = a.cells.len().max(b.cells.len());
    if m == 0 {
        return 0.0;
    }
    let both = a.cells.iter().zip(&b.cells).filter(|(x, y)| x.id != y.id).count();
    let changed = both + (m - a.cells.len().min(b.cells.len()));
    changed as f64 / m as f64
}

/// Share of the positions `1..=max(len)` whose occupant differs between two lists of
/// `(position, occupant)`.
fn changed_share<K: Copy + PartialEq>(a: &[(u8, K)], b: &[(u8, K)]) -> f64 {
    let m = a.len().max(b.len());
    if m == 0 {
        return 0.0;
    }
    let (oa, ob) = (occupants(a, m), occupants(b, m));
    let changed = (1..=m).filter(|p| oa[*p] != ob[*p]).count();
    changed as f64 / m as f64
}

/// The occupant of each position `0..=m` (index 0 unused).
fn occupants<K: Copy>(entries: &[(u8, K)], m: usize) -> Vec<Option<K>> {
    let mut v: Vec<Option<K>> = vec![None; m + 1];
    for (pos, k) in entries {
        if let Some(slot) = v.get_mut(usize::from(*pos)) {
            *slot = Some(*k);
        }
    }
    v
}

/// How many cells of `S` (the scored column) are not in `P` (the previous one), and how many of
/// `P` are not in `S`, read off the grid: every product of `S` and `P` has a row, the rows of `S`
/// come first.
fn entrants_and_exits(w: &Window<'_>, p: usize) -> (usize, usize) {
    let s = w.cols[w.s_col()];
    let entrants = s.cells.iter().filter(|x| w.row_of(x.id).is_none_or(|r| w.slots(r)[p] == 0)).count();
    let exits = w.cols[p].cells.iter().filter(|x| w.row_of(x.id).is_none_or(|r| r >= w.n_current)).count();
    (entrants, exits)
}

/// The category signals of the grid. The state's seen ranges may or may not include the scored
/// snapshot already: the entrant count reads them as if it were merged in, without copying them.
pub(crate) fn category_signals(w: &Window<'_>, baseline: bool, curve: &DemandCurve) -> CategorySignals {
    let s = w.cols[w.s_col()];
    let p = w.p_col().map(|c| w.cols[c]);
    let t = w.t;
    let (entrants, exits) = match w.p_col() {
        Some(pc) => entrants_and_exits(w, pc),
        None => (0, 0),
    };
    let volatility = w.p_col().map(|pc| volatility_cols(s, w.cols[pc], (w.dense(w.s_col()), w.dense(pc))));
    let first = w.first_col_since(DAY_SECS);
    // Summed in column order, as a list of the pairs' shares would be. The pairs of history columns
    // were compared when the later one joined the state; the last pair is `P` and `S` (the share is
    // the same both ways round).
    let (mut sum, mut n_pairs) = (0.0, 0usize);
    for c in first..w.s_col() {
        let v = match (c + 1 < w.s_col(), w.volatility_prev(c + 1), volatility) {
            (true, Some(v), _) => v,
            (false, _, Some(v)) => v,
            _ => volatility_cols(w.cols[c], w.cols[c + 1], (w.dense(c), w.dense(c + 1))),
        };
        sum += v;
        n_pairs += 1;
    }
    let volatility_24h = if n_pairs == 0 { None } else { Some(sum / n_pairs as f64) };
    let started = w.state.list_started_at.map_or(t, |x| x.min(t));
    // After both a day ago and the list's start, and not after `t`.
    let after = (t - Duration::seconds(DAY_SECS)).max(started);
    let counts = |first_seen: DateTime<Utc>| first_seen > after && first_seen <= t;
    // The stored state's products, then each product of `S` moved to the first sighting merging `S`
    // would give it (`min(first_seen, t)`, or `t` for a product the state has never seen).
    let mut new_entrants_24h = w.state.seen.iter().filter(|r| counts(r.first_seen)).count();
    for cell in &s.cells {
        let before = w.state.seen_of(cell.id).map(|r| r.first_seen);
        new_entrants_24h -= usize::from(before.is_some_and(counts));
        new_entrants_24h += usize::from(counts(before.map_or(t, |f| f.min(t))));
    }
    CategorySignals {
        baseline,
        has_previous: p.is_some(),
        list_length: s.cells.len(),
        previous_length: p.map(|p| p.cells.len()),
        previous_at: p.map(|p| p.at),
        volatility,
        churn: p.map(|p| {
            let total = s.cells.len() + p.cells.len();
            if total == 0 {
                0.0
            } else {
                (entrants + exits) as f64 / total as f64
            }
        }),
        entrants,
        exits,
        volatility_24h,
        new_entrants_24h,
        new_entrant_rate: if s.cells.is_empty() { 0.0 } else { new_entrants_24h as f64 / s.cells.len() as f64 },
        history_snapshots: w.s_col(),
        demand: curve.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::config::SignalConfig;
    use crate::signals::state::Cell;
    use crate::signals::window::testing::{scenario, state_and_snapshot};
    use proptest::prelude::*;

    fn is_dense(c: &Column) -> bool {
        c.cells.iter().enumerate().all(|(i, x)| usize::from(x.pos) == i + 1)
    }

    /// How many products of `a` are not in `b` (the definition).
    fn missing_from(a: &Column, b: &Column) -> usize {
        a.cells.iter().filter(|x| !b.cells.iter().any(|y| y.id == x.id)).count()
    }

    fn column(cells: &[(u8, u32)]) -> Column {
        let cell = |&(pos, id): &(u8, u32)| Cell::new(id, pos, 0, None, None);
        Column { at: DateTime::UNIX_EPOCH, cells: cells.iter().map(cell).collect(), dwell: Vec::new() }
    }

    /// A column of `(position, product)`: dense (positions 1, 2, … in order) or anything.
    fn cells() -> impl Strategy<Value = Vec<(u8, u32)>> {
        prop_oneof![
            prop::collection::vec(0u32..12, 0..15).prop_map(|ids| ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| (i as u8 + 1, id))
                .collect()),
            prop::collection::vec((0u8..18, 0u32..12), 0..15),
        ]
    }

    proptest! {
        #[test]
        fn volatility_of_dense_columns_is_the_general_one(a in cells(), b in cells()) {
            let (ca, cb) = (column(&a), column(&b));
            let got = volatility_cols(&ca, &cb, (is_dense(&ca), is_dense(&cb)));
            prop_assert_eq!(got.to_bits(), changed_share(&a, &b).to_bits());
        }

        #[test]
        fn entrants_and_exits_are_the_products_missing_from_the_other_list((hist, scored) in scenario()) {
            let cfg = SignalConfig::default();
            let (st, s) = state_and_snapshot(&hist, &scored);
            let prepared = st.prepare(&s);
            let w = Window::build(&s, &prepared, &st, &cfg);
            if let Some(p) = w.p_col() {
                let (sc, pc) = (w.cols[w.s_col()], w.cols[p]);
                prop_assert_eq!(entrants_and_exits(&w, p), (missing_from(sc, pc), missing_from(pc, sc)));
            }
        }
    }
}

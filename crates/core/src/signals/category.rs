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

/// Share of positions whose occupant differs between two columns.
fn volatility_cols(a: &Column, b: &Column) -> f64 {
    let cells = |c: &Column| c.cells.iter().map(|x| (x.pos, x.id)).collect::<Vec<_>>();
    changed_share(&cells(a), &cells(b))
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

/// How many products of `a` are not in `b`.
fn missing_from(a: &Column, b: &Column) -> usize {
    a.cells.iter().filter(|x| !b.cells.iter().any(|y| y.id == x.id)).count()
}

/// The category signals of the grid. The state's seen ranges may or may not include the scored
/// snapshot already: the entrant count reads them as if it were merged in, without copying them.
pub(crate) fn category_signals(w: &Window<'_>, baseline: bool, curve: &DemandCurve) -> CategorySignals {
    let s = w.cols[w.s_col()];
    let p = w.p_col().map(|c| w.cols[c]);
    let t = w.t;
    let (entrants, exits) = match p {
        Some(p) => (missing_from(s, p), missing_from(p, s)),
        None => (0, 0),
    };
    let first = w.first_col_since(DAY_SECS);
    let widest = w.cols[first..].iter().map(|c| c.cells.len()).max().unwrap_or(0);
    // The occupants of each column of the day, in one table (`widest + 1` slots per column).
    let stride = widest + 1;
    let mut occ: Vec<Option<u32>> = vec![None; stride * (w.s_col() + 1 - first)];
    for (k, c) in (first..=w.s_col()).enumerate() {
        let row = &mut occ[k * stride..(k + 1) * stride];
        for x in &w.cols[c].cells {
            if let Some(slot) = row.get_mut(usize::from(x.pos)) {
                *slot = Some(x.id);
            }
        }
    }
    // Summed in column order, as a list of the pairs' shares would be.
    let (mut sum, mut n_pairs) = (0.0, 0usize);
    for (k, c) in (first..w.s_col()).enumerate() {
        let m = w.len(c).max(w.len(c + 1));
        let (a, b) = (&occ[k * stride..(k + 1) * stride], &occ[(k + 1) * stride..(k + 2) * stride]);
        let changed = (1..=m).filter(|p| a[*p] != b[*p]).count();
        sum += if m == 0 { 0.0 } else { changed as f64 / m as f64 };
        n_pairs += 1;
    }
    let volatility_24h = if n_pairs == 0 { None } else { Some(sum / n_pairs as f64) };
    let started = w.state.list_started_at.map_or(t, |x| x.min(t));
    let day_ago = t - Duration::seconds(DAY_SECS);
    let counts = |first_seen: DateTime<Utc>| first_seen > day_ago && first_seen <= t && first_seen > started;
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
        volatility: p.map(|p| volatility_cols(s, p)),
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

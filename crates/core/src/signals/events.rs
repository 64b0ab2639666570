//! Events (docs/signals.md §6): conditions, hysteresis, re-arm, severity and deterministic keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::EntryId;
use crate::keys;
use crate::signals::config::SignalConfig;
use crate::signals::items::{expiry, places, EventItem};
use crate::signals::product::ProductSignals;
use crate::signals::state::{fired_kind, Fired};
use crate::signals::window::{slot_pos, Slot, Window};
use crate::snapshot::SnapshotEntry;

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    NewEntrant,
    Reentry,
    DroppedOut,
    EnteredTopN,
    LeftTopN,
    NewNumberOne,
    Climber,
    Faller,
    PriceDrop,
    ReviewsSurge,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::NewEntrant,
        EventKind::Reentry,
        EventKind::DroppedOut,
        EventKind::EnteredTopN,
        EventKind::LeftTopN,
        EventKind::NewNumberOne,
        EventKind::Climber,
        EventKind::Faller,
        EventKind::PriceDrop,
        EventKind::ReviewsSurge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NewEntrant => "new_entrant",
            EventKind::Reentry => "reentry",
            EventKind::DroppedOut => "dropped_out",
            EventKind::EnteredTopN => "entered_top_n",
            EventKind::LeftTopN => "left_top_n",
            EventKind::NewNumberOne => "new_number_one",
            EventKind::Climber => "climber",
            EventKind::Faller => "faller",
            EventKind::PriceDrop => "price_drop",
            EventKind::ReviewsSurge => "reviews_surge",
        }
    }

    /// The kind as written in the event key: top-N events carry their N.
    pub fn key_kind(self, n: Option<u8>) -> String {
        let mut buf = [0u8; KEY_KIND_MAX];
        self.key_kind_in(n, &mut buf).to_string()
    }

    /// The kind and N of a key kind: the inverse of [`EventKind::key_kind`] (`entered_top_10` is
    /// `(EnteredTopN, Some(10))`); `None` for a string no kind writes.
    pub fn from_key_kind(key_kind: &str) -> Option<(EventKind, Option<u8>)> {
        if let Some(kind) = EventKind::ALL.into_iter().find(|k| k.as_str() == key_kind) {
            return Some((kind, None));
        }
        let (kind, digits) = match key_kind.strip_prefix("entered_top_") {
            Some(d) => (EventKind::EnteredTopN, d),
            None => (EventKind::LeftTopN, key_kind.strip_prefix("left_top_")?),
        };
        // Only N as `key_kind` writes it: no sign, no leading zero.
        let n: u8 = digits.parse().ok().filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))?;
        let mut buf = [0u8; KEY_KIND_MAX];
        (kind.key_kind_in(Some(n), &mut buf) == key_kind).then_some((kind, Some(n)))
    }

    /// [`EventKind::key_kind`] written in `buf` (re-arm checks every candidate event against the
    /// fired ones; most candidates are held back, so the check allocates nothing).
    pub(crate) fn key_kind_in(self, n: Option<u8>, buf: &mut [u8; KEY_KIND_MAX]) -> &str {
        let prefix = match (self, n) {
            (EventKind::EnteredTopN, Some(_)) => "entered_top_",
            (EventKind::LeftTopN, Some(_)) => "left_top_",
            _ => return self.as_str(),
        };
        let n = n.unwrap_or(0);
        let mut len = prefix.len();
        buf[..len].copy_from_slice(prefix.as_bytes());
        // `n` in decimal, as `format!("{n}")` writes it.
        let digits = [n / 100, n / 10 % 10, n % 10];
        let skip = if n >= 100 {
            0
        } else if n >= 10 {
            1
        } else {
            2
        };
        for d in &digits[skip..] {
            buf[len] = b'0' + d;
            len += 1;
        }
        std::str::from_utf8(&buf[..len]).unwrap_or(prefix)
    }
}

/// Room for the longest key kind (`entered_top_255`).
pub(crate) const KEY_KIND_MAX: usize = 16;

/// How much an event matters (for filter policies and digests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Notable,
    Major,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Notable => "notable",
            Severity::Major => "major",
        }
    }
}

/// One point of a sparkline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionPoint {
    #[serde(serialize_with = "keys::serialize_time")]
    pub at: DateTime<Utc>,
    pub position: Option<u8>,
}

/// The numbers an event carries besides its kind and product.
#[derive(Default)]
struct Facts {
    n: Option<u8>,
    from: Option<u8>,
    to: Option<u8>,
    previous_number_one: Option<EntryId>,
    reference_price: Option<f64>,
    price_change_share: Option<f64>,
    reviews_before: Option<u64>,
    reviews_after: Option<u64>,
    reviews_delta: Option<i64>,
    last_seen_at: Option<DateTime<Utc>>,
}

/// A string's length with its first and last 8 bytes: equal fingerprints of strings of at most 16
/// bytes are equal strings (the two words cover every byte), so re-arm compares short key kinds and
/// product ids as three integers instead of calling `memcmp`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: usize,
    head: u64,
    tail: u64,
}

impl Fingerprint {
    fn of(s: &str) -> Self {
        let b = s.as_bytes();
        // Two fixed 8-byte loads when there are 8 bytes or more; the string padded with zeros otherwise.
        let (head, tail) = match (b.first_chunk::<8>(), b.last_chunk::<8>()) {
            (Some(h), Some(t)) => (u64::from_le_bytes(*h), u64::from_le_bytes(*t)),
            _ => {
                let mut pad = [0u8; 8];
                pad[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
                (u64::from_le_bytes(pad), u64::from_le_bytes(pad))
            }
        };
        Fingerprint { len: b.len(), head, tail }
    }

    /// Whether the two strings are equal: by the fingerprints, and by `equal` (the strings
    /// compared) when they are too long for the fingerprints to decide.
    fn same(&self, other: &Fingerprint, equal: impl FnOnce() -> bool) -> bool {
        self == other && (self.len <= 16 || equal())
    }
}

/// The fields every event of a snapshot shares, built once.
struct Common {
    pk: String,
    /// The snapshot's time as keys write it ([`keys::ts`]): the start of every event's sort key.
    at: String,
}

impl Common {
    /// [`keys::event_sk`] of the snapshot's time (its text written once a snapshot: it was ~300
    /// instructions an event).
    fn sk(&self, key_kind: &str, product: &EntryId) -> String {
        keys::event_sk_at(&self.at, key_kind, product)
    }
}

pub(crate) struct EventContext {
    pub baseline: bool,
}

/// The events of a scored snapshot, sorted by key, and how many re-arm suppressed.
pub(crate) fn detect(
    w: &Window<'_>,
    products: &[ProductSignals],
    ctx: &EventContext,
    cfg: &SignalConfig,
) -> (Vec<EventItem>, usize) {
    let mut out: Vec<EventItem> = Vec::new();
    if ctx.baseline || w.len(w.s_col()) == 0 {
        return (out, 0);
    }
    let s = w.s_col();
    let p = w.p_col();
    let t = w.t;
    let rearm_from = t - cfg.rearm();
    let top_ns = cfg.top_ns();
    let top_ns: &[u8] = &top_ns;
    let smallest_top = top_ns.last().copied().unwrap_or(3);
    let mut suppressed = 0usize;
    // The events that re-arm holds back: those fired within `[t − rearm, t)`, read once.
    // Their kinds are compared as kind and N (`Fired` holds N for the top-N kinds only, as the key
    // kinds carry it), their products by fingerprint.
    let recent: Vec<(Fingerprint, &Fired)> =
        fired_within(&w.state.fired, rearm_from, t).iter().map(|e| (Fingerprint::of(e.product.as_str()), e)).collect();
    // What every event of this snapshot shares.
    // Built with the first event (most candidates are held back).
    let mut common: Option<Common> = None;
    let mut key_buf = [0u8; KEY_KIND_MAX];
    let mut emit = |kind: EventKind, row: usize, sig: Option<&ProductSignals>, f: Facts, sev: Severity| {
        let id = w.id(row);
        let (k, n) = fired_kind(kind, f.n);
        let fp = Fingerprint::of(id.as_str());
        let held =
            recent.iter().any(|(p, e)| e.kind == k && e.n == n && p.same(&fp, || e.product.as_str() == id.as_str()));
        if held {
            suppressed += 1;
            return;
        }
        let key_kind = kind.key_kind_in(f.n, &mut key_buf).to_string();
        let common = common
            .get_or_insert_with(|| Common { pk: keys::event_pk(w.current.site, &w.current.category), at: keys::ts(t) });
        out.push(event_item(w, common, row, kind, key_kind, sig, f, sev, cfg));
    };

    for (row, sig) in products.iter().enumerate() {
        let pos = sig.position;
        let prev = sig.prev_position;
        // Entrants and re-entries.
        if prev.is_none() {
            if w.seen(row).is_none_or(|r| r.first_seen >= t) {
                let sev = if pos <= smallest_top { Severity::Notable } else { Severity::Info };
                emit(EventKind::NewEntrant, row, Some(sig), Facts { to: Some(pos), ..Facts::default() }, sev);
            } else if p.is_some() {
                let last_seen_at = (0..s).rev().find(|c| w.cell(row, *c).is_some()).map(|c| w.time(c));
                let f = Facts { to: Some(pos), last_seen_at, ..Facts::default() };
                emit(EventKind::Reentry, row, Some(sig), f, Severity::Info);
            }
        }
        let Some(pc) = p else { continue };
        top_n_events(w, row, Some(sig), pc, top_ns, cfg, &mut emit);
        // New #1.
        if pos == 1 {
            let old = w.cols[pc].cells.iter().find(|c| c.pos == 1).map(|c| w.id_of(c.id));
            if let Some(old) = old.filter(|o| *o != &sig.id) {
                let f = Facts { from: prev, to: Some(1), previous_number_one: Some(old.clone()), ..Facts::default() };
                emit(EventKind::NewNumberOne, row, Some(sig), f, Severity::Major);
            }
        }
        // Climbers and fallers.
        if let Some(pp) = prev {
            let up = i32::from(pp) - i32::from(pos);
            let th = i32::from(cfg.move_places.max(1));
            if up >= th {
                let sev = if up >= 2 * th || pos <= 3 { Severity::Notable } else { Severity::Info };
                emit(EventKind::Climber, row, Some(sig), Facts { from: prev, to: Some(pos), ..Facts::default() }, sev);
            } else if -up >= th {
                let f = Facts { from: prev, to: Some(pos), ..Facts::default() };
                emit(EventKind::Faller, row, Some(sig), f, Severity::Info);
            }
        }
        // Price drop against the rolling minimum.
        if let (Some(share), Some(min)) = (sig.price_vs_min, sig.price_min_window) {
            let th = cfg.price_drop_share;
            if th > 0.0 && share <= -th {
                let drop = -share;
                let sev = if drop >= 3.0 * th {
                    Severity::Major
                } else if drop >= 2.0 * th {
                    Severity::Notable
                } else {
                    Severity::Info
                };
                let f = Facts {
                    from: prev,
                    to: Some(pos),
                    reference_price: Some(min),
                    price_change_share: Some(share),
                    ..Facts::default()
                };
                emit(EventKind::PriceDrop, row, Some(sig), f, sev);
            }
        }
        // Reviews surge.
        if let (Some(delta), Some(before), Some(after)) = (sig.reviews_delta_24h, sig.reviews_ref, sig.reviews_total) {
            if let Some(th) = surge_threshold(delta, before, cfg) {
                let sev = if delta as f64 >= 2.0 * th { Severity::Notable } else { Severity::Info };
                let f = Facts {
                    from: prev,
                    to: Some(pos),
                    reviews_before: Some(before),
                    reviews_after: Some(after),
                    reviews_delta: Some(delta),
                    ..Facts::default()
                };
                emit(EventKind::ReviewsSurge, row, Some(sig), f, sev);
            }
        }
    }
    // Products of the previous list that are not in the scored one.
    if let Some(pc) = p {
        for row in w.n_current..w.n_rows() {
            let from = w.pos(row, pc);
            emit(EventKind::DroppedOut, row, None, Facts { from, ..Facts::default() }, Severity::Info);
            top_n_events(w, row, None, pc, top_ns, cfg, &mut emit);
        }
    }
    out.sort_by(|a, b| a.sk.cmp(&b.sk));
    (out, suppressed)
}

/// The reviews-surge threshold, `max(least, ⌈share × before⌉)`, when `delta` reaches it (None: no
/// surge). `ceil` is a libm call, made only for a surge: `delta` is a whole number, so below the
/// least threshold, or below `share × before`, it is below the threshold too.
#[inline]
fn surge_threshold(delta: i64, before: u64, cfg: &SignalConfig) -> Option<f64> {
    let least = cfg.reviews_surge_min.max(1) as f64;
    let (d, share) = (delta as f64, cfg.reviews_surge_share.max(0.0) * before as f64);
    if d < least || d < share {
        return None;
    }
    let th = least.max(share.ceil());
    (d >= th).then_some(th)
}

/// [`surge_threshold`] as defined (docs/signals.md §6).
#[cfg(test)]
fn surge_threshold_plain(delta: i64, before: u64, cfg: &SignalConfig) -> Option<f64> {
    let least = cfg.reviews_surge_min.max(1) as f64;
    let th = least.max((cfg.reviews_surge_share.max(0.0) * before as f64).ceil());
    (delta as f64 >= th).then_some(th)
}

/// The events of `fired` (sorted by time, as [`crate::signals::ListState::fired`] is) fired within
/// `[from, to)`: one slice, found by two binary searches instead of a filter over every event (and
/// collected at its exact size).
fn fired_within(fired: &[Fired], from: DateTime<Utc>, to: DateTime<Utc>) -> &[Fired] {
    let lo = fired.partition_point(|e| e.at < from);
    let hi = lo + fired[lo..].partition_point(|e| e.at < to);
    &fired[lo..hi]
}

/// `in_top_N` at the previous and the scored column of a row of the grid (docs/signals.md §6: in
/// the top N at or above N, out of it below N + h or out of the list, unchanged in between, out
/// before the first column). Walked back from each end to the last column that decides it, which
/// is nearly always that column itself; [`in_top_forward`] is the same walked forward.
fn in_top(slots: &[Slot], n: u8, h: u8) -> (bool, bool) {
    let band_top = u16::from(n) + u16::from(h);
    // Whether a column decides the state, and if so, whether in the top N.
    let decides = |v: Slot| match slot_pos(v) {
        Some(p) if p <= n => Some(true),
        Some(p) if u16::from(p) <= band_top => None,
        _ => Some(false),
    };
    let Some((&now, before)) = slots.split_last() else { return (false, false) };
    let mut was = false;
    for v in before.iter().rev() {
        if let Some(x) = decides(*v) {
            was = x;
            break;
        }
    }
    (was, decides(now).unwrap_or(was))
}

/// [`in_top`] walked forward over every column (the definition; the tests compare the two).
#[cfg(test)]
fn in_top_forward(slots: &[Slot], n: u8, h: u8) -> (bool, bool) {
    let band_top = u16::from(n) + u16::from(h);
    let mut state = false;
    let mut before = false;
    let s = slots.len().saturating_sub(1);
    for (c, v) in slots.iter().enumerate() {
        if c == s {
            before = state;
        }
        state = match slot_pos(*v) {
            Some(p) if p <= n => true,
            Some(p) if u16::from(p) <= band_top => state,
            _ => false,
        };
    }
    (before, state)
}

/// The top-N events of a row: for each N, `in_top_N` at the previous and the scored column
/// ([`in_top`]), and an event where they differ. Inlined into [`detect`]'s loop over the rows: a
/// row rarely has one, and the call with its arguments cost more than the check.
#[inline(always)]
fn top_n_events(
    w: &Window<'_>,
    row: usize,
    sig: Option<&ProductSignals>,
    pc: usize,
    top_ns: &[u8],
    cfg: &SignalConfig,
    emit: &mut impl FnMut(EventKind, usize, Option<&ProductSignals>, Facts, Severity),
) {
    let slots = w.slots(row);
    for &n in top_ns {
        let (was, is) = in_top(slots, n, cfg.hysteresis);
        if was != is {
            top_n_event(w, row, sig, pc, n, is, emit);
        }
    }
}

/// The event of a row that entered (`is`) or left the top `n`.
#[inline(never)]
fn top_n_event(
    w: &Window<'_>,
    row: usize,
    sig: Option<&ProductSignals>,
    pc: usize,
    n: u8,
    is: bool,
    emit: &mut impl FnMut(EventKind, usize, Option<&ProductSignals>, Facts, Severity),
) {
    let facts = Facts { n: Some(n), from: w.pos(row, pc), to: w.pos(row, w.s_col()), ..Facts::default() };
    if is {
        let sev = if n <= 3 { Severity::Notable } else { Severity::Info };
        emit(EventKind::EnteredTopN, row, sig, facts, sev);
    } else {
        emit(EventKind::LeftTopN, row, sig, facts, Severity::Info);
    }
}

#[allow(clippy::too_many_arguments)]
fn event_item(
    w: &Window<'_>,
    common: &Common,
    row: usize,
    kind: EventKind,
    key_kind: String,
    sig: Option<&ProductSignals>,
    f: Facts,
    severity: Severity,
    cfg: &SignalConfig,
) -> EventItem {
    let s = w.current;
    let t = w.t;
    // The entry in the scored list; for a product that left, its cell in the latest list it was in
    // (its title, brand and link are not in the state: the step adds them from its product item).
    let entry: Option<&SnapshotEntry> = s.entries.get(row).filter(|_| row < w.n_current);
    let slots = w.slots(row);
    let cell = slots.iter().rposition(|v| *v != 0).and_then(|c| w.slot_cell(c, slots[c]));
    let id = w.id(row);
    let first = w.cols.len().saturating_sub(cfg.sparkline_points.max(1));
    let recent_positions =
        (first..w.cols.len()).map(|c| PositionPoint { at: w.time(c), position: slot_pos(slots[c]) }).collect();
    EventItem {
        pk: common.pk.clone(),
        sk: common.sk(&key_kind, id),
        kind,
        key_kind,
        n: f.n,
        severity,
        site: s.site,
        category: s.category.clone(),
        product: id.clone(),
        product_type: entry.map_or_else(|| w.kind(row), |e| e.kind),
        taken_at: t,
        title: entry.and_then(|e| e.title.clone()),
        brand: entry.and_then(|e| e.brand.clone()),
        permalink: entry.and_then(|e| e.permalink.clone()),
        price: entry.map_or_else(|| cell.and_then(|c| c.price()), |e| e.price),
        currency: entry.map_or_else(
            || cell.and_then(|c| w.currency(c.cur)).map(str::to_string),
            |e| e.currency.as_deref().map(str::to_string),
        ),
        from_position: f.from,
        to_position: f.to,
        places: places(f.from, f.to),
        previous_number_one: f.previous_number_one,
        reference_price: f.reference_price,
        price_change_share: f.price_change_share,
        reviews_before: f.reviews_before,
        reviews_after: f.reviews_after,
        reviews_delta: f.reviews_delta,
        last_seen_at: f.last_seen_at,
        momentum: sig.map(|x| x.momentum),
        trend: sig.map(|x| x.trend),
        recent_positions,
        expires_at: expiry(t, cfg.event_ttl_days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A row of the grid: absent, or at a position near the top-N bands.
    fn slots() -> impl Strategy<Value = Vec<Slot>> {
        let slot = prop_oneof![Just(0u16), (1u16..40).prop_map(|i| 1 << 8 | i), Just(1 << 8 | 255)];
        prop::collection::vec(slot, 1..30)
    }

    proptest! {
        /// An event's sort key from the snapshot's time written once is the key `keys::event_sk`
        /// writes, at any time (chrono's own text outside the years 0–9999 and for fractions).
        #[test]
        fn sort_keys_from_the_time_written_once_are_event_sks(
            secs in prop_oneof![4 => 1_700_000_000i64..1_800_000_000, 1 => -70_000_000_000i64..300_000_000_000],
            nanos in prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000],
            kind in prop::sample::select(EventKind::ALL.to_vec()),
            n in proptest::option::of(any::<u8>()),
            id in "MLB[0-9]{1,14}",
        ) {
            let Some(t) = DateTime::from_timestamp(secs, nanos) else { return Ok(()) };
            let id = EntryId::parse(&id).unwrap();
            let common = Common { pk: String::new(), at: keys::ts(t) };
            let key_kind = kind.key_kind(n);
            prop_assert_eq!(common.sk(&key_kind, &id), keys::event_sk(t, &key_kind, &id));
        }
    }

    proptest! {
        /// The surge threshold with `ceil` left out below it is the threshold as defined, for any
        /// delta, earlier total, least threshold and share (NaN, infinite and negative ones too).
        #[test]
        fn surge_thresholds_without_ceil_below_them_are_the_thresholds(
            delta in prop_oneof![3 => -100i64..400, 1 => any::<i64>()],
            before in prop_oneof![3 => 0u64..5_000, 1 => any::<u64>()],
            least in prop_oneof![3 => 0u64..40, 1 => any::<u64>()],
            share in prop_oneof![
                3 => 0.0f64..0.2,
                1 => prop::sample::select(vec![0.05, -1.0, 0.0, f64::NAN, f64::INFINITY, 1e-300, 3.7]),
            ],
            at_share in any::<bool>(),
        ) {
            let cfg = SignalConfig { reviews_surge_min: least, reviews_surge_share: share, ..SignalConfig::default() };
            // Now and then a delta right at `share × before`, where `ceil` turns.
            let delta = if at_share { (share.max(0.0) * before as f64) as i64 } else { delta };
            let (got, want) = (surge_threshold(delta, before, &cfg), surge_threshold_plain(delta, before, &cfg));
            prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits));
        }
    }

    proptest! {
        /// The events fired within a range, found by binary search in a list sorted by time, are
        /// those a filter keeps (ties at either end, empty ranges and reversed ones too).
        #[test]
        fn events_fired_within_are_those_filtered(
            mut hours in prop::collection::vec(0i64..30, 0..40),
            from in -2i64..32,
            to in -2i64..32,
        ) {
            hours.sort_unstable();
            let at = |h: i64| DateTime::from_timestamp(1_793_000_000 + h * 3_600, 0).unwrap();
            let fired: Vec<Fired> = hours
                .iter()
                .map(|h| Fired::of(at(*h), EventKind::Climber, None, EntryId::parse(&format!("MLB{h}")).unwrap()))
                .collect();
            let (from, to) = (at(from), at(to));
            let want: Vec<&Fired> = fired.iter().filter(|e| e.at >= from && e.at < to).collect();
            let got: Vec<&Fired> = fired_within(&fired, from, to).iter().collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn key_kinds_no_kind_writes_are_refused() {
        for s in ["", "entered_top_", "entered_top_010", "entered_top_+1", "left_top_256", "left_top_n1", "climbers"] {
            assert_eq!(EventKind::from_key_kind(s), None, "{s:?}");
        }
        assert_eq!(EventKind::from_key_kind("entered_top_n"), Some((EventKind::EnteredTopN, None)));
        assert_eq!(EventKind::from_key_kind("left_top_0"), Some((EventKind::LeftTopN, Some(0))));
    }

    proptest! {
        #[test]
        fn in_top_walked_back_is_in_top_walked_forward(row in slots(), n in 0u8..=20, h in prop_oneof![0u8..=4, Just(255u8)]) {
            prop_assert_eq!(in_top(&row, n, h), in_top_forward(&row, n, h));
        }

        #[test]
        fn fingerprints_tell_strings_apart(a in "[a-c_0-9]{0,20}", b in "[a-c_0-9]{0,20}", same in any::<bool>()) {
            let b = if same { a.clone() } else { b };
            let (fa, fb) = (Fingerprint::of(&a), Fingerprint::of(&b));
            prop_assert_eq!(fa.same(&fb, || a == b), a == b);
            // Past 16 bytes the middle is compared too.
            if a.len() > 16 {
                let mut c = a.clone().into_bytes();
                c[8] = if c[8] == b'a' { b'b' } else { b'a' };
                let c = String::from_utf8(c).unwrap();
                prop_assert!(!fa.same(&Fingerprint::of(&c), || a == c));
            }
        }

        #[test]
        fn key_kinds_are_written_as_format_writes_them(n in proptest::option::of(proptest::num::u8::ANY)) {
            for kind in EventKind::ALL {
                let want = match (kind, n) {
                    (EventKind::EnteredTopN, Some(n)) => format!("entered_top_{n}"),
                    (EventKind::LeftTopN, Some(n)) => format!("left_top_{n}"),
                    _ => kind.as_str().to_string(),
                };
                prop_assert_eq!(kind.key_kind(n), want.clone());
                // Read back: N only counts for the top-N kinds.
                let n_back = n.filter(|_| matches!(kind, EventKind::EnteredTopN | EventKind::LeftTopN));
                prop_assert_eq!(EventKind::from_key_kind(&want), Some((kind, n_back)));
            }
        }
    }
}

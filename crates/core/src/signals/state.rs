//! The scorer's state of one list, `CAT#{site}#{cat}` / `SCORE` (docs/signals.md §7): the snapshots
//! of the lookback window in compact form (interned ids; position, price, currency and review total
//! per entry), the seen state, the events fired within the re-arm window and the dwell runs of the newest
//! list. Scoring a record reads and writes this one item instead of reading the window's snapshot
//! items, the `SEEN` item and the recent event keys (docs/decisions.md, "One scorer state item").
//!
//! Everything in it is derivable from the snapshot and event items: when it is missing, unreadable or
//! does not reach back far enough for the snapshot being scored (a late, out-of-order record), the step
//! rebuilds the part it needs from them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{CategoryId, EntryId, EntryType, Position, SiteId};
use crate::keys;
use crate::signals::codec::{
    base64_decode, base64_encode, base64_push, reserve_room, room, unzig, zig, CodecError, Reader, Writer,
};
use crate::signals::config::SignalConfig;
use crate::signals::events::{EventKind, KEY_KIND_MAX};
use crate::signals::items::{EventItem, FiredEvent, SeenRange};
use crate::signals::product::ProductSignals;
use crate::signals::window::ColumnTables;
use crate::snapshot::Snapshot;
use crate::store::{Attrs, Item, StoreError};

/// The sort key of the scorer state.
pub const SCORE_SK: &str = "SCORE";

/// "No currency" in [`Cell::cur`].
pub const NO_CURRENCY: u16 = u16::MAX;

/// The blob's format version (first two bytes: `b'S'`, version; see [`ListState::encode`]). 1 wrote
/// every cell against the product's previous appearance only, with a position byte, and ids whole;
/// 2 (sessions 5–12, still read) wrote each product's `last_seen` against the newest and no
/// reference columns (3 was session 9's, reverted: never read); 4 (session 13, still read) wrote
/// the events' kinds through a table of key kinds; 5 (session 14, still read) numbered the products
/// in the cells and events by their places in `ids` (no slots); a blob of another version is
/// unreadable, and the step rebuilds the state from the items.
const FORMAT: u8 = 6;

/// The formats before [`FORMAT`], read as they were written.
const FORMAT_2: u8 = 2;
const FORMAT_4: u8 = 4;
const FORMAT_5: u8 = 5;

/// At most this many columns the state dropped are kept in its bytes as the first column's
/// reference (see [`ListState::encode`]); one more, and the first column is written whole again.
const MAX_REFS: usize = 8;

/// One entry of a stored snapshot.
#[derive(Clone, Copy, PartialEq)]
pub struct Cell {
    /// The price's bits and the review total, meaningful when `has` says so (zero otherwise, so
    /// the derived equality is the fields'). 24 bytes a cell instead of 40 with two `Option`s:
    /// a state holds 28 columns of them, decoded and encoded for every record.
    price_bits: u64,
    reviews: u64,
    /// Index into [`ListState::ids`] (or, for the scored snapshot, past its end for a product the
    /// state does not know yet).
    pub id: u32,
    /// Index into [`ListState::currencies`], or [`NO_CURRENCY`].
    pub cur: u16,
    pub pos: u8,
    /// Bit 0: a price; bit 1: a review total.
    has: u8,
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cell")
            .field("id", &self.id)
            .field("pos", &self.pos)
            .field("cur", &self.cur)
            .field("price", &self.price())
            .field("reviews", &self.reviews())
            .finish()
    }
}

impl Cell {
    pub fn new(id: u32, pos: u8, cur: u16, price: Option<f64>, reviews: Option<u64>) -> Self {
        Cell {
            price_bits: price.map_or(0, f64::to_bits),
            reviews: reviews.unwrap_or(0),
            id,
            cur,
            pos,
            has: u8::from(price.is_some()) | (u8::from(reviews.is_some()) << 1),
        }
    }

    #[inline]
    pub fn price(&self) -> Option<f64> {
        (self.has & 1 != 0).then(|| f64::from_bits(self.price_bits))
    }

    #[inline]
    pub fn reviews(&self) -> Option<u64> {
        (self.has & 2 != 0).then_some(self.reviews)
    }

    #[inline]
    pub fn set_reviews(&mut self, r: Option<u64>) {
        self.reviews = r.unwrap_or(0);
        self.has = (self.has & !2) | (u8::from(r.is_some()) << 1);
    }
}

/// The start of a product's runs in the top N and at #1, kept for the newest column only (apart
/// from the cells: a state holds one column of them and 27 without).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Dwell {
    pub top_since: Option<DateTime<Utc>>,
    pub one_since: Option<DateTime<Utc>>,
}

/// One snapshot of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub at: DateTime<Utc>,
    /// In position order.
    pub cells: Vec<Cell>,
    /// The dwell runs of the cells, parallel to them (the newest column only; empty for the others).
    pub dwell: Vec<Dwell>,
}

impl Column {
    /// Whether the column carries its cells' dwell runs.
    pub fn runs(&self) -> bool {
        !self.dwell.is_empty()
    }
}

/// An event already emitted for the list (for re-arm): its time, its key kind as a kind and N
/// (no string: [`Fired::of`]) and its product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// N of the top-N kinds; None for the other kinds (their key kinds carry no N).
    pub n: Option<u8>,
    pub product: EntryId,
}

impl Fired {
    /// The fired event of a kind and N: N kept for the top-N kinds only, so that two events are
    /// the same exactly when their key kinds ([`EventKind::key_kind`]) are.
    pub fn of(at: DateTime<Utc>, kind: EventKind, n: Option<u8>, product: EntryId) -> Self {
        let (kind, n) = fired_kind(kind, n);
        Fired { at, kind, n, product }
    }

    /// The fired event of a key kind (`entered_top_10`); None for a key kind this scorer does not
    /// emit (such an event holds nothing back: re-arm compares it with the events it emits).
    pub fn of_key_kind(at: DateTime<Utc>, key_kind: &str, product: EntryId) -> Option<Self> {
        let (kind, n) = EventKind::from_key_kind(key_kind)?;
        Some(Fired::of(at, kind, n, product))
    }

    /// The fired event of an emitted one: its kind and N, when its key kind is theirs (as every
    /// event `score` emits), else read from its key kind.
    fn of_item(e: &EventItem) -> Option<Self> {
        let mut buf = [0u8; KEY_KIND_MAX];
        if e.kind.key_kind_in(e.n, &mut buf) == e.key_kind {
            Some(Fired::of(e.taken_at, e.kind, e.n, e.product.clone()))
        } else {
            Fired::of_key_kind(e.taken_at, &e.key_kind, e.product.clone())
        }
    }

    /// The key kind (`entered_top_10`).
    pub fn key_kind(&self) -> String {
        self.kind.key_kind(self.n)
    }
}

/// A kind and N as [`Fired`] holds them: N for the top-N kinds only.
#[inline]
pub(crate) fn fired_kind(kind: EventKind, n: Option<u8>) -> (EventKind, Option<u8>) {
    match kind {
        EventKind::EnteredTopN | EventKind::LeftTopN => (kind, n),
        _ => (kind, None),
    }
}

/// An event's kind and N as one number in the blob (format 5): the kind's place in
/// [`EventKind::ALL`], plus [`KINDS`] × (N + 1) for a top-N kind with its N (one byte up to N = 11).
#[inline]
fn event_code(kind: EventKind, n: Option<u8>) -> u64 {
    kind as u64 + KINDS * n.map_or(0, |n| u64::from(n) + 1)
}

/// The base of [`event_code`]: the number of kinds format 5 was written with. The codes hold only
/// while the kinds are these ten, each at its discriminant's place in [`EventKind::ALL`] (checked
/// when compiling): a kind more needs a new format.
const KINDS: u64 = 10;
const _: () = {
    assert!(EventKind::ALL.len() as u64 == KINDS);
    let mut i = 0;
    while i < EventKind::ALL.len() {
        assert!(EventKind::ALL[i] as usize == i);
        i += 1;
    }
};

/// What [`event_code`] wrote; anything else (N for a kind without one, N above 255) an error.
fn event_of_code(code: u64) -> Result<(EventKind, Option<u8>), CodecError> {
    let kind = EventKind::ALL[(code % KINDS) as usize];
    let n = match code / KINDS {
        0 => None,
        n => Some(u8::try_from(n - 1).map_err(|_| CodecError("a bad event kind"))?),
    };
    if fired_kind(kind, n) != (kind, n) {
        return Err(CodecError("a bad event kind"));
    }
    Ok((kind, n))
}

/// See the module docs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListState {
    /// Incremented by every write (compare-and-swap); stored next to the bytes, not in them.
    pub version: u64,
    /// Every product the list has had, sorted.
    pub ids: Vec<EntryId>,
    /// Parallel to `ids`.
    pub kinds: Vec<EntryType>,
    /// Parallel to `ids`: first and last time in the list (min/max merges: order-independent).
    pub seen: Vec<SeenRange>,
    pub list_started_at: Option<DateTime<Utc>>,
    /// Every snapshot scored at or after this time is in `cols` (None: nothing is known to be complete).
    pub complete_from: Option<DateTime<Utc>>,
    /// Every event fired at or after this time is in `fired`.
    pub fired_from: Option<DateTime<Utc>>,
    pub currencies: Vec<String>,
    /// Ascending by time, one per time.
    pub cols: Vec<Column>,
    /// Sorted by time.
    pub fired: Vec<Fired>,
    /// What [`ListState::encode_reusing`] wrote last (not part of the state: equal states may hold
    /// different ones).
    written: Written,
    /// What the scorer's grid reads from each column, kept from one record to the next (not part
    /// of the state either; see [`ColumnTables`]).
    tables: ColumnTables,
}

/// What the last [`ListState::encode_reusing`] wrote: its bytes, and where in them each product's
/// head, each column and each event's product index are, with what they depend on. A write copies
/// from these bytes what still holds (runs of unchanged columns in one copy). A column's cells, and
/// the previous column's, do not change while it is in the state; the bytes number the products by
/// their slots (`slots`), which a new product does not move ([`Written::renumber`]), so its columns
/// stay as written; an event's bytes are checked against the event when they are copied
/// ([`WrittenEvent`]).
#[derive(Clone, Default)]
struct Written {
    blob: Vec<u8>,
    /// The base64 of `blob` (the state item's `state`).
    text: String,
    /// The state's base time (seconds) the bytes were written against.
    base: i64,
    /// Per product, in the order of `ids`, from `ids_at`.
    heads: Vec<IdHead>,
    /// Where in `blob` the first product is.
    ids_at: u32,
    columns: Vec<WrittenColumn>,
    /// The events, in their order.
    events: Vec<WrittenEvent>,
    /// Per product, in the order of `ids`, its slot: the number the bytes give it in the cells and
    /// the events (format 6). A product keeps its slot from one write to the next and a new one
    /// takes the next free (`renumber`), so a new product renumbers no written cell. Empty: each
    /// product's slot is its index (what a write without a last one uses).
    slots: Vec<u32>,
}

/// An event's bytes in `blob` (`start..end`: its time against the previous event's, its kind and
/// N, its product as its slot + 1; `idx` is the product's index in `ids`, kept up to date by
/// [`Written::renumber`], or `u32::MAX` when written as its id). They hold, and are copied, while
/// the event is the same, `ids[idx]` is still its product and the event before it is the same as
/// well (the first is written against the base).
#[derive(Clone, Copy)]
struct WrittenEvent {
    at: DateTime<Utc>,
    kind: EventKind,
    n: Option<u8>,
    idx: u32,
    start: u32,
    end: u32,
}

/// A product's bytes (the id front-coded with the type, `first_seen`, `last_seen`, its slot): they
/// change only with the table (a new product: [`Written::renumber`] keeps the others), the state's base time,
/// the product's `first_seen` (an older snapshot merged late) or its `last_seen` as written (the
/// newest, or a time against `first_seen`: it changes when the product leaves the newest list or
/// comes back).
#[derive(Clone, Copy)]
struct IdHead {
    first_seen: DateTime<Utc>,
    /// Its `last_seen` as written: None for "the newest" (one zero byte).
    last: Option<DateTime<Utc>>,
    /// `blob[ids_at + start..ids_at + end]`; `start == u32::MAX`: not to be reused (new since, or
    /// after a new one).
    start: u32,
    end: u32,
}

/// A column's bytes in `blob`: `start..end`, its flags byte at `flags`, its dwell runs from `runs`
/// (the bytes of the column without its runs, which the newest column loses when another comes).
/// Its cells name products by their slots, which new products do not move: the bytes hold while
/// the column and the one before it do. What it was written against is not kept (32 bytes a
/// column, not 64: a write reads them all): the columns of a write are a chain, each written
/// against the one before it and the first against the write's base ([`Written::key`]).
#[derive(Clone, Copy)]
struct WrittenColumn {
    at: DateTime<Utc>,
    start: u32,
    flags: u32,
    runs: u32,
    end: u32,
    /// Written with its dwell runs.
    with_runs: bool,
}

const _: () = assert!(std::mem::size_of::<WrittenColumn>() == 32);

/// The buffers of a write between writes (see [`ListState::write_reusing`]): their contents are
/// stale, only their room is kept.
#[derive(Default)]
struct Room {
    blob: Vec<u8>,
    text: String,
    heads: Vec<IdHead>,
    columns: Vec<WrittenColumn>,
    events: Vec<WrittenEvent>,
    spans: Vec<Span>,
}

/// A buffer larger than this (bytes) is not kept between writes, so that a state far larger than
/// the others does not hold its room on the thread.
const ROOM_MAX: usize = 64 << 10;

impl Room {
    /// The buffers a write leaves: a blob, a text, the vectors of `before`, spans.
    fn of(blob: Vec<u8>, text: String, before: Written, spans: Vec<Span>) -> Room {
        fn kept<T>(v: Vec<T>) -> Vec<T> {
            if v.capacity() * std::mem::size_of::<T>() > ROOM_MAX {
                Vec::new()
            } else {
                v
            }
        }
        Room {
            blob: kept(blob),
            text: if text.capacity() > ROOM_MAX { String::new() } else { text },
            heads: kept(before.heads),
            columns: kept(before.columns),
            events: kept(before.events),
            spans: kept(spans),
        }
    }
}

/// `new`'s contents copied into `old`'s buffer, which `new` takes; `old` is left with `new`'s buffer.
fn keep_room<T: Copy>(old: &mut Vec<T>, new: &mut Vec<T>) {
    std::mem::swap(old, new);
    new.clear();
    new.extend_from_slice(old);
}

thread_local! {
    /// The buffers of the last write on this thread (empty while a write holds them).
    static SPARE: std::cell::Cell<Room> = std::cell::Cell::new(Room::default());
}

/// Bytes of the last write copied into a new one: `len` bytes from `from` in the last write's blob
/// to `to` in the new one.
#[derive(Clone, Copy, Debug)]
struct Span {
    to: u32,
    from: u32,
    len: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct ColumnKey {
    at: DateTime<Utc>,
    /// The previous column's time (None: the first column, written against no cells).
    prev: Option<DateTime<Utc>>,
    /// The time (seconds) the first column is written against, the state's base (0 for the others:
    /// `prev` says it).
    against: i64,
    runs: bool,
}

impl Written {
    /// The key `columns[k]` was written with (`k` must be below their count): its time, the
    /// previous column's (none for the first) and for the first the write's base.
    fn key(&self, k: usize) -> ColumnKey {
        let c = &self.columns[k];
        let prev = k.checked_sub(1).and_then(|p| self.columns.get(p)).map(|p| p.at);
        ColumnKey { at: c.at, prev, against: if k == 0 { self.base } else { 0 }, runs: c.with_runs }
    }

    /// After `intern` put new products into `ids`: `remap` takes each old index (below `old`) and
    /// each new one (from `old` on) to its place in the new table. Each old product keeps its slot
    /// and the new ones take the next ones, in their order (`old`, `old` + 1, …): the columns and
    /// events written name products by slot, so they keep their bytes, as do the products' heads
    /// but for the new ones and the one after each (its shared prefix changes).
    fn renumber(&mut self, remap: &[u32], old: usize) {
        if !self.slots.is_empty() && self.slots.len() != old {
            // Not the table the bytes were written for (not reached): nothing of them is kept.
            *self = Written::default();
        }
        let mut slots = vec![0u32; remap.len()];
        for (k, to) in remap.iter().enumerate() {
            slots[*to as usize] = self.slots.get(k).copied().unwrap_or(k as u32);
        }
        self.slots = slots;
        for e in &mut self.events {
            if let Some(to) = remap.get(e.idx as usize) {
                e.idx = *to;
            }
        }
        let stale = IdHead { first_seen: DateTime::UNIX_EPOCH, last: None, start: u32::MAX, end: u32::MAX };
        let mut heads = vec![stale; remap.len()];
        if self.heads.len() == old {
            for (h, to) in self.heads.iter().zip(remap) {
                heads[*to as usize] = *h;
            }
            for to in &remap[old..] {
                heads[*to as usize] = stale;
                if let Some(next) = heads.get_mut(*to as usize + 1) {
                    *next = stale;
                }
            }
        }
        self.heads = heads;
    }
}

impl PartialEq for Written {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} columns written", self.columns.len())
    }
}

/// The scored snapshot laid out against a state: its column (ids and currencies the state does not
/// know yet get indices past the ends of its tables, in order of appearance).
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared<'a> {
    pub col: Column,
    pub new_ids: Vec<(&'a EntryId, EntryType)>,
    pub new_currencies: Vec<&'a str>,
}

impl ListState {
    /// The index of a product in `ids`.
    pub fn index_of(&self, id: &EntryId) -> Option<u32> {
        let b = id.as_str().as_bytes();
        let found = match word_key(b) {
            // Ids of 8 to 16 bytes (most) compare as three integers.
            Some(k) => self.ids.binary_search_by(|x| {
                let x = x.as_str().as_bytes();
                word_key(x).map_or_else(|| cmp_bytes(x, b), |xk| xk.cmp(&k))
            }),
            None => self.ids.binary_search_by(|x| cmp_bytes(x.as_str().as_bytes(), b)),
        };
        found.ok().map(|i| i as u32)
    }

    /// When the product was first and last in the list, as far as the state knows.
    pub fn seen_of(&self, idx: u32) -> Option<&SeenRange> {
        self.seen.get(idx as usize)
    }

    /// Whether any snapshot before `t` has been merged.
    pub fn any_before(&self, t: DateTime<Utc>) -> bool {
        self.list_started_at.is_some_and(|s| s < t)
    }

    /// Whether the state holds every snapshot and event that scoring a snapshot taken at `t` reads:
    /// the snapshots of `[t − lookback, t)` and the events of `[t − rearm, t)`.
    pub fn covers(&self, t: DateTime<Utc>, cfg: &SignalConfig) -> bool {
        self.complete_from.is_some_and(|f| f <= t - cfg.lookback())
            && self.fired_from.is_some_and(|f| f <= t - cfg.rearm())
    }

    /// About how many bytes the state takes in memory, its own struct included (what
    /// `score_step::StateCache` counts against its budget).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let ids: usize = self.ids.iter().map(|i| i.as_str().len()).sum();
        let cols: usize = self
            .cols
            .iter()
            .map(|c| c.cells.capacity() * size_of::<Cell>() + c.dwell.capacity() * size_of::<Dwell>())
            .sum();
        let fired: usize = self.fired.iter().map(|f| f.product.as_str().len()).sum();
        size_of::<Self>()
            + self.ids.capacity() * size_of::<EntryId>()
            + ids
            + self.kinds.capacity() * size_of::<EntryType>()
            + self.seen.capacity() * size_of::<SeenRange>()
            + self.currencies.iter().map(|c| size_of::<String>() + c.capacity()).sum::<usize>()
            + self.cols.capacity() * size_of::<Column>()
            + cols
            + self.fired.capacity() * size_of::<Fired>()
            + fired
            + self.written.blob.capacity()
            + self.written.text.capacity()
            + self.written.heads.capacity() * size_of::<IdHead>()
            + self.written.columns.capacity() * size_of::<WrittenColumn>()
            + self.written.events.capacity() * size_of::<WrittenEvent>()
            + self.written.slots.capacity() * size_of::<u32>()
            + self.tables.heap_bytes()
    }

    /// The tables of the columns (the scorer's grid reads them; [`ColumnTables`]).
    pub(crate) fn tables(&self) -> &ColumnTables {
        &self.tables
    }

    /// The time of the newest snapshot held.
    pub fn newest(&self) -> Option<DateTime<Utc>> {
        self.cols.last().map(|c| c.at)
    }

    /// The state of a `SCORE` item's `version` and `state` attributes ([`ScoreStateItem`]).
    pub fn from_stored(version: u64, state: &str) -> Result<Self, CodecError> {
        let mut s = ListState::decode(&base64_decode(state)?)?;
        s.version = version;
        Ok(s)
    }

    /// [`ListState::index_of`], looking first at the products of the cells `near[at − 1..=at + 1]`
    /// (a list is nearly the previous one: most products are at or next to their earlier place).
    #[inline(always)]
    pub(crate) fn index_near(&self, id: &EntryId, near: &[Cell], at: usize) -> Option<u32> {
        let b = id.as_str().as_bytes();
        for j in [at, at.wrapping_sub(1), at + 1] {
            let Some(c) = near.get(j) else { continue };
            if self.ids.get(c.id as usize).is_some_and(|x| same_bytes(x.as_str().as_bytes(), b)) {
                return Some(c.id);
            }
        }
        self.index_of(id)
    }

    /// Lays a snapshot out against the state's tables.
    pub fn prepare<'a>(&self, s: &'a Snapshot) -> Prepared<'a> {
        self.prepare_near(s, true)
    }

    /// [`ListState::prepare`]; `near`: each entry's product looked for first among the newest
    /// column's cells at its index ([`ListState::index_near`]), else searched.
    pub(crate) fn prepare_near<'a>(&self, s: &'a Snapshot, near: bool) -> Prepared<'a> {
        let newest: &[Cell] = match (near, self.cols.last()) {
            (true, Some(c)) => &c.cells,
            _ => &[],
        };
        let mut new_ids: Vec<(&EntryId, EntryType)> = Vec::new();
        let mut new_currencies: Vec<&str> = Vec::new();
        let mut cells = Vec::with_capacity(s.entries.len());
        for (i, e) in s.entries.iter().enumerate() {
            let id = match self.index_near(&e.id, newest, i) {
                Some(i) => i,
                None => {
                    new_ids.push((&e.id, e.kind));
                    (self.ids.len() + new_ids.len() - 1) as u32
                }
            };
            let cur = match e.currency.as_deref() {
                None => NO_CURRENCY,
                Some(c) => match self.currencies.iter().position(|x| x == c) {
                    Some(i) => i as u16,
                    None => match new_currencies.iter().position(|x| *x == c) {
                        Some(i) => (self.currencies.len() + i) as u16,
                        None => {
                            new_currencies.push(c);
                            (self.currencies.len() + new_currencies.len() - 1) as u16
                        }
                    },
                },
            };
            cells.push(Cell::new(id, e.position.get(), cur, e.price, e.reviews_total));
        }
        Prepared { col: Column { at: s.taken_at, cells, dwell: Vec::new() }, new_ids, new_currencies }
    }

    /// Merges a scored snapshot in: its products and currencies, its column (with the dwell runs of
    /// `products` when it is the newest), its seen ranges and the `events` emitted for it; drops what
    /// fell out of the windows. Merging the same snapshot again changes nothing.
    pub fn absorb(&mut self, s: &Snapshot, products: &[ProductSignals], events: &[EventItem], cfg: &SignalConfig) {
        self.absorb_prepared(s, None, products, events, cfg);
    }

    /// [`ListState::absorb`] with the snapshot already laid out against this state, as it is now
    /// (`prepared`: what [`crate::signals::score_keeping`] or [`ListState::prepare`] gave for `s`
    /// before any change to the state; checked in debug builds). None: laid out here.
    pub fn absorb_prepared(
        &mut self,
        s: &Snapshot,
        prepared: Option<Prepared<'_>>,
        products: &[ProductSignals],
        events: &[EventItem],
        cfg: &SignalConfig,
    ) {
        if s.entries.is_empty() {
            return;
        }
        let col = match prepared {
            Some(p) => {
                debug_assert!(p == self.prepare(s), "a snapshot laid out against another state");
                self.intern(p)
            }
            None => match self.known_column(s) {
                Some(col) => col,
                None => {
                    let prepared = self.prepare(s);
                    self.intern(prepared)
                }
            },
        };
        let t = s.taken_at;
        // Seen ranges.
        self.list_started_at = Some(self.list_started_at.map_or(t, |x| x.min(t)));
        for c in &col.cells {
            let r = &mut self.seen[c.id as usize];
            r.first_seen = r.first_seen.min(t);
            r.last_seen = r.last_seen.max(t);
        }
        // The column, in time order.
        match self.cols.binary_search_by_key(&t, |c| c.at) {
            Ok(_) => {}
            Err(i) => self.cols.insert(i, col),
        }
        // Dwell runs: on the newest column only (the vector the previous newest had is reused).
        let last = self.cols.len() - 1;
        let mut spare = Vec::new();
        for c in &mut self.cols[..last] {
            if c.runs() {
                spare = std::mem::take(&mut c.dwell);
            }
        }
        let newest = &mut self.cols[last];
        if newest.at == t && !newest.runs() && !products.is_empty() && products.len() == newest.cells.len() {
            spare.clear();
            spare.extend(products.iter().map(|p| Dwell { top_since: p.top_since, one_since: p.number_one_since }));
            newest.dwell = spare;
        }
        // Fired events.
        for f in events.iter().filter_map(Fired::of_item) {
            self.remember(f);
        }
        self.trim(cfg);
    }

    /// The snapshot laid out against the state when every product and currency in it is already in
    /// the tables (what [`ListState::prepare`] gives then, without its lists of new ids and
    /// currencies to build), None when one is new. Products are looked up as `prepare` does
    /// ([`ListState::index_near`]).
    fn known_column(&self, s: &Snapshot) -> Option<Column> {
        let near: &[Cell] = self.cols.last().map_or(&[], |c| &c.cells);
        let mut cells = Vec::with_capacity(s.entries.len());
        for (i, e) in s.entries.iter().enumerate() {
            let id = self.index_near(&e.id, near, i)?;
            let cur = match e.currency.as_deref() {
                None => NO_CURRENCY,
                Some(c) => self.currencies.iter().position(|x| same_bytes(x.as_bytes(), c.as_bytes()))? as u16,
            };
            cells.push(Cell::new(id, e.position.get(), cur, e.price, e.reviews_total));
        }
        Some(Column { at: s.taken_at, cells, dwell: Vec::new() })
    }

    /// Records a fired event (no duplicates), in time order. A duplicate has the same time: only
    /// the events of that time are compared (`fired` is sorted by time; `decode` refuses events out
    /// of order).
    pub fn remember(&mut self, f: Fired) {
        let from = self.fired.partition_point(|x| x.at < f.at);
        let same_time = self.fired[from..].iter().take_while(|x| x.at == f.at);
        let mut i = from;
        for x in same_time {
            if x == &f {
                return;
            }
            i += 1;
        }
        self.fired.insert(i, f);
    }

    /// Drops the snapshots older than the lookback and the events older than the re-arm window
    /// before the newest snapshot (an older snapshot scored late rebuilds what it needs).
    fn trim(&mut self, cfg: &SignalConfig) {
        let Some(newest) = self.newest() else { return };
        let from = newest - cfg.lookback();
        let keep = self.cols.partition_point(|c| c.at < from);
        self.cols.drain(..keep);
        self.complete_from = self.complete_from.map(|c| c.max(from));
        let from = newest - cfg.rearm();
        let keep = self.fired.partition_point(|f| f.at < from);
        self.fired.drain(..keep);
        self.fired_from = self.fired_from.map(|c| c.max(from));
    }

    /// Adds the new ids and currencies of a prepared column to the tables (ids stay sorted: the
    /// indices of every column are remapped when one is inserted before others) and returns the
    /// column with its final indices.
    fn intern(&mut self, p: Prepared<'_>) -> Column {
        let Prepared { mut col, new_ids, new_currencies } = p;
        self.currencies.extend(new_currencies.iter().map(|c| c.to_string()));
        if new_ids.is_empty() {
            return col;
        }
        let old = self.ids.len();
        let t = col.at;
        // Merge the sorted old table with the new ids; map old and provisional indices to final ones.
        let mut order: Vec<(usize, &EntryId)> = new_ids.iter().enumerate().map(|(k, (id, _))| (old + k, *id)).collect();
        order.sort_by(|a, b| a.1.cmp(b.1));
        let mut remap = vec![0u32; old + new_ids.len()];
        let mut ids = Vec::with_capacity(remap.len());
        let mut kinds = Vec::with_capacity(remap.len());
        let mut seen = Vec::with_capacity(remap.len());
        let mut old_ids = std::mem::take(&mut self.ids).into_iter().zip(self.kinds.drain(..)).zip(self.seen.drain(..));
        let mut next_old = old_ids.next();
        let mut i_old = 0usize;
        let mut new_it = order.into_iter().peekable();
        loop {
            let take_new = match (&next_old, new_it.peek()) {
                (None, None) => break,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(((o, _), _)), Some((_, n))) => *n < o,
            };
            let at = ids.len() as u32;
            if take_new {
                if let Some((prov, id)) = new_it.next() {
                    remap[prov] = at;
                    ids.push(id.clone());
                    kinds.push(new_ids[prov - old].1);
                    seen.push(SeenRange { first_seen: t, last_seen: t });
                }
            } else if let Some(((id, kind), range)) = next_old.take() {
                remap[i_old] = at;
                i_old += 1;
                ids.push(id);
                kinds.push(kind);
                seen.push(range);
                next_old = old_ids.next();
            }
        }
        drop(old_ids);
        self.ids = ids;
        self.kinds = kinds;
        self.seen = seen;
        for c in &mut self.cols {
            for cell in &mut c.cells {
                cell.id = remap[cell.id as usize];
            }
        }
        for cell in &mut col.cells {
            cell.id = remap[cell.id as usize];
        }
        // What was written for the cells the renumbering moved no longer holds.
        self.written.renumber(&remap, old);
        col
    }

    /// Builds the part of the state a snapshot at `t` needs from the store's items: the snapshots
    /// of `[t − lookback, t)` and the events fired in `[t − rearm, t)` (the fallback of the step),
    /// merged into what the state already has.
    pub fn rebuild_from(&mut self, t: DateTime<Utc>, history: &[Snapshot], fired: &[FiredEvent], cfg: &SignalConfig) {
        let mut hist: Vec<&Snapshot> = history.iter().filter(|h| h.taken_at < t && !h.entries.is_empty()).collect();
        hist.sort_by_key(|h| h.taken_at);
        for h in hist {
            // Older columns carry no dwell runs; `absorb` keeps them on the newest only.
            self.absorb(h, &[], &[], cfg);
        }
        for f in fired {
            if f.at < t {
                // An event of a kind this scorer does not emit holds nothing back: not kept.
                if let Some(f) = Fired::of_key_kind(f.at, &f.key_kind, f.product.clone()) {
                    self.remember(f);
                }
            }
        }
        // Complete from `t − window` on when nothing is missing between `t` and what was complete.
        if self.complete_from.is_none_or(|c| c <= t) {
            self.complete_from = Some(t - cfg.lookback());
        }
        if self.fired_from.is_none_or(|c| c <= t) {
            self.fired_from = Some(t - cfg.rearm());
        }
        self.trim(cfg);
    }

    /// The state as bytes (see [`ListState::decode`]). Format 6, in order (times are zigzag seconds
    /// against the base named, see `codec`):
    ///
    /// - `b'S'`, 6, a flags byte (which of the three times below are present), `list_started_at`
    ///   (against 0: the base of the others), `complete_from`, `fired_from`;
    /// - the products: their count; when there are any, the newest `last_seen`; then per product,
    ///   in order, the length of the prefix it shares with the previous id × 3 + its type, the rest
    ///   of the id, `first_seen` (against the base) and `last_seen`: a zero byte for the newest,
    ///   else the time against the product's `first_seen` with 1 added to its first varint
    ///   ([`Writer::time_plus`]), so that a product's bytes stay as they were from one record to
    ///   the next while it stays in the newest list or out of it; then its slot, the number the
    ///   cells and events give it (each of `0..count` once). This encoder numbers the products in
    ///   order; [`ListState::encode_reusing`] keeps each product's slot from its last write and
    ///   gives new ones the next, so that a new product renumbers nothing written
    ///   ([`Written::slots`]). The first product starts on a 3-byte group (the count widened as below);
    /// - the currencies: their count and names;
    /// - the count of reference columns: columns the state no longer holds, written first so that
    ///   the first column can be written against the last of them (its bytes then stay as they
    ///   were when the lookback drops the one before it). The reader reads them and drops them.
    ///   This encoder writes none; [`ListState::encode_reusing`] keeps the columns it dropped as
    ///   long as their bytes hold, at most [`MAX_REFS`];
    /// - the columns: their count (without the references); per column, the references first, its
    ///   time (against the previous column's; the first's against the base), its number of cells, a flags byte (positions 1, 2, 3… in order, so none written; dwell runs written),
    ///   the positions when not in order, then a flags byte per cell and what it asks for, then the
    ///   dwell runs when present (a flags byte and the times against the column's, per cell). The
    ///   columns start on 3-byte groups of the blob and each is a whole number of groups up to its
    ///   dwell runs: the count of columns and each column's number of cells are widened to that
    ///   with redundant varint continuation bytes (0–2; [`Writer::widen_varint`], which every
    ///   reader of format 2, 4, 5 or 6 reads as the number), so that a column's base64 is the same wherever
    ///   a write copies it to (blobs written before session 12 have no such bytes, and read the same);
    /// - the events: their count, and per event its time (against the previous event's; the
    ///   first's against the base), its kind and N as one number ([`event_code`]: one byte for the
    ///   kinds without N and N up to 11; [`ListState::encode_reusing`] widens it by 0–2 redundant
    ///   varint bytes before events it copies) and its product (slot + 1, or 0 and the id). An
    ///   event's bytes depend only on it, its product's slot and the event before it, so a write
    ///   copies the events it keeps.
    ///
    /// A cell's flags byte: bit 0, the same product as the previous column's cell at the same index
    /// (else its slot follows); bits 1–2 the price: none, the same as the reference's, a whole
    /// number of cents (varint), or the 8 bytes; bits 3–4 the currency: none, the reference's, an
    /// index; bits 5–7 the review total: none, 1–5 for the reference's plus 0–4, 6 for a zigzag
    /// difference from the reference's, 7 for the total. The reference is the product's cell in the
    /// previous column ([`find_prev`]); a product that was not in it is written in full. A cell
    /// that kept its place, price and currency and gained at most 4 reviews is one byte.
    ///
    /// Format 5 (session 14, read as written) had no slots: the cells and events numbered the
    /// products by their places in the sorted table, which a new product moved. Format 4
    /// (session 13, read as written) wrote a table of the events' key kinds before them
    /// and each event's kind as an index into it (a key kind this scorer does not emit is not read:
    /// it holds nothing back). Format 2 (sessions 5–12, read as written) had no reference columns,
    /// no padding before the products, and each `last_seen` against the newest.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(None).0
    }

    /// [`ListState::encode`], keeping the bytes written and reusing what still holds of those the
    /// last call wrote (a state held from one record to the next changes in its header, the
    /// products that entered or left the newest list, its newest columns and its events; the
    /// columns the lookback dropped stay as references). Bytes that read as the state, as
    /// `encode`'s do (checked in debug builds), with up to [`MAX_REFS`] columns more.
    pub fn encode_reusing(&mut self) -> Vec<u8> {
        self.write_reusing();
        self.written.blob.clone()
    }

    /// The base64 of the bytes [`ListState::encode_reusing`] (or [`ScoreStateItem::new_reusing`])
    /// wrote last, the state item's `state` as that wrote it; empty when it did not write, as in a
    /// state just decoded.
    pub fn written_text(&self) -> &str {
        &self.written.text
    }

    /// [`ListState::written_text`], taken out of the state.
    pub(crate) fn into_written_text(self) -> String {
        self.written.text
    }

    /// [`ListState::encode_reusing`], the bytes left in `self.written.blob`. Returns whether they
    /// are the bytes the last write left (then so is the text): found from the copies, without
    /// comparing the bytes copied (see [`unchanged`]).
    fn write_reusing(&mut self) -> bool {
        let mut before = std::mem::take(&mut self.written);
        if !before.slots.is_empty() && before.slots.len() != self.ids.len() {
            // Slots not of this table (not reached): written again from the products' indices.
            before = Written::default();
        }
        // The buffers come from the last write of any list on this thread (`SPARE`): a write's
        // few but large allocations (1.5-2 KB each) cost mimalloc ~250 instructions apiece
        // (recycled, 93.37k -> 92.73k instructions and 322 -> 294 cache misses a record under
        // callgrind).
        let mut room = SPARE.take();
        let text_room = std::mem::take(&mut room.text);
        let (bytes, mut written, spans) = self.encode_into(Some(&before), room);
        let same = unchanged(&bytes, &spans, &before.blob);
        debug_assert!(!same || bytes == before.blob, "bytes told unchanged differ from the last write's");
        let (spare_blob, spare_text) = if same {
            // Nothing changed (a replay): the state keeps its own buffers, so that the bytes it
            // holds (`heap_bytes`, which the state cache counts) do not change either.
            keep_room(&mut before.heads, &mut written.heads);
            keep_room(&mut before.columns, &mut written.columns);
            keep_room(&mut before.events, &mut written.events);
            written.blob = std::mem::take(&mut before.blob);
            written.text = std::mem::take(&mut before.text);
            (bytes, text_room)
        } else {
            written.text = text_into(text_room, &bytes, &spans, &before);
            written.blob = bytes;
            (std::mem::take(&mut before.blob), std::mem::take(&mut before.text))
        };
        written.slots = std::mem::take(&mut before.slots);
        self.written = written;
        SPARE.set(Room::of(spare_blob, spare_text, before, spans));
        debug_assert!(
            ListState::decode(&self.written.blob).is_ok_and(|d| ListState { version: self.version, ..d } == *self),
            "reused bytes do not read as the state"
        );
        debug_assert!(self.written.text == base64_encode(&self.written.blob), "reused text differs from the bytes'");
        same
    }

    /// The bytes, and (when `before` is given: what the last write kept) what a next write reuses.
    fn encode_with(&self, before: Option<&Written>) -> (Vec<u8>, Written, Vec<Span>) {
        self.encode_into(before, Room::default())
    }

    /// [`ListState::encode_with`], in the buffers of `room` (their contents are stale).
    fn encode_into(&self, before: Option<&Written>, room: Room) -> (Vec<u8>, Written, Vec<Span>) {
        let keep = before.is_some();
        let none = Written::default();
        let before = before.unwrap_or(&none);
        let cells: usize = self.cols.iter().map(|c| c.cells.len()).sum();
        let mut w = Writer::with_buf(
            room.blob,
            32 + self.ids.len() * 12 + self.cols.len() * 6 + cells * 3 + self.fired.len() * 6,
        );
        w.u8(b'S');
        w.u8(FORMAT);
        let times = [self.list_started_at, self.complete_from, self.fired_from];
        w.u8(times.iter().enumerate().fold(0, |f, (i, t)| f | (u8::from(t.is_some()) << i)));
        let base = self.list_started_at.map_or(0, |t| t.timestamp());
        for (i, t) in times.into_iter().enumerate() {
            if let Some(t) = t {
                w.time(t, if i == 0 { 0 } else { base });
            }
        }
        let mut spans = room.spans;
        spans.clear();
        let (heads, ids_at) = self.encode_ids(&mut w, base, before, keep, &mut spans, room.heads);
        w.varint(self.currencies.len() as u64);
        for c in &self.currencies {
            w.bytes(c.as_bytes());
        }
        // Columns: each cell against the product's cell in the previous column. Columns written
        // before are copied from the last write's bytes, consecutive ones in one copy (`run`),
        // and so are the reference columns the first one was written against (`refs`).
        // The first starts on a 3-byte group (the count widened; see `encode_column`).
        let old = &before.columns;
        let refs = if keep { self.references(before, base) } else { 0 };
        w.varint(refs as u64);
        w.varint(self.cols.len() as u64);
        let count_end = w.buf.len();
        w.widen_varint(count_end, (3 - count_end % 3) % 3);
        let mut j = 0;
        let mut run: Option<(usize, usize)> = None;
        let mut columns = room.columns;
        columns.clear();
        if keep {
            reserve_room(&mut columns, self.cols.len() + refs);
        }
        let mut prev: &[Cell] = &[];
        let mut prev_col: Option<DateTime<Utc>> = None;
        if let (Some(first), Some(last)) = (old.first().filter(|_| refs > 0), old.get(refs.wrapping_sub(1))) {
            let at = w.buf.len() as u32;
            run = Some((first.start as usize, last.end as usize));
            let moved = |x: u32| at + (x - first.start);
            columns.extend(old[..refs].iter().map(|b| WrittenColumn {
                start: moved(b.start),
                flags: moved(b.flags),
                runs: moved(b.runs),
                end: moved(b.end),
                ..*b
            }));
            prev_col = Some(last.at);
            j = refs;
        }
        let mut i = 0;
        while let Some(c) = self.cols.get(i) {
            let against = if prev_col.is_none() { base } else { 0 };
            let key = ColumnKey { at: c.at, prev: prev_col, against, runs: c.runs() };
            while old.get(j).is_some_and(|b| b.at < c.at) {
                j += 1;
            }
            // The same column written against the same, or the one that had the runs it lost.
            let same = |b: &&WrittenColumn| {
                b.at == key.at && (b.with_runs == key.runs || b.with_runs) && {
                    let k = before.key(j);
                    k.prev == key.prev && k.against == key.against
                }
            };
            match old.get(j).filter(same) {
                Some(b) => {
                    j += 1;
                    let (start, end) =
                        (b.start as usize, if b.with_runs == key.runs { b.end } else { b.runs } as usize);
                    let at = w.buf.len() + run.map_or(0, |(s, e)| e - s);
                    run = match run {
                        Some((s, e)) if e == start => Some((s, end)),
                        _ => {
                            flush(&mut w, &before.blob, run, &mut spans);
                            Some((start, end))
                        }
                    };
                    let moved = |x: u32| (at + (x as usize - start)) as u32;
                    if b.with_runs != key.runs {
                        flush(&mut w, &before.blob, run.take(), &mut spans);
                        let f = moved(b.flags);
                        w.buf[f as usize] &= !RUNS;
                        // The flags byte is no longer the last write's: the copy is two spans.
                        if let Some(last) = spans.last_mut().filter(|l| l.to <= f && f < l.to + l.len) {
                            let (cut, end) = (f - last.to, last.to + last.len);
                            let rest = Span { to: f + 1, from: last.from + cut + 1, len: end - f - 1 };
                            last.len = cut;
                            spans.push(rest);
                        }
                    }
                    if keep {
                        let c = WrittenColumn {
                            at: key.at,
                            start: at as u32,
                            flags: moved(b.flags),
                            runs: moved(b.runs),
                            end: moved(end as u32),
                            with_runs: key.runs,
                        };
                        columns.push(c);
                    }
                    // The columns after it that follow it in the last write's bytes, each written
                    // against the one before as here (most of them): copied in the same span.
                    if b.with_runs == key.runs {
                        let mut m = 0;
                        // `old[j + m]` was written against `old[j + m - 1]` (`Written::key`).
                        while let (Some(c), Some(b)) = (self.cols.get(i + 1 + m), old.get(j + m)) {
                            let p = &old[j + m - 1];
                            if b.at != c.at
                                || p.at != self.cols[i + m].at
                                || b.with_runs != c.runs()
                                || b.start != p.end
                            {
                                break;
                            }
                            m += 1;
                        }
                        if m > 0 {
                            run = run.map(|(s, _)| (s, old[j + m - 1].end as usize));
                            if keep {
                                let d = (at as u32).wrapping_sub(start as u32);
                                columns.extend(old[j..j + m].iter().map(|b| WrittenColumn {
                                    start: b.start.wrapping_add(d),
                                    flags: b.flags.wrapping_add(d),
                                    runs: b.runs.wrapping_add(d),
                                    end: b.end.wrapping_add(d),
                                    ..*b
                                }));
                            }
                            i += m;
                            j += m;
                        }
                    }
                }
                None => {
                    flush(&mut w, &before.blob, run.take(), &mut spans);
                    let start = w.buf.len();
                    let prev_at = prev_col.map_or(base, |t| t.timestamp());
                    let (flags, runs) = encode_column(&mut w, c, prev, prev_at, &before.slots);
                    if keep {
                        let (start, end) = (start as u32, w.buf.len() as u32);
                        let (at, with_runs) = (key.at, key.runs);
                        columns.push(WrittenColumn {
                            at,
                            start,
                            flags: start + flags,
                            runs: start + runs,
                            end,
                            with_runs,
                        });
                    }
                }
            }
            prev = &self.cols[i].cells;
            prev_col = Some(self.cols[i].at);
            i += 1;
        }
        flush(&mut w, &before.blob, run, &mut spans);
        let events = self.encode_events(&mut w, base, before, keep, &mut spans, room.events);
        let written =
            Written { blob: Vec::new(), text: String::new(), base, heads, ids_at, columns, events, slots: Vec::new() };
        (w.into_bytes(), written, spans)
    }

    /// How many of the last write's columns (`old`) before the state's first column a write keeps
    /// as that column's reference: all of them when they are still as written, a chain from one
    /// written whole (against `base`) without runs, at most [`MAX_REFS`], and the first column was
    /// written against the last of them (so that its bytes are copied too); else none, and the
    /// first column is written whole.
    fn references(&self, before: &Written, base: i64) -> usize {
        let old = &before.columns;
        let Some(first) = self.cols.first() else { return 0 };
        let refs = old.partition_point(|b| b.at < first.at);
        let Some(b) = old.get(refs) else { return 0 };
        // Each written against the one before (`Written::key`), the first against the base.
        let chained = old[..=refs].windows(2).all(|p| p[0].end == p[1].start && !p[0].with_runs);
        let fits =
            (1..=MAX_REFS).contains(&refs) && before.base == base && b.at == first.at && (b.with_runs || !first.runs());
        if fits && chained {
            refs
        } else {
            0
        }
    }

    /// The products of [`ListState::encode`], front-coded, copied from the last write's bytes
    /// (`before`) where they still hold, consecutive ones in one copy (said in `spans`): all of them
    /// in one when none changed (a product's bytes change when it enters or leaves the newest list,
    /// not with every record). The first starts on a 3-byte group (the count widened). Returns
    /// where each is (from the first) when `keep`, and where the first is.
    #[inline(never)]
    fn encode_ids(
        &self,
        w: &mut Writer,
        base: i64,
        before: &Written,
        keep: bool,
        spans: &mut Vec<Span>,
        mut heads: Vec<IdHead>,
    ) -> (Vec<IdHead>, u32) {
        heads.clear();
        w.varint(self.ids.len() as u64);
        let count_end = w.buf.len();
        let top = self.seen.iter().map(|r| r.last_seen).max().unwrap_or_default();
        if !self.ids.is_empty() {
            w.time(top, base);
        }
        w.widen_varint(count_end, (3 - w.buf.len() % 3) % 3);
        let at0 = w.buf.len();
        let old: &[IdHead] =
            if before.base == base && before.heads.len() == self.ids.len() { &before.heads } else { &[] };
        // The products in the newest list were last seen at `top`: one zero byte.
        let last_of = |r: &SeenRange| (r.last_seen != top).then_some(r.last_seen);
        let from = before.ids_at as usize;
        let unchanged =
            |(h, r): (&IdHead, &SeenRange)| h.start != u32::MAX && h.first_seen == r.first_seen && h.last == last_of(r);
        if let (Some(a), Some(b)) = (old.first(), old.last()) {
            if old.iter().zip(&self.seen).all(unchanged) {
                flush(w, &before.blob, Some((from + a.start as usize, from + b.end as usize)), spans);
                if keep {
                    reserve_room(&mut heads, old.len());
                    heads.extend_from_slice(old);
                }
                return (heads, at0 as u32);
            }
        }
        if keep {
            reserve_room(&mut heads, self.ids.len());
        }
        let mut run: Option<(usize, usize)> = None;
        let mut k = 0;
        while let Some(((id, kind), r)) = self.ids.get(k).zip(self.kinds.get(k)).zip(self.seen.get(k)) {
            // The products from `k` on that are as written, their bytes in a row: one copy.
            let mut e = k;
            while old
                .get(e)
                .zip(self.seen.get(e))
                .is_some_and(|(h, r)| unchanged((h, r)) && (e == k || h.start == old[e - 1].end))
            {
                e += 1;
            }
            if e > k {
                let (s, t) = (from + old[k].start as usize, from + old[e - 1].end as usize);
                let at = w.buf.len() + run.map_or(0, |(s, e)| e - s) - at0;
                run = match run {
                    Some((f, x)) if x == s => Some((f, t)),
                    _ => {
                        flush(w, &before.blob, run, spans);
                        Some((s, t))
                    }
                };
                if keep {
                    let d = (at as u32).wrapping_sub(old[k].start);
                    heads.extend(old[k..e].iter().map(|h| IdHead {
                        start: h.start.wrapping_add(d),
                        end: h.end.wrapping_add(d),
                        ..*h
                    }));
                }
                k = e;
                continue;
            }
            flush(w, &before.blob, run.take(), spans);
            let at = w.buf.len() - at0;
            let prev = k.checked_sub(1).map_or(&b""[..], |p| self.ids[p].as_str().as_bytes());
            let last = last_of(r);
            let first = id_head(w, id.as_str().as_bytes(), prev, *kind, r.first_seen, base);
            match last {
                None => w.u8(0),
                Some(t) => {
                    w.time_plus(t, first, 1);
                }
            }
            w.varint(u64::from(renumbered(&before.slots, k as u32)));
            if keep {
                let end = (w.buf.len() - at0) as u32;
                heads.push(IdHead { first_seen: r.first_seen, last, start: at as u32, end });
            }
            k += 1;
        }
        flush(w, &before.blob, run, spans);
        (heads, at0 as u32)
    }

    /// The events of [`ListState::encode`], copied from the last write's bytes (`before`) where
    /// they still hold ([`WrittenEvent`]), consecutive ones in one copy (said in `spans`): a record
    /// drops the oldest events and adds its own at the end, so all but the first (written against
    /// the base) and the new ones are copied. The event written before a copy has its kind's
    /// varint widened (0–2 bytes) so that the copy lands on the same place in a 3-byte group as in
    /// the last write, and its base64 is copied too. Returns the events' places when `keep`.
    #[inline(never)]
    fn encode_events(
        &self,
        w: &mut Writer,
        base: i64,
        before: &Written,
        keep: bool,
        spans: &mut Vec<Span>,
        mut out: Vec<WrittenEvent>,
    ) -> Vec<WrittenEvent> {
        out.clear();
        let fired = &self.fired;
        w.varint(fired.len() as u64);
        let old = &before.events;
        if keep {
            reserve_room(&mut out, fired.len());
        }
        let same = |f: &Fired, o: &WrittenEvent| {
            o.at == f.at
                && o.kind == f.kind
                && o.n == f.n
                && self
                    .ids
                    .get(o.idx as usize)
                    .is_some_and(|x| same_bytes(x.as_str().as_bytes(), f.product.as_str().as_bytes()))
        };
        let (mut i, mut j) = (0, 0);
        // The old event the previous event is (None: it is not one, or there is none).
        let mut prev_old: Option<usize> = None;
        // Where the kind of the last event written here (not copied) ends.
        let mut kind_end = 0;
        while let Some(f) = fired.get(i) {
            while old.get(j).is_some_and(|o| o.at < f.at) {
                j += 1;
            }
            let matched = old.get(j).filter(|o| same(f, o));
            match (matched, prev_old) {
                // The same events after the same one, as many as follow: their bytes hold, copied in
                // one span. The event before was written here (a copy takes every event it can):
                // its kind widened so that the copy lands on its place in a 3-byte group.
                (Some(_), Some(k)) if k + 1 == j => {
                    let mut m = 1;
                    while fired.get(i + m).zip(old.get(j + m)).is_some_and(|(f, o)| same(f, o)) {
                        m += 1;
                    }
                    let (s, e) = (old[j].start as usize, old[j + m - 1].end as usize);
                    let pad = (s % 3 + 3 - w.buf.len() % 3) % 3;
                    w.widen_varint(kind_end, pad);
                    if let Some(last) = out.last_mut() {
                        last.end += pad as u32;
                    }
                    let at = w.buf.len();
                    flush(w, &before.blob, Some((s, e)), spans);
                    if keep {
                        let moved = |x: u32| (x as usize - s + at) as u32;
                        out.extend(old[j..j + m].iter().map(|o| WrittenEvent {
                            start: moved(o.start),
                            end: moved(o.end),
                            ..*o
                        }));
                    }
                    prev_old = Some(j + m - 1);
                    i += m;
                    j += m;
                    continue;
                }
                _ => {
                    let start = w.buf.len();
                    let prev_at = i.checked_sub(1).map_or(base, |k| fired[k].at.timestamp());
                    w.time(f.at, prev_at);
                    w.varint(event_code(f.kind, f.n));
                    kind_end = w.buf.len();
                    let idx = matched.map(|o| o.idx).or_else(|| self.index_of(&f.product));
                    match idx {
                        Some(i) => w.varint(u64::from(renumbered(&before.slots, i)) + 1),
                        None => {
                            w.varint(0);
                            w.bytes(f.product.as_str().as_bytes());
                        }
                    }
                    if keep {
                        let (kind, n, idx) = (f.kind, f.n, idx.unwrap_or(u32::MAX));
                        out.push(WrittenEvent { at: f.at, kind, n, idx, start: start as u32, end: w.buf.len() as u32 });
                    }
                }
            }
            prev_old = matched.map(|_| j);
            if matched.is_some() {
                j += 1;
            }
            i += 1;
        }
        out
    }

    /// Reads what [`ListState::encode`] wrote; anything else (another format version included) is an
    /// error, never a panic.
    pub fn decode(b: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(b);
        if r.u8()? != b'S' {
            return Err(CodecError("not a scorer state of a known format"));
        }
        let format = r.u8()?;
        if format != FORMAT && format != FORMAT_5 && format != FORMAT_4 && format != FORMAT_2 {
            return Err(CodecError("not a scorer state of a known format"));
        }
        let present = r.u8()?;
        if present > 7 {
            return Err(CodecError("unknown header flags"));
        }
        let list_started_at = if present & 1 != 0 { Some(r.time(0)?) } else { None };
        let base = list_started_at.map_or(0, |t| t.timestamp());
        let complete_from = if present & 2 != 0 { Some(r.time(base)?) } else { None };
        let fired_from = if present & 4 != 0 { Some(r.time(base)?) } else { None };
        // Products.
        let n = r.len(b.len())?;
        let top = if n > 0 { r.time(base)? } else { DateTime::UNIX_EPOCH };
        let (mut ids, mut kinds, mut seen) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        // Format 6: the product of each slot (its index in `ids`); before, a product's number is
        // its index (empty).
        let mut of_slot: Vec<u32> = if format == FORMAT { vec![u32::MAX; n] } else { Vec::new() };
        let mut name: Vec<u8> = Vec::with_capacity(48);
        for _ in 0..n {
            let v = r.varint()?;
            let shared =
                usize::try_from(v / 3).ok().filter(|s| *s <= name.len()).ok_or(CodecError("a bad id prefix"))?;
            name.truncate(shared);
            name.extend_from_slice(r.bytes()?);
            let id = std::str::from_utf8(&name)
                .ok()
                .and_then(|s| EntryId::parse(s).ok())
                .ok_or(CodecError("a bad product id"))?;
            if ids.last().is_some_and(|l: &EntryId| cmp_bytes(l.as_str().as_bytes(), id.as_str().as_bytes()).is_ge()) {
                return Err(CodecError("product ids out of order"));
            }
            ids.push(id);
            kinds.push(kind_of((v % 3) as u8)?);
            let first_seen = r.time(base)?;
            let last_seen = match format {
                FORMAT_2 => r.time(top.timestamp())?,
                _ => match r.varint()? {
                    0 => top,
                    v => r.time_of(v - 1, first_seen.timestamp())?,
                },
            };
            seen.push(SeenRange { first_seen, last_seen });
            if format == FORMAT {
                let k = ids.len() as u32 - 1;
                let slot = of_slot.get_mut(r.len(n - 1)?).filter(|s| **s == u32::MAX);
                *slot.ok_or(CodecError("a product slot twice"))? = k;
            }
        }
        let nc = r.len(b.len())?;
        let mut currencies = Vec::with_capacity(nc);
        for _ in 0..nc {
            currencies.push(r.str()?.to_string());
        }
        // Columns: first the references (formats 4 and 5), read for the cells of the columns after them.
        let refs = if format == FORMAT_2 { 0 } else { r.len(b.len())? };
        let ncols = r.len(b.len())? + refs;
        let mut cols: Vec<Column> = Vec::with_capacity(ncols);
        let mut prev_at = base;
        let mut pos = [0u8; Position::MAX as usize];
        for _ in 0..ncols {
            let at = r.time(prev_at)?;
            if cols.last().is_some_and(|c| c.at >= at) {
                return Err(CodecError("columns out of order"));
            }
            prev_at = at.timestamp();
            let m = r.len(usize::from(Position::MAX))?;
            let flags = r.u8()?;
            if flags > DENSE | RUNS {
                return Err(CodecError("unknown column flags"));
            }
            let pos = &mut pos[..m];
            if flags & DENSE != 0 {
                for (i, p) in pos.iter_mut().enumerate() {
                    *p = i as u8 + 1;
                }
            } else {
                for p in pos.iter_mut() {
                    *p = r.u8()?;
                }
            }
            let prev: &[Cell] = cols.last().map_or(&[], |c| &c.cells);
            let cells = decode_cells(&mut r, prev, pos, n, nc, &of_slot)?;
            let mut dwell = Vec::new();
            if flags & RUNS != 0 {
                dwell.reserve_exact(cells.len());
                for _ in &cells {
                    let f = r.u8()?;
                    if f > 3 {
                        return Err(CodecError("unknown run flags"));
                    }
                    let top_since = if f & 1 != 0 { Some(r.time(prev_at)?) } else { None };
                    let one_since = if f & 2 != 0 { Some(r.time(prev_at)?) } else { None };
                    dwell.push(Dwell { top_since, one_since });
                }
            }
            cols.push(Column { at, cells, dwell });
        }
        cols.drain(..refs);
        // Events: their kinds from a table of key kinds before format 5 (a kind this scorer does not
        // emit is not kept: see `Fired::of_key_kind`).
        let mut kinds_table = Vec::new();
        if format != FORMAT && format != FORMAT_5 {
            let nk = r.len(b.len())?;
            kinds_table.reserve_exact(nk);
            for _ in 0..nk {
                kinds_table.push(EventKind::from_key_kind(r.str()?));
            }
        }
        let nf = r.len(b.len())?;
        let mut fired = Vec::with_capacity(nf);
        let mut prev_at = base;
        for _ in 0..nf {
            let at = r.time(prev_at)?;
            if fired.last().is_some_and(|l: &Fired| l.at > at) {
                return Err(CodecError("events out of order"));
            }
            prev_at = at.timestamp();
            let kind = if format == FORMAT || format == FORMAT_5 {
                Some(event_of_code(r.varint()?)?)
            } else {
                *kinds_table.get(r.len(kinds_table.len())?).ok_or(CodecError("a bad event kind"))?
            };
            let product = match r.len(n)? {
                0 => EntryId::parse(r.str()?).map_err(|_| CodecError("a bad product id"))?,
                i => ids[renumbered(&of_slot, i as u32 - 1) as usize].clone(),
            };
            if let Some((kind, n)) = kind {
                fired.push(Fired::of(at, kind, n, product));
            }
        }
        if !r.done() {
            return Err(CodecError("trailing bytes"));
        }
        // The slots the bytes gave the products, kept for the next write (which numbers new
        // products after them, as the writer of these bytes would have): a state decoded on each
        // record writes the same bytes as one held.
        let mut slots = vec![0u32; of_slot.len()];
        for (slot, k) in of_slot.iter().enumerate() {
            slots[*k as usize] = slot as u32;
        }
        Ok(ListState {
            version: 0,
            ids,
            kinds,
            seen,
            list_started_at,
            complete_from,
            fired_from,
            currencies,
            cols,
            fired,
            written: Written { slots, ..Written::default() },
            tables: ColumnTables::default(),
        })
    }
}

/// A product of [`ListState::encode`] up to its `last_seen`: the length of the prefix its id `b`
/// shares with the previous one's (`prev`) × 3 + its type, the rest of the id, its `first_seen`
/// (whose seconds it returns).
fn id_head(w: &mut Writer, b: &[u8], prev: &[u8], kind: EntryType, first_seen: DateTime<Utc>, base: i64) -> i64 {
    let shared = shared_prefix(b, prev);
    w.varint(shared as u64 * 3 + u64::from(kind_code(kind)));
    w.bytes(&b[shared..]);
    w.time(first_seen, base)
}

/// Copies `from[run]` (bytes of the last write) to the end of `w`, and says so in `spans`.
#[inline]
fn flush(w: &mut Writer, from: &[u8], run: Option<(usize, usize)>, spans: &mut Vec<Span>) {
    if let Some((s, e)) = run {
        spans.push(Span { to: w.buf.len() as u32, from: s as u32, len: (e - s) as u32 });
        w.buf.extend_from_slice(&from[s..e]);
    }
}

/// Whether `blob`, whose `spans` are bytes of `old` (in the order of `to`), is `old` (not empty):
/// the same length, every span copied to where it was in `old`, and the bytes between the spans
/// the same. Only those are compared: a write that changed nothing (a replay) copies every column,
/// product and event, and writes the header and the counts (a few dozen bytes) anew.
fn unchanged(blob: &[u8], spans: &[Span], old: &[u8]) -> bool {
    if old.is_empty() || blob.len() != old.len() {
        return false;
    }
    let mut done = 0;
    for sp in spans {
        let to = sp.to as usize;
        match (blob.get(done..to), old.get(done..to)) {
            (Some(a), Some(b)) if sp.from == sp.to && a == b => done = to + sp.len as usize,
            _ => return false,
        }
    }
    blob.get(done..) == old.get(done..)
}

/// The base64 of `blob`, whose `spans` are bytes of `before.blob`: the text of the 3-byte groups
/// a span holds whole at the same place in a group of both blobs is copied from `before.text`,
/// the rest encoded (`before.text` is the base64 of `before.blob`, or empty).
#[cfg(test)]
fn text_reusing(blob: &[u8], spans: &[Span], before: &Written) -> String {
    text_into(String::new(), blob, spans, before)
}

/// [`text_reusing`], in `text` (its contents are stale).
fn text_into(mut text: String, blob: &[u8], spans: &[Span], before: &Written) -> String {
    text.clear();
    let need = blob.len().div_ceil(3) * 4;
    if text.capacity() < need {
        text.reserve_exact(room(need));
    }
    let old = before.text.as_str();
    let mut done = 0;
    if !old.is_empty() && old.len() == before.blob.len().div_ceil(3) * 4 {
        for sp in spans {
            let (to, from, end) = (sp.to as usize, sp.from as usize, (sp.to + sp.len) as usize);
            // The first group boundary in the span, and the whole groups from it.
            let g = to.next_multiple_of(3);
            if to % 3 != from % 3 || g < done || end < g + 3 {
                continue;
            }
            let whole = (end - g) / 3 * 3;
            let from = from + (g - to);
            base64_push(&blob[done..g], &mut text);
            text.push_str(&old[from / 3 * 4..(from + whole) / 3 * 4]);
            done = g + whole;
        }
    }
    base64_push(&blob[done..], &mut text);
    text
}

/// One column of [`ListState::encode`]: its time against `prev_at`, then its cells against `prev`,
/// the previous column's, each product written as its slot (`slots`, see [`Written::slots`]).
/// Returns where (from its start) it wrote its flags byte and its dwell runs.
// The three parts of `encode_with` out of line: inlined, the encoder measured 0.8k instructions a
// record more under callgrind.
#[inline(never)]
fn encode_column(w: &mut Writer, c: &Column, prev: &[Cell], prev_at: i64, slots: &[u32]) -> (u32, u32) {
    let from = w.buf.len();
    let at = w.time(c.at, prev_at);
    w.varint(c.cells.len() as u64);
    let count_end = w.buf.len();
    let dense = c.cells.iter().enumerate().all(|(i, x)| usize::from(x.pos) == i + 1);
    let mut flags_at = w.buf.len() - from;
    w.u8((u8::from(dense) * DENSE) | (u8::from(c.runs()) * RUNS));
    if !dense {
        for x in &c.cells {
            w.u8(x.pos);
        }
    }
    w.buf.reserve(c.cells.len() * 4);
    for (i, cell) in c.cells.iter().enumerate() {
        if let Some(code) = prev.get(i).and_then(|p| fast_code(p, cell)) {
            w.u8(FAST | (code << 5));
            continue;
        }
        let (same_id, re) = match prev.get(i) {
            Some(p) if p.id == cell.id => (true, Some(p)),
            _ => (false, find_prev(prev, i, cell.id)),
        };
        let (price, cents) = match cell.price() {
            None => (0, 0),
            Some(p) if re.and_then(Cell::price).is_some_and(|q| q.to_bits() == p.to_bits()) => (PRICE_SAME, 0),
            Some(p) => cents_of(p).map_or((PRICE_F64, 0), |c| (PRICE_CENTS, c)),
        };
        let cur = match cell.cur {
            NO_CURRENCY => 0,
            c if re.is_some_and(|r| r.cur == c) => CUR_SAME,
            _ => CUR_INDEX,
        };
        let (reviews, rv) = match (cell.reviews(), re.and_then(Cell::reviews)) {
            (None, _) => (0, 0),
            (Some(r), Some(q)) if r.wrapping_sub(q) <= 4 => (REV_SMALL + r.wrapping_sub(q) as u8, 0),
            (Some(r), Some(q)) if zig(r.wrapping_sub(q) as i64) < r => (REV_DELTA, zig(r.wrapping_sub(q) as i64)),
            (Some(r), _) => (REV_LITERAL, r),
        };
        w.u8(u8::from(same_id) | price | cur | (reviews << 5));
        if !same_id {
            w.varint(u64::from(renumbered(slots, cell.id)));
        }
        match (price, cell.price()) {
            (PRICE_F64, Some(p)) => w.f64(p),
            (PRICE_CENTS, _) => w.varint(cents),
            _ => {}
        }
        if cur == CUR_INDEX {
            w.varint(u64::from(cell.cur));
        }
        if reviews >= REV_DELTA {
            w.varint(rv);
        }
    }
    // The column up to its runs a whole number of 3-byte groups (its count widened): a column
    // that starts on a group of the blob keeps its base64 wherever it is copied to one.
    let pad = (3 - (w.buf.len() - from) % 3) % 3;
    w.widen_varint(count_end, pad);
    flags_at += pad;
    let runs_at = w.buf.len() - from;
    if c.runs() {
        for d in &c.dwell {
            w.u8(u8::from(d.top_since.is_some()) | (u8::from(d.one_since.is_some()) << 1));
            if let Some(since) = d.top_since {
                w.time(since, at);
            }
            if let Some(since) = d.one_since {
                w.time(since, at);
            }
        }
    }
    (flags_at as u32, runs_at as u32)
}

/// `map[i]`, or `i` when `map` is empty (the identity): a product's slot from its index in `ids`
/// ([`Written::slots`]) when writing, its index from its slot when reading.
#[inline]
fn renumbered(map: &[u32], i: u32) -> u32 {
    map.get(i as usize).copied().unwrap_or(i)
}

/// The cells of a column (see [`ListState::encode`]): `prev` is the previous column's, `pos` the
/// positions, `n` and `nc` the sizes of the id and currency tables, `of_slot` the product of each
/// slot (format 6; empty before: a product's number is its index).
fn decode_cells(
    r: &mut Reader<'_>,
    prev: &[Cell],
    pos: &[u8],
    n: usize,
    nc: usize,
    of_slot: &[u32],
) -> Result<Vec<Cell>, CodecError> {
    // Filled in place (a `push` of a 64-byte cell was a call per cell).
    let blank = Cell::new(0, 0, NO_CURRENCY, None, None);
    let mut cells = vec![blank; pos.len()];
    for (i, (pos, out)) in pos.iter().zip(cells.iter_mut()).enumerate() {
        let f = r.u8()?;
        // Most cells of a list that moves a little: the same product as the previous
        // column's cell, its price and currency, the review total plus 0–4.
        if f & FAST_MASK == FAST && (f >> 5).wrapping_sub(REV_SMALL) < 5 {
            let p = prev.get(i).ok_or(CodecError("no cell to repeat"))?;
            let q = p.reviews().ok_or(CodecError("no review total to add to"))?;
            if p.price().is_none() {
                return Err(CodecError("no price to repeat"));
            }
            *out = *p;
            out.pos = *pos;
            out.set_reviews(Some(q.wrapping_add(u64::from((f >> 5) - REV_SMALL))));
            continue;
        }
        let (id, re) = if f & ID_SAME != 0 {
            let p = prev.get(i).ok_or(CodecError("no cell to repeat"))?;
            (p.id, Some(p))
        } else {
            let id = renumbered(of_slot, r.len(n.saturating_sub(1))? as u32);
            if n == 0 {
                return Err(CodecError("a cell without products"));
            }
            (id, find_prev(prev, i, id))
        };
        // If-chains with the common case first.
        let p = f & PRICE_MASK;
        let price = if p == PRICE_SAME {
            Some(re.and_then(Cell::price).ok_or(CodecError("no price to repeat"))?)
        } else if p == PRICE_CENTS {
            Some(r.varint()? as f64 / 100.0)
        } else if p == PRICE_F64 {
            Some(r.f64()?)
        } else {
            None
        };
        let c = f & CUR_MASK;
        let cur = if c == CUR_SAME {
            re.ok_or(CodecError("no currency to repeat"))?.cur
        } else if c == CUR_INDEX {
            u16::try_from(r.varint()?)
                .ok()
                .filter(|c| usize::from(*c) < nc)
                .ok_or(CodecError("a bad currency index"))?
        } else if c == 0 {
            NO_CURRENCY
        } else {
            return Err(CodecError("a bad currency flag"));
        };
        let code = f >> 5;
        let reviews = if code == 0 {
            None
        } else if code == REV_LITERAL {
            Some(r.varint()?)
        } else {
            let q = re.and_then(Cell::reviews).ok_or(CodecError("no review total to add to"))?;
            let d = if code == REV_DELTA { unzig(r.varint()?) as u64 } else { u64::from(code - REV_SMALL) };
            Some(q.wrapping_add(d))
        };
        *out = Cell::new(id, *pos, cur, price, reviews);
    }
    Ok(cells)
}

// Column flags.
const DENSE: u8 = 1;
const RUNS: u8 = 2;

// Cell flags (see `ListState::encode`).
const ID_SAME: u8 = 1;
/// The low five bits of the commonest cell (the review code varies).
const FAST_MASK: u8 = 0x1f;
const FAST: u8 = ID_SAME | PRICE_SAME | CUR_SAME;
const PRICE_MASK: u8 = 3 << 1;
const PRICE_SAME: u8 = 1 << 1;
const PRICE_F64: u8 = 2 << 1;
const PRICE_CENTS: u8 = 3 << 1;
const CUR_MASK: u8 = 3 << 3;
const CUR_SAME: u8 = 1 << 3;
const CUR_INDEX: u8 = 2 << 3;
/// Review codes (bits 5–7): `REV_SMALL + d` is the previous total plus `d` (0–4).
const REV_SMALL: u8 = 1;
const REV_DELTA: u8 = 6;
const REV_LITERAL: u8 = 7;

/// The cell of product `id` in the previous column, for a cell at index `i` that is not the same
/// product as the previous column's cell at `i`: the neighbours first (a product that moved by one
/// place, the commonest move), then from the start. Encoder and decoder both look it up here.
#[inline]
fn find_prev(prev: &[Cell], i: usize, id: u32) -> Option<&Cell> {
    let near = |j: usize| prev.get(j).filter(|p| p.id == id);
    i.checked_sub(1).and_then(near).or_else(|| near(i + 1)).or_else(|| prev.iter().find(|p| p.id == id))
}

/// The review code of a cell that repeats `p` (the previous column's cell at its index) but for
/// a review total 0–4 higher, when it does.
#[inline]
fn fast_code(p: &Cell, cell: &Cell) -> Option<u8> {
    let same = p.id == cell.id
        && cell.cur != NO_CURRENCY
        && p.cur == cell.cur
        && matches!((p.price(), cell.price()), (Some(a), Some(b)) if a.to_bits() == b.to_bits());
    match (same, p.reviews(), cell.reviews()) {
        (true, Some(q), Some(r)) if r.wrapping_sub(q) <= 4 => Some(REV_SMALL + r.wrapping_sub(q) as u8),
        _ => None,
    }
}

/// `p` as a whole number of cents when that gives back exactly `p` (a price like 129.9 or 1499 does).
fn cents_of(p: f64) -> Option<u64> {
    // `p × 100` is within a rounding error of the whole number, on either side: truncate (an
    // inlined conversion, where `round` is a libm call) and try it and the next. Below 2^53 every
    // whole number is exact; the bits check refuses -0.0, NaN, infinities and inexact prices.
    let x = p * 100.0;
    if !(0.0..9_007_199_254_740_000.0).contains(&x) {
        return None;
    }
    // Through `i64` (the range allows it): x86-64 converts it in one instruction, `u64` in ten.
    let c = x as i64;
    let exact = |c: i64| (c as f64 / 100.0).to_bits() == p.to_bits();
    if exact(c) {
        Some(c as u64)
    } else if exact(c + 1) {
        Some(c as u64 + 1)
    } else {
        None
    }
}

/// `a == b`, for ids of 8 to 16 bytes (most) as two 8-byte words each.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), a.last_chunk::<8>(), b.first_chunk::<8>(), b.last_chunk::<8>()) {
        (Some(ah), Some(at), Some(bh), Some(bt)) if a.len() <= 16 => ah == bh && at == bt,
        // 4 to 7 bytes (some event kinds) as two 4-byte words, fewer (a currency) one by one,
        // without a call to `bcmp`.
        _ => match (a.first_chunk::<4>(), a.last_chunk::<4>(), b.first_chunk::<4>(), b.last_chunk::<4>()) {
            (Some(ah), Some(at), Some(bh), Some(bt)) if a.len() < 8 => ah == bh && at == bt,
            _ if a.len() < 4 => a.iter().zip(b).all(|(x, y)| x == y),
            _ => a == b,
        },
    }
}

/// For 8 to 16 bytes: the first 8 bytes and the rest padded with zeros, big-endian, and the
/// length, which order as the bytes do (the padding sorts a prefix first, the length then puts it
/// before the longer string); None for other lengths.
pub(crate) fn word_key(b: &[u8]) -> Option<(u64, u64, usize)> {
    if !(8..=16).contains(&b.len()) {
        return None;
    }
    let head = u64::from_be_bytes(*b.first_chunk::<8>()?);
    // The last 8 bytes, shifted past the ones the head holds (none left for 8 bytes).
    let tail = u64::from_be_bytes(*b.last_chunk::<8>()?).checked_shl(8 * (16 - b.len() as u32)).unwrap_or(0);
    Some((head, tail, b.len()))
}

/// The order of `str`'s `Ord` on ids (bytewise), eight bytes at a time: ids share long prefixes
/// (`MLB1000…`), and the comparisons of a binary search were calls to `memcmp`.
#[inline]
fn cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        if x != y {
            return u64::from_be_bytes(x).cmp(&u64::from_be_bytes(y));
        }
        i += 8;
    }
    a[i..n].iter().cmp(&b[i..n]).then(a.len().cmp(&b.len()))
}

/// The length of the prefix `a` and `b` share, eight bytes at a time (ids share long prefixes).
#[inline]
fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    let word = |w: &[u8]| u64::from_be_bytes(w.try_into().unwrap_or_default());
    let mut i = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let diff = word(x) ^ word(y);
        if diff != 0 {
            return i + diff.leading_zeros() as usize / 8;
        }
        i += 8;
    }
    i + a[i..].iter().zip(&b[i..]).take_while(|(x, y)| x == y).count()
}

fn kind_code(k: EntryType) -> u8 {
    match k {
        EntryType::Item => 0,
        EntryType::Product => 1,
        EntryType::UserProduct => 2,
    }
}

fn kind_of(b: u8) -> Result<EntryType, CodecError> {
    match b {
        0 => Ok(EntryType::Item),
        1 => Ok(EntryType::Product),
        2 => Ok(EntryType::UserProduct),
        _ => Err(CodecError("a bad entry type")),
    }
}

/// The stored form: the keys, the list, the version (for compare-and-swap) and the state's bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreStateItem {
    pub pk: String,
    pub sk: String,
    pub site: SiteId,
    pub category: CategoryId,
    pub version: u64,
    /// The newest snapshot merged: the latest ranking's time, readable without decoding the state
    /// (`meli-radar events` reads it; so can people reading the table).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::keys::serialize_opt_time",
        deserialize_with = "deserialize_opt_time"
    )]
    pub newest: Option<DateTime<Utc>>,
    /// [`ListState::encode`], base64.
    pub state: String,
}

/// What chrono's `Deserialize` reads, with a fast path for whole seconds in UTC
/// (`2026-11-01T00:00:00Z`, what [`crate::keys::serialize_opt_time`] writes); anything else goes
/// through chrono.
fn deserialize_opt_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(s) = Option::<std::borrow::Cow<'de, str>>::deserialize(d)? else { return Ok(None) };
    if let Some(t) = utc_secs(s.as_bytes()) {
        return Ok(Some(t));
    }
    s.parse::<DateTime<chrono::FixedOffset>>().map(|t| Some(t.with_timezone(&Utc))).map_err(serde::de::Error::custom)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, or None.
fn utc_secs(b: &[u8]) -> Option<DateTime<Utc>> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, b'Z'] = *b else {
        return None;
    };
    let n = |ds: &[u8]| ds.iter().try_fold(0u32, |acc, d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')));
    let date = chrono::NaiveDate::from_ymd_opt(n(&[y0, y1, y2, y3])? as i32, n(&[m0, m1])?, n(&[d0, d1])?)?;
    let time = chrono::NaiveTime::from_hms_opt(n(&[h0, h1])?, n(&[i0, i1])?, n(&[s0, s1])?)?;
    Some(date.and_time(time).and_utc())
}

impl ScoreStateItem {
    pub fn new(site: SiteId, category: &CategoryId, state: &ListState) -> Self {
        Self::of_text(site, category, state, base64_encode(&state.encode()))
    }

    /// [`ScoreStateItem::new`] through [`ListState::encode_reusing`]: for a state that is kept and
    /// written again (the trend-scorer's `StateCache`). Also returns whether the item's `state` is
    /// the one the state's last write made ([`ListState::written_text`]): for a state held as the
    /// store holds it, whether there is nothing to write (a replay), told without comparing the
    /// texts.
    pub fn new_reusing(site: SiteId, category: &CategoryId, state: &mut ListState) -> (Self, bool) {
        let same = state.write_reusing();
        (Self::of_text(site, category, state, state.written.text.clone()), same)
    }

    fn of_text(site: SiteId, category: &CategoryId, state: &ListState, text: String) -> Self {
        ScoreStateItem {
            pk: keys::category_pk(site, category),
            sk: SCORE_SK.to_string(),
            site,
            category: category.clone(),
            version: state.version,
            newest: state.newest(),
            state: text,
        }
    }

    /// The store item: what [`Item::from_typed`] makes of it, built directly (as the event items
    /// are): the 2 KB state string is copied once, not serialized into a value tree.
    pub fn to_item(&self) -> Result<Item, StoreError> {
        self.item_with(self.state.clone())
    }

    /// [`ScoreStateItem::to_item`], the item taking the state's text (not copied).
    pub fn into_item(mut self) -> Result<Item, StoreError> {
        let state = std::mem::take(&mut self.state);
        self.item_with(state)
    }

    /// [`ScoreStateItem::to_item`] with `state` as the `state` attribute.
    fn item_with(&self, state: String) -> Result<Item, StoreError> {
        // In the order `from_typed` leaves them (its map drops `pk` and `sk` by moving the last
        // attribute into their place), so that the item's JSON (the local store's text) is the same.
        let mut attrs = Attrs::with_capacity(5);
        let version = ("version", Value::from(self.version));
        let (second, last) = match self.newest {
            Some(t) => (("newest", Value::String(keys::time_string(t))), Some(version)),
            None => (version, None),
        };
        attrs.push("state", Value::String(state));
        attrs.push(second.0, second.1);
        attrs.push("site", Value::String(self.site.as_str().to_string()));
        attrs.push("category", Value::String(self.category.as_str().to_string()));
        if let Some((name, v)) = last {
            attrs.push(name, v);
        }
        Ok(Item::new(self.pk.as_str(), self.sk.as_str(), attrs))
    }

    /// The state; its version is the item's.
    pub fn state(&self) -> Result<ListState, CodecError> {
        ListState::from_stored(self.version, &self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::SnapshotEntry;
    use proptest::prelude::*;

    fn snap(h: i64, ids: &[u32], price: f64) -> Snapshot {
        let t = DateTime::from_timestamp(1_793_000_000 + h * 3600, 0).unwrap();
        Snapshot {
            site: SiteId::MLB,
            category: CategoryId::parse("MLB1055").unwrap(),
            taken_at: t,
            entries: ids
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let mut e = SnapshotEntry::bare(
                        Position::new(i as i64 + 1).unwrap(),
                        EntryId::parse(&format!("MLB{n}")).unwrap(),
                        if n % 3 == 0 { EntryType::UserProduct } else { EntryType::Product },
                    );
                    if n % 4 != 0 {
                        e.price = Some(price + f64::from(*n));
                        e.currency = Some(if n % 5 == 0 { "USD" } else { "BRL" }.into());
                        e.reviews_total = Some(u64::from(*n) * 10 + h as u64);
                    }
                    e
                })
                .collect(),
            fetch: Default::default(),
        }
    }

    fn lists() -> impl Strategy<Value = Vec<Vec<u32>>> {
        prop::collection::vec(prop::sample::subsequence((1u32..=30).collect::<Vec<_>>(), 1..=20).prop_shuffle(), 1..12)
    }

    fn built(lists: &[Vec<u32>], order: impl Iterator<Item = usize>) -> ListState {
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        for i in order {
            st.absorb(&snap(i as i64, &lists[i], 100.0 + i as f64), &[], &[], &cfg);
        }
        st
    }

    #[test]
    fn a_cell_is_small_and_keeps_its_options() {
        // 28 columns of cells are decoded and encoded for every record: their size is the cost.
        assert_eq!(std::mem::size_of::<Cell>(), 24);
        let mut c = Cell::new(3, 1, NO_CURRENCY, Some(0.0), None);
        assert_eq!((c.price(), c.reviews()), (Some(0.0), None));
        c.set_reviews(Some(0));
        assert_eq!((c.price(), c.reviews()), (Some(0.0), Some(0)));
        assert_ne!(c, Cell::new(3, 1, NO_CURRENCY, None, Some(0)));
        c.set_reviews(None);
        assert_eq!(c, Cell::new(3, 1, NO_CURRENCY, Some(0.0), None));
        assert_eq!(format!("{c:?}"), "Cell { id: 3, pos: 1, cur: 65535, price: Some(0.0), reviews: None }");
    }

    proptest! {
        #[test]
        fn encode_then_decode_gives_the_same_state(lists in lists()) {
            let st = built(&lists, 0..lists.len());
            let back = ListState::decode(&st.encode()).unwrap();
            prop_assert_eq!(&back, &st);
            let item = ScoreStateItem::new(SiteId::MLB, &CategoryId::parse("MLB1055").unwrap(), &st);
            prop_assert_eq!(item.state().unwrap(), st);
        }

        #[test]
        fn reused_column_bytes_are_the_bytes_of_the_state(lists in lists(), order in prop::collection::vec(0usize..12, 1..30)) {
            // Snapshots in any order (late ones insert columns, new products renumber cells, the
            // lookback drops the oldest), written after each merge by the writer that keeps its
            // columns' bytes (and the columns dropped, as references): always read as the state,
            // as the whole encoder's bytes are.
            let cfg = SignalConfig::default();
            let mut st = ListState::default();
            for i in order.into_iter().map(|i| i % lists.len()) {
                st.absorb(&snap(i as i64 * 7, &lists[i], 100.0 + i as f64), &[], &[], &cfg);
                let reused = st.encode_reusing();
                prop_assert_eq!(ListState::decode(&st.encode()).unwrap(), st.clone());
                prop_assert_eq!(ListState::decode(&reused).unwrap(), st.clone());
            }
        }

        #[test]
        fn reused_bytes_are_the_bytes_of_the_state_as_the_step_merges(lists in lists(), order in prop::collection::vec(0usize..12, 1..30)) {
            // As the step does it: each snapshot scored against the state, then merged with its
            // products' dwell runs (the newest column's, dropped when another comes) and events.
            let cfg = SignalConfig::default();
            let mut st = ListState::default();
            for i in order.into_iter().map(|i| i % lists.len()) {
                let s = snap(i as i64 * 7, &lists[i], 100.0 + i as f64);
                let scored = crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
                st.absorb(&s, &scored.products, &scored.events, &cfg);
                let reused = st.encode_reusing();
                prop_assert_eq!(ListState::decode(&reused).unwrap(), st.clone());
            }
        }

        #[test]
        fn the_merge_of_the_scorers_layout_is_the_merge(lists in lists(), order in prop::collection::vec(0usize..12, 1..30)) {
            // `absorb_prepared` with what `score_keeping` laid out (new products, new currencies,
            // late snapshots, replays) against `absorb` laying the snapshot out itself.
            let cfg = SignalConfig::default();
            let (mut kept, mut plain) = (ListState::default(), ListState::default());
            for i in order.into_iter().map(|i| i % lists.len()) {
                let s = snap(i as i64 * 7, &lists[i], 100.0 + i as f64);
                let ctx = crate::signals::ScoreContext { state: &kept, calibration: None };
                let (scored, prepared) = crate::signals::score_keeping(&s, &ctx, &cfg);
                kept.absorb_prepared(&s, Some(prepared), &scored.products, &scored.events, &cfg);
                plain.absorb(&s, &scored.products, &scored.events, &cfg);
                prop_assert_eq!(&kept, &plain);
                prop_assert_eq!(ListState::decode(&kept.encode_reusing()).unwrap(), ListState::decode(&plain.encode()).unwrap());
            }
        }

        #[test]
        fn remember_keeps_what_the_plain_insert_keeps(events in prop::collection::vec((0i64..6, 0u8..3, 0u32..3), 1..40)) {
            // Compared with every event held, not only those of the same time (the plain insert).
            let mut st = ListState::default();
            let mut plain: Vec<Fired> = Vec::new();
            for (h, k, p) in events {
                let (kind, n) = [(EventKind::NewEntrant, None), (EventKind::DroppedOut, None), (EventKind::LeftTopN, Some(3))][usize::from(k)];
                let f = Fired::of(DateTime::from_timestamp(1_793_000_000 + h * 3600, 0).unwrap(), kind, n, EntryId::parse(&format!("MLB{p}")).unwrap());
                st.remember(f.clone());
                if !plain.iter().any(|x| x == &f) {
                    let i = plain.partition_point(|x| x.at <= f.at);
                    plain.insert(i, f);
                }
                prop_assert_eq!(&st.fired, &plain);
            }
        }

        #[test]
        fn the_kept_text_is_the_base64_of_the_bytes(lists in lists(), order in prop::collection::vec(0usize..12, 1..30)) {
            // As the step merges and writes (in time order, then in any), with dwell runs and
            // events: the item of the writer that keeps its bytes' base64 and copies the text of
            // the columns and products it copies is the base64 of its bytes, reads as the whole
            // encoder's, and its columns start on 3-byte groups.
            let cfg = SignalConfig::default();
            let cat = CategoryId::parse("MLB1055").unwrap();
            let mut st = ListState::default();
            let mut copied = 0;
            for i in (0..lists.len()).chain(order.into_iter().map(|i| i % lists.len())) {
                let s = snap(i as i64 * 7, &lists[i], 100.0 + i as f64);
                let scored = crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
                st.absorb(&s, &scored.products, &scored.events, &cfg);
                let before = st.written.clone();
                let (reused, same) = ScoreStateItem::new_reusing(SiteId::MLB, &cat, &mut st);
                // Told unchanged exactly when the bytes are the last write's (not compared).
                prop_assert_eq!(same, st.written.blob == before.blob);
                // Written again with no change in between (a replay): the same bytes, told so.
                let mut again = st.clone();
                let (item, same) = ScoreStateItem::new_reusing(SiteId::MLB, &cat, &mut again);
                prop_assert!(same && item.state == reused.state);
                let whole = ScoreStateItem::new(SiteId::MLB, &cat, &st);
                prop_assert_eq!(&reused.state, &base64_encode(&st.written.blob));
                prop_assert_eq!(reused.state().unwrap(), whole.state().unwrap());
                prop_assert_eq!(ScoreStateItem { state: String::new(), ..reused }, ScoreStateItem { state: String::new(), ..whole });
                for c in &st.written.columns {
                    prop_assert_eq!((c.start % 3, (c.runs - c.start) % 3), (0, 0));
                }
                let keys = |w: &Written| (0..w.columns.len()).map(|k| w.key(k)).collect::<Vec<_>>();
                let now = keys(&st.written);
                copied += usize::from(keys(&before).iter().any(|b| b.prev.is_some() && now.contains(b)));
            }
            prop_assert!(copied > 0 || lists.len() < 3);
        }

        #[test]
        fn a_write_in_another_lists_buffers_is_a_write_in_new_ones(lists in lists(), order in prop::collection::vec((0usize..12, any::<bool>()), 1..30)) {
            // Two lists of different products written in turn on one thread: each write takes the
            // buffers the other list's last write left (`SPARE`, holding another state's bytes);
            // its bytes and text are those of the same write into new buffers.
            let cfg = SignalConfig::default();
            let cat = CategoryId::parse("MLB1055").unwrap();
            let mut sts = [ListState::default(), ListState::default()];
            for (i, other) in order {
                let i = i % lists.len();
                let k = if other { (i + 1) % lists.len() } else { i };
                let st = &mut sts[usize::from(other)];
                st.absorb(&snap(i as i64 * 7, &lists[k], 100.0 + k as f64), &[], &[], &cfg);
                let (bytes, _, spans) = st.encode_with(Some(&st.written));
                let text = text_reusing(&bytes, &spans, &st.written);
                let (item, _) = ScoreStateItem::new_reusing(SiteId::MLB, &cat, st);
                prop_assert_eq!(&st.written.blob, &bytes);
                prop_assert_eq!(&item.state, &text);
                prop_assert_eq!(&item.state, &base64_encode(&bytes));
            }
        }

        #[test]
        fn the_text_of_copied_spans_is_the_base64_of_the_bytes(
            old in prop::collection::vec(any::<u8>(), 0..80),
            pieces in prop::collection::vec((any::<bool>(), 0usize..80, 0usize..30), 0..8),
        ) {
            // Spans of the last blob copied to any place of a new one, at any place in a group of
            // either (not only the columns the encoder puts on groups), between new bytes.
            let before = Written { text: base64_encode(&old), blob: old.clone(), ..Written::default() };
            let (mut blob, mut spans) = (Vec::new(), Vec::new());
            for (copy, at, len) in pieces {
                if copy && !old.is_empty() {
                    let (s, e) = (at % old.len(), (at % old.len() + len).min(old.len()));
                    spans.push(Span { to: blob.len() as u32, from: s as u32, len: (e - s) as u32 });
                    blob.extend_from_slice(&old[s..e]);
                } else {
                    blob.extend((0..len).map(|i| (at + i * 7) as u8));
                }
            }
            prop_assert_eq!(text_reusing(&blob, &spans, &before), base64_encode(&blob));
        }

        #[test]
        fn the_merge_does_not_depend_on_the_order(lists in lists()) {
            let forward = built(&lists, 0..lists.len());
            let backward = built(&lists, (0..lists.len()).rev());
            let twice = built(&lists, (0..lists.len()).chain(0..lists.len()));
            // Currency indices follow the order of first sight; the currencies themselves do not.
            type Resolved = (u32, u8, Option<String>, Option<f64>, Option<u64>);
            let cols = |st: &ListState| -> Vec<Vec<Resolved>> {
                st.cols
                    .iter()
                    .map(|c| {
                        c.cells
                            .iter()
                            .map(|x| (x.id, x.pos, st.currencies.get(usize::from(x.cur)).cloned(), x.price(), x.reviews()))
                            .collect()
                    })
                    .collect()
            };
            for other in [&backward, &twice] {
                prop_assert_eq!(&other.ids, &forward.ids);
                prop_assert_eq!(&other.seen, &forward.seen);
                prop_assert_eq!(cols(other), cols(&forward));
            }
        }

        #[test]
        fn damaged_bytes_are_an_error_not_a_panic(lists in lists(), cut in 0usize..400, flip in 0usize..400) {
            let mut b = built(&lists, 0..lists.len()).encode();
            if !b.is_empty() {
                let i = flip % b.len();
                b[i] ^= 0x5a;
                b.truncate(cut.min(b.len()));
            }
            let _ = ListState::decode(&b);
        }
    }

    /// A state with every field set arbitrarily (not only what `absorb` produces): few products and
    /// small pools of prices and review totals, so that cells repeat the previous column's, move,
    /// leave and come back, and values repeat or change a little, as well as literals of any kind.
    fn states() -> impl Strategy<Value = ListState> {
        let time = || {
            (1_600_000_000i64..1_900_000_000, prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000])
                .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).unwrap())
        };
        let price = prop_oneof![
            3 => prop::sample::select(vec![None, Some(10.0), Some(10.5), Some(1299.9), Some(-0.0), Some(0.1 + 0.2),
                Some(f64::INFINITY), Some(f64::NEG_INFINITY), Some(1e300), Some(-3.25), Some(f64::MIN_POSITIVE)]),
            1 => any::<f64>().prop_filter("NaN is not equal to itself", |x| !x.is_nan()).prop_map(Some),
        ];
        let reviews = prop_oneof![
            3 => prop::sample::select(vec![None, Some(0), Some(1), Some(3), Some(5), Some(9), Some(200), Some(u64::MAX)]),
            1 => any::<u64>().prop_map(Some),
        ];
        let run = prop_oneof![Just(None), (0i64..1_000_000).prop_map(Some)];
        let cell = (
            0u32..8,
            prop_oneof![3 => Just(None), 1 => (1u8..=100).prop_map(Some)],
            0u16..4,
            price,
            reviews,
            run.clone(),
            run,
        );
        let col = (1i64..200_000, prop::collection::vec(cell, 0..8), any::<bool>(), time());
        let fired = (time(), 0usize..3, 0usize..10);
        (
            prop::collection::btree_set("[A-Z0-9]{1,8}", 0..8),
            prop::collection::vec(0u8..3, 8),
            prop::collection::vec((time(), 0i64..1_000_000), 8),
            (prop::option::of(time()), prop::option::of(time()), prop::option::of(time())),
            prop::collection::vec("[A-Z]{3}", 0..3),
            prop::collection::vec(col, 0..6),
            prop::collection::vec(fired, 0..6),
        )
            .prop_map(|(names, kinds, seen, (started, complete, fired_from), currencies, cols, fired)| {
                let ids: Vec<EntryId> = names.iter().map(|n| EntryId::parse(&format!("MLB{n}")).unwrap()).collect();
                let n = ids.len() as u32;
                let mut at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
                let cols = cols
                    .into_iter()
                    .filter(|_| n > 0)
                    .map(|(gap, cells, runs, _)| {
                        at += chrono::Duration::seconds(gap);
                        let since = |s: Option<i64>| s.map(|s| at - chrono::Duration::seconds(s));
                        let (cells, dwell): (Vec<Cell>, Vec<Dwell>) = cells
                            .into_iter()
                            .enumerate()
                            .map(|(i, (id, pos, cur, price, reviews, top, one))| {
                                let cell = Cell::new(
                                    id % n,
                                    pos.unwrap_or(i as u8 + 1),
                                    if usize::from(cur) < currencies.len() { cur } else { NO_CURRENCY },
                                    price,
                                    reviews,
                                );
                                (cell, Dwell { top_since: since(top), one_since: since(one) })
                            })
                            .unzip();
                        Column { at, cells, dwell: if runs { dwell } else { Vec::new() } }
                    })
                    .collect();
                let kinds_table = [
                    (EventKind::NewEntrant, None),
                    (EventKind::EnteredTopN, Some(10)),
                    (EventKind::LeftTopN, Some(200)),
                ];
                let mut fired: Vec<Fired> = fired
                    .into_iter()
                    .map(|(at, k, p)| {
                        let product =
                            ids.get(p).cloned().unwrap_or_else(|| EntryId::parse(&format!("MLA{p}")).unwrap());
                        Fired::of(at, kinds_table[k].0, kinds_table[k].1, product)
                    })
                    .collect();
                // Sorted by time, as a state's events are (`decode` refuses others).
                fired.sort_by_key(|f| f.at);
                ListState {
                    version: 0,
                    kinds: kinds.iter().take(ids.len()).map(|k| kind_of(*k).unwrap()).collect(),
                    seen: seen
                        .iter()
                        .take(ids.len())
                        .map(|(t, d)| SeenRange { first_seen: *t, last_seen: *t + chrono::Duration::seconds(*d) })
                        .collect(),
                    ids,
                    list_started_at: started,
                    complete_from: complete,
                    fired_from,
                    currencies,
                    cols,
                    fired,
                    written: Written::default(),
                    tables: ColumnTables::default(),
                }
            })
    }

    proptest! {
        #[test]
        fn ids_compare_as_strings_do(a in "[A-Z0-9]{0,20}", b in "[A-Z0-9]{0,20}", shared in "[A-Z0-9]{0,12}") {
            let (a, b) = (format!("{shared}{a}"), format!("{shared}{b}"));
            prop_assert_eq!(cmp_bytes(a.as_bytes(), b.as_bytes()), a.cmp(&b));
        }

        #[test]
        fn shared_prefixes_are_counted_as_bytes_are(a in "[A-Z0-9]{0,20}", b in "[A-Z0-9]{0,20}", shared in "[A-Z0-9]{0,20}") {
            let (a, b) = (format!("{shared}{a}"), format!("{shared}{b}"));
            let plain = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            prop_assert_eq!(shared_prefix(a.as_bytes(), b.as_bytes()), plain);
        }

        #[test]
        fn any_state_round_trips(st in states()) {
            prop_assert_eq!(ListState::decode(&st.encode()).unwrap(), st);
        }

        #[test]
        fn the_item_is_what_serde_makes_of_it(
            st in states(),
            version in any::<u64>(),
            newest in prop::option::of((-62_000_000_000i64..250_000_000_000, prop_oneof![Just(0u32), 0u32..1_000_000_000])),
            site in prop::sample::select(vec![SiteId::MLB, SiteId::MLA, SiteId::MLM]),
        ) {
            let mut item = ScoreStateItem::new(site, &CategoryId::parse(&format!("{}1055", site.as_str())).unwrap(), &st);
            item.version = version;
            item.newest = newest.and_then(|(s, ns)| DateTime::from_timestamp(s, ns));
            let (direct, typed) = (item.to_item().unwrap(), Item::from_typed(&item.pk, &item.sk, &item).unwrap());
            // The attributes in the same order too (the map's equality does not look at it).
            prop_assert_eq!(serde_json::to_string(&direct).unwrap(), serde_json::to_string(&typed).unwrap());
            prop_assert_eq!(direct, typed);
        }

        #[test]
        fn reused_bytes_follow_any_edit_of_the_events(
            st in states(),
            edits in prop::collection::vec((0usize..5, any::<prop::sample::Index>(), -2i64..3, 0usize..3, 0usize..10), 1..16),
        ) {
            // The events written after each of any edits of the fired list (an event inserted before,
            // between or after the others, at the time of another or not; the first, any or the last
            // dropped; a kind changed), by the writer that copies the events that still hold from
            // its last write: always read as the whole encoder's bytes read, and the text is their
            // base64.
            let mut st = st;
            st.fired.sort_by_key(|f| f.at);
            let kinds = [(EventKind::NewEntrant, None), (EventKind::EnteredTopN, Some(10)), (EventKind::PriceDrop, None)];
            let ids = st.ids.clone();
            let product = |p: usize| ids.get(p).cloned().unwrap_or_else(|| EntryId::parse(&format!("MLA{p}")).unwrap());
            st.encode_reusing();
            for (op, at, hours, kind, p) in edits {
                let n = st.fired.len();
                match op {
                    0 | 1 => {
                        let near = if n == 0 { DateTime::from_timestamp(1_800_000_000, 0).unwrap() } else { st.fired[at.index(n)].at };
                        let f = Fired::of(near + chrono::Duration::hours(hours), kinds[kind].0, kinds[kind].1, product(p));
                        st.remember(f);
                    }
                    2 if n > 0 => {
                        st.fired.remove(if hours < 0 { 0 } else { at.index(n) });
                    }
                    3 if n > 0 => (st.fired[at.index(n)].kind, st.fired[at.index(n)].n) = kinds[kind],
                    _ => {
                        st.fired.pop();
                    }
                }
                let reused = st.encode_reusing();
                prop_assert_eq!(ListState::decode(&reused).unwrap(), ListState::decode(&st.encode()).unwrap());
                prop_assert_eq!(&st.written.text, &base64_encode(&reused));
            }
        }

        #[test]
        fn the_merge_lays_a_snapshot_out_as_prepare_does(
            st in states(),
            swaps in prop::collection::vec(0usize..8, 0..4),
            others in prop::collection::vec((0usize..8, 0usize..12, 0usize..5), 0..4),
        ) {
            // The newest column's products, a few of them swapped with the next or replaced by
            // another product (known or not, anywhere in the table) and with another currency
            // (known, unknown or none).
            let mut ids: Vec<EntryId> =
                st.cols.last().map_or(&[][..], |c| &c.cells[..]).iter().map(|c| st.ids[c.id as usize].clone()).collect();
            let mut curs: Vec<Option<String>> = st
                .cols
                .last()
                .map_or(&[][..], |c| &c.cells[..])
                .iter()
                .map(|c| st.currencies.get(usize::from(c.cur)).cloned())
                .collect();
            for i in swaps {
                if i + 1 < ids.len() {
                    ids.swap(i, i + 1);
                }
            }
            for (at, product, cur) in others {
                let id = st.ids.get(product).cloned().unwrap_or_else(|| EntryId::parse(&format!("MLA{product}")).unwrap());
                let cur = match cur {
                    0 => None,
                    1 => Some("XXX".to_string()),
                    c => st.currencies.get(c - 2).cloned(),
                };
                if ids.contains(&id) {
                    continue;
                }
                if at < ids.len() {
                    (ids[at], curs[at]) = (id, cur);
                } else {
                    ids.push(id);
                    curs.push(cur);
                }
            }
            let s = Snapshot {
                site: SiteId::MLB,
                category: CategoryId::parse("MLB1055").unwrap(),
                taken_at: DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
                entries: ids
                    .into_iter()
                    .zip(curs)
                    .enumerate()
                    .map(|(i, (id, cur))| {
                        let mut e = SnapshotEntry::bare(Position::new(i as i64 + 1).unwrap(), id, EntryType::Product);
                        e.currency = cur.map(Into::into);
                        e.price = Some(10.0 + i as f64);
                        e
                    })
                    .collect(),
                fetch: Default::default(),
            };
            let prepared = st.prepare(&s);
            let known = st.known_column(&s);
            if prepared.new_ids.is_empty() && prepared.new_currencies.is_empty() {
                prop_assert_eq!(known, Some(prepared.col));
            } else {
                prop_assert_eq!(known, None);
            }
        }

        #[test]
        fn hourly_lists_that_move_a_little_write_items_that_read_back(
            steps in prop::collection::vec((0usize..19, 0u8..10, 0u8..12), 30..90),
        ) {
            // The warm writer over an hourly list that swaps two neighbours every hour, takes a
            // new product now and then (its id sorts among the others: the products are renumbered)
            // and is sometimes scored late: where format 4 keeps the columns the lookback dropped
            // as references. Every item written reads back as the state held, its text is the
            // base64 of its bytes, and damaged copies of those bytes are an error or a state, never
            // a panic.
            let cfg = SignalConfig::default();
            let category = CategoryId::parse("MLB1055").unwrap();
            let mut st = ListState::default();
            let mut list: Vec<u32> = (1..=20).collect();
            let mut next = 31;
            for (h, (i, new, late)) in steps.into_iter().enumerate() {
                list.swap(i, i + 1);
                if new == 0 {
                    list[19] = next;
                    next += 1;
                }
                let t = if late == 0 && h > 3 { h - 3 } else { h } as i64;
                let s = snap(t, &list, 100.0 + h as f64);
                let (scored, prepared) =
                    crate::signals::score_keeping(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
                st.absorb_prepared(&s, Some(prepared), &scored.products, &scored.events, &cfg);
                let item = ScoreStateItem::new_reusing(SiteId::MLB, &category, &mut st).0;
                let bytes = base64_decode(&item.state).unwrap();
                prop_assert_eq!(&item.state, &base64_encode(&bytes));
                prop_assert_eq!(ListState::decode(&bytes).unwrap(), st.clone());
                prop_assert_eq!(item.state().unwrap(), st.clone());
                let mut damaged = bytes.clone();
                damaged[(h * 31) % bytes.len()] ^= 0x5a;
                let _ = ListState::decode(&damaged);
                damaged.truncate((h * 17) % (bytes.len() + 1));
                let _ = ListState::decode(&damaged);
            }
        }

        #[test]
        fn any_damaged_state_is_an_error_not_a_panic(st in states(), at in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
            let mut b = st.encode();
            for (i, x) in at {
                let i = i % b.len();
                b[i] = x;
            }
            b.truncate(cut % (b.len() + 1));
            let _ = ListState::decode(&b);
        }
    }

    #[test]
    fn references_go_when_a_new_product_renumbers_one_in_their_middle() {
        // MLB99 enters a list of MLB1..MLB20 (it sorts last: index 20) at hour `k`, so its column
        // writes index 20 while the column written whole before it wrote at most 19. When those
        // columns have become references, MLB95 enters (it sorts before MLB99: index 20, which
        // moves MLB99 to 21): the column that wrote MLB99 can no longer be copied, the one before
        // it can, and the references must not be copied with a gap. Tried at every hour of that
        // window, each time from a copy of the state.
        let cfg = SignalConfig::default();
        let category = CategoryId::parse("MLB1055").unwrap();
        let step = |st: &mut ListState, h: i64, list: &[u32]| {
            let s = snap(h, list, 100.0);
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: st, calibration: None }, &cfg);
            st.absorb(&s, &scored.products, &scored.events, &cfg);
            let bytes = base64_decode(&ScoreStateItem::new_reusing(SiteId::MLB, &category, st).0.state).unwrap();
            ListState::decode(&bytes).map(|back| back == *st)
        };
        for k in 0..10 {
            let mut st = ListState::default();
            let mut list: Vec<u32> = (1..=20).collect();
            for h in 0..k + 44 {
                list.swap(h as usize % 18, h as usize % 18 + 1);
                if h == k {
                    list[19] = 99;
                }
                assert_eq!(step(&mut st, h, &list).ok(), Some(true), "k {k}, hour {h}");
                if h > k + 24 {
                    let (mut other, mut with) = (st.clone(), list.clone());
                    with[17] = 95;
                    assert_eq!(step(&mut other, h + 1, &with).ok(), Some(true), "k {k}, MLB95 at hour {}", h + 1);
                }
            }
        }
    }

    #[test]
    fn a_list_that_keeps_its_products_keeps_the_dropped_columns_as_references() {
        // 40 hours of a list of 20 whose neighbours swap every hour, no product new: once the
        // lookback drops columns, the warm writer keeps them as references (its bytes are not the
        // whole encoder's, and longer), and they read back as the state.
        let cfg = SignalConfig::default();
        let category = CategoryId::parse("MLB1055").unwrap();
        let mut st = ListState::default();
        let mut list: Vec<u32> = (1..=20).collect();
        let (mut kept, mut run) = (0, 0);
        for h in 0..40 {
            list.swap(h % 19, h % 19 + 1);
            let s = snap(h as i64, &list, 100.0);
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            st.absorb(&s, &scored.products, &scored.events, &cfg);
            let item = ScoreStateItem::new_reusing(SiteId::MLB, &category, &mut st).0;
            let bytes = base64_decode(&item.state).unwrap();
            assert_eq!(ListState::decode(&bytes).unwrap(), st, "hour {h}");
            let whole = st.encode();
            // The columns written that the state does not hold are the references.
            if st.written.columns.len() > st.cols.len() {
                kept += 1;
                run += 1;
                assert!(bytes.len() > whole.len(), "hour {h}: references make the bytes longer");
                // At most MAX_REFS writes in a row with references: then the first column is
                // written whole again.
                assert!(run <= MAX_REFS, "hour {h}: {run} writes in a row kept references");
            } else {
                run = 0;
            }
        }
        assert!(kept >= 5, "the dropped columns were kept as references in {kept} of 40 writes");
        // A new product whose id sorts among the others renumbers the products in `ids`, not the
        // slots the references name them by: what is written still reads back.
        for (h, new) in [(40, 105), (41, 150), (42, 1005)] {
            list[19] = new;
            let s = snap(h, &list, 100.0);
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            st.absorb(&s, &scored.products, &scored.events, &cfg);
            let bytes = base64_decode(&ScoreStateItem::new_reusing(SiteId::MLB, &category, &mut st).0.state).unwrap();
            assert_eq!(ListState::decode(&bytes).unwrap(), st, "hour {h}, new product MLB{new}");
        }
    }

    #[test]
    fn a_new_product_renumbers_no_written_column() {
        // 30 hours of a list of 20 whose neighbours swap every hour, then every few hours a new
        // product whose id sorts among the others (MLB105 between MLB10 and MLB11, …): it moves
        // the products after it in `ids`, not their slots, so the warm writer still copies every
        // column but the newest (and the references), the new product takes the next slot, and
        // the bytes read as the state.
        let mut st = ListState::default();
        let mut list: Vec<u32> = (1..=20).collect();
        let (mut renumbered, mut refs) = (0, 0);
        for h in 0..60i64 {
            list.swap(h as usize % 19, h as usize % 19 + 1);
            let new = h >= 30 && h % 4 == 2;
            if new {
                list[(h as usize * 7) % 20] = 100 + h as u32;
            }
            let n = st.ids.len();
            write_hour(&mut st, &snap(h, &list, 100.0), |st, before, written, spans| {
                if !new || h <= 30 {
                    return;
                }
                let at = st.index_of(&EntryId::parse(&format!("MLB{}", 100 + h)).unwrap()).unwrap() as usize;
                assert!(at + 1 < st.ids.len(), "hour {h}: the new product sorts among the others");
                assert_eq!((st.ids.len(), before.slots[at]), (n + 1, n as u32), "hour {h}: the next slot");
                // Every column but the newest lies in a span copied from the last write, but for the
                // one before it (its flags byte loses the runs) and the first when the references
                // were dropped (written whole).
                let copied = |c: &WrittenColumn| spans.iter().any(|sp| sp.to <= c.start && c.runs <= sp.to + sp.len);
                let cols = &written.columns;
                let from = usize::from(cols.len() == st.cols.len());
                assert!(cols[from..cols.len() - 2].iter().all(copied), "hour {h}: columns written again");
                assert!(!copied(&cols[cols.len() - 1]), "hour {h}: the newest column copied");
                renumbered += 1;
                refs += usize::from(written.columns.len() > st.cols.len());
            });
        }
        assert!(renumbered >= 6 && refs >= 3, "{renumbered} new products, {refs} with references kept");
    }

    #[test]
    fn slots_are_read_as_written_and_each_once() {
        // Any numbering of the products reads as the state (here the reverse of their order); a
        // slot given twice is an error.
        let lists = [vec![3, 1, 2, 7], vec![7, 3, 9, 1], vec![9, 12, 3]];
        let st = built(&lists, 0..3);
        let n = st.ids.len() as u32;
        let before = Written { slots: (0..n).rev().collect(), ..Written::default() };
        let (bytes, ..) = st.encode_with(Some(&before));
        assert_ne!(bytes, st.encode());
        assert_eq!(ListState::decode(&bytes).unwrap(), st);
        let before = Written { slots: (0..n).map(|i| i.min(n - 2)).collect(), ..Written::default() };
        let (bytes, ..) = st.encode_with(Some(&before));
        assert_eq!(ListState::decode(&bytes), Err(CodecError("a product slot twice")));
    }

    #[test]
    fn a_change_that_keeps_the_length_is_not_told_unchanged() {
        // The writer tells a replay from the copies (`unchanged`), not by comparing the texts: a
        // state whose bytes change in what is written anew (here a time of the header), keeping
        // their length, is a change; written again as it is, it is not.
        let cat = CategoryId::parse("MLB1055").unwrap();
        let mut st = built(&[vec![3, 1, 2, 7], vec![7, 3, 9, 1], vec![9, 12, 3]], 0..3);
        st.fired_from = st.newest();
        let (first, _) = ScoreStateItem::new_reusing(SiteId::MLB, &cat, &mut st);
        let (again, same) = ScoreStateItem::new_reusing(SiteId::MLB, &cat, &mut st);
        assert!(same && again.state == first.state);
        st.fired_from = st.fired_from.map(|t| t + chrono::Duration::seconds(1));
        let (changed, same) = ScoreStateItem::new_reusing(SiteId::MLB, &cat, &mut st);
        assert_eq!(changed.state.len(), first.state.len(), "a change of the same length");
        assert!(!same && changed.state != first.state);
        assert_eq!(changed.state().unwrap(), st);
    }

    #[test]
    fn a_product_that_leaves_and_comes_back_elsewhere() {
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        // 7 leaves for three hours and comes back at another place, with its price and more reviews;
        // 40 enters at the top and moves everything down one place.
        let lists: [&[u32]; 6] = [&[1, 2, 7, 5], &[1, 2, 5], &[2, 1, 5], &[1, 2, 5], &[7, 1, 2, 5], &[40, 7, 1, 2, 5]];
        for (h, l) in lists.iter().enumerate() {
            let mut s = snap(h as i64, l, 100.0);
            for e in &mut s.entries {
                e.price = e.price.map(|_| 250.0);
                e.reviews_total = e.reviews_total.map(|r| r + 3 * h as u64);
            }
            st.absorb(&s, &[], &[], &cfg);
        }
        let back = ListState::decode(&st.encode()).unwrap();
        assert_eq!(back, st);
        let seven = st.index_of(&EntryId::parse("MLB7").unwrap()).unwrap();
        let cell = back.cols[4].cells.iter().find(|c| c.id == seven).unwrap();
        assert_eq!((cell.pos, cell.price(), cell.reviews()), (1, Some(250.0), Some(70 + 4 + 3 * 4)));
    }

    #[test]
    fn a_list_that_does_not_move_costs_a_byte_a_cell() {
        let same: Vec<Vec<u32>> = (0..24).map(|_| (1..=20).collect()).collect();
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        for (i, l) in same.iter().enumerate() {
            st.absorb(&snap(i as i64, l, 100.0), &[], &[], &cfg);
        }
        // 24 lists of 20: ids once (≤ 10 bytes each with the times), the first column in full
        // (≤ 14 bytes a cell), then per column its time, size and flags and a byte per cell.
        let n = st.encode().len();
        assert!(n < 20 * 10 + 20 * 14 + 23 * (5 + 20) + 40, "{n} bytes");
        assert_eq!(ListState::decode(&st.encode()).unwrap(), st);
    }

    #[test]
    fn the_item_time_reads_as_chrono_reads_it() {
        for t in ["2026-11-01T00:00:00Z", "2026-02-28T23:59:59Z", "1999-12-31T12:30:05Z"] {
            assert_eq!(utc_secs(t.as_bytes()), Some(t.parse::<DateTime<Utc>>().unwrap()), "{t}");
        }
        // Anything else goes through chrono (or is refused by it).
        for t in ["2026-02-30T00:00:00Z", "2026-11-01T00:00:00+01:00", "2026-11-01T00:00:00.5Z", "2026-11-01T24:00:00Z"]
        {
            assert_eq!(utc_secs(t.as_bytes()), None, "{t}");
        }
        let item = ScoreStateItem::new(SiteId::MLB, &CategoryId::parse("MLB1055").unwrap(), &ListState::default());
        for (json, newest) in [
            (r#""2026-11-01T00:00:00Z""#, DateTime::from_timestamp(1_793_491_200, 0)),
            (r#""2026-11-01T01:00:00.25+01:00""#, DateTime::from_timestamp(1_793_491_200, 250_000_000)),
            ("null", None),
        ] {
            let mut v = serde_json::to_value(&item).unwrap();
            v["newest"] = serde_json::from_str(json).unwrap();
            let back: ScoreStateItem = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(back.newest, newest, "{json}");
            if let Some(t) = newest {
                let again = serde_json::to_value(ScoreStateItem { newest: Some(t), ..back }).unwrap();
                assert_eq!(again["newest"], serde_json::to_value(t).unwrap());
            }
        }
    }

    #[test]
    fn review_totals_that_wrap_round_trip() {
        let mut st = built(&[vec![1], vec![1], vec![1]], 0..3);
        for (c, r) in st.cols.iter_mut().zip([u64::MAX, 0, 3]) {
            c.cells[0].set_reviews(Some(r));
        }
        assert_eq!(ListState::decode(&st.encode()).unwrap(), st);
    }

    #[test]
    fn format_1_blobs_are_refused() {
        // A state of three snapshots written by the format 1 encoder (before this one).
        const V1: &str = "UwEBgIn4rQ0AAAAFBE1MQjEBAAAAAARNTEIyAQAAoDgABE1MQjMBAADAcAAETUxCNAGgOACgOAAETUxCNQHAcAAAAAEDQlJMAwAAAwABKgAAAAAAACVAAwABAioAAAAAAAA1QAYAAgMqAAAAAACAP0AJAKA4AAMBARoAAAAAAAAlQAMCAhoAAAAAAAA1QAYDAyoAAAAAAIA/QAkAoDgAAwIBGgAAAAAAACVAAwMCGgAAAAAAADVABgQDKgAAAAAAgD9ACQAAAQtuZXdfZW50cmFudAEAAAAC";
        let bytes = base64_decode(V1).unwrap();
        assert_eq!(&bytes[..2], b"S\x01");
        assert_eq!(ListState::decode(&bytes), Err(CodecError("not a scorer state of a known format")));
        let item = ScoreStateItem {
            state: V1.into(),
            ..ScoreStateItem::new(SiteId::MLB, &CategoryId::parse("MLB1055").unwrap(), &ListState::default())
        };
        assert!(item.state().is_err());
    }

    #[test]
    fn blobs_of_format_2_read_the_same() {
        // Five scored snapshots (new products, moves, dwell runs, 19 events) merged and written
        // in format 2 by the encoders of session 11 (no padding bytes) and of session 12 (columns
        // on 3-byte groups, `last_seen` against the newest, no reference columns): both read as
        // the state the same merges give now, whose bytes (format 5) differ but read the same.
        const UNPADDED: &str = "UwIBgJLw2xoKgMIDAQRNTEIxAAANATCAwgMACgEyAAALATMAAAoBNAC+0QIKATUA/sEDCwE2wHAACgE3gOEBvnAKATgA/uABCwE5wNECAAIDQlJMA1VTRAUABgH2APROAAr2AthPABT2A7xQAB4ABPYFhFIBMgAIwHAGAU4CvFBOANhPT6BRAfYGzFMAPQHAcAYBT6BRT7xQT4RSTgawVPYHlFUASAHAcAYB9gnAVwBdTgKEUk4AoFFOA+hSTgaUVU4H+FXAcAYDT6RYT+hSTgPMU04AhFJP+FX2AYhZAWgDvnC+cAH+wQMB/sEDAf7BAwG+0QIBAAYLZHJvcHBlZF9vdXQOZW50ZXJlZF90b3BfMTALbGVmdF90b3BfMTALbmV3X2VudHJhbnQObmV3X251bWJlcl9vbmUNZW50ZXJlZF90b3BfMxPAcAAGAAEHAAIGAAMHAAQDwHAABQABCAACBQADCMBwAAkAAQoABQoAAgkAAwoABArAcAAIAAECAAIIAAMC";
        const PADDED: &str = "UwIBgJLw2xoKgMIDAQRNTEIxAAANATCAwgMACgEyAAALATMAAAoBNAC+0QIKATUA/sEDCwE2wHAACgE3gOEBvnAKATgA/uABCwE5wNECAAIDQlJMA1VTRIUAAIaAAAH2APROAAr2AthPABT2A7xQAB4ABPYFhFIBMgAIwHCGAAFOArxQTgDYT0+gUQH2BsxTAD0BwHAGAU+gUU+8UE+EUk4GsFT2B5RVAEgBwHAGAfYJwFcAXU4ChFJOAKBRTgPoUk4GlFVOB/hVwHAGA0+kWE/oUk4DzFNOAIRST/hV9gGIWQFoA75wvnAB/sEDAf7BAwH+wQMBvtECAQAGC2Ryb3BwZWRfb3V0DmVudGVyZWRfdG9wXzEwC2xlZnRfdG9wXzEwC25ld19lbnRyYW50Dm5ld19udW1iZXJfb25lDWVudGVyZWRfdG9wXzMTwHAABgABBwACBgADBwAEA8BwAAUAAQgAAgUAAwjAcAAJAAEKAAUKAAIJAAMKAAQKwHAACAABAgACCAADAg==";
        let cfg = SignalConfig::default();
        let mut st = ListState::default();
        let lists: [&[u32]; 5] =
            [&[1, 2, 3, 4, 5, 8], &[2, 1, 3, 4, 6, 8], &[2, 1, 3, 6, 7, 8], &[9, 2, 1, 3, 6, 7], &[9, 2, 3, 1, 6, 10]];
        for (h, l) in lists.iter().enumerate() {
            let s = snap(h as i64, l, 100.0 + h as f64);
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            st.absorb(&s, &scored.products, &scored.events, &cfg);
        }
        assert_eq!((st.fired.len(), st.cols.len(), st.cols[4].dwell.len()), (19, 5, 6));
        let (old, padded) = (base64_decode(UNPADDED).unwrap(), base64_decode(PADDED).unwrap());
        assert_eq!((&old[..2], &padded[..2]), (&b"S\x02"[..], &b"S\x02"[..]));
        assert_eq!(ListState::decode(&old).unwrap(), st);
        assert_eq!(ListState::decode(&padded).unwrap(), st);
        // Session 12's padding: 0–2 bytes for the columns' count and for each column.
        assert!(
            padded.len() > old.len() && padded.len() <= old.len() + 2 * 6,
            "{} against {}",
            padded.len(),
            old.len()
        );
        let new = st.encode();
        assert_eq!(new[..2], [b'S', FORMAT]);
        assert_ne!(new, padded);
        assert_eq!(ListState::decode(&new).unwrap(), st);
    }

    /// `s` scored against `st` and merged in, then written as the warm writer writes (the bytes
    /// checked to read as the state); `look` sees the state, the last write, what this one keeps
    /// and its spans before they become `st.written`.
    fn write_hour(st: &mut ListState, s: &Snapshot, look: impl FnOnce(&ListState, &Written, &Written, &[Span])) {
        let cfg = SignalConfig::default();
        let scored = crate::signals::score(s, &crate::signals::ScoreContext { state: st, calibration: None }, &cfg);
        st.absorb(s, &scored.products, &scored.events, &cfg);
        let before = std::mem::take(&mut st.written);
        let (bytes, written, spans) = st.encode_with(Some(&before));
        assert_eq!(
            ListState::decode(&bytes).unwrap(),
            ListState { version: st.version, ..st.clone() },
            "{}",
            s.taken_at
        );
        look(st, &before, &written, &spans);
        let text = text_reusing(&bytes, &spans, &before);
        st.written = Written { text, blob: bytes, slots: before.slots, ..written };
    }

    /// The hourly walk the session-13 blobs of `blobs_of_format_4_read_the_same` were written
    /// for: a list of 8 whose neighbours swap every hour, two new products, prices that move,
    /// events (8 of them held at the end), the warm writer's references.
    fn walk_of_format_4() -> (ListState, Vec<String>) {
        let cfg = SignalConfig::default();
        let category = CategoryId::parse("MLB1055").unwrap();
        let mut st = ListState::default();
        let mut list: Vec<u32> = (1..=8).collect();
        let mut texts = Vec::new();
        for h in 0..34i64 {
            list.swap(h as usize % 7, h as usize % 7 + 1);
            if h == 12 {
                list[7] = 30;
            }
            if h == 20 {
                list[3] = 12;
            }
            let s = snap(h, &list, 100.0 + (h % 3) as f64);
            let scored =
                crate::signals::score(&s, &crate::signals::ScoreContext { state: &st, calibration: None }, &cfg);
            st.absorb(&s, &scored.products, &scored.events, &cfg);
            texts.push(ScoreStateItem::new_reusing(SiteId::MLB, &category, &mut st).0.state);
        }
        (st, texts)
    }

    #[test]
    fn kept_events_are_copied_on_their_groups() {
        // The hourly walk, written by the warm writer: the events a write keeps (all but the first
        // and the new ones) are copied from the last write's bytes, each copy on the same place in
        // a 3-byte group as where it came from (its base64 is copied too), and the bytes read as
        // the state.
        let mut st = ListState::default();
        let mut list: Vec<u32> = (1..=8).collect();
        let (mut copied, mut kept) = (0, 0);
        for h in 0..60i64 {
            list.swap(h as usize % 7, h as usize % 7 + 1);
            if h % 9 == 4 {
                list[h as usize % 8] = 30 + h as u32;
            }
            let before_events: Vec<(DateTime<Utc>, EventKind, Option<u8>, EntryId)> =
                st.fired.iter().map(|f| (f.at, f.kind, f.n, f.product.clone())).collect();
            write_hour(&mut st, &snap(h, &list, 100.0 + (h % 3) as f64), |st, _, written, spans| {
                for (k, e) in written.events.iter().enumerate().skip(1) {
                    let f = &st.fired[k];
                    if before_events.iter().any(|b| *b == (f.at, f.kind, f.n, f.product.clone()))
                        && st.fired[k - 1].at >= st.fired[0].at
                    {
                        kept += 1;
                    }
                    if let Some(sp) = spans.iter().find(|sp| sp.to <= e.start && e.end <= sp.to + sp.len) {
                        copied += 1;
                        assert_eq!(sp.to % 3, sp.from % 3, "hour {h}: event {k} copied off its group");
                    }
                }
            });
        }
        assert!(kept > 100 && copied * 10 >= kept * 9, "{copied} events copied of {kept} kept");
    }

    #[test]
    fn blobs_of_format_4_read_the_same() {
        // Written by session 13's encoders (format 4: a table of key kinds before the events) at
        // the end of `walk_of_format_4`: the warm writer's bytes (with reference columns) and the
        // whole encoder's. Both read as the state the same merges give now, whose bytes (format 5)
        // differ. A key kind this scorer does not emit is not kept (it holds nothing back).
        const REUSED: &str = "\
            UwQBgJLw2xoKwIAdAQRNTEIxAMHVCQ4BMoDKEQAKATIAAAsBMwAADgEwgMYKAAoBNAAACgE1AAALATYAAAoBNwDB2RAKATgA\
            AAIDQlJMA1VTRAYcAIiAAAH2AthPABT2APROAAr2A7xQAB4ABfYGhFIBMvYH6FIAPPYIzFMARgAJwHCIAAFPvFBOA6BRTgDY\
            TwFP6FJPzFNPsFQBwHCIAAFPoFFPhFIABU4AvFBPzFNPsFRPlFUBwHCIAAFP2E9PvFABTgaEUk4A9E5P6FJPzFMBwHCIAAFP\
            vFBPoFEBT+hSTgfMU04A2E9PsFQBwHCIAAFPoFFPhFIBT8xTT7BUTgiUVU4AvFABwHCIAAFP2E9PvFABT4RST+hST8xTAAlO\
            APROwHCIAAFOA6BRTgK8UAFP6FJPzFNPsFQBT9hPwHCIAAFPhFIABU4CoFFPzFNPsFRPlFUBT7xQwHCIAAFPvFABTgaEUk4C\
            2E9P6FJPzFMBT/ROwHCIAAFPoFEBT+hSTgfMU04CvFBPsFQBT9hPwHCIAAFPhFIBT8xTT7BUTgiUVU4CoFEBT7xQwHAIAU+8\
            UAFPhFJP6FJPzFMACU4C2E/2BMhlAbgCwHCIAAFPoFEBT+hST8xTT7BUAU4ErGZOArxQwHCIAAEABU4DhFJPzFNPsFRPlFUB\
            T5BnT6BRwHCIAAEBTgaEUk4DvFBP6FJPzFMBT8hlT9hPwHCIAAEBT+hSTgfMU04DoFFPsFQBT6xmT7xQwHCIAAEBT8xTT7BU\
            TgiUVU4DhFIBT5BnT6BRwHCIAAEBT4RST+hST8xTAAlOA7xQT8hlT9hPwHCIAAEBT+hST8xTT7BUAU4ErGZOA6BRT7xQwHCI\
            gAABAU/MU0+wVAABAU+QZ04CoFFOA4RSwHAIAU4GhFIABU/oUgEBT8hlT9hPT7xQwHAIAU/oUk4HzFMABQEBT6xmT7xQT6BR\
            wHAIAU/MU0+wVAABAAUBT5BnT6BRT4RSwHAIAU+EUk/oUgEACQAFT8hlT9hPT7xQwHAIAU/oUk/MUwEBTgSsZgAFT7xQT6BR\
            wHAIAU/MU0+wVAEBT5BnTgKgUQAFT4RSwHAIAU+EUk/oUgEBT8hlT9hPTgO8UAAFwHAIAU4HzFNOBuhSAQFPrGZPvFBPoFEB\
            wHAIAU+wVAABTgbMUwFPkGdPoFFPhFIBwHAIAU/oUgEACU4GhFJPyGVP2E9PvFABwHAIAU/MUwEBTgSsZk4G6FJPvFBPoFEB\
            wHAIAU+wVAEBT5BnTgKgUU4GzFNPhFIBwHAIA0/oUgEBT8hlT9hPTgO8UE4GhFIBA76AHb6yBAG+tgsBvoAdAb66EgG+gB0B\
            voAdAb6AHQG+gB0EDXJldmlld3Nfc3VyZ2UObmV3X251bWJlcl9vbmUNZW50ZXJlZF90b3BfMwpsZWZ0X3RvcF8zCMDdFwAD\
            AAAEAAAHAAAIwHABCIDhAQIKgOEBAwcAAAU=";
        const WHOLE: &str = "\
            UwQBgJLw2xoKwIAdAQRNTEIxAMHVCQ4BMoDKEQAKATIAAAsBMwAADgEwgMYKAAoBNAAACgE1AAALATYAAAoBNwDB2RAKATgA\
            AAIDQlJMA1VTRAAcgKMFCAH2AthPABr2A7xQACQABfYGhFIBOPYH6FIAQvYIzFMATAAJ9gD0TgAQwHCIAAFOA6BRTgK8UAFP\
            6FJPzFNPsFQBT9hPwHCIAAFPhFIABU4CoFFPzFNPsFRPlFUBT7xQwHCIAAFPvFABTgaEUk4C2E9P6FJPzFMBT/ROwHCIAAFP\
            oFEBT+hSTgfMU04CvFBPsFQBT9hPwHCIAAFPhFIBT8xTT7BUTgiUVU4CoFEBT7xQwHAIAU+8UAFPhFJP6FJPzFMACU4C2E/2\
            BMhlAbgCwHCIAAFPoFEBT+hST8xTT7BUAU4ErGZOArxQwHCIAAEABU4DhFJPzFNPsFRPlFUBT5BnT6BRwHCIAAEBTgaEUk4D\
            vFBP6FJPzFMBT8hlT9hPwHCIAAEBT+hSTgfMU04DoFFPsFQBT6xmT7xQwHCIAAEBT8xTT7BUTgiUVU4DhFIBT5BnT6BRwHCI\
            AAEBT4RST+hST8xTAAlOA7xQT8hlT9hPwHCIAAEBT+hST8xTT7BUAU4ErGZOA6BRT7xQwHCIgAABAU/MU0+wVAABAU+QZ04C\
            oFFOA4RSwHAIAU4GhFIABU/oUgEBT8hlT9hPT7xQwHAIAU/oUk4HzFMABQEBT6xmT7xQT6BRwHAIAU/MU0+wVAABAAUBT5Bn\
            T6BRT4RSwHAIAU+EUk/oUgEACQAFT8hlT9hPT7xQwHAIAU/oUk/MUwEBTgSsZgAFT7xQT6BRwHAIAU/MU0+wVAEBT5BnTgKg\
            UQAFT4RSwHAIAU+EUk/oUgEBT8hlT9hPTgO8UAAFwHAIAU4HzFNOBuhSAQFPrGZPvFBPoFEBwHAIAU+wVAABTgbMUwFPkGdP\
            oFFPhFIBwHAIAU/oUgEACU4GhFJPyGVP2E9PvFABwHAIAU/MUwEBTgSsZk4G6FJPvFBPoFEBwHAIAU+wVAEBT5BnTgKgUU4G\
            zFNPhFIBwHAIA0/oUgEBT8hlT9hPTgO8UE4GhFIBA76AHb6yBAG+tgsBvoAdAb66EgG+gB0BvoAdAb6AHQG+gB0EDXJldmll\
            d3Nfc3VyZ2UObmV3X251bWJlcl9vbmUNZW50ZXJlZF90b3BfMwpsZWZ0X3RvcF8zCMDdFwADAAAEAAAHAAAIwHABCIDhAQIK\
            gOEBAwcAAAU=";
        let (st, texts) = walk_of_format_4();
        let (reused, whole) = (base64_decode(REUSED).unwrap(), base64_decode(WHOLE).unwrap());
        assert_eq!((&reused[..2], &whole[..2]), (&b"S\x04"[..], &b"S\x04"[..]));
        assert_eq!(ListState::decode(&reused).unwrap(), st);
        assert_eq!(ListState::decode(&whole).unwrap(), st);
        assert_eq!(ListState::decode(&base64_decode(texts.last().unwrap()).unwrap()).unwrap(), st);
        let new = st.encode();
        assert_eq!(new[..2], [b'S', FORMAT]);
        assert_eq!(ListState::decode(&new).unwrap(), st);
        // `left_top_3` renamed to a key kind no event has: its events are not read.
        let left = st.fired.iter().filter(|f| f.kind == EventKind::LeftTopN).count();
        assert!(left > 0 && left < st.fired.len(), "{left} of {}", st.fired.len());
        let at = whole.windows(10).position(|w| w == b"left_top_3").unwrap();
        let mut other = whole.clone();
        other[at + 9] = b'x';
        let mut without = st.clone();
        without.fired.retain(|f| f.kind != EventKind::LeftTopN);
        assert_eq!(ListState::decode(&other).unwrap(), without);
    }

    #[test]
    fn blobs_of_format_5_read_the_same() {
        // Written by session 14's encoders (format 5: the products numbered by their places in
        // `ids`, no slots) at the end of `walk_of_format_4`: the warm writer's bytes (with reference
        // columns, after two new products that sorted among the others) and the whole encoder's.
        // Both read as the state the same merges give now.
        const REUSED: &str = "\
            UwUBgJLw2xoKwIAdAQRNTEIxAMHVCQ4BMoDKEQAKATIAAAsBMwAADgEwgMYKAAoBNAAACgE1AAALATYAAAoBNwDB2RAKATgA\
            AAIDQlJMA1VTRAYcAIiAAAH2AthPABT2APROAAr2A7xQAB4ABfYGhFIBMvYH6FIAPPYIzFMARgAJwHCIAAFPvFBOA6BRTgDY\
            TwFP6FJPzFNPsFQBwHCIAAFPoFFPhFIABU4AvFBPzFNPsFRPlFUBwHCIAAFP2E9PvFABTgaEUk4A9E5P6FJPzFMBwHCIAAFP\
            vFBPoFEBT+hSTgfMU04A2E9PsFQBwHCIAAFPoFFPhFIBT8xTT7BUTgiUVU4AvFABwHCIAAFP2E9PvFABT4RST+hST8xTAAlO\
            APROwHCIAAFOA6BRTgK8UAFP6FJPzFNPsFQBT9hPwHCIAAFPhFIABU4CoFFPzFNPsFRPlFUBT7xQwHCIAAFPvFABTgaEUk4C\
            2E9P6FJPzFMBT/ROwHCIAAFPoFEBT+hSTgfMU04CvFBPsFQBT9hPwHCIAAFPhFIBT8xTT7BUTgiUVU4CoFEBT7xQwHAIAU+8\
            UAFPhFJP6FJPzFMACU4C2E/2BMhlAbgCwHCIAAFPoFEBT+hST8xTT7BUAU4ErGZOArxQwHCIAAEABU4DhFJPzFNPsFRPlFUB\
            T5BnT6BRwHCIAAEBTgaEUk4DvFBP6FJPzFMBT8hlT9hPwHCIAAEBT+hSTgfMU04DoFFPsFQBT6xmT7xQwHCIAAEBT8xTT7BU\
            TgiUVU4DhFIBT5BnT6BRwHCIAAEBT4RST+hST8xTAAlOA7xQT8hlT9hPwHCIAAEBT+hST8xTT7BUAU4ErGZOA6BRT7xQwHCI\
            gAABAU/MU0+wVAABAU+QZ04CoFFOA4RSwHAIAU4GhFIABU/oUgEBT8hlT9hPT7xQwHAIAU/oUk4HzFMABQEBT6xmT7xQT6BR\
            wHAIAU/MU0+wVAABAAUBT5BnT6BRT4RSwHAIAU+EUk/oUgEACQAFT8hlT9hPT7xQwHAIAU/oUk/MUwEBTgSsZgAFT7xQT6BR\
            wHAIAU/MU0+wVAEBT5BnTgKgUQAFT4RSwHAIAU+EUk/oUgEBT8hlT9hPTgO8UAAFwHAIAU4HzFNOBuhSAQFPrGZPvFBPoFEB\
            wHAIAU+wVAABTgbMUwFPkGdPoFFPhFIBwHAIAU/oUgEACU4GhFJPyGVP2E9PvFABwHAIAU/MUwEBTgSsZk4G6FJPvFBPoFEB\
            wHAIAU+wVAEBT5BnTgKgUU4GzFNPhFIBwHAIA0/oUgEBT8hlT9hPTgO8UE4GhFIBA76AHb6yBAG+tgsBvoAdAb66EgG+gB0B\
            voAdAb6AHQG+gB0IwN0XiYAAAwAJBAAJBwAJCMBwBQiA4QErCoDhASwHAAkF";
        const WHOLE: &str = "\
            UwUBgJLw2xoKwIAdAQRNTEIxAMHVCQ4BMoDKEQAKATIAAAsBMwAADgEwgMYKAAoBNAAACgE1AAALATYAAAoBNwDB2RAKATgA\
            AAIDQlJMA1VTRAAcgKMFCAH2AthPABr2A7xQACQABfYGhFIBOPYH6FIAQvYIzFMATAAJ9gD0TgAQwHCIAAFOA6BRTgK8UAFP\
            6FJPzFNPsFQBT9hPwHCIAAFPhFIABU4CoFFPzFNPsFRPlFUBT7xQwHCIAAFPvFABTgaEUk4C2E9P6FJPzFMBT/ROwHCIAAFP\
            oFEBT+hSTgfMU04CvFBPsFQBT9hPwHCIAAFPhFIBT8xTT7BUTgiUVU4CoFEBT7xQwHAIAU+8UAFPhFJP6FJPzFMACU4C2E/2\
            BMhlAbgCwHCIAAFPoFEBT+hST8xTT7BUAU4ErGZOArxQwHCIAAEABU4DhFJPzFNPsFRPlFUBT5BnT6BRwHCIAAEBTgaEUk4D\
            vFBP6FJPzFMBT8hlT9hPwHCIAAEBT+hSTgfMU04DoFFPsFQBT6xmT7xQwHCIAAEBT8xTT7BUTgiUVU4DhFIBT5BnT6BRwHCI\
            AAEBT4RST+hST8xTAAlOA7xQT8hlT9hPwHCIAAEBT+hST8xTT7BUAU4ErGZOA6BRT7xQwHCIgAABAU/MU0+wVAABAU+QZ04C\
            oFFOA4RSwHAIAU4GhFIABU/oUgEBT8hlT9hPT7xQwHAIAU/oUk4HzFMABQEBT6xmT7xQT6BRwHAIAU/MU0+wVAABAAUBT5Bn\
            T6BRT4RSwHAIAU+EUk/oUgEACQAFT8hlT9hPT7xQwHAIAU/oUk/MUwEBTgSsZgAFT7xQT6BRwHAIAU/MU0+wVAEBT5BnTgKg\
            UQAFT4RSwHAIAU+EUk/oUgEBT8hlT9hPTgO8UAAFwHAIAU4HzFNOBuhSAQFPrGZPvFBPoFEBwHAIAU+wVAABTgbMUwFPkGdP\
            oFFPhFIBwHAIAU/oUgEACU4GhFJPyGVP2E9PvFABwHAIAU/MUwEBTgSsZk4G6FJPvFBPoFEBwHAIAU+wVAEBT5BnTgKgUU4G\
            zFNPhFIBwHAIA0/oUgEBT8hlT9hPTgO8UE4GhFIBA76AHb6yBAG+tgsBvoAdAb66EgG+gB0BvoAdAb6AHQG+gB0IwN0XCQMA\
            CQQACQcACQjAcAUIgOEBKwqA4QEsBwAJBQ==";
        let (st, _) = walk_of_format_4();
        let (reused, whole) = (base64_decode(REUSED).unwrap(), base64_decode(WHOLE).unwrap());
        assert_eq!((&reused[..2], &whole[..2]), (&b"S\x05"[..], &b"S\x05"[..]));
        assert_ne!(reused, whole);
        assert_eq!(ListState::decode(&reused).unwrap(), st);
        assert_eq!(ListState::decode(&whole).unwrap(), st);
    }

    #[test]
    fn event_codes_are_the_key_kinds() {
        // Every kind with every N (and none): its code reads back as the kind and N `Fired` holds,
        // which is what its key kind reads as; two are the same code exactly when their key kinds
        // are the same; other codes are refused.
        let t = DateTime::from_timestamp(1_793_000_000, 0).unwrap();
        let id = EntryId::parse("MLB1").unwrap();
        let mut by_code = std::collections::HashMap::new();
        for kind in EventKind::ALL {
            for n in std::iter::once(None).chain((0..=255u8).map(Some)) {
                let f = Fired::of(t, kind, n, id.clone());
                let code = event_code(f.kind, f.n);
                assert_eq!(event_of_code(code), Ok((f.kind, f.n)), "{kind:?} {n:?}");
                assert_eq!(Fired::of_key_kind(t, &kind.key_kind(n), id.clone()).as_ref(), Some(&f), "{kind:?} {n:?}");
                assert_eq!(f.key_kind(), kind.key_kind(n));
                if let Some(other) = by_code.insert(code, kind.key_kind(n)) {
                    assert_eq!(other, kind.key_kind(n), "code {code}");
                }
            }
        }
        let valid = by_code.len() as u64;
        let refused = (0..3000u64).filter(|c| event_of_code(*c).is_err()).count() as u64;
        assert_eq!(valid + refused, 3000);
        assert_eq!(Fired::of_key_kind(t, "climbers", id), None);
    }

    #[test]
    fn other_blobs_are_refused() {
        assert!(ListState::decode(b"").is_err());
        assert!(ListState::decode(b"S\x09").is_err());
        assert!(ScoreStateItem {
            state: "not base64!".into(),
            ..ScoreStateItem::new(SiteId::MLB, &CategoryId::parse("MLB1055").unwrap(), &ListState::default())
        }
        .state()
        .is_err());
    }

    #[test]
    fn events_out_of_order_are_refused() {
        let t = |h: i64| DateTime::from_timestamp(1_793_000_000 + h * 3600, 0).unwrap();
        let fired = |h: i64| Fired::of(t(h), EventKind::DroppedOut, None, EntryId::parse("MLB1").unwrap());
        let mut st = ListState { list_started_at: Some(t(0)), fired: vec![fired(2), fired(3)], ..ListState::default() };
        assert_eq!(ListState::decode(&st.encode()).unwrap(), st);
        st.fired.swap(0, 1);
        assert_eq!(ListState::decode(&st.encode()), Err(CodecError("events out of order")));
    }
}

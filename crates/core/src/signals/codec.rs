//! The byte codec of the scorer state: LEB128 varints, zigzag for signed numbers, times as seconds
//! against a base (with a flag bit for nanoseconds), and base64 (standard alphabet, padded) to carry
//! the bytes in a string attribute. No dependency: a few dozen lines, tested here.
//!
//! Both directions run twice per scored record (the state is read and written whole), so the hot
//! paths are written for it: a one-byte varint is one compare, the reader keeps the dates of the
//! last days it decoded (most times of a state fall on a few days, and turning a day number into a date
//! is most of chrono's work), base64 goes through a table of character pairs.

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};

/// Why a state blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the scorer state is unreadable: {0}")]
pub struct CodecError(pub &'static str);

/// Zigzag: small magnitudes of either sign as small unsigned numbers.
#[inline]
pub(crate) fn zig(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

#[inline]
pub(crate) fn unzig(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

/// Room for `n` more items in `v`, with an eighth more when it has to grow: a buffer kept from one
/// write to the next (the state's, see `ListState::write_reusing`) serves lists of slightly
/// different sizes. Grown exactly, two writes in three grew one of their buffers again (0.13k
/// instructions and 20 cache misses a record more under callgrind than growing them by doubling);
/// doubling held 3.9 KB more in a warm state of 28.9 KB, an eighth more 1.3 KB.
pub(crate) fn reserve_room<T>(v: &mut Vec<T>, n: usize) {
    if v.capacity() - v.len() < n {
        v.reserve_exact(room(n));
    }
}

/// The room [`reserve_room`] makes for `n` items: an eighth more.
pub(crate) fn room(n: usize) -> usize {
    n + n / 8
}

pub(crate) struct Writer {
    pub buf: Vec<u8>,
    /// The date of the last time written and its midnight in seconds (see [`Reader::time`]).
    day: (NaiveDate, i64),
}

impl Writer {
    #[cfg(test)]
    pub fn new(capacity: usize) -> Self {
        Writer::with_buf(Vec::new(), capacity)
    }

    /// A writer into `buf` (its contents dropped, its room kept) with room for `capacity` bytes.
    pub fn with_buf(mut buf: Vec<u8>, capacity: usize) -> Self {
        buf.clear();
        reserve_room(&mut buf, capacity);
        Writer { buf, day: (DateTime::UNIX_EPOCH.date_naive(), 0) }
    }

    #[inline]
    pub fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }

    #[inline]
    pub fn varint(&mut self, mut x: u64) {
        if x < 0x80 {
            self.buf.push(x as u8);
            return;
        }
        while x >= 0x80 {
            self.buf.push((x as u8) | 0x80);
            x >>= 7;
        }
        self.buf.push(x as u8);
    }

    /// Lengthens the varint that ends at `end` by `by` bytes (0–2) of redundant continuation
    /// (`x` as `x | 0x80, 0x80, 0x00`: the same number to [`Reader::varint`]), moving what follows
    /// it. The varint must be at most 7 bytes long (any count or index here is).
    #[inline]
    pub fn widen_varint(&mut self, end: usize, by: usize) {
        if by == 0 {
            return;
        }
        let len = self.buf.len();
        self.buf.resize(len + by, 0);
        self.buf.copy_within(end..len, end + by);
        self.buf[end - 1] |= 0x80;
        self.buf[end..end + by].copy_from_slice(&[0x80, 0x00][2 - by..]);
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    #[inline]
    pub fn f64(&mut self, x: f64) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    /// A time as zigzag seconds against `base`, shifted left by one; the low bit says whether the
    /// nanoseconds follow (they are zero in nearly every time the scorer stores). Returns its
    /// seconds (`t.timestamp()`, from the day kept).
    #[inline(always)]
    pub fn time(&mut self, t: DateTime<Utc>, base: i64) -> i64 {
        self.time_plus(t, base, 0)
    }

    /// [`Writer::time`] with `plus` added to its first varint (values below `plus` left for the
    /// caller's own meanings: [`Reader::time_of`] reads it once `plus` is taken off).
    #[inline(always)]
    pub fn time_plus(&mut self, t: DateTime<Utc>, base: i64, plus: u64) -> i64 {
        let ns = t.timestamp_subsec_nanos();
        // Through the naive UTC time: `DateTime`'s own `date_naive` and `Timelike` apply the offset.
        let naive = t.naive_utc();
        let date = naive.date();
        let sod = i64::from(naive.time().num_seconds_from_midnight());
        if date != self.day.0 {
            self.day = (date, t.timestamp() - sod);
        }
        // Times within chrono's range are ±2^44 s apart at most: the shift loses nothing.
        let secs = self.day.1 + sod;
        self.varint(((zig(secs.wrapping_sub(base)) << 1) | u64::from(ns != 0)).wrapping_add(plus));
        if ns != 0 {
            self.varint(u64::from(ns));
        }
        secs
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// The bytes of a varint at `at` after a first byte with the continuation bit, and the position
/// after it. Out of line, and not a method: a call that took the reader would keep its position in
/// memory in every loop that reads.
#[inline(never)]
fn varint_rest(buf: &[u8], mut at: usize, first: u8) -> Result<(u64, usize), CodecError> {
    let mut x = u64::from(first & 0x7f);
    for shift in (7..64).step_by(7) {
        let b = *buf.get(at).ok_or(CodecError("truncated"))?;
        at += 1;
        x |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok((x, at));
        }
    }
    Err(CodecError("varint too long"))
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    /// Days decoded by [`Reader::time`] (days since 1970-01-01) and their dates, by day mod 8: the
    /// times of a state fall on a few days, and a day's date is most of chrono's work.
    days: [(i64, NaiveDate); 8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        let epoch = (0, DateTime::UNIX_EPOCH.date_naive());
        // Every slot starts as day 0 (1970-01-01), which is right for any slot.
        Reader { buf, at: 0, days: [epoch; 8] }
    }

    pub fn done(&self) -> bool {
        self.at == self.buf.len()
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.at).ok_or(CodecError("truncated"))?;
        self.at += 1;
        Ok(b)
    }

    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64, CodecError> {
        let b = self.u8()?;
        if b < 0x80 {
            return Ok(u64::from(b));
        }
        let (x, at) = varint_rest(self.buf, self.at, b)?;
        self.at = at;
        Ok(x)
    }

    /// A count or an index that must fit in memory and not exceed `max`.
    #[inline]
    pub fn len(&mut self, max: usize) -> Result<usize, CodecError> {
        let n = self.varint()?;
        usize::try_from(n).ok().filter(|n| *n <= max).ok_or(CodecError("count out of range"))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.varint()?;
        let rest = &self.buf[self.at..];
        let n = usize::try_from(n).ok().filter(|n| *n <= rest.len()).ok_or(CodecError("truncated"))?;
        self.at += n;
        Ok(&rest[..n])
    }

    pub fn str(&mut self) -> Result<&'a str, CodecError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| CodecError("a string is not UTF-8"))
    }

    #[inline]
    pub fn f64(&mut self) -> Result<f64, CodecError> {
        let b: [u8; 8] = self
            .buf
            .get(self.at..self.at.saturating_add(8))
            .and_then(|s| s.try_into().ok())
            .ok_or(CodecError("truncated"))?;
        self.at += 8;
        Ok(f64::from_le_bytes(b))
    }

    /// What [`Writer::time`] wrote; the same times as `DateTime::from_timestamp`, out of range an error.
    #[inline]
    pub fn time(&mut self, base: i64) -> Result<DateTime<Utc>, CodecError> {
        let v = self.varint()?;
        self.time_of(v, base)
    }

    /// The time whose first varint, `v`, was already read (see [`Writer::time`]): its nanoseconds
    /// follow when `v` says so.
    pub fn time_of(&mut self, v: u64, base: i64) -> Result<DateTime<Utc>, CodecError> {
        let secs = unzig(v >> 1).wrapping_add(base);
        let ns =
            if v & 1 == 1 { u32::try_from(self.varint()?).map_err(|_| CodecError("bad nanoseconds"))? } else { 0 };
        let day = secs.div_euclid(86_400);
        let slot = &mut self.days[(day & 7) as usize];
        if slot.0 != day {
            let midnight = day.checked_mul(86_400).ok_or(CodecError("time out of range"))?;
            *slot =
                (day, DateTime::from_timestamp(midnight, 0).ok_or(CodecError("time out of range"))?.naive_utc().date());
        }
        let time = NaiveTime::from_num_seconds_from_midnight_opt(secs.rem_euclid(86_400) as u32, ns)
            .ok_or(CodecError("bad nanoseconds"))?;
        Ok(slot.1.and_time(time).and_utc())
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two characters of every 12-bit value: two lookups per three bytes instead of four.
static PAIRS: [[u8; 2]; 4096] = {
    let mut t = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = [ALPHABET[i >> 6], ALPHABET[i & 63]];
        i += 1;
    }
    t
};

/// [`PAIRS`] as little-endian `u16`s: four of them make the eight characters of six bytes.
static PAIRS_LE: [u16; 4096] = {
    let mut t = [0u16; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = u16::from_le_bytes(PAIRS[i]);
        i += 1;
    }
    t
};

/// The eight characters of the six bytes in the low 48 bits of `g`, as a little-endian word.
#[inline(always)]
fn quad(g: u64) -> [u8; 8] {
    let pair = |shift: u32| u64::from(PAIRS_LE[((g >> shift) & 0xfff) as usize]);
    (pair(36) | (pair(24) << 16) | (pair(12) << 32) | (pair(0) << 48)).to_le_bytes()
}

thread_local! {
    /// [`base64_push`]'s buffer, kept from one call to the next: a new buffer of the final size
    /// would be zeroed first (measured: ~2k instructions for a state item's 2.2 KB), and appending
    /// to one of that capacity costs a check and a store per chunk (more than the zeroing).
    static BASE64_OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub(crate) fn base64_encode(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    base64_push(b, &mut s);
    s
}

/// `s` with the base64 of `b` appended (`b` on a 3-byte boundary of what `s` encodes, for the text
/// to be the encoding of the whole), through the buffer kept per thread.
pub(crate) fn base64_push(b: &[u8], s: &mut String) {
    // A large blob gets a buffer of its own, so that the one kept stays small (64 KB at most).
    if b.len() > 48 << 10 {
        s.push_str(base64_fill(b, &mut Vec::new()));
        return;
    }
    BASE64_OUT.with(|out| match out.try_borrow_mut() {
        Ok(mut out) => s.push_str(base64_fill(b, &mut out)),
        // Not reached (the encoder does not call itself); a buffer of its own otherwise.
        Err(_) => s.push_str(base64_fill(b, &mut Vec::new())),
    });
}

/// The base64 of `b`, written into `buf` (grown to its size when short).
fn base64_fill<'a>(b: &[u8], buf: &'a mut Vec<u8>) -> &'a str {
    let n = b.len().div_ceil(3) * 4;
    if buf.len() < n {
        buf.resize(n, 0);
    }
    let out = &mut buf[..n];
    // Four characters per three bytes: 24 bytes at a time (three words, four groups of six bytes,
    // each group four lookups of a character pair), then three at a time.
    let groups = b.len() / 24;
    for (s, o) in b.chunks_exact(24).zip(out.chunks_exact_mut(32)) {
        let word =
            |i: usize| u64::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3], s[i + 4], s[i + 5], s[i + 6], s[i + 7]]);
        let (w0, w1, w2) = (word(0), word(8), word(16));
        // Bytes 0–5, 6–11, 12–17 and 18–23, each in the low 48 bits (`quad` masks the rest).
        o[..8].copy_from_slice(&quad(w0 >> 16));
        o[8..16].copy_from_slice(&quad((w0 << 32) | (w1 >> 32)));
        o[16..24].copy_from_slice(&quad((w1 << 16) | (w2 >> 48)));
        o[24..].copy_from_slice(&quad(w2));
    }
    let mut chunks = b[groups * 24..].chunks_exact(3);
    let mut quads = out[groups * 32..].chunks_exact_mut(4);
    for (c, q) in (&mut chunks).zip(&mut quads) {
        let n = (usize::from(c[0]) << 16) | (usize::from(c[1]) << 8) | usize::from(c[2]);
        let (hi, lo) = (PAIRS[n >> 12], PAIRS[n & 0xfff]);
        q.copy_from_slice(&[hi[0], hi[1], lo[0], lo[1]]);
    }
    let last: Option<&mut [u8]> = quads.next();
    match (chunks.remainder(), last) {
        (&[a], Some(q)) => {
            let n = usize::from(a) << 16;
            q.copy_from_slice(&[ALPHABET[(n >> 18) & 63], ALPHABET[(n >> 12) & 63], b'=', b'=']);
        }
        (&[a, b], Some(q)) => {
            let n = (usize::from(a) << 16) | (usize::from(b) << 8);
            q.copy_from_slice(&[ALPHABET[(n >> 18) & 63], ALPHABET[(n >> 12) & 63], ALPHABET[(n >> 6) & 63], b'=']);
        }
        _ => {}
    }
    // Only ASCII was written.
    std::str::from_utf8(out).unwrap_or_default()
}

/// The value of each base64 character; 255 for anything else.
const DECODE: [u8; 256] = {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

pub(crate) fn base64_decode(s: &str) -> Result<Vec<u8>, CodecError> {
    let s = s.as_bytes();
    if s.len() % 4 != 0 {
        return Err(CodecError("base64 length is not a multiple of 4"));
    }
    let pad = s.iter().rev().take_while(|c| **c == b'=').count();
    if pad > 2 {
        return Err(CodecError("misplaced base64 padding"));
    }
    let body = s.len() - if pad > 0 { 4 } else { 0 };
    // The whole groups go into a buffer of their final size, three bytes per four characters.
    let mut out = vec![0u8; body / 4 * 3];
    let mut bad = 0u8;
    for (c, o) in s[..body].chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let (a, b, c, d) = (DECODE[c[0] as usize], DECODE[c[1] as usize], DECODE[c[2] as usize], DECODE[c[3] as usize]);
        bad |= a | b | c | d;
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
        o.copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    // 255 marks a character outside the alphabet; every valid value is below 64.
    if bad > 63 {
        return Err(CodecError("not base64"));
    }
    if pad > 0 {
        let c = &s[body..];
        let v: Vec<u8> = c[..4 - pad].iter().map(|x| DECODE[*x as usize]).collect();
        if v.iter().any(|x| *x > 63) {
            return Err(CodecError("not base64"));
        }
        let n = v.iter().enumerate().fold(0u32, |acc, (i, x)| acc | (u32::from(*x) << (18 - 6 * i)));
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8][..3 - pad]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn base64_round_trips(b in prop::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(base64_decode(&base64_encode(&b)).unwrap(), b);
        }

        /// The encoder's groups of 24 bytes, its groups of 3 and its padding give what a character
        /// at a time does.
        #[test]
        fn base64_is_the_plain_encoding(b in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut plain = String::new();
            for c in b.chunks(3) {
                let n = c.iter().enumerate().fold(0u32, |n, (i, x)| n | (u32::from(*x) << (16 - 8 * i)));
                for i in 0..4 {
                    plain.push(if i <= c.len() { ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
                }
            }
            prop_assert_eq!(base64_encode(&b), plain);
        }

        /// One buffer kept across calls of any lengths (longer, then shorter: its stale tail must
        /// not show) gives what a fresh buffer gives.
        #[test]
        fn the_kept_buffer_gives_what_a_fresh_one_does(blobs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 1..8)) {
            for b in &blobs {
                let mut own = Vec::new();
                prop_assert_eq!(base64_encode(b), base64_fill(b, &mut own));
            }
        }

        /// A varint widened by 0–2 bytes reads as the number it was, the bytes after it moved
        /// along; base64 pushed in pieces that start on 3-byte groups is the whole's.
        #[test]
        fn widened_varints_read_as_written(x in prop_oneof![0u64..300, 0u64..(1 << 49)], by in 0usize..3, after in prop::collection::vec(any::<u8>(), 0..5), cut in 0usize..40) {
            let mut w = Writer::new(8);
            w.u8(7);
            w.varint(x);
            let end = w.buf.len();
            w.buf.extend_from_slice(&after);
            w.widen_varint(end, by);
            prop_assert_eq!(w.buf.len(), end + by + after.len());
            let mut r = Reader::new(&w.buf);
            prop_assert_eq!(r.u8().unwrap(), 7);
            prop_assert_eq!(r.varint().unwrap(), x);
            for a in &after {
                prop_assert_eq!(r.u8().unwrap(), *a);
            }
            prop_assert!(r.done());
            let cut = cut / 3 * 3;
            let (head, tail) = w.buf.split_at(cut.min(w.buf.len() / 3 * 3));
            let mut text = String::new();
            base64_push(head, &mut text);
            base64_push(tail, &mut text);
            prop_assert_eq!(text, base64_encode(&w.buf));
        }

        #[test]
        fn numbers_round_trip(u in any::<u64>(), i in any::<i64>(), f in any::<f64>(), secs in -1_000_000_000i64..5_000_000_000, ns in 0u32..1_000_000_000, base in -5_000_000_000i64..5_000_000_000) {
            let t = DateTime::from_timestamp(secs, ns).unwrap();
            let mut w = Writer::new(8);
            w.varint(u);
            w.varint(zig(i));
            w.f64(f);
            prop_assert_eq!(w.time(t, base), t.timestamp());
            prop_assert_eq!(w.time(t, 0), t.timestamp());
            w.bytes(b"MLB1");
            let b = w.into_bytes();
            let mut r = Reader::new(&b);
            prop_assert_eq!(r.varint().unwrap(), u);
            prop_assert_eq!(unzig(r.varint().unwrap()), i);
            prop_assert_eq!(r.f64().unwrap().to_bits(), f.to_bits());
            prop_assert_eq!(r.time(base).unwrap(), t);
            prop_assert_eq!(r.time(0).unwrap(), t);
            prop_assert_eq!(r.str().unwrap(), "MLB1");
            prop_assert!(r.done());
        }

        /// The reader's cached day never leaks into a time of another day.
        #[test]
        fn times_in_any_order_read_back(ts in prop::collection::vec((-3_000_000_000i64..3_000_000_000, 0u32..1_000_000_000), 1..20)) {
            let mut w = Writer::new(8);
            for (s, ns) in &ts {
                prop_assert_eq!(w.time(DateTime::from_timestamp(*s, *ns).unwrap(), 1_700_000_000), *s);
            }
            let b = w.into_bytes();
            let mut r = Reader::new(&b);
            for (s, ns) in &ts {
                prop_assert_eq!(r.time(1_700_000_000).unwrap(), DateTime::from_timestamp(*s, *ns).unwrap());
            }
            prop_assert!(r.done());
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(b in prop::collection::vec(any::<u8>(), 0..40)) {
            let mut r = Reader::new(&b);
            let _ = r.varint().and_then(|_| r.str()).and_then(|_| r.f64()).and_then(|_| r.time(0)).and_then(|_| r.time(i64::MIN));
            let _ = base64_decode(&String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_encode(b"M"), "TQ==");
        assert_eq!(base64_encode(b"\xfb\xff\xbf"), "+/+/");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode("+/+/").unwrap(), b"\xfb\xff\xbf");
        assert!(base64_decode("TW=u").is_err());
        assert!(base64_decode("TWE").is_err());
        assert!(base64_decode("T*Fu").is_err());
    }

    #[test]
    fn times_out_of_range_are_an_error() {
        // 2^50 seconds is past chrono's range; 2e9 ns is no valid nanosecond field.
        for (secs, ns) in [(1i64 << 50, None), (100, Some(2_000_000_000u64)), (-(1i64 << 50), Some(5))] {
            let mut w = Writer::new(8);
            w.varint((zig(secs) << 1) | u64::from(ns.is_some()));
            if let Some(ns) = ns {
                w.varint(ns);
            }
            let b = w.into_bytes();
            assert!(Reader::new(&b).time(0).is_err(), "{secs} {ns:?}");
        }
    }
}

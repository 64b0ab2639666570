//! The byte codec of the scorer state: LEB128 varints, zigzag for signed numbers, times as seconds
//! against a base plus nanoseconds, and base64 (standard alphabet, padded) to carry the bytes in a
//! string attribute. No dependency: a few dozen lines, tested here.

use chrono::{DateTime, Utc};

/// Why a state blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the scorer state is unreadable: {0}")]
pub struct CodecError(pub &'static str);

pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new(capacity: usize) -> Self {
        Writer { buf: Vec::with_capacity(capacity) }
    }

    #[inline]
    pub fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }

    #[inline]
    pub fn varint(&mut self, mut x: u64) {
        while x >= 0x80 {
            self.buf.push((x as u8) | 0x80);
            x >>= 7;
        }
        self.buf.push(x as u8);
    }

    pub fn zigzag(&mut self, x: i64) {
        self.varint(((x << 1) ^ (x >> 63)) as u64);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// A time as zigzag seconds against `base`, then its nanoseconds.
    pub fn time(&mut self, t: DateTime<Utc>, base: i64) {
        self.zigzag(t.timestamp().wrapping_sub(base));
        self.varint(u64::from(t.timestamp_subsec_nanos()));
    }
}

/// A few bytes written on the stack and appended to a [`Writer`] at once (one cell of the state:
/// five pushes, each with its capacity check, were most of the encoder's time).
pub(crate) struct Scratch {
    buf: [u8; 48],
    len: usize,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch { buf: [0; 48], len: 0 }
    }

    #[inline]
    pub fn u8(&mut self, x: u8) {
        self.buf[self.len] = x;
        self.len += 1;
    }

    #[inline]
    pub fn varint(&mut self, mut x: u64) {
        while x >= 0x80 {
            self.u8((x as u8) | 0x80);
            x >>= 7;
        }
        self.u8(x as u8);
    }

    #[inline]
    pub fn f64(&mut self, x: f64) {
        self.buf[self.len..self.len + 8].copy_from_slice(&x.to_le_bytes());
        self.len += 8;
    }

    /// Appends what was written to `w` and empties the scratch.
    #[inline]
    pub fn flush(&mut self, w: &mut Writer) {
        w.buf.extend_from_slice(&self.buf[..self.len]);
        self.len = 0;
    }
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
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

    #[inline]
    pub fn varint(&mut self) -> Result<u64, CodecError> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            x |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(x);
            }
        }
        Err(CodecError("varint too long"))
    }

    /// A count or an index that must fit in memory and not exceed `max`.
    #[inline]
    pub fn len(&mut self, max: usize) -> Result<usize, CodecError> {
        let n = self.varint()?;
        usize::try_from(n).ok().filter(|n| *n <= max).ok_or(CodecError("count out of range"))
    }

    pub fn zigzag(&mut self) -> Result<i64, CodecError> {
        let x = self.varint()?;
        Ok(((x >> 1) as i64) ^ -((x & 1) as i64))
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

    pub fn f64(&mut self) -> Result<f64, CodecError> {
        let end = self.at + 8;
        let b: [u8; 8] = self.buf.get(self.at..end).and_then(|s| s.try_into().ok()).ok_or(CodecError("truncated"))?;
        self.at = end;
        Ok(f64::from_le_bytes(b))
    }

    pub fn time(&mut self, base: i64) -> Result<DateTime<Utc>, CodecError> {
        let secs = self.zigzag()?.wrapping_add(base);
        let nanos = u32::try_from(self.varint()?).map_err(|_| CodecError("bad nanoseconds"))?;
        DateTime::from_timestamp(secs, nanos).ok_or(CodecError("time out of range"))
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(b: &[u8]) -> String {
    // Written into a buffer of the final size, four characters per three bytes (the state is
    // encoded on every record).
    let mut out = vec![0u8; b.len().div_ceil(3) * 4];
    let mut chunks = b.chunks_exact(3);
    let mut quads = out.chunks_exact_mut(4);
    for (c, q) in (&mut chunks).zip(&mut quads) {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        q[0] = ALPHABET[(n >> 18) as usize & 63];
        q[1] = ALPHABET[(n >> 12) as usize & 63];
        q[2] = ALPHABET[(n >> 6) as usize & 63];
        q[3] = ALPHABET[n as usize & 63];
    }
    let last: Option<&mut [u8]> = quads.next();
    match (chunks.remainder(), last) {
        (&[a], Some(q)) => {
            let n = u32::from(a) << 16;
            q.copy_from_slice(&[ALPHABET[(n >> 18) as usize & 63], ALPHABET[(n >> 12) as usize & 63], b'=', b'=']);
        }
        (&[a, b], Some(q)) => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            q.copy_from_slice(&[
                ALPHABET[(n >> 18) as usize & 63],
                ALPHABET[(n >> 12) as usize & 63],
                ALPHABET[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
    // Only ASCII was written.
    String::from_utf8(out).unwrap_or_default()
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
        o[0] = (n >> 16) as u8;
        o[1] = (n >> 8) as u8;
        o[2] = n as u8;
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

        #[test]
        fn numbers_round_trip(u in any::<u64>(), i in any::<i64>(), f in any::<f64>(), secs in -1_000_000_000i64..5_000_000_000, ns in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, ns).unwrap();
            let mut w = Writer::new(8);
            w.varint(u);
            w.zigzag(i);
            let mut sc = Scratch::new();
            sc.f64(f);
            sc.flush(&mut w);
            w.time(t, 1_700_000_000);
            w.bytes(b"MLB1");
            let mut r = Reader::new(&w.buf);
            prop_assert_eq!(r.varint().unwrap(), u);
            prop_assert_eq!(r.zigzag().unwrap(), i);
            prop_assert_eq!(r.f64().unwrap().to_bits(), f.to_bits());
            prop_assert_eq!(r.time(1_700_000_000).unwrap(), t);
            prop_assert_eq!(r.str().unwrap(), "MLB1");
            prop_assert!(r.done());
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(b in prop::collection::vec(any::<u8>(), 0..40)) {
            let mut r = Reader::new(&b);
            let _ = r.varint().and_then(|_| r.str()).and_then(|_| r.f64()).and_then(|_| r.time(0));
            let _ = base64_decode(&String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_encode(b"M"), "TQ==");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert!(base64_decode("TW=u").is_err());
        assert!(base64_decode("TWE").is_err());
        assert!(base64_decode("T*Fu").is_err());
    }
}

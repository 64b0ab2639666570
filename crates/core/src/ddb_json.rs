//! DynamoDB JSON (`{"S": "…"}`, `{"N": "1"}`, `{"M": {…}}`, `{"L": […]}`, `{"BOOL": true}`,
//! `{"NULL": true}`, …) read straight into a serde type, as one pass over the text.
//!
//! The stream records Lambda delivers carry item images in this form. Going through
//! `aws_lambda_events`' attribute-value maps and then a `serde_json::Value` tree built three trees
//! per record before the item type was reached; the scorer bench measured that path at several
//! times the cost of scoring itself. [`from_image`] decodes an image (a map of attribute name to
//! typed value) into any `Deserialize` type, with the same result as that path (tested against it).
//!
//! What maps to what: `S` and `B` are strings (binary stays base64 text), `N` is parsed as an
//! unsigned, then signed integer, then a float, `BOOL` a bool, `NULL` a unit (or `None` for an
//! `Option`), `M` a map, `L` a sequence, `SS`/`BS` sequences of strings and `NS` a sequence of numbers.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{forward_to_deserialize_any, Deserialize as _};

/// Decodes an item image (`{"name": {"S": "…"}, …}`) into `T`.
pub fn from_image<T: de::DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(Image(&mut de))?;
    de.end()?;
    Ok(value)
}

/// An image: a plain JSON object whose values are typed.
struct Image<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Image<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(MapVisitor(visitor))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

/// The type tag of a DynamoDB JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl<'de> de::Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TagVisitor;
        impl Visitor<'_> for TagVisitor {
            type Value = Tag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a DynamoDB type tag (S, N, B, BOOL, NULL, M, L, SS, NS, BS)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tag, E> {
                Ok(match v {
                    "S" => Tag::S,
                    "N" => Tag::N,
                    "B" => Tag::B,
                    "BOOL" => Tag::Bool,
                    "NULL" => Tag::Null,
                    "M" => Tag::M,
                    "L" => Tag::L,
                    "SS" => Tag::Ss,
                    "NS" => Tag::Ns,
                    "BS" => Tag::Bs,
                    other => return Err(E::custom(format!("unknown DynamoDB type tag {other:?}"))),
                })
            }
        }
        d.deserialize_str(TagVisitor)
    }
}

/// A typed value `{"<tag>": payload}`.
struct Typed<D>(D);

/// What the target asked a [`Typed`] value for, where it matters.
enum Want {
    Any,
    Option,
    Enum { name: &'static str, variants: &'static [&'static str] },
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Typed<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(TagVisitor { visitor, want: Want::Any })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(TagVisitor { visitor, want: Want::Option })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(TagVisitor { visitor, want: Want::Enum { name, variants } })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        // Skipped as plain JSON: the wrapper needs no reading.
        self.0.deserialize_ignored_any(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// Reads `{"<tag>": payload}` and hands the payload to the target's visitor.
struct TagVisitor<V> {
    visitor: V,
    want: Want,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TagVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB typed value such as {\"S\": \"text\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        let Some(tag) = map.next_key::<Tag>()? else {
            return Err(de::Error::custom("an empty object is not a DynamoDB typed value"));
        };
        let value = map.next_value_seed(PayloadSeed { tag, visitor: self.visitor, want: self.want })?;
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("a DynamoDB typed value has exactly one type tag"));
        }
        Ok(value)
    }
}

/// The payload of a typed value, with its tag.
struct PayloadSeed<V> {
    tag: Tag,
    visitor: V,
    want: Want,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for PayloadSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        let payload = Payload { tag: self.tag, de: d };
        match self.want {
            Want::Option if self.tag == Tag::Null => {
                IgnoredAny::deserialize(payload.de)?;
                self.visitor.visit_none()
            }
            Want::Option => self.visitor.visit_some(payload),
            Want::Enum { name, variants } => payload.deserialize_enum(name, variants, self.visitor),
            Want::Any => payload.deserialize_any(self.visitor),
        }
    }
}

/// A payload as a deserializer of the value it stands for.
struct Payload<D> {
    tag: Tag,
    de: D,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Payload<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.tag {
            Tag::S | Tag::B | Tag::Bool | Tag::Ss | Tag::Bs => self.de.deserialize_any(visitor),
            Tag::N => self.de.deserialize_str(NumberVisitor(visitor)),
            Tag::Null => {
                IgnoredAny::deserialize(self.de)?;
                visitor.visit_unit()
            }
            Tag::M => self.de.deserialize_map(MapVisitor(visitor)),
            Tag::L => self.de.deserialize_seq(SeqVisitor::<V, false>(visitor)),
            Tag::Ns => self.de.deserialize_seq(SeqVisitor::<V, true>(visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.tag == Tag::Null {
            IgnoredAny::deserialize(self.de)?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.tag {
            // A unit variant by name.
            Tag::S => self.de.deserialize_enum(name, variants, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_ignored_any(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// An `N` payload: the number's text, visited as the narrowest of u64, i64 and f64 that holds it.
struct NumberVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for NumberVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB number as a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        if let Ok(n) = v.parse::<u64>() {
            self.0.visit_u64(n)
        } else if let Ok(n) = v.parse::<i64>() {
            self.0.visit_i64(n)
        } else {
            match v.parse::<f64>() {
                Ok(n) if n.is_finite() => self.0.visit_f64(n),
                _ => Err(E::custom(format!("{v:?} is not a DynamoDB number"))),
            }
        }
    }
}

/// An `M` payload: a map whose values are typed.
struct MapVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for MapVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB map")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(TypedMap(map))
    }
}

struct TypedMap<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TypedMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(TypedSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// An `L` payload (a sequence of typed values), or with `NUMBERS` an `NS` payload (a sequence of
/// numbers as strings).
struct SeqVisitor<V, const NUMBERS: bool>(V);

impl<'de, V: Visitor<'de>, const NUMBERS: bool> Visitor<'de> for SeqVisitor<V, NUMBERS> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if NUMBERS { "a DynamoDB number set" } else { "a DynamoDB list" })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(TypedSeq::<A, NUMBERS>(seq))
    }
}

struct TypedSeq<A, const NUMBERS: bool>(A);

impl<'de, A: SeqAccess<'de>, const NUMBERS: bool> SeqAccess<'de> for TypedSeq<A, NUMBERS> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        if NUMBERS {
            self.0.next_element_seed(NumberSeed(seed))
        } else {
            self.0.next_element_seed(TypedSeed(seed))
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Deserializes the inner seed from a typed value.
struct TypedSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for TypedSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Typed(d))
    }
}

/// An element of an `NS` payload.
struct NumberSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for NumberSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Payload { tag: Tag::N, de: d })
    }
}

// ---------------------------------------------------------------------------------------------
// A fast reader for images in the exact form a writer gives them (the trend-scorer's snapshot
// items, `SnapshotItem::read_image_text`), tried before `from_image`.

/// A cursor over JSON text that reads a strict subset of it: strings without escapes and the typed
/// values `{"<tag>": payload}`. Every method returns `None` at anything outside that subset (or
/// malformed), and the caller then decodes the text with [`from_image`], which gives the value or
/// the error: this reader never has to produce either for text it does not take. It never reads
/// past a malformed byte, so what it accepts is valid JSON whatever the text around it.
pub(crate) struct Scan<'a> {
    text: &'a str,
    at: usize,
}

/// The powers of ten exact in an `f64`, `10^0` to `10^22`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// The powers of ten that fit a `u64` as integers, `10^0` to `10^19` (a fraction of at most 19
/// digits: [`quotient`]'s check multiplies them as `u64`s).
const POW10_INT: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut k = 1;
    while k < 20 {
        p[k] = p[k - 1] * 10;
        k += 1;
    }
    p
};

/// `w / 10^k` correctly rounded (`k` ≤ 22, so `10^k` is exact in an `f64`), as `str::parse` gives
/// it, found from one division: exact when `w` is (at most 2^53: Clinger's fast path); else the
/// quotient, or its neighbour on the side the exact value lies, when the exact value is checked in
/// integers to lie strictly within half a unit in its last place. `None` when that cannot be shown
/// (a tie, a quotient at a power of two, below 2^-10 or above 2^53; `k` > 22, or `k` > 19 when `w`
/// is above 2^53), and the caller parses the text.
fn quotient(w: u64, k: usize) -> Option<f64> {
    /// The leading bit of a normal `f64`'s significand.
    const LEAD: u64 = 1 << 52;
    let x = w as f64 / *POW10.get(k)?;
    if w <= 2 * LEAD {
        return Some(x);
    }
    // x = m·2^e, m with its leading bit; w / 10^k lies within half a unit of m when
    // (2m − 1)·10^k < w·2^(1−e) < (2m + 1)·10^k, all below 2^128 for the shifts taken.
    let (biased, m) = (x.to_bits() >> 52, (x.to_bits() & (LEAD - 1)) | LEAD);
    let shift = 1076u64.checked_sub(biased).filter(|s| (1..=63).contains(s))?;
    let (scaled, pow) = (u128::from(w) << shift, u128::from(*POW10_INT.get(k)?));
    let side = |m: u64| {
        // Within the binade (below a power of two the next value down is nearer: not checked).
        (m > LEAD && m < 2 * LEAD).then_some(())?;
        Some(if scaled <= u128::from(2 * m - 1) * pow {
            -1
        } else if scaled >= u128::from(2 * m + 1) * pow {
            1
        } else {
            0
        })
    };
    match side(m)? {
        0 => Some(x),
        d => {
            let m = m.checked_add_signed(d)?;
            (side(m)? == 0).then(|| f64::from_bits(biased << 52 | (m & (LEAD - 1))))
        }
    }
}

/// A byte 1 in each lane of a `u64`.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of each byte lane.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The top bit of the first byte of `x` (its lowest) that is `stop` (ASCII), a backslash or below
/// 0x20, and maybe of later bytes: 0 when none is. A byte `y` is 0 when `y − 1` borrows into its
/// top bit while `y`'s own top bit is clear (a borrow out of a byte can mark the byte after it,
/// never one before); `x ^ stop` and `x ^ b'\\'` have `x`'s top bits, so one `!x` serves the three
/// tests.
#[inline(always)]
fn string_stop(x: u64, stop: u8) -> u64 {
    let (stops, backslashes) = (u64::from(stop) * ONES, u64::from(b'\\') * ONES);
    ((x ^ stops).wrapping_sub(ONES) | (x ^ backslashes).wrapping_sub(ONES) | x.wrapping_sub(0x20 * ONES)) & !x & HIGH
}

/// How many of the eight bytes of `chunk` (read little-endian: its first byte lowest) are ASCII
/// digits before the first that is not (8 when all are), and the number those digits write.
#[inline(always)]
fn eight_digits(chunk: u64) -> (usize, u64) {
    // A digit byte, `0x30`–`0x39`, becomes its value 0–9.
    let d = chunk ^ (0x30 * ONES);
    // The top bit of each byte that is not a digit (its value 10 or more, or 0x80 or more). A carry
    // out of a byte reaches only later bytes, so the lowest bit set is the first byte not a digit.
    let not_digit = (d.wrapping_add(0x76 * ONES) | d) & HIGH;
    let n = (not_digit.trailing_zeros() / 8) as usize;
    if n == 0 {
        return (0, 0);
    }
    // The `n` digits moved to the top bytes (zeros before them, which add nothing), then combined
    // pairwise: two digits into each 16-bit lane, two of those into each 32-bit lane, then all.
    let v = d << (64 - 8 * n);
    let v = (v.wrapping_mul(10 << 8 | 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    (n, v.wrapping_mul(10_000 << 32 | 1) >> 32)
}

/// The ASCII digits of `b` from `at`: where they end, and `w` with them appended (wrapping). Read
/// eight bytes at a time while eight are left, then one at a time.
#[inline(always)]
/// The end of a number's exponent, `[eE][+-]?[0-9]+`, which starts at `at` (at its `e`); `None`
/// without a digit. [`Scan::number`] and [`Scan::skip_value`] read it alike.
fn exponent_end(b: &[u8], at: usize) -> Option<usize> {
    let from = at + 1 + usize::from(matches!(b.get(at + 1), Some(b'+' | b'-')));
    let end = digits(b, from, 0).0;
    (end > from).then_some(end)
}

fn digits(b: &[u8], mut at: usize, mut w: u64) -> (usize, u64) {
    /// `10^n` for the `n` digits of a chunk.
    const SCALE: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
    while let Some(chunk) = b.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let (n, v) = eight_digits(u64::from_le_bytes(*chunk));
        w = w.wrapping_mul(SCALE[n]).wrapping_add(v);
        at += n;
        if n < 8 {
            return (at, w);
        }
    }
    while let Some(d) = b.get(at).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        w = w.wrapping_mul(10).wrapping_add(u64::from(d));
        at += 1;
    }
    (at, w)
}

/// A whole number of fewer than eight digits at `at` in `b` that [`Scan::number`] reads as
/// [`Number::Whole`] (no leading zero, no fraction or exponent after it), read from one eight-byte
/// chunk: its value and where it ends. `None` for anything else (a longer number, one within eight
/// bytes of the end of `b`, not a number), which the caller reads with the general reader.
#[inline(always)]
pub(crate) fn small_whole(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let chunk = b.get(at..)?.first_chunk::<8>()?;
    let (n, w) = eight_digits(u64::from_le_bytes(*chunk));
    ((1..8).contains(&n) && (n == 1 || chunk[0] != b'0') && !matches!(chunk[n], b'.' | b'e' | b'E'))
        .then_some((w, at + n))
}

/// A number at `at` in `b` in the form a writer of `f64`s gives prices (`4599`, `1899.9`,
/// `123.45600000000002`: fewer than eight digits before the point, at most 16 after it, at most 19
/// in all, no sign, no exponent), read in at most three eight-byte chunks without the general
/// reader: the `f64` [`Scan::number`] gives it (correctly rounded, [`quotient`]) and where it ends.
/// `None` for any other text, or when [`quotient`] cannot show the rounding; the caller reads it
/// with [`Scan::number`].
#[inline(always)]
pub(crate) fn plain_float(b: &[u8], at: usize) -> Option<(f64, usize)> {
    if let Some(window) = b.get(at..).and_then(<[u8]>::first_chunk::<24>) {
        return plain_float_in(window, at);
    }
    /// `10^n` for the `n` digits of a chunk.
    const SCALE: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
    let chunk = b.get(at..)?.first_chunk::<8>()?;
    let (n, w) = eight_digits(u64::from_le_bytes(*chunk));
    // A whole part of 1–7 digits without a leading zero (`0` alone is one).
    (n > 0 && n < 8 && (n == 1 || chunk[0] != b'0')).then_some(())?;
    let point = at + n;
    if chunk[n] != b'.' {
        return (!matches!(chunk[n], b'e' | b'E')).then_some((w as f64, point));
    }
    let (k, w, end) = match eight_digits(u64::from_le_bytes(*b.get(point + 1..)?.first_chunk::<8>()?)) {
        (0, _) => return None,
        (8, v) => {
            let (k, u) = eight_digits(u64::from_le_bytes(*b.get(point + 9..)?.first_chunk::<8>()?));
            // At most 19 digits in all: the value fits a `u64`.
            (k < 8 && n + 8 + k <= 19).then_some(())?;
            (8 + k, (w * 100_000_000 + v) * SCALE[k] + u, point + 9 + k)
        }
        (k, v) => (k, w * SCALE[k] + v, point + 1 + k),
    };
    // No exponent after the fraction.
    (!matches!(b.get(end), Some(b'e' | b'E'))).then_some(())?;
    Some((quotient(w, k)?, end))
}

/// [`plain_float`] where the 24 bytes from `at` are in the text (`window`; every byte it reads is
/// among them: at most 7 digits, the point, 16 digits and the byte after them): the chunks read
/// from the window at places below 24, without checking the text's length for each.
#[inline(always)]
fn plain_float_in(window: &[u8; 24], at: usize) -> Option<(f64, usize)> {
    /// `10^n` for the `n` digits of a chunk.
    const SCALE: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
    let chunk = |i: usize| window.get(i..).and_then(<[u8]>::first_chunk::<8>).map(|c| u64::from_le_bytes(*c));
    let (n, w) = eight_digits(chunk(0)?);
    let first = window[0];
    // A whole part of 1–7 digits without a leading zero (`0` alone is one).
    (n > 0 && n < 8 && (n == 1 || first != b'0')).then_some(())?;
    let after = *window.get(n)?;
    if after != b'.' {
        return (!matches!(after, b'e' | b'E')).then_some((w as f64, at + n));
    }
    let (k, w, end) = match eight_digits(chunk(n + 1)?) {
        (0, _) => return None,
        (8, v) => {
            let (k, u) = eight_digits(chunk(n + 9)?);
            // At most 19 digits in all: the value fits a `u64`.
            (k < 8 && n + 8 + k <= 19).then_some(())?;
            (8 + k, (w * 100_000_000 + v) * SCALE[k] + u, n + 9 + k)
        }
        (k, v) => (k, w * SCALE[k] + v, n + 1 + k),
    };
    // No exponent after the fraction.
    (!matches!(window.get(end), Some(b'e' | b'E'))).then_some(())?;
    Some((quotient(w, k)?, at + end))
}

/// A number read by [`Scan::number`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number<'a> {
    /// A whole number, with its digits (no leading zero: as `u64`'s `Display` writes it).
    Whole(u64, &'a str),
    /// A number with a fraction or an exponent.
    Float(f64),
}

impl Number<'_> {
    /// The number as a JSON reader of `f64` gives it.
    pub(crate) fn f64(self) -> f64 {
        match self {
            Number::Whole(n, _) => n as f64,
            Number::Float(x) => x,
        }
    }
}

impl<'a> Scan<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scan { text, at: 0 }
    }

    /// The next byte, if any (nothing skipped).
    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Skips JSON whitespace.
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Takes `c` if it is the next byte (nothing skipped).
    pub(crate) fn take(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.at += usize::from(hit);
        hit
    }

    /// Whitespace, then `c`.
    pub(crate) fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        self.take(c).then_some(())
    }

    /// Takes `s` if the text goes on with it (nothing skipped).
    pub(crate) fn take_str(&mut self, s: &str) -> bool {
        let hit = self.text.as_bytes().get(self.at..).is_some_and(|rest| rest.starts_with(s.as_bytes()));
        if hit {
            self.at += s.len();
        }
        hit
    }

    /// Takes the text up to the next byte that is `stop` (ASCII), a backslash or a control
    /// character, which is not taken (`None` at the end of the text).
    #[inline]
    pub(crate) fn take_until(&mut self, stop: u8) -> Option<&'a str> {
        let start = self.at;
        let mut chunks = self.text.as_bytes().get(start..)?.chunks_exact(8);
        // Eight bytes at a time while eight are left.
        for chunk in &mut chunks {
            let hit = string_stop(u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?), stop);
            if hit != 0 {
                self.at += (hit.trailing_zeros() / 8) as usize;
                return self.text.get(start..self.at);
            }
            self.at += 8;
        }
        for &c in chunks.remainder() {
            if c == stop || c == b'\\' || c < 0x20 {
                return self.text.get(start..self.at);
            }
            self.at += 1;
        }
        None
    }

    /// [`Scan::number`] when it reads a whole number: its value and digits; `None` otherwise.
    pub(crate) fn whole(&mut self) -> Option<(u64, &'a str)> {
        let start = self.at;
        let n = self.whole_value()?;
        Some((n, self.text.get(start..self.at)?))
    }

    /// [`Scan::whole`]'s value alone. A number of fewer than eight digits followed by a byte that
    /// does not continue it (the ids and review totals of a snapshot) is read from one eight-byte
    /// chunk, without the general reader ([`small_whole`]).
    #[inline(always)]
    pub(crate) fn whole_value(&mut self) -> Option<u64> {
        if let Some((w, end)) = small_whole(self.text.as_bytes(), self.at) {
            self.at = end;
            return Some(w);
        }
        match self.number()? {
            Number::Whole(n, _) => Some(n),
            Number::Float(_) => None,
        }
    }

    /// A JSON number 0 or more (no sign), with the value serde_json gives it (correctly rounded: the
    /// workspace enables `float_roundtrip`). Its digits are read once, eight at a time ([`digits`]):
    /// a whole number is their value; a fraction of at most 19 digits in all is [`quotient`] when that shows the rounding
    /// (`str::parse` costs ~370 instructions for a price such as 219.35000000000002, ~215 for
    /// 1299.9: it reads the text again, and the bench's 17 prices a record are that long); anything
    /// else goes through `str::parse`. `None` for a negative number, a whole number of more than 19
    /// digits, one out of `f64`'s range, or text that is not a number; the caller's general path
    /// reads those.
    pub(crate) fn number(&mut self) -> Option<Number<'a>> {
        let b = self.text.as_bytes();
        let start = self.at;
        // The digits, read once into `w` (wrapping past 19 of them, which are not taken as it).
        let (mut at, mut w) = digits(b, start, 0);
        let whole = at - start;
        if whole == 0 || (whole > 1 && b[start] == b'0') {
            return None;
        }
        if !matches!(b.get(at), Some(b'.' | b'e' | b'E')) {
            // At most 19 digits: a `u64`, and serde_json reads it as one.
            (whole <= 19).then_some(())?;
            let text = self.text.get(start..at)?;
            self.at = at;
            return Some(Number::Whole(w, text));
        }
        let mut fraction = 0;
        if b.get(at) == Some(&b'.') {
            (at, w) = digits(b, at + 1, w);
            fraction = at - start - whole - 1;
            (fraction > 0).then_some(())?;
        }
        let plain = !matches!(b.get(at), Some(b'e' | b'E'));
        if !plain {
            at = exponent_end(b, at)?;
        }
        let x = match (plain && whole + fraction <= 19).then(|| quotient(w, fraction)).flatten() {
            Some(x) => x,
            // serde_json refuses a number out of range.
            None => self.text.get(start..at)?.parse::<f64>().ok().filter(|x| x.is_finite())?,
        };
        self.at = at;
        Some(Number::Float(x))
    }

    /// Whitespace, then a string without escapes: its text.
    pub(crate) fn plain_str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let s = self.take_until(b'"')?;
        self.take(b'"').then_some(s)
    }

    /// Whitespace, then the start of a typed value, `{"<tag>":`: its tag.
    pub(crate) fn tag(&mut self) -> Option<&'a str> {
        self.eat(b'{')?;
        let tag = self.plain_str()?;
        self.eat(b':')?;
        Some(tag)
    }

    /// Whitespace, then the start of a typed value of `tag`, `{"<tag>":`. Read as it is written
    /// without whitespace (serde_json's, Lambda's) by comparing bytes, else token by token.
    pub(crate) fn open(&mut self, tag: &str) -> Option<()> {
        let n = tag.len();
        let compact = self.text.as_bytes().get(self.at..).is_some_and(|rest| {
            rest.len() > n + 3
                && rest[..2] == *b"{\""
                && rest[2..2 + n] == *tag.as_bytes()
                && rest[2 + n..4 + n] == *b"\":"
        });
        if compact {
            self.at += n + 4;
            return Some(());
        }
        (self.tag()? == tag).then_some(())
    }

    /// A typed value `{"<tag>": "<text>"}` whose text has no escapes: the text. Read as it is
    /// written without whitespace (serde_json's, Lambda's), `{"S":"` and `"}` compared where they
    /// lie when the tag is one letter (every type tag is); else, or at anything else, from the
    /// start token by token.
    #[inline]
    pub(crate) fn typed_str(&mut self, tag: &str) -> Option<&'a str> {
        if let [t] = *tag.as_bytes() {
            let (b, start) = (self.text.as_bytes(), self.at);
            if b.get(start..start + 6) == Some(&[b'{', b'"', t, b'"', b':', b'"']) {
                self.at = start + 6;
                if let Some(text) = self.take_until(b'"') {
                    if b.get(self.at..self.at + 2) == Some(b"\"}") {
                        self.at += 2;
                        return Some(text);
                    }
                }
                self.at = start;
            }
        }
        self.typed_str_tokens(tag)
    }

    /// [`Scan::typed_str`] token by token.
    fn typed_str_tokens(&mut self, tag: &str) -> Option<&'a str> {
        self.open(tag)?;
        // `plain_str`, then `eat(b'}')`, each byte taken first where it is written without
        // whitespace before it.
        (self.take(b'"') || self.eat(b'"').is_some()).then_some(())?;
        let s = self.take_until(b'"')?;
        self.take(b'"').then_some(())?;
        (self.take(b'}') || self.eat(b'}').is_some()).then_some(s)
    }

    /// An `N` value read as an `i64` target reads it through [`from_image`] (a `u64` that fits, or
    /// an `i64`).
    pub(crate) fn typed_i64(&mut self) -> Option<i64> {
        let v = self.typed_str("N")?;
        match v.parse::<u64>() {
            Ok(n) => i64::try_from(n).ok(),
            Err(_) => v.parse::<i64>().ok(),
        }
    }

    /// An `N` value read as a `u64` target reads it through [`from_image`].
    pub(crate) fn typed_u64(&mut self) -> Option<u64> {
        self.typed_str("N")?.parse::<u64>().ok()
    }

    /// The members of an object, `{"<name>": value, …}`: `f` reads each value after its name.
    pub(crate) fn members(&mut self, mut f: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.members_of(&[], |s, _, name| f(s, name))
    }

    /// [`Scan::members`] of an object whose names are usually among `known` (names without
    /// escapes): `f` gets each name and its index in `known` (`known.len()` for another name). A
    /// known name is found by comparing the bytes at the cursor (its quotes, its first byte and
    /// its length first), without scanning it; another is read as [`Scan::members`] reads it.
    #[inline]
    pub(crate) fn members_of(
        &mut self,
        known: &[&'static str],
        mut f: impl FnMut(&mut Self, usize, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            // Each token taken first where it is written without whitespace before it (serde_json's,
            // Lambda's), else after whitespace.
            if self.peek() != Some(b'"') {
                self.ws();
            }
            let rest = self.text.as_bytes().get(self.at..).unwrap_or_default();
            let found = known.iter().position(|k| {
                let k = k.as_bytes();
                rest.get(1) == k.first()
                    && rest.get(k.len() + 1) == Some(&b'"')
                    && rest.first() == Some(&b'"')
                    && rest.get(1..=k.len()) == Some(k)
            });
            let (i, name) = match found.and_then(|i| Some((i, *known.get(i)?))) {
                Some((i, name)) => {
                    self.at += name.len() + 2;
                    (i, name)
                }
                None => (known.len(), self.plain_str()?),
            };
            if !self.take(b':') {
                self.eat(b':')?;
            }
            f(self, i, name)?;
            if self.take(b',') {
                continue;
            }
            if self.take(b'}') {
                return Some(());
            }
            self.ws();
            if !self.take(b',') {
                return self.eat(b'}');
            }
        }
    }

    /// Whether only whitespace is left.
    pub(crate) fn end(mut self) -> Option<()> {
        self.ws();
        (self.at == self.text.len()).then_some(())
    }

    /// Where the cursor is, in bytes from the start of the text.
    pub(crate) fn at(&self) -> usize {
        self.at
    }

    /// Moves the cursor back to `at`, a place it has been.
    pub(crate) fn rewind(&mut self, at: usize) {
        self.at = at;
    }

    /// The whole text the cursor moves over.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// The text from `from` (a place the cursor has been) to the cursor.
    pub(crate) fn since(&self, from: usize) -> Option<&'a str> {
        self.text.get(from..self.at)
    }

    /// Whitespace, then any JSON value, skipped as serde_json skips a value it ignores, and
    /// validated as it validates one: strings without control characters and with valid escapes,
    /// numbers in the JSON grammar (of any size), `true`, `false`, `null`, and arrays and objects
    /// (duplicate names allowed) nested at most [`MAX_DEPTH`] deep counting `depth` levels around
    /// the value (serde_json refuses more than 128). `None` for anything else, and the caller reads
    /// the whole text with serde_json, which gives the value or the error.
    pub(crate) fn skip_value(&mut self, depth: usize) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.skip_str_rest()
            }
            open @ (b'{' | b'[') => {
                let depth = depth + 1;
                (depth <= MAX_DEPTH).then_some(())?;
                self.at += 1;
                let close = if open == b'{' { b'}' } else { b']' };
                if self.eat(close).is_some() {
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.eat(b'"')?;
                        self.skip_str_rest()?;
                        self.eat(b':')?;
                    }
                    self.skip_value(depth)?;
                    self.ws();
                    if !self.take(b',') {
                        return self.take(close).then_some(());
                    }
                }
            }
            b't' => self.take_str("true").then_some(()),
            b'f' => self.take_str("false").then_some(()),
            b'n' => self.take_str("null").then_some(()),
            _ => self.skip_number(),
        }
    }

    /// The rest of a string after its opening quote, escapes validated (`\u` and four hex digits,
    /// a surrogate or not, as serde_json's skip takes it).
    fn skip_str_rest(&mut self) -> Option<()> {
        loop {
            self.take_until(b'"')?;
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => {
                    self.at += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            let hex = self.text.as_bytes().get(self.at + 1..self.at + 5)?;
                            hex.iter().all(u8::is_ascii_hexdigit).then_some(())?;
                            self.at += 5;
                        }
                        _ => return None,
                    }
                }
                // A control character.
                _ => return None,
            }
        }
    }

    /// A number in the JSON grammar, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, of any size.
    fn skip_number(&mut self) -> Option<()> {
        let b = self.text.as_bytes();
        let mut at = self.at + usize::from(b.get(self.at) == Some(&b'-'));
        let start = at;
        at = digits(b, at, 0).0;
        if at == start || (at > start + 1 && b[start] == b'0') {
            return None;
        }
        if b.get(at) == Some(&b'.') {
            let from = at + 1;
            at = digits(b, from, 0).0;
            (at > from).then_some(())?;
        }
        if matches!(b.get(at), Some(b'e' | b'E')) {
            at = exponent_end(b, at)?;
        }
        self.at = at;
        Some(())
    }
}

/// How deep [`Scan::skip_value`] goes into arrays and objects (counting those around the value):
/// well within serde_json's 128.
pub(crate) const MAX_DEPTH: usize = 64;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn via_attribute_values(image: &Value) -> Value {
        let item: serde_dynamo::Item = serde_json::from_value(image.clone()).unwrap();
        serde_dynamo::from_item(item).unwrap()
    }

    #[test]
    fn every_type_decodes_as_the_attribute_value_path_does() {
        let image = json!({
            "s": {"S": "héllo \"x\""}, "n": {"N": "42"}, "neg": {"N": "-7"}, "f": {"N": "12.5"},
            "t": {"BOOL": true}, "z": {"NULL": true},
            "m": {"M": {"a": {"L": [{"N": "1"}, {"S": "two"}, {"M": {}}]}, "b": {"NULL": true}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]},
        });
        let fast: Value = from_image(&image.to_string()).unwrap();
        assert_eq!(fast, via_attribute_values(&image));
        // Binary (which that path cannot put in a JSON value) stays base64 text.
        let b: Value = from_image(r#"{"b": {"B": "AAEC"}, "bs": {"BS": ["AA=="]}}"#).unwrap();
        assert_eq!(b, json!({"b": "AAEC", "bs": ["AA=="]}));
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Item,
        Product,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Target {
        id: String,
        pos: u8,
        price: Option<f64>,
        gone: Option<f64>,
        #[serde(default)]
        absent: Option<String>,
        kind: Kind,
        list: Vec<Kind>,
        nested: Inner,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Inner {
        n: i64,
    }

    #[test]
    fn structs_options_enums_and_unknown_attributes() {
        let image = json!({
            "id": {"S": "MLB1"}, "pos": {"N": "3"}, "price": {"N": "10"}, "gone": {"NULL": true},
            "kind": {"S": "product"}, "list": {"L": [{"S": "item"}]}, "nested": {"M": {"n": {"N": "-2"}}},
            "extra": {"M": {"deep": {"L": [{"S": "ignored"}]}}},
        });
        let t: Target = from_image(&image.to_string()).unwrap();
        assert_eq!(
            t,
            Target {
                id: "MLB1".into(),
                pos: 3,
                price: Some(10.0),
                gone: None,
                absent: None,
                kind: Kind::Product,
                list: vec![Kind::Item],
                nested: Inner { n: -2 }
            }
        );
    }

    #[test]
    fn skip_value_takes_what_serde_json_takes() {
        // The grammar's edges (numbers' exponents and fractions, escapes, literals): `skip_value`
        // takes a text exactly when serde_json does, and stops where the value ends.
        for text in [
            "0",
            "-0",
            "1",
            "-",
            "01",
            "1.",
            "1.5",
            ".5",
            "1e5",
            "1E+5",
            "1e-5",
            "1e",
            "1e+",
            "1E-",
            "-0.5e-3",
            "1.e5",
            "2e5.5",
            "\"a\\u00e9\"",
            "\"\\x\"",
            "\"\\u12\"",
            "true",
            "tru",
            "null",
            "nul",
            "[1,2]",
            "[1,]",
            "{\"a\":1e3}",
            "{\"a\":1e}",
            "[[[]]]",
        ] {
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
            let mut s = Scan::new(text);
            let ours = s.skip_value(0).is_some() && s.end().is_some();
            assert_eq!(ours, serde, "{text}");
        }
    }

    #[test]
    fn members_are_read_with_or_without_whitespace_between_tokens() {
        // `members_of` takes `:`, `,` and `}` where they lie when the text is compact; with
        // whitespace (or none) in any one gap it reads the same members, and a gap without its
        // token is refused.
        let tokens = ["{", "\"a\"", ":", "1", ",", "\"zz\"", ":", "[2]", ",", "\"b\"", ":", "\"x\"", "}"];
        let read = |text: &str| {
            let mut s = Scan::new(text);
            let mut got = Vec::new();
            s.members_of(&["a", "b"], |s, i, name| {
                let start = s.at();
                s.skip_value(1)?;
                got.push((i, name.to_string(), s.since(start)?.trim().to_string()));
                Some(())
            })?;
            s.end()?;
            Some(got)
        };
        let compact = read(&tokens.concat()).unwrap();
        assert_eq!(compact.iter().map(|(i, _, _)| *i).collect::<Vec<_>>(), [0, 2, 1]);
        for gap in 0..tokens.len() {
            for space in [" ", "\n\t ", "\r"] {
                let mut text = tokens[..gap].concat();
                text.push_str(space);
                text.push_str(&tokens[gap..].concat());
                assert_eq!(read(&text).as_ref(), Some(&compact), "{text:?}");
            }
        }
        for dropped in [2, 4, 6, 12] {
            let text = [&tokens[..dropped], &tokens[dropped + 1..]].concat().concat();
            assert_eq!(read(&text), None, "{text:?}");
        }
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in [
            json!({"id": {"X": "MLB1"}}),
            json!({"id": {}}),
            json!({"id": {"S": "a", "N": "1"}}),
            json!({"id": "MLB1"}),
            json!({"pos": {"N": "many"}}),
            json!({"pos": {"N": "300"}}),
        ] {
            #[derive(Debug, serde::Deserialize)]
            #[allow(dead_code)]
            struct T {
                id: Option<String>,
                pos: Option<u8>,
            }
            assert!(from_image::<T>(&bad.to_string()).is_err(), "{bad}");
        }
        assert!(from_image::<Value>("{\"a\": {\"S\": \"x\"}} trailing").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_json_value_round_trips_like_the_attribute_value_path(v in arb_value()) {
            let image = serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(json!({"v": v})).unwrap()).unwrap();
            let fast: Value = from_image(&image.to_string()).unwrap();
            proptest::prop_assert_eq!(fast, via_attribute_values(&image));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// `Scan::number` reads a number as serde_json does (the value's bits), or leaves it to it.
        #[test]
        fn a_number_reads_as_serde_json_reads_it(
            text in "-?(0|[1-9][0-9]{0,21})(\\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?|[0-9.eE+-]{1,6}",
            end in proptest::prop_oneof![proptest::strategy::Just(""), proptest::strategy::Just(","), proptest::strategy::Just("]")],
        ) {
            let with_end = format!("{text}{end}");
            let mut scan = Scan::new(&with_end);
            let general = serde_json::from_str::<f64>(&text).ok();
            if let Some(n) = scan.number() {
                // What it took (the caller checks what follows).
                let took = &with_end[..scan.at];
                let general = serde_json::from_str::<f64>(took).ok();
                proptest::prop_assert_eq!(Some(n.f64().to_bits()), general.map(f64::to_bits), "{}", took);
                if let Number::Whole(w, digits) = n {
                    proptest::prop_assert_eq!((Some(w), digits), (serde_json::from_str::<u64>(took).ok(), took));
                }
            } else {
                // Left to the general path: a sign, a whole number of more than 19 digits.
                let plain = !text.starts_with('-') && text.split(['.', 'e', 'E']).next().is_some_and(|i| i.len() <= 19);
                proptest::prop_assert!(general.is_none() || !plain, "{} not read", text);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Every positive `f64` as serde_json writes it (the shortest text that reads back) and prices
        /// as float arithmetic leaves them (up to 19 digits, 0–22 after the point).
        #[test]
        fn written_floats_and_long_prices_read_as_serde_json_reads_them(
            x in 0.0f64..f64::MAX,
            digits in "[1-9][0-9]{0,18}",
            point in 0usize..23,
        ) {
            let written = serde_json::to_string(&x).unwrap();
            let mut price = digits.clone();
            if point > 0 {
                price = format!("{}.{}", &digits[..digits.len().saturating_sub(point).max(1)], &digits[digits.len().saturating_sub(point).max(1)..]);
                price = price.trim_end_matches('.').to_string();
            }
            for text in [written, price] {
                let general = serde_json::from_str::<f64>(&text).ok().map(f64::to_bits);
                let read = Scan::new(&text).number().map(|n| n.f64().to_bits());
                proptest::prop_assert!(read.is_none() || read == general, "{}: {:?} / {:?}", text, read, general);
                proptest::prop_assert!(read.is_some() || text.contains('e'), "{} not read", text);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The one-division quotient, when it answers, is the correctly rounded `w / 10^k` (the text
        /// `str::parse` reads), for any 1–19 digits and any exact power of ten.
        #[test]
        fn a_quotient_is_what_parsing_its_text_gives(w in 0u64..10_000_000_000_000_000_000, k in 0usize..23) {
            let digits = format!("{w:0>width$}", width = k + 1);
            let text = format!("{}.{}", &digits[..digits.len() - k], &digits[digits.len() - k..]);
            let want = text.trim_end_matches('.').parse::<f64>().unwrap();
            if let Some(x) = quotient(w, k) {
                proptest::prop_assert_eq!(x.to_bits(), want.to_bits(), "{}", text);
            }
        }
    }

    /// Prices as float arithmetic leaves them (the bench's: whole prices times 0.8–1.19 now and
    /// then, written as serde_json writes them), read by the one-division quotient, not by parsing
    /// the text again: at most a few in a thousand (ties, powers of two) are left to `str::parse`.
    #[test]
    fn long_prices_take_the_one_division_path() {
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let z = (state ^ (state >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            (z ^ (z >> 29)) % n
        };
        let (mut fast, mut long) = (0, 0);
        for _ in 0..20_000 {
            let mut price = 100.0 + next(40) as f64 * 7.0;
            for _ in 0..1 + next(6) {
                price *= 0.8 + next(40) as f64 / 100.0;
            }
            let text = serde_json::to_string(&price).unwrap();
            let Some((int, frac)) = text.split_once('.') else { continue };
            let w: u64 = format!("{int}{frac}").parse().unwrap();
            long += usize::from(w > 1 << 53);
            if let Some(x) = quotient(w, frac.len()) {
                assert_eq!(x.to_bits(), price.to_bits(), "{text}");
                fast += 1;
            }
            assert_eq!(Scan::new(&text).number().map(|n| n.f64().to_bits()), Some(price.to_bits()), "{text}");
        }
        assert!(long > 10_000, "{long} long prices");
        assert!(fast > 19_900, "{fast} of 20000 read by one division");
        assert_eq!(quotient(21_935_000_000_000_002, 14), Some(219.35000000000002));
        assert_eq!(quotient(12_999, 1), Some(1299.9));
    }

    /// The digits one at a time: what [`digits`] reads eight at a time.
    fn digits_one_at_a_time(b: &[u8], mut at: usize, mut w: u64) -> (usize, u64) {
        while let Some(d) = b.get(at).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            w = w.wrapping_mul(10).wrapping_add(u64::from(d));
            at += 1;
        }
        (at, w)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Eight bytes at a time, the digits end where they end one at a time and give the same
        /// (wrapping) value: runs of any length, any byte after them (the neighbours of '0'–'9',
        /// bytes of 0x80 and more), from any start, near the end of the text or not.
        #[test]
        fn digits_read_eight_at_a_time_as_one_at_a_time(
            runs in proptest::collection::vec(
                ("[0-9]{0,30}", proptest::prop_oneof![
                    proptest::num::u8::ANY,
                    proptest::strategy::Just(b'/'),
                    proptest::strategy::Just(b':'),
                    proptest::strategy::Just(b'.'),
                    proptest::strategy::Just(0x80u8),
                    proptest::strategy::Just(0xB0u8),
                    proptest::strategy::Just(0xFFu8),
                ]),
                1..4,
            ),
            start in 0usize..40,
            w in proptest::prop_oneof![proptest::strategy::Just(0u64), proptest::num::u64::ANY],
        ) {
            let mut b = Vec::new();
            for (run, after) in &runs {
                b.extend_from_slice(run.as_bytes());
                b.push(*after);
            }
            for end in [b.len(), b.len() - 1] {
                let text = &b[..end];
                let at = start.min(text.len());
                proptest::prop_assert_eq!(digits(text, at, w), digits_one_at_a_time(text, at, w), "{:?} from {}", text, at);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// `Scan::whole` reads what `Scan::number` reads as a whole number, and nothing else, and
        /// stops where it stops.
        #[test]
        fn a_whole_number_reads_as_the_general_reader_reads_it(
            text in "(0|[1-9][0-9]{0,21})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?|[0-9.eE+-]{1,10}|0[0-9]{1,8}",
            end in proptest::prop_oneof![
                proptest::strategy::Just(""), proptest::strategy::Just(","), proptest::strategy::Just("]"),
                proptest::strategy::Just(",1,2,3,4,5,6,7,8"), proptest::strategy::Just(".5,1"), proptest::strategy::Just("e5]]]]]]"),
            ],
        ) {
            let with_end = format!("{text}{end}");
            let (mut fast, mut general) = (Scan::new(&with_end), Scan::new(&with_end));
            let want = match general.number() {
                Some(Number::Whole(n, digits)) => Some((n, digits)),
                _ => None,
            };
            proptest::prop_assert_eq!(fast.whole(), want, "{}", with_end);
            if want.is_some() {
                proptest::prop_assert_eq!(fast.at, general.at, "{}", with_end);
            }
        }

        /// `Scan::take_until` stops at the first `stop`, backslash or control byte, eight bytes at
        /// a time, as one at a time.
        #[test]
        fn a_string_ends_where_it_ends_one_byte_at_a_time(
            text in "[a-z\"\\\\\u{1}\u{1f} \u{7f}é\u{80}-\u{10ffff}]{0,40}",
            start in 0usize..8,
            stop in proptest::prop_oneof![proptest::strategy::Just(b'"'), proptest::strategy::Just(b']')],
        ) {
            let start = (0..=start.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let mut scan = Scan { text: &text, at: start };
            let b = text.as_bytes();
            let end = (start..b.len()).find(|&i| b[i] == stop || b[i] == b'\\' || b[i] < 0x20);
            let got = scan.take_until(stop);
            proptest::prop_assert_eq!(got, end.map(|e| &text[start..e]), "{:?} from {}", text, start);
            if let Some(e) = end {
                proptest::prop_assert_eq!(scan.at, e);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Names found by comparing bytes (`Scan::members_of`) are the names read one by one
        /// (`Scan::members`): known names, their prefixes and extensions, escaped names, names cut
        /// short, with or without whitespace; the same names, indexes and stopping place.
        #[test]
        fn known_names_read_as_names_read_one_by_one(
            members in proptest::collection::vec((0usize..12, " ?", " ?"), 0..6),
            cut in proptest::option::of(0usize..200),
        ) {
            const KNOWN: &[&str] = &["eventSource", "eventSourceARN", "Keys", "k", "pk"];
            const OTHERS: &[&str] = &[
                "Kays", "eventSourceXYZ", "eventSourc", "eventSourceAR", "Keys2", "", "K\\u0065ys", "pk\\\"", "ke",
                "eventSourceARNs",
            ];
            let body = members
                .iter()
                .enumerate()
                .map(|(i, (name, before, after))| {
                    let name = KNOWN.iter().chain(OTHERS).nth(*name % (KNOWN.len() + OTHERS.len())).copied().unwrap_or("");
                    format!("{before}\"{name}\"{after}:{i}")
                })
                .collect::<Vec<_>>()
                .join(",");
            let mut text = format!("{{{body}}}");
            if let Some(cut) = cut {
                text.truncate(cut.min(text.len()));
            }
            let read = |known: &[&'static str]| {
                let mut names = Vec::new();
                let mut s = Scan::new(&text);
                let ok = s.members_of(known, |s, i, name| {
                    names.push((KNOWN.iter().position(|k| *k == name).filter(|_| !known.is_empty()), i.min(known.len()), name.to_string()));
                    s.whole().map(|_| ())
                });
                (ok, s.at, names)
            };
            let (fast, plain) = (read(KNOWN), read(&[]));
            proptest::prop_assert_eq!((fast.0, fast.1), (plain.0, plain.1), "{}", text);
            proptest::prop_assert_eq!(fast.2.len(), plain.2.len());
            for ((found, i, name), (_, _, plain_name)) in fast.2.iter().zip(&plain.2) {
                proptest::prop_assert_eq!(name, plain_name);
                // The index is the name's in `KNOWN`, or `KNOWN.len()` for another name.
                proptest::prop_assert_eq!(*i, found.unwrap_or(KNOWN.len()), "{}", text);
            }
        }
    }

    /// Prices as a fetcher stores them: float arithmetic's leftovers (`123.45600000000002`), any
    /// float, cents (the snapshot columns' tests read them too).
    pub(crate) fn stored_price() -> impl proptest::strategy::Strategy<Value = f64> {
        use proptest::prelude::*;
        prop_oneof![
            (1u64..1_000_000, 0u64..40).prop_map(|(n, k)| n as f64 * (0.8 + k as f64 / 100.0)),
            0.0f64..1e7,
            (0u64..1_000_000_000).prop_map(|c| c as f64 / 100.0),
        ]
    }

    /// The text of a price as the writer writes it: a float in `f64`'s shortest form (serde_json's),
    /// or whole.
    fn written_price() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            3 => stored_price().prop_map(|x| serde_json::to_string(&x).unwrap()),
            1 => (0u64..100_000_000).prop_map(|n| n.to_string()),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// [`plain_float`] reads a number only as [`Scan::number`] and `str::parse` read it (the
        /// same `f64` bits, ending where they end), whatever the text: digits of any length with
        /// leading zeros, fractions of 0–20 digits, exponents, signs, any byte after, near the end
        /// of the text or not; and it reads every price the writer writes with a whole part of
        /// fewer than eight digits and at most two decimals (one exact division).
        #[test]
        fn a_plain_float_reads_as_the_general_reader_reads_it(
            number in proptest::prop_oneof![
                written_price(),
                "-?[0-9]{1,9}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{1,3})?",
                "0[0-9]{0,3}\\.[0-9]{1,17}",
            ],
            after in "[],}x.eE0-9 -]{0,9}",
            pad in proptest::bool::ANY,
        ) {
            let text = format!("{number}{after}{}", if pad { "________________" } else { "" });
            let b = text.as_bytes();
            let mut general = Scan::new(&text);
            let read = general.number().map(Number::f64);
            if let Some((x, end)) = plain_float(b, 0) {
                proptest::prop_assert_eq!(read.map(f64::to_bits), Some(x.to_bits()), "{}", text);
                proptest::prop_assert_eq!(general.at, end, "{}", text);
                proptest::prop_assert_eq!(text[..end].parse::<f64>().map(f64::to_bits), Ok(x.to_bits()), "{}", text);
            }
            // The writer's short prices are read by the fast path (when eight bytes follow).
            let short = number.split_once('.').map_or((number.len(), 0), |(w, f)| (w.len(), f.len()));
            if !number.contains(['e', 'E', '-']) && short.0 < 8 && short.1 <= 2 && !number.ends_with('.') && pad && !after.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E') && (short.0 == 1 || !number.starts_with('0')) {
                proptest::prop_assert!(plain_float(b, 0).is_some(), "{}", text);
            }
            // A whole number of fewer than eight digits, as `number` reads it.
            if let Some((w, end)) = small_whole(b, 0) {
                let mut general = Scan::new(&text);
                proptest::prop_assert!(matches!(general.number(), Some(Number::Whole(n, _)) if n == w), "{}", text);
                proptest::prop_assert_eq!(general.at, end, "{}", text);
            }
        }
    }

    /// A typed string (`Scan::typed_str`, its quotes and brace taken without a whitespace scan
    /// where there is none) reads what the token reader reads (`open`, `plain_str`, `eat`), and
    /// stops where it stops.
    #[test]
    fn a_typed_string_reads_as_the_token_reader_reads_it() {
        for text in [
            r#"{"S":"a"}"#,
            r#"{"S":""}"#,
            r#"{"S": "a" }"#,
            r#"{"S":"a" }"#,
            r#"{"S": "a"}"#,
            "{\"S\":\"a\"\n}",
            r#"{"S":"a\"}"#,
            r#"{"S":"a""#,
            r#"{"S":"a"]"#,
            r#"{"S":"a"x}"#,
            r#"{"S":a"}"#,
            r#"{"S":"a}"#,
            r#"{"S" :"a"}"#,
            r#"{"N":"1"}"#,
            "{\"S\":\"a\tb\"}",
            "{\"S\":\"a\n}",
            "",
        ] {
            let (mut fast, mut general) = (Scan::new(text), Scan::new(text));
            let want = general.open("S").and_then(|()| general.plain_str()).and_then(|s| general.eat(b'}').map(|()| s));
            assert_eq!(fast.typed_str("S"), want, "{text}");
            if want.is_some() {
                assert_eq!(fast.at, general.at, "{text}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A typed string read by comparing `{"<tag>":"` and `"}` where they lie (`Scan::typed_str`)
        /// reads what the token reader reads (`open`, `plain_str`, `eat`) and stops where it stops:
        /// texts made of the typed value's own pieces, whitespace, escapes, control bytes and
        /// other tags, for one-letter tags and a longer one.
        #[test]
        fn typed_strings_read_as_the_token_reader_reads_them(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{\"S\":\"", "{\"N\":\"", "{\"SS\":\"", "\"}", "{", "}", "\"", ":", "S", "N", "a", "1",
                    " ", "\n", "\\", "\\\"", "\u{1}", "é", "CAT#MLB#MLB1055",
                ]),
                0..8,
            ),
            tag in proptest::sample::select(vec!["S", "N", "SS", ""]),
            at in 0usize..3,
        ) {
            let text: String = pieces.concat();
            let at = (0..=at.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let (mut fast, mut general) = (Scan { text: &text, at }, Scan { text: &text, at });
            let want = general.open(tag).and_then(|()| general.plain_str()).and_then(|s| general.eat(b'}').map(|()| s));
            proptest::prop_assert_eq!(fast.typed_str(tag), want, "{:?} at {}", text, at);
            if want.is_some() {
                proptest::prop_assert_eq!(fast.at, general.at, "{:?} at {}", text, at);
            }
        }
    }

    /// A typed value's start read by comparing bytes (`Scan::open`) takes what the token reader
    /// takes, and stops where it stops.
    #[test]
    fn a_typed_value_opens_as_the_token_reader_opens_it() {
        for text in [
            r#"{"S":"a"}"#,
            r#"{"S":""#,
            r#"{"S":"#,
            r#"{"S""#,
            r#" {"S":"a"}"#,
            r#"{ "S" : "a"}"#,
            r#"{"N":"1"}"#,
            r#"{"SS":["a"]}"#,
            r#"{"\u0053":"a"}"#,
            r#"{"S\":"a"}"#,
            r#"{S":"a"}"#,
            r#"{"M":{}}"#,
            "",
            "{",
        ] {
            for tag in ["S", "M", "SS"] {
                let (mut fast, mut general) = (Scan::new(text), Scan::new(text));
                let want = general.tag().filter(|t| *t == tag).map(|_| ());
                assert_eq!(fast.open(tag), want, "{text} {tag}");
                if want.is_some() {
                    assert_eq!(fast.at, general.at, "{text} {tag}");
                }
            }
        }
    }

    #[test]
    fn eight_digits_at_a_time() {
        assert_eq!(eight_digits(u64::from_le_bytes(*b"12345678")), (8, 12_345_678));
        assert_eq!(eight_digits(u64::from_le_bytes(*b"1045002,")), (7, 1_045_002));
        assert_eq!(eight_digits(u64::from_le_bytes(*b"09:99999")), (2, 9));
        assert_eq!(eight_digits(u64::from_le_bytes(*b"/9999999")), (0, 0));
        assert_eq!(eight_digits(u64::from_le_bytes(*b"99999999")), (8, 99_999_999));
        assert_eq!(eight_digits(u64::from_le_bytes([b'7', 0xB7, b'1', b'1', b'1', b'1', b'1', b'1'])), (1, 7));
        let text = b"123456789012345678901234567890]";
        assert_eq!(digits(text, 0, 0), digits_one_at_a_time(text, 0, 0));
        assert_eq!(digits(b"219.35000000000002,", 4, 219), (18, 21_935_000_000_000_002));
    }

    #[test]
    fn numbers_near_the_edges() {
        for (text, want) in [
            ("0", Some(0.0)),
            ("9007199254740993", Some(9007199254740992.0)),
            ("9999999999999999999", Some(1e19)),
            ("0.1", Some(0.1)),
            ("219.35000000000002", Some(219.35000000000002)),
            ("1e22", Some(1e22)),
            ("1e23", Some(1e23)),
            ("1e-400", Some(0.0)),
            ("1e400", None),
            ("01", None),
            ("1.", None),
            ("1e", None),
            (".5", None),
            ("-1", None),
            ("10000000000000000000", None),
        ] {
            assert_eq!(Scan::new(text).number().map(Number::f64), want, "{text}");
        }
    }

    fn arb_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            (-1e12f64..1e12).prop_map(|f| json!(f)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}

//! Parsed identifiers. Parse, don't validate: once a value has one of these types it is well formed.

use std::fmt;
use std::num::NonZeroU8;
use std::str::FromStr;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("unknown site id {0:?} (expected one of {known})", known = SiteId::KNOWN.join(", "))]
    UnknownSite(String),
    #[error("bad category id {0:?}: expected the site id followed by digits, such as MLB1055")]
    BadCategory(String),
    #[error("bad listing or product id {0:?}: expected a site id followed by letters or digits")]
    BadEntryId(String),
    #[error("bad position {0}: positions start at 1 and go up to {max}", max = Position::MAX)]
    BadPosition(i64),
    #[error("unknown entry type {0:?} (expected ITEM, PRODUCT or USER_PRODUCT)")]
    BadEntryType(String),
}

/// A Mercado Libre site (country marketplace), such as `MLB` (Brasil) or `MLA` (Argentina).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteId([u8; 3]);

impl SiteId {
    /// The site ids of meli-api.md §7.1.
    pub const KNOWN: [&'static str; 18] = [
        "MLA", "MLB", "MLM", "MLC", "MCO", "MLU", "MPE", "MLV", "MEC", "MBO", "MPY", "MCR", "MPA", "MRD", "MGT", "MHN",
        "MNI", "MSV",
    ];
    pub const MLB: SiteId = SiteId(*b"MLB");
    pub const MLA: SiteId = SiteId(*b"MLA");
    pub const MLM: SiteId = SiteId(*b"MLM");

    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::known(s.trim().as_bytes()).ok_or_else(|| IdError::UnknownSite(s.to_string()))
    }

    /// The known site spelled by `b`, in any case (no allocation: ids are parsed on every record).
    /// [`SiteId::parse`] without the trim: the known sites are letters, so three bytes with
    /// whitespace among them are no site either way.
    pub(crate) fn known(b: &[u8]) -> Option<Self> {
        let [x, y, z] = *b else { return None };
        let up = [x.to_ascii_uppercase(), y.to_ascii_uppercase(), z.to_ascii_uppercase()];
        Self::KNOWN.iter().any(|k| k.as_bytes() == up).then_some(SiteId(up))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII bytes from KNOWN are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

/// A category id: the site prefix followed by digits (`MLB1055`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(CompactString);

impl CategoryId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if Self::valid(s) {
            Ok(CategoryId(CompactString::from(s)))
        } else {
            Err(IdError::BadCategory(s.to_string()))
        }
    }

    /// Whether a trimmed string is a category id.
    fn valid(s: &str) -> bool {
        let Some((prefix, rest)) = s.split_at_checked(3) else { return false };
        SiteId::known(prefix.as_bytes()).is_some()
            && prefix.bytes().all(|b| b.is_ascii_uppercase())
            && !rest.is_empty()
            && rest.len() <= 12
            && rest.bytes().all(|b| b.is_ascii_digit())
    }

    /// Like [`CategoryId::parse`], keeping `s`'s buffer when it needs no trimming.
    fn parse_owned(s: String) -> Result<Self, IdError> {
        if s.trim().len() == s.len() && Self::valid(&s) {
            Ok(CategoryId(CompactString::from(s)))
        } else {
            Self::parse(&s)
        }
    }

    /// The site this category belongs to.
    pub fn site(&self) -> SiteId {
        SiteId::parse(&self.0[..3]).unwrap_or(SiteId::MLB)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of a ranked entry: a listing (`MLB1481736854`), a catalog product (`MLB15960724`) or a
/// user product (`MLBU3013800008`).
///
/// Held inline up to 24 bytes (every id seen so far: `MLB` and at most 15 digits), so a clone is a
/// copy, not an allocation: the scorer clones one per product signal, event and state id of every
/// stream record (docs/decisions.md, "Ids inline").
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(CompactString);

impl EntryId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if Self::valid(s) {
            Ok(EntryId(CompactString::from(s)))
        } else {
            Err(IdError::BadEntryId(s.to_string()))
        }
    }

    /// Whether a trimmed string is an entry id.
    fn valid(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() > 3
            && b.len() <= 40
            && SiteId::known(&b[..3]).is_some()
            && b[..3].iter().all(u8::is_ascii_uppercase)
            && b[3..].iter().all(u8::is_ascii_alphanumeric)
    }

    /// Like [`EntryId::parse`], keeping `s`'s buffer when it needs no trimming.
    fn parse_owned(s: String) -> Result<Self, IdError> {
        if s.trim().len() == s.len() && Self::valid(&s) {
            Ok(EntryId(CompactString::from(s)))
        } else {
            Self::parse(&s)
        }
    }

    pub fn site(&self) -> SiteId {
        SiteId::parse(&self.0[..3]).unwrap_or(SiteId::MLB)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a number of `site` (what a stored snapshot's `id` column holds): the digits after
    /// the prefix when the prefix is `site` and the rest is a decimal number of at most
    /// [`EntryId::NUMBER_DIGITS`] digits written without a leading zero (so that
    /// [`EntryId::from_number`] gives back this id exactly). `None` for any other id.
    pub fn number_in(&self, site: SiteId) -> Option<u64> {
        let digits = self.0.strip_prefix(site.as_str())?;
        let ok = !digits.is_empty()
            && digits.len() <= Self::NUMBER_DIGITS
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if ok {
            digits.parse().ok()
        } else {
            None
        }
    }

    /// At most this many digits make an id a number ([`EntryId::number_in`]): every JSON reader,
    /// Spark's and JavaScript's included, holds such a number exactly (< 2^53).
    pub const NUMBER_DIGITS: usize = 15;

    /// The id `{site}{n}`: what [`EntryId::number_in`] took apart.
    pub fn from_number(site: SiteId, n: u64) -> Self {
        let mut b = Vec::with_capacity(3 + 20);
        b.extend_from_slice(site.as_str().as_bytes());
        push_digits(&mut b, n);
        // A site prefix and ASCII digits: always UTF-8.
        EntryId(CompactString::from_utf8(b).unwrap_or_default())
    }
}

/// The start of the ids of a site, `MLB`, made once for a column of ids stored as numbers
/// ([`IdPrefix::id`]): each id is then the prefix with the digits pushed after, in a buffer kept
/// for the column, made inline in one step ([`CompactString::new`] builds a short string in
/// registers; pushing onto a copy of an inline prefix cost ~85 instructions an id).
pub(crate) struct IdPrefix(String);

impl IdPrefix {
    /// A site's letters, as [`SiteId::as_str`] gives them.
    const LEN: usize = 3;

    pub(crate) fn of(site: SiteId) -> Self {
        // The site's letters from `KNOWN` (no UTF-8 check).
        let prefix = SiteId::KNOWN.iter().find(|k| k.as_bytes() == site.0).copied().unwrap_or("???");
        let mut buf = String::with_capacity(24);
        buf.push_str(prefix);
        IdPrefix(buf)
    }

    /// [`EntryId::from_number`] of the number `digits` spells, which must be written as
    /// [`push_digits`] writes it (ASCII digits, no leading zero, at most 19 of them: a `u64`): the
    /// stored `id` column's number as read in place (`snapshot::EscapedColumns`), without
    /// converting it twice. Inline (a site's letters and at most 19 digits), no allocation.
    pub(crate) fn id(&mut self, digits: &str) -> EntryId {
        self.0.truncate(Self::LEN);
        self.0.push_str(digits);
        EntryId(CompactString::new(&self.0))
    }
}

/// `n` in decimal (as `format!("{n}")`, without its formatting machinery).
pub(crate) fn push_digits(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A rank in a best-seller list: 1 is the best seller.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position(NonZeroU8);

impl Position {
    /// Lists have at most 20 entries; a little room is left for lists that grow.
    pub const MAX: u8 = 100;

    pub fn new(p: i64) -> Result<Self, IdError> {
        if (1..=i64::from(Self::MAX)).contains(&p) {
            // The range check above makes both conversions infallible.
            let n = NonZeroU8::new(p as u8).ok_or(IdError::BadPosition(p))?;
            Ok(Position(n))
        } else {
            Err(IdError::BadPosition(p))
        }
    }

    pub fn get(self) -> u8 {
        self.0.get()
    }
}

/// What kind of thing a best-seller entry points at.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryType {
    /// A listing: resolved through `/items` (often 403 for other sellers' listings).
    Item,
    /// A catalog product: resolved through `/products/{id}` and `/products/{id}/items`.
    Product,
    /// A user product (`MLBU…`): usually unresolvable, kept as an opaque id.
    UserProduct,
}

impl EntryType {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        match s {
            "ITEM" => Ok(EntryType::Item),
            "PRODUCT" => Ok(EntryType::Product),
            "USER_PRODUCT" => Ok(EntryType::UserProduct),
            other => Err(IdError::BadEntryType(other.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Item => "ITEM",
            EntryType::Product => "PRODUCT",
            EntryType::UserProduct => "USER_PRODUCT",
        }
    }
}

macro_rules! string_id {
    ($t:ty, $parse:expr, $parse_owned:expr) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.as_str())
            }
        }
        impl FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    // A borrowed or transient string is parsed in place; an owned one keeps its
                    // buffer when the id is longer than a `CompactString` holds inline (24 bytes).
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$t, E> {
                        $parse(s).map_err(E::custom)
                    }
                    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<$t, E> {
                        $parse_owned(s).map_err(E::custom)
                    }
                }
                d.deserialize_string(V)
            }
        }
    };
}
string_id!(SiteId, SiteId::parse, |s: String| SiteId::parse(&s));
string_id!(CategoryId, CategoryId::parse, CategoryId::parse_owned);
string_id!(EntryId, EntryId::parse, EntryId::parse_owned);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}
impl fmt::Debug for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.get())
    }
}
impl Serialize for Position {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.get())
    }
}
impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        Position::new(n).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_real_ids() {
        assert_eq!(SiteId::parse("mlb").unwrap(), SiteId::MLB);
        assert_eq!(CategoryId::parse("MLB1055").unwrap().site(), SiteId::MLB);
        assert_eq!(EntryId::parse("MLBU3013800008").unwrap().as_str(), "MLBU3013800008");
        assert!(CategoryId::parse("MLB").is_err());
        assert!(CategoryId::parse("XXX1055").is_err());
        assert!(CategoryId::parse("MLB10a5").is_err());
        assert!(EntryId::parse("MLB12 3").is_err());
        assert!(Position::new(0).is_err());
        assert!(Position::new(101).is_err());
        assert_eq!(EntryType::parse("USER_PRODUCT").unwrap(), EntryType::UserProduct);
        assert!(EntryType::parse("item").is_err());
    }

    #[test]
    fn serde_round_trips_and_rejects() {
        let c: CategoryId = serde_json::from_str("\"MLA1055\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"MLA1055\"");
        assert!(serde_json::from_str::<CategoryId>("\"MLA-1\"").is_err());
        assert!(serde_json::from_str::<Position>("0").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,20}") {
            let _ = SiteId::parse(&s);
            let _ = CategoryId::parse(&s);
            let _ = EntryId::parse(&s);
            let _ = EntryType::parse(&s);
        }

        #[test]
        fn an_id_is_a_number_of_its_site_only_when_the_number_gives_it_back(
            site in prop::sample::select(SiteId::KNOWN.to_vec()),
            rest in "[0-9]{1,20}|[A-Z0-9]{1,8}",
            n in any::<u64>(),
        ) {
            let site = SiteId::parse(site).unwrap();
            let id = EntryId::parse(&format!("{site}{rest}")).unwrap();
            match id.number_in(site) {
                Some(n) => prop_assert_eq!(EntryId::from_number(site, n), id.clone()),
                None => prop_assert!(
                    rest.len() > EntryId::NUMBER_DIGITS
                        || (rest.starts_with('0') && rest != "0")
                        || !rest.bytes().all(|b| b.is_ascii_digit()),
                    "{} is a number", id
                ),
            }
            // Another site's number: never.
            let other = if site == SiteId::MLA { SiteId::MLB } else { SiteId::MLA };
            prop_assert_eq!(id.number_in(other), None);
            // Every number is an id, which takes it back when it is short enough.
            let from = EntryId::from_number(site, n);
            let parsed = EntryId::parse(from.as_str());
            prop_assert_eq!(parsed.as_ref(), Ok(&from));
            prop_assert_eq!(from.number_in(site), Some(n).filter(|n| n.to_string().len() <= EntryId::NUMBER_DIGITS));
        }

        /// Ids held inline (up to 24 bytes) and on the heap (up to 40) behave as their text: the
        /// same text back, equality, order and hash as the strings', JSON as a string, and
        /// `IdPrefix::id` as `parse`.
        #[test]
        fn ids_of_any_length_behave_as_their_text(
            site in prop::sample::select(SiteId::KNOWN.to_vec()),
            a in "[A-Z0-9]{1,37}",
            b in "[A-Z0-9]{1,37}",
            digits in "[1-9][0-9]{0,18}",
        ) {
            use std::hash::BuildHasher;
            let (sa, sb) = (format!("{site}{a}"), format!("{site}{b}"));
            let (x, y) = (EntryId::parse(&sa).unwrap(), EntryId::parse(&sb).unwrap());
            prop_assert_eq!(x.as_str(), sa.as_str());
            prop_assert_eq!(x.clone(), x.clone());
            prop_assert_eq!(x == y, sa == sb);
            prop_assert_eq!(x.cmp(&y), sa.cmp(&sb));
            let h = std::collections::hash_map::RandomState::new();
            prop_assert_eq!(h.hash_one(&x) == h.hash_one(&y), sa == sb);
            prop_assert_eq!(serde_json::to_string(&x).unwrap(), serde_json::to_string(&sa).unwrap());
            prop_assert_eq!(serde_json::from_str::<EntryId>(&serde_json::to_string(&sa).unwrap()).unwrap(), x.clone());
            let site = SiteId::parse(site).unwrap();
            prop_assert_eq!(IdPrefix::of(site).id(&digits), EntryId::parse(&format!("{site}{digits}")).unwrap());
            // A category has at most 12 digits.
            let c = format!("{site}{}", &digits[..digits.len().min(12)]);
            let category = CategoryId::parse(&c).unwrap();
            prop_assert_eq!(category.as_str(), c.as_str());
        }

        #[test]
        fn category_round_trip(site in prop::sample::select(SiteId::KNOWN.to_vec()), n in 1u64..10_000_000_000) {
            let s = format!("{site}{n}");
            let c = CategoryId::parse(&s).unwrap();
            prop_assert_eq!(c.as_str(), s.as_str());
            let got = c.site();
            prop_assert_eq!(got.as_str(), site);
        }
    }
}

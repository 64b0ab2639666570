//! The single-table keys of DESIGN §4, built in one place so every store agrees on them.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | snapshot | `CAT#{site}#{cat}` | `SNAP#{rfc3339}` |
//! | scorer state, with the latest ranking | `CAT#{site}#{cat}` | `SCORE` ([`crate::signals::SCORE_SK`]) |
//! | category state | `CAT#{site}#{cat}` | `STATE` |
//! | product | `PROD#{site}#{id}` | `META` |
//! | event | `EVT#{site}#{cat}` | `{rfc3339}#{kind}#{product}` |
//! | delivery | `DLV#{event key}` | `{channel}#{target}` |
//! | calibration | `CAL#{site}#{cat}` | `RANKCURVE` |
//! | app token | `AUTH#{client id}` | `TOKEN` |
//!
//! Times in keys are UTC RFC 3339 with whole seconds and a `Z` (`2026-11-29T13:00:00Z`), so that the
//! lexicographic order of keys is the time order. (DESIGN's per-product `HIST#` points are not
//! written: a product's history is read from the snapshot items; docs/decisions.md.)

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

use crate::ids::{CategoryId, EntryId, SiteId};

pub const SNAP_PREFIX: &str = "SNAP#";
/// The partition key prefix of event items (the notifier's stream filter matches it).
pub const EVENT_PREFIX: &str = "EVT#";
pub const STATE: &str = "STATE";
pub const META: &str = "META";
pub const RANKCURVE: &str = "RANKCURVE";
pub const TOKEN: &str = "TOKEN";

/// The attribute that DynamoDB's TTL reads (epoch seconds).
pub const TTL_ATTR: &str = "expires_at";

/// A time as it appears in keys.
pub fn ts(t: DateTime<Utc>) -> String {
    let mut buf = [0u8; 20];
    match rfc3339_secs(t, &mut buf) {
        Some(s) => s.to_string(),
        None => t.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `t` in `buf`, exactly as chrono writes it with `SecondsFormat::Secs`,
/// for the years 0–9999 and no leap second (None otherwise: the caller asks chrono). Every stored
/// item and key has times; chrono's formatting machinery was a visible share of the scorer's cost.
fn rfc3339_secs(t: DateTime<Utc>, buf: &mut [u8; 20]) -> Option<&str> {
    write_rfc3339_secs(t, buf).then(|| std::str::from_utf8(buf).ok()).flatten()
}

/// [`rfc3339_secs`]'s bytes; false (and nothing written) where it gives None.
fn write_rfc3339_secs(t: DateTime<Utc>, buf: &mut [u8; 20]) -> bool {
    let d = t.naive_utc();
    let year = d.year();
    if !(0..=9999).contains(&year) || d.nanosecond() >= 1_000_000_000 {
        return false;
    }
    let two = |buf: &mut [u8; 20], at: usize, v: u32| {
        buf[at] = b'0' + (v / 10) as u8;
        buf[at + 1] = b'0' + (v % 10) as u8;
    };
    let year = year as u32;
    two(buf, 0, year / 100);
    two(buf, 2, year % 100);
    buf[4] = b'-';
    two(buf, 5, d.month());
    buf[7] = b'-';
    two(buf, 8, d.day());
    buf[10] = b'T';
    two(buf, 11, d.hour());
    buf[13] = b':';
    two(buf, 14, d.minute());
    buf[16] = b':';
    two(buf, 17, d.second());
    buf[19] = b'Z';
    true
}

/// What follows `{ts(t)}#` in `key` (an event's sort key), if it starts so: the time compared as
/// bytes, without splitting the key or checking the written time's UTF-8.
pub(crate) fn after_ts(key: &str, t: DateTime<Utc>) -> Option<&str> {
    let mut buf = [0u8; 20];
    if write_rfc3339_secs(t, &mut buf) {
        return if key.as_bytes().starts_with(&buf) { key.get(buf.len()..)?.strip_prefix('#') } else { None };
    }
    let (at, rest) = key.split_once('#')?;
    (ts(t) == at).then_some(rest)
}

/// Serializes a time exactly as chrono's `Serialize` does (RFC 3339, `Z`, fractional seconds only
/// when there are some), without its formatting machinery for whole seconds.
pub(crate) fn serialize_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 20];
    match rfc3339_secs(*t, &mut buf).filter(|_| t.timestamp_subsec_nanos() == 0) {
        Some(x) => s.serialize_str(x),
        None => serde::Serialize::serialize(t, s),
    }
}

/// A time as [`serialize_time`] writes it, as a string (for items built without serde).
pub(crate) fn time_string(t: DateTime<Utc>) -> String {
    let mut buf = [0u8; 20];
    match rfc3339_secs(t, &mut buf).filter(|_| t.timestamp_subsec_nanos() == 0) {
        Some(x) => x.to_string(),
        None => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    }
}

/// Whether a key time ([`ts`]) gives `t` back exactly: whole seconds, a year of four digits.
pub(crate) fn is_key_time(t: DateTime<Utc>) -> bool {
    // What `rfc3339_secs` checks before it writes anything (a test holds the two together).
    t.timestamp_subsec_nanos() == 0 && (0..=9999).contains(&t.naive_utc().year())
}

/// Whether `s` is the key time of `t` ([`ts`]), without allocating.
pub(crate) fn is_ts_of(s: &str, t: DateTime<Utc>) -> bool {
    let mut buf = [0u8; 20];
    match rfc3339_secs(t, &mut buf) {
        Some(x) => x == s,
        None => ts(t) == s,
    }
}

/// [`serialize_time`] of an optional time (`None` as chrono's `Option` would be: `null`).
pub(crate) fn serialize_opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&TimeRef(t)),
        None => s.serialize_none(),
    }
}

struct TimeRef<'a>(&'a DateTime<Utc>);

impl serde::Serialize for TimeRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_time(self.0, s)
    }
}

/// Parses a key time back: one in the form [`ts`] writes it read by its fixed places
/// ([`key_time`]), any other by chrono's RFC 3339 parser, which gives the same time for that form.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    key_time(s).or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)))
}

/// A time written `YYYY-MM-DDTHH:MM:SSZ` (whole seconds in UTC, as [`ts`] writes it), read by its
/// digits' places: a snapshot item's sort key is read so for every stream record, and chrono's
/// parser costs ~300 instructions a key. `None` for any other text and for a date or time that
/// does not exist (a leap second among them), which the caller leaves to chrono.
fn key_time(s: &str) -> Option<DateTime<Utc>> {
    let b: &[u8; 20] = s.as_bytes().try_into().ok()?;
    let two = |i: usize| {
        let (x, y) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
        (x < 10 && y < 10).then(|| u32::from(x) * 10 + u32::from(y))
    };
    let [_, _, _, _, b'-', _, _, b'-', _, _, b'T', _, _, b':', _, _, b':', _, _, b'Z'] = *b else {
        return None;
    };
    let year = two(0)? * 100 + two(2)?;
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, two(5)?, two(8)?)?;
    Some(date.and_hms_opt(two(11)?, two(14)?, two(17)?)?.and_utc())
}

pub fn category_pk(site: SiteId, cat: &CategoryId) -> String {
    let mut pk = String::with_capacity(8 + cat.as_str().len());
    for part in ["CAT#", site.as_str(), "#", cat.as_str()] {
        pk.push_str(part);
    }
    pk
}

pub fn snapshot_sk(t: DateTime<Utc>) -> String {
    format!("{SNAP_PREFIX}{}", ts(t))
}

pub fn product_pk(site: SiteId, id: &EntryId) -> String {
    format!("PROD#{site}#{id}")
}

pub fn event_pk(site: SiteId, cat: &CategoryId) -> String {
    let mut pk = String::with_capacity(8 + cat.as_str().len());
    for part in [EVENT_PREFIX, site.as_str(), "#", cat.as_str()] {
        pk.push_str(part);
    }
    pk
}

pub fn event_sk(t: DateTime<Utc>, kind: &str, product: &EntryId) -> String {
    let mut buf = [0u8; 20];
    match rfc3339_secs(t, &mut buf) {
        Some(at) => event_sk_at(at, kind, product),
        None => event_sk_at(&ts(t), kind, product),
    }
}

/// [`event_sk`] of a key time already written ([`ts`]): the scorer writes a snapshot's time once
/// for all its events.
pub(crate) fn event_sk_at(at: &str, kind: &str, product: &EntryId) -> String {
    let mut sk = String::with_capacity(at.len() + kind.len() + product.as_str().len() + 2);
    for part in [at, "#", kind, "#", product.as_str()] {
        sk.push_str(part);
    }
    sk
}

pub fn delivery_pk(event_pk: &str, event_sk: &str) -> String {
    format!("DLV#{event_pk}#{event_sk}")
}

pub fn delivery_sk(channel: &str, target: &str) -> String {
    format!("{channel}#{target}")
}

pub fn calibration_pk(site: SiteId, cat: &CategoryId) -> String {
    format!("CAL#{site}#{cat}")
}

pub fn token_pk(client_id: &str) -> String {
    format!("AUTH#{client_id}")
}

/// Splits `CAT#{site}#{cat}` back into its ids.
pub fn parse_category_pk(pk: &str) -> Option<(SiteId, CategoryId)> {
    // `CAT#<site>#<category>` with a known site of three letters (no `#`, no whitespace to trim)
    // read at its places, without splitting (every stream record's image has its `pk` so read);
    // else split.
    let b = pk.as_bytes();
    if let (Some(b"CAT#"), Some(b'#'), Some(site), Some(cat)) =
        (b.get(..4), b.get(7), b.get(4..7).and_then(SiteId::known), pk.get(8..))
    {
        return Some((site, CategoryId::parse(cat).ok()?));
    }
    split_category_pk(pk)
}

/// [`parse_category_pk`] by splitting the key at its `#`s.
fn split_category_pk(pk: &str) -> Option<(SiteId, CategoryId)> {
    let rest = pk.strip_prefix("CAT#")?;
    let (site, cat) = rest.split_once('#')?;
    Some((SiteId::parse(site).ok()?, CategoryId::parse(cat).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_sort_by_time() {
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let b = Utc.with_ymd_and_hms(2026, 1, 2, 13, 4, 5).unwrap();
        assert!(snapshot_sk(a) < snapshot_sk(b));
        assert_eq!(snapshot_sk(a), "SNAP#2026-01-02T03:04:05Z");
        assert_eq!(parse_ts("2026-01-02T03:04:05Z"), Some(a));
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let times = [
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 29, 13, 0, 0).unwrap() + chrono::Duration::milliseconds(250),
            Utc.with_ymd_and_hms(2026, 11, 29, 13, 0, 0).unwrap() + chrono::Duration::nanoseconds(7),
            Utc.with_ymd_and_hms(12_026, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-5, 6, 7, 8, 9, 10).unwrap(),
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap(),
            // The edges of a key time's four-digit year.
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        ];
        for t in times {
            assert_eq!(ts(t), t.to_rfc3339_opts(SecondsFormat::Secs, true), "{t:?}");
            let mut json = serde_json::Serializer::new(Vec::new());
            serialize_time(&t, &mut json).unwrap();
            assert_eq!(json.into_inner(), serde_json::to_vec(&t).unwrap(), "{t:?}");
            let mut json = serde_json::Serializer::new(Vec::new());
            serialize_opt_time(&Some(t), &mut json).unwrap();
            assert_eq!(json.into_inner(), serde_json::to_vec(&Some(t)).unwrap(), "{t:?}");
            assert_eq!(serde_json::Value::String(time_string(t)), serde_json::to_value(t).unwrap(), "{t:?}");
            assert!(is_ts_of(&ts(t), t) && !is_ts_of(&ts(t + chrono::Duration::seconds(1)), t), "{t:?}");
            // An event's sort key read past its time as splitting it at its first '#' does.
            let later = ts(t + chrono::Duration::seconds(1));
            for rest in ["", "entered_top_10#MLB1", "#", "x"] {
                let plain = |key: &str| key.split_once('#').filter(|(at, _)| *at == ts(t)).map(|(_, r)| r.to_string());
                for key in [format!("{}#{rest}", ts(t)), format!("{later}#{rest}"), format!("{}{rest}", ts(t))] {
                    assert_eq!(after_ts(&key, t).map(str::to_string), plain(&key), "{key:?} at {t:?}");
                }
            }
            assert_eq!(is_key_time(t), parse_ts(&ts(t)) == Some(t), "{t:?}");
        }
        let id = EntryId::parse("MLB12").unwrap();
        assert_eq!(event_sk(times[0], "climber", &id), "2026-01-02T03:04:05Z#climber#MLB12");
        assert_eq!(event_pk(SiteId::MLA, &CategoryId::parse("MLA5").unwrap()), "EVT#MLA#MLA5");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A key time read by its fixed places (`key_time`) is the time chrono's RFC 3339 parser
        /// reads, and `parse_ts` reads what chrono reads: key times over the four-digit years, and
        /// text in their shape with digits out of range (month 13, day 31 of a short month, 24 h,
        /// a leap second), another byte at any place, or a byte more or fewer.
        #[test]
        fn key_times_read_as_chrono_reads_them(
            secs in -62_167_219_200i64..253_402_300_800,
            fields in (0u32..10_000, 0u32..100, 0u32..100, 0u32..100, 0u32..100, 0u32..100),
            edit in proptest::option::of((0usize..22, proptest::sample::select(b"0123456789-T:Z tz+.,".to_vec()))),
            cut in 0usize..3,
        ) {
            let (y, mo, d, h, mi, sec) = fields;
            let chrono = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc));
            let written = ts(DateTime::from_timestamp(secs, 0).unwrap());
            let shaped = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}Z");
            for text in [written, shaped] {
                let mut bytes = text.clone().into_bytes();
                if let Some((at, c)) = edit {
                    match at.checked_sub(bytes.len()) {
                        None => bytes[at] = c,
                        Some(_) => bytes.push(c),
                    }
                }
                if cut == 2 {
                    bytes.pop();
                }
                let edited = String::from_utf8(bytes).unwrap();
                for s in [&text, &edited] {
                    let fast = key_time(s);
                    proptest::prop_assert!(fast.is_none() || fast == chrono(s), "{:?}: {:?} {:?}", s, fast, chrono(s));
                    proptest::prop_assert_eq!(parse_ts(s), chrono(s), "{:?}", s);
                }
                // The form `ts` writes is read by its places, not left to chrono.
                if chrono(&text).is_some() && text.len() == 20 && !text.contains(":60Z") {
                    proptest::prop_assert!(key_time(&text).is_some(), "{:?}", text);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A category key read at its places (`parse_category_pk`) is the key split at its `#`s:
        /// known and unknown sites in any case, sites of other lengths, whitespace, `#` anywhere,
        /// categories valid or not.
        #[test]
        fn category_keys_read_at_their_places_as_split(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "CAT#", "CAT", "#", "MLB", "mla", "MlA", "XYZ", "ML", "MLBB", " ", "1055", "MLB1055", "0", "é", "",
                ]),
                0..6,
            ),
        ) {
            let pk: String = pieces.concat();
            proptest::prop_assert_eq!(parse_category_pk(&pk), split_category_pk(&pk), "{:?}", pk);
            let pk = format!("CAT#{pk}");
            proptest::prop_assert_eq!(parse_category_pk(&pk), split_category_pk(&pk), "{:?}", pk);
        }
    }

    #[test]
    fn category_pk_round_trip() {
        let c = CategoryId::parse("MLB1055").unwrap();
        let pk = category_pk(SiteId::MLB, &c);
        assert_eq!(pk, "CAT#MLB#MLB1055");
        assert_eq!(parse_category_pk(&pk), Some((SiteId::MLB, c)));
        assert_eq!(parse_category_pk("PROD#MLB#X"), None);
    }
}

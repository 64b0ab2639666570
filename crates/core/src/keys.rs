//! The single-table keys of DESIGN §4, built in one place so every store agrees on them.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | snapshot | `CAT#{site}#{cat}` | `SNAP#{rfc3339}` |
//! | latest ranking | `CAT#{site}#{cat}` | `LATEST` |
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

use chrono::{DateTime, SecondsFormat, Utc};

use crate::ids::{CategoryId, EntryId, SiteId};

pub const SNAP_PREFIX: &str = "SNAP#";
pub const LATEST: &str = "LATEST";
pub const STATE: &str = "STATE";
pub const META: &str = "META";
pub const RANKCURVE: &str = "RANKCURVE";
pub const TOKEN: &str = "TOKEN";

/// The attribute that DynamoDB's TTL reads (epoch seconds).
pub const TTL_ATTR: &str = "expires_at";

/// A time as it appears in keys.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a key time back.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

pub fn category_pk(site: SiteId, cat: &CategoryId) -> String {
    format!("CAT#{site}#{cat}")
}

pub fn snapshot_sk(t: DateTime<Utc>) -> String {
    format!("{SNAP_PREFIX}{}", ts(t))
}

pub fn product_pk(site: SiteId, id: &EntryId) -> String {
    format!("PROD#{site}#{id}")
}

pub fn event_pk(site: SiteId, cat: &CategoryId) -> String {
    format!("EVT#{site}#{cat}")
}

pub fn event_sk(t: DateTime<Utc>, kind: &str, product: &EntryId) -> String {
    format!("{}#{kind}#{product}", ts(t))
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
    fn category_pk_round_trip() {
        let c = CategoryId::parse("MLB1055").unwrap();
        let pk = category_pk(SiteId::MLB, &c);
        assert_eq!(pk, "CAT#MLB#MLB1055");
        assert_eq!(parse_category_pk(&pk), Some((SiteId::MLB, c)));
        assert_eq!(parse_category_pk("PROD#MLB#X"), None);
    }
}

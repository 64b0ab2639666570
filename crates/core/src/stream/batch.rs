//! The trend-scorer's batch body (`{"Records": [...]}`, the DynamoDB Streams event) read in one pass
//! over its text, without serde_json.
//!
//! Through serde_json a record's new image was read twice: serde_json's pass validated it and kept
//! it as a [`RawValue`](serde_json::value::RawValue) (a copy), then [`RecordText::new_snapshot`] read
//! the copy into the snapshot; in the Lambda the runtime's pass also tracked each key's path
//! (`serde_path_to_error`). [`read_event`] reads the body once: the new image of a snapshot insert
//! in the form the snapshot item is written in is read into the snapshot where it lies
//! ([`SnapshotItem::read_image`]), everything else is skipped and validated as serde_json validates
//! what it ignores ([`Scan::skip_value`]), and the parts a record is read from are kept as places in
//! the text ([`BatchRecord::text`]), so every record is then read by the same code as a
//! [`super::RawRecord`]: same snapshot, same `Ok(None)`, same error text.
//!
//! It never takes a body serde_json would refuse or read differently: at anything it is unsure of
//! (text that is not UTF-8 or not JSON, a field twice, which the derive refuses, escapes in the
//! names, event names and sequence numbers it reads, a value of another type than the derive's,
//! nesting deeper than [`crate::ddb_json::MAX_DEPTH`], anything after the body) it returns `None`
//! for the whole body, and the caller reads it with serde_json ([`super::RawEvent`]) as before,
//! which gives the records or the error.

use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use crate::ddb_json::Scan;
use crate::ids::SiteId;
use crate::pipeline::is_snapshot_key;
use crate::signals::SnapshotItem;
use crate::snapshot::Snapshot;

use super::{plain_keys_at, RecordText};

/// A record of a batch read by [`read_event`] (or [`read_record`]): the places of its parts in the
/// body's text `B` (shared by the batch's records, or one record's JSON borrowed), and its snapshot
/// when the pass read it.
#[derive(Debug)]
pub struct BatchRecord<B = Arc<str>> {
    body: B,
    event_name: Range<usize>,
    keys: Option<Range<usize>>,
    new_image: Option<Range<usize>>,
    sequence: Option<Range<usize>>,
    /// The new image's snapshot, when the record is the insert of a snapshot item whose keys are in
    /// the plain form and whose image the pass read ([`SnapshotItem::read_image`]): what
    /// [`RecordText::snapshot_insert`] gives for it. Taken by the first
    /// [`crate::pipeline::SnapshotRecord::snapshot_insert`]; a later one reads the image again.
    snapshot: Mutex<Option<Snapshot>>,
}

impl<B: AsRef<str>> BatchRecord<B> {
    /// The record's parts, as a [`super::RawRecord`] of the same text gives them.
    pub fn text(&self) -> RecordText<'_> {
        let body = self.body.as_ref();
        let part = |r: &Option<Range<usize>>| r.clone().and_then(|r| body.get(r));
        RecordText {
            event_name: body.get(self.event_name.clone()).unwrap_or_default(),
            keys: part(&self.keys),
            new_image: part(&self.new_image),
            sequence: part(&self.sequence),
        }
    }

    /// The snapshot the pass read, if it did and nothing took it yet.
    pub(crate) fn take_snapshot(&self) -> Option<Snapshot> {
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Reads a batch body (`{"Records": [...]}`), as serde_json reads it into a
/// [`super::RawEvent`]: its records, or `None` when the body is not in the form this reader is sure
/// of (see the module's doc), and the caller reads it with serde_json.
pub fn read_event(body: &[u8]) -> Option<Vec<BatchRecord>> {
    let body: Arc<str> = Arc::from(std::str::from_utf8(body).ok()?);
    let mut s = Scan::new(&body);
    let mut records: Option<Vec<Parts>> = None;
    s.members(|s, name| {
        match name {
            "Records" if records.is_none() => {
                let mut parts = Vec::new();
                s.eat(b'[')?;
                if s.eat(b']').is_none() {
                    loop {
                        parts.push(read_parts(s, 2)?);
                        s.ws();
                        if !s.take(b',') {
                            s.take(b']').then_some(())?;
                            break;
                        }
                    }
                }
                records = Some(parts);
            }
            "Records" => return None,
            _ => s.skip_value(1)?,
        }
        Some(())
    })?;
    s.end()?;
    Some(records.unwrap_or_default().into_iter().map(|p| p.record(Arc::clone(&body))).collect())
}

/// Reads one record's JSON as serde_json reads it into a [`super::RawRecord`] (`None` as
/// [`read_event`] gives it).
pub fn read_record(json: &str) -> Option<BatchRecord<&str>> {
    let mut s = Scan::new(json);
    let parts = read_parts(&mut s, 0)?;
    s.end()?;
    Some(parts.record(json))
}

/// A record as read: the places of its parts.
#[derive(Default)]
struct Parts {
    event_name: Option<Range<usize>>,
    keys: Option<Range<usize>>,
    /// Whether the keys are in the plain form and a snapshot item's.
    snapshot_keys: bool,
    /// The site the keys' `pk` names, when they are a snapshot item's.
    site: Option<SiteId>,
    new_image: Option<Range<usize>>,
    sequence: Option<Range<usize>>,
    snapshot: Option<Snapshot>,
}

impl Parts {
    fn record<B>(self, body: B) -> BatchRecord<B> {
        BatchRecord {
            body,
            event_name: self.event_name.unwrap_or_default(),
            keys: self.keys,
            new_image: self.new_image,
            sequence: self.sequence,
            snapshot: Mutex::new(self.snapshot),
        }
    }
}

/// Whitespace, then a string without escapes: its place (between the quotes).
fn plain_str(s: &mut Scan<'_>) -> Option<Range<usize>> {
    s.ws();
    let start = s.at() + 1;
    s.plain_str()?;
    Some(start..s.at() - 1)
}

/// Whitespace, then a value an `Option<Box<RawValue>>` takes: its place, `None` for `null`.
fn raw_value(s: &mut Scan<'_>, depth: usize) -> Option<Option<Range<usize>>> {
    s.ws();
    let start = s.at();
    s.skip_value(depth)?;
    Some((s.since(start)? != "null").then_some(start..s.at()))
}

/// Whitespace, then a value an `Option<String>` takes without escapes: its place, `None` for `null`.
fn optional_str(s: &mut Scan<'_>) -> Option<Option<Range<usize>>> {
    s.ws();
    if s.take_str("null") {
        return Some(None);
    }
    plain_str(s).map(Some)
}

/// A record's member names: the two it reads, then those Lambda (and `aws_lambda_events`) write.
const RECORD: &[&str] = &[
    "eventName",
    "dynamodb",
    "eventID",
    "eventVersion",
    "eventSource",
    "awsRegion",
    "eventSourceARN",
    "userIdentity",
    "recordFormat",
    "tableName",
];

/// A `dynamodb` change's member names: the four it reads, then the others Lambda writes.
const CHANGE: &[&str] =
    &["Keys", "NewImage", "OldImage", "SequenceNumber", "ApproximateCreationDateTime", "SizeBytes", "StreamViewType"];

/// A record (`{"eventName": ..., "dynamodb": {...}, ...}`) inside `depth` arrays and objects.
fn read_parts(s: &mut Scan<'_>, depth: usize) -> Option<Parts> {
    let mut p = Parts::default();
    let mut change = false;
    // The whole text (the parts' places are in it; `since(0)` would stop at the cursor).
    let text = s.text();
    s.members_of(RECORD, |s, i, _| {
        match i {
            0 if p.event_name.is_none() => p.event_name = Some(plain_str(s)?),
            1 if !change => {
                change = true;
                let insert = p.event_name.clone().is_none_or(|r| text.get(r) == Some("INSERT"));
                read_change(s, depth + 2, insert, &mut p)?;
            }
            0 | 1 => return None,
            _ => s.skip_value(depth + 1)?,
        }
        Some(())
    })?;
    // The snapshot is the record's only when it is the insert of a snapshot item (as
    // `RecordText::snapshot_insert` finds: the event name, then the keys in the plain form).
    let event_name = p.event_name.clone().and_then(|r| text.get(r));
    if event_name != Some("INSERT") || !p.snapshot_keys {
        p.snapshot = None;
    }
    Some(p)
}

/// A record's `dynamodb` (`{"Keys": ..., "NewImage": ..., "SequenceNumber": ..., ...}`), itself
/// inside `depth` arrays and objects, into `p`; `insert` when the record may be an insert (its
/// event name, if read before, is `INSERT`).
fn read_change(s: &mut Scan<'_>, depth: usize, insert: bool, p: &mut Parts) -> Option<()> {
    let (mut keys, mut new_image, mut old_image, mut sequence) = (false, false, false, false);
    s.members_of(CHANGE, |s, i, _| {
        let seen = match i {
            0 => &mut keys,
            1 => &mut new_image,
            2 => &mut old_image,
            3 => &mut sequence,
            _ => return s.skip_value(depth),
        };
        if std::mem::replace(seen, true) {
            return None;
        }
        match i {
            0 => {
                s.ws();
                let start = s.at();
                match plain_keys_at(s) {
                    Some((pk, sk)) => {
                        p.snapshot_keys = is_snapshot_key(pk, sk);
                        // `CAT#<site>#…`: the image's site, as far as the keys tell.
                        p.site = pk.as_bytes().get(4..7).and_then(SiteId::known);
                        p.keys = Some(start..s.at());
                    }
                    None => {
                        s.rewind(start);
                        p.keys = raw_value(s, depth)?;
                    }
                }
            }
            2 => _ = raw_value(s, depth)?,
            3 => p.sequence = optional_str(s)?,
            _ => {
                s.ws();
                let start = s.at();
                // Read into the snapshot unless the record is known not to be a snapshot insert.
                let wanted = insert && (!keys || p.snapshot_keys);
                let site = p.site.unwrap_or(SiteId::MLB);
                match wanted.then(|| SnapshotItem::read_image(s, site)).flatten() {
                    Some((_, _, snapshot, _)) => p.snapshot = Some(snapshot),
                    None => {
                        s.rewind(start);
                        s.skip_value(depth)?;
                    }
                }
                p.new_image = (s.since(start)? != "null").then_some(start..s.at());
            }
        }
        Some(())
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;
    use crate::ids::{CategoryId, EntryId, EntryType, Position, SiteId};
    use crate::pipeline::SnapshotRecord;
    use crate::snapshot::SnapshotEntry;
    use crate::store::Item;
    use crate::stream::{encode, Change, ChangeKind, RawEvent, RawRecord};

    /// How a body is written: object members in an order of their own (`order` picks it), compact or
    /// with whitespace, and with some characters of strings written as `\u` escapes.
    #[derive(Debug, Clone, Copy)]
    struct Style {
        order: u64,
        pretty: bool,
        escapes: bool,
    }

    fn write(v: &Value, style: Style, depth: usize, out: &mut String) {
        let (nl, pad) = if style.pretty { ("\n", "  ".repeat(depth + 1)) } else { ("", String::new()) };
        match v {
            Value::Object(m) => {
                let mut members: Vec<_> = m.iter().collect();
                // A rotation and maybe a reversal, varied by depth and size.
                let n = members.len().max(1);
                members.rotate_left((style.order as usize + depth * 7) % n);
                if (style.order >> depth) & 1 == 1 {
                    members.reverse();
                }
                out.push('{');
                for (i, (k, v)) in members.into_iter().enumerate() {
                    out.push_str(if i > 0 { "," } else { "" });
                    out.push_str(nl);
                    out.push_str(&pad);
                    write(&Value::String(k.clone()), style, depth + 1, out);
                    out.push_str(if style.pretty { ": " } else { ":" });
                    write(v, style, depth + 1, out);
                }
                if !m.is_empty() && style.pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    out.push_str(if i > 0 { "," } else { "" });
                    out.push_str(nl);
                    out.push_str(&pad);
                    write(v, style, depth + 1, out);
                }
                if !a.is_empty() && style.pretty {
                    out.push_str(" \t\r\n");
                }
                out.push(']');
            }
            Value::String(s) if style.escapes && s.contains(['#', 'T', 'N']) => {
                // `#`, `T` and `N` written as escapes: keys, event names, type tags and names.
                out.push('"');
                for c in serde_json::to_string(s).unwrap_or_default().trim_matches('"').chars() {
                    match c {
                        '#' | 'T' | 'N' => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            v => out.push_str(&v.to_string()),
        }
    }

    fn entry() -> impl Strategy<Value = SnapshotEntry> {
        (
            (
                1u64..10_000_000_000,
                prop_oneof![Just(EntryType::Item), Just(EntryType::Product), Just(EntryType::UserProduct)],
            ),
            proptest::option::of("\\PC{0,16}"),
            proptest::option::of(prop_oneof![
                0.0f64..1e6,
                (0u64..100_000).prop_map(|n| n as f64),
                Just(219.35000000000002)
            ]),
            proptest::option::of(0u64..1_000_000),
        )
            .prop_map(|((n, kind), title, price, reviews)| {
                let id = if kind == EntryType::UserProduct { format!("MLBU{n}") } else { format!("MLB{n}") };
                let mut e = SnapshotEntry::bare(Position::new(1).unwrap(), EntryId::parse(&id).unwrap(), kind);
                e.title = title;
                e.price = price;
                e.currency = price.map(|_| "BRL".into());
                e.reviews_total = reviews;
                e
            })
    }

    fn snapshot() -> impl Strategy<Value = Snapshot> {
        (proptest::collection::vec(entry(), 0..8), 1000u32..1100, 0i64..1_000_000).prop_map(
            |(mut entries, cat, hours)| {
                for (i, e) in entries.iter_mut().enumerate() {
                    e.position = Position::new(i as i64 + 1).unwrap();
                }
                Snapshot {
                    site: SiteId::MLB,
                    category: CategoryId::parse(&format!("MLB{cat}")).unwrap(),
                    taken_at: Utc.timestamp_opt(1_700_000_000 + hours * 3600, 0).unwrap(),
                    entries,
                    fetch: Default::default(),
                }
            },
        )
    }

    /// A record of the kinds a stream carries, as Lambda's JSON.
    fn record() -> impl Strategy<Value = Value> {
        let item = prop_oneof![
            4 => snapshot().prop_map(|s| SnapshotItem::new(s, 400).to_item().unwrap()),
            1 => "[a-z]{0,6}".prop_map(|t| {
                let attrs = json!({"id": "MLB1", "title": t, "n": 3}).as_object().unwrap().clone();
                Item::new("PROD#MLB#MLB1", "META", attrs)
            }),
        ];
        let kind =
            prop_oneof![6 => Just(ChangeKind::Insert), 1 => Just(ChangeKind::Modify), 1 => Just(ChangeKind::Remove)];
        (item, kind, 0u64..1000, 0u8..10).prop_map(|(item, kind, seq, twist)| {
            let change = Change {
                kind,
                pk: item.pk.clone(),
                sk: item.sk.clone(),
                new: (kind != ChangeKind::Remove).then(|| item.clone()),
                old: (kind != ChangeKind::Insert).then_some(item),
                sequence: format!("{seq:021}"),
            };
            let at = Utc.timestamp_opt(1_796_040_000, 0).unwrap();
            let mut v = serde_json::to_value(encode(&change, "meli-radar", "sa-east-1", at).unwrap()).unwrap();
            // Now and then a record as no writer sends it, but serde_json reads.
            match twist {
                0 => v["dynamodb"]["NewImage"] = Value::Null,
                1 => v["dynamodb"]["Extra"] = json!([1.5e3, -0.25, true, null, {"a": [{}], "b": "\u{1}\u{e9}"}]),
                2 => v["eventName"] = json!("UPSERT"),
                3 => _ = v["dynamodb"].as_object_mut().map(|m| m.remove("Keys")),
                // Keys that are not the image's.
                4 => v["dynamodb"]["Keys"] = json!({"pk": {"S": "PROD#MLB#MLB1"}, "sk": {"S": "META"}}),
                _ => {}
            }
            v
        })
    }

    fn body() -> impl Strategy<Value = (String, bool)> {
        (proptest::collection::vec(record(), 1..=5), any::<u64>(), any::<bool>(), proptest::bool::weighted(0.15))
            .prop_map(|(records, order, pretty, escapes)| {
                let mut out = String::new();
                write(&json!({"Records": records, "other": {"n": 1}}), Style { order, pretty, escapes }, 0, &mut out);
                (out, escapes)
            })
    }

    /// What the fast reader's records give, and what serde_json's give: the same.
    fn agree<B: AsRef<str>>(fast: &[BatchRecord<B>], slow: &[RawRecord]) -> Result<(), TestCaseError> {
        prop_assert_eq!(fast.len(), slow.len());
        for (f, s) in fast.iter().zip(slow) {
            prop_assert_eq!(f.text(), s.text());
            prop_assert_eq!(SnapshotRecord::sequence(f), SnapshotRecord::sequence(s));
            prop_assert_eq!(f.snapshot_insert(), s.snapshot_insert());
            // Again: the snapshot read by the pass is gone, the image is read again.
            prop_assert_eq!(f.snapshot_insert(), s.snapshot_insert());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Batches of snapshot inserts, modifications, removals and other items, written compact or
        /// pretty with members in any order: the fast reader reads every one that has no escapes in
        /// what it reads, and its records give what serde_json's give; each record alone too.
        #[test]
        fn a_batch_reads_as_serde_json_reads_it((text, escapes) in body()) {
            let slow: RawEvent = serde_json::from_str(&text).unwrap();
            match read_event(text.as_bytes()) {
                Some(fast) => agree(&fast, &slow.records)?,
                None => prop_assert!(escapes, "declined {}", text),
            }
            let v: Value = serde_json::from_str(&text).unwrap();
            for r in v["Records"].as_array().unwrap() {
                let one = r.to_string();
                let slow: RawRecord = serde_json::from_str(&one).unwrap();
                agree(&[read_record(&one).unwrap()], &[slow])?;
            }
        }

        /// A valid body with a byte flipped, deleted or inserted, cut short, or a member written
        /// twice: the reader declines it, or serde_json takes it too and both read the same.
        #[test]
        fn a_damaged_batch_is_declined_or_read_as_serde_json_reads_it(
            (text, _) in body(),
            at in any::<proptest::sample::Index>(),
            byte in prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), Just(b','), Just(b'}'), Just(b']'), Just(b'0'), Just(b'-'), Just(b'.'), Just(b'e'), Just(b' '), Just(0x1f)],
            how in 0u8..5,
        ) {
            let mut b = text.into_bytes();
            let i = at.index(b.len());
            match how {
                0 => b[i] = byte,
                1 => _ = b.remove(i),
                2 => b.insert(i, byte),
                3 => b.truncate(i),
                _ => {
                    // A member written twice: the one starting at the first quote from `i`.
                    let s = String::from_utf8(b.clone()).unwrap();
                    // From the first character boundary at or after `i` (the body may hold
                    // characters of several bytes: slicing inside one panics).
                    let from = (i..=s.len()).find(|k| s.is_char_boundary(*k)).unwrap_or(s.len());
                    for name in ["\"eventName\"", "\"dynamodb\"", "\"Keys\"", "\"NewImage\"", "\"OldImage\"", "\"SequenceNumber\"", "\"Records\""] {
                        if let Some(start) = s[from..].find(name).map(|k| k + from) {
                            let dup = format!("{name}: null, ");
                            b.splice(start..start, dup.bytes());
                            break;
                        }
                    }
                }
            }
            if let Some(fast) = read_event(&b) {
                let slow = serde_json::from_slice::<RawEvent>(&b);
                prop_assert!(slow.is_ok(), "read what serde_json refuses: {:?}", String::from_utf8_lossy(&b));
                agree(&fast, &slow.unwrap().records)?;
            }
        }
    }

    #[test]
    fn a_snapshot_insert_is_read_in_the_pass_in_either_member_order() {
        // Lambda writes `eventName` before `dynamodb` (events/trend-scorer/*.json); the codec here
        // writes it after. Either way the pass keeps the snapshot it read, and the handler does
        // not read the image's text again.
        let id = EntryId::parse("MLB123").unwrap();
        let snapshot = Snapshot {
            site: SiteId::MLB,
            category: CategoryId::parse("MLB1055").unwrap(),
            taken_at: Utc.timestamp_opt(1_796_040_000, 0).unwrap(),
            entries: vec![SnapshotEntry::bare(Position::new(1).unwrap(), id, EntryType::Product)],
            fetch: Default::default(),
        };
        let item = SnapshotItem::new(snapshot.clone(), 400).to_item().unwrap();
        let change = Change::insert(item, "7".into());
        let at = Utc.timestamp_opt(1_796_040_000, 0).unwrap();
        let v = serde_json::to_value(encode(&change, "meli-radar", "sa-east-1", at).unwrap()).unwrap();
        let Value::Object(m) = v else { panic!("a record is an object") };
        let (name, rest): (Vec<_>, Vec<_>) = m.into_iter().partition(|(k, _)| k == "eventName");
        for members in [[name.clone(), rest.clone()].concat(), [rest, name].concat()] {
            let record = Value::Object(members.into_iter().collect()).to_string();
            let one = read_record(&record).unwrap();
            let batch = read_event(format!(r#"{{"Records":[{record}]}}"#).as_bytes()).unwrap();
            for taken in [one.take_snapshot(), batch[0].take_snapshot()] {
                assert_eq!(taken.as_ref(), Some(&snapshot), "{record}");
            }
        }
    }

    #[test]
    fn bodies_it_declines_and_bodies_it_reads() {
        let insert =
            r#"{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"a"},"sk":{"S":"b"}},"SequenceNumber":"7"}}"#;
        for declined in [
            format!("[{insert}]"),
            format!(r#"{{"Records":[{insert}]}} x"#),
            format!(r#"{{"Records":[{insert}],"Records":[]}}"#),
            format!(r#"{{"Rec\u006frds":[{insert}]}}"#),
            r#"{"Records":null}"#.to_string(),
            r#"{"Records":[[]]}"#.to_string(),
            r#"{"Records":[{"eventName":null}]}"#.to_string(),
            r#"{"Records":[{"eventName":"INSERT","eventName":"INSERT"}]}"#.to_string(),
            r#"{"Records":[{"dynamodb":{"SequenceNumber":7}}]}"#.to_string(),
            r#"{"Records":[{"dynamodb":{"SequenceNumber":"\u0037"}}]}"#.to_string(),
            r#"{"Records":[{"dynamodb":{"Keys":null,"Keys":null}}]}"#.to_string(),
            r#"{"Records":[{"x":"a	b"}]}"#.to_string(),
            r#"{"Records":[{"x":"\x"}]}"#.to_string(),
            r#"{"Records":[{"x":01}]}"#.to_string(),
            r#"{"Records":[{"x":1.}]}"#.to_string(),
            r#"{"Records":[{"x":tru}]}"#.to_string(),
            format!(r#"{{"Records":[{{"x":{}}}]}}"#, "[".repeat(80) + &"]".repeat(80)),
        ] {
            assert!(read_event(declined.as_bytes()).is_none(), "{declined}");
        }
        assert!(read_event(b"{\"Records\":[{\"x\":\"\xff\"}]}").is_none());
        for read in [
            r#"{}"#.to_string(),
            r#" { "Records" : [ ] } "#.to_string(),
            format!(r#"{{"Records":[{insert},{{}}],"x":{{"y":[1,-2.5e-3,"\u00e9\n",null,true,false]}}}}"#),
            r#"{"Records":[{"dynamodb":{"Keys":null,"NewImage":null,"SequenceNumber":null,"OldImage":"x"}}]}"#
                .to_string(),
        ] {
            let fast = read_event(read.as_bytes()).unwrap_or_else(|| panic!("{read}"));
            let slow: RawEvent = serde_json::from_str(&read).unwrap();
            agree(&fast, &slow.records).unwrap();
        }
    }
}

//! The stream-record codec: DynamoDB Streams records (`aws_lambda_events` types, no SDK) to and from
//! store [`Item`]s. The embedded store's change feed encodes with it and both Lambdas decode with it, so
//! the local runner and AWS read the same shapes.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::signals::SnapshotItem;
use crate::snapshot::Snapshot;
use crate::store::Item;

pub mod batch;

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

impl ChangeKind {
    pub fn event_name(self) -> &'static str {
        match self {
            ChangeKind::Insert => "INSERT",
            ChangeKind::Modify => "MODIFY",
            ChangeKind::Remove => "REMOVE",
        }
    }
}

/// A decoded stream record.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    pub pk: String,
    pub sk: String,
    pub new: Option<Item>,
    pub old: Option<Item>,
    /// The stream sequence number: the id reported back in partial batch failures.
    pub sequence: String,
}

impl Change {
    /// The insert of `item`, with its stream sequence number.
    pub fn insert(item: Item, sequence: String) -> Change {
        let (pk, sk) = (item.pk.clone(), item.sk.clone());
        Change { kind: ChangeKind::Insert, pk, sk, new: Some(item), old: None, sequence }
    }
}

/// Why a record could not be decoded. Always permanent: the same record will never decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("unknown event name {0:?}")]
    UnknownEventName(String),
    #[error("record has no {0}")]
    Missing(&'static str),
    #[error("image does not decode: {0}")]
    BadImage(String),
}

fn image_to_item(image: &serde_dynamo::Item) -> Result<Option<Item>, StreamError> {
    if image.is_empty() {
        return Ok(None);
    }
    let mut attrs: Map<String, Value> =
        serde_dynamo::from_item(image.clone()).map_err(|e| StreamError::BadImage(e.to_string()))?;
    let pk = match attrs.remove("pk") {
        Some(Value::String(s)) => s,
        _ => return Err(StreamError::Missing("string pk in the image")),
    };
    let sk = match attrs.remove("sk") {
        Some(Value::String(s)) => s,
        _ => return Err(StreamError::Missing("string sk in the image")),
    };
    Ok(Some(Item { pk, sk, attrs: attrs.into() }))
}

/// Decodes one record of a DynamoDB stream event.
pub fn decode(record: &EventRecord) -> Result<Change, StreamError> {
    let kind = match record.event_name.as_str() {
        "INSERT" => ChangeKind::Insert,
        "MODIFY" => ChangeKind::Modify,
        "REMOVE" => ChangeKind::Remove,
        other => return Err(StreamError::UnknownEventName(other.to_string())),
    };
    let keys: Map<String, Value> =
        serde_dynamo::from_item(record.change.keys.clone()).map_err(|e| StreamError::BadImage(e.to_string()))?;
    let key = |name: &'static str| match keys.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(StreamError::Missing(name)),
    };
    let (pk, sk) = (key("pk")?, key("sk")?);
    let new = image_to_item(&record.change.new_image)?;
    let old = image_to_item(&record.change.old_image)?;
    if kind != ChangeKind::Remove && new.is_none() {
        return Err(StreamError::Missing("NewImage"));
    }
    Ok(Change { kind, pk, sk, new, old, sequence: record.change.sequence_number.clone().unwrap_or_default() })
}

fn dynamo_json(item: &Item) -> Value {
    let mut m = item.attrs.clone().into_map();
    m.insert("pk".into(), Value::String(item.pk.clone()));
    m.insert("sk".into(), Value::String(item.sk.clone()));
    // A JSON object always converts; an empty image stands for a conversion that cannot happen.
    serde_dynamo::to_item::<_, serde_dynamo::Item>(Value::Object(m))
        .ok()
        .and_then(|i| serde_json::to_value(i).ok())
        .unwrap_or_else(|| json!({}))
}

/// Builds the record DynamoDB Streams would deliver for a change (view type NEW_AND_OLD_IMAGES), in the
/// wire JSON shape, then parses it into the `aws_lambda_events` type exactly as Lambda would.
pub fn encode(change: &Change, table: &str, region: &str, at: DateTime<Utc>) -> Result<EventRecord, StreamError> {
    let keys = dynamo_json(&Item::new(&change.pk, &change.sk, Map::new()));
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": at.timestamp(),
        "Keys": keys,
        "SequenceNumber": change.sequence,
        "SizeBytes": 0,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    let mut size = change.pk.len() + change.sk.len();
    if let Some(new) = &change.new {
        let img = dynamo_json(new);
        size += img.to_string().len();
        dynamodb["NewImage"] = img;
    }
    if let Some(old) = &change.old {
        let img = dynamo_json(old);
        size += img.to_string().len();
        dynamodb["OldImage"] = img;
    }
    dynamodb["SizeBytes"] = json!(size);
    let record = json!({
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventID": format!("{}-{}", table, change.sequence),
        "eventName": change.kind.event_name(),
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "eventSourceARN": format!("arn:aws:dynamodb:{region}:000000000000:table/{table}/stream/local"),
    });
    serde_json::from_value(record).map_err(|e| StreamError::BadImage(e.to_string()))
}

/// Wraps records in the event a Lambda handler receives.
pub fn event(records: Vec<EventRecord>) -> Result<Event, StreamError> {
    let records: Vec<Value> = records.iter().filter_map(|r| serde_json::to_value(r).ok()).collect();
    serde_json::from_value(json!({ "Records": records })).map_err(|e| StreamError::BadImage(e.to_string()))
}

/// A stream record as Lambda delivers it, with its item images kept as JSON text and decoded only
/// when needed, straight into the item type ([`crate::ddb_json`]). The trend-scorer reads its
/// batches this way: [`decode`] on an [`EventRecord`] goes through two intermediate trees per image,
/// which cost more than scoring the snapshot. Fields Lambda sends that the scorer does not use are
/// skipped; missing ones are errors of that record only, not of the batch.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RawRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    #[serde(default)]
    pub dynamodb: RawChange,
}

/// The `dynamodb` part of a [`RawRecord`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RawChange {
    #[serde(rename = "Keys", default)]
    pub keys: Option<Box<serde_json::value::RawValue>>,
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<Box<serde_json::value::RawValue>>,
    #[serde(rename = "OldImage", default)]
    pub old_image: Option<Box<serde_json::value::RawValue>>,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: Option<String>,
}

/// A batch of [`RawRecord`]s: the DynamoDB Streams event as a Lambda handler receives it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RawEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<RawRecord>,
}

#[derive(serde::Deserialize)]
struct RawKeys {
    pk: Option<String>,
    sk: Option<String>,
}

/// The keys `{"pk": {"S": "…"}, "sk": {"S": "…"}}` (in either order) read in one pass, when they are
/// just that and need no unescaping; `None` for anything else, which [`crate::ddb_json::from_image`]
/// reads (as [`RawKeys`]), giving the keys or the error.
fn plain_keys(json: &str) -> Option<(&str, &str)> {
    let mut s = crate::ddb_json::Scan::new(json);
    let keys = plain_keys_at(&mut s)?;
    s.end()?;
    Some(keys)
}

/// [`plain_keys`] on the keys at the cursor of `s`, leaving the cursor after them.
pub(crate) fn plain_keys_at<'a>(s: &mut crate::ddb_json::Scan<'a>) -> Option<(&'a str, &'a str)> {
    let (mut pk, mut sk) = (None, None);
    s.members_of(&["pk", "sk"], |s, i, _| {
        let key = match i {
            0 if pk.is_none() => &mut pk,
            1 if sk.is_none() => &mut sk,
            _ => return None,
        };
        *key = Some(s.typed_str("S")?);
        Some(())
    })?;
    Some((pk?, sk?))
}

impl RawRecord {
    /// The record's parts as text, which [`RecordText`] reads.
    pub fn text(&self) -> RecordText<'_> {
        fn raw(v: &Option<Box<serde_json::value::RawValue>>) -> Option<&str> {
            v.as_deref().map(serde_json::value::RawValue::get)
        }
        RecordText {
            event_name: &self.event_name,
            keys: raw(&self.dynamodb.keys),
            new_image: raw(&self.dynamodb.new_image),
            sequence: self.dynamodb.sequence_number.as_deref(),
        }
    }

    pub fn sequence(&self) -> &str {
        self.text().sequence()
    }

    pub fn kind(&self) -> Result<ChangeKind, StreamError> {
        self.text().kind()
    }

    /// The item's `pk` and `sk`.
    pub fn keys(&self) -> Result<(String, String), StreamError> {
        self.text().keys()
    }

    /// The new image decoded into `T`, `None` when the record has none.
    pub fn new_image<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, StreamError> {
        self.text().new_image()
    }
}

/// The parts of a stream record the scorer reads, as the record's text holds them: the event name
/// and sequence number unescaped, the images and keys as their JSON. A [`RawRecord`] gives them
/// ([`RawRecord::text`]), and so does the batch reader's [`batch::BatchRecord`], which reads the
/// body without serde_json: both read a record through the same code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordText<'a> {
    pub event_name: &'a str,
    pub keys: Option<&'a str>,
    pub new_image: Option<&'a str>,
    pub sequence: Option<&'a str>,
}

impl<'a> RecordText<'a> {
    pub fn sequence(&self) -> &'a str {
        self.sequence.unwrap_or_default()
    }

    pub fn kind(&self) -> Result<ChangeKind, StreamError> {
        match self.event_name {
            "INSERT" => Ok(ChangeKind::Insert),
            "MODIFY" => Ok(ChangeKind::Modify),
            "REMOVE" => Ok(ChangeKind::Remove),
            other => Err(StreamError::UnknownEventName(other.to_string())),
        }
    }

    /// The item's `pk` and `sk`.
    pub fn keys(&self) -> Result<(String, String), StreamError> {
        let raw = self.keys.ok_or(StreamError::Missing("Keys"))?;
        if let Some((pk, sk)) = plain_keys(raw) {
            return Ok((pk.to_string(), sk.to_string()));
        }
        let keys: RawKeys = crate::ddb_json::from_image(raw).map_err(|e| StreamError::BadImage(e.to_string()))?;
        Ok((keys.pk.ok_or(StreamError::Missing("pk"))?, keys.sk.ok_or(StreamError::Missing("sk"))?))
    }

    /// Whether the item's `pk` and `sk` satisfy `f`: [`RecordText::keys`] without copying them when
    /// they are in the plain form.
    pub fn keys_satisfy(&self, f: impl Fn(&str, &str) -> bool) -> Result<bool, StreamError> {
        if let Some((pk, sk)) = self.keys.and_then(plain_keys) {
            return Ok(f(pk, sk));
        }
        let (pk, sk) = self.keys()?;
        Ok(f(&pk, &sk))
    }

    /// The new image's snapshot, `None` when the record has none: the image read in one pass when
    /// it is in the form the snapshot item is written in ([`SnapshotItem::read_image_text`]; the
    /// trend-scorer's every record), else decoded as a [`SnapshotItem`] by [`RecordText::new_image`],
    /// which gives the snapshot or the error.
    pub fn new_snapshot(&self) -> Result<Option<Snapshot>, StreamError> {
        match self.new_image {
            Some(raw) => match SnapshotItem::read_image_text(raw) {
                Some((_, _, snapshot, _)) => Ok(Some(snapshot)),
                None => Ok(self.new_image::<SnapshotItem>()?.map(|item| item.snapshot)),
            },
            None => Ok(None),
        }
    }

    /// The new image decoded into `T`, `None` when the record has none.
    pub fn new_image<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, StreamError> {
        match self.new_image {
            None => Ok(None),
            // An empty image (`{}`) is no image, as in `decode`.
            Some(raw) if raw.strip_prefix('{').is_some_and(|rest| rest.trim_start() == "}") => Ok(None),
            Some(raw) => crate::ddb_json::from_image(raw).map(Some).map_err(|e| StreamError::BadImage(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_an_insert_through_the_wire_shape() {
        let mut attrs = crate::store::Attrs::new();
        attrs.insert("title", json!("Celular <b>"));
        attrs.insert("price", json!(1299.9));
        attrs.insert("n", json!(3));
        attrs.insert("entries", json!([{"position": 1, "id": "MLB1"}]));
        attrs.insert("none", Value::Null);
        let item = Item::new("CAT#MLB#MLB1055", "SNAP#2026-01-01T00:00:00Z", attrs);
        let change = Change {
            kind: ChangeKind::Insert,
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            new: Some(item.clone()),
            old: None,
            sequence: "000042".into(),
        };
        let rec = encode(&change, "meli-radar", "us-east-1", Utc::now()).unwrap();
        let wire = serde_json::to_value(&rec).unwrap();
        assert_eq!(wire["dynamodb"]["NewImage"]["price"], json!({"N": "1299.9"}));
        assert_eq!(wire["eventName"], json!("INSERT"));
        let back = decode(&rec).unwrap();
        assert_eq!(back, change);
    }

    #[test]
    fn rejects_bad_records() {
        let rec: EventRecord = serde_json::from_value(json!({
            "awsRegion": "us-east-1", "eventID": "1", "eventName": "UPSERT",
            "dynamodb": {"Keys": {"pk": {"S": "a"}, "sk": {"S": "b"}}, "SizeBytes": 1}
        }))
        .unwrap();
        assert!(matches!(decode(&rec), Err(StreamError::UnknownEventName(_))));
        let rec: EventRecord = serde_json::from_value(json!({
            "awsRegion": "us-east-1", "eventID": "1", "eventName": "INSERT",
            "dynamodb": {"Keys": {"pk": {"S": "a"}}, "SizeBytes": 1}
        }))
        .unwrap();
        assert_eq!(decode(&rec), Err(StreamError::Missing("sk")));
    }

    #[test]
    fn a_raw_record_reads_its_keys_and_treats_an_empty_image_as_none() {
        let rec = |image: &str| -> RawRecord {
            serde_json::from_str(&format!(
                r#"{{"eventName": "INSERT", "dynamodb": {{"Keys": {{"pk": {{"S": "a"}}, "sk": {{"S": "b"}}}},
                    "NewImage": {image}, "SequenceNumber": "7"}}}}"#
            ))
            .unwrap()
        };
        for empty in ["{}", "{ }", "{\n}"] {
            assert_eq!(rec(empty).new_image::<Value>().unwrap(), None, "{empty}");
        }
        let r = rec(r#"{"pk": {"S": "a"}, "n": {"N": "2"}}"#);
        assert_eq!(r.new_image::<Value>().unwrap(), Some(json!({"pk": "a", "n": 2})));
        assert_eq!(r.keys().unwrap(), ("a".to_string(), "b".to_string()));
        assert_eq!((r.kind().unwrap(), r.sequence()), (ChangeKind::Insert, "7"));
        // Keys read in one pass give what the general reader gives; any other form is left to it.
        for keys in [
            r#"{"pk": {"S": "a"}, "sk": {"S": "b"}}"#,
            r#"{"sk":{"S":"b"},"pk":{"S":"a"}}"#,
            r#"{"pk": {"S": "a\u0062"}, "sk": {"S": "b"}}"#,
            r#"{"pk": {"S": "a"}, "sk": {"S": "b"}, "x": {"N": "1"}}"#,
            r#"{"pk": {"S": "a"}, "sk": {"NULL": true}}"#,
            r#"{"pk": {"S": "a"}, "pk": {"S": "b"}}"#,
            r#"{"pk": {"S": "a"}}"#,
            r#"{"pk": {"N": "1"}, "sk": {"S": "b"}}"#,
            r#"{"pk": {"S": "a", "N": "1"}, "sk": {"S": "b"}}"#,
            r#"{"pk": {"S": "a"}, "sk": {"S": "b"}} x"#,
        ] {
            let general = crate::ddb_json::from_image::<RawKeys>(keys)
                .map_err(|e| StreamError::BadImage(e.to_string()))
                .and_then(|k| Ok((k.pk.ok_or(StreamError::Missing("pk"))?, k.sk.ok_or(StreamError::Missing("sk"))?)));
            let mut record = RawRecord::default();
            // (The last is not JSON: no record holds it.)
            record.dynamodb.keys = serde_json::value::RawValue::from_string(keys.to_string()).ok();
            if record.dynamodb.keys.is_some() {
                assert_eq!(record.keys(), general, "{keys}");
            }
            if let Some((pk, sk)) = plain_keys(keys) {
                assert_eq!(Ok((pk.to_string(), sk.to_string())), general, "{keys}");
            }
        }
        assert_eq!(plain_keys(r#"{"sk":{"S":"b"},"pk":{"S":"a"}}"#), Some(("a", "b")));
        let no_keys: RawRecord = serde_json::from_str(r#"{"eventName": "INSERT", "dynamodb": {}}"#).unwrap();
        assert_eq!(no_keys.keys(), Err(StreamError::Missing("Keys")));
        assert!(rec(r#"{"n": {"N": "x"}}"#).new_image::<Value>().is_err());
    }
}

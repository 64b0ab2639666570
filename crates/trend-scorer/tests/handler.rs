//! The trend-scorer's handler on the events `cargo lambda invoke` sends (`events/trend-scorer/*.json`),
//! with the in-memory store (the DynamoDB round trip is in meli-aws's moto tier).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::sync::atomic::{AtomicBool, Ordering};

use aws_lambda_events::dynamodb::Event;
use meli_core::pipeline::SnapshotRecord;
use meli_core::score_step::StateCache;
use meli_core::signals::{SignalConfig, SnapshotItem};
use meli_core::store::{Item, MemorySnapshotStore, PutCondition, PutOutcome, Query, SnapshotStore, StoreError};
use meli_core::stream::RawEvent;
use trend_scorer::{handle, handle_event, BodyLayer, Slot};

fn read_event(name: &str) -> String {
    let path = format!("{}/../../events/trend-scorer/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

/// The event as the Lambda reads it (images decoded on demand).
fn event(name: &str) -> RawEvent {
    serde_json::from_str(&read_event(name)).unwrap()
}

/// The event as `aws_lambda_events` types (what the local runner's change feed carries).
fn aws_event(name: &str) -> Event {
    serde_json::from_str(&read_event(name)).unwrap()
}

/// The names of the sample's products, as the fetcher left them in their product items (the
/// snapshot images do not carry them).
const NAMES: [(&str, &str); 3] = [
    ("MLB19615337", "Apple iPhone 15 (128 GB) - Preto"),
    ("MLB23186641", "Samsung Galaxy A55 5G 256 GB"),
    ("MLB3944576712", "Xiaomi Redmi Note 13 <b>&</b> capa"),
];

/// The table the stream comes from: its items are what the records' new images say, beside the
/// product items the fetcher wrote before them.
async fn table_of(name: &str) -> MemorySnapshotStore {
    let store = MemorySnapshotStore::new();
    for (id, title) in NAMES {
        let attrs = serde_json::json!({"id": id, "type": "PRODUCT", "first_seen": "2026-11-01T00:00:00Z",
            "resolution": "resolved", "title": title, "expires_at": 1_800_000_000});
        let item = Item::new(format!("PROD#MLB#{id}"), "META", attrs.as_object().unwrap().clone());
        store.put(item, PutCondition::Always).await.unwrap();
    }
    for r in &aws_event(name).records {
        let change = meli_core::stream::decode(r).unwrap();
        if let Some(new) = change.new {
            store.put(new, PutCondition::Always).await.unwrap();
        }
    }
    store
}

fn failures(r: &aws_lambda_events::streams::DynamoDbEventResponse) -> Vec<String> {
    r.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect()
}

#[tokio::test]
async fn inserts_are_scored_and_decode_into_the_stored_item_type() {
    let ev = event("insert");
    // The stream image decodes into the same SnapshotItem the fetcher writes, by either decoder.
    let change = meli_core::stream::decode(&aws_event("insert").records[0]).unwrap();
    let snap = SnapshotItem::from_item(change.new.as_ref().unwrap()).unwrap();
    assert_eq!(snap.snapshot.entries.len(), 4);
    assert_eq!(snap.to_item().unwrap(), *change.new.as_ref().unwrap());
    assert_eq!(ev.records[0].new_image::<SnapshotItem>().unwrap().unwrap(), snap);

    let store = table_of("insert").await;
    let cache = StateCache::default();
    let resp = handle(&ev.records, &store, &SignalConfig::default(), &cache).await;
    assert!(failures(&resp).is_empty());
    assert!(store.get("CAT#MLB#MLB1055", "SCORE").await.unwrap().is_some());
    let events = store.query(&Query::pk("EVT#MLB#MLB1055")).await.unwrap();
    let one = events.iter().find(|e| e.sk.contains("#new_number_one#MLB23186641")).expect("a new #1");
    // The image has no titles: the event's comes from the product item.
    assert!(snap.snapshot.entries.iter().all(|e| e.title.is_none()));
    assert_eq!(one.attrs["title"], "Samsung Galaxy A55 5G 256 GB", "{one:?}");

    // A replayed batch writes nothing new, whether this instance holds the list's state or not.
    let before = store.len();
    assert_eq!(cache.stats().lists, 1);
    let again = handle(&ev.records, &store, &SignalConfig::default(), &cache).await;
    assert!(failures(&again).is_empty());
    assert_eq!(store.len(), before);
    let again = handle(&ev.records, &store, &SignalConfig::default(), &StateCache::default()).await;
    assert!(failures(&again).is_empty());
    assert_eq!(store.len(), before);
}

#[tokio::test]
async fn modify_and_remove_records_are_ignored() {
    for name in ["modify", "remove"] {
        let store = MemorySnapshotStore::new();
        let resp = handle(&event(name).records, &store, &SignalConfig::default(), &StateCache::default()).await;
        assert!(failures(&resp).is_empty(), "{name}");
        assert!(store.is_empty(), "{name} wrote something");
    }
}

#[tokio::test]
async fn a_malformed_image_is_skipped_and_the_rest_scored() {
    let store = MemorySnapshotStore::new();
    let resp = handle(&event("malformed").records, &store, &SignalConfig::default(), &StateCache::default()).await;
    // Permanent: not reported (a retry would fail the same way and block the shard).
    assert!(failures(&resp).is_empty());
    assert!(store.get("CAT#MLB#MLB1055", "SCORE").await.unwrap().is_some(), "the good record was scored");
}

/// A store that throttles every write while `throttle` is set (a state-based fake, not a mock).
#[derive(Default)]
struct ThrottlingStore {
    inner: MemorySnapshotStore,
    throttle: AtomicBool,
}

#[async_trait::async_trait]
impl SnapshotStore for ThrottlingStore {
    async fn put(&self, item: Item, condition: PutCondition) -> Result<PutOutcome, StoreError> {
        if self.throttle.load(Ordering::SeqCst) {
            return Err(StoreError::Throttled(None));
        }
        self.inner.put(item, condition).await
    }
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(pk, sk).await
    }
    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        self.inner.query(query).await
    }
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.inner.delete(pk, sk).await
    }
}

#[tokio::test]
async fn a_transient_failure_reports_the_first_failed_record() {
    let ev = event("insert");
    let store = ThrottlingStore::default();
    store.throttle.store(true, Ordering::SeqCst);
    let resp = handle(&ev.records, &store, &SignalConfig::default(), &StateCache::default()).await;
    assert_eq!(failures(&resp), ["100000000000000000001"]);
    // The wire shape Lambda reads.
    let wire = serde_json::to_value(&resp).unwrap();
    assert_eq!(wire["batchItemFailures"][0]["itemIdentifier"], "100000000000000000001");

    // Lambda retries from that record; with the store back, the batch goes through.
    store.throttle.store(false, Ordering::SeqCst);
    let resp = handle(&ev.records, &store, &SignalConfig::default(), &StateCache::default()).await;
    assert!(failures(&resp).is_empty());
    assert!(store.inner.get("CAT#MLB#MLB1055", "SCORE").await.unwrap().is_some());
}

#[test]
fn both_decoders_read_every_sample_event_the_same_way() {
    for name in ["insert", "modify", "remove", "malformed"] {
        let raw = event(name);
        let aws = aws_event(name);
        assert_eq!(raw.records.len(), aws.records.len(), "{name}");
        for (r, a) in raw.records.iter().zip(&aws.records) {
            assert_eq!(SnapshotRecord::sequence(r), a.sequence(), "{name}");
            let (x, y) = (r.snapshot_insert(), a.snapshot_insert());
            match (&x, &y) {
                (Ok(x), Ok(y)) => assert_eq!(x, y, "{name}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{name}: the decoders disagree: {x:?} / {y:?}"),
            }
        }
    }
}

/// Every sample event through [`BodyLayer`] as the runtime runs it (the layer, then the runtime's
/// serde_json read of the body it passes on, then [`handle_event`]): the same response and the same
/// items written as the serde_json path; the layer read each sample itself (the runtime saw the empty
/// batch), and a body it declines (an escape in an event name) reaches the runtime untouched.
#[tokio::test]
async fn the_body_layer_reads_every_sample_as_the_runtime_does() {
    use lambda_runtime::tower::{service_fn, Layer, Service};
    use lambda_runtime::{Context, LambdaEvent, LambdaInvocation};
    use std::sync::Mutex;

    let escaped = read_event("insert").replacen("\"INSERT\"", "\"INS\\u0045RT\"", 1);
    for (name, body, read_by_the_layer) in [
        ("insert", read_event("insert"), true),
        ("modify", read_event("modify"), true),
        ("remove", read_event("remove"), true),
        ("malformed", read_event("malformed"), true),
        ("insert", escaped, false),
    ] {
        let want_store = table_of(name).await;
        let want = handle(&event(name).records, &want_store, &SignalConfig::default(), &StateCache::default()).await;

        let (store, slot, seen) = (table_of(name).await, Slot::default(), Mutex::new(None));
        let (store_ref, slot_ref, seen_ref) = (&store, &slot, &seen);
        let inner = service_fn(move |invocation: LambdaInvocation| async move {
            // What the runtime does with the body it is given.
            let payload: RawEvent = serde_json::from_slice(&invocation.body)?;
            let body = String::from_utf8(invocation.body.to_vec())?;
            let event = LambdaEvent::new(payload, invocation.context);
            let response =
                handle_event(event, slot_ref, store_ref, &SignalConfig::default(), &StateCache::default()).await;
            *seen_ref.lock().unwrap() = Some((body, response));
            Ok::<(), lambda_runtime::Error>(())
        });
        let mut service = BodyLayer::new(slot.clone()).layer(inner);
        let mut context = Context::default();
        context.request_id = format!("request-{name}");
        let parts = http::Response::new(()).into_parts().0;
        let invocation = LambdaInvocation { parts, body: body.clone().into_bytes().into(), context };
        service.call(invocation).await.unwrap();

        let (seen_body, response) = seen.lock().unwrap().take().unwrap();
        assert_eq!(response, want, "{name}");
        if read_by_the_layer {
            assert_eq!(seen_body, r#"{"Records":[]}"#, "{name}");
        } else {
            assert_eq!(seen_body, body, "{name}");
        }
        assert!(slot.take(&format!("request-{name}")).is_none(), "{name}: records left in the slot");
        let items = |s: &MemorySnapshotStore| {
            let mut items = s.all_items();
            items.sort_by(|a, b| (&a.pk, &a.sk).cmp(&(&b.pk, &b.sk)));
            items
        };
        assert_eq!(items(&store), items(&want_store), "{name}");
    }
}

//! Tests of the notify step over the in-memory store and the recording publisher, and snapshot tests
//! of what a person reads.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use futures::executor::block_on;

use super::*;
use crate::clock::ManualClock;
use crate::ids::{CategoryId, EntryId, EntryType, SiteId};
use crate::keys;
use crate::signals::{EventItem, EventKind, PositionPoint, Severity};
use crate::site::Lang;
use crate::store::{MemorySnapshotStore, Query, SnapshotStore};

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 13, 0, 0).unwrap()
}

/// An event as the scorer writes it.
pub(crate) fn event(
    site: &str,
    cat: &str,
    product: &str,
    kind: EventKind,
    at: DateTime<Utc>,
    title: &str,
) -> EventItem {
    let site = SiteId::parse(site).unwrap();
    let category = CategoryId::parse(cat).unwrap();
    let product = EntryId::parse(product).unwrap();
    let n = matches!(kind, EventKind::EnteredTopN | EventKind::LeftTopN).then_some(10);
    let key_kind = kind.key_kind(n);
    let (from, to) = match kind {
        EventKind::NewEntrant | EventKind::Reentry => (None, Some(14)),
        EventKind::DroppedOut => (Some(18), None),
        EventKind::NewNumberOne => (Some(4), Some(1)),
        EventKind::Faller => (Some(3), Some(11)),
        EventKind::LeftTopN => (Some(9), Some(15)),
        _ => (Some(12), Some(4)),
    };
    let places = match (from, to) {
        (Some(a), Some(b)) => Some(i32::from(a) - i32::from(b)),
        _ => None,
    };
    let recent = (0..8)
        .map(|i| PositionPoint {
            at: at - Duration::minutes(15 * (7 - i)),
            position: if i == 2 { None } else { Some(20 - (i as u8) * 2) },
        })
        .collect();
    EventItem {
        pk: keys::event_pk(site, &category),
        sk: keys::event_sk(at, &key_kind, &product),
        kind,
        key_kind,
        n,
        severity: if kind == EventKind::NewNumberOne { Severity::Major } else { Severity::Notable },
        site,
        category,
        product: product.clone(),
        product_type: EntryType::Product,
        taken_at: at,
        title: Some(title.to_string()),
        brand: Some("Marca X".into()),
        permalink: Some(format!("https://www.example.com/p/{product}")),
        price: Some(1299.9),
        currency: Some("BRL".into()),
        from_position: from,
        to_position: to,
        places,
        previous_number_one: None,
        reference_price: (kind == EventKind::PriceDrop).then_some(1549.0),
        price_change_share: (kind == EventKind::PriceDrop).then_some(1299.9 / 1549.0 - 1.0),
        reviews_before: (kind == EventKind::ReviewsSurge).then_some(100),
        reviews_after: (kind == EventKind::ReviewsSurge).then_some(160),
        reviews_delta: (kind == EventKind::ReviewsSurge).then_some(60),
        last_seen_at: None,
        momentum: Some(12.5),
        trend: None,
        recent_positions: recent,
        expires_at: 0,
    }
}

pub(crate) const HOSTILE: &[&str] = &[
    "<!channel> Oferta relâmpago <!here> @everyone",
    "<script>alert(1)</script> Celular \"Premium\" 'Edição'",
    "*bold* _italic_ ~strike~ `code` > quote <https://evil.example|clique aqui>",
    "Tom &amp; Jerry &lt;b&gt;Kit&lt;/b&gt; & <b>Ofertão</b>",
    "\u{202E}Celular مرحبا بالعالم שלום עולם \u{202C} RTL",
    "🔥📱 Promoção 💯🚀 Frete Grátis ✅ 👨‍👩‍👧‍👦",
];

fn slack_dest(id: &str, p: Arc<RecordingPublisher>) -> Destination {
    Destination::new(
        DestinationConfig {
            id: id.into(),
            channel: ChannelKind::Slack,
            filter: EventFilter::default(),
            controls: Controls::default(),
        },
        Sender::Slack(p),
    )
}

fn sns_dest(p: Arc<RecordingPublisher>) -> Destination {
    Destination::new(
        DestinationConfig {
            id: "topic-alerts".into(),
            channel: ChannelKind::Sns,
            filter: EventFilter::default(),
            controls: Controls::default(),
        },
        Sender::Sns(p),
    )
}

struct World {
    store: MemorySnapshotStore,
    clock: ManualClock,
    config: NotifyConfig,
}

impl World {
    fn new() -> Self {
        World { store: MemorySnapshotStore::new(), clock: ManualClock::new(t0()), config: NotifyConfig::default() }
    }
    fn deps<'a>(&'a self, d: &'a [Destination]) -> NotifyDeps<'a> {
        NotifyDeps { store: &self.store, clock: &self.clock, destinations: d, config: &self.config }
    }
}

/// Stream records of event inserts, with sequence numbers `000000`, `000001`, …
fn records_of(events: &[EventItem]) -> Vec<aws_lambda_events::dynamodb::EventRecord> {
    use crate::stream::{encode, Change, ChangeKind};
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let item = e.to_item().unwrap();
            let change = Change {
                kind: ChangeKind::Insert,
                pk: item.pk.clone(),
                sk: item.sk.clone(),
                new: Some(item),
                old: None,
                sequence: format!("{i:06}"),
            };
            encode(&change, "t", "us-east-1", t0()).unwrap()
        })
        .collect()
}

/// The memory store, whose puts of delivery items (`DLV#…`) fail once `allowed` more have gone
/// through: what a sender that dies (or a store that stops taking writes) right after a send leaves.
struct DiesBeforeDeliveryWrite<'a> {
    inner: &'a MemorySnapshotStore,
    allowed: std::sync::Mutex<usize>,
}

impl<'a> DiesBeforeDeliveryWrite<'a> {
    fn new(inner: &'a MemorySnapshotStore, allowed: usize) -> Self {
        DiesBeforeDeliveryWrite { inner, allowed: std::sync::Mutex::new(allowed) }
    }
}

#[async_trait::async_trait]
impl SnapshotStore for DiesBeforeDeliveryWrite<'_> {
    async fn put(
        &self,
        item: crate::store::Item,
        condition: crate::store::PutCondition,
    ) -> Result<crate::store::PutOutcome, crate::store::StoreError> {
        if item.pk.starts_with("DLV#") {
            let mut allowed = self.allowed.lock().unwrap();
            if *allowed == 0 {
                return Err(crate::store::StoreError::Unavailable("the sender died".into()));
            }
            *allowed -= 1;
        }
        self.inner.put(item, condition).await
    }
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<crate::store::Item>, crate::store::StoreError> {
        self.inner.get(pk, sk).await
    }
    async fn query(&self, q: &Query) -> Result<Vec<crate::store::Item>, crate::store::StoreError> {
        self.inner.query(q).await
    }
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), crate::store::StoreError> {
        self.inner.delete(pk, sk).await
    }
}

/// Every item of a kind (`DLV`, `RETRY`, …) in the memory store.
fn items_of(store: &MemorySnapshotStore, kind: &str) -> Vec<crate::store::Item> {
    store.all_items().into_iter().filter(|i| crate::billing::kind_of(&i.pk, &i.sk) == kind).collect()
}

fn batch() -> Vec<EventItem> {
    vec![
        event("MLB", "MLB1055", "MLB100", EventKind::NewNumberOne, t0(), "Smartphone Galaxy A15 128GB"),
        event("MLB", "MLB1055", "MLB101", EventKind::Climber, t0(), "Fone Bluetooth JBL Tune"),
        event("MLA", "MLA1051", "MLA200", EventKind::PriceDrop, t0(), "Celular Motorola G54"),
    ]
}

#[test]
fn a_batch_replayed_three_times_sends_each_message_once() {
    let w = World::new();
    let slack = Arc::new(RecordingPublisher::new());
    let sns = Arc::new(RecordingPublisher::new());
    let dests = vec![slack_dest("wh-a", slack.clone()), sns_dest(sns.clone())];
    let events = batch();
    let first = block_on(notify_events(&events, w.deps(&dests))).unwrap();
    assert_eq!(first.sent, 6, "3 events × 2 destinations");
    assert_eq!(first.messages, 4, "one coalesced Slack message and three SNS publishes");
    for _ in 0..2 {
        let again = block_on(notify_events(&events, w.deps(&dests))).unwrap();
        assert_eq!((again.sent, again.duplicates, again.messages), (0, 6, 0));
    }
    assert_eq!(slack.slack().len(), 1);
    assert_eq!(sns.sns().len(), 3);
    let dlv = block_on(w.store.query(&Query::pk(keys::delivery_pk(&events[0].pk, &events[0].sk)))).unwrap();
    let states: Vec<String> = dlv.iter().map(|i| i.attrs["state"].as_str().unwrap().to_string()).collect();
    assert_eq!(states, ["sent", "sent"]);
}

#[test]
fn a_failing_destination_does_not_stop_the_others_and_is_retried_later() {
    let w = World::new();
    let bad = Arc::new(RecordingPublisher::new());
    let good = Arc::new(RecordingPublisher::new());
    bad.fail_always(Some(Fault::Transient));
    let dests = vec![slack_dest("wh-bad", bad.clone()), slack_dest("wh-good", good.clone())];
    for e in batch() {
        block_on(w.store.put(e.to_item().unwrap(), crate::store::PutCondition::Always)).unwrap();
    }
    let r = block_on(notify_events(&batch(), w.deps(&dests))).unwrap();
    assert_eq!((r.sent, r.failed), (3, 3));
    assert_eq!(good.slack().len(), 1);
    // Not due yet: nothing is retried.
    assert_eq!(block_on(retry_failed(w.deps(&dests))).unwrap().sent, 0);
    // Still failing when due: back in the queue with one more attempt.
    w.clock.advance(Duration::seconds(61));
    let r = block_on(retry_failed(w.deps(&dests))).unwrap();
    assert_eq!(r.failed, 3);
    bad.fail_always(None);
    w.clock.advance(Duration::seconds(301));
    let r = block_on(retry_failed(w.deps(&dests))).unwrap();
    assert_eq!(r.sent, 3);
    assert_eq!(bad.slack().len(), 1, "the three retries went out coalesced");
    let d: DeliveryItem = block_on(w.store.get(&keys::delivery_pk(&batch()[0].pk, &batch()[0].sk), "slack#wh-bad"))
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Sent, 3));
    // The queue is empty and a replay of the batch sends nothing.
    assert_eq!(block_on(retry_failed(w.deps(&dests))).unwrap().events, 0);
    assert_eq!(block_on(notify_events(&batch(), w.deps(&dests))).unwrap().sent, 0);
}

#[test]
fn a_crash_between_send_and_write_sends_again_on_the_streams_retry() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    let dests = vec![slack_dest("wh-a", p.clone())];
    let records = records_of(&batch());
    // The message goes out, then the sender dies before writing any delivery.
    let dying = DiesBeforeDeliveryWrite::new(&w.store, 0);
    let deps = NotifyDeps { store: &dying, ..w.deps(&dests) };
    let out = block_on(notify_records(&records, deps));
    assert_eq!(out.retry_from.as_deref(), Some("000000"), "the batch is handed back to the stream");
    assert_eq!(p.slack().len(), 1);
    assert!(items_of(&w.store, "DLV").is_empty() && items_of(&w.store, "RETRY").is_empty());
    // The stream's retry of the batch sends the alerts again (at least once, never zero times)…
    let retried = block_on(notify_records(&records, w.deps(&dests)));
    assert_eq!((retried.retry_from.clone(), retried.report.sent, retried.report.duplicates), (None, 3, 0));
    assert_eq!(p.slack().len(), 2);
    let states: Vec<_> = items_of(&w.store, "DLV").iter().map(|i| i.decode::<DeliveryItem>().unwrap().state).collect();
    assert_eq!(states, [DeliveryState::Sent; 3]);
    // …and once written, a replay sends nothing.
    let replay = block_on(notify_records(&records, w.deps(&dests)));
    assert_eq!((replay.report.sent, replay.report.duplicates), (0, 3));
    assert_eq!(p.slack().len(), 2);
    assert!(items_of(&w.store, "RETRY").is_empty(), "a sent delivery leaves no queue item");
}

#[test]
fn a_retry_pass_that_dies_after_its_send_is_taken_over_after_the_lease() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    let dests = vec![slack_dest("wh-a", p.clone())];
    let e = batch().remove(0);
    block_on(w.store.put(e.to_item().unwrap(), crate::store::PutCondition::Always)).unwrap();
    p.fail_next(&[Fault::Transient]);
    assert_eq!(block_on(notify_events(std::slice::from_ref(&e), w.deps(&dests))).unwrap().failed, 1);
    // Due: the pass takes the delivery over (one delivery write), sends, and dies before the mark.
    w.clock.advance(Duration::seconds(61));
    let dying = DiesBeforeDeliveryWrite::new(&w.store, 1);
    assert!(block_on(retry_failed(NotifyDeps { store: &dying, ..w.deps(&dests) })).is_err());
    assert_eq!(p.slack().len(), 1);
    let d: DeliveryItem = items_of(&w.store, "DLV")[0].decode().unwrap();
    assert_eq!(d.state, DeliveryState::Pending);
    // A replay of the batch and a retry pass within the lease leave it alone.
    assert_eq!(block_on(notify_events(std::slice::from_ref(&e), w.deps(&dests))).unwrap().duplicates, 1);
    assert_eq!(block_on(retry_failed(w.deps(&dests))).unwrap().events, 0, "within the lease");
    // After the lease it is taken over and sent again.
    w.clock.advance(Duration::seconds(601));
    assert_eq!(block_on(retry_failed(w.deps(&dests))).unwrap().sent, 1);
    assert_eq!(p.slack().len(), 2);
    let d: DeliveryItem = items_of(&w.store, "DLV")[0].decode().unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Sent, 2));
    assert!(items_of(&w.store, "RETRY").is_empty());
}

#[test]
fn a_failed_live_send_is_written_once_as_failed_with_its_queue_item() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    p.fail_always(Some(Fault::Transient));
    let dests = vec![sns_dest(p.clone())];
    let e = batch().remove(0);
    let r = block_on(notify_events(std::slice::from_ref(&e), w.deps(&dests))).unwrap();
    assert_eq!((r.failed, r.sent), (1, 0));
    let d: DeliveryItem = items_of(&w.store, "DLV")[0].decode().unwrap();
    assert_eq!((d.state, d.attempts, d.version), (DeliveryState::Failed, 1, 1));
    assert_eq!(d.next_retry_at, Some(t0() + Duration::seconds(60)), "the first backoff");
    let q: Vec<outbox::RetryItem> = items_of(&w.store, "RETRY").iter().map(|i| i.decode().unwrap()).collect();
    assert_eq!(q.len(), 1);
    assert_eq!((Some(q[0].sk.clone()), q[0].due), (d.retry_sk.clone(), t0() + Duration::seconds(60)));
    // A replay sends nothing: the failed delivery belongs to the retry pass.
    assert_eq!(block_on(notify_events(std::slice::from_ref(&e), w.deps(&dests))).unwrap().duplicates, 1);
    assert_eq!(p.attempts(), 1);
}

#[test]
fn a_live_delivered_alert_costs_one_write() {
    use crate::billing::{Meter, MeteredStore};
    let meter = Arc::new(Meter::new());
    let store = MeteredStore::new(MemorySnapshotStore::new(), meter.clone());
    let clock = ManualClock::new(t0());
    let config = NotifyConfig::default();
    let slack = Arc::new(RecordingPublisher::new());
    let sns = Arc::new(RecordingPublisher::new());
    let mut dests = vec![slack_dest("wh-a", slack.clone()), sns_dest(sns.clone())];
    // No re-arm time: nothing but the delivery item is written.
    for d in &mut dests {
        d.config.controls.rearm_secs = 0;
    }
    let deps = NotifyDeps { store: &store, clock: &clock, destinations: &dests, config: &config };
    let r = block_on(notify_events(&batch(), deps)).unwrap();
    assert_eq!((r.sent, r.messages), (6, 4));
    let k = meter.by_kind();
    assert_eq!((k["DLV"].writes, k["DLV"].write_units), (6, 6), "one write, of one unit, per delivered alert");
    assert_eq!(meter.total().writes, 6, "{k:?}");
    // Reads: whether each event is recorded already (one query per event), and each destination's state.
    assert_eq!((k["DLV"].reads, k["DEST"].reads), (3, 2));
    // A replay reads and writes nothing else.
    let before = meter.total();
    assert_eq!(block_on(notify_events(&batch(), deps)).unwrap().duplicates, 6);
    assert_eq!(meter.total().writes, before.writes);
    assert_eq!(meter.total().reads - before.reads, 3 + 2);

    // With the default re-arm time: one re-arm item per alert too (read once, when the rules apply).
    let meter = Arc::new(Meter::new());
    let store = MeteredStore::new(MemorySnapshotStore::new(), meter.clone());
    let dests = vec![slack_dest("wh-a", slack.clone()), sns_dest(sns.clone())];
    let deps = NotifyDeps { store: &store, clock: &clock, destinations: &dests, config: &config };
    assert_eq!(block_on(notify_events(&batch(), deps)).unwrap().sent, 6);
    let k = meter.by_kind();
    assert_eq!((k["DLV"].writes, k["ARM"].writes, k["ARM"].reads), (6, 6, 6));
    assert_eq!(meter.total().writes, 12, "{k:?}");
    assert!(!k.contains_key("RETRY"), "{k:?}");
}

#[test]
fn gone_webhooks_are_disabled_and_say_so() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    p.fail_always(Some(Fault::Disabled));
    let dests = vec![slack_dest("wh-gone", p.clone())];
    let r = block_on(notify_events(&batch(), w.deps(&dests))).unwrap();
    assert_eq!(r.disabled.len(), 1);
    assert!(r.disabled[0].1.contains("channel_is_archived"));
    assert_eq!(r.dead, 3);
    let later = vec![event("MLB", "MLB1055", "MLB300", EventKind::Climber, t0() + Duration::hours(1), "x")];
    let r = block_on(notify_events(&later, w.deps(&dests))).unwrap();
    assert_eq!((r.skipped_disabled, r.sent), (1, 0));
    assert_eq!(p.attempts(), 1, "nothing more is posted to a disabled webhook");
}

#[test]
fn rejected_messages_are_dead_not_retried() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    p.fail_next(&[Fault::Rejected]);
    let dests = vec![sns_dest(p.clone())];
    let r = block_on(notify_events(&batch(), w.deps(&dests))).unwrap();
    assert_eq!((r.dead, r.sent), (1, 2));
    w.clock.advance(Duration::days(1));
    assert_eq!(block_on(retry_failed(w.deps(&dests))).unwrap().events, 0);
}

#[test]
fn rearm_per_destination_product_and_kind() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    let dests = vec![slack_dest("wh-a", p.clone())];
    let a = event("MLB", "MLB1055", "MLB101", EventKind::Climber, t0(), "x");
    let b = event("MLB", "MLB1055", "MLB101", EventKind::Climber, t0() + Duration::hours(2), "x");
    let other = event("MLB", "MLB1055", "MLB101", EventKind::PriceDrop, t0() + Duration::hours(2), "x");
    let late = event("MLB", "MLB1055", "MLB101", EventKind::Climber, t0() + Duration::hours(13), "x");
    assert_eq!(block_on(notify_events(&[a], w.deps(&dests))).unwrap().sent, 1);
    w.clock.set(t0() + Duration::hours(2));
    let r = block_on(notify_events(&[b, other], w.deps(&dests))).unwrap();
    assert_eq!((r.suppressed, r.sent), (1, 1));
    w.clock.set(t0() + Duration::hours(13));
    assert_eq!(block_on(notify_events(&[late], w.deps(&dests))).unwrap().sent, 1);
}

#[test]
fn the_rearm_item_keeps_the_latest_time_when_the_senders_read_is_stale() {
    use outbox::ArmSeen;
    let store = MemorySnapshotStore::new();
    let rearm = Duration::hours(12);
    let at = |h: i64| event("MLB", "MLB1055", "MLB101", EventKind::Climber, t0() + Duration::hours(h), "x");
    let last = |e: &EventItem| block_on(outbox::arm(&store, "wh-a", e)).unwrap().map(|a| a.last_at);
    // Two senders read no item; the later delivery is recorded first.
    block_on(outbox::record_arm(&store, "wh-a", &at(2), rearm, ArmSeen::Read(None))).unwrap();
    block_on(outbox::record_arm(&store, "wh-a", &at(1), rearm, ArmSeen::Read(None))).unwrap();
    assert_eq!(last(&at(1)), Some(t0() + Duration::hours(2)), "an earlier time never overwrites a later one");
    // A sender that read the item before someone moved it on writes over the current one.
    let stale = block_on(outbox::arm(&store, "wh-a", &at(0))).unwrap();
    block_on(outbox::record_arm(&store, "wh-a", &at(5), rearm, ArmSeen::Read(stale.clone()))).unwrap();
    block_on(outbox::record_arm(&store, "wh-a", &at(4), rearm, ArmSeen::Read(stale))).unwrap();
    assert_eq!(last(&at(0)), Some(t0() + Duration::hours(5)));
    // Not read at all (the retry pass): read, then written.
    block_on(outbox::record_arm(&store, "wh-a", &at(6), rearm, ArmSeen::Unknown)).unwrap();
    assert_eq!(last(&at(0)), Some(t0() + Duration::hours(6)));
    assert!(outbox::armed_out(block_on(outbox::arm(&store, "wh-a", &at(7))).unwrap().as_ref(), &at(7), rearm));
    assert!(!outbox::armed_out(block_on(outbox::arm(&store, "wh-a", &at(18))).unwrap().as_ref(), &at(18), rearm));
}

#[test]
fn quiet_hours_hold_for_the_digest_and_the_cap_holds_the_rest() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    let mut d = slack_dest("wh-a", p.clone());
    // 13:00 UTC is 10:00 in São Paulo; quiet from 09:00 to 11:00 local.
    d.config.controls.utc_offset_minutes = -180;
    d.config.controls.quiet_hours = Some(QuietHours {
        start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
    });
    d.config.controls.daily_cap = Some(2);
    let dests = vec![d];
    let r = block_on(notify_events(&batch(), w.deps(&dests))).unwrap();
    assert_eq!((r.held, r.sent), (3, 0));
    // The digest does not go out during quiet hours either.
    assert_eq!(block_on(run_digest(DigestKind::Hourly, w.deps(&dests))).unwrap().messages, 0);
    // After them: live alerts up to the cap, the rest held.
    w.clock.set(t0() + Duration::hours(2));
    let more: Vec<EventItem> = (0..3)
        .map(|i| event("MLB", "MLB1055", &format!("MLB90{i}"), EventKind::Climber, t0() + Duration::hours(2), "y"))
        .collect();
    let r = block_on(notify_events(&more, w.deps(&dests))).unwrap();
    assert_eq!((r.sent, r.held), (2, 1));
    // The digest sends everything held, once.
    let r = block_on(run_digest(DigestKind::Hourly, w.deps(&dests))).unwrap();
    assert_eq!((r.messages, r.digested), (1, 4));
    assert_eq!(block_on(run_digest(DigestKind::Hourly, w.deps(&dests))).unwrap().messages, 0);
    let digest = p.slack().pop().unwrap();
    insta::assert_json_snapshot!("digest_slack_pt", digest.payload());
}

#[test]
fn first_run_floods_and_stale_events_wait_for_the_digest() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    let dests = vec![slack_dest("wh-a", p.clone())];
    let flood: Vec<EventItem> =
        (0..6).map(|i| event("MLB", "MLB1055", &format!("MLB50{i}"), EventKind::NewEntrant, t0(), "n")).collect();
    let stale = event("MLB", "MLB1055", "MLB600", EventKind::Climber, t0() - Duration::hours(7), "s");
    let fresh = event("MLB", "MLB1055", "MLB601", EventKind::NewEntrant, t0() - Duration::minutes(15), "f");
    let mut all = flood;
    all.push(stale);
    all.push(fresh);
    let r = block_on(notify_events(&all, w.deps(&dests))).unwrap();
    assert_eq!((r.held, r.sent), (7, 1));
    let reasons: Vec<_> = r.deliveries.iter().filter_map(|d| d.reason.clone()).collect();
    assert!(reasons.contains(&"new-entrant flood".to_string()) && reasons.contains(&"stale".to_string()));
}

#[test]
fn filters_and_digest_mode() {
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    let sns = Arc::new(RecordingPublisher::new());
    let mut d = slack_dest("wh-mla", p.clone());
    d.config.filter = EventFilter { sites: vec![SiteId::MLA], ..Default::default() };
    let mut hourly = sns_dest(sns.clone());
    hourly.config.controls.mode = DeliveryMode::Hourly;
    let dests = vec![d, hourly];
    let r = block_on(notify_events(&batch(), w.deps(&dests))).unwrap();
    assert_eq!((r.sent, r.held), (1, 3));
    assert!(p.slack()[0].payload().to_string().contains("Motorola"));
    let r = block_on(run_digest(DigestKind::Hourly, w.deps(&dests))).unwrap();
    assert_eq!(r.messages, 2, "one SNS digest per category");
    let mut subjects: Vec<_> =
        sns.sns().iter().map(|m| (m.attributes.category.clone(), m.attributes.event.clone())).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [("MLA1051".to_string(), "digest".to_string()), ("MLB1055".to_string(), "digest".to_string())]
    );
    insta::assert_snapshot!("digest_email_pt", sns.sns().iter().find(|m| m.attributes.site == "MLB").unwrap().email);
}

#[test]
fn stream_records_go_through_the_codec() {
    use crate::stream::{encode, Change, ChangeKind};
    let w = World::new();
    let p = Arc::new(RecordingPublisher::new());
    let dests = vec![slack_dest("wh-a", p.clone())];
    let mut records = records_of(&batch());
    let snap = crate::store::Item::new("CAT#MLB#MLB1055", "SNAP#2026-11-29T13:00:00Z", crate::store::Attrs::new());
    let change = Change {
        kind: ChangeKind::Insert,
        pk: snap.pk.clone(),
        sk: snap.sk.clone(),
        new: Some(snap),
        old: None,
        sequence: "9".into(),
    };
    records.push(encode(&change, "t", "us-east-1", t0()).unwrap());
    let out = block_on(notify_records(&records, w.deps(&dests)));
    assert_eq!((out.ignored, out.poison.len(), out.retry_from.clone()), (1, 0, None));
    assert_eq!(out.report.sent, 3);
    let again = block_on(notify_records(&records, w.deps(&dests)));
    assert_eq!(again.report.duplicates, 3);
    assert_eq!(p.slack().len(), 1);
}

#[test]
fn a_store_that_is_down_sends_nothing_and_asks_for_the_batch_again() {
    // Down for reads as well as writes: a send only follows a read of the event's deliveries.
    struct Down;
    #[async_trait::async_trait]
    impl SnapshotStore for Down {
        async fn put(
            &self,
            _: crate::store::Item,
            _: crate::store::PutCondition,
        ) -> Result<crate::store::PutOutcome, crate::store::StoreError> {
            Err(crate::store::StoreError::Throttled(None))
        }
        async fn get(&self, _: &str, _: &str) -> Result<Option<crate::store::Item>, crate::store::StoreError> {
            Err(crate::store::StoreError::Throttled(None))
        }
        async fn query(&self, _: &Query) -> Result<Vec<crate::store::Item>, crate::store::StoreError> {
            Err(crate::store::StoreError::Throttled(None))
        }
        async fn delete(&self, _: &str, _: &str) -> Result<(), crate::store::StoreError> {
            Ok(())
        }
    }
    use crate::stream::{encode, Change, ChangeKind};
    let p = Arc::new(RecordingPublisher::new());
    let dests = vec![slack_dest("wh-a", p.clone())];
    let e = batch().remove(0);
    let item = e.to_item().unwrap();
    let change = Change {
        kind: ChangeKind::Insert,
        pk: item.pk.clone(),
        sk: item.sk.clone(),
        new: Some(item),
        old: None,
        sequence: "42".into(),
    };
    let rec = encode(&change, "t", "us-east-1", t0()).unwrap();
    let clock = ManualClock::new(t0());
    let cfg = NotifyConfig::default();
    let deps = NotifyDeps { store: &Down, clock: &clock, destinations: &dests, config: &cfg };
    let out = block_on(notify_records(&[rec], deps));
    assert_eq!(out.retry_from.as_deref(), Some("42"));
    assert_eq!(p.attempts(), 0, "nothing is sent without knowing whether it went out before");
}

#[test]
fn slack_messages_coalesce_within_fifty_blocks() {
    let events: Vec<EventItem> = (0..60)
        .map(|i| event("MLB", "MLB1055", &format!("MLB7{i:02}"), EventKind::Climber, t0(), &format!("Produto {i}")))
        .collect();
    let refs: Vec<&EventItem> = events.iter().collect();
    let msgs = render::slack_messages(None, &refs);
    assert_eq!(msgs.len(), 3);
    let carried: usize = msgs.iter().map(|(_, i)| i.len()).sum();
    assert_eq!(carried, 60);
    for (m, _) in &msgs {
        assert!(m.blocks.len() <= 50, "{}", m.blocks.len());
    }
}

// ------------------------------------------------------------------------------------------------
// What a person reads: snapshots in the three languages, and the hostile titles.

fn rendered(lang: Lang, e: &EventItem) -> serde_json::Value {
    let sns = render::sns_message(lang, e, "DLV#k|sns#topic");
    serde_json::json!({
        "slack": render::slack_messages(Some(lang), &[e])[0].0.payload(),
        "sns": {"subject": sns.subject, "sms": sns.sms, "email": sns.email, "default": sns.default, "attributes": sns.attributes},
        "feed": render::feed_alert(lang, e, "DLV#k|console#c").text,
    })
}

#[test]
fn snapshots_in_three_languages() {
    let pt =
        event("MLB", "MLB1055", "MLB100", EventKind::NewNumberOne, t0(), "Smartphone Galaxy A15 128GB Edição Azul");
    let mut es = event("MLA", "MLA1051", "MLA200", EventKind::PriceDrop, t0(), "Celular Motorola Moto G54 256GB");
    es.currency = Some("ARS".into());
    es.price = Some(1_299_999.9);
    es.reference_price = Some(1_549_000.0);
    es.price_change_share = Some(1_299_999.9 / 1_549_000.0 - 1.0);
    let mut en = event("MLM", "MLM1000", "MLM5", EventKind::EnteredTopN, t0(), "Audífonos inalámbricos");
    en.price = Some(1299.9);
    insta::assert_json_snapshot!("event_pt_br", rendered(Lang::PtBr, &pt));
    insta::assert_json_snapshot!("event_es", rendered(Lang::Es, &es));
    // English for a destination that asks for it (a Mexican list: $ 1,299.90).
    insta::assert_json_snapshot!("event_en", rendered(Lang::En, &en));
}

#[test]
fn snapshots_of_hostile_titles() {
    let mut long = "Muito longo ".repeat(40);
    long.push_str(HOSTILE[0]);
    let mut all: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    all.push(long);
    let out: Vec<serde_json::Value> = all
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut e = event("MLB", "MLB1055", &format!("MLB{i}"), EventKind::Climber, t0(), t);
            e.brand = Some("<@U0123ABCD> *Brand*".into());
            rendered(Lang::PtBr, &e)
        })
        .collect();
    insta::assert_json_snapshot!("hostile", out);
}

#[test]
fn hostile_titles_cannot_escape_their_channel() {
    let mut long = "Muito longo ".repeat(40);
    long.push_str(HOSTILE[0]);
    let titles = HOSTILE.iter().map(|s| s.to_string()).chain([long]);
    for (i, t) in titles.enumerate() {
        let mut e = event("MLB", "MLB1055", &format!("MLB{i}"), EventKind::Climber, t0(), &t);
        e.brand = Some("<@U0123ABCD> *Brand*".into());
        e.permalink = Some("javascript:alert(1)".into());
        let slack = render::slack_messages(None, &[&e])[0].0.payload().to_string();
        for bad in [
            "<!channel>",
            "<!here>",
            "<@U0123ABCD>",
            "<script>",
            "<https://evil",
            "*bold*",
            "`code`",
            "\u{202E}",
            "javascript:",
        ] {
            assert!(!slack.contains(bad), "slack payload for {t:?} contains {bad:?}");
        }
        let sns = render::sns_message(Lang::PtBr, &e, "k");
        assert!(sns.sms.chars().count() <= 140, "{}", sns.sms);
        for bad in ['<', '>', '*', '`', '\u{202E}'] {
            assert!(!sns.sms.contains(bad), "sms {:?} contains {bad:?}", sns.sms);
        }
        assert!(!sns.email.contains('<') && !sns.email.contains('>'), "{}", sns.email);
        assert!(sns.subject.is_ascii() && sns.subject.chars().count() < 100 && !sns.subject.contains('\n'));
        assert!(sns.email.contains("https://www.mercadolivre.com.br/p/MLB"), "unsafe permalinks fall back to the site");
    }
}

#[test]
fn prices_and_sparklines() {
    let e = event("MLB", "MLB1055", "MLB1", EventKind::PriceDrop, t0(), "x");
    assert!(render::sns_message(Lang::PtBr, &e, "k").email.contains("R$ 1.299,90"));
    assert_eq!(render::sparkline(&e.recent_positions), "▁▁·▃▃▄▅▆");
}

// ---------------------------------------------------------------------------------------------
// Digests that link to the HTML report

/// A presigned-URL-shaped link (with `&`, `%` and `=`, as S3's are).
fn report_url(site: SiteId, cat: &CategoryId, at: DateTime<Utc>) -> String {
    format!(
        "https://meli-radar-reports.s3.us-east-1.amazonaws.com/reports/{site}/{}/{cat}.html?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T130000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=0a1b2c",
        at.format("%Y-%m-%d")
    )
}

/// The report port's fake: a link per category, a scripted failure or hostile link for some, and a
/// record of what was asked.
#[derive(Default)]
struct FakeLinks {
    asked: std::sync::Mutex<Vec<String>>,
    fail: Option<&'static str>,
    hostile: Option<&'static str>,
    /// Each report takes this long on this clock.
    slow: Option<(Arc<ManualClock>, Duration)>,
}

#[async_trait::async_trait]
impl ReportLinks for FakeLinks {
    async fn report_link(
        &self,
        site: SiteId,
        category: &CategoryId,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, NotifyError> {
        self.asked.lock().unwrap().push(category.to_string());
        if let Some((clock, took)) = &self.slow {
            clock.advance(*took);
        }
        if self.fail == Some(category.as_str()) {
            return Err(NotifyError::transient("S3 is slow today"));
        }
        if self.hostile == Some(category.as_str()) {
            return Ok(Some("javascript:alert(1)//|<!channel>".into()));
        }
        Ok(Some(report_url(site, category, at)))
    }
}

fn digest_forms(lang: Lang, events: &[EventItem], link: bool) -> serde_json::Value {
    let refs: Vec<&EventItem> = events.iter().collect();
    let mut cats = render::summarize(&refs);
    for c in cats.iter_mut().filter(|_| link) {
        c.report = Some(report_url(c.site, &c.category, t0()));
    }
    let period = render::DigestPeriod { from: t0() - Duration::hours(1), to: t0() };
    let sns = render::digest_sns(lang, &period, &cats[0], "DIGEST#k");
    let feed = render::digest_feed(lang, &period, &cats[0], "DIGEST#k");
    serde_json::json!({
        "slack": render::digest_slack(lang, &period, &cats).payload(),
        "sns": {"subject": sns.subject, "email": sns.email, "default": sns.default, "sms": sns.sms},
        "feed": {"text": feed.text, "link": feed.link},
    })
}

#[test]
fn digest_snapshots_with_the_report_link_in_three_languages() {
    let pt = vec![
        event("MLB", "MLB1055", "MLB100", EventKind::NewNumberOne, t0(), "Smartphone Galaxy A15 128GB"),
        event("MLB", "MLB1055", "MLB101", EventKind::Climber, t0(), "Fone Bluetooth JBL Tune"),
    ];
    let es = vec![event("MLA", "MLA1051", "MLA200", EventKind::Climber, t0(), "Celular Motorola G54")];
    let en = vec![event("MLM", "MLM1000", "MLM5", EventKind::Faller, t0(), "Audífonos inalámbricos")];
    insta::assert_json_snapshot!("digest_link_pt_br", digest_forms(Lang::PtBr, &pt, true));
    insta::assert_json_snapshot!("digest_link_es", digest_forms(Lang::Es, &es, true));
    insta::assert_json_snapshot!("digest_link_en", digest_forms(Lang::En, &en, true));
    // Without a link, the forms are exactly the old ones: no button, no report line, no feed link.
    let plain = digest_forms(Lang::PtBr, &pt, false);
    let text = plain.to_string();
    assert!(!text.contains("accessory") && !text.contains("Relatório") && plain["feed"]["link"].is_null(), "{text}");
}

#[test]
fn a_digest_over_several_countries_speaks_the_language_of_most_of_its_alerts() {
    let evs = [
        event("MLB", "MLB1055", "MLB100", EventKind::Climber, t0(), "a"),
        event("MLA", "MLA1051", "MLA200", EventKind::Climber, t0(), "b"),
        event("MLM", "MLM1000", "MLM300", EventKind::Climber, t0(), "c"),
        event("MLB", "MLB1002", "MLB101", EventKind::Climber, t0(), "d"),
    ];
    let refs = |idx: &[usize]| idx.iter().map(|i| &evs[*i]).collect::<Vec<_>>();
    let lang = |idx: &[usize]| render::digest_lang(&render::summarize(&refs(idx)));
    assert_eq!(lang(&[0]), Lang::PtBr, "one site: its language");
    assert_eq!(lang(&[1, 2]), Lang::Es, "MLA and MLM: both Spanish");
    assert_eq!(lang(&[0, 1, 2]), Lang::Es, "two Spanish alerts against one in Portuguese");
    assert_eq!(lang(&[0, 3, 1]), Lang::PtBr, "two in Portuguese against one");
    assert_eq!(lang(&[0, 3, 1, 2]), Lang::En, "a tie: English");
    assert_eq!(lang(&[]), Lang::En);
}

#[test]
fn the_digest_links_each_category_once_per_run_and_survives_a_missing_report() {
    let w = World::new();
    let slack = Arc::new(RecordingPublisher::new());
    let sns = Arc::new(RecordingPublisher::new());
    let mut s = slack_dest("wh-a", slack.clone());
    s.config.controls.mode = DeliveryMode::Hourly;
    let mut t = sns_dest(sns.clone());
    t.config.controls.mode = DeliveryMode::Hourly;
    let dests = vec![s, t];
    let mut events = batch();
    events.push(event("MLM", "MLM1000", "MLM5", EventKind::Climber, t0(), "Audífonos"));
    assert_eq!(block_on(notify_events(&events, w.deps(&dests))).unwrap().held, 8);
    let links = FakeLinks { fail: Some("MLA1051"), hostile: Some("MLM1000"), ..Default::default() };
    let r = block_on(run_digest_with_reports(DigestKind::Hourly, w.deps(&dests), Some(&links))).unwrap();
    assert_eq!((r.messages, r.digested), (4, 8), "one Slack digest and three SNS digests");
    let mut asked = links.asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["MLA1051", "MLB1055", "MLM1000"], "once per category, for two destinations");

    // SNS: MLB's e-mail and default body carry the link; MLA (no report) and MLM (unsafe link) go without.
    let mlb = sns.sns().into_iter().find(|m| m.attributes.category == "MLB1055").unwrap();
    let url = report_url(SiteId::MLB, &CategoryId::parse("MLB1055").unwrap(), t0());
    assert!(mlb.email.contains(&format!("Relatório completo: {url}")), "{}", mlb.email);
    assert!(mlb.default.contains(&url) && !mlb.sms.contains("https://"));
    for cat in ["MLA1051", "MLM1000"] {
        let m = sns.sns().into_iter().find(|m| m.attributes.category == cat).unwrap();
        assert!(!m.email.contains("https://") && !m.email.contains("javascript"), "{}", m.email);
    }
    // Slack: one button, on MLB's section, with the URL as given (a JSON string, not mrkdwn).
    let payload = slack.slack()[0].payload();
    let buttons: Vec<&serde_json::Value> =
        payload["blocks"].as_array().unwrap().iter().filter_map(|b| b.get("accessory")).collect();
    assert_eq!(buttons.len(), 1, "{payload}");
    assert_eq!(buttons[0]["url"], serde_json::json!(url));
    assert_eq!(
        buttons[0]["text"]["text"], "View report",
        "two alerts in pt-BR (MLB), two in Spanish (MLA, MLM): English"
    );
    let text = payload.to_string();
    assert!(!text.contains("javascript") && !text.contains("<!channel>"), "{text}");

    // A digest without the port is the plain digest.
    let more = vec![event("MLB", "MLB1055", "MLB102", EventKind::Climber, t0() + Duration::hours(1), "z")];
    w.clock.set(t0() + Duration::hours(1));
    block_on(notify_events(&more, w.deps(&dests))).unwrap();
    let r = block_on(run_digest(DigestKind::Hourly, w.deps(&dests))).unwrap();
    assert_eq!(r.messages, 2);
    assert!(!slack.slack()[1].payload().to_string().contains("accessory"));
    assert!(!sns.sns().last().unwrap().email.contains("https://"));
}

#[test]
fn reports_stop_when_their_time_budget_is_spent_and_the_digest_still_goes_out() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (store, config) = (MemorySnapshotStore::new(), NotifyConfig::default());
    let sns = Arc::new(RecordingPublisher::new());
    let mut t = sns_dest(sns.clone());
    t.config.controls.mode = DeliveryMode::Hourly;
    let dests = vec![t];
    let deps = NotifyDeps { store: &store, clock: clock.as_ref(), destinations: &dests, config: &config };
    let events: Vec<EventItem> = ["MLB1000", "MLB1055", "MLB1144", "MLB1051"]
        .iter()
        .enumerate()
        .map(|(i, c)| event("MLB", c, &format!("MLB9{i}"), EventKind::Climber, t0(), "x"))
        .collect();
    assert_eq!(block_on(notify_events(&events, deps)).unwrap().held, 4);
    // 12 s per report: the first two fit in the 20 s budget, the third starts after it.
    let links = FakeLinks { slow: Some((clock.clone(), Duration::seconds(12))), ..Default::default() };
    let r = block_on(run_digest_with_reports(DigestKind::Hourly, deps, Some(&links))).unwrap();
    assert_eq!(r.messages, 4, "every category's digest goes out");
    assert_eq!(links.asked.lock().unwrap().len(), 2, "no report started after the budget");
    let linked = sns.sns().iter().filter(|m| m.email.contains("Relatório completo: https://")).count();
    assert_eq!(linked, 2);
}

/// Hourly lists of 20 in which `moves` are made one hour after the other: each `(from, to)` takes
/// the product at `from` to `to` (1-based), the others shifting; scored as the pipeline scores.
fn scored_moves(moves: &[(usize, usize)]) -> Vec<EventItem> {
    let mut order: Vec<String> = (1..=20).map(|i| format!("MLB{}", 1000 + i)).collect();
    let list = |hour: usize, order: &[String]| {
        let entries: Vec<serde_json::Value> = order
            .iter()
            .enumerate()
            .map(|(i, id)| serde_json::json!({"position": i + 1, "id": id, "type": "PRODUCT"}))
            .collect();
        serde_json::json!({"site": "MLB", "category": "MLB1055",
            "taken_at": format!("2026-11-02T{hour:02}:00:00Z"), "entries": entries})
    };
    let mut lists = vec![list(0, &order)];
    for (hour, &(from, to)) in moves.iter().enumerate() {
        let p = order.remove(from - 1);
        order.insert(to - 1, p);
        lists.push(list(hour + 1, &order));
    }
    let snapshots: Vec<crate::snapshot::Snapshot> = serde_json::from_value(serde_json::Value::Array(lists)).unwrap();
    crate::score_step::score_series(snapshots, &crate::signals::SignalConfig::default()).unwrap()
}

#[test]
fn a_move_is_one_top_mover_however_many_events_it_makes() {
    // #16 → #9 makes a climber and an entered_top_10; then #20 → #14, a smaller climb.
    let events = scored_moves(&[(16, 9), (20, 14)]);
    let of_the_big_climb: Vec<EventKind> =
        events.iter().filter(|e| e.product.as_str() == "MLB1016").map(|e| e.kind).collect();
    assert!(of_the_big_climb.contains(&EventKind::EnteredTopN), "{of_the_big_climb:?}");
    let movers = render::top_movers(&events, 10);
    let listed: Vec<(&str, Option<i32>)> = movers.iter().map(|e| (e.product.as_str(), e.places)).collect();
    assert_eq!(listed, [("MLB1016", Some(7)), ("MLB1020", Some(6))]);
    assert_eq!(render::top_movers(&events, 1).len(), 1);
}

//! The notify step: event items → is it recorded already? → controls → send → one delivery write with
//! the outcome; the retry pass (take over → send → mark); digests (claim → send → mark). Shared by the
//! `notifier` Lambda and the local runner (docs/alerts.md §4).

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_lambda_events::dynamodb::EventRecord;
use chrono::{DateTime, Duration, Timelike, Utc};

use super::destination::{DeliveryMode, Destination, Sender};
use super::outbox::{self, ArmSeen, Claim, DeliveryItem, DeliveryState, HoldItem, RetryItem};
use super::port::{NotifyError, ReportLinks};
use super::render::{self, DigestPeriod};
use crate::clock::Clock;
use crate::ids::{CategoryId, SiteId};
use crate::pipeline::Poison;
use crate::signals::{EventItem, EventKind};
use crate::site::SiteInfo;
use crate::store::{SnapshotStore, StoreError};
use crate::stream::{self, ChangeKind};

/// The notifier's global settings (per-destination ones are in [`super::Controls`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// TTL of outbox items, in days.
    pub ttl_days: i64,
    /// Sends tried before a delivery is given up (`dead`).
    pub max_attempts: u32,
    /// Waits before the 1st, 2nd, … retry, in seconds (the last repeats).
    pub backoff_secs: Vec<i64>,
    /// A delivery the retry pass took over (`pending`) and did not mark within this time is taken over
    /// again (that sender died).
    pub lease_secs: i64,
    /// Events older than this when processed are held for the digest instead of sent live (a stream
    /// replayed from its start, a new destination, a long outage).
    pub max_event_age_secs: i64,
    /// More `new_entrant` events than this for one snapshot of one list are held for the digest.
    pub flood_new_entrants: usize,
    /// Retry-queue items handled per destination per pass.
    pub retry_batch: usize,
    /// Held events read per destination per digest.
    pub hold_batch: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            ttl_days: 30,
            max_attempts: 8,
            backoff_secs: vec![60, 300, 1800, 7200, 21600],
            lease_secs: 600,
            max_event_age_secs: 6 * 3600,
            flood_new_entrants: 3,
            retry_batch: 50,
            hold_batch: 500,
        }
    }
}

impl NotifyConfig {
    fn backoff(&self, attempts: u32) -> Duration {
        let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        let secs = self.backoff_secs.get(i).or(self.backoff_secs.last()).copied().unwrap_or(60);
        Duration::seconds(secs.max(1))
    }
}

/// What the step needs.
#[derive(Clone, Copy)]
pub struct NotifyDeps<'a> {
    pub store: &'a dyn SnapshotStore,
    pub clock: &'a dyn Clock,
    pub destinations: &'a [Destination],
    pub config: &'a NotifyConfig,
}

/// One delivery decided or sent in a run.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub destination: String,
    pub channel: String,
    /// The event key (`EVT#…|{sk}`) or the digest key.
    pub event: String,
    pub state: DeliveryState,
    pub reason: Option<String>,
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct NotifyReport {
    /// Events looked at.
    pub events: usize,
    /// Deliveries sent (an event to a destination).
    pub sent: usize,
    /// Messages that went out (a coalesced Slack message or a digest counts once).
    pub messages: usize,
    pub held: usize,
    pub suppressed: usize,
    /// Deliveries already recorded by an earlier run (a replay): nothing sent.
    pub duplicates: usize,
    /// Failed this run; in the retry queue.
    pub failed: usize,
    /// Given up this run.
    pub dead: usize,
    /// Held events that went out in a digest.
    pub digested: usize,
    /// Destinations disabled during this run, with the receiver's reason.
    pub disabled: Vec<(String, String)>,
    /// Deliveries not attempted because their destination is disabled.
    pub skipped_disabled: usize,
    pub deliveries: Vec<DeliveryRecord>,
}

impl NotifyReport {
    fn record(&mut self, d: &DeliveryItem) {
        match d.state {
            DeliveryState::Sent => self.sent += 1,
            DeliveryState::Held => self.held += 1,
            DeliveryState::Suppressed => self.suppressed += 1,
            DeliveryState::Failed => self.failed += 1,
            DeliveryState::Dead => self.dead += 1,
            DeliveryState::Digested => self.digested += 1,
            DeliveryState::Pending => {}
        }
        self.deliveries.push(DeliveryRecord {
            destination: d.destination.clone(),
            channel: d.channel.clone(),
            event: format!("{}|{}", d.event_pk, d.event_sk),
            state: d.state,
            reason: d.reason.clone(),
        });
    }

    pub fn merge(&mut self, o: NotifyReport) {
        self.events += o.events;
        self.sent += o.sent;
        self.messages += o.messages;
        self.held += o.held;
        self.suppressed += o.suppressed;
        self.duplicates += o.duplicates;
        self.failed += o.failed;
        self.dead += o.dead;
        self.digested += o.digested;
        self.disabled.extend(o.disabled);
        self.skipped_disabled += o.skipped_disabled;
        self.deliveries.extend(o.deliveries);
    }
}

/// A send's result, cloneable (one Slack post carries several deliveries).
#[derive(Debug, Clone)]
enum SendResult {
    Ok(Option<String>),
    Transient { reason: String, retry_after: Option<u64> },
    Disabled(String),
    Rejected(String),
    Config(String),
}

impl From<&NotifyError> for SendResult {
    fn from(e: &NotifyError) -> Self {
        match e {
            NotifyError::Transient { reason, retry_after_secs, .. } => {
                SendResult::Transient { reason: reason.clone(), retry_after: *retry_after_secs }
            }
            NotifyError::Disabled { reason } => SendResult::Disabled(reason.clone()),
            NotifyError::Rejected { reason, .. } => SendResult::Rejected(reason.clone()),
            NotifyError::Config { reason, .. } => SendResult::Config(reason.clone()),
        }
    }
}

/// Whether keys are those of an event item.
pub fn is_event_key(pk: &str) -> bool {
    pk.starts_with(crate::keys::EVENT_PREFIX)
}

/// The outcome of a stream batch.
#[derive(Debug, Default)]
pub struct RecordsOutcome {
    pub report: NotifyReport,
    /// Records that are not event inserts.
    pub ignored: usize,
    pub poison: Vec<Poison>,
    /// Report this sequence number as the batch item failure (the batch is retried from there; a
    /// delivery already recorded is not sent again, one whose send was not recorded is).
    pub retry_from: Option<String>,
}

/// The notifier's batch logic for DynamoDB Streams records (INSERTs of event items).
pub async fn notify_records(records: &[EventRecord], deps: NotifyDeps<'_>) -> RecordsOutcome {
    let mut out = RecordsOutcome::default();
    let mut events = Vec::new();
    let mut first_seq: Option<String> = None;
    for record in records {
        let seq = record.change.sequence_number.clone().unwrap_or_default();
        let change = match stream::decode(record) {
            Ok(c) => c,
            Err(e) => {
                out.poison.push(Poison { sequence: seq, reason: format!("record does not decode: {e}") });
                continue;
            }
        };
        if change.kind != ChangeKind::Insert || !is_event_key(&change.pk) {
            out.ignored += 1;
            continue;
        }
        let decoded = change.new.as_ref().map(|i| i.decode::<EventItem>());
        match decoded {
            Some(Ok(e)) => {
                first_seq.get_or_insert(seq);
                events.push(e);
            }
            Some(Err(e)) => {
                out.poison.push(Poison { sequence: seq, reason: format!("event item does not decode: {e}") })
            }
            None => out.poison.push(Poison { sequence: seq, reason: "insert without a new image".into() }),
        }
    }
    match notify_events(&events, deps).await {
        Ok(r) => out.report = r,
        Err(e) => {
            tracing::warn!(error = %e, "notify step failed; the batch will be retried (recorded deliveries are not sent again)");
            out.retry_from = first_seq;
        }
    }
    out
}

/// Event keys of `new_entrant` events in lists where one snapshot brought more than the threshold.
fn flood_keys(events: &[EventItem], threshold: usize) -> HashSet<(String, String)> {
    let mut groups: HashMap<(&str, DateTime<Utc>), Vec<&EventItem>> = HashMap::new();
    for e in events.iter().filter(|e| e.kind == EventKind::NewEntrant) {
        groups.entry((e.pk.as_str(), e.taken_at)).or_default().push(e);
    }
    groups.into_values().filter(|g| g.len() > threshold).flatten().map(|e| (e.pk.clone(), e.sk.clone())).collect()
}

async fn disabled_reason(store: &dyn SnapshotStore, dest: &Destination) -> Result<Option<String>, StoreError> {
    Ok(outbox::destination_state(store, dest.id()).await?.filter(|s| s.disabled).map(|s| s.reason))
}

/// Applies the controls to new events and sends what is due now; each delivery is written once, with
/// its outcome.
pub async fn notify_events(events: &[EventItem], deps: NotifyDeps<'_>) -> Result<NotifyReport, StoreError> {
    let mut report = NotifyReport { events: events.len(), ..NotifyReport::default() };
    let mut sorted: Vec<&EventItem> = events.iter().collect();
    sorted.sort_by(|a, b| (a.taken_at, &a.pk, &a.sk).cmp(&(b.taken_at, &b.pk, &b.sk)));
    sorted.dedup_by(|a, b| a.pk == b.pk && a.sk == b.sk);
    let flood = flood_keys(events, deps.config.flood_new_entrants);
    // What earlier runs recorded (a replayed batch): one query per event that some destination wants.
    let mut recorded: HashSet<(String, String)> = HashSet::new();
    for e in sorted.iter().filter(|e| deps.destinations.iter().any(|d| d.config.filter.matches(e))) {
        for d in outbox::deliveries_of(deps.store, &e.pk, &e.sk).await? {
            recorded.insert((d.pk, d.sk));
        }
    }
    let runs = deps.destinations.iter().map(|dest| notify_destination(dest, &sorted, &flood, &recorded, deps));
    for r in futures::future::join_all(runs).await {
        report.merge(r?);
    }
    report.events = events.len();
    Ok(report)
}

/// A delivery on its way out.
struct Outgoing {
    event: EventItem,
    delivery: DeliveryItem,
    /// `false`: a live send, not written yet (written once after the send, if absent); `true`: the
    /// retry pass took it over, stored at `delivery.version` (marked with a compare-and-swap).
    stored: bool,
    arm: ArmSeen,
}

async fn notify_destination(
    dest: &Destination,
    events: &[&EventItem],
    flood: &HashSet<(String, String)>,
    recorded: &HashSet<(String, String)>,
    deps: NotifyDeps<'_>,
) -> Result<NotifyReport, StoreError> {
    let mut report = NotifyReport::default();
    let store = deps.store;
    let cfg = deps.config;
    let now = deps.clock.now();
    let c = &dest.config.controls;
    let channel = dest.config.channel.as_str();
    let matching: Vec<&EventItem> = events.iter().copied().filter(|e| dest.config.filter.matches(e)).collect();
    if matching.is_empty() {
        return Ok(report);
    }
    if let Some(reason) = disabled_reason(store, dest).await? {
        tracing::warn!(destination = dest.id(), %reason, "destination is disabled; not sending");
        report.skipped_disabled += matching.len();
        return Ok(report);
    }
    let day = c.local_day(now);
    let mut cap_used = match c.daily_cap {
        Some(_) => outbox::cap_count(store, dest.id(), &day).await?,
        None => 0,
    };
    let rearm = Duration::seconds(c.rearm_secs.max(0));
    let quiet = c.is_quiet(now);
    // (key kind, product) → event time, for re-arm within this run.
    let mut armed_now: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    let mut to_send: Vec<Outgoing> = Vec::new();
    let delivery_sk = crate::keys::delivery_sk(channel, dest.id());
    for e in matching {
        if recorded.contains(&(crate::keys::delivery_pk(&e.pk, &e.sk), delivery_sk.clone())) {
            report.duplicates += 1;
            continue;
        }
        let arm_key = (e.key_kind.clone(), e.product.to_string());
        let in_run = armed_now.get(&arm_key).is_some_and(|t| *t < e.taken_at && e.taken_at - *t < rearm);
        // Without a re-arm time nothing is read or recorded for it.
        let arm = if rearm > Duration::zero() && !in_run {
            ArmSeen::Read(outbox::arm(store, dest.id(), e).await?)
        } else {
            ArmSeen::Unknown
        };
        let armed_out = match &arm {
            ArmSeen::Read(a) => outbox::armed_out(a.as_ref(), e, rearm),
            ArmSeen::Unknown => false,
        };
        let (state, reason) = if in_run || armed_out {
            (DeliveryState::Suppressed, "re-arm")
        } else if c.mode != DeliveryMode::Immediate {
            (DeliveryState::Held, "digest mode")
        } else if now - e.taken_at > Duration::seconds(cfg.max_event_age_secs) {
            (DeliveryState::Held, "stale")
        } else if flood.contains(&(e.pk.clone(), e.sk.clone())) {
            (DeliveryState::Held, "new-entrant flood")
        } else if quiet {
            (DeliveryState::Held, "quiet hours")
        } else if c.daily_cap.is_some_and(|cap| cap_used >= cap) {
            (DeliveryState::Held, "daily cap")
        } else {
            (DeliveryState::Pending, "")
        };
        let mut d = DeliveryItem::new(e, dest.id(), channel, state, now, cfg.ttl_days);
        d.reason = (!reason.is_empty()).then(|| reason.to_string());
        if state == DeliveryState::Pending {
            // Sent now; nothing is written until the send has an outcome.
            cap_used = cap_used.saturating_add(1);
            armed_now.insert(arm_key, e.taken_at);
            to_send.push(Outgoing { event: (*e).clone(), delivery: d, stored: false, arm });
            continue;
        }
        if state == DeliveryState::Held {
            // The hold first: if the claim then fails (a replay), the digest checks the delivery's
            // state and drops a hold whose delivery is not `held`.
            let hold = HoldItem::new(&d, e);
            store.put(hold.to_item()?, crate::store::PutCondition::Always).await?;
        }
        match outbox::claim(store, d).await? {
            Claim::Exists(_) => report.duplicates += 1,
            Claim::Claimed(d) => report.record(&d),
        }
    }
    let sent_before = report.sent;
    send_group(dest, to_send, deps, &mut report).await?;
    let sent = u32::try_from(report.sent - sent_before).unwrap_or(u32::MAX);
    if c.daily_cap.is_some() && sent > 0 {
        outbox::add_to_cap(store, dest.id(), &day, sent, now).await?;
    }
    Ok(report)
}

/// Sends deliveries of one destination and writes each one's outcome.
async fn send_group(
    dest: &Destination,
    items: Vec<Outgoing>,
    deps: NotifyDeps<'_>,
    report: &mut NotifyReport,
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut disabled: Option<String> = None;
    let lang = dest.config.controls.lang();
    let lang_for = |e: &EventItem| lang.unwrap_or_else(|| render::lang_of(e));
    match &dest.sender {
        Sender::Slack(p) => {
            let events: Vec<&EventItem> = items.iter().map(|o| &o.event).collect();
            let messages = render::slack_messages(lang, &events);
            let mut results: Vec<Option<SendResult>> = vec![None; items.len()];
            for (msg, idxs) in messages {
                let r = match &disabled {
                    Some(reason) => SendResult::Disabled(reason.clone()),
                    None => match p.post(&msg).await {
                        Ok(()) => {
                            report.messages += 1;
                            SendResult::Ok(None)
                        }
                        Err(e) => SendResult::from(&e),
                    },
                };
                if let SendResult::Disabled(reason) = &r {
                    disabled = Some(reason.clone());
                }
                for i in idxs {
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Some(r.clone());
                    }
                }
            }
            for (o, r) in items.into_iter().zip(results) {
                let r = r.unwrap_or_else(|| SendResult::Transient { reason: "not sent".into(), retry_after: None });
                finish(dest, o, r, deps, report).await?;
            }
        }
        Sender::Sns(p) => {
            for o in items {
                let r = match &disabled {
                    Some(reason) => SendResult::Disabled(reason.clone()),
                    None => {
                        match p.publish(&render::sns_message(lang_for(&o.event), &o.event, &o.delivery.key())).await {
                            Ok(receipt) => {
                                report.messages += 1;
                                SendResult::Ok(Some(receipt.message_id))
                            }
                            Err(err) => SendResult::from(&err),
                        }
                    }
                };
                if let SendResult::Disabled(reason) = &r {
                    disabled = Some(reason.clone());
                }
                finish(dest, o, r, deps, report).await?;
            }
        }
        Sender::Feed(p) => {
            for o in items {
                let r = match p.emit(&render::feed_alert(lang_for(&o.event), &o.event, &o.delivery.key())).await {
                    Ok(()) => {
                        report.messages += 1;
                        SendResult::Ok(None)
                    }
                    Err(err) => SendResult::from(&err),
                };
                finish(dest, o, r, deps, report).await?;
            }
        }
    }
    if let Some(reason) = disabled {
        tracing::warn!(destination = dest.id(), %reason, "the receiver says this destination is gone; disabling it");
        outbox::disable_destination(deps.store, dest.id(), &reason, deps.clock.now()).await?;
        report.disabled.push((dest.id().to_string(), reason));
    }
    Ok(())
}

/// Writes a delivery's outcome after its send: a live one's single write (insert-if-absent), or the
/// retry pass's mark (compare-and-swap); a failure's retry-queue item goes in first, so a crash
/// between the two leaves a queue item without a failed delivery (dropped by the retry pass; the
/// stream's retry of a live batch sends again) rather than a failed delivery nobody retries.
async fn finish(
    dest: &Destination,
    o: Outgoing,
    r: SendResult,
    deps: NotifyDeps<'_>,
    report: &mut NotifyReport,
) -> Result<(), StoreError> {
    let store = deps.store;
    let cfg = deps.config;
    let now = deps.clock.now();
    let Outgoing { event: e, delivery: d, stored, arm } = o;
    let mut next = d.clone();
    next.attempts = d.attempts.saturating_add(1);
    next.updated_at = now;
    next.next_retry_at = None;
    next.retry_sk = None;
    let old_retry = d.retry_sk.clone();
    let mut new_retry: Option<RetryItem> = None;
    match r {
        SendResult::Ok(id) => {
            next.state = DeliveryState::Sent;
            next.reason = None;
            next.message_id = id;
        }
        SendResult::Transient { reason, retry_after } => {
            retry_or_die(&mut next, &mut new_retry, cfg, now, reason, retry_after);
        }
        SendResult::Config(reason) => {
            retry_or_die(&mut next, &mut new_retry, cfg, now, format!("publisher misconfigured: {reason}"), None);
        }
        SendResult::Rejected(reason) => {
            next.state = DeliveryState::Dead;
            next.reason = Some(format!("rejected: {reason}"));
        }
        SendResult::Disabled(reason) => {
            next.state = DeliveryState::Dead;
            next.reason = Some(format!("destination disabled: {reason}"));
        }
    }
    if let Some(r) = &new_retry {
        store.put(r.to_item()?, crate::store::PutCondition::Always).await?;
    }
    let written = if stored {
        outbox::swap(store, &d, next).await?
    } else {
        match outbox::claim(store, next).await? {
            Claim::Claimed(w) => Some(w),
            Claim::Exists(_) => None,
        }
    };
    let Some(written) = written else {
        // Someone else decided this delivery meanwhile (a retry pass that took over a lease; for a
        // live send, nothing should): theirs stands.
        tracing::warn!(destination = dest.id(), delivery = %d.key(), "delivery decided elsewhere during its send; keeping that");
        if let Some(r) = &new_retry {
            store.delete(&r.pk, &r.sk).await?;
        }
        return Ok(());
    };
    if let Some(sk) = old_retry {
        store.delete(&outbox::retry_pk(dest.id()), &sk).await?;
    }
    let rearm = Duration::seconds(dest.config.controls.rearm_secs.max(0));
    if written.state == DeliveryState::Sent && rearm > Duration::zero() {
        outbox::record_arm(store, dest.id(), &e, rearm, arm).await?;
    }
    if written.state == DeliveryState::Failed {
        tracing::warn!(destination = dest.id(), delivery = %written.key(), reason = ?written.reason, "delivery failed; queued for retry");
    }
    report.record(&written);
    Ok(())
}

fn retry_or_die(
    next: &mut DeliveryItem,
    new_retry: &mut Option<RetryItem>,
    cfg: &NotifyConfig,
    now: DateTime<Utc>,
    reason: String,
    retry_after: Option<u64>,
) {
    if next.attempts >= cfg.max_attempts {
        next.state = DeliveryState::Dead;
        next.reason = Some(format!("gave up after {} attempts: {reason}", next.attempts));
        return;
    }
    let hint = retry_after.map(|s| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX).min(86_400)));
    let wait = hint.map_or(cfg.backoff(next.attempts), |h| h.max(cfg.backoff(next.attempts)));
    let due = now + wait;
    next.state = DeliveryState::Failed;
    next.reason = Some(reason);
    next.next_retry_at = Some(due);
    let r = RetryItem::new(next, due);
    next.retry_sk = Some(r.sk.clone());
    *new_retry = Some(r);
}

/// The retry pass: sends again the failed deliveries that are due, and takes over again `pending` ones
/// it took before whose sender died (older than the lease). A live send leaves no queue item unless it
/// failed, so this pass never races the stream.
pub async fn retry_failed(deps: NotifyDeps<'_>) -> Result<NotifyReport, StoreError> {
    let mut report = NotifyReport::default();
    let store = deps.store;
    let cfg = deps.config;
    let now = deps.clock.now();
    for dest in deps.destinations {
        let due = outbox::due_retries(store, dest.id(), now, cfg.retry_batch).await?;
        if due.is_empty() {
            continue;
        }
        if let Some(reason) = disabled_reason(store, dest).await? {
            tracing::warn!(destination = dest.id(), %reason, "destination is disabled; its retries wait");
            report.skipped_disabled += due.len();
            continue;
        }
        let mut taken: Vec<Outgoing> = Vec::new();
        for r in due {
            let Some(d) = outbox::load(store, &r.delivery_pk, &r.delivery_sk).await? else {
                store.delete(&r.pk, &r.sk).await?;
                continue;
            };
            let stale_pending =
                d.state == DeliveryState::Pending && now - d.updated_at >= Duration::seconds(cfg.lease_secs);
            let is_ours = d.retry_sk.as_deref() == Some(r.sk.as_str());
            if !(is_ours && (d.state == DeliveryState::Failed || stale_pending)) {
                if d.state != DeliveryState::Pending || !is_ours {
                    store.delete(&r.pk, &r.sk).await?;
                }
                continue;
            }
            let event: Option<EventItem> =
                store.get(&d.event_pk, &d.event_sk).await?.map(|i| i.decode()).transpose()?;
            let Some(event) = event else {
                let mut dead = d.clone();
                dead.state = DeliveryState::Dead;
                dead.reason = Some("the event item is gone (expired)".into());
                dead.retry_sk = None;
                dead.updated_at = now;
                if let Some(w) = outbox::swap(store, &d, dead).await? {
                    store.delete(&r.pk, &r.sk).await?;
                    report.record(&w);
                }
                continue;
            };
            // Take it: a fresh lease item, then the compare-and-swap, then drop the old queue item.
            let mut next = d.clone();
            next.state = DeliveryState::Pending;
            next.updated_at = now;
            let lease = RetryItem::new(&next, now + Duration::seconds(cfg.lease_secs));
            next.retry_sk = Some(lease.sk.clone());
            store.put(lease.to_item()?, crate::store::PutCondition::Always).await?;
            match outbox::swap(store, &d, next).await? {
                Some(w) => {
                    store.delete(&r.pk, &r.sk).await?;
                    taken.push(Outgoing { event, delivery: w, stored: true, arm: ArmSeen::Unknown });
                }
                None => store.delete(&lease.pk, &lease.sk).await?,
            }
        }
        report.events += taken.len();
        send_group(dest, taken, deps, &mut report).await?;
    }
    Ok(report)
}

/// Which scheduled digest is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    /// Every hour: held events of immediate and hourly destinations; daily destinations at their
    /// local digest hour.
    Hourly,
    /// Forced: every destination's held events, whatever its mode (a manual or end-of-day run).
    Daily,
}

impl std::str::FromStr for DigestKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hourly" => Ok(DigestKind::Hourly),
            "daily" => Ok(DigestKind::Daily),
            other => Err(format!("unknown digest {other:?} (expected hourly or daily)")),
        }
    }
}

/// The scheduled digest: for each destination outside its quiet hours, the held events (still
/// `held` in the outbox) summarized per category, sent once per hour and destination.
pub async fn run_digest(kind: DigestKind, deps: NotifyDeps<'_>) -> Result<NotifyReport, StoreError> {
    run_digest_with_reports(kind, deps, None).await
}

/// Seconds of a digest run that may go into making reports (reading a category's week, rendering,
/// writing it): a third of the notifier's default 60 s timeout. Categories reached after that go out
/// without a link rather than the digest timing out.
pub const REPORT_LINKS_BUDGET_SECS: i64 = 20;

/// Report links asked for during one digest run, per category: each category's report is made once
/// per run, however many destinations carry it. A failure leaves that category without a link (the
/// digest still goes out), and so does running out of [`REPORT_LINKS_BUDGET_SECS`].
struct RunLinks<'a> {
    source: Option<&'a dyn ReportLinks>,
    links: BTreeMap<(SiteId, CategoryId), Option<String>>,
    clock: &'a dyn Clock,
    started: DateTime<Utc>,
    out_of_time: bool,
}

impl RunLinks<'_> {
    async fn get(&mut self, site: SiteId, category: &CategoryId, at: DateTime<Utc>) -> Option<String> {
        let source = self.source?;
        if let Some(l) = self.links.get(&(site, category.clone())) {
            return l.clone();
        }
        if self.clock.now() - self.started > Duration::seconds(REPORT_LINKS_BUDGET_SECS) {
            if !self.out_of_time {
                tracing::warn!(
                    budget_secs = REPORT_LINKS_BUDGET_SECS,
                    "report budget spent; the rest of this digest goes without report links"
                );
                self.out_of_time = true;
            }
            return None;
        }
        let link = match source.report_link(site, category, at).await {
            Ok(l) => l,
            Err(e) => {
                // The error never carries the link (a bearer URL), only why there is none.
                tracing::warn!(%site, %category, error = %e, "no report link for this digest; sending it without");
                None
            }
        };
        self.links.insert((site, category.clone()), link.clone());
        link
    }
}

/// [`run_digest`] whose messages link to each category's HTML report (`reports`: `None` is exactly
/// [`run_digest`]): the Slack digest has a button per category, the SNS e-mail and default bodies a
/// "full report" line, the feed line its `link`. The SMS stays without (a presigned URL does not fit).
pub async fn run_digest_with_reports(
    kind: DigestKind,
    deps: NotifyDeps<'_>,
    reports: Option<&dyn ReportLinks>,
) -> Result<NotifyReport, StoreError> {
    let mut report = NotifyReport::default();
    let store = deps.store;
    let cfg = deps.config;
    let now = deps.clock.now();
    let mut links =
        RunLinks { source: reports, links: BTreeMap::new(), clock: deps.clock, started: now, out_of_time: false };
    for dest in deps.destinations {
        let c = &dest.config.controls;
        if c.is_quiet(now) {
            continue;
        }
        if kind == DigestKind::Hourly && c.mode == DeliveryMode::Daily && !c.daily_digest_due(now) {
            continue;
        }
        let holds = outbox::held(store, dest.id(), cfg.hold_batch).await?;
        if holds.is_empty() {
            continue;
        }
        if let Some(reason) = disabled_reason(store, dest).await? {
            tracing::warn!(destination = dest.id(), %reason, "destination is disabled; its digest waits");
            report.skipped_disabled += holds.len();
            continue;
        }
        let mut valid: Vec<(HoldItem, DeliveryItem)> = Vec::new();
        for h in holds {
            match outbox::load(store, &h.delivery_pk, &h.delivery_sk).await? {
                Some(d) if d.state == DeliveryState::Held => valid.push((h, d)),
                _ => store.delete(&h.pk, &h.sk).await?,
            }
        }
        if valid.is_empty() {
            continue;
        }
        report.events += valid.len();
        digest_destination(dest, valid, deps, &mut links, &mut report).await?;
    }
    Ok(report)
}

async fn digest_destination(
    dest: &Destination,
    valid: Vec<(HoldItem, DeliveryItem)>,
    deps: NotifyDeps<'_>,
    links: &mut RunLinks<'_>,
    report: &mut NotifyReport,
) -> Result<(), StoreError> {
    let store = deps.store;
    let now = deps.clock.now();
    let hour = now.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0)).unwrap_or(now);
    let events: Vec<&EventItem> = valid.iter().map(|(h, _)| &h.event).collect();
    let from = events.iter().map(|e| e.taken_at).min().unwrap_or(now);
    let period = DigestPeriod { from, to: now };
    let mut cats = render::summarize(&events);
    let over = dest.config.controls.lang();
    let lang = over.unwrap_or_else(|| render::digest_lang(&cats));
    // Units: one Slack message for everything; one SNS / feed message per category.
    let mut units: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    match dest.sender {
        Sender::Slack(_) => {
            units.insert("all".into(), (0..valid.len()).collect());
        }
        _ => {
            for (i, e) in events.iter().enumerate() {
                units.entry(format!("{}#{}", e.site, e.category)).or_default().push(i);
            }
        }
    }
    let mut disabled: Option<String> = None;
    for (unit, idxs) in units {
        let mut d = DeliveryItem::keyed(
            &format!("DIGEST#{}", dest.id()),
            &format!("{}#{unit}", crate::keys::ts(hour)),
            dest.id(),
            dest.config.channel.as_str(),
            DeliveryState::Pending,
            now,
            deps.config.ttl_days,
        );
        d.reason = Some(format!("digest of {} events", idxs.len()));
        let Claim::Claimed(d) = outbox::claim(store, d).await? else {
            report.duplicates += 1;
            continue;
        };
        let unit_events: Vec<&EventItem> = idxs.iter().filter_map(|i| events.get(*i).copied()).collect();
        let mut unit_cats = render::summarize(&unit_events);
        // Links only for what goes out now (claimed above): the whole message's categories for Slack,
        // this unit's category otherwise.
        let linked = if matches!(dest.sender, Sender::Slack(_)) { &mut cats } else { &mut unit_cats };
        for c in linked.iter_mut() {
            c.report = links.get(c.site, &c.category, now).await;
        }
        let result: Result<Option<String>, NotifyError> = match (&dest.sender, &disabled) {
            (_, Some(reason)) => Err(NotifyError::Disabled { reason: reason.clone() }),
            (Sender::Slack(p), None) => p.post(&render::digest_slack(lang, &period, &cats)).await.map(|_| None),
            (Sender::Sns(p), None) => match unit_cats.first() {
                Some(c) => {
                    let l = over.unwrap_or(SiteInfo::of(c.site).lang);
                    p.publish(&render::digest_sns(l, &period, c, &d.key())).await.map(|r| Some(r.message_id))
                }
                None => Ok(None),
            },
            (Sender::Feed(p), None) => match unit_cats.first() {
                Some(c) => {
                    let l = over.unwrap_or(SiteInfo::of(c.site).lang);
                    p.emit(&render::digest_feed(l, &period, c, &d.key())).await.map(|_| None)
                }
                None => Ok(None),
            },
        };
        let mut next = d.clone();
        next.attempts = 1;
        next.updated_at = now;
        match result {
            Ok(id) => {
                report.messages += 1;
                next.state = DeliveryState::Sent;
                next.message_id = id;
                for i in &idxs {
                    if let Some((h, hd)) = valid.get(*i) {
                        let mut dg = hd.clone();
                        dg.state = DeliveryState::Digested;
                        dg.updated_at = now;
                        if let Some(w) = outbox::swap(store, hd, dg).await? {
                            report.record(&w);
                        }
                        store.delete(&h.pk, &h.sk).await?;
                    }
                }
            }
            Err(e) => {
                // The holds stay: the next digest includes them again.
                if e.disables_destination() {
                    disabled = Some(e.to_string());
                }
                next.state = if e.is_transient() { DeliveryState::Failed } else { DeliveryState::Dead };
                next.reason = Some(format!("digest not delivered: {e}"));
                tracing::warn!(destination = dest.id(), error = %e, "digest not delivered; its events stay held");
            }
        }
        if let Some(w) = outbox::swap(store, &d, next).await? {
            if w.state != DeliveryState::Sent {
                report.record(&w);
            }
        }
    }
    if let Some(reason) = disabled {
        outbox::disable_destination(store, dest.id(), &reason, now).await?;
        report.disabled.push((dest.id().to_string(), reason));
    }
    Ok(())
}

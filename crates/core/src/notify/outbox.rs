//! The outbox and the notifier's other state items, all in the single table.
//!
//! | item | pk | sk | what |
//! |---|---|---|---|
//! | delivery | `DLV#{event pk}#{event sk}` | `{channel}#{target}` | [`DeliveryItem`]: sent / failed / dead / held / suppressed / digested (pending: taken by the retry pass or a digest) |
//! | retry queue | `RETRY#{target}` | `{due ts}#{delivery pk}#{delivery sk}` | [`RetryItem`]: what the retry pass picks up |
//! | held event | `HOLD#{target}` | `{event ts}#{event pk}#{event sk}` | [`HoldItem`]: waits for the next digest |
//! | re-arm | `ARM#{target}` | `{key kind}#{product}` | [`ArmItem`]: when that alert last went out |
//! | daily cap | `CAP#{target}` | `{local day}` | [`CapItem`]: live alerts sent that day (CAS on `version`) |
//! | destination | `DEST#{target}` | `STATE` | [`DestinationState`]: disabled, and why |
//!
//! A live delivery is written **once, after its send, with its outcome** (`sent`, or `failed` with
//! its retry-queue item written first, or `dead`), as an insert-if-absent. Before sending, the step
//! reads the event's delivery items ([`deliveries_of`], one query per event): a replayed stream batch
//! finds them and sends nothing again. A crash between a send and its write leaves no item, so the
//! stream's retry of the batch sends that alert again (at least once, never zero times while the
//! stream retries). The retry pass and digests, which do not ride on a stream retry, still take a
//! delivery over before sending ([`swap`] to `pending` with a lease) and mark it after.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::keys;
use crate::signals::EventItem;
use crate::store::{Item, PutCondition, PutOutcome, Query, SnapshotStore, StoreError};

/// The state of one (event, destination) delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Taken over by the retry pass, or a digest claimed, and being sent (if that sender crashed, the
    /// retry pass takes it over again after the lease). A live send never writes it.
    Pending,
    Sent,
    /// Not delivered; will be tried again at `next_retry_at`.
    Failed,
    /// Waiting for the next digest (quiet hours, daily cap, digest mode, flood or stale).
    Held,
    /// Went out in a digest.
    Digested,
    /// Not sent on purpose (re-arm).
    Suppressed,
    /// Given up: too many attempts, a rejected message, a disabled destination or a vanished event.
    /// Kept in the table (never deleted) so it can be inspected.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Held => "held",
            DeliveryState::Digested => "digested",
            DeliveryState::Suppressed => "suppressed",
            DeliveryState::Dead => "dead",
        }
    }
}

/// The delivery item `DLV#{event key}` / `{channel}#{target}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryItem {
    pub pk: String,
    pub sk: String,
    pub event_pk: String,
    pub event_sk: String,
    pub destination: String,
    pub channel: String,
    pub state: DeliveryState,
    /// Sends attempted.
    pub attempts: u32,
    /// Bumped on every write after the first (compare-and-swap).
    pub version: u64,
    /// When the delivery was decided (for a live send: just before the send).
    pub claimed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Why it is held, suppressed, failed or dead (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The sort key of this delivery's retry-queue item, while it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_sk: Option<String>,
    pub expires_at: i64,
}

impl DeliveryItem {
    pub fn new(
        event: &EventItem,
        destination: &str,
        channel: &str,
        state: DeliveryState,
        now: DateTime<Utc>,
        ttl_days: i64,
    ) -> Self {
        Self::keyed(&event.pk, &event.sk, destination, channel, state, now, ttl_days)
    }

    /// A delivery of something that is not an event item (a digest: `DIGEST#{target}` / `{hour}#{unit}`).
    pub fn keyed(
        event_pk: &str,
        event_sk: &str,
        destination: &str,
        channel: &str,
        state: DeliveryState,
        now: DateTime<Utc>,
        ttl_days: i64,
    ) -> Self {
        DeliveryItem {
            pk: keys::delivery_pk(event_pk, event_sk),
            sk: keys::delivery_sk(channel, destination),
            event_pk: event_pk.to_string(),
            event_sk: event_sk.to_string(),
            destination: destination.to_string(),
            channel: channel.to_string(),
            state,
            attempts: 0,
            version: 1,
            claimed_at: now,
            updated_at: now,
            next_retry_at: None,
            reason: None,
            message_id: None,
            retry_sk: None,
            expires_at: crate::signals::items::expiry(now, ttl_days),
        }
    }

    pub fn to_item(&self) -> Result<Item, StoreError> {
        Item::from_typed(&self.pk, &self.sk, self)
    }

    /// The key of the delivery, for reports and logs.
    pub fn key(&self) -> String {
        format!("{}|{}", self.pk, self.sk)
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The claim is ours.
    Claimed(DeliveryItem),
    /// Someone already decided this delivery (a replay): the existing item.
    Exists(Option<DeliveryItem>),
}

/// Inserts a delivery if none exists for its key: a digest's claim, a held or suppressed delivery, and
/// a live delivery's one write after its send.
pub async fn claim(store: &dyn SnapshotStore, d: DeliveryItem) -> Result<Claim, StoreError> {
    match store.put(d.to_item()?, PutCondition::IfAbsent).await? {
        PutOutcome::Written => Ok(Claim::Claimed(d)),
        PutOutcome::ConditionFailed => Ok(Claim::Exists(load(store, &d.pk, &d.sk).await?)),
    }
}

pub async fn load(store: &dyn SnapshotStore, pk: &str, sk: &str) -> Result<Option<DeliveryItem>, StoreError> {
    store.get(pk, sk).await?.map(|i| i.decode()).transpose()
}

/// Every delivery of one event, whatever its destination (one query of the event's `DLV#` partition).
pub async fn deliveries_of(
    store: &dyn SnapshotStore,
    event_pk: &str,
    event_sk: &str,
) -> Result<Vec<DeliveryItem>, StoreError> {
    let q = Query::pk(keys::delivery_pk(event_pk, event_sk));
    store.query(&q).await?.iter().map(Item::decode).collect()
}

/// Writes `next` over `prev` if `prev`'s version is still the stored one; `next.version` becomes
/// `prev.version + 1`. Returns whether it was written.
pub async fn swap(
    store: &dyn SnapshotStore,
    prev: &DeliveryItem,
    mut next: DeliveryItem,
) -> Result<Option<DeliveryItem>, StoreError> {
    next.version = prev.version + 1;
    let cond = PutCondition::IfAttrEquals { name: "version".into(), value: json!(prev.version) };
    match store.put(next.to_item()?, cond).await? {
        PutOutcome::Written => Ok(Some(next)),
        PutOutcome::ConditionFailed => Ok(None),
    }
}

/// A retry-queue item `RETRY#{target}` / `{due}#{delivery pk}#{delivery sk}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryItem {
    pub pk: String,
    pub sk: String,
    pub delivery_pk: String,
    pub delivery_sk: String,
    pub due: DateTime<Utc>,
    pub expires_at: i64,
}

impl RetryItem {
    pub fn new(d: &DeliveryItem, due: DateTime<Utc>) -> Self {
        RetryItem {
            pk: retry_pk(&d.destination),
            sk: format!("{}#{}#{}", keys::ts(due), d.pk, d.sk),
            delivery_pk: d.pk.clone(),
            delivery_sk: d.sk.clone(),
            due,
            expires_at: d.expires_at,
        }
    }

    pub fn to_item(&self) -> Result<Item, StoreError> {
        Item::from_typed(&self.pk, &self.sk, self)
    }
}

pub fn retry_pk(destination: &str) -> String {
    format!("RETRY#{destination}")
}

/// Retry items of a destination due at `now` or before, oldest first.
pub async fn due_retries(
    store: &dyn SnapshotStore,
    destination: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<RetryItem>, StoreError> {
    let q = Query::pk(retry_pk(destination)).between("0", format!("{}#~", keys::ts(now))).limit(limit);
    store.query(&q).await?.iter().map(Item::decode).collect()
}

/// A held event `HOLD#{target}` / `{event ts}#{event pk}#{event sk}`, with the event itself so the
/// digest needs no other read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldItem {
    pub pk: String,
    pub sk: String,
    pub delivery_pk: String,
    pub delivery_sk: String,
    pub event: EventItem,
    pub expires_at: i64,
}

impl HoldItem {
    pub fn new(d: &DeliveryItem, event: &EventItem) -> Self {
        HoldItem {
            pk: hold_pk(&d.destination),
            sk: format!("{}#{}#{}", keys::ts(event.taken_at), event.pk, event.sk),
            delivery_pk: d.pk.clone(),
            delivery_sk: d.sk.clone(),
            event: event.clone(),
            expires_at: d.expires_at,
        }
    }

    pub fn to_item(&self) -> Result<Item, StoreError> {
        Item::from_typed(&self.pk, &self.sk, self)
    }
}

pub fn hold_pk(destination: &str) -> String {
    format!("HOLD#{destination}")
}

/// The held events of a destination, oldest first.
pub async fn held(store: &dyn SnapshotStore, destination: &str, limit: usize) -> Result<Vec<HoldItem>, StoreError> {
    let q = Query::pk(hold_pk(destination)).limit(limit);
    store.query(&q).await?.iter().map(Item::decode).collect()
}

/// When an alert last went out to a destination: `ARM#{target}` / `{key kind}#{product}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmItem {
    pub pk: String,
    pub sk: String,
    /// The time of the event that was delivered.
    pub last_at: DateTime<Utc>,
    pub expires_at: i64,
}

pub fn arm_key(destination: &str, e: &EventItem) -> (String, String) {
    (format!("ARM#{destination}"), format!("{}#{}", e.key_kind, e.product))
}

/// The re-arm item of an event's (key kind, product) at a destination, if any.
pub async fn arm(store: &dyn SnapshotStore, destination: &str, e: &EventItem) -> Result<Option<ArmItem>, StoreError> {
    let (pk, sk) = arm_key(destination, e);
    store.get(&pk, &sk).await?.map(|i| i.decode()).transpose()
}

/// Whether an event is within the re-arm time of the delivery `arm` records.
pub fn armed_out(arm: Option<&ArmItem>, e: &EventItem, rearm: Duration) -> bool {
    // Only an earlier delivery re-arms; an older event processed late does not block a newer one.
    arm.is_some_and(|a| a.last_at < e.taken_at && e.taken_at - a.last_at < rearm)
}

/// What the sender knows of a re-arm item before recording a delivery in it.
#[derive(Debug, Clone, PartialEq)]
pub enum ArmSeen {
    /// Not read in this run (the retry pass): [`record_arm`] reads it first.
    Unknown,
    /// Read when the rules were applied (`None`: there was none).
    Read(Option<ArmItem>),
}

/// Records that an event went out (keeps the latest time). The write is conditional on the item
/// being what `seen` says (absent, or the same `last_at`), so a concurrent sender's later time is
/// never overwritten; on a conflict the item is read again.
pub async fn record_arm(
    store: &dyn SnapshotStore,
    destination: &str,
    e: &EventItem,
    rearm: Duration,
    seen: ArmSeen,
) -> Result<(), StoreError> {
    let (pk, sk) = arm_key(destination, e);
    let mut current = match seen {
        ArmSeen::Read(a) => a,
        ArmSeen::Unknown => arm(store, destination, e).await?,
    };
    for _ in 0..8 {
        if current.as_ref().is_some_and(|a| a.last_at >= e.taken_at) {
            return Ok(());
        }
        let cond = match &current {
            Some(a) => PutCondition::IfAttrEquals { name: "last_at".into(), value: json!(a.last_at) },
            None => PutCondition::IfAbsent,
        };
        let expires_at = (e.taken_at + rearm + Duration::days(1)).timestamp();
        let a = ArmItem { pk: pk.clone(), sk: sk.clone(), last_at: e.taken_at, expires_at };
        if store.put(Item::from_typed(&pk, &sk, &a)?, cond).await? == PutOutcome::Written {
            return Ok(());
        }
        current = arm(store, destination, e).await?;
    }
    Err(StoreError::Rejected(format!("the re-arm item {pk}/{sk} stays contended")))
}

/// Live alerts sent to a destination on a local day: `CAP#{target}` / `{day}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapItem {
    pub pk: String,
    pub sk: String,
    pub count: u32,
    pub version: u64,
    pub expires_at: i64,
}

fn cap_key(destination: &str, day: &str) -> (String, String) {
    (format!("CAP#{destination}"), day.to_string())
}

pub async fn cap_count(store: &dyn SnapshotStore, destination: &str, day: &str) -> Result<u32, StoreError> {
    let (pk, sk) = cap_key(destination, day);
    Ok(store.get(&pk, &sk).await?.map(|i| i.decode::<CapItem>()).transpose()?.map_or(0, |c| c.count))
}

/// Adds `n` to a day's count (compare-and-swap, retried on contention).
pub async fn add_to_cap(
    store: &dyn SnapshotStore,
    destination: &str,
    day: &str,
    n: u32,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (pk, sk) = cap_key(destination, day);
    for _ in 0..8 {
        let current: Option<CapItem> = store.get(&pk, &sk).await?.map(|i| i.decode()).transpose()?;
        let (next, cond) = match &current {
            Some(c) => (
                CapItem { count: c.count.saturating_add(n), version: c.version + 1, ..c.clone() },
                PutCondition::IfAttrEquals { name: "version".into(), value: json!(c.version) },
            ),
            None => (
                CapItem {
                    pk: pk.clone(),
                    sk: sk.clone(),
                    count: n,
                    version: 1,
                    expires_at: (now + Duration::days(3)).timestamp(),
                },
                PutCondition::IfAbsent,
            ),
        };
        if store.put(Item::from_typed(&pk, &sk, &next)?, cond).await? == PutOutcome::Written {
            return Ok(());
        }
    }
    Err(StoreError::Rejected(format!("the daily count of {destination} stays contended")))
}

/// `DEST#{target}` / `STATE`: a destination that the receiver told us is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationState {
    pub pk: String,
    pub sk: String,
    pub disabled: bool,
    pub reason: String,
    pub since: DateTime<Utc>,
}

pub fn destination_state_key(destination: &str) -> (String, String) {
    (format!("DEST#{destination}"), "STATE".to_string())
}

pub async fn destination_state(
    store: &dyn SnapshotStore,
    destination: &str,
) -> Result<Option<DestinationState>, StoreError> {
    let (pk, sk) = destination_state_key(destination);
    store.get(&pk, &sk).await?.map(|i| i.decode()).transpose()
}

pub async fn disable_destination(
    store: &dyn SnapshotStore,
    destination: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (pk, sk) = destination_state_key(destination);
    let s = DestinationState { pk: pk.clone(), sk: sk.clone(), disabled: true, reason: reason.to_string(), since: now };
    store.put(Item::from_typed(&pk, &sk, &s)?, PutCondition::Always).await.map(|_| ())
}

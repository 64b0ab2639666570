//! Stream batches through the steps, shared by the Lambdas and the local runner.
//!
//! [`score_records`] is the trend-scorer's batch logic: it decodes each DynamoDB Streams record,
//! scores snapshot inserts in order, and returns the partial batch failure to report: it stops at the
//! first transient failure (Lambda retries the batch from that record, so order is kept) and skips a
//! permanent one after logging it, so a poison record cannot block the shard.

use aws_lambda_events::dynamodb::EventRecord;

use crate::keys;
use crate::score_step::{score_snapshot_with, ScoreError, StateCache};
use crate::signals::{EventItem, SignalConfig, SnapshotItem};
use crate::snapshot::Snapshot;
use crate::store::SnapshotStore;
use crate::stream::batch::BatchRecord;
use crate::stream::{self, ChangeKind, RawRecord, RecordText};

/// A record that could not be processed and will not be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    pub sequence: String,
    pub reason: String,
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Snapshot inserts scored.
    pub scored: usize,
    /// Records that are not snapshot inserts (filtered out in AWS; ignored here too).
    pub ignored: usize,
    /// Permanent failures: skipped and logged.
    pub poison: Vec<Poison>,
    /// The sequence number of the first record that failed transiently: report it as the batch item
    /// failure; it and every later record will be delivered again.
    pub retry_from: Option<String>,
    /// Events written by this batch.
    pub events: Vec<EventItem>,
}

/// Whether keys are those of a snapshot item.
pub fn is_snapshot_key(pk: &str, sk: &str) -> bool {
    pk.starts_with("CAT#") && sk.starts_with(keys::SNAP_PREFIX)
}

/// A stream record the scorer can read: its sequence number, and the snapshot when it is the insert
/// of a snapshot item. Implemented for the `aws_lambda_events` record (the local runner's change
/// feed) and for [`RawRecord`] (the Lambda, which decodes images straight into the item type); a
/// test holds the two to the same results.
pub trait SnapshotRecord {
    fn sequence(&self) -> &str;
    /// `Ok(None)` for any record other than the insert of a snapshot item; `Err` with the reason
    /// for a record that can never be read.
    fn snapshot_insert(&self) -> Result<Option<Snapshot>, String>;
}

impl SnapshotRecord for EventRecord {
    fn sequence(&self) -> &str {
        self.change.sequence_number.as_deref().unwrap_or_default()
    }

    fn snapshot_insert(&self) -> Result<Option<Snapshot>, String> {
        let change = stream::decode(self).map_err(|e| format!("record does not decode: {e}"))?;
        if change.kind != ChangeKind::Insert || !is_snapshot_key(&change.pk, &change.sk) {
            return Ok(None);
        }
        let new = change.new.ok_or_else(|| "insert without a new image".to_string())?;
        let item = SnapshotItem::from_item(&new).map_err(|e| format!("snapshot item does not decode: {e}"))?;
        Ok(Some(item.snapshot))
    }
}

impl SnapshotRecord for RawRecord {
    fn sequence(&self) -> &str {
        RawRecord::sequence(self)
    }

    fn snapshot_insert(&self) -> Result<Option<Snapshot>, String> {
        self.text().snapshot_insert()
    }
}

impl<B: AsRef<str>> SnapshotRecord for BatchRecord<B> {
    fn sequence(&self) -> &str {
        self.text().sequence()
    }

    fn snapshot_insert(&self) -> Result<Option<Snapshot>, String> {
        // The snapshot the batch reader read, when the record is the insert of a snapshot item whose
        // keys and image it read in one pass: what the record's text gives.
        match self.take_snapshot() {
            Some(snapshot) => Ok(Some(snapshot)),
            None => self.text().snapshot_insert(),
        }
    }
}

impl RecordText<'_> {
    /// [`SnapshotRecord::snapshot_insert`] of the record these are the parts of.
    pub fn snapshot_insert(&self) -> Result<Option<Snapshot>, String> {
        let kind = self.kind().map_err(|e| format!("record does not decode: {e}"))?;
        let snapshot_key = self.keys_satisfy(is_snapshot_key).map_err(|e| format!("record does not decode: {e}"))?;
        if kind != ChangeKind::Insert || !snapshot_key {
            return Ok(None);
        }
        let snapshot = self
            .new_snapshot()
            .map_err(|e| format!("snapshot item does not decode: {e}"))?
            .ok_or_else(|| "insert without a new image".to_string())?;
        Ok(Some(snapshot))
    }
}

/// Scores the snapshot inserts of a batch of stream records, in order.
pub async fn score_records<R: SnapshotRecord>(
    records: &[R],
    store: &dyn SnapshotStore,
    cfg: &SignalConfig,
) -> BatchOutcome {
    score_records_with(records, store, cfg, None).await
}

/// [`score_records`] with the process's [`StateCache`] (the Lambda and the local runner keep one for
/// their lifetime).
pub async fn score_records_with<R: SnapshotRecord>(
    records: &[R],
    store: &dyn SnapshotStore,
    cfg: &SignalConfig,
    cache: Option<&StateCache>,
) -> BatchOutcome {
    let mut out = BatchOutcome::default();
    for record in records {
        let seq = record.sequence().to_string();
        let snapshot = match record.snapshot_insert() {
            Ok(Some(s)) => s,
            Ok(None) => {
                out.ignored += 1;
                continue;
            }
            Err(reason) => {
                out.poison.push(Poison { sequence: seq, reason });
                continue;
            }
        };
        match score_snapshot_with(store, &snapshot, cfg, cache).await {
            Ok(report) => {
                out.scored += 1;
                out.events.extend(report.events_written);
            }
            Err(e) if e.is_transient() => {
                out.retry_from = Some(seq);
                break;
            }
            Err(e @ (ScoreError::InvalidSnapshot(_) | ScoreError::Store(_) | ScoreError::Contended { .. })) => {
                out.poison.push(Poison { sequence: seq, reason: format!("snapshot cannot be scored: {e}") });
            }
        }
    }
    out
}

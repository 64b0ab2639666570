//! Stream batches through the steps, shared by the Lambdas and the local runner.
//!
//! [`score_records`] is the trend-scorer's batch logic: it decodes each DynamoDB Streams record,
//! scores snapshot inserts in order, and returns the partial batch failure to report: it stops at the
//! first transient failure (Lambda retries the batch from that record, so order is kept) and skips a
//! permanent one after logging it, so a poison record cannot block the shard.

use aws_lambda_events::dynamodb::EventRecord;

use crate::keys;
use crate::score_step::{score_snapshot, ScoreError};
use crate::signals::{EventItem, SignalConfig, SnapshotItem};
use crate::store::SnapshotStore;
use crate::stream::{self, ChangeKind};

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

/// Scores the snapshot inserts of a batch of stream records, in order.
pub async fn score_records(records: &[EventRecord], store: &dyn SnapshotStore, cfg: &SignalConfig) -> BatchOutcome {
    let mut out = BatchOutcome::default();
    for record in records {
        let seq = record.change.sequence_number.clone().unwrap_or_default();
        let change = match stream::decode(record) {
            Ok(c) => c,
            Err(e) => {
                out.poison.push(Poison { sequence: seq, reason: format!("record does not decode: {e}") });
                continue;
            }
        };
        if change.kind != ChangeKind::Insert || !is_snapshot_key(&change.pk, &change.sk) {
            out.ignored += 1;
            continue;
        }
        let Some(new) = change.new else {
            out.poison.push(Poison { sequence: seq, reason: "insert without a new image".into() });
            continue;
        };
        let snapshot = match SnapshotItem::from_item(&new) {
            Ok(item) => item.snapshot,
            Err(e) => {
                out.poison.push(Poison { sequence: seq, reason: format!("snapshot item does not decode: {e}") });
                continue;
            }
        };
        match score_snapshot(store, &snapshot, cfg).await {
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

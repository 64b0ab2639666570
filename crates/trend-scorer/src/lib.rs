//! `trend-scorer`: the Lambda that scores snapshot inserts from the table's DynamoDB stream.
//!
//! Thin wiring around [`meli_core::pipeline::score_records`]: the event source mapping delivers
//! INSERTs of snapshot items only (filter criteria in Terraform), [`handle`] scores them in order and
//! reports a partial batch failure with the sequence number of the first record that failed
//! transiently, so Lambda retries from there (`ReportBatchItemFailures`, bisect on error). A record
//! that can never be scored is logged and skipped, so it cannot block the shard.
//!
//! Layout:
//! - [`config`]: `Config::from_env()`, the only place that reads the environment.
//! - [`handle`]: one batch.

pub mod config;

use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use meli_core::pipeline::{score_records_with, BatchOutcome, SnapshotRecord};
use meli_core::score_step::StateCache;
use meli_core::signals::SignalConfig;
use meli_core::store::SnapshotStore;

pub use config::Config;

/// The partial batch response for an outcome: the first transiently failed record, if any.
pub fn response(outcome: &BatchOutcome) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(seq) = &outcome.retry_from {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(seq.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

/// Scores one batch of stream records. The Lambda passes the records of a
/// [`meli_core::stream::RawEvent`], whose images are decoded straight into the snapshot item, and the
/// [`StateCache`] it keeps from its cold start: a list this instance scored before is scored without
/// reading its `SCORE` item.
pub async fn handle<R: SnapshotRecord>(
    records: &[R],
    store: &dyn SnapshotStore,
    signals: &SignalConfig,
    cache: &StateCache,
) -> DynamoDbEventResponse {
    let outcome = score_records_with(records, store, signals, Some(cache)).await;
    for p in &outcome.poison {
        tracing::error!(sequence = %p.sequence, reason = %p.reason, "skipped a record that cannot be scored");
    }
    if let Some(seq) = &outcome.retry_from {
        tracing::warn!(sequence = %seq, "scoring failed transiently; the batch is retried from this record");
    }
    tracing::info!(
        records = records.len(),
        scored = outcome.scored,
        ignored = outcome.ignored,
        poison = outcome.poison.len(),
        events = outcome.events.len(),
        cached_lists = cache.stats().lists,
        "batch scored"
    );
    response(&outcome)
}

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
//! - [`BodyLayer`]: reads the batch's body in one pass ([`meli_core::stream::batch`]) before the
//!   runtime's serde_json pass, and hands the records to [`handle_event`] through a [`Slot`].

pub mod config;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{LambdaEvent, LambdaInvocation};
use meli_core::pipeline::{score_records_with, BatchOutcome, SnapshotRecord};
use meli_core::score_step::StateCache;
use meli_core::signals::SignalConfig;
use meli_core::store::SnapshotStore;
use meli_core::stream::batch::{read_event, BatchRecord};
use meli_core::stream::RawEvent;

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

/// Scores one batch of stream records. The Lambda passes the records [`BodyLayer`] read from the
/// body ([`BatchRecord`]s: the snapshots read with them), or those of a [`RawEvent`] when the layer
/// declined the body (images decoded straight into the snapshot item) ([`handle_event`]), and the
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

/// Scores the batch of an invocation: the records [`BodyLayer`] read from its body when it read
/// them (they wait in `slot` under the invocation's request id, and the payload the runtime read is
/// then the empty batch it left in the body's place), else the payload's.
pub async fn handle_event(
    event: LambdaEvent<RawEvent>,
    slot: &Slot,
    store: &dyn SnapshotStore,
    signals: &SignalConfig,
    cache: &StateCache,
) -> DynamoDbEventResponse {
    match slot.take(&event.context.request_id) {
        Some(records) => handle(&records, store, signals, cache).await,
        None => handle(&event.payload.records, store, signals, cache).await,
    }
}

/// The records [`BodyLayer`] read, by request id, until [`handle_event`] takes them.
#[derive(Debug, Clone, Default)]
pub struct Slot(Arc<Mutex<HashMap<String, Vec<BatchRecord>>>>);

impl Slot {
    fn put(&self, request_id: String, records: Vec<BatchRecord>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(request_id, records);
    }

    /// The records read for the invocation `request_id`, if any (once).
    pub fn take(&self, request_id: &str) -> Option<Vec<BatchRecord>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(request_id)
    }
}

/// The body the runtime reads in place of one [`BodyLayer`] read: an empty batch.
const READ_BODY: &str = r#"{"Records":[]}"#;

/// A tower layer for `lambda_runtime::Runtime` that reads each invocation's body, a DynamoDB Streams
/// batch, with [`read_event`] (one pass over the text: the snapshot images straight into snapshots)
/// instead of the runtime's serde_json pass (which tracks every key's path and copies the images).
/// The records go into the [`Slot`] under the invocation's request id and the body becomes an empty
/// batch, which costs the runtime nothing to read; a body the reader declines goes on untouched, and
/// the runtime reads it (or reports the error) as before. Whatever the handler does not take is
/// dropped when the invocation ends.
#[derive(Debug, Clone)]
pub struct BodyLayer {
    slot: Slot,
}

impl BodyLayer {
    pub fn new(slot: Slot) -> Self {
        BodyLayer { slot }
    }
}

impl<S> Layer<S> for BodyLayer {
    type Service = BodyService<S>;

    fn layer(&self, inner: S) -> BodyService<S> {
        BodyService { inner, slot: self.slot.clone() }
    }
}

/// The service of [`BodyLayer`].
#[derive(Debug, Clone)]
pub struct BodyService<S> {
    inner: S,
    slot: Slot,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for BodyService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = BodyFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let request_id = invocation.context.request_id.clone();
        if let Some(records) = read_event(&invocation.body) {
            self.slot.put(request_id.clone(), records);
            invocation.body = READ_BODY.into();
        }
        BodyFuture { inner: Box::pin(self.inner.call(invocation)), slot: self.slot.clone(), request_id }
    }
}

/// The inner service's future, then the invocation's records dropped if the handler left them.
pub struct BodyFuture<F> {
    inner: Pin<Box<F>>,
    slot: Slot,
    request_id: String,
}

impl<F: Future> Future for BodyFuture<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let out = std::task::ready!(self.inner.as_mut().poll(cx));
        self.slot.take(&self.request_id);
        Poll::Ready(out)
    }
}

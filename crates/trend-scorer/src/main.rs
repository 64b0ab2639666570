//! The `trend-scorer` Lambda: reads its configuration and builds the DynamoDB client once per cold
//! start, then runs [`trend_scorer::handle`] for every batch of stream records, read from the
//! invocation's body by [`trend_scorer::BodyLayer`].

use std::convert::Infallible;

use lambda_runtime::{layers, service_fn, LambdaEvent, Runtime};
use meli_aws::DynamoSnapshotStore;
use meli_core::score_step::StateCache;
use meli_core::signals::SignalConfig;
use meli_core::store::SnapshotStore;
use meli_core::stream::RawEvent;
use trend_scorer::{handle_event, BodyLayer, Config, Slot};

/// mimalloc: cheaper than glibc malloc for the many small allocations of decoding and encoding items.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = meli_aws::sdk::load().await;
    let store = DynamoSnapshotStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table);
    // One read now, so the SDK's connector, TLS roots, credentials and a pooled connection are ready
    // before the first batch (a miss costs half a read unit). A failure here is the first batch's to report.
    if let Err(error) = store.get("WARMUP", "WARMUP").await {
        tracing::warn!(%error, "the cold-start read of the table failed");
    }
    let signals = SignalConfig::default();
    // The states this instance writes, for the lists' next snapshots (a shard's records come to one
    // instance at a time, so a warm one mostly finds them here).
    let cache = StateCache::new(config.state_cache_bytes);
    // The batches' bodies are read by `BodyLayer` (one pass, no serde_json) and wait in `slot` for
    // the handler; the tracing layer `lambda_runtime::run` would add stays outermost.
    let slot = Slot::default();
    let (store, signals, cache, handler_slot) = (&store, &signals, &cache, &slot);
    let handler = service_fn(move |event: LambdaEvent<RawEvent>| async move {
        Ok::<_, Infallible>(handle_event(event, handler_slot, store, signals, cache).await)
    });
    Runtime::new(handler).layer(BodyLayer::new(slot.clone())).layer(layers::TracingLayer::new()).run().await
}

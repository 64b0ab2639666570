//! The `fetcher` Lambda: reads its configuration and builds its clients once per cold start, then
//! runs [`fetcher::handle`] for every scheduled event, within the invocation's time budget.

use std::time::{Instant, SystemTime};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use fetcher::{handle, Budget, Config, Deps};
use lambda_runtime::{service_fn, LambdaEvent};

/// mimalloc: cheaper than glibc malloc for the many small allocations of decoding and encoding items.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = meli_aws::sdk::load().await;
    let (deps, client) = Deps::connect(&config, &sdk).await?;
    let (deps, client) = (&deps, &client);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
        let budget = Budget::from_context(event.context.deadline, SystemTime::now(), Instant::now());
        match &budget {
            Some(b) if b.relative => tracing::info!(
                budget_s = b.total.as_secs(),
                "the runtime's deadline is a timeout, not an epoch time (a local emulator): using it from now"
            ),
            Some(_) => {}
            None => tracing::warn!("the invocation context has no deadline: the run is bounded by API timeouts only"),
        }
        let source = match &budget {
            Some(b) => client.with_deadline(b.deadline),
            None => client.without_deadline(),
        };
        handle(&event.payload, &source, deps, budget).await
    }))
    .await
}

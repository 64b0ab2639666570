//! The `fetcher` Lambda: reads its configuration and builds its clients once per cold start, then
//! runs [`fetcher::handle`] for every scheduled event, within the invocation's deadline.

use std::time::SystemTime;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use fetcher::{deadline_instant, handle, Config, Deps};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = meli_aws::sdk::load().await;
    let (deps, client) = Deps::connect(&config, &sdk).await?;
    let (deps, client) = (&deps, &client);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
        let deadline = deadline_instant(event.context.deadline, SystemTime::now());
        let source = match deadline {
            Some(d) => client.with_deadline(d),
            None => client.without_deadline(),
        };
        handle(&event.payload, &source, deps, deadline).await
    }))
    .await
}

//! The `notifier` Lambda: reads its configuration, builds the AWS clients, the SNS publisher and the
//! Slack webhook publishers once per cold start, then runs [`notifier::handle`] per invocation.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use meli_aws::{DynamoSnapshotStore, SecretsManagerSource, SnsAlertPublisher};
use meli_core::clock::SystemClock;
use meli_core::notify::{parse_slack_webhooks, NotifyConfig, NotifyDeps, SlackPublisher, SnsPublisher};
use meli_http::slack::SlackWebhookPublisher;
use notifier::{destinations, handle, Config};
use secrecy::ExposeSecret;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let clients = meli_aws::sdk::Clients::new(&meli_aws::sdk::load().await);
    let store = DynamoSnapshotStore::new(clients.dynamodb.clone(), config.table.clone());
    let sns = config
        .sns_topic_arn
        .as_deref()
        .map(|arn| (arn, Arc::new(SnsAlertPublisher::new(clients.sns.clone(), arn)) as Arc<dyn SnsPublisher>));
    let mut webhooks = Vec::new();
    if let Some(id) = &config.slack_secret_id {
        let list = SecretsManagerSource::new(clients.secrets.clone()).get(id).await?;
        for hook in parse_slack_webhooks(list.expose_secret())? {
            let publisher = SlackWebhookPublisher::new(hook.url.clone())?;
            webhooks.push((hook, Arc::new(publisher) as Arc<dyn SlackPublisher>));
        }
    }
    let dests = destinations(sns, &config.sns_controls, webhooks);
    let (clock, notify) = (SystemClock, NotifyConfig::default());
    let deps = NotifyDeps { store: &store, clock: &clock, destinations: &dests, config: &notify };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move { handle(event.payload, deps).await }))
        .await
}

//! The `notifier` Lambda: reads its configuration, builds the AWS clients, the SNS publisher and the
//! Slack webhook publishers once per cold start, then runs [`notifier::handle`] per invocation.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use meli_aws::{DynamoSnapshotStore, SecretsManagerSource, SnsAlertPublisher};
use meli_core::clock::SystemClock;
use meli_core::notify::ReportLinks;
use meli_core::notify::{NotifyConfig, NotifyDeps, SlackPublisher, SnsPublisher};
use meli_core::store::SnapshotStore;
use meli_http::slack::SlackWebhookPublisher;
use meli_report::publish::StoreReportLinks;
use notifier::config::{slack_webhooks, SlackSetup};
use notifier::{destinations, handle_with_reports, report_sink, Config};
use serde_json::Value;

/// mimalloc: cheaper than glibc malloc for the many small allocations of decoding and encoding items.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = meli_aws::sdk::load().await;
    let clients = meli_aws::sdk::Clients::new(&sdk);
    let store = DynamoSnapshotStore::new(clients.dynamodb.clone(), config.table.clone());
    let sns = config
        .sns_topic_arn
        .as_deref()
        .map(|arn| (arn, Arc::new(SnsAlertPublisher::new(clients.sns.clone(), arn)) as Arc<dyn SnsPublisher>));
    let mut webhooks = Vec::new();
    if let Some(id) = &config.slack_secret_id {
        let read = SecretsManagerSource::new(clients.secrets.clone()).get(id).await;
        match slack_webhooks(id, read)? {
            SlackSetup::Off(why) => tracing::warn!("{why}"),
            SlackSetup::Webhooks(hooks) => {
                tracing::info!(webhooks = hooks.len(), "Slack webhooks loaded");
                for hook in hooks {
                    let publisher = SlackWebhookPublisher::new(hook.url.clone())?;
                    webhooks.push((hook, Arc::new(publisher) as Arc<dyn SlackPublisher>));
                }
            }
        }
    }
    if sns.is_none() && webhooks.is_empty() {
        tracing::warn!("no SNS topic and no Slack webhook: events are recorded but no alert goes anywhere");
    }
    // One read now, so the SDK's connector, TLS roots, credentials and a pooled connection are ready
    // before the first batch (a miss costs half a read unit). A failure here is the first batch's to report.
    if let Err(error) = store.get("WARMUP", "WARMUP").await {
        tracing::warn!(%error, "the cold-start read of the table failed");
    }
    let dests = destinations(sns, &config.sns_controls, webhooks);
    let (clock, notify) = (SystemClock, NotifyConfig::default());
    let deps = NotifyDeps { store: &store, clock: &clock, destinations: &dests, config: &notify };
    // The digest's reports (Terraform create_reports): rendered from the table, put in the bucket, linked.
    let sink = config.reports.as_ref().map(|r| report_sink(&sdk, r)).transpose()?;
    let links = sink.as_ref().zip(config.reports.as_ref()).map(|(sink, r)| StoreReportLinks {
        store: &store,
        sink,
        days: r.days,
    });
    let reports = links.as_ref().map(|l| l as &dyn ReportLinks);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_with_reports(event.payload, deps, reports).await
    }))
    .await
}

//! `notifier`: the Lambda that turns event items into alerts on SNS and Slack.
//!
//! Thin wiring around [`meli_core::notify`]: the second event source mapping on the table's stream
//! delivers INSERTs of event items only (filter criteria in Terraform); [`handle`] runs the notify step
//! on them (controls, outbox claim, send, mark), then a bounded retry pass over failed deliveries, and
//! reports a partial batch failure only when the store itself failed (the outbox makes the retried
//! batch send nothing twice). An EventBridge schedule (`events/notifier/digest.json`) invokes the same
//! function for digests.
//!
//! Layout:
//! - [`config`]: `Config::from_env()`, the only place that reads the environment.
//! - [`parse_input`]: a stream batch or a digest schedule; [`handle`]: one invocation.
//! - [`destinations`]: the SNS topic and the Slack webhooks as notify destinations.

pub mod config;

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use meli_core::notify::{
    notify_records, retry_failed, run_digest, ChannelKind, Controls, Destination, DestinationConfig, DigestKind,
    EventFilter, NotifyDeps, NotifyReport, RecordsOutcome, Sender, SlackPublisher, SlackWebhookConfig, SnsPublisher,
};
use meli_core::store::StoreError;
use serde_json::{json, Value};

pub use config::Config;

/// What an invocation carries.
#[derive(Debug)]
pub enum Input {
    Stream(Event),
    Digest(DigestKind),
}

/// Why an invocation failed as a whole (a stream batch never does: it reports item failures).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("the store failed during the digest; the next schedule retries it")]
    Store(#[source] StoreError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match &e {
            HandlerError::InvalidInput(_) => "InvalidInput",
            HandlerError::Store(s) if s.is_transient() => "Transient",
            HandlerError::Store(_) => "Store",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// Reads the invocation: a DynamoDB stream batch (`Records`), or a digest schedule — `{"digest":
/// "hourly"|"daily"}` as the Scheduler's input, or an EventBridge event with it in `detail` (a
/// scheduled event without one is an hourly digest).
pub fn parse_input(v: Value) -> Result<Input, HandlerError> {
    if v.get("Records").is_some() {
        return serde_json::from_value(v)
            .map(Input::Stream)
            .map_err(|e| HandlerError::InvalidInput(format!("not a DynamoDB stream event: {e}")));
    }
    let kind = v.get("digest").or_else(|| v.pointer("/detail/digest")).and_then(Value::as_str);
    match kind {
        Some(k) => k.parse().map(Input::Digest).map_err(HandlerError::InvalidInput),
        None if v.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") => {
            Ok(Input::Digest(DigestKind::Hourly))
        }
        None => Err(HandlerError::InvalidInput(
            "expected a DynamoDB stream event (Records) or a digest schedule ({\"digest\": \"hourly\"})".into(),
        )),
    }
}

/// The partial batch response: the first record of a batch the store could not take.
pub fn response(outcome: &RecordsOutcome) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(seq) = &outcome.retry_from {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(seq.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

fn log_report(what: &str, r: &NotifyReport) {
    for (dest, reason) in &r.disabled {
        tracing::error!(destination = %dest, %reason, "destination disabled: fix or replace it, then delete its DEST#…/STATE item");
    }
    tracing::info!(
        events = r.events,
        sent = r.sent,
        messages = r.messages,
        held = r.held,
        suppressed = r.suppressed,
        duplicates = r.duplicates,
        failed = r.failed,
        dead = r.dead,
        digested = r.digested,
        skipped_disabled = r.skipped_disabled,
        "{what}"
    );
}

/// One invocation. Returns the JSON the runtime sends back: the partial batch response for a
/// stream batch, a summary for a digest.
pub async fn handle(payload: Value, deps: NotifyDeps<'_>) -> Result<Value, HandlerError> {
    match parse_input(payload)? {
        Input::Stream(event) => {
            let out = notify_records(&event.records, deps).await;
            for p in &out.poison {
                tracing::error!(sequence = %p.sequence, reason = %p.reason, "skipped a record that cannot be notified");
            }
            log_report("batch notified", &out.report);
            // Failed deliveries that are due go out with the batch; a store failure here only delays them.
            match retry_failed(deps).await {
                Ok(r) if r.events > 0 => log_report("retry pass", &r),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retry pass failed; the next invocation tries again"),
            }
            serde_json::to_value(response(&out)).map_err(|e| HandlerError::InvalidInput(e.to_string()))
        }
        Input::Digest(kind) => {
            let digest = run_digest(kind, deps).await.map_err(HandlerError::Store)?;
            log_report("digest", &digest);
            let retry = retry_failed(deps).await.map_err(HandlerError::Store)?;
            log_report("retry pass", &retry);
            Ok(json!({
                "digest": if kind == DigestKind::Daily { "daily" } else { "hourly" },
                "messages": digest.messages,
                "digested": digest.digested,
                "retried": retry.events,
                "retry_sent": retry.sent,
                "disabled": digest.disabled.iter().chain(retry.disabled.iter()).map(|(d, _)| d.clone()).collect::<Vec<_>>(),
            }))
        }
    }
}

/// The topic's non-secret destination id (`topic-{name}`).
pub fn topic_id(arn: &str) -> String {
    format!("topic-{}", arn.rsplit(':').next().unwrap_or(arn))
}

/// The destinations: the SNS topic (every event; subscription filter policies select per seller) and
/// each Slack webhook with its own filter and controls.
pub fn destinations(
    topic: Option<(&str, Arc<dyn SnsPublisher>)>,
    sns_controls: &Controls,
    webhooks: Vec<(SlackWebhookConfig, Arc<dyn SlackPublisher>)>,
) -> Vec<Destination> {
    let mut out = Vec::new();
    if let Some((arn, publisher)) = topic {
        out.push(Destination::new(
            DestinationConfig {
                id: topic_id(arn),
                channel: ChannelKind::Sns,
                filter: EventFilter::default(),
                controls: sns_controls.clone(),
            },
            Sender::Sns(publisher),
        ));
    }
    for (cfg, publisher) in webhooks {
        out.push(Destination::new(cfg.destination_config(), Sender::Slack(publisher)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use meli_core::clock::ManualClock;
    use meli_core::notify::{Fault, NotifyConfig, RecordingPublisher};
    use meli_core::store::{MemorySnapshotStore, SnapshotStore};

    fn read(name: &str) -> Value {
        let path = format!("{}/../../events/notifier/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    struct World {
        store: MemorySnapshotStore,
        clock: ManualClock,
        config: NotifyConfig,
        sns: Arc<RecordingPublisher>,
        slack: Arc<RecordingPublisher>,
        dests: Vec<Destination>,
    }

    fn world() -> World {
        let sns = Arc::new(RecordingPublisher::new());
        let slack = Arc::new(RecordingPublisher::new());
        let hooks = meli_core::notify::parse_slack_webhooks(
            r#"[{"url": "https://hooks.slack.com/services/T/B/x", "filter": {"sites": ["MLB"]}}]"#,
        )
        .unwrap();
        let dests = destinations(
            Some(("arn:aws:sns:us-east-1:000000000000:meli-radar-alerts", sns.clone())),
            &Controls::default(),
            hooks.into_iter().map(|h| (h, slack.clone() as Arc<dyn SlackPublisher>)).collect(),
        );
        World {
            store: MemorySnapshotStore::new(),
            clock: ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 12, 5, 0).unwrap()),
            config: NotifyConfig::default(),
            sns,
            slack,
            dests,
        }
    }

    impl World {
        fn deps(&self) -> NotifyDeps<'_> {
            NotifyDeps { store: &self.store, clock: &self.clock, destinations: &self.dests, config: &self.config }
        }
    }

    #[tokio::test]
    async fn the_sample_batch_goes_to_sns_and_slack_once() {
        let w = world();
        for _ in 0..3 {
            let out = handle(read("insert.json"), w.deps()).await.unwrap();
            assert_eq!(out, json!({"batchItemFailures": []}));
        }
        let sns = w.sns.sns();
        assert_eq!(sns.len(), 3);
        assert_eq!(w.slack.slack().len(), 1, "the two MLB events in one message; MLA filtered out");
        let mla = sns.iter().find(|m| m.attributes.site == "MLA").unwrap();
        assert!(mla.email.contains("$ 399.999,00") && mla.email.contains("bajó"), "{}", mla.email);
        let hostile = sns.iter().find(|m| m.attributes.product == "MLB23031524").unwrap();
        assert!(!hostile.email.contains("<!channel>") && hostile.sms.chars().count() <= 140);
        assert_eq!(w.dests[0].id(), "topic-meli-radar-alerts");
    }

    #[tokio::test]
    async fn mixed_batches_skip_what_is_not_an_event() {
        let w = world();
        let out = handle(read("mixed.json"), w.deps()).await.unwrap();
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!(w.sns.sns().len(), 1);
    }

    #[tokio::test]
    async fn failed_sends_are_retried_by_later_invocations() {
        let w = world();
        w.sns.fail_always(Some(Fault::Transient));
        let ev: Event = serde_json::from_value(read("insert.json")).unwrap();
        // The scorer wrote the event items; the retry pass reads them back.
        for r in &ev.records {
            let c = meli_core::stream::decode(r).unwrap();
            w.store.put(c.new.unwrap(), meli_core::store::PutCondition::Always).await.unwrap();
        }
        handle(read("insert.json"), w.deps()).await.unwrap();
        assert!(w.sns.sns().is_empty());
        w.sns.fail_always(None);
        w.clock.advance(chrono::Duration::minutes(2));
        let out = handle(read("digest.json"), w.deps()).await.unwrap();
        assert_eq!(out["retry_sent"], json!(3));
        assert_eq!(w.sns.sns().len(), 3);
    }

    #[test]
    fn inputs() {
        assert!(matches!(parse_input(read("digest.json")).unwrap(), Input::Digest(DigestKind::Hourly)));
        assert!(matches!(parse_input(read("digest-daily.json")).unwrap(), Input::Digest(DigestKind::Daily)));
        assert!(matches!(parse_input(json!({"digest": "weekly"})), Err(HandlerError::InvalidInput(_))));
        assert!(matches!(parse_input(json!({"hello": 1})), Err(HandlerError::InvalidInput(_))));
    }
}

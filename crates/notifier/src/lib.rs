//! `notifier`: the Lambda that turns event items into alerts on SNS and Slack.
//!
//! Thin wiring around [`meli_core::notify`]: the second event source mapping on the table's stream
//! delivers INSERTs of event items only (filter criteria in Terraform); [`handle`] runs the notify step
//! on them (already recorded?, controls, send, one delivery write with the outcome), then a bounded
//! retry pass over failed deliveries, and reports a partial batch failure only when the store itself
//! failed (the retried batch sends nothing whose delivery is written, and again what went out without
//! it: at least once). An EventBridge schedule (`events/notifier/digest.json`) invokes the same
//! function for digests.
//!
//! Layout:
//! - [`config`]: `Config::from_env()`, the only place that reads the environment.
//! - [`parse_input`]: a stream batch or a digest schedule; [`handle`]: one invocation.
//! - [`destinations`]: the SNS topic and the Slack webhooks as notify destinations.
//! - [`ReportsConfig`], [`report_sink`], [`handle_with_reports`]: the digest's HTML reports in the
//!   reports bucket (Terraform `create_reports`), linked from the digest messages with presigned
//!   URLs; without a bucket the digest is as before.

pub mod config;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use meli_aws::S3ReportSink;
use meli_core::notify::{
    notify_records, retry_failed, run_digest_with_reports, ChannelKind, Controls, Destination, DestinationConfig,
    DigestKind, EventFilter, NotifyDeps, NotifyError, NotifyReport, RecordsOutcome, ReportLinks, Sender,
    SlackPublisher, SlackWebhookConfig, SnsPublisher,
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
    handle_with_reports(payload, deps, None).await
}

/// [`handle`] whose digests link to each category's HTML report (`reports`: a
/// `meli_report::publish::StoreReportLinks` over the table and the [`report_sink`]; `None` is
/// exactly [`handle`]). Stream batches are the same either way.
pub async fn handle_with_reports(
    payload: Value,
    deps: NotifyDeps<'_>,
    reports: Option<&dyn ReportLinks>,
) -> Result<Value, HandlerError> {
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
            let digest = run_digest_with_reports(kind, deps, reports).await.map_err(HandlerError::Store)?;
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

/// The variables of the digest's reports (Terraform sets them from the reports bucket when
/// `create_reports` is on; empty or unset: no reports).
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `MELI_REPORTS_BUCKET` | unset | the private reports bucket; unset or empty: digests without report links |
/// | `MELI_REPORTS_KMS_KEY_ARN` | unset | the KMS key objects are encrypted with (`aws:kms`); unset: `AES256` |
/// | `MELI_REPORT_LINK_EXPIRY_HOURS` | `168` | lifetime of the presigned links, 1–168 hours (SigV4's 7 days) |
/// | `MELI_REPORT_DAYS` | `7` | days a report covers, counted back from the digest |
pub const REPORT_VARIABLES: &[&str] =
    &["MELI_REPORTS_BUCKET", "MELI_REPORTS_KMS_KEY_ARN", "MELI_REPORT_LINK_EXPIRY_HOURS", "MELI_REPORT_DAYS"];

/// Where and how the digest publishes its reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportsConfig {
    pub bucket: String,
    pub kms_key_arn: Option<String>,
    pub link_expiry: Duration,
    pub days: u32,
}

impl ReportsConfig {
    /// Reads [`REPORT_VARIABLES`] through `lookup` (the caller's environment reader): `Ok(None)` when
    /// no bucket is set, else the settings, or every bad value with what to set it to.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, Vec<String>> {
        let get = |k: &str| lookup(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let Some(bucket) = get("MELI_REPORTS_BUCKET") else { return Ok(None) };
        let mut problems = Vec::new();
        let hours = match get("MELI_REPORT_LINK_EXPIRY_HOURS") {
            None => 168,
            Some(v) => match v.parse::<u64>() {
                Ok(h) if (1..=168).contains(&h) => h,
                _ => {
                    problems.push(format!(
                        "MELI_REPORT_LINK_EXPIRY_HOURS {v:?} is not 1 to 168; set it to the report links' lifetime in hours (168 = 7 days, SigV4's maximum)"
                    ));
                    168
                }
            },
        };
        let days = match get("MELI_REPORT_DAYS") {
            None => meli_report::publish::DEFAULT_REPORT_DAYS,
            Some(v) => match v.parse::<u32>() {
                Ok(d) if (1..=90).contains(&d) => d,
                _ => {
                    problems.push(format!(
                        "MELI_REPORT_DAYS {v:?} is not 1 to 90; set it to the days a digest's report covers (default 7)"
                    ));
                    meli_report::publish::DEFAULT_REPORT_DAYS
                }
            },
        };
        let kms_key_arn = get("MELI_REPORTS_KMS_KEY_ARN");
        if let Some(k) = &kms_key_arn {
            if !k.starts_with("arn:") {
                problems.push(format!(
                    "MELI_REPORTS_KMS_KEY_ARN {k:?} is not an ARN; set it to the module's KMS key (Terraform aws_kms_key.this.arn)"
                ));
            }
        }
        if problems.is_empty() {
            Ok(Some(ReportsConfig { bucket, kms_key_arn, link_expiry: Duration::from_secs(hours * 3600), days }))
        } else {
            Err(problems)
        }
    }
}

/// The S3 sink of the reports, built once at cold start from the shared SDK configuration.
pub fn report_sink(sdk: &aws_config::SdkConfig, cfg: &ReportsConfig) -> Result<S3ReportSink, NotifyError> {
    S3ReportSink::new(meli_aws::s3::client(sdk), &cfg.bucket, cfg.kms_key_arn.clone(), cfg.link_expiry)
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

    /// The event images of the sample batch are what the scorer writes today; the sample of a mixed
    /// batch keeps one in the form written before (a deployed table still has them).
    #[test]
    fn sample_events_are_stored_items_of_both_forms() {
        use meli_core::signals::EventItem;
        let images = |name: &str| -> Vec<meli_core::store::Item> {
            let ev: Event = serde_json::from_value(read(name)).unwrap();
            ev.records
                .iter()
                .filter_map(|r| meli_core::stream::decode(r).unwrap().new)
                .filter(|i| i.pk.starts_with("EVT#") && i.attrs.contains_key("severity"))
                .collect()
        };
        let new = images("insert.json");
        assert_eq!(new.len(), 3);
        for item in &new {
            assert_eq!(&EventItem::from_item(item).unwrap().to_item().unwrap(), item, "{}", item.sk);
        }
        let [old] = &images("mixed.json")[..] else { panic!("one event in mixed.json") };
        assert!(old.attrs.contains_key("recent_positions"), "the form before: every field, the sparkline as maps");
        let same = new.iter().find(|i| i.sk == old.sk).unwrap();
        assert_eq!(EventItem::from_item(old).unwrap(), EventItem::from_item(same).unwrap());
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

    /// A list of MLB1055 as the fetcher writes it, with hostile titles and prices.
    async fn put_snapshot(store: &MemorySnapshotStore, at: chrono::DateTime<Utc>, ids: &[&str]) {
        use meli_core::ids::{CategoryId, EntryType};
        use meli_core::snapshot::Snapshot;
        let mut snap = Snapshot::ranked(&CategoryId::parse("MLB1055").unwrap(), at, ids, EntryType::Product).unwrap();
        for (i, e) in snap.entries.iter_mut().enumerate() {
            e.title = Some(format!("<script>alert(1)</script> {}", e.id));
            e.price = Some(1299.9 + i as f64);
        }
        // The titles go to the product items, as the fetcher stores them.
        let item = meli_core::signals::SnapshotItem::new(snap, 30);
        meli_core::names::store_snapshot(store, &item, meli_core::store::PutCondition::Always, &[]).await.unwrap();
    }

    #[test]
    fn the_digest_publishes_the_report_and_its_messages_link_to_it() {
        use meli_core::notify::DeliveryMode;
        use meli_report::publish::{MemoryReportSink, StoreReportLinks};
        let mut w = world();
        let hourly = Controls { mode: DeliveryMode::Hourly, ..Controls::default() };
        w.dests = destinations(
            Some(("arn:aws:sns:us-east-1:000000000000:meli-radar-alerts", w.sns.clone())),
            &hourly,
            Vec::new(),
        );
        let t = Utc.with_ymd_and_hms(2026, 11, 29, 11, 0, 0).unwrap();
        let sink = MemoryReportSink::new("https://reports.example.com/");
        let links = StoreReportLinks::new(&w.store, &sink);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            put_snapshot(&w.store, t, &["MLB1", "MLB23031524", "MLB2"]).await;
            put_snapshot(&w.store, t + chrono::Duration::hours(1), &["MLB23031524", "MLB1", "MLB2"]).await;
            // The stream batch: held for the hourly digest, nothing published, no report yet.
            let out = handle_with_reports(read("insert.json"), w.deps(), Some(&links)).await.unwrap();
            assert_eq!(out, json!({"batchItemFailures": []}));
            assert!(w.sns.sns().is_empty() && sink.keys().is_empty());
            let out = handle_with_reports(read("digest.json"), w.deps(), Some(&links)).await.unwrap();
            assert_eq!(out["messages"], json!(2), "{out}");
        });
        // MLB1055 has lists: its page is published under the day's key and the digest links to it.
        let key = "reports/MLB/2026-11-29/MLB1055.html";
        assert_eq!(sink.keys(), [key], "MLA1055 has no stored list, so no report");
        let page = sink.page(key).unwrap();
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"), "titles escaped in the page");
        let sns = w.sns.sns();
        let mlb = sns.iter().find(|m| m.attributes.category == "MLB1055").unwrap();
        let url = format!("https://reports.example.com/{key}");
        assert!(mlb.email.contains(&format!("Relatório completo: {url}")), "{}", mlb.email);
        assert!(mlb.default.contains(&url) && !mlb.sms.contains(&url));
        let mla = sns.iter().find(|m| m.attributes.category == "MLA1055").unwrap();
        assert!(!mla.email.contains("reports.example.com"), "{}", mla.email);
    }

    #[test]
    fn the_reports_configuration_says_what_to_set() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(ReportsConfig::from_lookup(env(&[])), Ok(None));
        assert_eq!(ReportsConfig::from_lookup(env(&[("MELI_REPORTS_BUCKET", " ")])), Ok(None), "empty: no reports");
        let c = ReportsConfig::from_lookup(env(&[("MELI_REPORTS_BUCKET", "b")])).unwrap().unwrap();
        assert_eq!((c.link_expiry, c.days, c.kms_key_arn), (Duration::from_secs(7 * 24 * 3600), 7, None));
        let c = ReportsConfig::from_lookup(env(&[
            ("MELI_REPORTS_BUCKET", "b"),
            ("MELI_REPORTS_KMS_KEY_ARN", "arn:aws:kms:us-east-1:1:key/k"),
            ("MELI_REPORT_LINK_EXPIRY_HOURS", "24"),
            ("MELI_REPORT_DAYS", "3"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((c.link_expiry.as_secs(), c.days), (24 * 3600, 3));
        let e = ReportsConfig::from_lookup(env(&[
            ("MELI_REPORTS_BUCKET", "b"),
            ("MELI_REPORTS_KMS_KEY_ARN", "alias/x"),
            ("MELI_REPORT_LINK_EXPIRY_HOURS", "169"),
            ("MELI_REPORT_DAYS", "0"),
        ]))
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("MELI_REPORT_LINK_EXPIRY_HOURS") && e[0].contains("set it to"));
        // Through the function's configuration: a bucket turns the reports on; a bad value is one
        // more problem of the cold start.
        let base = [("MELI_TABLE_NAME", "t"), ("MELI_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:alerts")];
        let with = |extra: &'static [(&'static str, &'static str)]| {
            let all: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
            move |k: &str| all.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(Config::from_lookup(with(&[])).unwrap().reports, None);
        let c = Config::from_lookup(with(&[("MELI_REPORTS_BUCKET", "meli-radar-reports")])).unwrap();
        assert_eq!(c.reports.map(|r| r.bucket), Some("meli-radar-reports".to_string()));
        let e = Config::from_lookup(with(&[("MELI_REPORTS_BUCKET", "b"), ("MELI_REPORT_DAYS", "x")])).unwrap_err();
        assert!(e.to_string().contains("MELI_REPORT_DAYS"), "{e}");
    }

    #[test]
    fn inputs() {
        assert!(matches!(parse_input(read("digest.json")).unwrap(), Input::Digest(DigestKind::Hourly)));
        assert!(matches!(parse_input(read("digest-daily.json")).unwrap(), Input::Digest(DigestKind::Daily)));
        assert!(matches!(parse_input(json!({"digest": "weekly"})), Err(HandlerError::InvalidInput(_))));
        assert!(matches!(parse_input(json!({"hello": 1})), Err(HandlerError::InvalidInput(_))));
    }
}

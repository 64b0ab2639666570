//! The notifier's ports: one publisher trait per kind of channel, the SNS subscription admin, and the
//! state-based fake [`RecordingPublisher`] that implements them all.
//!
//! - [`SnsPublisher`]: one alerts topic; each [`SnsMessage`] carries per-protocol bodies for
//!   `MessageStructure=json` and the message attributes that subscription filter policies match.
//!   Adapter: `SnsAlertPublisher` in `meli-aws`.
//! - [`SlackPublisher`]: one incoming webhook; a [`SlackMessage`] is a Block Kit payload.
//!   Adapter: `SlackWebhookPublisher` in `meli-http` (rate limit, `Retry-After`, 404/410 → disabled).
//! - [`FeedSink`]: console and JSON-lines file, for the demo and people without AWS (`meli-local`).
//! - [`SubscriptionAdmin`]: `meli-radar subscribe / subscriptions / unsubscribe` (SNS, `meli-aws`).
//! - [`ReportSink`], [`ReportLinks`]: the digest's HTML reports and the links to them (S3 with
//!   presigned URLs in `meli-aws`; rendering and the glue in `meli-report`).
//!
//! Every failure is a [`NotifyError`], which says whether a retry may help
//! ([`NotifyError::is_transient`]) and whether the destination is gone for good
//! ([`NotifyError::disables_destination`]).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a message was not delivered. Messages never contain secrets (webhook URLs, tokens).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Try again later (throttled, 5xx, timeout, connection refused). `retry_after_secs` is the
    /// receiver's own hint (`Retry-After`), when it gave one.
    #[error("transient delivery failure: {reason}")]
    Transient {
        reason: String,
        retry_after_secs: Option<u64>,
        #[source]
        source: Option<BoxError>,
    },
    /// The destination is gone (Slack 404/410 `no_service`, `channel_is_archived`, an invalid token):
    /// stop sending to it until someone fixes its configuration.
    #[error("destination disabled: {reason}")]
    Disabled { reason: String },
    /// The receiver refused this message and will refuse it again (a bad payload, a bad attribute).
    #[error("message rejected: {reason}")]
    Rejected {
        reason: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The publisher is not set up (a missing topic ARN, a missing permission).
    #[error("publisher misconfigured: {reason}")]
    Config {
        reason: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl NotifyError {
    pub fn transient(reason: impl Into<String>) -> Self {
        NotifyError::Transient { reason: reason.into(), retry_after_secs: None, source: None }
    }

    pub fn rejected(reason: impl Into<String>) -> Self {
        NotifyError::Rejected { reason: reason.into(), source: None }
    }

    /// Whether sending the same message later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, NotifyError::Transient { .. })
    }

    /// Whether the destination must be disabled (and the user told).
    pub fn disables_destination(&self) -> bool {
        matches!(self, NotifyError::Disabled { .. })
    }

    /// The receiver's hint for when to try again, in seconds.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            NotifyError::Transient { retry_after_secs, .. } => *retry_after_secs,
            _ => None,
        }
    }
}

/// The message attributes every alert carries, for SNS subscription filter policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttributes {
    /// `MLB`
    pub site: String,
    /// `MLB1055`
    pub category: String,
    /// The event kind: `new_number_one`, `entered_top_n`, … (`digest` for digests).
    pub event: String,
    /// `MLB123` (empty for digests, which are about a category).
    pub product: String,
    /// `info`, `notable`, `major`.
    pub severity: String,
}

impl MessageAttributes {
    /// `(name, value)` pairs, all of SNS data type `String`, in a fixed order. Empty values are left
    /// out (SNS rejects empty attribute values).
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("site", self.site.as_str()),
            ("category", self.category.as_str()),
            ("event", self.event.as_str()),
            ("product", self.product.as_str()),
            ("severity", self.severity.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }
}

/// One SNS publish with `MessageStructure=json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnsMessage {
    /// The e-mail subject: ASCII, one line, < 100 characters (SNS's rule).
    pub subject: String,
    /// For protocols without their own body (HTTP, SQS, Lambda).
    pub default: String,
    /// The plain-text e-mail body, with the product link.
    pub email: String,
    /// ≤ 140 characters, no markup.
    pub sms: String,
    pub attributes: MessageAttributes,
    /// The outbox key this message belongs to (for logs and FIFO deduplication; not secret).
    pub dedup_id: String,
}

impl SnsMessage {
    /// The `Message` parameter for `MessageStructure=json`.
    pub fn message_json(&self) -> String {
        json!({ "default": self.default, "email": self.email, "sms": self.sms }).to_string()
    }
}

/// What SNS answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReceipt {
    pub message_id: String,
}

/// The SNS alerts topic.
#[async_trait::async_trait]
pub trait SnsPublisher: Send + Sync {
    async fn publish(&self, message: &SnsMessage) -> Result<PublishReceipt, NotifyError>;
}

/// A Slack incoming-webhook message: Block Kit blocks and the notification fallback text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackMessage {
    /// Shown in notifications and where blocks cannot be (already escaped mrkdwn).
    pub text: String,
    /// At most [`SlackMessage::MAX_BLOCKS`].
    pub blocks: Vec<Value>,
}

impl SlackMessage {
    /// Slack's limit of blocks per message.
    pub const MAX_BLOCKS: usize = 50;

    /// The JSON body to POST. Link unfurling is off: titles come from the marketplace.
    pub fn payload(&self) -> Value {
        json!({ "text": self.text, "blocks": self.blocks, "unfurl_links": false, "unfurl_media": false })
    }
}

/// One Slack incoming webhook. Implementations keep the URL secret and pace their own sends.
#[async_trait::async_trait]
pub trait SlackPublisher: Send + Sync {
    async fn post(&self, message: &SlackMessage) -> Result<(), NotifyError>;
}

/// One alert for a human-facing sink without a wire format of its own (console, JSON-lines file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedAlert {
    /// The outbox key (`DLV#…`) of the delivery.
    pub delivery: String,
    pub site: String,
    pub category: String,
    pub event: String,
    pub product: String,
    pub severity: String,
    /// `pt-BR`, `es`, `en`.
    pub lang: String,
    /// One line in the site's language (plain text, escaped like an SMS but not shortened).
    pub text: String,
    pub link: Option<String>,
    /// RFC 3339 time of the snapshot behind the event (or of the digest's end).
    pub at: String,
}

/// A console or a file.
#[async_trait::async_trait]
pub trait FeedSink: Send + Sync {
    async fn emit(&self, alert: &FeedAlert) -> Result<(), NotifyError>;
}

/// Where the digest's HTML reports are kept: stores a page under a deterministic key (replacing what
/// was there) and answers a link that opens it without credentials (in AWS: a private S3 bucket and a
/// presigned GET URL). The link is a bearer token for that one page until it expires: it goes into
/// the digest messages and nowhere else (never into a log line or an error).
/// Adapter: `S3ReportSink` in `meli-aws`; fake: `MemoryReportSink` in `meli-report`.
#[async_trait::async_trait]
pub trait ReportSink: Send + Sync {
    async fn publish(&self, key: &str, html: &str) -> Result<String, NotifyError>;
}

/// The link to a category's report as of a digest's time, for the digest messages (`None`: no report
/// for that category). Implemented in `meli-report` (`StoreReportLinks`: read the store, render the
/// page, publish it to a [`ReportSink`]); [`super::run_digest_with_reports`] asks it once per
/// category and run.
#[async_trait::async_trait]
pub trait ReportLinks: Send + Sync {
    async fn report_link(
        &self,
        site: crate::ids::SiteId,
        category: &crate::ids::CategoryId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, NotifyError>;
}

/// The protocols `meli-radar subscribe` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Email,
    Sms,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Email => "email",
            Protocol::Sms => "sms",
        }
    }
}

/// What a seller wants to hear about: each non-empty list must match one of its values; empty lists
/// match everything. Turned into an SNS filter policy by [`SubscriptionFilter::filter_policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionFilter {
    pub sites: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub products: Vec<String>,
    /// Only events at or above this severity (`info` < `notable` < `major`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<String>,
}

impl SubscriptionFilter {
    /// The SNS filter policy (message-attribute scope) for this filter: exact-match lists per
    /// attribute. Digests (`event = digest`) reach a subscription when its event list is empty or
    /// names `digest`.
    pub fn filter_policy(&self) -> Value {
        let mut policy = serde_json::Map::new();
        let mut put = |name: &str, values: &[String]| {
            if !values.is_empty() {
                policy.insert(name.to_string(), json!(values));
            }
        };
        put("site", &self.sites);
        put("category", &self.categories);
        put("event", &self.events);
        put("product", &self.products);
        if let Some(min) = &self.min_severity {
            let at_least: Vec<String> = ["info", "notable", "major"]
                .iter()
                .skip_while(|s| **s != min.as_str())
                .map(|s| (*s).to_string())
                .collect();
            if !at_least.is_empty() && at_least.len() < 3 {
                policy.insert("severity".into(), json!(at_least));
            }
        }
        Value::Object(policy)
    }
}

/// An SNS subscription as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// `PendingConfirmation` until the e-mail recipient confirms.
    pub arn: String,
    pub protocol: String,
    /// The e-mail address or phone number (personal data: print it, never log it).
    pub endpoint: String,
    pub filter_policy: Option<Value>,
}

/// Creates, lists and removes subscriptions on the alerts topic.
#[async_trait::async_trait]
pub trait SubscriptionAdmin: Send + Sync {
    async fn subscribe(
        &self,
        protocol: Protocol,
        endpoint: &str,
        filter: &SubscriptionFilter,
    ) -> Result<Subscription, NotifyError>;
    async fn subscriptions(&self) -> Result<Vec<Subscription>, NotifyError>;
    async fn unsubscribe(&self, arn: &str) -> Result<(), NotifyError>;
}

/// What a [`RecordingPublisher`] was asked to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    Sns(SnsMessage),
    Slack(SlackMessage),
    Feed(FeedAlert),
}

/// A scripted answer: the next send fails with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Transient,
    Disabled,
    Rejected,
}

impl Fault {
    fn error(self) -> NotifyError {
        match self {
            Fault::Transient => NotifyError::transient("scripted transient failure"),
            Fault::Disabled => NotifyError::Disabled { reason: "scripted: channel_is_archived".into() },
            Fault::Rejected => NotifyError::rejected("scripted: invalid_payload"),
        }
    }
}

#[derive(Debug, Default)]
struct RecordingState {
    sent: Vec<Sent>,
    attempts: usize,
    faults: std::collections::VecDeque<Fault>,
    always: Option<Fault>,
    subscriptions: BTreeMap<String, Subscription>,
    next_id: u64,
}

/// The state-based fake of every port: it records what was delivered (failed sends are not recorded
/// as sent) and answers scripted faults. Ordinary public code: the local runner, the demo and every
/// test use it.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    // Held only inside each method, never across an await.
    state: Mutex<RecordingState>,
}

impl RecordingPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecordingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next sends fail with these faults, one each, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().copied());
    }

    /// Every send fails with this fault (or none: `None`) until told otherwise.
    pub fn fail_always(&self, fault: Option<Fault>) {
        self.lock().always = fault;
    }

    /// What was delivered, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// Sends attempted, delivered or not.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    pub fn sns(&self) -> Vec<SnsMessage> {
        self.sent().into_iter().filter_map(|s| if let Sent::Sns(m) = s { Some(m) } else { None }).collect()
    }

    pub fn slack(&self) -> Vec<SlackMessage> {
        self.sent().into_iter().filter_map(|s| if let Sent::Slack(m) = s { Some(m) } else { None }).collect()
    }

    pub fn feed(&self) -> Vec<FeedAlert> {
        self.sent().into_iter().filter_map(|s| if let Sent::Feed(m) = s { Some(m) } else { None }).collect()
    }

    fn record(&self, sent: Sent) -> Result<(), NotifyError> {
        let mut g = self.lock();
        g.attempts += 1;
        if let Some(f) = g.faults.pop_front().or(g.always) {
            return Err(f.error());
        }
        g.sent.push(sent);
        Ok(())
    }
}

#[async_trait::async_trait]
impl SnsPublisher for RecordingPublisher {
    async fn publish(&self, message: &SnsMessage) -> Result<PublishReceipt, NotifyError> {
        self.record(Sent::Sns(message.clone()))?;
        let n = self.lock().sent.len();
        Ok(PublishReceipt { message_id: format!("recorded-{n}") })
    }
}

#[async_trait::async_trait]
impl SlackPublisher for RecordingPublisher {
    async fn post(&self, message: &SlackMessage) -> Result<(), NotifyError> {
        if message.blocks.len() > SlackMessage::MAX_BLOCKS {
            return Err(NotifyError::rejected(format!("{} blocks (Slack allows 50)", message.blocks.len())));
        }
        self.record(Sent::Slack(message.clone()))
    }
}

#[async_trait::async_trait]
impl FeedSink for RecordingPublisher {
    async fn emit(&self, alert: &FeedAlert) -> Result<(), NotifyError> {
        self.record(Sent::Feed(alert.clone()))
    }
}

#[async_trait::async_trait]
impl SubscriptionAdmin for RecordingPublisher {
    async fn subscribe(
        &self,
        protocol: Protocol,
        endpoint: &str,
        filter: &SubscriptionFilter,
    ) -> Result<Subscription, NotifyError> {
        let mut g = self.lock();
        g.next_id += 1;
        let arn = format!("arn:aws:sns:us-east-1:000000000000:alerts:{:08}", g.next_id);
        let sub = Subscription {
            arn: arn.clone(),
            protocol: protocol.as_str().to_string(),
            endpoint: endpoint.to_string(),
            filter_policy: Some(filter.filter_policy()),
        };
        g.subscriptions.insert(arn, sub.clone());
        Ok(sub)
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, NotifyError> {
        Ok(self.lock().subscriptions.values().cloned().collect())
    }

    async fn unsubscribe(&self, arn: &str) -> Result<(), NotifyError> {
        match self.lock().subscriptions.remove(arn) {
            Some(_) => Ok(()),
            None => Err(NotifyError::rejected(format!("no subscription {arn}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn filter_policies_name_only_what_is_set() {
        let f = SubscriptionFilter {
            sites: vec!["MLB".into()],
            events: vec!["new_number_one".into(), "price_drop".into()],
            min_severity: Some("notable".into()),
            ..Default::default()
        };
        assert_eq!(
            f.filter_policy(),
            json!({"site": ["MLB"], "event": ["new_number_one", "price_drop"], "severity": ["notable", "major"]})
        );
        let all = SubscriptionFilter { min_severity: Some("info".into()), ..Default::default() };
        assert_eq!(all.filter_policy(), json!({}));
    }

    #[test]
    fn message_json_has_the_three_bodies() {
        let m = SnsMessage {
            subject: "s".into(),
            default: "d".into(),
            email: "e".into(),
            sms: "x".into(),
            attributes: MessageAttributes {
                site: "MLB".into(),
                category: "MLB1055".into(),
                event: "digest".into(),
                product: String::new(),
                severity: "info".into(),
            },
            dedup_id: "k".into(),
        };
        let v: Value = serde_json::from_str(&m.message_json()).unwrap();
        assert_eq!(v, json!({"default": "d", "email": "e", "sms": "x"}));
        assert_eq!(m.attributes.pairs().len(), 4, "the empty product is left out");
    }

    #[test]
    fn recording_publisher_records_only_deliveries() {
        let r = RecordingPublisher::new();
        r.fail_next(&[Fault::Transient]);
        let msg = SlackMessage { text: "t".into(), blocks: vec![] };
        assert!(block_on(r.post(&msg)).unwrap_err().is_transient());
        block_on(r.post(&msg)).unwrap();
        assert_eq!(r.slack().len(), 1);
        assert_eq!(r.attempts(), 2);
        r.fail_always(Some(Fault::Disabled));
        assert!(block_on(r.post(&msg)).unwrap_err().disables_destination());
        let too_big = SlackMessage { text: "t".into(), blocks: vec![json!({}); 51] };
        r.fail_always(None);
        assert!(matches!(block_on(r.post(&too_big)), Err(NotifyError::Rejected { .. })));
    }

    #[test]
    fn recording_admin_round_trip() {
        let r = RecordingPublisher::new();
        let f = SubscriptionFilter { sites: vec!["MLA".into()], ..Default::default() };
        let s = block_on(r.subscribe(Protocol::Sms, "+5411999999999", &f)).unwrap();
        assert_eq!(block_on(r.subscriptions()).unwrap(), vec![s.clone()]);
        block_on(r.unsubscribe(&s.arn)).unwrap();
        assert!(block_on(r.subscriptions()).unwrap().is_empty());
        assert!(block_on(r.unsubscribe(&s.arn)).is_err());
    }
}

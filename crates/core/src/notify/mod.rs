//! The notifier: alert rules, rendering, escaping, the outbox and the notify step (docs/alerts.md).
//!
//! Layout:
//! - [`port`]: the publisher ports ([`SnsPublisher`], [`SlackPublisher`], [`FeedSink`],
//!   [`SubscriptionAdmin`]), the digest's report ports ([`ReportSink`], [`ReportLinks`]), [`NotifyError`] and the [`RecordingPublisher`] fake.
//! - [`escape`]: untrusted text per channel (Slack mrkdwn, SMS, e-mail, subjects, links).
//! - [`render`]: events and digests → Slack Block Kit, SNS bodies, feed lines; localized.
//! - [`destination`]: destinations, their filters and controls, webhook configuration.
//! - [`outbox`]: the delivery items (written once with the outcome; claim and compare-and-swap for the
//!   retry pass and digests), the retry queue, held events, re-arm, daily cap.
//! - [`step`]: the notify step ([`notify_records`], [`notify_events`]), [`retry_failed`], [`run_digest`]
//!   (and [`run_digest_with_reports`], whose messages link to each category's HTML report).

pub mod destination;
pub mod escape;
pub mod outbox;
pub mod port;
pub mod render;
pub mod step;

pub use destination::{
    parse_slack_webhooks, target_id, ChannelKind, Controls, DeliveryMode, Destination, DestinationConfig, EventFilter,
    QuietHours, Sender, SlackWebhookConfig,
};
pub use outbox::{DeliveryItem, DeliveryState};
pub use step::{
    notify_events, notify_records, retry_failed, run_digest, run_digest_with_reports, DeliveryRecord, DigestKind,
    NotifyConfig, NotifyDeps, NotifyReport, RecordsOutcome,
};

pub use port::{
    Fault, FeedAlert, FeedSink, MessageAttributes, NotifyError, Protocol, PublishReceipt, RecordingPublisher,
    ReportLinks, ReportSink, Sent, SlackMessage, SlackPublisher, SnsMessage, SnsPublisher, Subscription,
    SubscriptionAdmin, SubscriptionFilter,
};

#[cfg(test)]
mod tests;

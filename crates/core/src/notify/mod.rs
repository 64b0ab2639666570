//! The notifier: alert rules, rendering, escaping, the outbox and the notify step (docs/alerts.md).
//!
//! Layout:
//! - [`port`]: the publisher ports ([`SnsPublisher`], [`SlackPublisher`], [`FeedSink`],
//!   [`SubscriptionAdmin`]), [`NotifyError`] and the [`RecordingPublisher`] fake.

pub mod port;

pub use port::{
    Fault, FeedAlert, FeedSink, MessageAttributes, NotifyError, Protocol, PublishReceipt, RecordingPublisher, Sent,
    SlackMessage, SlackPublisher, SnsMessage, SnsPublisher, Subscription, SubscriptionAdmin, SubscriptionFilter,
};

//! `meli-aws`: the AWS adapters of meli-radar's ports.
//!
//! Layout:
//! - [`dynamo`]: [`DynamoSnapshotStore`], the `SnapshotStore` over the single table (conditional puts,
//!   `BatchWriteItem` in chunks of 25, paginated queries), and the table's definition for local servers.
//! - [`error`]: the one classifier of SDK failures (throttled / unavailable / rejected).
//! - [`secrets`]: [`SecretsManagerSource`] (app credentials, webhooks) and [`SecretsManagerTokenStore`],
//!   the token store whose compare-and-swap rides on Secrets Manager's one-time version ids.
//! - [`sns`]: [`SnsAlertPublisher`], the notifier's SNS ports (publish with attributes and per-protocol
//!   bodies, `PublishBatch` in chunks of 10, subscriptions with filter policies).
//! - [`s3`] (feature `reports`): [`S3ReportSink`], the digest's HTML reports in a private bucket
//!   (encrypted `PutObject`, presigned GET links).
//! - [`sdk`]: the shared SDK configuration, loaded once per cold start (`AWS_ENDPOINT_URL` points every
//!   client at a local server such as moto).
//!
//! Clients are cheap to clone and hold their connection pool; build them once at cold start and pass
//! them (or the adapters that wrap them) to the handlers.

pub mod dynamo;
pub mod error;
#[cfg(feature = "reports")]
pub mod s3;
pub mod sdk;
pub mod secrets;
pub mod sns;

#[cfg(test)]
mod replay_tests;

pub use dynamo::DynamoSnapshotStore;
#[cfg(feature = "reports")]
pub use s3::S3ReportSink;
pub use secrets::{AppCredentials, SecretsManagerSource, SecretsManagerTokenStore};
pub use sns::SnsAlertPublisher;

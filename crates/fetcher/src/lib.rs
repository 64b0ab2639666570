//! `fetcher`: the Lambda that fetches best-seller lists on a schedule (EventBridge Scheduler).
//!
//! Thin wiring around [`meli_core::fetch::fetch_due`]: [`handle`] takes its dependencies as arguments
//! (tests call it with the sandbox and the in-memory store), [`Deps::connect`] builds them once per
//! cold start from [`Config`] (DynamoDB store, app credentials and the token store from Secrets
//! Manager, the Mercado Libre client).
//!
//! Layout:
//! - [`config`]: `Config::from_env()`, the only place that reads the environment.
//! - [`handle`], [`Summary`], [`HandlerError`]: one invocation.
//! - [`Deps`]: what a cold start builds.

pub mod config;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use meli_aws::{DynamoSnapshotStore, SecretsManagerSource, SecretsManagerTokenStore};
use meli_core::clock::{Clock, SystemClock};
use meli_core::fetch::{fetch_due, CategoryOutcome, FetchConfig, FetchError};
use meli_core::ids::{CategoryId, SiteId};
use meli_core::source::MarketplaceSource;
use meli_core::store::SnapshotStore;
use meli_http::{Grant, MeliClient};
use serde::{Deserialize, Serialize};

pub use config::Config;

/// What one invocation did (the function's response, also logged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The schedule event's id, to match logs with the scheduler's.
    pub event_id: Option<String>,
    pub tracked: usize,
    pub not_due: usize,
    pub ok: usize,
    pub snapshots_written: usize,
    pub no_list: usize,
    pub forbidden: usize,
    pub failed: usize,
    /// Not started because the deadline was near; they are due again on the next run.
    pub skipped: usize,
    pub api_calls: u32,
    pub duration_ms: u64,
}

/// Why an invocation failed. Per-category API failures are not errors (they are in the summary);
/// only a store failure stops the run.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("the fetch step failed")]
    Fetch(#[from] FetchError),
}

impl HandlerError {
    pub fn is_transient(&self) -> bool {
        match self {
            HandlerError::Fetch(FetchError::Store(e)) => e.is_transient(),
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let kind = if e.is_transient() { "Transient" } else { "StoreFailure" };
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        lambda_runtime::Diagnostic { error_type: kind.into(), error_message: message }
    }
}

/// The dependencies of [`handle`] that live for the whole process.
pub struct Deps {
    pub store: Arc<dyn SnapshotStore>,
    pub clock: Arc<dyn Clock>,
    pub tracked: Vec<(SiteId, CategoryId)>,
    pub fetch: FetchConfig,
}

/// The fetch step's settings from the configuration.
pub fn fetch_config(config: &Config) -> FetchConfig {
    FetchConfig {
        refresh_every: config.refresh_every,
        concurrency: config.concurrency,
        retention: chrono::Duration::days(config.retention_days),
        ..FetchConfig::default()
    }
}

/// Why a cold start could not build the dependencies.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read the app credentials")]
    Credentials(#[source] meli_aws::secrets::SecretError),
    #[error("the app secret's grant {0:?} is neither client_credentials nor authorization_code")]
    Grant(String),
    #[error("cannot build the Mercado Libre client")]
    Client(#[source] meli_http::BuildError),
}

impl Deps {
    /// Builds everything once per cold start: the store, the token store, the credentials (read from
    /// Secrets Manager now, so a missing secret fails the init, not the first event) and the client.
    pub async fn connect(config: &Config, sdk: &aws_config::SdkConfig) -> Result<(Deps, MeliClient), ConnectError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        let app = SecretsManagerSource::new(secrets.clone())
            .app_credentials(&config.app_secret_id)
            .await
            .map_err(ConnectError::Credentials)?;
        let mut http = meli_http::Config::new(config.api_base_url.clone(), app.client_id, app.client_secret);
        http.grant = match app.grant.as_deref() {
            None | Some("client_credentials") => Grant::ClientCredentials,
            Some("authorization_code") => Grant::AuthorizationCode,
            Some(other) => return Err(ConnectError::Grant(other.to_string())),
        };
        http.rate_limit_rps = config.rate_limit_rps;
        let tokens = Arc::new(SecretsManagerTokenStore::new(secrets, &config.token_secret_id));
        let client = MeliClient::builder(http).token_store(tokens).build().map_err(ConnectError::Client)?;
        let deps = Deps {
            store: Arc::new(DynamoSnapshotStore::new(dynamodb, &config.table)),
            clock: Arc::new(SystemClock),
            tracked: config.tracked.clone(),
            fetch: fetch_config(config),
        };
        Ok((deps, client))
    }
}

/// The Lambda deadline (epoch milliseconds, from the invocation context) as an `Instant`; `None` when
/// the context has none (0).
pub fn deadline_instant(deadline_ms: u64, now: SystemTime) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = u64::try_from(now.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

/// One scheduled run: fetch what is due, within the deadline.
pub async fn handle(
    event: &EventBridgeEvent<serde_json::Value>,
    source: &dyn MarketplaceSource,
    deps: &Deps,
    deadline: Option<Instant>,
) -> Result<Summary, HandlerError> {
    let report =
        fetch_due(source, deps.store.as_ref(), deps.clock.as_ref(), &deps.tracked, &deps.fetch, deadline).await?;
    for (site, cat, outcome) in &report.categories {
        match outcome {
            CategoryOutcome::Failed { error } => tracing::warn!(%site, %cat, %error, "category fetch failed"),
            CategoryOutcome::Forbidden { kind } => tracing::warn!(%site, %cat, ?kind, "category is forbidden"),
            _ => {}
        }
    }
    let summary = Summary {
        event_id: event.id.clone(),
        tracked: deps.tracked.len(),
        not_due: report.not_due,
        ok: report.ok,
        snapshots_written: report.snapshots_written,
        no_list: report.no_list,
        forbidden: report.forbidden,
        failed: report.failed,
        skipped: report.skipped,
        api_calls: report.total_calls(),
        duration_ms: report.duration_ms,
    };
    tracing::info!(
        ok = summary.ok,
        written = summary.snapshots_written,
        not_due = summary.not_due,
        failed = summary.failed,
        skipped = summary.skipped,
        api_calls = summary.api_calls,
        entry_errors = ?report.entry_errors,
        "fetch run done"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_comes_from_epoch_milliseconds() {
        let now = SystemTime::now();
        let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let d = deadline_instant(now_ms + 30_000, now).unwrap();
        let left = d.saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(29) && left <= Duration::from_secs(30), "{left:?}");
        assert!(deadline_instant(0, now).is_none());
        // A deadline already past leaves no time at all.
        let past = deadline_instant(now_ms - 5_000, now).unwrap();
        assert_eq!(past.saturating_duration_since(Instant::now()), Duration::ZERO);
    }
}

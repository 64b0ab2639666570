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

use std::collections::BTreeMap;
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
    /// API calls by endpoint family (`highlights`, `products`, `product_items`, `items`, `reviews`).
    pub calls_by_endpoint: BTreeMap<String, u32>,
    /// Entry resolutions that failed, by error kind.
    pub entry_errors: BTreeMap<String, u32>,
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
    /// Builds everything once per cold start: the store (with one read, so its connection is up), the
    /// token store, the credentials (read from Secrets Manager now, so a missing secret fails the init,
    /// not the first event) and the client.
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
        let store = DynamoSnapshotStore::new(dynamodb, &config.table);
        // One read now, so the DynamoDB client's connector and a pooled connection are ready before
        // the first event (a miss costs half a read unit). A failure here is the first run's to report.
        if let Err(error) = store.get("WARMUP", "WARMUP").await {
            tracing::warn!(%error, "the cold-start read of the table failed");
        }
        let deps = Deps {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            tracked: config.tracked.clone(),
            fetch: fetch_config(config),
        };
        Ok((deps, client))
    }
}

/// Below this, a `Lambda-Runtime-Deadline-Ms` value cannot be Unix epoch milliseconds (it would be
/// before 2001-09-09, years before Lambda existed).
const EPOCH_FLOOR_MS: u64 = 1_000_000_000_000;

/// The smallest margin the fetch step keeps before a deadline (one category's first call).
pub const MIN_MARGIN: Duration = Duration::from_secs(1);

/// The time an invocation may use, read from the runtime's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// When the invocation is killed.
    pub deadline: Instant,
    /// How long the invocation had when it started (the function timeout, less the init time on a
    /// cold start).
    pub total: Duration,
    /// Whether the deadline came from an emulator's relative timeout rather than an epoch time.
    pub relative: bool,
}

impl Budget {
    /// Reads the invocation context's deadline (`Lambda-Runtime-Deadline-Ms`) at `now` (wall clock)
    /// and `started` (monotonic), the same moment.
    ///
    /// - Lambda sends the Unix time in milliseconds at which the invocation times out. A deadline
    ///   already past leaves no time at all (nothing is started).
    /// - `cargo lambda watch` (1.9) sends a fixed `600000` in that header: its invocation timeout of
    ///   600 s, not a time. A value too small to be an epoch time is read that way, as a timeout from
    ///   the start of the invocation, so a local run gets the emulator's 10 minutes instead of a
    ///   deadline in 1970 that skips every category.
    /// - `0` (no deadline in the context) gives `None`: the run is bounded by the API client's
    ///   timeouts only.
    pub fn from_context(deadline_ms: u64, now: SystemTime, started: Instant) -> Option<Budget> {
        if deadline_ms == 0 {
            return None;
        }
        if deadline_ms < EPOCH_FLOOR_MS {
            let total = Duration::from_millis(deadline_ms);
            return Some(Budget { deadline: started + total, total, relative: true });
        }
        let now_ms = u64::try_from(now.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
        let total = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Some(Budget { deadline: started + total, total, relative: false })
    }

    /// The fetch step's margin for this budget: the configured one (10 s), but never more than a fifth
    /// of the budget, so a short function timeout (say 20 s) still fetches for most of its time; and
    /// never under [`MIN_MARGIN`], so a budget already spent starts nothing.
    pub fn margin(&self, configured: Duration) -> Duration {
        configured.min(self.total / 5).max(MIN_MARGIN)
    }
}

/// One scheduled run: fetch what is due within the budget (none: no deadline), keeping the margin
/// [`Budget::margin`] derives from it.
pub async fn handle(
    event: &EventBridgeEvent<serde_json::Value>,
    source: &dyn MarketplaceSource,
    deps: &Deps,
    budget: Option<Budget>,
) -> Result<Summary, HandlerError> {
    let mut fetch = deps.fetch.clone();
    if let Some(b) = &budget {
        fetch.deadline_margin = b.margin(deps.fetch.deadline_margin);
    }
    let deadline = budget.map(|b| b.deadline);
    let report = fetch_due(source, deps.store.as_ref(), deps.clock.as_ref(), &deps.tracked, &fetch, deadline).await?;
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
        calls_by_endpoint: report.api_calls.clone(),
        entry_errors: report.entry_errors.clone(),
        duration_ms: report.duration_ms,
    };
    tracing::info!(
        ok = summary.ok,
        written = summary.snapshots_written,
        not_due = summary.not_due,
        failed = summary.failed,
        skipped = summary.skipped,
        api_calls = summary.api_calls,
        calls = ?summary.calls_by_endpoint,
        entry_errors = ?summary.entry_errors,
        "fetch run done"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch_ms(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
    }

    #[test]
    fn an_epoch_deadline_is_the_time_left() {
        let (now, started) = (SystemTime::now(), Instant::now());
        let b = Budget::from_context(epoch_ms(now) + 30_000, now, started).unwrap();
        assert_eq!(
            (b.total, b.deadline, b.relative),
            (Duration::from_secs(30), started + Duration::from_secs(30), false)
        );
        // A deadline already past leaves no time at all.
        let past = Budget::from_context(epoch_ms(now) - 5_000, now, started).unwrap();
        assert_eq!((past.total, past.deadline), (Duration::ZERO, started));
        assert!(Budget::from_context(0, now, started).is_none());
    }

    #[test]
    fn the_emulators_fixed_timeout_is_a_duration_not_1970() {
        // `cargo lambda watch` answers `lambda-runtime-deadline-ms: 600000`.
        let (now, started) = (SystemTime::now(), Instant::now());
        let b = Budget::from_context(600_000, now, started).unwrap();
        assert_eq!(
            (b.total, b.deadline, b.relative),
            (Duration::from_secs(600), started + Duration::from_secs(600), true)
        );
    }

    #[test]
    fn the_margin_is_at_most_a_fifth_of_the_budget() {
        let started = Instant::now();
        let budget = |secs| Budget { deadline: started, total: Duration::from_secs(secs), relative: false };
        let configured = Duration::from_secs(10);
        assert_eq!(budget(600).margin(configured), configured);
        assert_eq!(budget(20).margin(configured), Duration::from_secs(4));
        assert_eq!(budget(2).margin(configured), MIN_MARGIN);
        assert_eq!(budget(0).margin(configured), MIN_MARGIN);
    }
}

//! The in-process runner: the same steps as the Lambdas, over the embedded store's change feed.
//!
//! A tick runs the fetch step (as the scheduled `fetcher` would), then drains the change feed through
//! the scorer's batch logic (as DynamoDB Streams → `trend-scorer` would), keeping its position in a
//! checkpoint so that a failed batch is retried from the failed record on the next tick.

use std::sync::Arc;
use std::time::Instant;

use meli_core::clock::Clock;
use meli_core::fetch::{fetch_due, FetchConfig, FetchError, FetchReport};
use meli_core::ids::{CategoryId, SiteId};
use meli_core::pipeline::{score_records_with, Poison};
use meli_core::score_step::StateCache;
use meli_core::signals::{EventItem, SignalConfig};
use meli_core::source::MarketplaceSource;
use meli_core::store::StoreError;

use crate::store::EmbeddedSnapshotStore;

/// The feed consumer name of the scorer.
pub const SCORER: &str = "trend-scorer";
/// Records handed to the scorer at once (the event source mapping's batch size in AWS).
pub const BATCH_SIZE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("store failure while reading the change feed")]
    Store(#[from] StoreError),
}

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    pub fetch: FetchReport,
    pub drain: DrainReport,
}

/// What draining the change feed did.
#[derive(Debug, Default)]
pub struct DrainReport {
    pub records: usize,
    pub scored: usize,
    pub events: Vec<EventItem>,
    pub poison: Vec<Poison>,
    /// A transient failure stopped the drain; the rest waits for the next tick.
    pub stopped_early: bool,
}

/// Everything a tick needs.
pub struct Runner {
    pub store: Arc<EmbeddedSnapshotStore>,
    pub source: Arc<dyn MarketplaceSource>,
    pub clock: Arc<dyn Clock>,
    pub tracked: Vec<(SiteId, CategoryId)>,
    pub fetch: FetchConfig,
    pub signals: SignalConfig,
    /// The scorer states written, for the lists' next snapshots (as a warm trend-scorer keeps them).
    pub cache: StateCache,
}

impl Runner {
    /// Fetches what is due, then scores what the fetch wrote.
    pub async fn tick(&self, deadline: Option<Instant>) -> Result<TickReport, RunError> {
        let fetch = fetch_due(
            self.source.as_ref(),
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.tracked,
            &self.fetch,
            deadline,
        )
        .await?;
        let drain = self.drain().await?;
        Ok(TickReport { fetch, drain })
    }

    /// Feeds the change feed to the scorer until it is empty or a batch fails transiently.
    pub async fn drain(&self) -> Result<DrainReport, RunError> {
        let mut report = DrainReport::default();
        loop {
            let from = self.store.checkpoint(SCORER)?;
            let batch = self.store.changes_after(from, BATCH_SIZE)?;
            let Some(&(last, _)) = batch.last() else { break };
            let (seqs, records): (Vec<i64>, Vec<_>) = batch.into_iter().unzip();
            report.records += records.len();
            let out = score_records_with(&records, self.store.as_ref(), &self.signals, Some(&self.cache)).await;
            report.scored += out.scored;
            report.events.extend(out.events);
            for p in &out.poison {
                tracing::warn!(sequence = %p.sequence, reason = %p.reason, "skipped a record that cannot be scored");
            }
            report.poison.extend(out.poison);
            if let Some(retry) = out.retry_from {
                // Resume at the failed record next time: checkpoint just before it.
                let failed: i64 = retry.parse().unwrap_or(from + 1);
                let before = seqs.iter().copied().filter(|s| *s < failed).max().unwrap_or(from);
                self.store.set_checkpoint(SCORER, before)?;
                report.stopped_early = true;
                tracing::warn!(sequence = %retry, "scoring failed transiently; will retry from this record");
                break;
            }
            self.store.set_checkpoint(SCORER, last)?;
        }
        Ok(report)
    }
}

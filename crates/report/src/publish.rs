//! The digest's reports: each category of a digest gets its page rendered from the store and
//! published to a [`ReportSink`] (S3 in AWS), and the digest messages link to it
//! ([`meli_core::notify::run_digest_with_reports`]).
//!
//! Keys are deterministic per site, date and category ([`report_key`]): a digest replayed the same
//! day writes the same object again instead of a new one, and each day keeps its own pages (a
//! versioned bucket keeps the earlier renders of the day). The page is the category page without
//! the link back to a site overview: a presigned URL opens one object, so relative links between
//! pages would not carry a signature.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use meli_core::ids::{CategoryId, SiteId};
use meli_core::notify::{NotifyError, ReportLinks, ReportSink};
use meli_core::store::SnapshotStore;

use crate::{html, load_category, ReportError};

/// The key prefix of every report (the notifier's IAM policy grants `reports/*` only; the infra
/// tests check that Terraform's `local.reports_prefix` is this).
pub const REPORTS_PREFIX: &str = "reports";

/// Days a digest's report covers, counted back from the digest's time.
pub const DEFAULT_REPORT_DAYS: u32 = 7;

/// `reports/{site}/{YYYY-MM-DD}/{category}.html`, the date of `at` in UTC.
pub fn report_key(site: SiteId, category: &CategoryId, at: DateTime<Utc>) -> String {
    format!("{REPORTS_PREFIX}/{site}/{}/{}", at.format("%Y-%m-%d"), html::category_file(category))
}

impl From<ReportError> for NotifyError {
    fn from(e: ReportError) -> Self {
        let ReportError::Store(s) = e;
        if s.is_transient() {
            NotifyError::Transient {
                reason: "the store was unavailable while reading the report".into(),
                retry_after_secs: None,
                source: Some(Box::new(s)),
            }
        } else {
            NotifyError::Rejected { reason: "the report's data could not be read".into(), source: Some(Box::new(s)) }
        }
    }
}

/// The [`ReportLinks`] of the notifier: reads a category's last `days` days from the store, renders
/// its page and publishes it; a category without a stored list in the period has no report.
pub struct StoreReportLinks<'a> {
    pub store: &'a dyn SnapshotStore,
    pub sink: &'a dyn ReportSink,
    pub days: u32,
}

impl std::fmt::Debug for StoreReportLinks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReportLinks").field("days", &self.days).finish_non_exhaustive()
    }
}

impl<'a> StoreReportLinks<'a> {
    pub fn new(store: &'a dyn SnapshotStore, sink: &'a dyn ReportSink) -> Self {
        StoreReportLinks { store, sink, days: DEFAULT_REPORT_DAYS }
    }
}

#[async_trait::async_trait]
impl ReportLinks for StoreReportLinks<'_> {
    async fn report_link(
        &self,
        site: SiteId,
        category: &CategoryId,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, NotifyError> {
        let report = load_category(self.store, site, category, Some(at), self.days).await?;
        if report.times.is_empty() {
            return Ok(None);
        }
        let page = html::category_page(&report, false);
        let key = report_key(site, category, at);
        let link = self.sink.publish(&key, &page).await?;
        tracing::info!(%site, %category, key, bytes = page.len(), "report published");
        Ok(Some(link))
    }
}

/// The in-memory [`ReportSink`]: keeps the pages by key and links to them under a base URL. For
/// tests and for running the digest without a bucket.
#[derive(Debug)]
pub struct MemoryReportSink {
    base: String,
    // Held only inside each method, never across an await.
    pages: Mutex<BTreeMap<String, String>>,
}

impl MemoryReportSink {
    /// Links are `{base}{key}`; `base` should end with `/`.
    pub fn new(base: impl Into<String>) -> Self {
        MemoryReportSink { base: base.into(), pages: Mutex::new(BTreeMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.pages.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The page stored under `key`.
    pub fn page(&self, key: &str) -> Option<String> {
        self.lock().get(key).cloned()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}

#[async_trait::async_trait]
impl ReportSink for MemoryReportSink {
    async fn publish(&self, key: &str, html: &str) -> Result<String, NotifyError> {
        self.lock().insert(key.to_string(), html.to_string());
        Ok(format!("{}{key}", self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use meli_core::ids::EntryType;
    use meli_core::signals::SnapshotItem;
    use meli_core::snapshot::Snapshot;
    use meli_core::store::{MemorySnapshotStore, PutCondition};

    fn at(h: i64) -> DateTime<Utc> {
        meli_core::keys::parse_ts("2026-11-29T00:00:00Z").unwrap() + chrono::Duration::hours(h)
    }

    fn put_snapshot(store: &MemorySnapshotStore, h: i64, ids: &[&str]) {
        let mut s = Snapshot::ranked(&CategoryId::parse("MLB1055").unwrap(), at(h), ids, EntryType::Product).unwrap();
        for (i, e) in s.entries.iter_mut().enumerate() {
            e.title = Some(format!("<b>{}</b>", e.id));
            e.price = Some(100.0 + i as f64);
        }
        // As the fetcher stores it: the titles into the product items, then the snapshot item.
        block_on(meli_core::names::store_snapshot(store, &SnapshotItem::new(s, 30), PutCondition::Always, &[]))
            .unwrap();
    }

    #[test]
    fn keys_are_per_site_date_and_category() {
        let cat = CategoryId::parse("MLB1055").unwrap();
        assert_eq!(report_key(SiteId::MLB, &cat, at(13)), "reports/MLB/2026-11-29/MLB1055.html");
        assert_eq!(report_key(SiteId::MLB, &cat, at(23)), report_key(SiteId::MLB, &cat, at(1)), "one per day");
        assert_ne!(report_key(SiteId::MLB, &cat, at(25)), report_key(SiteId::MLB, &cat, at(1)));
    }

    #[test]
    fn a_category_with_lists_is_rendered_published_and_linked() {
        let store = MemorySnapshotStore::new();
        for h in 0..4 {
            put_snapshot(&store, h, if h % 2 == 0 { &["MLB1", "MLB2"] } else { &["MLB2", "MLB1"] });
        }
        let sink = MemoryReportSink::new("https://reports.example.com/");
        let links = StoreReportLinks::new(&store, &sink);
        let cat = CategoryId::parse("MLB1055").unwrap();
        let link = block_on(links.report_link(SiteId::MLB, &cat, at(5))).unwrap();
        assert_eq!(link.as_deref(), Some("https://reports.example.com/reports/MLB/2026-11-29/MLB1055.html"));
        let page = sink.page("reports/MLB/2026-11-29/MLB1055.html").unwrap();
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<html lang=\"pt-BR\">"));
        assert!(page.contains("&lt;b&gt;MLB1&lt;/b&gt;") && !page.contains("<b>MLB1"), "titles escaped");
        assert!(!page.contains("href=\"index.html\""), "no link to an overview that is not published");
        // A category without lists in the period has no report, and nothing is published.
        let other = CategoryId::parse("MLB1000").unwrap();
        assert_eq!(block_on(links.report_link(SiteId::MLB, &other, at(5))).unwrap(), None);
        assert_eq!(sink.keys().len(), 1);
    }
}

//! `meli-radar report`: self-contained HTML reports of the rank histories (docs/report.md).
//!
//! The report itself (data from any `SnapshotStore`, charts, pages, words) is the `meli-report` crate,
//! shared with the notifier Lambda's digest; it is re-exported here (`report::html`, `report::chart`,
//! `report::load_category`, …) so the command and its tests read as before. This module is the
//! command: which categories a local store tracks, and writing the pages to disk.
#![allow(clippy::print_stdout)] // the command prints the paths it wrote

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use meli_core::ids::{CategoryId, SiteId};
use meli_core::store::SnapshotStore;

pub use meli_report::*;

/// `meli-radar report` arguments.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The site, such as MLB.
    #[arg(long)]
    pub site: String,
    /// One category's report (a single HTML file); without it, the site overview and one page per
    /// tracked category of the site, in the directory --out.
    #[arg(long)]
    pub category: Option<String>,
    /// The period, in days, counted back from the newest stored list.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// The HTML file (with --category) or the directory (without); default report-{id}.html or
    /// report-{site}/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
    pub data_dir: PathBuf,
}

/// The categories of a site that the store tracks (those with a latest ranking).
pub fn tracked_categories(store: &crate::EmbeddedSnapshotStore, site: SiteId) -> Result<Vec<CategoryId>> {
    let prefix = format!("CAT#{site}#");
    let mut out = BTreeSet::new();
    for item in store.scan_prefix(&prefix)? {
        if item.sk == meli_core::signals::SCORE_SK {
            if let Ok(c) = CategoryId::parse(&item.pk[prefix.len()..]) {
                out.insert(c);
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Writes a site's overview (`index.html`) and one page per category (`{category}.html`) into
/// `dir`; the period ends at the newest list of the site's categories. Returns the index's path.
pub async fn write_site(store: &crate::EmbeddedSnapshotStore, site: SiteId, days: u32, dir: &Path) -> Result<PathBuf> {
    let cats = tracked_categories(store, site)?;
    if cats.is_empty() {
        bail!("no tracked category of {site} in the store; run `meli-radar demo` or `meli-radar fetch --once` first");
    }
    let mut newest = None;
    for c in &cats {
        newest = newest.max(newest_snapshot(store, site, c).await?);
    }
    let mut reports = Vec::new();
    for c in &cats {
        reports.push(load_category(store, site, c, newest, days).await?);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}; pass another --out", dir.display()))?;
    for r in &reports {
        let path = dir.join(html::category_file(&r.category));
        write_file(&path, &html::category_page(r, true))?;
    }
    let index = dir.join("index.html");
    write_file(&index, &html::overview_page(site, &reports))?;
    Ok(index)
}

/// Writes one category's page to `path`.
pub async fn write_category(
    store: &dyn SnapshotStore,
    site: SiteId,
    cat: &CategoryId,
    days: u32,
    path: &Path,
) -> Result<CategoryReport> {
    let report = load_category(store, site, cat, None, days).await?;
    if report.times.is_empty() {
        bail!("no list stored for {site}/{cat}; is it tracked (MELI_CATEGORIES) and has a fetch run?");
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    write_file(path, &html::category_page(&report, false))?;
    Ok(report)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}; pass another --out", path.display()))
}

/// `meli-radar report`.
pub async fn run(args: ReportArgs) -> Result<()> {
    let site = SiteId::parse(&args.site).map_err(|e| anyhow::anyhow!("--site: {e}"))?;
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let store = crate::cli::open_existing(&args.data_dir)?;
    match &args.category {
        Some(c) => {
            let cat = CategoryId::parse(c).map_err(|e| anyhow::anyhow!("--category: {e}"))?;
            if cat.site() != site {
                bail!("--category {cat} belongs to site {}, not {site}", cat.site());
            }
            let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("report-{cat}.html")));
            write_category(&store, site, &cat, args.days, &out).await?;
            println!("{}", out.display());
        }
        None => {
            let dir = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("report-{site}")));
            let index = write_site(&store, site, args.days, &dir).await?;
            println!("{}", index.display());
        }
    }
    Ok(())
}

//! The `meli-radar` commands. Every error a user can cause becomes one line that says what to do.
#![allow(clippy::print_stdout)] // printing is what a command line does

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use meli_core::ids::{CategoryId, EntryId, SiteId};
use meli_core::keys;
use meli_core::signals::{EventItem, LatestItem, ScoreStateItem, SignalConfig, SnapshotItem, SCORE_SK};
use meli_core::snapshot::Snapshot;
use meli_core::store::SnapshotStore;

use crate::config;
use crate::render;
use crate::store::EmbeddedSnapshotStore;

#[derive(Debug, Parser)]
#[command(
    name = "meli-radar",
    version,
    about = "Watches Mercado Libre best-seller lists and turns rank movements into alerts"
)]
pub struct Cli {
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline over a simulated period against the built-in sandbox marketplace.
    Demo(crate::demo::DemoArgs),
    /// Subscribe an e-mail address or phone number to the SNS alerts topic, with a filter policy.
    Subscribe(crate::subscribe::SubscribeArgs),
    /// List the alerts topic's subscriptions and their filter policies.
    Subscriptions(crate::subscribe::SubscriptionsArgs),
    /// Remove a subscription from the alerts topic.
    Unsubscribe(crate::subscribe::UnsubscribeArgs),
    /// Write the store's items in DynamoDB's export format (for the Spark job; spark/README.md).
    Export {
        #[arg(long, value_enum, default_value = "ndjson")]
        format: crate::export::ExportFormat,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
    },
    /// Write DynamoDB-JSON items (such as the Spark job's calibration) into the store.
    Import {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
    },
    /// The latest ranking of a category, from the store.
    Top {
        #[arg(long)]
        site: String,
        #[arg(long)]
        category: String,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
        /// Print the stored item as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Events from the store.
    Events {
        /// How far back, such as 24h or 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Only this category (all tracked categories otherwise).
        #[arg(long)]
        category: Option<String>,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// The rank history of a product, from the store.
    History {
        #[arg(long)]
        product: String,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Fetch the tracked categories' lists once, or every interval, from the configured API.
    Fetch {
        /// Run once and exit (the default).
        #[arg(long, conflicts_with = "every")]
        once: bool,
        /// Keep running, one fetch per interval (such as 15m).
        #[arg(long)]
        every: Option<String>,
        /// Categories to track, such as MLB1055,MLA1055 (default: MELI_CATEGORIES).
        #[arg(long)]
        categories: Option<String>,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
    },
    /// What the configured app can reach, endpoint by endpoint.
    Probe {
        #[arg(long, default_value = "MLB")]
        site: String,
        /// The category to probe (default: {site}1055).
        #[arg(long)]
        category: Option<String>,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Authorize the app on a seller account (authorization-code flow) and store the token.
    Auth {
        /// The redirect URI registered for the app (must match exactly).
        #[arg(long, default_value = "https://localhost/meli-radar/callback")]
        redirect_uri: String,
        /// The code, if you already have it (otherwise it is asked for).
        #[arg(long)]
        code: Option<String>,
        /// Also save the client id and secret to the secrets file (mode 0600).
        #[arg(long)]
        save: bool,
        #[arg(long, env = "MELI_DATA_DIR", default_value = ".meli-radar")]
        data_dir: PathBuf,
    },
    /// Decode a captured API response body and print it normalized, or its classified error.
    Decode {
        /// highlights, highlight-position, product, product-items, item, items, reviews, category,
        /// site-categories, trends, token or error.
        kind: String,
        file: PathBuf,
    },
    /// Write the HTML report (rank histories, movers, prices, volatility, events; docs/report.md).
    Report(crate::report::ReportArgs),
    /// Score a JSON array of snapshots in time order and print one JSON event per line.
    Score {
        #[arg(long)]
        input: PathBuf,
    },
}

/// Logs go to stderr; `RUST_LOG` overrides the level.
pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Subscribe(args) => crate::subscribe::run_subscribe(args).await,
        Command::Subscriptions(args) => crate::subscribe::run_subscriptions(args).await,
        Command::Unsubscribe(args) => crate::subscribe::run_unsubscribe(args).await,
        Command::Export { format, out, data_dir } => crate::export::run_export(format, &out, &data_dir),
        Command::Import { input, data_dir } => crate::export::run_import(&input, &data_dir).await,
        Command::Top { site, category, data_dir, json } => top(&site, &category, &data_dir, json).await,
        Command::Events { since, category, data_dir, json } => {
            events(&since, category.as_deref(), &data_dir, json).await
        }
        Command::History { product, data_dir, json } => history(&product, &data_dir, json).await,
        Command::Score { input } => score(&input),
        Command::Report(args) => crate::report::run(args).await,
        Command::Fetch { once: _, every, categories, data_dir } => {
            crate::commands::fetch(&data_dir, categories.as_deref(), every.as_deref()).await
        }
        Command::Probe { site, category, data_dir, json } => {
            crate::commands::probe(&data_dir, &site, category.as_deref(), json).await
        }
        Command::Auth { redirect_uri, code, save, data_dir } => {
            crate::commands::auth(&data_dir, &redirect_uri, code, save).await
        }
        Command::Decode { kind, file } => crate::commands::decode(&kind, &file),
    }
}

/// The store file inside a data directory.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("radar.db")
}

/// Opens an existing store for reading commands.
pub fn open_existing(data_dir: &Path) -> Result<EmbeddedSnapshotStore> {
    let path = store_path(data_dir);
    if !path.exists() {
        bail!(
            "no data in {} yet; run `meli-radar demo` or `meli-radar fetch --once` first, or pass --data-dir",
            data_dir.display()
        );
    }
    Ok(EmbeddedSnapshotStore::open(&path)?)
}

/// Creates the data directory (mode 0700: it holds tokens) and opens the store.
pub fn open_or_create(data_dir: &Path) -> Result<EmbeddedSnapshotStore> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}; pass another --data-dir", data_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(EmbeddedSnapshotStore::open(&store_path(data_dir))?)
}

fn parse_category(site: &str, category: &str) -> Result<(SiteId, CategoryId)> {
    let site = SiteId::parse(site).map_err(|e| anyhow::anyhow!("--site: {e}"))?;
    let cat = CategoryId::parse(category).map_err(|e| anyhow::anyhow!("--category: {e}"))?;
    if cat.site() != site {
        bail!("--category {cat} belongs to site {}, not {site}", cat.site());
    }
    Ok((site, cat))
}

/// The latest ranking of a category with its signals (from its scorer state).
pub async fn latest(store: &dyn SnapshotStore, site: SiteId, cat: &CategoryId) -> Result<Option<LatestItem>> {
    Ok(meli_core::score_step::read_latest(store, site, cat, &SignalConfig::default()).await?)
}

async fn top(site: &str, category: &str, data_dir: &Path, json: bool) -> Result<()> {
    let (site, cat) = parse_category(site, category)?;
    let store = open_existing(data_dir)?;
    let Some(l) = latest(&store, site, &cat).await? else {
        bail!("no ranking stored for {site}/{cat}; is it tracked (MELI_CATEGORIES) and has a fetch run?");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&l)?);
    } else {
        print!("{}", render::ranking(&l, None));
    }
    Ok(())
}

/// Event items of the tracked categories (those with a scorer state) since a time.
pub async fn stored_events(
    store: &EmbeddedSnapshotStore,
    since: chrono::DateTime<chrono::Utc>,
    only: Option<&CategoryId>,
) -> Result<Vec<EventItem>> {
    let mut out = Vec::new();
    for item in store.scan_prefix("EVT#")? {
        if item.sk.as_str() < keys::ts(since).as_str() {
            continue;
        }
        let e: EventItem = item.decode()?;
        if only.is_none_or(|c| c == &e.category) {
            out.push(e);
        }
    }
    out.sort_by(|a, b| (a.taken_at, &a.sk).cmp(&(b.taken_at, &b.sk)));
    Ok(out)
}

async fn events(since: &str, category: Option<&str>, data_dir: &Path, json: bool) -> Result<()> {
    let d = config::parse_duration(since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let cat = category.map(CategoryId::parse).transpose().map_err(|e| anyhow::anyhow!("--category: {e}"))?;
    let store = open_existing(data_dir)?;
    // "since" counts back from the newest stored list, so a demo's simulated week reads naturally.
    let newest = store
        .scan_prefix("CAT#")?
        .iter()
        .filter(|i| i.sk == SCORE_SK)
        .filter_map(|i| i.decode::<ScoreStateItem>().ok()?.newest)
        .max()
        .unwrap_or_else(chrono::Utc::now);
    for e in stored_events(&store, newest - d, cat.as_ref()).await? {
        if json {
            println!("{}", serde_json::to_string(&e)?);
        } else {
            println!("{}", render::event_line(&e));
        }
    }
    Ok(())
}

/// One point of a product's rank history, as `history --json` prints it.
#[derive(Debug, serde::Serialize)]
struct HistoryPoint<'a> {
    taken_at: chrono::DateTime<chrono::Utc>,
    site: SiteId,
    category: &'a CategoryId,
    product: &'a EntryId,
    position: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reviews_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<f64>,
}

/// A product's history is its entries in the snapshot items of the site's lists (there are no
/// per-product history items: docs/decisions.md), in time order, across every list it was in.
async fn history(product: &str, data_dir: &Path, json: bool) -> Result<()> {
    let id = EntryId::parse(product).map_err(|e| anyhow::anyhow!("--product: {e}"))?;
    let store = open_existing(data_dir)?;
    let mut snapshots = Vec::new();
    for item in store.scan_prefix(&format!("CAT#{}#", id.site()))? {
        if item.sk.starts_with(keys::SNAP_PREFIX) {
            // A snapshot that does not decode is reported, not skipped silently.
            let s = SnapshotItem::from_item(&item).with_context(|| format!("{}/{} is unreadable", item.pk, item.sk))?;
            if s.snapshot.entries.iter().any(|e| e.id == id) {
                snapshots.push(s.snapshot);
            }
        }
    }
    if snapshots.is_empty() {
        bail!("no history for {id}; it has not been seen in a tracked list");
    }
    snapshots.sort_by(|a, b| (a.taken_at, &a.category).cmp(&(b.taken_at, &b.category)));
    for s in &snapshots {
        let Some(e) = s.entries.iter().find(|e| e.id == id) else { continue };
        let point = HistoryPoint {
            taken_at: s.taken_at,
            site: s.site,
            category: &s.category,
            product: &e.id,
            position: e.position.get(),
            price: e.price,
            currency: e.currency.as_deref(),
            reviews_total: e.reviews_total,
            rating: e.rating,
        };
        if json {
            println!("{}", serde_json::to_string(&point)?);
        } else {
            let info = meli_core::site::SiteInfo::of(s.site);
            let price = e.price.map(|p| info.format_price(p)).unwrap_or_else(|| "—".into());
            println!(
                "{}  {:<10} #{:<3} {:>16}",
                s.taken_at.format("%Y-%m-%d %H:%M"),
                s.category,
                point.position,
                price
            );
        }
    }
    Ok(())
}

fn score(input: &Path) -> Result<()> {
    let text = std::fs::read_to_string(input)
        .with_context(|| format!("cannot read {}; pass a JSON file with --input", input.display()))?;
    let snapshots: Vec<Snapshot> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a JSON array of snapshots ({{\"site\",\"category\",\"taken_at\",\"entries\":[{{\"position\",\"id\",\"type\"}}]}})",
            input.display()
        )
    })?;
    let events = meli_core::score_step::score_series(snapshots, &SignalConfig::default())
        .context("the snapshots cannot be scored")?;
    for e in events {
        println!("{}", serde_json::to_string(&e)?);
    }
    Ok(())
}

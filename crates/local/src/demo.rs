//! `meli-radar demo`: the whole pipeline over a simulated period, against the sandbox started
//! in-process on a free loopback port. Nothing leaves the machine and no credentials are needed.
#![allow(clippy::print_stdout)] // the demo's output is its point

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::Duration;
use meli_core::auth::{StoreTokenStore, TokenStore};
use meli_core::billing::{Meter, Usage};
use meli_core::clock::ManualClock;
use meli_core::fetch::{CategoryOutcome, FetchConfig};
use meli_core::ids::{CategoryId, SiteId};
use meli_core::signals::{EventItem, SignalConfig};
use meli_http::{Config as HttpConfig, MeliClient};
use meli_sandbox::{SandboxConfig, SandboxHandle};
use secrecy::SecretString;

use crate::cli::{latest, open_or_create, store_path};
use crate::runner::Runner;
use crate::{config, render};

/// Marks a data directory as the demo's own, so a rerun may start it afresh.
const DEMO_MARKER: &str = "DEMO";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo keeps its data (wiped and rebuilt on each demo run).
    #[arg(long, default_value = ".meli-radar")]
    pub data_dir: PathBuf,
    /// Simulated period, such as 48h or 7d.
    #[arg(long, default_value = "48h")]
    pub period: String,
    /// Polling cadence: how often each category is refreshed (simulated time).
    #[arg(long, default_value = "15m")]
    pub every: String,
    /// How often the fetcher wakes (simulated time), at most --every: production's scheduler wakes it
    /// every 15 minutes (infra `fetch_schedule`) and it refreshes the categories that are due. By
    /// default it wakes once per refresh.
    #[arg(long)]
    pub wake: Option<String>,
    /// The sandbox market's seed: the same seed gives the same run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Categories to track (comma-separated, such as MLB1055,MLA1055); the sandbox's demo set otherwise.
    #[arg(long)]
    pub categories: Option<String>,
    /// The sandbox scenario (`default` or `hostile`).
    #[arg(long, default_value = "default")]
    pub scenario: String,
    /// Requests per second the client may send to the local sandbox (the real API's default is 4.5).
    #[arg(long, default_value_t = 500.0)]
    pub rate_limit: f64,
    /// Also post the demo's alerts to this Slack incoming webhook.
    #[arg(long)]
    pub slack_webhook: Option<String>,
}

/// What a demo run produced, for tests and the summary.
#[derive(Debug, Default)]
pub struct DemoOutcome {
    pub ticks: usize,
    pub category_refreshes: u64,
    /// Categories the fetcher found not due when it woke (their `STATE` read, nothing else).
    pub not_due: u64,
    pub snapshots: usize,
    pub api_calls: u64,
    pub errors: BTreeMap<String, u64>,
    pub events: Vec<EventItem>,
    /// Alerts delivered to the demo's sinks (messages out, and deliveries held for digests).
    pub alerts_sent: usize,
    pub alerts_held: usize,
    /// What DynamoDB would have billed for the pipeline's store operations, by kind of item.
    pub units: BTreeMap<String, Usage>,
}

impl DemoOutcome {
    pub fn calls_per_refresh(&self) -> f64 {
        if self.category_refreshes == 0 {
            0.0
        } else {
            self.api_calls as f64 / self.category_refreshes as f64
        }
    }
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let period = config::parse_duration(&args.period).map_err(|e| anyhow::anyhow!("--period: {e}"))?;
    let every = config::parse_duration(&args.every).map_err(|e| anyhow::anyhow!("--every: {e}"))?;
    let wake = match &args.wake {
        Some(w) => config::parse_duration(w).map_err(|e| anyhow::anyhow!("--wake: {e}"))?,
        None => every,
    };
    if wake > every {
        bail!("--wake ({}) must not be longer than --every ({})", args.wake.as_deref().unwrap_or(""), args.every);
    }
    if !(args.rate_limit.is_finite() && args.rate_limit > 0.0) {
        bail!("--rate-limit must be a positive number of requests per second");
    }
    let scenario = args.scenario.parse::<meli_sandbox::Scenario>().map_err(|e| anyhow::anyhow!("--scenario: {e}"))?;
    let tracked = match &args.categories {
        Some(list) => config::parse_categories(list).map_err(|e| anyhow::anyhow!("--categories: {e}"))?,
        None => demo_categories()?,
    };
    if tracked.is_empty() {
        bail!("--categories: name at least one category, such as MLB1055");
    }
    prepare_data_dir(&args.data_dir)?;
    let meter = Arc::new(Meter::new());
    let store = Arc::new(open_or_create(&args.data_dir)?.with_meter(meter.clone()));

    let sandbox = meli_sandbox::spawn(SandboxConfig { seed: args.seed, speed: 0.0, scenario, ..Default::default() })
        .await
        .context("cannot start the sandbox on a loopback port")?;
    let alerts_file = args.data_dir.join("alerts.jsonl");
    let slack = match &args.slack_webhook {
        Some(url) => meli_core::notify::destination::parse_slack_webhooks(url)
            .map_err(|e| anyhow::anyhow!("--slack-webhook: {e}"))?,
        None => Vec::new(),
    };
    let destinations = crate::notify::local_destinations(crate::notify::LocalSinks {
        jsonl: Some(alerts_file.clone()),
        slack,
        ..Default::default()
    })?;
    let mut out = run_pipeline(
        &sandbox,
        store.clone(),
        &tracked,
        Schedule { period, every, wake },
        args.rate_limit,
        &destinations,
        true,
    )
    .await?;
    // The pipeline's operations only (the rankings and the report below read the store too).
    out.units = meter.by_kind();

    // Rankings, with category names from the API.
    let now = Arc::new(ManualClock::new(sandbox.state().now()));
    let client = demo_client(&sandbox, store.clone(), args.rate_limit, now)?;
    println!();
    for (site, cat) in &tracked {
        let name = client.category(cat).await.ok().map(|c| c.name);
        match latest(store.as_ref(), *site, cat).await? {
            Some(l) => println!("{}", render::ranking(&l, name.as_deref())),
            None => println!("== {site} · {cat} — no list (see the summary) ==\n"),
        }
    }
    print_events(&out.events);
    print_alerts(&alerts_file, &out);
    print_summary(&out, &args, &tracked, every);
    sandbox.shutdown().await;
    // The HTML report of the demo period, one site overview (with its category pages) per site.
    let days = u32::try_from((period.num_hours() + 23) / 24).unwrap_or(u32::MAX).max(1);
    let sites: std::collections::BTreeSet<SiteId> = tracked.iter().map(|(s, _)| *s).collect();
    println!("\n== Report ==");
    for site in sites {
        let dir = args.data_dir.join("report").join(site.as_str());
        match crate::report::write_site(&store, site, days, &dir).await {
            Ok(index) => println!("  {site}  {}", index.display()),
            Err(e) => println!("  {site}  no report: {e:#}"),
        }
    }
    Ok(())
}

/// The sandbox's demo categories.
fn demo_categories() -> Result<Vec<(SiteId, CategoryId)>> {
    let mut out = Vec::new();
    for (site, cat) in meli_sandbox::default_demo_categories() {
        out.push((SiteId::parse(&site)?, CategoryId::parse(&cat)?));
    }
    Ok(out)
}

/// Starts the demo's data afresh, refusing to touch a directory that holds other data.
fn prepare_data_dir(dir: &std::path::Path) -> Result<()> {
    let db = store_path(dir);
    let marker = dir.join(DEMO_MARKER);
    if db.exists() && !marker.exists() {
        bail!(
            "{} holds data that the demo did not create; pass another --data-dir (the demo rebuilds its directory)",
            dir.display()
        );
    }
    let alerts = dir.join("alerts.jsonl");
    for f in
        ["", "-wal", "-shm"].iter().map(|suffix| PathBuf::from(format!("{}{suffix}", db.display()))).chain([alerts])
    {
        if f.exists() {
            std::fs::remove_file(&f)
                .with_context(|| format!("cannot remove the previous demo data {}", f.display()))?;
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&marker, "This directory was made by `meli-radar demo`, which rebuilds it on each run.\n")
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}

/// The demo's client. It keeps the simulated time (`clock`), as it keeps real time against the real
/// API: it renews its token before the sandbox's expiry instead of learning of it from 401s.
fn demo_client(
    sandbox: &SandboxHandle,
    store: Arc<crate::EmbeddedSnapshotStore>,
    rps: f64,
    clock: Arc<ManualClock>,
) -> Result<MeliClient> {
    let base = url::Url::parse(&sandbox.base_url()).context("the sandbox address is not a URL")?;
    let cfg = sandbox.state().config();
    let mut http = HttpConfig::new(base, cfg.client_id.clone(), SecretString::from(cfg.client_secret.clone()));
    http.rate_limit_rps = rps;
    http.rate_limit_burst = rps.max(1.0);
    let tokens: Arc<dyn TokenStore> = Arc::new(StoreTokenStore::new(store, &cfg.client_id));
    Ok(MeliClient::builder(http).token_store(tokens).clock(clock).build()?)
}

/// The simulated times of a demo run: named, since three durations in a row are easy to swap.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// How long the simulated run lasts.
    pub period: Duration,
    /// Each category is refreshed this often (`FetchConfig::refresh_every`).
    pub every: Duration,
    /// The fetcher wakes this often (at most `every`), refreshing what is due.
    pub wake: Duration,
}

/// Runs the pipeline tick by tick while the sandbox's clock steps through the period: a tick every
/// `wake`, each category refreshed every `every` (when a tick finds it due).
pub async fn run_pipeline(
    sandbox: &SandboxHandle,
    store: Arc<crate::EmbeddedSnapshotStore>,
    tracked: &[(SiteId, CategoryId)],
    schedule: Schedule,
    rps: f64,
    destinations: &[meli_core::notify::Destination],
    progress: bool,
) -> Result<DemoOutcome> {
    let clock = Arc::new(ManualClock::new(sandbox.state().now()));
    let client = demo_client(sandbox, store.clone(), rps, clock.clone())?;
    let runner = Runner {
        store: store.clone(),
        source: Arc::new(client.clone()),
        clock: clock.clone(),
        tracked: tracked.to_vec(),
        fetch: FetchConfig { refresh_every: schedule.every, ..FetchConfig::default() },
        signals: SignalConfig::default(),
        cache: Default::default(),
    };
    let Schedule { period, wake, .. } = schedule;
    let steps = (period.num_seconds() / wake.num_seconds().max(1)).max(1);
    let started = Instant::now();
    let mut out = DemoOutcome::default();
    for step in 0..=steps {
        if step > 0 {
            sandbox.state().advance(wake);
        }
        clock.set(sandbox.state().now());
        let tick = runner.tick(None).await?;
        out.ticks += 1;
        out.not_due += tick.fetch.not_due as u64;
        out.snapshots += tick.fetch.snapshots_written;
        for (_, _, outcome) in &tick.fetch.categories {
            match outcome {
                CategoryOutcome::Ok { .. } => out.category_refreshes += 1,
                CategoryOutcome::NoList => *out.errors.entry("no_list".into()).or_default() += 1,
                CategoryOutcome::Forbidden { .. } => *out.errors.entry("forbidden".into()).or_default() += 1,
                CategoryOutcome::Failed { .. } => *out.errors.entry("failed".into()).or_default() += 1,
                CategoryOutcome::Skipped => *out.errors.entry("skipped".into()).or_default() += 1,
            }
        }
        for (kind, n) in &tick.fetch.entry_errors {
            *out.errors.entry(format!("entry_{kind}")).or_default() += u64::from(*n);
        }
        out.events.extend(tick.drain.events);
        let notify_cfg = meli_core::notify::NotifyConfig::default();
        let deps = meli_core::notify::NotifyDeps {
            store: store.as_ref(),
            clock: clock.as_ref(),
            destinations,
            config: &notify_cfg,
        };
        let n = crate::notify::drain_notifier(store.as_ref(), deps).await?;
        out.alerts_sent += n.report.messages;
        out.alerts_held += n.report.held;
        let hours = (wake * i32::try_from(step).unwrap_or(i32::MAX)).num_hours();
        if progress
            && (step == steps || (step > 0 && (wake * i32::try_from(step).unwrap_or(0)).num_minutes() % 360 == 0))
        {
            let mut err = std::io::stderr();
            let _ = writeln!(
                err,
                "[{hours:>3}h/{}h] {} snapshots · {} events · {:.1}s",
                period.num_hours(),
                out.snapshots,
                out.events.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let counters = client.counters();
    out.api_calls =
        counters.endpoints.iter().filter(|(name, _)| name.as_str() != "oauth_token").map(|(_, c)| c.calls).sum();
    Ok(out)
}

fn print_events(events: &[EventItem]) {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events {
        *by_kind.entry(e.kind.as_str()).or_default() += 1;
    }
    println!("== Events of the period: {} ==", events.len());
    for (k, n) in &by_kind {
        println!("  {k:<16} {n}");
    }
    println!("\n== Top movers ==");
    for e in meli_core::notify::render::top_movers(events, 10) {
        println!("  {}", render::event_line(e));
    }
    println!("\n== Latest events ==");
    for e in events.iter().rev().take(15).collect::<Vec<_>>().into_iter().rev() {
        println!("  {}", render::event_line(e));
    }
}

/// The alerts the demo sent to its file sink, in the site's language: a count and the latest few.
fn print_alerts(file: &std::path::Path, out: &DemoOutcome) {
    let alerts: Vec<meli_core::notify::FeedAlert> = std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    println!(
        "\n== Alerts sent: {} (held for digests: {}), written to {} ==",
        alerts.len(),
        out.alerts_held,
        file.display()
    );
    for a in alerts.iter().rev().take(8).collect::<Vec<_>>().into_iter().rev() {
        println!("{}", crate::notify::ConsoleSink::line(a));
    }
}

fn print_summary(out: &DemoOutcome, args: &DemoArgs, tracked: &[(SiteId, CategoryId)], every: Duration) {
    println!("\n== Summary ==");
    println!("  simulated period      {} at one refresh every {}", args.period, args.every);
    if let Some(wake) = &args.wake {
        println!("  fetcher woken         every {wake}: {} wakes, {} categories not due", out.ticks, out.not_due);
    }
    println!("  categories            {}", tracked.len());
    println!("  snapshots stored      {}", out.snapshots);
    println!("  category refreshes    {}", out.category_refreshes);
    println!("  API calls             {}", out.api_calls);
    println!("  calls per refresh     {:.2}", out.calls_per_refresh());
    if out.errors.is_empty() {
        println!("  errors                none");
    } else {
        let list: Vec<String> = out.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!("  errors by kind        {}", list.join(", "));
    }
    println!("  data                  {}", args.data_dir.display());
    print_units(out, every, &args.every);
}

/// US$ per million on-demand write and read request units (us-east-1 list prices since November
/// 2024; docs/costs.md).
const USD_PER_M_WRU: f64 = 0.625;
const USD_PER_M_RRU: f64 = 0.125;
/// Categories in docs/costs.md's case, and the seconds of its month.
const COST_CASE_CATEGORIES: f64 = 1000.0;
const MONTH_SECS: f64 = 30.4 * 86_400.0;

/// The store's operations per category refresh, as DynamoDB on-demand would bill them, and what that
/// makes a month for 1,000 categories refreshed at the demo's cadence (the units per refresh depend
/// on it: the state holds more snapshots and a refresh sees fewer events at a shorter one).
fn print_units(out: &DemoOutcome, every: Duration, every_text: &str) {
    let n = out.category_refreshes.max(1) as f64;
    println!("\n== DynamoDB units per category refresh (counted as on-demand would bill them) ==");
    println!("  {:<12} {:>8} {:>8} {:>10} {:>8} {:>8}", "item", "writes", "WRU", "B/write", "reads", "RRU");
    let mut total = Usage::default();
    for (kind, u) in &out.units {
        let mean = u.bytes_written.checked_div(u.writes).unwrap_or(0);
        println!(
            "  {kind:<12} {:>8.2} {:>8.2} {mean:>10} {:>8.2} {:>8.2}",
            u.writes as f64 / n,
            u.write_units as f64 / n,
            u.reads as f64 / n,
            u.read_units / n
        );
        total.writes += u.writes;
        total.write_units += u.write_units;
        total.reads += u.reads;
        total.read_units += u.read_units;
    }
    let (wru, rru) = (total.write_units as f64 / n, total.read_units / n);
    println!(
        "  {:<12} {:>8.2} {wru:>8.2} {:>10} {:>8.2} {rru:>8.2}",
        "total",
        total.writes as f64 / n,
        "",
        total.reads as f64 / n
    );
    let refreshes = COST_CASE_CATEGORIES * MONTH_SECS / every.num_seconds().max(1) as f64;
    println!(
        "  1,000 categories refreshed every {} ({:.2} M refreshes a month): writes US$ {:.2} + reads US$ {:.2} a month (docs/costs.md)",
        every_text,
        refreshes / 1e6,
        wru * refreshes * USD_PER_M_WRU / 1e6,
        rru * refreshes * USD_PER_M_RRU / 1e6
    );
}

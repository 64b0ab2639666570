//! `meli-sandbox`: runs the simulated marketplace on a loopback address.

use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Parser;
use meli_sandbox::{FaultConfig, ItemsAccess, SandboxConfig, SandboxState, Scenario};

/// A simulated Mercado Libre marketplace speaking the api.mercadolibre.com HTTP API.
#[derive(Debug, Parser)]
#[command(name = "meli-sandbox", version)]
struct Cli {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8089")]
    addr: SocketAddr,
    /// Seed of the market, the tokens and the fault decisions.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Simulated seconds per real second (0 = only `POST /_sandbox/advance` moves the clock).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Market: default, hostile or volatile.
    #[arg(long, default_value = "default")]
    scenario: Scenario,
    /// Requests per second per app (token bucket); unlimited when absent.
    #[arg(long)]
    rate_limit: Option<f64>,
    /// Probability of a fault of any kind, spread evenly over the kinds below.
    #[arg(long)]
    fault_rate: Option<f64>,
    /// Probability of a 500.
    #[arg(long)]
    fault_500: Option<f64>,
    /// Probability of a 503.
    #[arg(long)]
    fault_503: Option<f64>,
    /// Probability of a slow response (see --slow-ms).
    #[arg(long)]
    fault_slow: Option<f64>,
    /// Probability of a dropped connection.
    #[arg(long)]
    fault_drop: Option<f64>,
    /// Probability of a truncated JSON body.
    #[arg(long)]
    fault_truncated: Option<f64>,
    /// Probability of a malformed JSON body.
    #[arg(long)]
    fault_malformed: Option<f64>,
    /// Delay of a slow response, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    slow_ms: u64,
    /// The test app's client id.
    #[arg(long, default_value = meli_sandbox::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// The test app's client secret.
    #[arg(long, env = "MELI_SANDBOX_CLIENT_SECRET", default_value = meli_sandbox::DEFAULT_CLIENT_SECRET, hide_env_values = true)]
    client_secret: String,
    /// A category whose /highlights answer 403 PolicyAgent (repeatable).
    #[arg(long = "forbid")]
    forbidden: Vec<String>,
    /// Let /items answer 200 for other sellers' items.
    #[arg(long)]
    items_open: bool,
    /// Simulated start time (RFC 3339); default 2026-11-02T00:00:00Z.
    #[arg(long)]
    start: Option<DateTime<Utc>>,
}

fn probability(name: &str, v: Option<f64>) -> anyhow::Result<f64> {
    let v = v.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&v) {
        anyhow::bail!("--{name} must be between 0 and 1, got {v}");
    }
    Ok(v)
}

fn config(cli: Cli) -> anyhow::Result<SandboxConfig> {
    if cli.speed < 0.0 || !cli.speed.is_finite() {
        anyhow::bail!("--speed must be a finite number >= 0, got {}", cli.speed);
    }
    if let Some(r) = cli.rate_limit {
        if r <= 0.0 || !r.is_finite() {
            anyhow::bail!("--rate-limit must be > 0, got {r}");
        }
    }
    let mut faults = FaultConfig::uniform(probability("fault-rate", cli.fault_rate)?);
    for (name, v, slot) in [
        ("fault-500", cli.fault_500, &mut faults.error_500),
        ("fault-503", cli.fault_503, &mut faults.error_503),
        ("fault-slow", cli.fault_slow, &mut faults.slow),
        ("fault-drop", cli.fault_drop, &mut faults.drop),
        ("fault-truncated", cli.fault_truncated, &mut faults.truncated),
        ("fault-malformed", cli.fault_malformed, &mut faults.malformed),
    ] {
        if v.is_some() {
            *slot = probability(name, v)?;
        }
    }
    if faults.total() > 1.0 {
        anyhow::bail!("fault probabilities add up to {:.3} > 1", faults.total());
    }
    faults.slow_delay = StdDuration::from_millis(cli.slow_ms);
    let mut c = SandboxConfig {
        seed: cli.seed,
        speed: cli.speed,
        scenario: cli.scenario,
        rate_limit: cli.rate_limit,
        faults,
        client_id: cli.client_id,
        client_secret: cli.client_secret,
        forbidden_categories: cli.forbidden,
        items_access: if cli.items_open { ItemsAccess::Open } else { ItemsAccess::OwnerOnly },
        ..SandboxConfig::default()
    };
    if let Some(start) = cli.start {
        c.start = start;
    }
    Ok(c)
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let addr = cli.addr;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening on a non-loopback address");
    }
    let config = config(cli)?;
    let state = SandboxState::new(config);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, seed = state.config().seed, speed = state.config().speed,
        scenario = state.config().scenario.name(), now = %state.now(), "meli-sandbox listening");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    meli_sandbox::run(listener, state, shutdown).await.context("server failed")?;
    Ok(())
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("bad arguments").trim_start_matches("error: ");
            eprintln!("meli-sandbox: {line}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("meli-sandbox: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(serve(cli)) {
        eprintln!("meli-sandbox: {e:#}");
        std::process::exit(1);
    }
}

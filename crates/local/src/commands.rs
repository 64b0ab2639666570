//! The commands that talk to the Mercado Libre API: `fetch`, `probe`, `auth`, and `decode` for
//! captured bodies.
#![allow(clippy::print_stdout)] // printing is what a command line does

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use meli_core::auth::{StoreTokenStore, TokenStore};
use meli_core::clock::SystemClock;
use meli_core::fetch::{CategoryOutcome, FetchConfig, FetchReport};
use meli_core::ids::{CategoryId, EntryType, SiteId};
use meli_core::signals::SignalConfig;
use meli_http::config::Grant;
use meli_http::{Config as HttpConfig, MeliClient};
use secrecy::SecretString;

use crate::cli::open_or_create;
use crate::runner::Runner;
use crate::secrets::{self, SecretsFile};
use crate::store::EmbeddedSnapshotStore;
use crate::{config, render};

/// The client configuration from the environment, then the secrets file; every problem on one line.
fn http_config(data_dir: &Path) -> Result<(HttpConfig, Option<SecretString>)> {
    let file = SecretsFile::load(&secrets::path_for(data_dir))?;
    let lookup = |n: &str| config::env(n).or_else(|| file.get(n));
    let cfg = HttpConfig::from_lookup(lookup).map_err(|e| {
        let list: Vec<String> = e.problems.iter().map(|p| format!("{} {}", p.variable, p.detail)).collect();
        anyhow!(
            "Mercado Libre credentials are not configured: {}; set them in the environment or run `meli-radar auth`",
            list.join("; ")
        )
    })?;
    let refresh = lookup("MELI_REFRESH_TOKEN").map(SecretString::from);
    Ok((cfg, refresh))
}

/// A client whose tokens live in the data directory's store.
pub async fn connect(data_dir: &Path, store: Arc<EmbeddedSnapshotStore>) -> Result<MeliClient> {
    let (cfg, refresh) = http_config(data_dir)?;
    let grant = cfg.grant;
    let tokens = Arc::new(StoreTokenStore::new(store, &cfg.client_id));
    let has_token = tokens.load().await.context("cannot read the stored token")?.is_some();
    let client = MeliClient::builder(cfg).token_store(tokens).build()?;
    match (grant, has_token, refresh) {
        (Grant::AuthorizationCode, false, Some(rt)) => {
            client.refresh_with(&rt).await.context(
                "cannot use MELI_REFRESH_TOKEN (single use: it may have been used already); run `meli-radar auth`",
            )?;
        }
        (Grant::AuthorizationCode, false, None) => {
            bail!("MELI_GRANT=authorization_code but no user token is stored; run `meli-radar auth` or set MELI_REFRESH_TOKEN")
        }
        _ => {}
    }
    Ok(client)
}

/// Tracked categories: `--categories`, else `MELI_CATEGORIES`.
pub fn tracked(flag: Option<&str>) -> Result<Vec<(SiteId, CategoryId)>> {
    let list = flag
        .map(str::to_string)
        .or_else(|| config::env("MELI_CATEGORIES"))
        .ok_or_else(|| anyhow!("no categories to track; pass --categories MLB1055,MLA1055 or set MELI_CATEGORIES"))?;
    let cats = config::parse_categories(&list).map_err(|e| anyhow!("categories: {e}"))?;
    if cats.is_empty() {
        bail!("no categories to track; pass --categories MLB1055,MLA1055 or set MELI_CATEGORIES");
    }
    Ok(cats)
}

fn report_line(r: &FetchReport) -> String {
    let calls: Vec<String> = r.api_calls.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let errs: Vec<String> = r.entry_errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "ok {} · no list {} · forbidden {} · failed {} · skipped {} · not due {} · new snapshots {} · calls [{}] · entry errors [{}] · {} ms",
        r.ok,
        r.no_list,
        r.forbidden,
        r.failed,
        r.skipped,
        r.not_due,
        r.snapshots_written,
        calls.join(" "),
        errs.join(" "),
        r.duration_ms
    )
}

pub async fn fetch(data_dir: &Path, categories: Option<&str>, every: Option<&str>) -> Result<()> {
    let every = every.map(config::parse_duration).transpose().map_err(|e| anyhow!("--every: {e}"))?;
    let tracked = tracked(categories)?;
    let store = Arc::new(open_or_create(data_dir)?);
    let client = connect(data_dir, store.clone()).await?;
    let runner = Runner {
        store: store.clone(),
        source: Arc::new(client),
        clock: Arc::new(SystemClock),
        tracked,
        fetch: FetchConfig {
            refresh_every: every.unwrap_or_else(|| FetchConfig::default().refresh_every),
            ..Default::default()
        },
        signals: SignalConfig::default(),
        cache: Default::default(),
    };
    loop {
        let tick = runner.tick(None).await?;
        println!("{} {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"), report_line(&tick.fetch));
        for (site, cat, outcome) in &tick.fetch.categories {
            if let CategoryOutcome::Failed { error } = outcome {
                println!("  {site}/{cat}: failed: {error}");
            }
        }
        for e in &tick.drain.events {
            println!("  {}", render::event_line(e));
        }
        let Some(every) = every else { return Ok(()) };
        let wait = every.to_std().unwrap_or(std::time::Duration::from_secs(900));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// One probe row.
#[derive(Debug, serde::Serialize)]
pub struct ProbeRow {
    pub family: &'static str,
    pub path: String,
    pub status: Option<u16>,
    pub outcome: String,
    pub keys: Vec<String>,
}

pub async fn probe(data_dir: &Path, site: &str, category: Option<&str>, json: bool) -> Result<()> {
    let site = SiteId::parse(site).map_err(|e| anyhow!("--site: {e}"))?;
    let cat = match category {
        Some(c) => CategoryId::parse(c).map_err(|e| anyhow!("--category: {e}"))?,
        None => CategoryId::parse(&format!("{site}1055")).map_err(|e| anyhow!("{e}"))?,
    };
    let store = Arc::new(open_or_create(data_dir)?);
    let client = connect(data_dir, store).await?;
    let mut rows = Vec::new();
    let auth = client.authenticate().await;
    rows.push(ProbeRow {
        family: "oauth",
        path: "POST /oauth/token".into(),
        status: None,
        outcome: match &auth {
            Ok(t) => format!("ok, expires {}", t.expires_at.format("%Y-%m-%d %H:%M UTC")),
            Err(e) => format!("failed: {e}"),
        },
        keys: Vec::new(),
    });
    if auth.is_err() {
        return print_probe(&rows, json);
    }
    // Ids to follow come from the highlights answer, when there is one.
    let list = client.highlights(site, &cat).await.unwrap_or_default();
    let first = |k: EntryType| list.iter().find(|e| e.kind == k).map(|e| e.id.to_string());
    let product = first(EntryType::Product);
    let item = first(EntryType::Item);
    let mut paths: Vec<(&'static str, String)> = vec![
        ("site categories", format!("/sites/{site}/categories")),
        ("category", format!("/categories/{cat}")),
        ("best sellers", format!("/highlights/{site}/category/{cat}")),
        ("trends", format!("/trends/{site}")),
        ("search (closed in 2025)", format!("/sites/{site}/search?q=celular")),
    ];
    if let Some(p) = &product {
        paths.push(("product rank", format!("/highlights/{site}/product/{p}")));
        paths.push(("product", format!("/products/{p}")));
        paths.push(("product offers", format!("/products/{p}/items?limit=5")));
    }
    if let Some(i) = &item {
        paths.push(("item rank", format!("/highlights/{site}/item/{i}")));
        paths.push(("item", format!("/items/{i}")));
        paths.push(("items multiget", format!("/items?ids={i}")));
        paths.push(("items bulk", format!("/items/bulk?ids={i}")));
        paths.push(("reviews", format!("/reviews/item/{i}")));
    }
    for (family, path) in paths {
        let row = match client.probe(&path).await {
            Ok(r) => ProbeRow {
                family,
                path,
                status: Some(r.status),
                outcome: r.error_kind.unwrap_or_else(|| "ok".into()),
                keys: match r.array_len {
                    Some(n) => vec![format!("[{n} entries]")],
                    None => r.top_level_keys,
                },
            },
            Err(e) => ProbeRow { family, path, status: None, outcome: e.kind_name().to_string(), keys: Vec::new() },
        };
        rows.push(row);
    }
    print_probe(&rows, json)
}

fn print_probe(rows: &[ProbeRow], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    println!("{:<24} {:<6} {:<24} {:<48} keys", "endpoint", "status", "outcome", "path");
    for r in rows {
        let status = r.status.map(|s| s.to_string()).unwrap_or_else(|| "—".into());
        let mut keys = r.keys.join(",");
        if keys.chars().count() > 60 {
            keys = format!("{}…", keys.chars().take(59).collect::<String>());
        }
        println!(
            "{:<24} {:<6} {:<24} {:<48} {}",
            r.family,
            status,
            render::fit(&r.outcome, 24).trim_end(),
            r.path,
            keys
        );
    }
    Ok(())
}

/// `meli-radar auth`: the authorization-code flow.
pub async fn auth(data_dir: &Path, redirect_uri: &str, code: Option<String>, save: bool) -> Result<()> {
    let (cfg, _) = http_config(data_dir)?;
    let base = cfg.base_url.clone();
    let authorize = if base.host_str() == Some("api.mercadolibre.com") {
        format!(
            "https://auth.mercadolivre.com.br/authorization?response_type=code&client_id={}&redirect_uri={}",
            cfg.client_id, redirect_uri
        )
    } else {
        // The sandbox hands out a code at this address (it stands in for the browser step).
        format!("{}/_sandbox/authorize?client_id={}", base.as_str().trim_end_matches('/'), cfg.client_id)
    };
    let code = match code {
        Some(c) => c,
        None => {
            eprintln!("1. Open this address as an admin of the seller account and authorize the app:\n   {authorize}");
            eprintln!("2. Paste the `code` parameter of the address you are sent back to, then Enter:");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("cannot read the code from standard input")?;
            line.trim().to_string()
        }
    };
    if code.is_empty() {
        bail!("no code given; pass --code or paste it when asked");
    }
    let store = Arc::new(open_or_create(data_dir)?);
    let client_id = cfg.client_id.clone();
    let secret = cfg.client_secret.clone();
    let tokens = Arc::new(StoreTokenStore::new(store, &client_id));
    let client =
        MeliClient::builder(HttpConfig { grant: Grant::AuthorizationCode, ..cfg }).token_store(tokens).build()?;
    let info = client.exchange_code(&SecretString::from(code), redirect_uri).await.context("the code was refused")?;
    if save {
        let path = secrets::path_for(data_dir);
        let mut file = SecretsFile::load(&path)?;
        file.set("MELI_CLIENT_ID", client_id);
        file.set("MELI_CLIENT_SECRET", secrecy::ExposeSecret::expose_secret(&secret).to_string());
        file.set("MELI_GRANT", "authorization_code".into());
        file.save(&path)?;
        println!("credentials saved to {} (mode 0600)", path.display());
    }
    println!(
        "authorized{}; the token is stored in {} and refreshed automatically (expires {})",
        info.user_id.map(|u| format!(" as user {u}")).unwrap_or_default(),
        data_dir.display(),
        info.expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    Ok(())
}

/// `meli-radar decode <kind> <file>`.
pub fn decode(kind: &str, file: &PathBuf) -> Result<()> {
    if !meli_http::decode::KINDS.contains(&kind) {
        bail!("unknown kind {kind:?}; use one of {}", meli_http::decode::KINDS.join(", "));
    }
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let value = meli_http::decode::decode(kind, &body)
        .with_context(|| format!("{} does not decode as {kind}", file.display()))?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

//! The HTML report of a sandbox run in the `hostile` scenario, checked statically and in headless
//! Chromium (Debian's `chromium`; `make test-report` installs it). Chromium runs with every host
//! name mapped to "not found" and a NetLog of every request it makes; a control page with one
//! remote image proves that the NetLog check would see a request.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::Duration;
use meli_core::ids::{CategoryId, SiteId};
use meli_core::keys;
use meli_core::signals::SnapshotItem;
use meli_core::store::{Query, SnapshotStore};
use meli_local::report;
use meli_local::EmbeddedSnapshotStore;
use meli_sandbox::{SandboxConfig, Scenario};

/// The workspace's `target/` (not CARGO_TARGET_DIR, which may be elsewhere): where people look.
fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/report");
    std::fs::create_dir_all(&d).unwrap();
    d.canonicalize().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A 24-hour hostile run over MLB1055 and MLA1055, its store, and the newest MLB1055 list's ids.
fn hostile_run() -> (Arc<EmbeddedSnapshotStore>, Vec<(String, Option<String>)>) {
    runtime().block_on(async {
        let sb = meli_sandbox::spawn(SandboxConfig { seed: 42, scenario: Scenario::Hostile, ..Default::default() })
            .await
            .unwrap();
        let store = Arc::new(EmbeddedSnapshotStore::in_memory().unwrap());
        let tracked: Vec<(SiteId, CategoryId)> = ["MLB1055", "MLA1055"]
            .iter()
            .map(|c| {
                let c = CategoryId::parse(c).unwrap();
                (c.site(), c)
            })
            .collect();
        let out = meli_local::demo::run_pipeline(
            &sb,
            store.clone(),
            &tracked,
            meli_local::demo::Schedule {
                period: Duration::hours(24),
                every: Duration::minutes(15),
                wake: Duration::minutes(15),
            },
            1000.0,
            &[],
            false,
        )
        .await
        .unwrap();
        assert!(out.snapshots > 150, "{out:?}");
        sb.shutdown().await;
        let newest = store
            .query(
                &Query::pk(keys::category_pk(SiteId::MLB, &tracked[0].1))
                    .begins_with(keys::SNAP_PREFIX)
                    .backward()
                    .limit(1),
            )
            .await
            .unwrap();
        let mut snap = SnapshotItem::from_item(&newest[0]).unwrap().snapshot;
        // The stored list has no names: they are in the product items.
        assert!(snap.entries.iter().all(|e| e.title.is_none()));
        meli_core::names::fill_entries(store.as_ref(), SiteId::MLB, &mut snap.entries).await.unwrap();
        let latest = snap.entries.iter().map(|e| (e.id.to_string(), e.title.clone())).collect();
        (store, latest)
    })
}

/// The values of an attribute on the elements whose opening tag contains `marker`.
fn attr_values(html: &str, marker: &str, attr: &str) -> Vec<String> {
    html.split('<')
        .filter(|tag| tag.contains(marker))
        .filter_map(|tag| tag.split(&format!("{attr}=\"")).nth(1).and_then(|r| r.split('"').next()).map(String::from))
        .collect()
}

/// Every `src`/`href`/`url(` reference to another origin, except the product links of `<a>`.
fn remote_references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in html.split('<').skip(1) {
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        let tag_end = tag.find('>').unwrap_or(tag.len());
        let open = &tag[..tag_end];
        for attr in ["src=", "href=", "srcset=", "xlink:href=", "action=", "poster=", "data="] {
            for part in open.split(attr).skip(1) {
                let v = part.trim_start_matches(['"', '\'']).to_ascii_lowercase();
                let remote = v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//");
                if remote && !(name == "a" && attr == "href=") {
                    out.push(format!("<{name} {attr}{}", part.chars().take(80).collect::<String>()));
                }
            }
        }
        if open.contains("url(") && name != "a" {
            out.push(format!("<{name} … url("));
        }
    }
    if html.contains("@import") || html.to_ascii_lowercase().contains("url(http") {
        out.push("CSS reference".into());
    }
    out
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Runs headless Chromium on a file with no network (every host "not found"), a fresh profile and
/// a NetLog; returns its stdout and the URLs of the requests the NetLog recorded.
fn run_chromium(bin: &Path, page: &Path, extra: &[&str], tag: &str) -> (String, Vec<String>) {
    let dir = out_dir();
    let profile = tempfile::tempdir().unwrap();
    let netlog = dir.join(format!("netlog-{tag}.json"));
    let _ = std::fs::remove_file(&netlog);
    let out = Command::new("timeout")
        .arg("120")
        .arg(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--net-log-capture-mode=Default")
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).chars().take(3000).collect::<String>()
    );
    let log = std::fs::read_to_string(&netlog).unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), requested_urls(&log))
}

/// The URLs the page asked for, from a NetLog: the `URL_REQUEST_START_JOB` events whose network
/// isolation key is the page's (`file://`), except local files and `data:`. Chromium's own
/// background requests (update checks, accounts; keyed `null` or by their own site) are not the
/// page's and are left out; all of them fail anyway, every host being mapped to "not found".
fn requested_urls(netlog: &str) -> Vec<String> {
    // Chromium may end the file without closing the events array when it exits fast; close it.
    let trimmed = netlog.trim_end().trim_end_matches(',');
    let doc: serde_json::Value = serde_json::from_str(trimmed)
        .or_else(|_| serde_json::from_str(&format!("{trimmed}]}}")))
        .expect("the NetLog is JSON");
    let start_job = doc["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64().expect("NetLog constants");
    let mut out = BTreeSet::new();
    for e in doc["events"].as_array().expect("NetLog events") {
        let (Some(url), Some(nik)) = (e["params"]["url"].as_str(), e["params"]["network_isolation_key"].as_str())
        else {
            continue;
        };
        let l = url.to_ascii_lowercase();
        if e["type"].as_u64() == Some(start_job)
            && nik.starts_with("file://")
            && !(l.starts_with("file:") || l.starts_with("data:"))
        {
            out.insert(url.to_string());
        }
    }
    out.into_iter().collect()
}

/// Chromium is needed: missing, the test is skipped, except under CI=true where it fails.
fn need_chromium() -> Option<PathBuf> {
    let bin = chromium();
    if bin.is_none() {
        let ci = std::env::var_os("CI").is_some_and(|v| v == "true");
        assert!(!ci, "chromium is not installed: run `make test-report` (it installs Debian's chromium)");
        eprintln!("SKIPPED: chromium is not installed (`make test-report` installs it)");
    }
    bin
}

#[test]
fn the_report_of_a_hostile_run_renders_as_text_with_one_line_per_product_and_no_request() {
    let (store, latest) = hostile_run();
    let hostile: Vec<&str> =
        latest.iter().filter_map(|(_, t)| t.as_deref()).filter(|t| t.contains('<') || t.contains('&')).collect();
    assert!(!hostile.is_empty(), "the hostile scenario puts markup in some current titles: {latest:?}");

    // The site directory: overview + one page per category, and the Spanish page on its own.
    let dir = out_dir();
    let site_dir = dir.join("MLB");
    let index = runtime().block_on(report::write_site(&store, SiteId::MLB, 7, &site_dir)).unwrap();
    let page = site_dir.join("MLB1055.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let overview = std::fs::read_to_string(&index).unwrap();
    let mla = dir.join("report-MLA1055.html");
    let mla_cat = CategoryId::parse("MLA1055").unwrap();
    runtime().block_on(report::write_category(store.as_ref(), SiteId::MLA, &mla_cat, 7, &mla)).unwrap();
    let es = std::fs::read_to_string(&mla).unwrap();

    // Static: localized, site currency, no script, nothing remote but product links, titles escaped.
    assert!(html.contains("<html lang=\"pt-BR\">") && html.contains("Mais vendidos"));
    assert!(html.contains("R$ "), "prices in reais");
    assert!(es.contains("<html lang=\"es\">") && es.contains("Más vendidos") && es.contains("$ "));
    assert!(overview.contains("href=\"MLB1055.html\""), "the overview links to the category page");
    for text in [&html, &overview, &es] {
        assert!(!text.to_ascii_lowercase().contains("<script"), "no script at all");
        assert_eq!(remote_references(text), Vec::<String>::new());
        assert!(!text.contains("<!channel>") && !text.contains("<b>Ofert"), "raw markup from a title");
    }
    assert!(html.contains("&lt;") || html.contains("&amp;"), "hostile titles are in the page, escaped");

    // The bump chart: one path per product of the newest list, with its id.
    let ids: Vec<String> = latest.iter().map(|(id, _)| id.clone()).collect();
    let drawn = attr_values(&html, "class=\"bump-line", "data-product");
    assert_eq!(drawn.iter().collect::<BTreeSet<_>>(), ids.iter().collect::<BTreeSet<_>>());
    assert_eq!(drawn.len(), ids.len(), "one line per product");

    let Some(bin) = need_chromium() else { return };

    // The control: a page with one remote image. The NetLog must show its request, else the check
    // below proves nothing.
    let canary = dir.join("canary.html");
    std::fs::write(&canary, "<!DOCTYPE html><p>canary</p><img src=\"http://canary.report.invalid/pixel.png\">")
        .unwrap();
    let (_, canary_urls) = run_chromium(&bin, &canary, &["--dump-dom"], "canary");
    assert!(
        canary_urls.iter().any(|u| u.contains("canary.report.invalid")),
        "the NetLog check cannot see a page's requests: {canary_urls:?}"
    );

    // The report, from the page itself.
    let (dom, urls) = run_chromium(&bin, &page, &["--dump-dom"], "report");
    assert!(dom.contains("id=\"bump\""), "the page rendered: {}", &dom[..dom.len().min(500)]);
    assert_eq!(urls, Vec::<String>::new(), "the report made network requests");
    let dom_lines = attr_values(&dom, "class=\"bump-line", "data-product");
    assert_eq!(dom_lines.len(), ids.len(), "one bump line per product in the DOM");
    assert_eq!(dom_lines.iter().collect::<BTreeSet<_>>(), ids.iter().collect::<BTreeSet<_>>());
    // Hostile titles are text nodes: serialized back escaped, never as elements.
    let lower = dom.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a title became a script element");
    assert!(!dom.contains("<b>Ofert") && !dom.contains("<!channel>"), "a title became markup");
    let escaped_in_dom = ["&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;!channel&gt;", "&lt;b&gt;Ofertão&lt;/b&gt;"];
    assert!(
        escaped_in_dom.iter().any(|s| dom.contains(s)),
        "the hostile titles appear as text in the DOM: {hostile:?}"
    );
    for h in &hostile {
        let short: String = meli_core::notify::escape::clean(h).chars().take(20).collect();
        let as_dom = short.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(dom.contains(&as_dom), "{short:?} is shown as text");
    }

    // A screenshot for people, and the overview through the same network check.
    let shot = dir.join("../report.png");
    let (_, shot_urls) = run_chromium(
        &bin,
        &page,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1200,2600"],
        "screenshot",
    );
    assert_eq!(shot_urls, Vec::<String>::new());
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a real screenshot");
    let (odom, ourls) = run_chromium(&bin, &index, &["--dump-dom"], "overview");
    assert_eq!(ourls, Vec::<String>::new(), "the overview made network requests");
    assert!(odom.contains("data-category=\"MLB1055\""));
    eprintln!("report: {} · screenshot: {}", page.display(), shot.display());
}

/// The command line: one category from a store on disk, and the mistakes a user can make.
#[test]
fn the_report_command_writes_a_file_and_explains_mistakes() {
    use meli_core::ids::EntryType;
    use meli_core::snapshot::Snapshot;
    use meli_core::store::PutCondition;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let store = EmbeddedSnapshotStore::open(&data.join("radar.db")).unwrap();
    let cat = CategoryId::parse("MLB1055").unwrap();
    let t0 = keys::parse_ts("2026-11-02T00:00:00Z").unwrap();
    for (h, ids) in [(0, ["MLB1", "MLB2", "MLB3"]), (1, ["MLB3", "MLB1", "MLB2"])] {
        let mut s = Snapshot::ranked(&cat, t0 + Duration::hours(h), &ids, EntryType::Product).unwrap();
        for e in &mut s.entries {
            e.title = Some(format!("<i>{}</i>", e.id));
            e.price = Some(1299.9);
        }
        let item = SnapshotItem::new(s, 30);
        runtime().block_on(meli_core::names::store_snapshot(&store, &item, PutCondition::Always, &[])).unwrap();
    }
    drop(store);

    let radar = |args: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_meli-radar")).args(args).env_remove("MELI_DATA_DIR").output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let d = data.to_str().unwrap();
    let out = dir.path().join("r.html");
    let (code, stdout, stderr) = radar(&[
        "report",
        "--site",
        "MLB",
        "--category",
        "MLB1055",
        "--days",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        d,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), out.display().to_string());
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("&lt;i&gt;MLB3&lt;/i&gt;") && !html.contains("<i>MLB"), "titles escaped");
    assert!(html.contains("R$ 1.299,90"), "prices in the site's format");
    assert_eq!(attr_values(&html, "class=\"bump-line", "data-product").len(), 3);
    assert!(html.contains("↑2 (#3 → #1)"), "MLB3 climbed two places over the period");

    for (args, expect) in [
        (
            vec!["report", "--site", "MLB", "--category", "MLB1055", "--data-dir", "/nonexistent/x"],
            "run `meli-radar demo`",
        ),
        (vec!["report", "--site", "MLA", "--category", "MLB1055", "--data-dir", d], "belongs to site MLB"),
        (vec!["report", "--site", "MLB", "--category", "MLB1002", "--data-dir", d], "no list stored for MLB/MLB1002"),
        (vec!["report", "--site", "MLB", "--days", "0", "--data-dir", d], "--days must be at least 1"),
        (vec!["report", "--site", "MLB", "--data-dir", d], "no tracked category of MLB"),
    ] {
        let (code, _, stderr) = radar(&args);
        assert_eq!(code, 1, "{args:?}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}

//! `meli-radar export` and `meli-radar import`: the store's items in the format of DynamoDB's export to
//! S3 (`DYNAMODB_JSON`: one `{"Item": {<attribute>: {"S"|"N"|"BOOL"|"NULL"|"L"|"M": …}}}` per line), so
//! the Spark job has one reader for the S3 export and the local one; and the way back, so the
//! calibration items the Spark job writes in the same format reach the embedded store.
//!
//! Layout of an export directory (the shape of `AWSDynamoDB/<export id>/` in S3):
//! `manifest-summary.json` (item count, time, format) and `data/items-00000.json`, … (up to
//! [`ITEMS_PER_FILE`] lines each). Re-exporting into the same directory replaces the data files.
//!
//! `--format parquet` is not built in (a Rust Parquet writer is a heavy dependency): the Spark job
//! reads the NDJSON export and writes the history as Parquet (`OUT/history/`).
#![allow(clippy::print_stdout)] // printing is what a command does

use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use meli_core::store::{Item, PutCondition, SnapshotStore, StoreError};
use serde_json::{json, Map, Number, Value};

use crate::EmbeddedSnapshotStore;

/// Lines per data file (DynamoDB's own export files hold a similar amount).
pub const ITEMS_PER_FILE: usize = 100_000;

/// What `export` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// DynamoDB JSON, one item per line (what DynamoDB's export to S3 writes).
    Ndjson,
    /// Not built in: export ndjson and let the Spark job write Parquet.
    Parquet,
}

/// Why an export or an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read the store")]
    Store(#[source] StoreError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: {reason}")]
    BadLine { path: PathBuf, line: usize, reason: String },
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub items: usize,
    pub snapshots: usize,
    pub files: Vec<PathBuf>,
}

/// A plain JSON value in DynamoDB's typed JSON.
pub fn to_dynamo(v: &Value) -> Value {
    match v {
        Value::Null => json!({ "NULL": true }),
        Value::Bool(b) => json!({ "BOOL": b }),
        Value::Number(n) => json!({ "N": n.to_string() }),
        Value::String(s) => json!({ "S": s }),
        Value::Array(a) => json!({ "L": a.iter().map(to_dynamo).collect::<Vec<_>>() }),
        Value::Object(o) => json!({ "M": o.iter().map(|(k, v)| (k.clone(), to_dynamo(v))).collect::<Map<_, _>>() }),
    }
}

/// DynamoDB's typed JSON back to a plain value (`N` becomes an integer when it is one).
pub fn from_dynamo(v: &Value) -> Result<Value, String> {
    let Value::Object(o) = v else { return Err(format!("not a typed value: {v}")) };
    let mut it = o.iter();
    let (Some((tag, inner)), None) = (it.next(), it.next()) else {
        return Err(format!("a typed value has exactly one key, got {}", o.len()));
    };
    match (tag.as_str(), inner) {
        ("NULL", _) => Ok(Value::Null),
        ("BOOL", Value::Bool(b)) => Ok(Value::Bool(*b)),
        ("S", Value::String(s)) => Ok(Value::String(s.clone())),
        ("N", Value::String(s)) => number(s).ok_or_else(|| format!("not a number: {s:?}")),
        ("L", Value::Array(a)) => a.iter().map(from_dynamo).collect::<Result<Vec<_>, _>>().map(Value::Array),
        ("M", Value::Object(m)) => m
            .iter()
            .map(|(k, v)| from_dynamo(v).map(|v| (k.clone(), v)))
            .collect::<Result<Map<_, _>, _>>()
            .map(Value::Object),
        ("SS", Value::Array(a)) => Ok(Value::Array(a.clone())),
        (tag, _) => Err(format!("unsupported DynamoDB type {tag}")),
    }
}

fn number(s: &str) -> Option<Value> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::Number(i.into()));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Some(Value::Number(u.into()));
    }
    s.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number)
}

/// One export line for an item.
pub fn item_line(item: &Item) -> Value {
    let mut m = Map::new();
    m.insert("pk".into(), json!({ "S": item.pk }));
    m.insert("sk".into(), json!({ "S": item.sk }));
    for (k, v) in &item.attrs {
        if k != "pk" && k != "sk" {
            m.insert(k.to_string(), to_dynamo(v));
        }
    }
    json!({ "Item": Value::Object(m) })
}

/// Parses one export line back into an item.
pub fn parse_line(line: &str) -> Result<Item, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Some(Value::Object(attrs)) = v.get("Item") else { return Err("no \"Item\" object".into()) };
    let mut plain = Map::new();
    for (k, tv) in attrs {
        plain.insert(k.clone(), from_dynamo(tv).map_err(|e| format!("attribute {k}: {e}"))?);
    }
    let key = |name: &str, plain: &mut Map<String, Value>| match plain.remove(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(format!("no string {name}")),
    };
    let pk = key("pk", &mut plain)?;
    let sk = key("sk", &mut plain)?;
    Ok(Item::new(pk, sk, plain))
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Write { path: path.to_path_buf(), source }
}

/// Key prefixes that never leave the store: app tokens (`AUTH#`, secrets) and the delivery outbox
/// (`DLV#`, destinations such as phone numbers and webhook ids). Nothing the Spark job reads.
pub const NOT_EXPORTED: [&str; 2] = ["AUTH#", "DLV#"];

/// Writes the store's items under `out`, as DynamoDB's export does for a whole table, except the
/// [`NOT_EXPORTED`] ones.
pub fn export_ndjson(store: &EmbeddedSnapshotStore, out: &Path) -> Result<ExportSummary, ExportError> {
    let mut items = store.scan_prefix("").map_err(ExportError::Store)?;
    items.retain(|i| !NOT_EXPORTED.iter().any(|p| i.pk.starts_with(p)));
    let data = out.join("data");
    fs::create_dir_all(&data).map_err(write_err(&data))?;
    // Replace an earlier export's data files (only ours: items-*.json).
    for entry in fs::read_dir(&data).map_err(write_err(&data))? {
        let path = entry.map_err(write_err(&data))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("items-") && name.ends_with(".json") {
            fs::remove_file(&path).map_err(write_err(&path))?;
        }
    }
    let mut files = Vec::new();
    let mut snapshots = 0;
    for (i, chunk) in items.chunks(ITEMS_PER_FILE).enumerate() {
        let path = data.join(format!("items-{i:05}.json"));
        let tmp = data.join(format!(".items-{i:05}.json.tmp"));
        let file = fs::File::create(&tmp).map_err(write_err(&tmp))?;
        let mut w = BufWriter::new(file);
        for item in chunk {
            if item.pk.starts_with("CAT#") && item.sk.starts_with(meli_core::keys::SNAP_PREFIX) {
                snapshots += 1;
            }
            serde_json::to_writer(&mut w, &item_line(item))
                .map_err(|e| ExportError::Write { path: tmp.clone(), source: e.into() })?;
            w.write_all(b"\n").map_err(write_err(&tmp))?;
        }
        w.flush().map_err(write_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(write_err(&path))?;
        files.push(path);
    }
    let manifest = json!({
        "version": "2020-06-30",
        "exportFormat": "DYNAMODB_JSON",
        "exportTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "itemCount": items.len(),
        "outputFormat": "DYNAMODB_JSON",
        "dataFiles": files.iter().filter_map(|f| f.file_name()).map(|n| format!("data/{}", n.to_string_lossy())).collect::<Vec<_>>(),
    });
    let mpath = out.join("manifest-summary.json");
    fs::write(&mpath, serde_json::to_vec_pretty(&manifest).unwrap_or_default()).map_err(write_err(&mpath))?;
    Ok(ExportSummary { items: items.len(), snapshots, files })
}

/// The export files under `path` (a file, or every `*.json` and `*.txt` below a directory, such as
/// the `part-*.txt` files Spark writes on S3), sorted.
fn input_files(path: &Path) -> Result<Vec<PathBuf>, ExportError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = fs::read_dir(&dir).map_err(|source| ExportError::Read { path: dir.clone(), source })?;
        for entry in rd {
            let p = entry.map_err(|source| ExportError::Read { path: dir.clone(), source })?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json" || x == "txt")
                && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("manifest"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads DynamoDB-JSON lines (a file or a directory of them) and writes each item into the store
/// (create or replace). Returns how many items were written. A bad line stops the import before
/// anything of its file is written, and says where it is.
pub async fn import_ndjson(store: &dyn SnapshotStore, input: &Path) -> Result<usize, ExportError> {
    let mut written = 0;
    for path in input_files(input)? {
        let file = fs::File::open(&path).map_err(|source| ExportError::Read { path: path.clone(), source })?;
        let mut items = Vec::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| ExportError::Read { path: path.clone(), source })?;
            if line.trim().is_empty() {
                continue;
            }
            let item =
                parse_line(&line).map_err(|reason| ExportError::BadLine { path: path.clone(), line: i + 1, reason })?;
            items.push(item);
        }
        for item in items {
            store.put(item, PutCondition::Always).await.map_err(ExportError::Store)?;
            written += 1;
        }
    }
    Ok(written)
}

/// `meli-radar export`.
pub fn run_export(format: ExportFormat, out: &Path, data_dir: &Path) -> anyhow::Result<()> {
    if format == ExportFormat::Parquet {
        bail!(
            "--format parquet is not built in; run `meli-radar export --format ndjson --out {}` and the Spark job \
             (spark/README.md), which writes the history as Parquet under its --out/history",
            out.display()
        );
    }
    let store = crate::cli::open_existing(data_dir)?;
    let s = export_ndjson(&store, out)
        .with_context(|| format!("cannot export to {}; pass another --out", out.display()))?;
    println!(
        "exported {} items ({} snapshots) to {} in {} file(s)",
        s.items,
        s.snapshots,
        out.display(),
        s.files.len()
    );
    Ok(())
}

/// `meli-radar import`.
pub async fn run_import(input: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let store = crate::cli::open_or_create(data_dir)?;
    let n = import_ndjson(&store, input).await.with_context(|| {
        format!("cannot import {}; it must hold DynamoDB-JSON lines ({{\"Item\": …}})", input.display())
    })?;
    println!("imported {n} items from {} into {}", input.display(), crate::cli::store_path(data_dir).display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use meli_core::ids::{CategoryId, EntryId, EntryType, Position, SiteId};
    use meli_core::signals::{CalibrationItem, SnapshotItem};
    use meli_core::snapshot::{Snapshot, SnapshotEntry};

    fn snapshot() -> Snapshot {
        let mut e =
            SnapshotEntry::bare(Position::new(1).unwrap(), EntryId::parse("MLB12").unwrap(), EntryType::Product);
        e.title = Some("Celular \"X\" — 128 GB".into());
        e.price = Some(1999.9);
        e.reviews_total = Some(1200);
        Snapshot {
            site: SiteId::MLB,
            category: CategoryId::parse("MLB1055").unwrap(),
            taken_at: meli_core::keys::parse_ts("2026-11-01T10:00:00Z").unwrap(),
            entries: vec![e],
            fetch: Default::default(),
        }
    }

    #[test]
    fn lines_are_dynamodb_json_and_round_trip() {
        let item = SnapshotItem::new(snapshot(), 30).to_item().unwrap();
        let line = item_line(&item);
        assert_eq!(line["Item"]["pk"], json!({"S": "CAT#MLB#MLB1055"}));
        assert_eq!(line["Item"]["sk"], json!({"S": "SNAP#2026-11-01T10:00:00Z"}));
        // The entries are one string: a JSON text of columns (what the Spark job's reader expects).
        let cols: serde_json::Value = serde_json::from_str(line["Item"]["entries"]["S"].as_str().unwrap()).unwrap();
        // Positions 1…n are the columns' order; an id of the item's site is its number.
        assert!(cols.get("position").is_none(), "{cols}");
        assert_eq!(cols["id"], json!([12]));
        assert_eq!(cols["type"], json!("P"));
        assert!(cols.get("title").is_none(), "the names are in the product items: {cols}");
        assert_eq!(cols["price"], json!([1999.9]));
        assert_eq!(cols["reviews_total"], json!([1200]));
        let back = parse_line(&serde_json::to_string(&line).unwrap()).unwrap();
        assert_eq!(back, item);
        let mut want = snapshot();
        want.entries[0].title = None;
        assert_eq!(SnapshotItem::from_item(&back).unwrap().snapshot, want);
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(parse_line("nope").unwrap_err().contains("not JSON"));
        assert!(parse_line(r#"{"x": 1}"#).unwrap_err().contains("Item"));
        assert!(parse_line(r#"{"Item": {"pk": {"S": "A"}}}"#).unwrap_err().contains("sk"));
        assert!(parse_line(r#"{"Item": {"pk": {"S": "A"}, "sk": {"S": "B"}, "b": {"N": "x"}}}"#)
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_line(r#"{"Item": {"pk": {"S": "A"}, "sk": {"S": "B"}, "b": {"B": "AAE="}}}"#)
            .unwrap_err()
            .contains("unsupported"));
    }

    #[test]
    fn export_then_import_gives_the_same_items() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedSnapshotStore::in_memory().unwrap();
        let snap = SnapshotItem::new(snapshot(), 30).to_item().unwrap();
        let cal = CalibrationItem::new(
            SiteId::MLB,
            &CategoryId::parse("MLB1055").unwrap(),
            1.05,
            0.02,
            meli_core::keys::parse_ts("2026-11-02T00:00:00Z").unwrap(),
            4200,
        )
        .to_item()
        .unwrap();
        futures_lite(store.put(snap.clone(), PutCondition::Always)).unwrap();
        futures_lite(store.put(cal.clone(), PutCondition::Always)).unwrap();
        let token = Item::new(
            "AUTH#app",
            "TOKEN",
            serde_json::from_value::<meli_core::store::Attrs>(json!({"access_token": "APP_USR-secret"})).unwrap(),
        );
        futures_lite(store.put(token, PutCondition::Always)).unwrap();
        let s = export_ndjson(&store, dir.path()).unwrap();
        assert_eq!((s.items, s.snapshots, s.files.len()), (2, 1, 1));
        let text = fs::read_to_string(&s.files[0]).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(!text.contains("APP_USR"), "a token was exported");
        let manifest: Value =
            serde_json::from_slice(&fs::read(dir.path().join("manifest-summary.json")).unwrap()).unwrap();
        assert_eq!(manifest["itemCount"], json!(2));
        // Exporting again replaces the data files instead of adding to them.
        let again = export_ndjson(&store, dir.path()).unwrap();
        assert_eq!(again.files, s.files);

        let other = EmbeddedSnapshotStore::in_memory().unwrap();
        let n = futures_lite(import_ndjson(&other, dir.path())).unwrap();
        assert_eq!(n, 2);
        assert_eq!(futures_lite(other.get(&snap.pk, &snap.sk)).unwrap(), Some(snap));
        let got: CalibrationItem = futures_lite(other.get(&cal.pk, &cal.sk)).unwrap().unwrap().decode().unwrap();
        assert_eq!((got.b, got.b_stderr, got.n), (1.05, 0.02, 4200));
    }

    #[test]
    fn a_bad_line_stops_its_file_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.json");
        fs::write(&path, "{\"Item\": {\"pk\": {\"S\": \"CAL#MLB#MLB1\"}, \"sk\": {\"S\": \"RANKCURVE\"}}}\nbroken\n")
            .unwrap();
        let store = EmbeddedSnapshotStore::in_memory().unwrap();
        let err = futures_lite(import_ndjson(&store, &path)).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(futures_lite(store.get("CAL#MLB#MLB1", "RANKCURVE")).unwrap().is_none());
    }

    fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }
}

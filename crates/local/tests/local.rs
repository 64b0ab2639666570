//! Integration tests of meli-local (one test binary).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "local/accuracy.rs"]
mod accuracy;
#[path = "local/pipeline.rs"]
mod pipeline;
#[path = "local/report.rs"]
mod report;

use meli_core::store::{contract, Item, PutCondition, SnapshotStore};
use meli_core::stream::{self, ChangeKind};
use meli_local::EmbeddedSnapshotStore;
use serde_json::json;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn attrs(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn embedded_store_passes_the_contract_in_memory_and_on_disk() {
    let mem = EmbeddedSnapshotStore::in_memory().unwrap();
    block_on(contract::run_all(&mem, "a/")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("radar.db");
    {
        let disk = EmbeddedSnapshotStore::open(&path).unwrap();
        block_on(contract::run_all(&disk, "b/")).unwrap();
    }
    // Reopened, the data is still there and a second run with another prefix passes too.
    let disk = EmbeddedSnapshotStore::open(&path).unwrap();
    assert!(block_on(disk.get("b/AUTH#app", "TOKEN")).unwrap().is_some());
    block_on(contract::run_all(&disk, "c/")).unwrap();
}

#[test]
fn change_feed_yields_stream_records_that_decode_to_the_written_items() {
    let store = EmbeddedSnapshotStore::in_memory().unwrap().with_clock(|| 1_780_000_000);
    block_on(async {
        let a = Item::new("CAT#MLB#MLB1055", "SNAP#2026-11-02T00:00:00Z", attrs(json!({"n": 1, "t": "x"})));
        store.put(a.clone(), PutCondition::IfAbsent).await.unwrap();
        // A replayed conditional insert writes nothing and records nothing.
        store.put(a.clone(), PutCondition::IfAbsent).await.unwrap();
        // An identical overwrite changes nothing: no record either (as DynamoDB Streams).
        store.put(a.clone(), PutCondition::Always).await.unwrap();
        let b = Item::new("CAT#MLB#MLB1055", "SNAP#2026-11-02T00:00:00Z", attrs(json!({"n": 2, "t": "x"})));
        store.put(b.clone(), PutCondition::Always).await.unwrap();
        store.delete(&a.pk, &a.sk).await.unwrap();
        store.delete(&a.pk, &a.sk).await.unwrap();
    });
    let recs = store.changes_after(0, 100).unwrap();
    let kinds: Vec<ChangeKind> = recs.iter().map(|(_, r)| stream::decode(r).unwrap().kind).collect();
    assert_eq!(kinds, [ChangeKind::Insert, ChangeKind::Modify, ChangeKind::Remove]);
    let modify = stream::decode(&recs[1].1).unwrap();
    assert_eq!(modify.new.unwrap().attrs["n"], json!(2));
    assert_eq!(modify.old.unwrap().attrs["n"], json!(1));
    assert_eq!(recs[0].1.event_name, "INSERT");
    assert_eq!(recs[0].1.change.approximate_creation_date_time.timestamp(), 1_780_000_000);
    // Paging and checkpoints.
    assert_eq!(store.changes_after(recs[0].0, 1).unwrap().len(), 1);
    assert_eq!(store.checkpoint("scorer").unwrap(), 0);
    store.set_checkpoint("scorer", recs[1].0).unwrap();
    assert_eq!(store.checkpoint("scorer").unwrap(), recs[1].0);
    assert_eq!(store.changes_after(store.checkpoint("scorer").unwrap(), 100).unwrap().len(), 1);
}

#[test]
fn the_meter_counts_what_dynamodb_would_bill_for_each_operation() {
    use meli_core::billing::{Meter, Usage};
    use meli_core::store::Query;
    let meter = std::sync::Arc::new(Meter::new());
    let store = EmbeddedSnapshotStore::in_memory().unwrap().with_meter(meter.clone());
    let big = "x".repeat(1500);
    block_on(async {
        let snap = Item::new("CAT#MLB#MLB1055", "SNAP#2026-11-02T00:00:00Z", attrs(json!({"entries": big})));
        // 2 + 15 + 2 + 25 + 7 + 1500 = 1,551 bytes: 2 write units.
        store.put(snap.clone(), PutCondition::IfAbsent).await.unwrap();
        // The replayed insert fails its condition and is billed on the existing item: 2 more.
        store.put(snap.clone(), PutCondition::IfAbsent).await.unwrap();
        // An identical overwrite writes nothing to the stream but is billed: 2 more.
        store.put(snap.clone(), PutCondition::Always).await.unwrap();
        store.get(&snap.pk, &snap.sk).await.unwrap();
        store.get(&snap.pk, "SNAP#2020-01-01T00:00:00Z").await.unwrap();
        store.query(&Query::pk("CAT#MLB#MLB1055").begins_with("SNAP#")).await.unwrap();
        store.put(Item::new("EVT#MLB#MLB1055", "k", attrs(json!({"n": 1}))), PutCondition::Always).await.unwrap();
        store.delete("EVT#MLB#MLB1055", "k").await.unwrap();
    });
    let k = meter.by_kind();
    assert_eq!(k["CAT/SNAP"], Usage { writes: 3, write_units: 6, bytes_written: 2 * 1551, reads: 3, read_units: 3.0 });
    assert_eq!(
        k["EVT"],
        Usage { writes: 2, write_units: 2, bytes_written: 2 + 15 + 2 + 1 + 1 + 2, ..Usage::default() }
    );
    assert_eq!(meter.total().write_units, 8);
}

#[test]
fn a_file_that_is_not_a_store_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("radar.db");
    std::fs::write(&path, b"this is not a database, it is a text file that someone put here by mistake....").unwrap();
    let err = EmbeddedSnapshotStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("cannot open the data store"), "{err}");
    assert!(err.contains("move it away"), "{err}");
}

mod cli {
    use std::process::Command;

    use super::{block_on, json, EmbeddedSnapshotStore, PutCondition, SnapshotStore};

    fn radar(args: &[&str]) -> (i32, String, String) {
        let out =
            Command::new(env!("CARGO_BIN_EXE_meli-radar")).args(args).env_remove("MELI_DATA_DIR").output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn list(t: &str, ids: &[&str]) -> serde_json::Value {
        let entries: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| serde_json::json!({"position": i + 1, "id": id, "type": "PRODUCT", "price": 100.0}))
            .collect();
        serde_json::json!({"site": "MLB", "category": "MLB1055", "taken_at": t, "entries": entries})
    }

    #[test]
    fn score_prints_one_json_event_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("snaps.json");
        let ids: Vec<String> = (1..=20).map(|i| format!("MLB{i}")).collect();
        let mut moved: Vec<&str> = ids.iter().map(String::as_str).collect();
        let a = list("2026-11-02T00:00:00Z", &moved);
        // MLB20 jumps to #1: a new number one and a climber.
        let last = moved.pop().unwrap();
        moved.insert(0, last);
        let b = list("2026-11-02T01:00:00Z", &moved);
        std::fs::write(&input, serde_json::to_string(&vec![a, b]).unwrap()).unwrap();
        let (code, stdout, stderr) = radar(&["score", "--input", input.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"new_number_one"), "{kinds:?}");
        assert!(kinds.contains(&"climber"), "{kinds:?}");
        for e in &events {
            for field in ["kind", "site", "category", "product", "taken_at"] {
                assert!(e.get(field).is_some(), "{field} missing in {e}");
            }
        }
        let one = events.iter().find(|e| e["kind"] == "new_number_one").unwrap();
        assert_eq!(one["product"], "MLB20");
        assert_eq!(one["from_position"], 20);
        assert_eq!(one["to_position"], 1);
    }

    #[test]
    fn history_reads_a_product_across_snapshots_and_lists() {
        use meli_core::signals::SnapshotItem;
        use meli_core::snapshot::Snapshot;
        let dir = tempfile::tempdir().unwrap();
        {
            let store = EmbeddedSnapshotStore::open(&dir.path().join("radar.db")).unwrap();
            let put = |v: serde_json::Value| {
                let s: Snapshot = serde_json::from_value(v).unwrap();
                block_on(store.put(SnapshotItem::new(s, 30).to_item().unwrap(), PutCondition::Always)).unwrap();
            };
            put(list("2026-11-02T01:00:00Z", &["MLB2", "MLB7"]));
            put(list("2026-11-02T00:00:00Z", &["MLB7", "MLB2"]));
            put(list("2026-11-02T02:00:00Z", &["MLB2"]));
            let mut other = list("2026-11-02T00:30:00Z", &["MLB9", "MLB8", "MLB7"]);
            other["category"] = json!("MLB1051");
            put(other);
        }
        let d = dir.path().to_str().unwrap();
        let (code, stdout, stderr) = radar(&["history", "--product", "MLB7", "--data-dir", d, "--json"]);
        assert_eq!(code, 0, "{stderr}");
        let points: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let got: Vec<(&str, &str, u64)> = points
            .iter()
            .map(|p| {
                (p["taken_at"].as_str().unwrap(), p["category"].as_str().unwrap(), p["position"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-11-02T00:00:00Z", "MLB1055", 1),
                ("2026-11-02T00:30:00Z", "MLB1051", 3),
                ("2026-11-02T01:00:00Z", "MLB1055", 2),
            ]
        );
        assert_eq!(points[0]["price"], 100.0);
        let (code, stdout, _) = radar(&["history", "--product", "MLB7", "--data-dir", d]);
        assert_eq!(code, 0);
        assert_eq!(stdout.lines().count(), 3);
        assert!(stdout.contains("R$"), "{stdout}");
        let (code, _, stderr) = radar(&["history", "--product", "MLB404", "--data-dir", d]);
        assert_ne!(code, 0);
        assert!(stderr.contains("no history for MLB404"), "{stderr}");
    }

    #[test]
    fn decode_prints_every_fixture_normalized_and_refuses_what_it_cannot_decode() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/meli-fixtures");
        let mut n = 0;
        for dir in std::fs::read_dir(&root).unwrap() {
            let dir = dir.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let d = dir.file_name().unwrap().to_string_lossy().into_owned();
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                let kind = match d.as_str() {
                    "highlights" if name.starts_with("category-") => "highlights",
                    "highlights" => "highlight-position",
                    "products" => "product",
                    "products_items" => "product-items",
                    "items" => "item",
                    "reviews" => "reviews",
                    "categories" if name.starts_with("sites-") => "site-categories",
                    "categories" => "category",
                    "trends" => "trends",
                    "oauth" if name.starts_with("token-") => "token",
                    _ => "error",
                };
                let (code, stdout, stderr) = radar(&["decode", kind, f.to_str().unwrap()]);
                assert_eq!(code, 0, "{d}/{name} as {kind}: {stderr}");
                let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                assert!(!v.is_null(), "{d}/{name}");
                assert!(!stdout.contains("APP_USR-"), "a token was printed for {d}/{name}");
                n += 1;
            }
        }
        assert!(n >= 30, "only {n} fixtures found under {}", root.display());
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"query_data":{},"content":[{"id":"MLB1","position":0,"type":"ITEM"}]}"#).unwrap();
        let (code, _, stderr) = radar(&["decode", "highlights", bad.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(stderr.contains("does not decode as highlights"), "{stderr}");
        let (code, _, stderr) = radar(&["decode", "nonsense", bad.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(stderr.contains("unknown kind"), "{stderr}");
    }

    #[test]
    fn user_mistakes_get_one_line_and_a_non_zero_exit() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        let (code, _, stderr) = radar(&["score", "--input", bad.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("is not a JSON array of snapshots"), "{stderr}");

        let (code, _, stderr) = radar(&["score", "--input", "/nonexistent/x.json"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("cannot read"), "{stderr}");

        let empty = dir.path().join("empty");
        let (code, _, stderr) =
            radar(&["top", "--site", "MLB", "--category", "MLB1055", "--data-dir", empty.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(stderr.contains("run `meli-radar demo`"), "{stderr}");

        let (code, _, stderr) = radar(&["top", "--site", "MLX", "--category", "MLB1055"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("--site: unknown site id"), "{stderr}");

        let (code, _, stderr) = radar(&["top", "--site", "MLA", "--category", "MLB1055"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("belongs to site MLB"), "{stderr}");

        let (code, _, stderr) = radar(&["events", "--since", "soon", "--data-dir", empty.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(stderr.contains("--since"), "{stderr}");

        let (code, _, _) = radar(&["frobnicate"]);
        assert_eq!(code, 2, "clap usage errors exit 2");
    }
}

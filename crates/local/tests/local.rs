//! Integration tests of meli-local (one test binary).

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
fn a_file_that_is_not_a_store_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("radar.db");
    std::fs::write(&path, b"this is not a database, it is a text file that someone put here by mistake....").unwrap();
    let err = EmbeddedSnapshotStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("cannot open the data store"), "{err}");
    assert!(err.contains("move it away"), "{err}");
}

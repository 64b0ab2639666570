//! `EmbeddedSnapshotStore`: the single table in SQLite (WAL mode), with a change feed that yields
//! DynamoDB-Streams-shaped records.
//!
//! Every write runs in one SQLite transaction that also appends to the `changes` table, so the feed
//! never misses nor invents a change. As DynamoDB Streams does, a put that changes nothing writes no
//! record. Consumers keep their position in `checkpoints`, so a restarted runner resumes where it was.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lambda_events::dynamodb::EventRecord;
use chrono::{TimeZone, Utc};
use meli_core::billing::{self, Meter};
use meli_core::store::{
    condition_holds, Attrs, Item, PutCondition, PutOutcome, Query, SkRange, SnapshotStore, StoreError,
};
use meli_core::stream::{self, Change, ChangeKind};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

const SCHEMA_VERSION: i64 = 1;
/// The table name the change feed's records carry.
pub const TABLE_NAME: &str = "meli-radar-local";

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the data store at {path}: {source}; if the file is damaged, move it away and run again")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the data store at {path} was written by a newer meli-radar (schema {found}, this one knows {SCHEMA_VERSION})"
    )]
    NewerSchema { path: String, found: i64 },
}

/// The embedded store.
pub struct EmbeddedSnapshotStore {
    // A std mutex: SQLite calls are short and synchronous, and no method awaits while holding it.
    conn: Mutex<Connection>,
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
    /// Counts what DynamoDB would bill for each operation of the port (`meli-radar demo`'s summary).
    meter: Option<Arc<Meter>>,
}

impl std::fmt::Debug for EmbeddedSnapshotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedSnapshotStore").finish_non_exhaustive()
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

fn attrs_of(text: &str, pk: &str, sk: &str) -> Result<Attrs, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt(format!("item {pk}/{sk} is not a JSON object")))
}

impl EmbeddedSnapshotStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let shown = path.display().to_string();
        let err = |source| OpenError::Sqlite { path: shown.clone(), source };
        let conn = Connection::open(path).map_err(err)?;
        Self::init(conn, &shown)
    }

    /// A private in-memory store (tests, `meli-radar score`).
    pub fn in_memory() -> Result<Self, OpenError> {
        let conn =
            Connection::open_in_memory().map_err(|source| OpenError::Sqlite { path: ":memory:".into(), source })?;
        Self::init(conn, ":memory:")
    }

    fn init(conn: Connection, shown: &str) -> Result<Self, OpenError> {
        let err = |source| OpenError::Sqlite { path: shown.to_string(), source };
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
        // journal_mode returns a row; query it rather than execute.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(err)?;
        conn.execute_batch(
            "PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS items (
                 pk TEXT NOT NULL, sk TEXT NOT NULL, attrs TEXT NOT NULL,
                 PRIMARY KEY (pk, sk)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS changes (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 kind TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL,
                 new_attrs TEXT, old_attrs TEXT, at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS checkpoints (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL);",
        )
        .map_err(err)?;
        let found: Option<i64> =
            conn.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0)).optional().map_err(err)?;
        match found {
            Some(v) if v > SCHEMA_VERSION => return Err(OpenError::NewerSchema { path: shown.to_string(), found: v }),
            Some(_) => {}
            None => {
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?1)", [SCHEMA_VERSION]).map_err(err)?;
            }
        }
        Ok(EmbeddedSnapshotStore { conn: Mutex::new(conn), clock: Box::new(|| Utc::now().timestamp()), meter: None })
    }

    /// Stamps change records with this clock (epoch seconds) instead of the wall clock.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Counts the write and read units DynamoDB would bill for every operation of the port (not for
    /// the change feed, which stands for the stream: Lambda reads it for free).
    pub fn with_meter(mut self, meter: Arc<Meter>) -> Self {
        self.meter = Some(meter);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Change records after `after` (exclusive), oldest first, at most `limit`.
    pub fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, EventRecord)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, kind, pk, sk, new_attrs, old_attrs, at FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![after, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, pk, sk, new, old, at) = row.map_err(backend)?;
            let kind = match kind.as_str() {
                "INSERT" => ChangeKind::Insert,
                "MODIFY" => ChangeKind::Modify,
                _ => ChangeKind::Remove,
            };
            let image = |t: Option<String>| -> Result<Option<Item>, StoreError> {
                t.map(|t| attrs_of(&t, &pk, &sk).map(|a| Item::new(&pk, &sk, a))).transpose()
            };
            let change = Change {
                kind,
                pk: pk.clone(),
                sk: sk.clone(),
                new: image(new)?,
                old: image(old)?,
                sequence: format!("{seq:020}"),
            };
            let at = Utc.timestamp_opt(at, 0).single().unwrap_or_else(Utc::now);
            let rec = stream::encode(&change, TABLE_NAME, "local", at)
                .map_err(|e| StoreError::Corrupt(format!("change {seq} does not encode: {e}")))?;
            out.push((seq, rec));
        }
        Ok(out)
    }

    /// Where a consumer of the feed is.
    pub fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.query_row("SELECT seq FROM checkpoints WHERE consumer = ?1", [consumer], |r| r.get(0))
            .optional()
            .map(|v| v.unwrap_or(0))
            .map_err(backend)
    }

    pub fn set_checkpoint(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO checkpoints (consumer, seq) VALUES (?1, ?2)
             ON CONFLICT(consumer) DO UPDATE SET seq = excluded.seq",
            params![consumer, seq],
        )
        .map_err(backend)?;
        Ok(())
    }

    /// Number of items and change records (for the demo summary).
    pub fn counts(&self) -> Result<(i64, i64), StoreError> {
        let conn = self.lock();
        let items = conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0)).map_err(backend)?;
        let changes = conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0)).map_err(backend)?;
        Ok((items, changes))
    }

    /// Every item whose pk starts with `prefix` (for `meli-radar export` and listings).
    pub fn scan_prefix(&self, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let conn = self.lock();
        let upper = format!("{prefix}\u{10FFFF}");
        let mut stmt = conn
            .prepare_cached("SELECT pk, sk, attrs FROM items WHERE pk >= ?1 AND pk < ?2 ORDER BY pk, sk")
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![prefix, upper], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (pk, sk, a) = row.map_err(backend)?;
            let attrs = attrs_of(&a, &pk, &sk)?;
            out.push(Item::new(pk, sk, attrs));
        }
        Ok(out)
    }

    fn get_sync(&self, pk: &str, sk: &str, consistent: bool) -> Result<Option<Item>, StoreError> {
        let conn = self.lock();
        let text: Option<String> = conn
            .prepare_cached("SELECT attrs FROM items WHERE pk = ?1 AND sk = ?2")
            .and_then(|mut s| s.query_row(params![pk, sk], |r| r.get(0)).optional())
            .map_err(backend)?;
        let item = text.map(|t| attrs_of(&t, pk, sk).map(|a| Item::new(pk, sk, a))).transpose()?;
        if let Some(m) = &self.meter {
            m.get(pk, sk, item.as_ref().map(billing::item_size), consistent);
        }
        Ok(item)
    }

    fn put_sync(&self, item: Item, condition: &PutCondition) -> Result<PutOutcome, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
        let old_text: Option<String> = tx
            .query_row("SELECT attrs FROM items WHERE pk = ?1 AND sk = ?2", params![item.pk, item.sk], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        let old = old_text.as_deref().map(|t| attrs_of(t, &item.pk, &item.sk)).transpose()?;
        let holds = condition_holds(old.as_ref(), condition);
        if let Some(m) = &self.meter {
            let keys = billing::keys_size(&item.pk, &item.sk);
            let old_size = old.as_ref().map(|a| keys + billing::attrs_size(a));
            m.put(&item.pk, &item.sk, billing::item_size(&item), old_size, holds);
        }
        if !holds {
            return Ok(PutOutcome::ConditionFailed);
        }
        if old.as_ref() == Some(&item.attrs) {
            // Nothing changes: like DynamoDB, no write and no stream record.
            return Ok(PutOutcome::Written);
        }
        let new_text = serde_json::to_string(&item.attrs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, ?3)
             ON CONFLICT(pk, sk) DO UPDATE SET attrs = excluded.attrs",
            params![item.pk, item.sk, new_text],
        )
        .map_err(backend)?;
        let kind = if old.is_some() { "MODIFY" } else { "INSERT" };
        tx.execute(
            "INSERT INTO changes (kind, pk, sk, new_attrs, old_attrs, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind, item.pk, item.sk, new_text, old_text, (self.clock)()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(PutOutcome::Written)
    }
}

#[async_trait::async_trait]
impl SnapshotStore for EmbeddedSnapshotStore {
    async fn put(&self, item: Item, condition: PutCondition) -> Result<PutOutcome, StoreError> {
        self.put_sync(item, &condition)
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get_sync(pk, sk, true)
    }

    async fn get_eventually_consistent(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        // SQLite has one kind of read; only the meter tells them apart.
        self.get_sync(pk, sk, false)
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let (lo, hi) = match &query.sk {
            SkRange::All => (String::new(), "\u{10FFFF}".to_string()),
            SkRange::BeginsWith(p) => (p.clone(), format!("{p}\u{10FFFF}")),
            SkRange::Between(a, b) => (a.clone(), b.clone()),
        };
        let order = if query.forward { "ASC" } else { "DESC" };
        let limit = query.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let sql =
            format!("SELECT sk, attrs FROM items WHERE pk = ?1 AND sk >= ?2 AND sk <= ?3 ORDER BY sk {order} LIMIT ?4");
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt
            .query_map(params![query.pk, lo, hi, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (sk, text) = row.map_err(backend)?;
            // `<= hi` with hi = prefix + U+10FFFF admits exactly the keys that start with the prefix,
            // except a key equal to hi itself; filter with the shared matcher to be exact.
            if query.matches_sk(&sk) {
                let attrs = attrs_of(&text, &query.pk, &sk)?;
                out.push(Item::new(query.pk.clone(), sk, attrs));
            }
        }
        if let Some(m) = &self.meter {
            m.query(
                &query.pk,
                out.first().map(|i| i.sk.as_str()),
                out.iter().map(billing::item_size).sum(),
                query.consistent,
            );
        }
        Ok(out)
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
        let old: Option<String> = tx
            .query_row("SELECT attrs FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        if let Some(m) = &self.meter {
            let old_size = old
                .as_deref()
                .map(|t| attrs_of(t, pk, sk).map(|a| billing::keys_size(pk, sk) + billing::attrs_size(&a)));
            m.delete(pk, sk, old_size.transpose()?);
        }
        if let Some(old) = old {
            tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk]).map_err(backend)?;
            tx.execute(
                "INSERT INTO changes (kind, pk, sk, new_attrs, old_attrs, at) VALUES ('REMOVE', ?1, ?2, NULL, ?3, ?4)",
                params![pk, sk, old, (self.clock)()],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(())
    }
}

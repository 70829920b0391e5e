//! The embedded store: one SQLite database in WAL mode, with one writer thread
//! that commits concurrent transactions together (group commit).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

use async_trait::async_trait;
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{Change, Commit, Model, Store, StoreError, Write, coalesce, merge};

/// Reader connections: WAL lets them read while the writer commits; two match
/// the two cores these hosts usually have.
const READERS: usize = 2;

/// Most transactions committed together; bounds the latency one batch adds.
const MAX_BATCH: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS models (
    seq        INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (collection, id)
);";

type Reply = oneshot::Sender<Result<Commit, StoreError>>;

/// What the writer thread is asked to do.
enum Job {
    /// Commit these writes as one transaction.
    Commit(Vec<Write>, Reply),
    /// Commit what came before, close the database, then say so.
    Close(mpsc::Sender<()>),
}

/// How long `close` waits for the writer to finish what it was given.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A SQLite-backed [`Store`].
pub struct SqliteStore {
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    writer: mpsc::Sender<Job>,
    /// Seq of the last durable commit, published by the writer thread.
    committed: Arc<AtomicU64>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, with no quota.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_quota(path, None)
    }

    /// Opens the database at `path`; with `quota`, a transaction that would
    /// take the stored bytes (collection, id and JSON body of every model)
    /// past it fails with [`StoreError::Quota`].
    pub fn open_with_quota(path: &Path, quota: Option<u64>) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        // FULL: a commit is on disk before the ack goes out (DESIGN.md,
        // "No acked write is ever lost"); group commit pays for the fsync.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            reader.busy_timeout(std::time::Duration::from_secs(5))?;
            readers.push(Mutex::new(reader));
        }

        // Counting what is stored reads every row: only pay for it when a
        // quota asks.
        let quota = match quota {
            Some(max) => Some(Quota {
                max,
                used: conn.query_row(
                    "SELECT COALESCE(SUM(length(CAST(collection AS BLOB)) + length(CAST(id AS BLOB))
                                        + length(CAST(body AS BLOB))), 0) FROM models",
                    [],
                    |row| row.get::<_, i64>(0),
                )?,
            }),
            None => None,
        };
        let (writer, jobs) = mpsc::channel::<Job>();
        let committed = Arc::new(AtomicU64::new(0));
        let published = Arc::clone(&committed);
        std::thread::Builder::new()
            .name("halo-store-writer".into())
            .spawn(move || {
                let closed = write_loop(&mut conn, &jobs, &published, quota);
                // On shutdown, fold the log back into the database file so
                // the file alone holds everything. Not when a tenant merely
                // unloads: its next copy may be opening the file already,
                // and a truncating checkpoint would hold up its writes.
                if closed.is_some() {
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
                }
                drop(conn);
                if let Some(done) = closed {
                    let _ = done.send(());
                }
            })
            .map_err(|_| StoreError::Closed)?;

        Ok(Self {
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            writer,
            committed,
        })
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let slot = self.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
        // SQLite calls block: keep them off the async workers.
        tokio::task::spawn_blocking(move || f(&readers[slot].lock()))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Runs a read that takes microseconds (one row by primary key, from
    /// the page cache) right here when a reader is free: a hop to the
    /// blocking pool and back costs more than the read. A busy reader
    /// means a slow read is running, so this one hops after all.
    async fn read_short<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        for reader in self.readers.iter() {
            if let Some(conn) = reader.try_lock() {
                return f(&conn);
            }
        }
        self.read(f).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Model>, StoreError> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.read_short(move |conn| select(conn, &collection, &id))
            .await
    }

    async fn list(&self, collection: &str) -> Result<Vec<Model>, StoreError> {
        let collection = collection.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id, body FROM models WHERE collection = ?1 ORDER BY seq")?;
            let rows = stmt.query_map(params![collection], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            let mut models = Vec::new();
            for row in rows {
                let (id, body) = row?;
                models.push(parse(&collection, &id, &body)?);
            }
            Ok(models)
        })
        .await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<Commit, StoreError> {
        if writes.is_empty() {
            return Ok(Commit::default());
        }
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job::Commit(writes, reply))
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    fn close(&self) {
        let (done, closed) = mpsc::channel();
        if self.writer.send(Job::Close(done)).is_ok() {
            let _ = closed.recv_timeout(CLOSE_TIMEOUT);
        }
    }
}

fn parse(collection: &str, id: &str, body: &str) -> Result<Model, StoreError> {
    serde_json::from_str(body).map_err(|_| StoreError::Corrupt {
        collection: collection.to_owned(),
        id: id.to_owned(),
    })
}

fn select(conn: &Connection, collection: &str, id: &str) -> Result<Option<Model>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM models WHERE collection = ?1 AND id = ?2")?
        .query_row(params![collection, id], |row| row.get(0))
        .optional()?;
    body.map(|body| parse(collection, id, &body)).transpose()
}

/// Commits every queued transaction in one SQLite transaction, each inside
/// its own savepoint so that one failing transaction leaves the others intact.
/// Numbers the successful ones in commit order and publishes the last number
/// once the batch is durable. Returns, with whom to tell, when asked to close.
fn write_loop(
    conn: &mut Connection,
    jobs: &mpsc::Receiver<Job>,
    committed: &AtomicU64,
    mut quota: Option<Quota>,
) -> Option<mpsc::Sender<()>> {
    // Numbers restart with the process: they order pushes, nothing stored.
    let mut seq = 0;
    let mut closing = None;
    while closing.is_none() {
        let Ok(first) = jobs.recv() else { break };
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Commit(writes, reply) => batch.push((writes, reply)),
                Job::Close(done) => {
                    closing = Some(done);
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let outcomes = commit_batch(conn, &batch, &mut quota);
        crate::metrics::metrics()
            .store_commits
            .observe(started.elapsed().as_secs_f64());
        let results: Vec<Result<Commit, StoreError>> = outcomes
            .into_iter()
            .map(|result| {
                result.map(|changes| {
                    seq += 1;
                    Commit {
                        seq: Some(seq),
                        changes,
                    }
                })
            })
            .collect();
        committed.store(seq, Ordering::Release);
        for ((_, reply), result) in batch.into_iter().zip(results) {
            // The requester may have given up (client gone): nothing to tell.
            let _ = reply.send(result);
        }
    }
    closing
}

/// The stored-bytes quota of a store, and what is used of it.
#[derive(Debug, Clone, Copy)]
struct Quota {
    max: u64,
    used: i64,
}

fn commit_batch(
    conn: &mut Connection,
    batch: &[(Vec<Write>, Reply)],
    quota: &mut Option<Quota>,
) -> Vec<Result<Vec<Change>, StoreError>> {
    let mut results = Vec::with_capacity(batch.len());
    let before = *quota;
    let outcome = (|| -> Result<(), StoreError> {
        let mut tx = conn.transaction()?;
        for (writes, _) in batch {
            let mut savepoint = tx.savepoint()?;
            match apply(&savepoint, writes, quota.is_some()) {
                Ok((changes, grown)) => {
                    if let Some(quota) = quota.as_mut() {
                        let used = quota.used.saturating_add(grown);
                        // Shrinking is always allowed, so a full tenant can
                        // delete its way back under the quota.
                        if grown > 0 && used > i64::try_from(quota.max).unwrap_or(i64::MAX) {
                            savepoint.rollback()?;
                            results.push(Err(StoreError::Quota(quota.max)));
                            continue;
                        }
                        quota.used = used;
                    }
                    savepoint.commit()?;
                    results.push(Ok(changes));
                }
                Err(err) => {
                    savepoint.rollback()?;
                    results.push(Err(err));
                }
            }
        }
        tx.commit()?;
        Ok(())
    })();
    if let Err(err) = outcome {
        *quota = before;
        tracing::error!(cause = %err, transactions = batch.len(), "store commit failed");
        let message = err.to_string();
        return batch
            .iter()
            .map(|_| Err(StoreError::Commit(message.clone())))
            .collect();
    }
    results
}

/// Stored size of one model row.
fn row_bytes(collection: &str, id: &str, body: usize) -> i64 {
    i64::try_from(collection.len() + id.len() + body).unwrap_or(i64::MAX)
}

/// Applies one transaction's writes; returns its changes and, when `count`
/// asks, by how many bytes it grew the store.
fn apply(
    conn: &Connection,
    writes: &[Write],
    count: bool,
) -> Result<(Vec<Change>, i64), StoreError> {
    let mut changes = Vec::with_capacity(writes.len());
    let mut grown: i64 = 0;
    let size = |collection: &str, id: &str, model: &Model| -> i64 {
        if count {
            row_bytes(
                collection,
                id,
                serde_json::to_string(model).map_or(0, |b| b.len()),
            )
        } else {
            0
        }
    };
    for write in writes {
        match write {
            Write::Create {
                collection,
                id,
                model,
            } => {
                let body = serde_json::to_string(model).map_err(|_| StoreError::Corrupt {
                    collection: collection.clone(),
                    id: id.clone(),
                })?;
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO models (collection, id, body) VALUES (?1, ?2, ?3)
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![collection, id, body])?;
                if inserted == 0 {
                    return Err(StoreError::Exists {
                        collection: collection.clone(),
                        id: id.clone(),
                    });
                }
                if count {
                    grown += row_bytes(collection, id, body.len());
                }
                changes.push(Change {
                    collection: collection.clone(),
                    id: id.clone(),
                    before: None,
                    after: Some(model.clone()),
                });
            }
            Write::Merge {
                collection,
                id,
                attributes,
                only,
            } => {
                let before = select(conn, collection, id)?.ok_or_else(|| StoreError::NotFound {
                    collection: collection.clone(),
                    id: id.clone(),
                })?;
                let mut after = before.clone();
                merge(&mut after, attributes, only.as_deref());
                let body = serde_json::to_string(&after).map_err(|_| StoreError::Corrupt {
                    collection: collection.clone(),
                    id: id.clone(),
                })?;
                conn.prepare_cached(
                    "UPDATE models SET body = ?3 WHERE collection = ?1 AND id = ?2",
                )?
                .execute(params![collection, id, body])?;
                if count {
                    grown += row_bytes(collection, id, body.len()) - size(collection, id, &before);
                }
                changes.push(Change {
                    collection: collection.clone(),
                    id: id.clone(),
                    before: Some(before),
                    after: Some(after),
                });
            }
            Write::Remove { collection, id } => {
                if let Some(before) = select(conn, collection, id)? {
                    conn.prepare_cached("DELETE FROM models WHERE collection = ?1 AND id = ?2")?
                        .execute(params![collection, id])?;
                    grown -= size(collection, id, &before);
                    changes.push(Change {
                        collection: collection.clone(),
                        id: id.clone(),
                        before: Some(before),
                        after: None,
                    });
                }
            }
        }
    }
    Ok((coalesce(changes), grown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model;
    use serde_json::{Value, json};

    fn create(id: &str, body: Value) -> Write {
        let mut m = model(body);
        m.insert("id".into(), Value::String(id.into()));
        Write::Create {
            collection: "todos".into(),
            id: id.into(),
            model: m,
        }
    }

    fn merge(id: &str, attributes: Value) -> Write {
        Write::Merge {
            collection: "todos".into(),
            id: id.into(),
            attributes: model(attributes),
            only: None,
        }
    }

    #[tokio::test]
    async fn models_are_listed_in_creation_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let store = SqliteStore::open(&path).expect("open");
            for id in ["b", "a", "c"] {
                store
                    .commit(vec![create(id, json!({"t": id}))])
                    .await
                    .expect("commit");
            }
            store
                .commit(vec![merge("a", json!({"done": true}))])
                .await
                .expect("merge");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        let ids: Vec<Value> = store
            .list("todos")
            .await
            .expect("list")
            .into_iter()
            .map(|m| m["id"].clone())
            .collect();
        assert_eq!(ids, vec![json!("b"), json!("a"), json!("c")]);
        let a = store.get("todos", "a").await.expect("get").expect("exists");
        assert_eq!(a["done"], json!(true));
        assert!(
            store.get("other", "a").await.expect("get").is_none(),
            "collections are separate"
        );
    }

    #[tokio::test]
    async fn a_failing_transaction_applies_nothing_and_spares_its_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("db")).expect("open"));
        store
            .commit(vec![create("x", json!({}))])
            .await
            .expect("seed");

        // Many transactions at once share batches; the bad ones must fail
        // alone.
        let mut tasks = Vec::new();
        for n in 0..40 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let writes = if n % 2 == 0 {
                    vec![create(&format!("ok{n}"), json!({}))]
                } else {
                    vec![
                        create(&format!("bad{n}"), json!({})),
                        merge("missing", json!({"a": 1})),
                    ]
                };
                store.commit(writes).await
            }));
        }
        for (n, task) in tasks.into_iter().enumerate() {
            let result = task.await.expect("task");
            if n % 2 == 0 {
                assert!(result.is_ok(), "{n}: {result:?}");
            } else {
                assert!(
                    matches!(result, Err(StoreError::NotFound { .. })),
                    "{n}: {result:?}"
                );
            }
        }
        let listed = store.list("todos").await.expect("list");
        assert_eq!(listed.len(), 21, "the seed and the 20 good creates");
        assert!(
            listed
                .iter()
                .all(|m| !m["id"].as_str().unwrap_or("").starts_with("bad"))
        );
    }

    #[tokio::test]
    async fn removing_a_missing_model_is_not_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("db")).expect("open");
        let commit = store
            .commit(vec![Write::Remove {
                collection: "todos".into(),
                id: "nope".into(),
            }])
            .await
            .expect("commit");
        assert!(commit.changes.is_empty());
        assert_eq!(commit.seq, Some(1), "it still took its place in the order");
        assert_eq!(store.committed(), 1);
    }

    #[tokio::test]
    async fn a_create_with_a_taken_id_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("db")).expect("open");
        store
            .commit(vec![create("x", json!({}))])
            .await
            .expect("first");
        let again = store.commit(vec![create("x", json!({}))]).await;
        assert!(matches!(again, Err(StoreError::Exists { .. })), "{again:?}");
    }
}

//! The embedded store: one SQLite database in WAL mode, with one writer thread
//! that commits concurrent transactions together (group commit), and the
//! models last read or written kept parsed (`cache`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

use async_trait::async_trait;
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{Commit, Durability, Model, Recorded, Store, StoreError, Submitted, Transaction};
use cache::Cache;
use quota::Quota;
use writer::Writer;

mod cache;
mod control;
mod driver;
mod quota;
mod writer;

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(err))
    }
}

/// Reader connections: WAL lets them read while the writer commits; two match
/// the two cores these hosts usually have.
const READERS: usize = 2;

/// Most transactions committed together; bounds the latency one batch adds.
pub(super) const MAX_BATCH: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS models (
    seq        INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (collection, id)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ops (
    key    TEXT PRIMARY KEY,
    answer TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    at     INTEGER NOT NULL
);";

pub(super) type Reply = oneshot::Sender<Result<Commit, StoreError>>;

/// One submitted transaction.
pub(super) struct Submission {
    pub transaction: Transaction,
    pub reply: Reply,
}

/// What the writer thread is asked to do.
pub(super) enum Job {
    /// Commit these writes as one transaction.
    Commit(Submission),
    /// Commit what came before, close the database, then say so.
    Close(mpsc::Sender<()>),
}

/// How long `close` waits for the writer to finish what it was given.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A SQLite-backed [`Store`].
pub struct SqliteStore {
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    writer: tokio::sync::mpsc::UnboundedSender<Job>,
    /// Seq of the last durable commit, published by the writer thread.
    committed: Arc<AtomicU64>,
    /// Models as of known commits, shared with the writer thread.
    cache: Arc<Cache>,
}

/// The number the next commit follows. Commit numbers carry on across
/// restarts past every recorded operation's, since a repeated operation is
/// answered after the pushes of the commit it names. The counter is saved
/// at a clean close and every 1,024 commits; after a crash, the last
/// recorded operation's number may be the larger.
fn last_seq(conn: &Connection) -> Result<u64, StoreError> {
    let seq: i64 = conn.query_row(
        "SELECT MAX(COALESCE((SELECT value FROM meta WHERE key = 'seq'), 0),
                    COALESCE((SELECT MAX(seq) FROM ops), 0))",
        [],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(seq).unwrap_or(0))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, with no quota,
    /// durable on disk.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, None, Durability::Disk)
    }

    /// Opens the database at `path`; with `quota`, a transaction that would
    /// take the stored bytes (collection, id and JSON body of every model)
    /// past it fails with [`StoreError::Quota`]. A commit resolves once it is
    /// as durable as `durability` says.
    pub fn open_with(
        path: &Path,
        quota: Option<u64>,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk (the log is synced) before it resolves,
        // so an acked write survives power loss; group commit pays for the
        // fsync. NORMAL, in WAL mode: a commit is in the log, written to the
        // operating system but not synced, so it survives halo's crash and
        // the log is synced at checkpoints.
        let synchronous = match durability {
            Durability::Disk => "FULL",
            Durability::Process => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
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
        let seq = last_seq(&conn)?;
        let (writer, jobs) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let committed = Arc::new(AtomicU64::new(seq));
        let cache = Arc::new(Cache::default());
        driver::start(
            Writer::new(conn, Arc::clone(&committed), Arc::clone(&cache), seq, quota),
            jobs,
            durability == Durability::Process,
        )
        .map_err(|_| StoreError::Closed)?;

        Ok(Self {
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            writer,
            committed,
            cache,
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
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Arc<Model>>, StoreError> {
        // Only this store's own commits fill the cache, never a read: a
        // read may come from a moment another connection was still writing
        // the file (see `cache`).
        if let Some(model) = self.cache.get(collection, id) {
            return Ok(model);
        }
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.read_short(move |conn| {
            Ok(select_sized(conn, &collection, &id)?.map(|(model, _)| Arc::new(model)))
        })
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

    fn submit(&self, transaction: Transaction) -> Submitted {
        if transaction.writes.is_empty() {
            return Box::pin(std::future::ready(Ok(Commit::default())));
        }
        let (reply, answer) = oneshot::channel();
        let sent = self
            .writer
            .send(Job::Commit(Submission { transaction, reply }));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Closed)?;
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    async fn recorded(&self, key: &str) -> Result<Option<Recorded>, StoreError> {
        let key = key.to_owned();
        self.read_short(move |conn| {
            let row = conn
                .prepare_cached("SELECT answer, seq FROM ops WHERE key = ?1")?
                .query_row(params![key], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()?;
            Ok(row.map(|(answer, seq)| Recorded {
                key,
                answer,
                seq: u64::try_from(seq).unwrap_or(0),
            }))
        })
        .await
    }

    fn close(&self) {
        let (done, closed) = mpsc::channel();
        if self.writer.send(Job::Close(done)).is_ok() {
            let _ = closed.recv_timeout(CLOSE_TIMEOUT);
        }
    }
}

pub(super) fn parse(collection: &str, id: &str, body: &str) -> Result<Model, StoreError> {
    serde_json::from_str(body).map_err(|_| StoreError::Corrupt {
        collection: collection.to_owned(),
        id: id.to_owned(),
    })
}

/// The model with `id`, and the length of its JSON.
pub(super) fn select_sized(
    conn: &Connection,
    collection: &str,
    id: &str,
) -> Result<Option<(Model, usize)>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM models WHERE collection = ?1 AND id = ?2")?
        .query_row(params![collection, id], |row| row.get(0))
        .optional()?;
    body.map(|body| Ok((parse(collection, id, &body)?, body.len())))
        .transpose()
}

#[cfg(test)]
mod tests;

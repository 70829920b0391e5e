//! The writer thread: applies commits in batches, one fsync per batch, within
//! the tenant's quota of stored bytes, and keeps the models it commits in the
//! store's cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use foldhash::{HashMap, HashMapExt};
use rusqlite::{Connection, params};

use super::cache::{Cache, key};
use super::control::Batch;
use super::quota::{Allowance, Quota};
use super::{Submission, select_sized};
use crate::store::{
    Change, Commit, Model, Recorded, StoreError, Transaction, Write, coalesce, merge,
};

/// How long a recorded operation is kept: far longer than a client takes to
/// reconnect and retry.
const KEEP_OPS_SECS: i64 = 300;

/// Records client operation `op` as applied by commit `seq`; a key already
/// recorded means a repeat got this far, and is refused.
fn record(conn: &Connection, op: &Recorded, seq: u64) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO ops (key, answer, seq, at) VALUES (?1, ?2, ?3, unixepoch())
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            op.key,
            op.answer,
            i64::try_from(seq).unwrap_or(i64::MAX)
        ])?;
    if inserted == 0 {
        return Err(StoreError::Repeated(op.key.clone()));
    }
    Ok(())
}

/// Saves `seq` as the last commit's number. Commits only number the
/// operations recorded with them, and each recorded operation keeps its
/// number, so the saved one may trail (see [`super::last_seq`]).
fn save_seq(conn: &Connection, seq: u64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('seq', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![i64::try_from(seq).unwrap_or(i64::MAX)])?;
    Ok(())
}

/// Forgets operations older than their keeping time.
fn forget_old_ops(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM ops WHERE at < unixepoch() - ?1")?
        .execute(params![KEEP_OPS_SECS])?;
    Ok(())
}

/// SQLite's count of commits made by other connections to the file: it
/// changes only when something else writes it.
fn data_version(conn: &Connection) -> Option<i64> {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .ok()
}

/// The writer's state between batches: its connection, the commits so far
/// and what it tells the readers.
pub(super) struct Writer {
    conn: Connection,
    committed: Arc<AtomicU64>,
    cache: Arc<Cache>,
    /// The last commit's number.
    seq: u64,
    quota: Option<Quota>,
    /// The latest epoch with a refused transaction.
    refused: Option<u64>,
    /// SQLite's `data_version` when the last batch began.
    version: Option<i64>,
}

impl Writer {
    /// A writer on `conn` whose last commit was `seq`; it publishes each
    /// durable commit's number in `committed`, its models in `cache`.
    pub(super) fn new(
        conn: Connection,
        committed: Arc<AtomicU64>,
        cache: Arc<Cache>,
        seq: u64,
        quota: Option<Quota>,
    ) -> Self {
        let version = data_version(&conn);
        Self {
            conn,
            committed,
            cache,
            seq,
            quota,
            refused: None,
            version,
        }
    }

    /// Commits every transaction of `batch` in one SQLite transaction, each
    /// numbered in commit order if it succeeds, and tells each submitter.
    /// The last number is published once the batch is durable, after its
    /// models are in the cache.
    pub(super) fn commit(&mut self, batch: Vec<Submission>) {
        if batch.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let outcomes = commit_batch(
            &self.conn,
            &self.cache,
            &batch,
            self.seq,
            &mut self.quota,
            &mut self.refused,
            &mut self.version,
        );
        crate::metrics::metrics()
            .store_commits
            .observe(started.elapsed().as_secs_f64());
        let mut seq = self.seq;
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
        self.seq = seq;
        self.committed.store(seq, Ordering::Release);
        for (submission, result) in batch.into_iter().zip(results) {
            // The requester may have given up (client gone): nothing to tell.
            let _ = submission.reply.send(result);
        }
    }

    /// Closes the database once the writer is done; when the store was
    /// closed (not merely dropped), the log is folded back into the database
    /// file first, so the file alone holds everything. Not when a tenant
    /// merely unloads: its next copy may be opening the file already, and a
    /// truncating checkpoint would hold up its writes.
    pub(super) fn finish(self, closed: Option<mpsc::Sender<()>>) {
        if closed.is_some() {
            let _ = save_seq(&self.conn, self.seq);
            let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        drop(self.conn);
        if let Some(done) = closed {
            let _ = done.send(());
        }
    }
}

/// A model as written: its value (`None`: removed) and its JSON's length.
type Written = (Option<Arc<Model>>, usize);

/// What the writer's reads see: the models the running transaction wrote,
/// then those the batch's earlier transactions wrote, then the cache, then
/// the file.
struct Reads<'a> {
    conn: &'a Connection,
    cache: &'a Cache,
    batch: &'a HashMap<String, (u64, Written)>,
    mine: HashMap<String, Written>,
}

impl Reads<'_> {
    /// The model, and its JSON's length as stored.
    fn get(&self, collection: &str, id: &str) -> Result<Option<(Arc<Model>, usize)>, StoreError> {
        let key = key(collection, id);
        let known = match self.mine.get(&key) {
            Some(written) => Some(written.clone()),
            None => match self.batch.get(&key) {
                Some((_, written)) => Some(written.clone()),
                None => self.cache.get_sized(collection, id),
            },
        };
        match known {
            Some((model, len)) => Ok(model.map(|model| (model, len))),
            None => {
                Ok(select_sized(self.conn, collection, id)?
                    .map(|(model, len)| (Arc::new(model), len)))
            }
        }
    }

    fn wrote(&mut self, collection: &str, id: &str, written: Written) {
        self.mine.insert(key(collection, id), written);
    }
}

/// Commits `batch` in one SQLite transaction. A transaction of an epoch
/// with a refused one is refused unread (it may have read what was refused),
/// and a refusal marks its epoch. Once committed, what it wrote goes in
/// `cache`, each model as of the commit that last wrote it; if another
/// connection wrote the file since `version`, the cache is cleared first.
fn commit_batch(
    conn: &Connection,
    cache: &Cache,
    batch: &[Submission],
    seq: u64,
    quota: &mut Option<Quota>,
    refused: &mut Option<u64>,
    version: &mut Option<i64>,
) -> Vec<Result<Vec<Change>, StoreError>> {
    let mut results = Vec::with_capacity(batch.len());
    let before = *quota;
    let refused_before = *refused;
    let mut written: HashMap<String, (u64, Written)> = HashMap::new();
    let outcome = (|| -> Result<(), StoreError> {
        let tx = Batch::begin(conn)?;
        // Asked inside the transaction, which holds the file's latest state
        // from its start: asked before it, the question took and dropped
        // SQLite's file locks once more per batch (a twentieth of a
        // one-request batch's CPU, in system calls).
        let now = data_version(conn);
        if now != *version {
            // Another connection wrote the file: what the cache holds may
            // be older than it.
            cache.clear();
            *version = now;
        }
        let mut next = seq;
        for Submission { transaction, .. } in batch {
            let Transaction {
                writes, epoch, op, ..
            } = transaction;
            if epoch.is_some_and(|e| refused.is_some_and(|r| e <= r)) {
                results.push(Err(StoreError::Aborted));
                continue;
            }
            // One statement is undone by SQLite itself when it fails, and
            // its quota is checked before it runs: only a transaction of
            // several needs a savepoint to undo it alone.
            let single = writes.len() == 1 && op.is_none();
            let savepoint = if single { None } else { Some(tx.savepoint()?) };
            let allowance = quota.filter(|_| single).map(|quota| Allowance {
                left: quota.left(),
                max: quota.max,
            });
            let mut reads = Reads {
                conn,
                cache,
                batch: &written,
                mine: HashMap::new(),
            };
            let applied =
                apply(&mut reads, writes, quota.is_some(), allowance).and_then(|applied| {
                    if let Some(op) = op {
                        record(conn, op, next + 1)?;
                    }
                    Ok(applied)
                });
            match applied {
                Ok((changes, grown)) => {
                    if let Some(quota) = quota.as_mut() {
                        // Shrinking is always allowed, so a full tenant can
                        // delete its way back under the quota.
                        if grown > 0 && grown > quota.left() {
                            if let Some(savepoint) = savepoint {
                                savepoint.rollback()?;
                            }
                            results.push(Err(StoreError::Quota(quota.max)));
                            *refused = (*refused).max(*epoch);
                            continue;
                        }
                        quota.used = quota.used.saturating_add(grown);
                    }
                    if let Some(savepoint) = savepoint {
                        savepoint.release()?;
                    }
                    next += 1;
                    let mine = std::mem::take(&mut reads.mine);
                    written.extend(mine.into_iter().map(|(key, model)| (key, (next, model))));
                    results.push(Ok(changes));
                }
                Err(err) => {
                    match savepoint {
                        Some(savepoint) => savepoint.rollback()?,
                        // Some failures (a full disk) make SQLite roll the
                        // whole transaction back: the batch cannot go on.
                        None if conn.is_autocommit() => return Err(err),
                        None => {}
                    }
                    results.push(Err(err));
                    *refused = (*refused).max(*epoch);
                }
            }
        }
        // Now and then, not in every batch: saving the counter puts one
        // page more in the log (two of a one-request commit's four writes),
        // and forgetting scans the table.
        if next / 1024 != seq / 1024 {
            save_seq(conn, next)?;
            forget_old_ops(conn)?;
        }
        tx.commit()?;
        Ok(())
    })();
    if outcome.is_ok() {
        for (key, (version, (model, len))) in written {
            cache.put(key, version, model, len);
        }
    }
    if let Err(err) = outcome {
        *quota = before;
        let last = batch.iter().filter_map(|s| s.transaction.epoch).max();
        *refused = refused_before.max(last);
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
/// asks, by how many bytes it grew the store. With an `allowance`, a write
/// that would grow the store past it is refused before it runs.
fn apply(
    reads: &mut Reads<'_>,
    writes: &[Write],
    count: bool,
    allowance: Option<Allowance>,
) -> Result<(Vec<Change>, i64), StoreError> {
    let conn = reads.conn;
    let mut changes = Vec::with_capacity(writes.len());
    let mut grown: i64 = 0;
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
                Allowance::check(allowance, row_bytes(collection, id, body.len()))?;
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
                let model = Arc::new(model.clone());
                reads.wrote(collection, id, (Some(Arc::clone(&model)), body.len()));
                changes.push(Change {
                    collection: collection.clone(),
                    id: id.clone(),
                    before: None,
                    after: Some(model),
                });
            }
            Write::Merge {
                collection,
                id,
                attributes,
                only,
            } => {
                let (before, before_len) =
                    reads
                        .get(collection, id)?
                        .ok_or_else(|| StoreError::NotFound {
                            collection: collection.clone(),
                            id: id.clone(),
                        })?;
                let mut after = Model::clone(&before);
                merge(&mut after, attributes, only.as_deref());
                let body = serde_json::to_string(&after).map_err(|_| StoreError::Corrupt {
                    collection: collection.clone(),
                    id: id.clone(),
                })?;
                let growth = i64::try_from(body.len())
                    .unwrap_or(i64::MAX)
                    .saturating_sub(i64::try_from(before_len).unwrap_or(i64::MAX));
                Allowance::check(allowance, growth)?;
                conn.prepare_cached(
                    "UPDATE models SET body = ?3 WHERE collection = ?1 AND id = ?2",
                )?
                .execute(params![collection, id, body])?;
                if count {
                    grown += growth;
                }
                let after = Arc::new(after);
                reads.wrote(collection, id, (Some(Arc::clone(&after)), body.len()));
                changes.push(Change {
                    collection: collection.clone(),
                    id: id.clone(),
                    before: Some(before),
                    after: Some(after),
                });
            }
            Write::Remove { collection, id } => {
                if let Some((before, before_len)) = reads.get(collection, id)? {
                    conn.prepare_cached("DELETE FROM models WHERE collection = ?1 AND id = ?2")?
                        .execute(params![collection, id])?;
                    reads.wrote(collection, id, (None, 0));
                    if count {
                        grown -= row_bytes(collection, id, before_len);
                    }
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

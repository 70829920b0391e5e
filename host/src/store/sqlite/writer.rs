//! The writer thread: applies commits in batches, one fsync per batch, within
//! the tenant's quota of stored bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use rusqlite::{Connection, params};

use super::control::Batch;
use super::{Job, MAX_BATCH, Submission, select};
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

/// Forgets operations older than their keeping time.
fn forget_old_ops(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM ops WHERE at < unixepoch() - ?1")?
        .execute(params![KEEP_OPS_SECS])?;
    Ok(())
}

/// Commits every queued transaction in one SQLite transaction, each inside
/// its own savepoint so that one failing transaction leaves the others intact.
/// Numbers the successful ones in commit order and publishes the last number
/// once the batch is durable. Returns, with whom to tell, when asked to close.
pub(super) fn write_loop(
    conn: &mut Connection,
    jobs: &mpsc::Receiver<Job>,
    committed: &AtomicU64,
    mut seq: u64,
    mut quota: Option<Quota>,
) -> Option<mpsc::Sender<()>> {
    let mut closing = None;
    // The latest epoch with a refused transaction.
    let mut refused = None;
    while closing.is_none() {
        let Ok(first) = jobs.recv() else { break };
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Commit(submission) => batch.push(submission),
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
        let outcomes = commit_batch(conn, &batch, seq, &mut quota, &mut refused);
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
        for (submission, result) in batch.into_iter().zip(results) {
            // The requester may have given up (client gone): nothing to tell.
            let _ = submission.reply.send(result);
        }
    }
    closing
}

/// The stored-bytes quota of a store, and what is used of it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quota {
    pub max: u64,
    pub used: i64,
}

/// Commits `batch` in one SQLite transaction. A transaction of an epoch
/// with a refused one is refused unread (it may have read what was refused),
/// and a refusal marks its epoch.
fn commit_batch(
    conn: &Connection,
    batch: &[Submission],
    seq: u64,
    quota: &mut Option<Quota>,
    refused: &mut Option<u64>,
) -> Vec<Result<Vec<Change>, StoreError>> {
    let mut results = Vec::with_capacity(batch.len());
    let before = *quota;
    let refused_before = *refused;
    let outcome = (|| -> Result<(), StoreError> {
        let tx = Batch::begin(conn)?;
        let mut next = seq;
        for Submission { transaction, .. } in batch {
            let Transaction {
                writes, epoch, op, ..
            } = transaction;
            if epoch.is_some_and(|e| refused.is_some_and(|r| e <= r)) {
                results.push(Err(StoreError::Aborted));
                continue;
            }
            let savepoint = tx.savepoint()?;
            let applied = apply(conn, writes, quota.is_some()).and_then(|applied| {
                if let Some(op) = op {
                    record(conn, op, next + 1)?;
                }
                Ok(applied)
            });
            match applied {
                Ok((changes, grown)) => {
                    if let Some(quota) = quota.as_mut() {
                        let used = quota.used.saturating_add(grown);
                        // Shrinking is always allowed, so a full tenant can
                        // delete its way back under the quota.
                        if grown > 0 && used > i64::try_from(quota.max).unwrap_or(i64::MAX) {
                            savepoint.rollback()?;
                            results.push(Err(StoreError::Quota(quota.max)));
                            *refused = (*refused).max(*epoch);
                            continue;
                        }
                        quota.used = used;
                    }
                    savepoint.release()?;
                    next += 1;
                    results.push(Ok(changes));
                }
                Err(err) => {
                    savepoint.rollback()?;
                    results.push(Err(err));
                    *refused = (*refused).max(*epoch);
                }
            }
        }
        if next > seq {
            conn.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('seq', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![i64::try_from(next).unwrap_or(i64::MAX)])?;
            // Now and then, not in every batch: it scans the table.
            if next / 1024 != seq / 1024 {
                forget_old_ops(conn)?;
            }
        }
        tx.commit()?;
        Ok(())
    })();
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

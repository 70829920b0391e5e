//! A node's commits to one tenant: queued transactions committed together
//! in one PostgreSQL transaction that holds the tenant's counter row, each
//! inside a savepoint so that one refusal leaves the others intact.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Transaction as PgTx;

use super::{LogBody, Postgres};
use crate::store::{
    Change, Commit, Durability, Model, Recorded, StoreError, Transaction, Write, coalesce, merge,
};

/// Most transactions committed together.
const MAX_BATCH: usize = 256;

/// Commits between two trims of the log and of old operations.
const TRIM_EVERY: u64 = 256;

/// How long a recorded operation is kept, in seconds.
const KEEP_OPS_SECS: f64 = 300.0;

/// How often a batch looks again whether another node's hold on the
/// tenant has ended.
const HOLD_POLL: std::time::Duration = std::time::Duration::from_millis(1);

pub(super) type Reply = oneshot::Sender<Result<Commit, StoreError>>;

/// What the writer is asked to do.
pub(super) enum Job {
    Commit(Transaction, Reply),
    /// Commit what came before, then say so.
    Close(std::sync::mpsc::Sender<()>),
}

/// One tenant's writer on this node.
pub(super) struct Writer {
    pub pg: Arc<Postgres>,
    pub tenant: Arc<str>,
    pub known: Arc<AtomicU64>,
    pub quota: Option<u64>,
    pub durability: Durability,
    /// The latest epoch with a refused transaction.
    pub refused: Option<u64>,
}

/// What trying to commit a batch came to.
enum Batch {
    /// Committed: each transaction's outcome.
    Done(Vec<Result<Made, StoreError>>),
    /// Another node holds the tenant: nothing was done.
    Held,
}

/// A commit made, to announce once the batch is durable.
struct Made {
    seq: u64,
    changes: Vec<Change>,
    body: Arc<str>,
}

impl Writer {
    pub(super) async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Job>) {
        while let Some(first) = queue.recv().await {
            let mut batch = Vec::new();
            let mut closing = None;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Commit(transaction, reply) => batch.push((transaction, reply)),
                    Job::Close(done) => {
                        closing = Some(done);
                        break;
                    }
                }
                if batch.len() < MAX_BATCH {
                    next = queue.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(batch).await;
            }
            if let Some(done) = closing {
                let _ = done.send(());
                return;
            }
        }
    }

    async fn commit(&mut self, batch: Vec<(Transaction, Reply)>) {
        let started = std::time::Instant::now();
        let refused_before = self.refused;
        let (transactions, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let outcome = loop {
            match self.commit_batch(&transactions).await {
                Ok(Batch::Held) => tokio::time::sleep(HOLD_POLL).await,
                Ok(Batch::Done(results)) => break Ok(results),
                Err(err) => break Err(err),
            }
        };
        crate::metrics::metrics()
            .store_commits
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok(results) => {
                let announce = self.pg.announcer();
                for (result, reply) in results.into_iter().zip(replies) {
                    let result = result.map(|made| {
                        if let Some(announce) = &announce {
                            announce.announce(&self.tenant, made.seq, made.body);
                        }
                        Commit {
                            seq: Some(made.seq),
                            changes: made.changes,
                        }
                    });
                    // The requester may have given up (client gone).
                    let _ = reply.send(result);
                }
            }
            Err(err) => {
                let last = transactions.iter().filter_map(|t| t.epoch).max();
                self.refused = refused_before.max(last);
                tracing::error!(tenant = %self.tenant, cause = %err, transactions = transactions.len(), "store commit failed");
                let message = err.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Commit(message.clone())));
                }
            }
        }
    }

    /// Commits `batch` in one transaction and returns each one's outcome,
    /// unless another node holds the tenant.
    async fn commit_batch(&mut self, batch: &[Transaction]) -> Result<Batch, StoreError> {
        let mut client = self.pg.pool.get().await?;
        let mut tx = client.transaction().await?;
        if self.durability == Durability::Process {
            // Acked once PostgreSQL has it, before its log is flushed: it
            // survives halo's crash, not the database server's.
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .await?;
        }
        let tenant: &str = &self.tenant;
        // The counter row is the tenant's lock: one batch at a time commits
        // to the tenant, whichever node it comes from.
        let row = tx
            .query_one(
                "SELECT seq, stored,
                        COALESCE(holder <> $2 AND held_until > now(), false)
                 FROM halo_tenants WHERE tenant = $1 FOR UPDATE",
                &[&tenant, &self.pg.writer],
            )
            .await?;
        if row.get::<_, bool>(2) {
            // Dropping the transaction rolls it back and lets the row go.
            return Ok(Batch::Held);
        }
        let head = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
        let mut stored: i64 = row.get(1);
        // The newest commit another node made that some transaction here may
        // not have read.
        let lowest_base = batch.iter().map(|t| t.base).min().unwrap_or(head);
        let foreign = if head > lowest_base {
            let seq: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(seq), 0) FROM halo_log
                     WHERE tenant = $1 AND seq > $2 AND writer <> $3",
                    &[
                        &tenant,
                        &i64::try_from(lowest_base).unwrap_or(i64::MAX),
                        &self.pg.writer,
                    ],
                )
                .await?
                .get(0);
            u64::try_from(seq).unwrap_or(0)
        } else {
            0
        };
        let mut next = head;
        let mut results = Vec::with_capacity(batch.len());
        let mut refused = self.refused;
        for transaction in batch {
            let epoch = transaction.epoch;
            if epoch.is_some_and(|e| refused.is_some_and(|r| e <= r)) {
                results.push(Err(StoreError::Aborted));
                continue;
            }
            if transaction.base < foreign {
                results.push(Err(StoreError::Conflict));
                refused = refused.max(epoch);
                continue;
            }
            let savepoint = tx.savepoint("halo_tx").await?;
            // Counted even without a quota, so that one set later starts right.
            let count = true;
            let outcome = apply(&savepoint, tenant, &transaction.writes, count).await;
            let outcome = match outcome {
                Ok((changes, grown)) => {
                    let over = self.quota.is_some_and(|max| {
                        grown > 0
                            && stored.saturating_add(grown) > i64::try_from(max).unwrap_or(i64::MAX)
                    });
                    match self.quota.filter(|_| over) {
                        Some(max) => Err(StoreError::Quota(max)),
                        None => {
                            let seq = next + 1;
                            match log(&savepoint, &self.pg, tenant, seq, transaction, &changes)
                                .await
                            {
                                Ok(body) => Ok((seq, changes, grown, body)),
                                Err(err) => Err(err),
                            }
                        }
                    }
                }
                Err(err) => Err(err),
            };
            match outcome {
                Ok((seq, changes, grown, body)) => {
                    savepoint.commit().await?;
                    next = seq;
                    stored = stored.saturating_add(grown);
                    results.push(Ok(Made { seq, changes, body }));
                }
                Err(err) => {
                    savepoint.rollback().await?;
                    refused = refused.max(epoch);
                    results.push(Err(err));
                }
            }
        }
        if next > head {
            tx.execute(
                "UPDATE halo_tenants SET seq = $2, stored = $3 WHERE tenant = $1",
                &[&tenant, &i64::try_from(next).unwrap_or(i64::MAX), &stored],
            )
            .await?;
            if next / TRIM_EVERY != head / TRIM_EVERY {
                trim(&tx, tenant, next, self.pg.retention).await?;
            }
        }
        tx.commit().await?;
        self.refused = refused;
        self.known.fetch_max(next.max(foreign), Ordering::AcqRel);
        Ok(Batch::Done(results))
    }
}

/// Records commit `seq` in the log, and its operation if it has one;
/// returns the log entry.
async fn log(
    tx: &PgTx<'_>,
    pg: &Postgres,
    tenant: &str,
    seq: u64,
    transaction: &Transaction,
    changes: &[Change],
) -> Result<Arc<str>, StoreError> {
    let body = serde_json::to_string(&LogBody {
        changes: changes.to_vec(),
        events: transaction.events.clone(),
    })
    .map_err(|err| StoreError::Backend(Box::new(err)))?;
    let seq_i = i64::try_from(seq).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO halo_log (tenant, seq, writer, body) VALUES ($1, $2, $3, $4)",
        &[&tenant, &seq_i, &pg.writer, &body],
    )
    .await?;
    if let Some(Recorded { key, answer, .. }) = &transaction.op {
        let inserted = tx
            .execute(
                "INSERT INTO halo_ops (tenant, key, answer, seq) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&tenant, key, answer, &seq_i],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Repeated(key.clone()));
        }
    }
    Ok(body.into())
}

/// Forgets commits past the log's retention, and operations past their
/// keeping time.
async fn trim(tx: &PgTx<'_>, tenant: &str, head: u64, retention: u64) -> Result<(), StoreError> {
    let keep_from = i64::try_from(head.saturating_sub(retention)).unwrap_or(0);
    tx.execute(
        "DELETE FROM halo_log WHERE tenant = $1 AND seq <= $2",
        &[&tenant, &keep_from],
    )
    .await?;
    tx.execute(
        "DELETE FROM halo_ops WHERE tenant = $1 AND at < now() - make_interval(secs => $2)",
        &[&tenant, &KEEP_OPS_SECS],
    )
    .await?;
    Ok(())
}

/// Stored size of one model row.
fn row_bytes(collection: &str, id: &str, body: usize) -> i64 {
    i64::try_from(collection.len() + id.len() + body).unwrap_or(i64::MAX)
}

async fn select(
    tx: &PgTx<'_>,
    tenant: &str,
    collection: &str,
    id: &str,
) -> Result<Option<(Model, usize)>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT body FROM halo_models WHERE tenant = $1 AND collection = $2 AND id = $3",
            &[&tenant, &collection, &id],
        )
        .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let body: &str = row.get(0);
            let model = super::parse(collection, id, body)?;
            Ok(Some((model, body.len())))
        }
    }
}

fn corrupt(collection: &str, id: &str) -> StoreError {
    StoreError::Corrupt {
        collection: collection.to_owned(),
        id: id.to_owned(),
    }
}

/// Applies one transaction's writes; returns its changes and by how many
/// bytes it grew the tenant's data (when `count` asks).
async fn apply(
    tx: &PgTx<'_>,
    tenant: &str,
    writes: &[Write],
    count: bool,
) -> Result<(Vec<Change>, i64), StoreError> {
    let mut changes = Vec::with_capacity(writes.len());
    let mut grown: i64 = 0;
    for write in writes {
        match write {
            Write::Create {
                collection,
                id,
                model,
            } => {
                let body = serde_json::to_string(model).map_err(|_| corrupt(collection, id))?;
                let inserted = tx
                    .execute(
                        "INSERT INTO halo_models (tenant, collection, id, body) VALUES ($1, $2, $3, $4)
                         ON CONFLICT DO NOTHING",
                        &[&tenant, collection, id, &body],
                    )
                    .await?;
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
                    after: Some(Arc::new(model.clone())),
                });
            }
            Write::Merge {
                collection,
                id,
                attributes,
                only,
            } => {
                let (before, was) = select(tx, tenant, collection, id).await?.ok_or_else(|| {
                    StoreError::NotFound {
                        collection: collection.clone(),
                        id: id.clone(),
                    }
                })?;
                let mut after = before.clone();
                merge(&mut after, attributes, only.as_deref());
                let body = serde_json::to_string(&after).map_err(|_| corrupt(collection, id))?;
                tx.execute(
                    "UPDATE halo_models SET body = $4 WHERE tenant = $1 AND collection = $2 AND id = $3",
                    &[&tenant, collection, id, &body],
                )
                .await?;
                if count {
                    grown += row_bytes(collection, id, body.len()) - row_bytes(collection, id, was);
                }
                changes.push(Change {
                    collection: collection.clone(),
                    id: id.clone(),
                    before: Some(Arc::new(before)),
                    after: Some(Arc::new(after)),
                });
            }
            Write::Remove { collection, id } => {
                let row = tx
                    .query_opt(
                        "DELETE FROM halo_models WHERE tenant = $1 AND collection = $2 AND id = $3
                         RETURNING body",
                        &[&tenant, collection, id],
                    )
                    .await?;
                if let Some(row) = row {
                    let body: &str = row.get(0);
                    let before = super::parse(collection, id, body)?;
                    if count {
                        grown -= row_bytes(collection, id, body.len());
                    }
                    changes.push(Change {
                        collection: collection.clone(),
                        id: id.clone(),
                        before: Some(Arc::new(before)),
                        after: None,
                    });
                }
            }
        }
    }
    Ok((coalesce(changes), grown))
}

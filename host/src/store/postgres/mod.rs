//! The shared store: every tenant's models, commit log and recorded
//! operations in one PostgreSQL database, which several halo nodes use at
//! once. Each tenant's commits take the next number of the tenant's
//! counter inside their transaction, so there is one commit order per
//! tenant whichever node commits.
//!
//! * `schema`: the tables and their migrations.
//! * `writer`: a node's commits for one tenant, in batches.

mod schema;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;

use super::{
    Change, Commit, Durability, Hold, LogRead, Logged, Model, Recorded, Store, StoreError,
    Submitted, Transaction,
};
use writer::{Job, Writer};

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        // The server's own words, which the error's text leaves out.
        match err.as_db_error() {
            Some(db) => {
                StoreError::Backend(format!("{} ({})", db.message(), db.code().code()).into())
            }
            None => StoreError::Backend(Box::new(err)),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        StoreError::Backend(Box::new(err))
    }
}

/// Connections a node keeps to the database: enough for a writer per busy
/// tenant and the reads beside them on a small machine.
const POOL_SIZE: usize = 16;

/// How long a node's hold on a tenant lasts at most, in seconds: long
/// enough for a write to run and commit, short enough that other nodes go
/// on soon should the holding node die.
const HOLD_LEASE_SECS: f64 = 1.0;

/// Hears of every commit this node makes, once it is durable: the change
/// feed that tells the other nodes.
pub trait Announce: Send + Sync + 'static {
    /// Commit `seq` of `tenant`, as its commit log holds it (`body`).
    fn announce(&self, tenant: &str, seq: u64, body: Arc<str>);
}

/// A node's connection to the shared database.
pub struct Postgres {
    pool: Pool,
    /// This process's mark on the commits it writes, new at every start:
    /// how a node tells its own commits from others'.
    writer: uuid::Uuid,
    /// How many commits of a tenant the log keeps.
    retention: u64,
    announce: parking_lot::RwLock<Option<Arc<dyn Announce>>>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("writer", &self.writer)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Connects to `url` (`postgres://user@host:port/db`) and brings the
    /// tables up to date; the commit log keeps the last `retention` commits
    /// of each tenant.
    pub async fn connect(url: &str, retention: u64) -> Result<Arc<Self>, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|err| StoreError::Backend(Box::new(err)))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|err| StoreError::Backend(Box::new(err)))?;
        let mut client = pool.get().await?;
        schema::migrate(&mut client).await?;
        drop(client);
        Ok(Arc::new(Self {
            pool,
            writer: uuid::Uuid::now_v7(),
            retention: retention.max(1),
            announce: parking_lot::RwLock::new(None),
        }))
    }

    /// This process's mark on the commits it writes.
    pub fn writer(&self) -> uuid::Uuid {
        self.writer
    }

    /// Tells `announce` of every commit from now on.
    pub fn announce_to(&self, announce: Arc<dyn Announce>) {
        *self.announce.write() = Some(announce);
    }

    fn announcer(&self) -> Option<Arc<dyn Announce>> {
        self.announce.read().clone()
    }
}

/// One tenant's collections in the shared database.
pub struct PostgresStore {
    pg: Arc<Postgres>,
    tenant: Arc<str>,
    jobs: mpsc::UnboundedSender<Job>,
    /// The last commit this node made or learnt of: reads from now on
    /// include it.
    known: Arc<AtomicU64>,
    /// This node's requests holding the tenant: the last to
    /// let go releases it.
    holds: Arc<AtomicUsize>,
}

impl PostgresStore {
    /// Opens `tenant`'s store; with `quota`, a transaction that would take
    /// its stored bytes past it fails with [`StoreError::Quota`].
    pub async fn open(
        pg: &Arc<Postgres>,
        tenant: &str,
        quota: Option<u64>,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        let client = pg.pool.get().await?;
        client
            .execute(
                "INSERT INTO halo_tenants (tenant) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&tenant],
            )
            .await?;
        let seq: i64 = client
            .query_one("SELECT seq FROM halo_tenants WHERE tenant = $1", &[&tenant])
            .await?
            .get(0);
        drop(client);
        let known = Arc::new(AtomicU64::new(u64::try_from(seq).unwrap_or(0)));
        let tenant: Arc<str> = tenant.into();
        let (jobs, queue) = mpsc::unbounded_channel();
        let writer = Writer {
            pg: Arc::clone(pg),
            tenant: Arc::clone(&tenant),
            known: Arc::clone(&known),
            quota,
            durability,
            refused: None,
        };
        tokio::spawn(writer.run(queue));
        Ok(Self {
            pg: Arc::clone(pg),
            tenant,
            jobs,
            known,
            holds: Arc::default(),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pg.pool.get().await?)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Arc<Model>>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT body FROM halo_models WHERE tenant = $1 AND collection = $2 AND id = $3",
            )
            .await?;
        let row = client
            .query_opt(&statement, &[&&*self.tenant, &collection, &id])
            .await?;
        row.map(|row| parse(collection, id, row.get(0)).map(Arc::new))
            .transpose()
    }

    async fn list(&self, collection: &str) -> Result<Vec<Model>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, body FROM halo_models WHERE tenant = $1 AND collection = $2
                 ORDER BY created",
            )
            .await?;
        client
            .query(&statement, &[&&*self.tenant, &collection])
            .await?
            .iter()
            .map(|row| parse(collection, row.get(0), row.get(1)))
            .collect()
    }

    fn submit(&self, transaction: Transaction) -> Submitted {
        if transaction.writes.is_empty() {
            return Box::pin(std::future::ready(Ok(Commit::default())));
        }
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Job::Commit(transaction, reply));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Closed)?;
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn committed(&self) -> u64 {
        self.known.load(Ordering::Acquire)
    }

    fn observe(&self, seq: u64) {
        self.known.fetch_max(seq, Ordering::AcqRel);
    }

    async fn hold(&self) -> Result<Option<Hold>, StoreError> {
        let client = self.client().await?;
        // Waits for the row like a batch does: when it returns, no other
        // node's commit is under way, and none starts until the release.
        let row = client
            .query_opt(
                "UPDATE halo_tenants
                 SET holder = $2, held_until = now() + make_interval(secs => $3)
                 WHERE tenant = $1 AND (holder IS NULL OR holder = $2 OR held_until <= now())
                 RETURNING seq",
                &[&&*self.tenant, &self.pg.writer, &HOLD_LEASE_SECS],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        self.observe(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0));
        self.holds.fetch_add(1, Ordering::AcqRel);
        let pg = Arc::clone(&self.pg);
        let tenant = Arc::clone(&self.tenant);
        let holds = Arc::clone(&self.holds);
        Ok(Some(Hold::new(move || {
            if holds.fetch_sub(1, Ordering::AcqRel) != 1 {
                return;
            }
            // Outside a runtime the lease runs out instead.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(err) = release(&pg, &tenant).await {
                        tracing::warn!(%tenant, cause = %err, "could not release the hold on the tenant; it ends with its lease");
                    }
                });
            }
        })))
    }

    async fn recorded(&self, key: &str) -> Result<Option<Recorded>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT answer, seq FROM halo_ops WHERE tenant = $1 AND key = $2",
                &[&&*self.tenant, &key],
            )
            .await?;
        Ok(row.map(|row| Recorded {
            key: key.to_owned(),
            answer: row.get(0),
            seq: u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
        }))
    }

    async fn head(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let seq: i64 = client
            .query_one(
                "SELECT seq FROM halo_tenants WHERE tenant = $1",
                &[&&*self.tenant],
            )
            .await?
            .get(0);
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    async fn log_after(&self, after: u64, limit: usize) -> Result<LogRead, StoreError> {
        // The head first: every commit up to it is in the log when the rows
        // are read after it (both are written in one transaction), so a
        // commit made between the two reads is not taken for a trimmed one.
        let head = self.head().await?;
        let client = self.client().await?;
        let from = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT seq, body, writer FROM halo_log WHERE tenant = $1 AND seq > $2
                 ORDER BY seq LIMIT $3",
                &[&&*self.tenant, &from, &limit],
            )
            .await?;
        let first = rows
            .first()
            .map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0));
        // The log starts past what is asked for: trimmed away.
        if head > after && first != Some(after + 1) {
            return Ok(LogRead::Behind { head });
        }
        let mut commits = Vec::with_capacity(rows.len());
        for row in rows {
            let seq = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
            let body: &str = row.get(1);
            let writer: uuid::Uuid = row.get(2);
            commits.push(logged(seq, body, writer == self.pg.writer)?);
        }
        Ok(LogRead::Commits(commits))
    }

    fn close(&self) {
        let (done, closed) = std::sync::mpsc::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = closed.recv_timeout(std::time::Duration::from_secs(30));
        }
    }
}

/// Ends this node's hold on `tenant`, if it still has it.
async fn release(pg: &Postgres, tenant: &str) -> Result<(), StoreError> {
    pg.pool
        .get()
        .await?
        .execute(
            "UPDATE halo_tenants SET holder = NULL, held_until = NULL
             WHERE tenant = $1 AND holder = $2",
            &[&tenant, &pg.writer],
        )
        .await?;
    Ok(())
}

/// What the commit log holds of one commit.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct LogBody {
    /// Its changes.
    pub changes: Vec<Change>,
    /// Its custom events, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<serde_json::Value>,
}

/// Reads a commit log entry; `mine` if this node made it.
pub fn logged(seq: u64, body: &str, mine: bool) -> Result<Logged, StoreError> {
    let LogBody { changes, events } = serde_json::from_str(body).map_err(|_| {
        StoreError::Backend(format!("commit {seq} in the commit log is not readable").into())
    })?;
    Ok(Logged {
        seq,
        changes,
        events,
        mine,
    })
}

fn parse(collection: &str, id: &str, body: &str) -> Result<Model, StoreError> {
    serde_json::from_str(body).map_err(|_| StoreError::Corrupt {
        collection: collection.to_owned(),
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests;

//! Persistent collections of JSON models: the `Store` trait and its types.
//!
//! * `error`: why a store operation failed, and what a client is told.
//! * `sqlite`: the embedded default, one SQLite database in WAL mode.
//! * `postgres`: every tenant in one PostgreSQL database, with a commit log
//!   that several nodes share.

mod error;
mod postgres;
mod sqlite;
#[cfg(test)]
pub(crate) mod suite;

pub use error::StoreError;
pub use postgres::{Announce, Postgres, PostgresStore, logged};
pub use sqlite::SqliteStore;

use foldhash::{HashMap, HashMapExt};
use std::collections::hash_map::Entry;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

/// When a commit counts as done, and so may be acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// On disk (fsync) before it is released: survives power loss.
    #[default]
    Disk,
    /// Written to the operating system before it is released: survives a
    /// crash or `kill -9` of halo, not of the machine.
    Process,
}

/// A model: a JSON object whose `id` attribute is its key in its collection.
pub type Model = serde_json::Map<String, Value>;

/// One write of a transaction. Writes are applied in order, against the state
/// the store has when it commits, so concurrent requests never overwrite each
/// other's attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Insert `model` (which carries `id`) as a new model.
    Create {
        /// Collection to insert into.
        collection: String,
        /// The host-assigned id, equal to `model["id"]`.
        id: String,
        /// The whole model.
        model: Model,
    },
    /// Merge `attributes` into an existing model; fails if it is gone.
    Merge {
        /// Collection of the model.
        collection: String,
        /// Id of the model.
        id: String,
        /// Attributes to set; `id` among them is ignored.
        attributes: Model,
        /// When given, only these attributes may change.
        only: Option<Vec<String>>,
    },
    /// Delete a model; a model that is already gone is not an error.
    Remove {
        /// Collection of the model.
        collection: String,
        /// Id of the model.
        id: String,
    },
}

/// What a committed transaction did to one model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// Collection of the model.
    pub collection: String,
    /// Id of the model.
    pub id: String,
    /// The model before the transaction; `None` if it was created. Shared
    /// with the store's cache and the applied state, as `after` is: a model
    /// is copied only to be changed.
    pub before: Option<Arc<Model>>,
    /// The model after the transaction; `None` if it was removed.
    pub after: Option<Arc<Model>>,
}

/// A committed transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Commit {
    /// Its place in the store's commit order (1, 2, 3, ...); `None` when it
    /// had no writes and so committed nothing.
    pub seq: Option<u64>,
    /// One change per model it wrote.
    pub changes: Vec<Change>,
}

/// A transaction handed to a store, durable (or refused) when it resolves.
pub type Submitted = Pin<Box<dyn Future<Output = Result<Commit, StoreError>> + Send>>;

/// One transaction to commit: its writes and what is recorded with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transaction {
    /// The writes, applied in order.
    pub writes: Vec<Write>,
    /// Refused, unread, if a transaction of this epoch or a later one was
    /// refused; `None` depends on no other.
    pub epoch: Option<u64>,
    /// The last commit of the tenant its reads are known to include (see
    /// [`Store::known`]): a store shared by several nodes refuses it with
    /// [`StoreError::Conflict`] if another node committed since.
    pub base: u64,
    /// The client operation it carries, recorded in the same transaction so
    /// that a repeat is answered and not applied again.
    pub op: Option<Recorded>,
    /// The custom events it emits, as JSON, kept in the commit log next to
    /// its changes.
    pub events: Option<Value>,
}

impl Transaction {
    /// Just `writes`, depending on nothing.
    pub fn writes(writes: Vec<Write>) -> Self {
        Self {
            writes,
            ..Self::default()
        }
    }
}

/// A client operation's answer, as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The operation's key (client, event and operation id).
    pub key: String,
    /// Its answer, as JSON text.
    pub answer: String,
    /// The commit that applied it; 0 until it is committed.
    pub seq: u64,
}

/// One commit as the commit log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// Its place in the tenant's commit order.
    pub seq: u64,
    /// Its changes.
    pub changes: Vec<Change>,
    /// Its custom events, as recorded.
    pub events: Option<Value>,
    /// Made through this store handle, that is by this node: the request
    /// that made it hands it to the broadcaster itself.
    pub mine: bool,
}

/// What reading the commit log after a commit found.
#[derive(Debug, Clone, PartialEq)]
pub enum LogRead {
    /// The commits after it, in order (at most as many as asked for).
    Commits(Vec<Logged>),
    /// Commits after it are no longer kept: whoever is that far behind must
    /// start again from the current state, which is at `head`.
    Behind {
        /// The last commit.
        head: u64,
    },
}

/// Keeps other nodes' commits to a tenant waiting while it is held (see
/// [`Store::hold`]); dropping it lets them go on.
pub struct Hold {
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Hold {
    /// A hold that `release` gives up.
    pub fn new(release: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self {
            release: Some(Box::new(release)),
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hold")
    }
}

/// Where collections live. One store per tenant.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The model `id` of `collection`, if there is one.
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Arc<Model>>, StoreError>;

    /// Models of `collection` in creation order.
    async fn list(&self, collection: &str) -> Result<Vec<Model>, StoreError>;

    /// Queues `transaction`, before it returns: transactions apply in the
    /// order they were submitted. Durable when the result resolves `Ok`; on
    /// `Err` nothing of it was applied. Once a transaction of epoch `Some(e)`
    /// is refused, every later one of epoch `e` or an earlier one is refused
    /// too ([`StoreError::Aborted`]): it may have read the refused writes.
    fn submit(&self, transaction: Transaction) -> Submitted;

    /// Applies `writes` as one transaction on its own, durable when this
    /// returns `Ok`.
    async fn commit(&self, writes: Vec<Write>) -> Result<Commit, StoreError> {
        self.submit(Transaction::writes(writes)).await
    }

    /// The `seq` of the last durable commit this store made or learnt of (0
    /// before the first). A read started after this returns sees at least
    /// every commit up to it.
    fn committed(&self) -> u64;

    /// The last commit that reads from now on are known to include: the
    /// base of a transaction whose reads start now.
    fn known(&self) -> u64 {
        self.committed()
    }

    /// Learns that commits up to `seq`, made elsewhere, are durable.
    fn observe(&self, _seq: u64) {}

    /// The answer recorded for client operation `key`, if it was applied.
    async fn recorded(&self, key: &str) -> Result<Option<Recorded>, StoreError>;

    /// The last commit of the tenant, whoever made it, as the database says
    /// now.
    async fn head(&self) -> Result<u64, StoreError> {
        Ok(self.committed())
    }

    /// Makes other nodes' commits to the tenant wait until the hold is
    /// dropped (or, should this node die, a short lease runs out), and
    /// learns the tenant's last commit: a write that keeps losing to other
    /// nodes' commits runs once more on current data, and cannot lose. `None`
    /// when no other node commits to this store, or another node holds the
    /// tenant now.
    async fn hold(&self) -> Result<Option<Hold>, StoreError> {
        Ok(None)
    }

    /// Up to `limit` commits after `after`, from the commit log. A store
    /// without one (only this node commits to it) has nothing to tell.
    async fn log_after(&self, _after: u64, _limit: usize) -> Result<LogRead, StoreError> {
        Ok(LogRead::Commits(Vec::new()))
    }

    /// Finishes the commits already asked for and closes the store; later
    /// commits fail. Blocks, so call it off the async workers.
    fn close(&self) {}
}

/// Merges `attributes` into `model` as the `Merge` write does: `id` never
/// changes and, with `only`, nothing outside it does.
pub fn merge(model: &mut Model, attributes: &Model, only: Option<&[String]>) {
    for (key, value) in attributes {
        if key == "id" || only.is_some_and(|only| !only.iter().any(|k| k == key)) {
            continue;
        }
        model.insert(key.clone(), value.clone());
    }
}

/// Whether `model` has every attribute of `filter` with an equal value.
pub fn matches(model: &Model, filter: &Model) -> bool {
    filter
        .iter()
        .all(|(key, value)| model.get(key) == Some(value))
}

/// Folds per-write changes into one change per model, in first-touched order:
/// the first `before` and the last `after` of each model. A model created and
/// removed in the same transaction leaves no change.
pub(crate) fn coalesce(mut changes: Vec<Change>) -> Vec<Change> {
    if changes.len() < 2 {
        changes.retain(|c| c.before.is_some() || c.after.is_some());
        return changes;
    }
    let mut out: Vec<Change> = Vec::with_capacity(changes.len());
    let mut index: HashMap<(String, String), usize> = HashMap::with_capacity(changes.len());
    for change in changes {
        match index.entry((change.collection.clone(), change.id.clone())) {
            Entry::Occupied(seen) => {
                out[*seen.get()].after = change.after;
            }
            Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(change);
            }
        }
    }
    out.retain(|c| c.before.is_some() || c.after.is_some());
    out
}

/// The object in `value`, or an empty model: for building test data.
#[cfg(test)]
pub(crate) fn model(value: Value) -> Model {
    match value {
        Value::Object(map) => map,
        _ => Model::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_never_changes_the_id_and_respects_only() {
        let mut m = model(json!({"id": "1", "a": 1, "b": 2}));
        merge(
            &mut m,
            &model(json!({"id": "2", "a": 10, "b": 20, "c": 30})),
            Some(&["b".to_owned(), "c".to_owned()]),
        );
        assert_eq!(
            Value::Object(m),
            json!({"id": "1", "a": 1, "b": 20, "c": 30})
        );
    }

    #[test]
    fn coalesce_keeps_first_before_and_last_after() {
        let a = |n: i64| Some(Arc::new(model(json!({"id": "x", "n": n}))));
        let change = |before, after| Change {
            collection: "c".into(),
            id: "x".into(),
            before,
            after,
        };
        let folded = coalesce(vec![change(a(1), a(2)), change(a(2), a(3))]);
        assert_eq!(folded, vec![change(a(1), a(3))]);
        let gone = coalesce(vec![change(None, a(1)), change(a(1), None)]);
        assert!(gone.is_empty(), "created then removed leaves nothing");
    }
}

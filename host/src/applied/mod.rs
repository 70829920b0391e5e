//! A tenant's applied state: the durable store, and over it the writes that
//! have taken effect for every later request but are not durable yet.
//!
//! Write requests take their turn one at a time ([`Applied::turn`]): a
//! handler reads the applied state, writes, and its writes are applied (put
//! in the overlay and queued to the store in that order) before the next
//! handler starts. So writes are serializable per tenant: a read-modify-write
//! never loses another request's update. Durability comes later, in groups;
//! nothing is released before it (see `request`).
//!
//! When the store refuses a transaction, later ones may have read its
//! writes: the store refuses every later transaction of the same epoch too,
//! and the overlay starts a new epoch without them.
//!
//! Refused transactions that run again (a cluster node lost to another
//! node's commit) re-apply in the order they first applied, before any
//! write that had not applied yet: so a connection's pipelined writes still
//! take effect in arrival order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use foldhash::HashMap;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::{OwnedMutexGuard, watch};

use crate::store::{Commit, Model, Recorded, Store, StoreError, Submitted, Transaction, Write};

/// The epoch of a transaction refused before it applied, because older
/// refused ones had to run again first: it ends no epoch.
const OUT_OF_TURN: u64 = u64::MAX;

/// A model's key: its collection and id.
pub type Key = (String, String);

/// A tenant's applied state.
pub struct Applied {
    store: Arc<dyn Store>,
    /// Held by the one write request applying now.
    turn: Arc<tokio::sync::Mutex<()>>,
    state: Mutex<State>,
    /// Every transaction up to this number has finished (durable or
    /// refused).
    finished: watch::Sender<u64>,
    /// Told whenever a transaction leaves `redo`.
    redone: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    /// Transactions refused by the store end an epoch.
    epoch: u64,
    /// The number the next applied transaction gets.
    next: u64,
    /// Applied transactions not yet finished, each with its rank (the
    /// number of the first transaction its request applied, so that a
    /// write running again keeps its place among the others that do) and
    /// its epoch.
    pending: BTreeMap<u64, (u64, u64)>,
    /// The latest applied value of each model written by a pending
    /// transaction (`None`: removed), with that transaction's number.
    models: HashMap<Key, (u64, Option<Arc<Model>>)>,
    /// Models created by pending transactions, in the order applied.
    created: Vec<(u64, Key)>,
    /// The ranks of refused transactions whose requests may run again:
    /// until each has applied again (or given up), no write ranked after it
    /// applies.
    redo: BTreeSet<u64>,
}

impl State {
    /// Whether a write may apply now: a first run when nothing waits to
    /// run again, a run again of rank `n` when nothing ranked before it
    /// does.
    fn may_apply(&self, redo_of: Option<u64>) -> bool {
        match (redo_of, self.redo.first()) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(n), Some(&first)) => first >= n,
        }
    }
}

/// The right to apply, held by one write request at a time.
pub struct Turn {
    _guard: OwnedMutexGuard<()>,
    /// The epoch its reads belong to.
    epoch: u64,
    /// The last commit its reads are known to include.
    base: u64,
    /// The rank of the refused transaction this run replaces, if it is a
    /// run again.
    redo_of: Option<u64>,
}

/// A transaction applied and on its way to the store.
pub struct Applying {
    number: u64,
    rank: u64,
    epoch: u64,
    submitted: Submitted,
}

impl Applying {
    /// Its rank: where its request first applied among the tenant's
    /// writes.
    pub fn rank(&self) -> u64 {
        self.rank
    }
}

impl Applied {
    /// The applied state over `store`.
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        let (finished, _) = watch::channel(0);
        Arc::new(Self {
            store,
            turn: Arc::new(tokio::sync::Mutex::new(())),
            state: Mutex::new(State {
                next: 1,
                ..State::default()
            }),
            finished,
            redone: tokio::sync::Notify::new(),
        })
    }

    /// The durable store beneath.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Waits for this tenant's turn to apply writes: `redo_of` is the rank
    /// of the refused transaction a run again replaces, which waits only for
    /// those ranked before it; a first run waits until every refused one has
    /// run again.
    pub async fn turn(&self, redo_of: Option<u64>) -> Turn {
        loop {
            let redone = self.redone.notified();
            tokio::pin!(redone);
            redone.as_mut().enable();
            if self.state.lock().may_apply(redo_of) {
                let guard = Arc::clone(&self.turn).lock_owned().await;
                let state = self.state.lock();
                if state.may_apply(redo_of) {
                    return Turn {
                        _guard: guard,
                        epoch: state.epoch,
                        base: self.store.known(),
                        redo_of,
                    };
                }
                continue;
            }
            redone.await;
        }
    }

    /// The request of the transaction ranked `rank` will not run again:
    /// later writes need not wait for it.
    pub fn forget(&self, rank: u64) {
        if self.state.lock().redo.remove(&rank) {
            self.redone.notify_waiters();
        }
    }

    /// The model as applied: the overlay's value, else the store's.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Option<Arc<Model>>, StoreError> {
        let key = (collection.to_owned(), id.to_owned());
        if let Some((_, model)) = self.state.lock().models.get(&key) {
            return Ok(model.clone());
        }
        self.store.get(collection, id).await
    }

    /// Models of `collection` as applied, in creation order.
    pub async fn list(&self, collection: &str) -> Result<Vec<Model>, StoreError> {
        // The overlay is read first: an entry that becomes durable meanwhile
        // is then in the store's answer as well as in this copy.
        let (models, created) = {
            let state = self.state.lock();
            let models: HashMap<String, Option<Arc<Model>>> = state
                .models
                .iter()
                .filter(|((coll, _), _)| coll == collection)
                .map(|((_, id), (_, model))| (id.clone(), model.clone()))
                .collect();
            let created: Vec<String> = state
                .created
                .iter()
                .filter(|(_, (coll, _))| coll == collection)
                .map(|(_, (_, id))| id.clone())
                .collect();
            (models, created)
        };
        let mut listed = self.store.list(collection).await?;
        if models.is_empty() {
            return Ok(listed);
        }
        let mut seen = std::collections::HashSet::new();
        listed.retain_mut(|model| {
            let id = model
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let keep = match models.get(&id) {
                Some(Some(latest)) => {
                    Model::clone_into(latest, model);
                    true
                }
                Some(None) => false,
                None => true,
            };
            seen.insert(id);
            keep
        });
        for id in created {
            if !seen.contains(&id)
                && let Some(Some(model)) = models.get(&id)
            {
                listed.push(Model::clone(model));
            }
        }
        Ok(listed)
    }

    /// The number of the last transaction applied so far: a read that saw
    /// the applied state waits for it to finish before it is answered.
    pub fn applied(&self) -> u64 {
        self.state.lock().next - 1
    }

    /// Applies a transaction under `turn`: `latest` is the final value of
    /// each model it wrote, `created` the models it created in order; `op`
    /// and `events` are recorded with it. The writes are queued to the store
    /// before the turn is given up, so the store applies them in the same
    /// order.
    pub fn apply(
        &self,
        turn: Turn,
        writes: Vec<Write>,
        latest: Vec<(Key, Option<Arc<Model>>)>,
        created: Vec<Key>,
        op: Option<Recorded>,
        events: Option<Value>,
    ) -> Applying {
        let mut state = self.state.lock();
        let number = state.next;
        state.next += 1;
        let rank = turn.redo_of.unwrap_or(number);
        if let Some(replaced) = turn.redo_of
            && state.redo.remove(&replaced)
        {
            self.redone.notify_waiters();
        }
        if !state.may_apply(turn.redo_of) || turn.epoch != state.epoch {
            // Refusals came while the handler ran: older writes must run
            // again first, or what it read was refused. It runs again in
            // its place among them, unapplied.
            state.pending.insert(number, (rank, OUT_OF_TURN));
            state.redo.insert(rank);
            drop(state);
            drop(turn);
            return Applying {
                number,
                rank,
                epoch: OUT_OF_TURN,
                submitted: Box::pin(std::future::ready(Err(StoreError::Aborted))),
            };
        }
        state.pending.insert(number, (rank, turn.epoch));
        for (key, model) in latest {
            state.models.insert(key, (number, model));
        }
        for key in created {
            state.created.push((number, key));
        }
        let epoch = turn.epoch;
        let submitted = self.store.submit(Transaction {
            writes,
            epoch: Some(epoch),
            base: turn.base,
            op,
            events,
        });
        drop(state);
        drop(turn);
        Applying {
            number,
            rank,
            epoch,
            submitted,
        }
    }

    /// Waits until `applying` is durable (or refused), and takes it out of
    /// the overlay.
    pub async fn durable(&self, applying: Applying) -> Result<Commit, StoreError> {
        let Applying {
            number,
            rank,
            epoch,
            submitted,
        } = applying;
        let result = submitted.await;
        let mut state = self.state.lock();
        state.pending.remove(&number);
        match &result {
            Ok(_) => {
                state.models.retain(|_, (n, _)| *n != number);
                state.created.retain(|(n, _)| *n != number);
                // Counted among the refused of an epoch before its own
                // outcome was seen: it will not run again.
                if state.redo.remove(&rank) {
                    self.redone.notify_waiters();
                }
            }
            // Later transactions of its epoch may have read its writes: the
            // store refuses them too, and applying starts a new epoch
            // without them. (A refusal from an epoch already ended changes
            // nothing more.)
            Err(err) if epoch == state.epoch => {
                // The store has decided every transaction applied so far:
                // those before this one of its epoch are durable or refused
                // (requests see their outcomes in any order, so this may not
                // be the first refused), the rest are refused. All of the
                // epoch's that are still waiting run again, in order, unless
                // their outcome says durable; the durable ones are in the
                // store, so the overlay starts empty.
                let epoch_pending: Vec<u64> = state
                    .pending
                    .values()
                    .filter(|(_, e)| *e == epoch)
                    .map(|(r, _)| *r)
                    .collect();
                state.redo.insert(rank);
                state.redo.extend(epoch_pending);
                // Losing to another node's commit is routine in a cluster:
                // the writes run again.
                if matches!(err, crate::store::StoreError::Conflict) {
                    tracing::debug!(cause = %err, "a transaction lost to another node's commit; the writes applied after it run again too");
                } else {
                    tracing::warn!(cause = %err, "a transaction was refused; the writes applied after it are refused too");
                }
                state.models.clear();
                state.created.clear();
                state.epoch += 1;
            }
            Err(_) => {}
        }
        let done = state
            .pending
            .first_key_value()
            .map_or(state.next - 1, |(first, _)| first - 1);
        drop(state);
        self.finished.send_if_modified(|finished| {
            let moved = done > *finished;
            *finished = (*finished).max(done);
            moved
        });
        result
    }

    /// Waits until every transaction up to `number` has finished.
    pub async fn finished(&self, number: u64) {
        let mut finished = self.finished.subscribe();
        let _ = finished.wait_for(|done| *done >= number).await;
    }
}

#[cfg(test)]
mod tests;

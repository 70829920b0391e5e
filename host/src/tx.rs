//! One request's transaction: its writes, buffered until it is applied, and
//! the custom events it emits, sent only if it commits. It reads the tenant's
//! applied state, with its own writes over it.

use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use serde_json::Value;

use crate::applied::{Applied, Applying, Turn};
use crate::store::{Change, Model, Recorded, StoreError, Write, matches, merge};

/// A custom event a view emitted during a request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Emit {
    /// Who receives it.
    pub to: EmitTarget,
    /// Full event name, `<view>:<event>`.
    pub event: String,
    /// Payload.
    pub data: Value,
}

/// The receivers of an [`Emit`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmitTarget {
    /// One connection, by Socket.IO id.
    Connection(String),
    /// The list-subscribers of a view, except the requester.
    Subscribers(String),
}

/// Most writes one request may make: a view that loops over `create` must
/// not hold the writer, or every subscriber's send buffer, for long.
pub const MAX_WRITES: usize = 1000;

/// What a committed transaction did.
#[derive(Debug, Default)]
pub struct Committed {
    /// Its place in the store's commit order; `None` if it wrote nothing.
    pub seq: Option<u64>,
    /// One change per written model, shared with the pushes.
    pub changes: Arc<[Change]>,
    /// Custom events to send now.
    pub emits: Vec<Emit>,
}

/// The writes of one request, applied to the store together or not at all.
/// Reads through it see its own writes.
pub struct Tx {
    applied: Arc<Applied>,
    writes: Vec<Write>,
    /// The latest value of every model this transaction wrote; `None` once
    /// removed.
    overlay: HashMap<(String, String), Option<Arc<Model>>>,
    /// Ids created here, per collection, in creation order (for `list`).
    created: Vec<(String, String)>,
    emits: Vec<Emit>,
    /// The client operation it carries, with its answer.
    op: Option<Recorded>,
}

impl Tx {
    /// An empty transaction over a tenant's applied state.
    pub fn new(applied: Arc<Applied>) -> Self {
        Self {
            applied,
            writes: Vec::new(),
            overlay: HashMap::new(),
            created: Vec::new(),
            emits: Vec::new(),
            op: None,
        }
    }

    /// The model as this transaction sees it.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Option<Arc<Model>>, StoreError> {
        match self.overlay.get(&(collection.to_owned(), id.to_owned())) {
            Some(model) => Ok(model.clone()),
            None => self.applied.get(collection, id).await,
        }
    }

    /// Models of `collection` matching `filter`, in creation order, at most
    /// `limit` of them.
    pub async fn list(
        &self,
        collection: &str,
        filter: Option<&Model>,
        limit: Option<usize>,
    ) -> Result<Vec<Model>, StoreError> {
        let mut models = self.applied.list(collection).await?;
        if !self.overlay.is_empty() {
            models.retain_mut(|model| {
                let id = model.get("id").and_then(Value::as_str).unwrap_or_default();
                match self.overlay.get(&(collection.to_owned(), id.to_owned())) {
                    Some(Some(latest)) => {
                        Model::clone_into(latest, model);
                        true
                    }
                    Some(None) => false,
                    None => true,
                }
            });
            for (coll, id) in &self.created {
                if coll == collection
                    && let Some(Some(model)) = self.overlay.get(&(coll.clone(), id.clone()))
                {
                    models.push(Model::clone(model));
                }
            }
        }
        let mut models: Vec<Model> = match filter {
            Some(filter) => models.into_iter().filter(|m| matches(m, filter)).collect(),
            None => models,
        };
        if let Some(limit) = limit {
            models.truncate(limit);
        }
        Ok(models)
    }

    /// Adds a model built from `attributes` (any `id` among them replaced by a
    /// fresh one) and returns it.
    pub fn create(&mut self, collection: &str, mut attributes: Model) -> Result<Model, StoreError> {
        self.check_size()?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        attributes.insert("id".to_owned(), Value::String(id.clone()));
        self.writes.push(Write::Create {
            collection: collection.to_owned(),
            id: id.clone(),
            model: attributes.clone(),
        });
        let key = (collection.to_owned(), id);
        self.created.push(key.clone());
        self.overlay.insert(key, Some(Arc::new(attributes.clone())));
        Ok(attributes)
    }

    fn check_size(&self) -> Result<(), StoreError> {
        if self.writes.len() >= MAX_WRITES {
            return Err(StoreError::TooLarge(MAX_WRITES));
        }
        Ok(())
    }

    /// Merges `attributes` into the model and returns the result; `None` when
    /// there is no such model.
    pub async fn update(
        &mut self,
        collection: &str,
        id: &str,
        attributes: Model,
        only: Option<Vec<String>>,
    ) -> Result<Option<Arc<Model>>, StoreError> {
        self.check_size()?;
        let Some(before) = self.get(collection, id).await? else {
            return Ok(None);
        };
        let mut model = Arc::unwrap_or_clone(before);
        merge(&mut model, &attributes, only.as_deref());
        let model = Arc::new(model);
        self.writes.push(Write::Merge {
            collection: collection.to_owned(),
            id: id.to_owned(),
            attributes,
            only,
        });
        self.overlay.insert(
            (collection.to_owned(), id.to_owned()),
            Some(Arc::clone(&model)),
        );
        Ok(Some(model))
    }

    /// Removes the model; returns whether it existed.
    pub async fn remove(&mut self, collection: &str, id: &str) -> Result<bool, StoreError> {
        self.check_size()?;
        let existed = self.get(collection, id).await?.is_some();
        self.writes.push(Write::Remove {
            collection: collection.to_owned(),
            id: id.to_owned(),
        });
        self.overlay
            .insert((collection.to_owned(), id.to_owned()), None);
        Ok(existed)
    }

    /// Queues a custom event, sent after commit.
    pub fn emit(&mut self, emit: Emit) {
        self.emits.push(emit);
    }

    /// Records client operation `op` with the writes, so that a repeat is
    /// answered rather than applied again.
    pub fn record(&mut self, op: Recorded) {
        self.op = Some(op);
    }

    /// Whether it wrote anything.
    pub fn wrote(&self) -> bool {
        !self.writes.is_empty()
    }

    /// Applies every write under `turn`: later requests see them from now
    /// on. Durable once [`Pending::durable`] returns.
    pub fn apply(self, turn: Turn) -> Pending {
        let applying = if self.writes.is_empty() {
            drop(turn);
            None
        } else {
            let latest = self.overlay.into_iter().collect();
            // Kept in the commit log, for the nodes that push this commit.
            let events = (!self.emits.is_empty())
                .then(|| serde_json::to_value(&self.emits).ok())
                .flatten();
            Some(
                self.applied
                    .apply(turn, self.writes, latest, self.created, self.op, events),
            )
        };
        Pending {
            applied: self.applied,
            applying,
            emits: self.emits,
        }
    }
}

/// An applied transaction on its way to being durable.
pub struct Pending {
    applied: Arc<Applied>,
    applying: Option<Applying>,
    emits: Vec<Emit>,
}

impl Pending {
    /// The applied transaction's rank, if it wrote anything.
    pub fn rank(&self) -> Option<u64> {
        self.applying.as_ref().map(Applying::rank)
    }

    /// Waits until the writes are durable; on `Err` none of them is.
    pub async fn durable(self) -> Result<Committed, StoreError> {
        let commit = match self.applying {
            Some(applying) => self.applied.durable(applying).await?,
            None => Default::default(),
        };
        Ok(Committed {
            seq: commit.seq,
            changes: commit.changes.into(),
            emits: self.emits,
        })
    }
}

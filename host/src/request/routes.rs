//! The routes of one request: a built-in served natively, or the view's own
//! handler, each in one transaction. A route runs in two steps: `apply`
//! (its reads and writes take effect, in the connection's order and, for
//! writes, one request of the tenant at a time) and `finish` (once what it
//! wrote or read is durable, its answer).

use std::sync::Arc;

use serde_json::Value;

use super::data::{model_id, not_found, object, required_id};
use crate::broadcast::Origin;
use crate::client::Client;
use crate::render;
use crate::reply::Reply;
use crate::store::{Model, Recorded, StoreError};
use crate::subscription::{RoomChange, model_room, view_room};
use crate::tenant::Tenant;
use crate::tx::{Committed, Pending, Tx};
use crate::view::{CallError, FailReason, View};
use crate::wire::{ErrorCode, WireError};

/// A request being served.
pub(super) struct Request {
    pub tenant: Arc<Tenant>,
    pub client: Client,
    /// Where the commit is handed over for pushing; `None` pushes nothing.
    pub origin: Option<Origin>,
    pub view: Arc<View>,
    pub route: String,
    /// The key of the client operation it carries, if any.
    pub op: Option<String>,
    /// For a run again, the rank of the refused transaction it replaces.
    pub redo_of: Option<u64>,
}

/// Why a route did not finish with an answer to give.
pub(super) enum Failure {
    /// The answer: an error.
    Wire(WireError),
    /// Another node's commit came between its reads and its commit: run it
    /// again.
    Again,
    /// Its operation was applied already, by a request that ran at the same
    /// time: answer as that one did.
    Repeated,
}

impl From<WireError> for Failure {
    fn from(err: WireError) -> Self {
        Failure::Wire(err)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict | StoreError::Aborted => Failure::Again,
            StoreError::Repeated(_) => Failure::Repeated,
            other => Failure::Wire(other.into()),
        }
    }
}

/// A write's answer as kept for repeats of its operation.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kept {
    /// This result.
    Ready(Reply),
    /// The model with this id, as it is when asked.
    Current(String),
}

/// What the store keeps of an operation's answer.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptAnswer {
    answer: Kept,
    rooms: RoomChange,
}

/// What a route produced: the ack's result, the commit, and how the
/// connection's subscriptions change.
pub(super) struct Routed {
    pub result: Reply,
    pub committed: Committed,
    pub rooms: RoomChange,
}

/// A route that has applied: what remains is to wait for durability and
/// answer.
pub(super) struct Applied {
    /// Its transaction, if it may have written.
    pending: Option<Pending>,
    /// For a read, the last write applied when it read: the answer waits
    /// until that is durable, since it may show it.
    seen: Option<u64>,
    answer: Answer,
    rooms: RoomChange,
}

/// The ack's result, or how to make it once the write is durable.
enum Answer {
    Ready(Reply),
    /// The stored model with this id, as the client sees it.
    Stored(String),
    /// The model with this id as it is now, as the client sees it.
    Current(String),
}

impl Applied {
    /// An unsubscribe: nothing to wait for, `true` to answer.
    pub fn unsubscribed(rooms: RoomChange) -> Self {
        Self::new(None, None, Answer::Ready(Value::Bool(true).into()), rooms)
    }

    /// The answer a repeat of an operation gets, from what the store kept
    /// of its first answer; `None` if that cannot be read.
    pub fn repeat(recorded: &Recorded) -> Option<Self> {
        let KeptAnswer { answer, rooms } = serde_json::from_str(&recorded.answer).ok()?;
        let answer = match answer {
            Kept::Ready(value) => Answer::Ready(value),
            Kept::Current(id) => Answer::Current(id),
        };
        Some(Self::new(None, None, answer, rooms))
    }

    /// The rank of its applied transaction, if it wrote anything.
    pub fn rank(&self) -> Option<u64> {
        self.pending.as_ref().and_then(Pending::rank)
    }

    fn new(pending: Option<Pending>, seen: Option<u64>, answer: Answer, rooms: RoomChange) -> Self {
        Self {
            pending,
            seen,
            answer,
            rooms,
        }
    }
}

impl Request {
    fn collection(&self) -> &str {
        &self.view.spec().collection
    }

    /// The room of one model of this view.
    fn model_room(&self, id: &str) -> String {
        model_room(&self.view.spec().name, id)
    }

    fn fail(&self, err: &CallError) -> WireError {
        let name = &self.view.spec().name;
        if let CallError::Failed { reason, detail } = err {
            tracing::warn!(tenant = %self.tenant.name(), view = %name, route = %self.route, connection = %self.client.id, %reason, %detail, "view failed");
            self.tenant
                .activity()
                .failed(name, &self.route, &reason.to_string(), detail);
        }
        err.to_wire(name)
    }

    /// Runs the view's `handler` in the tenant's turn, and applies what it
    /// wrote.
    pub async fn custom(&self, handler: &str, data: Value) -> Result<Applied, WireError> {
        // serde_json's writer: its `Display` goes through `core::fmt`, and
        // printing a JSON value cannot fail.
        let text = serde_json::to_string(&data).unwrap_or_default();
        let turn = self.tenant.applied().turn(self.redo_of).await;
        let (result, tx) = self
            .view
            .handle(handler, &self.client, text, self.tenant.tx())
            .await
            .map_err(|e| self.fail(&e))?;
        // Sent as the view printed it: checked, not parsed and printed again.
        let result = Reply::from_text(result).map_err(|_| {
            self.fail(&CallError::Failed {
                reason: FailReason::Trap,
                detail: "handle returned text that is not JSON".into(),
            })
        })?;
        let rooms = match self.route.as_str() {
            "create" | "read" => match result.str_field("id") {
                Some(id) => RoomChange::Join(self.model_room(&id)),
                None => RoomChange::Keep,
            },
            "list" => RoomChange::Join(view_room(&self.view.spec().name)),
            _ => RoomChange::Keep,
        };
        let answer = Answer::Ready(result);
        let pending = self.apply(tx, turn, &answer, &rooms);
        Ok(Applied::new(Some(pending), None, answer, rooms))
    }

    /// Serves a built-in route natively.
    pub async fn built_in(&self, data: Value) -> Result<Applied, WireError> {
        match self.route.as_str() {
            "read" => {
                let tx = self.tenant.tx();
                let id = required_id(&data)?;
                let result = self.visible(&tx, &id).await?;
                // Taken after reading: every write the read may show was
                // applied by now.
                let seen = self.tenant.applied().applied();
                let rooms = RoomChange::Join(self.model_room(&id));
                Ok(Applied::new(None, Some(seen), Answer::Ready(result), rooms))
            }
            "list" => {
                let tx = self.tenant.tx();
                let models = tx
                    .list(self.collection(), None, None)
                    .await
                    .map_err(WireError::from)?;
                let seen = self.tenant.applied().applied();
                let mut rendered = Vec::with_capacity(models.len());
                for model in models {
                    if let Some(model) = self.render(&model).await? {
                        rendered.push(model);
                    }
                }
                let rooms = RoomChange::Join(view_room(&self.view.spec().name));
                Ok(Applied::new(
                    None,
                    Some(seen),
                    Answer::Ready(Reply::list(rendered)),
                    rooms,
                ))
            }
            "create" | "update" | "patch" | "delete" => self.write(data).await,
            // Custom routes always have handlers (checked at load).
            other => Err(WireError::forbidden(format!("no handler for {other}"))),
        }
    }

    /// A built-in write, in the tenant's turn.
    async fn write(&self, data: Value) -> Result<Applied, WireError> {
        let turn = self.tenant.applied().turn(self.redo_of).await;
        let mut tx = self.tenant.tx();
        let coll = self.collection().to_owned();
        match self.route.as_str() {
            "create" => {
                let mut model = self.view.spec().defaults.clone();
                model.extend(object(data)?);
                let model = tx.create(&coll, model).map_err(WireError::from)?;
                // Rendered before it applies: once a write is durable, the
                // request must not fail.
                let result = self.render_or_id(&model).await?;
                let rooms = RoomChange::Join(self.model_room(&model_id(&model)));
                let answer = Answer::Ready(result);
                let pending = self.apply(tx, turn, &answer, &rooms);
                Ok(Applied::new(Some(pending), None, answer, rooms))
            }
            "delete" => {
                let id = required_id(&data)?;
                // Already gone is success: the original client echoes the
                // deletes it is pushed.
                match self.visible(&tx, &id).await {
                    Ok(_) => {
                        tx.remove(&coll, &id).await.map_err(WireError::from)?;
                    }
                    Err(err) if err.code == ErrorCode::NotFound => {}
                    Err(err) => return Err(err),
                }
                let result = serde_json::json!({ "id": id });
                let rooms = RoomChange::Leave(self.model_room(&id));
                let answer = Answer::Ready(result.into());
                let pending = self.apply(tx, turn, &answer, &rooms);
                Ok(Applied::new(Some(pending), None, answer, rooms))
            }
            // update or patch
            _ => {
                let id = required_id(&data)?;
                if self.view.spec().render_per_client {
                    self.visible(&tx, &id).await?;
                }
                if tx
                    .update(&coll, &id, object(data)?, None)
                    .await
                    .map_err(WireError::from)?
                    .is_none()
                {
                    return Err(not_found(&id));
                }
                let answer = Answer::Stored(id);
                let pending = self.apply(tx, turn, &answer, &RoomChange::Keep);
                Ok(Applied::new(Some(pending), None, answer, RoomChange::Keep))
            }
        }
    }

    /// Applies `tx` under `turn`, recording the request's operation with
    /// what it will answer.
    fn apply(
        &self,
        mut tx: Tx,
        turn: crate::applied::Turn,
        answer: &Answer,
        rooms: &RoomChange,
    ) -> Pending {
        if let Some(key) = &self.op
            && tx.wrote()
        {
            let answer = match answer {
                Answer::Ready(value) => Kept::Ready(value.clone()),
                Answer::Stored(id) | Answer::Current(id) => Kept::Current(id.clone()),
            };
            let kept = KeptAnswer {
                answer,
                rooms: rooms.clone(),
            };
            if let Ok(answer) = serde_json::to_string(&kept) {
                tx.record(Recorded {
                    key: key.clone(),
                    answer,
                    seq: 0,
                });
            }
        }
        tx.apply(turn)
    }

    /// Waits until what the route wrote (or, for a read, saw) is durable,
    /// hands its commit over for pushing at once, and makes its answer.
    pub async fn finish(&self, applied: Applied) -> Result<Routed, Failure> {
        let Applied {
            pending,
            seen,
            answer,
            rooms,
        } = applied;
        if let Some(seen) = seen {
            self.tenant.applied().finished(seen).await;
        }
        let committed = match pending {
            Some(pending) => self.commit(pending).await?,
            None => Committed::default(),
        };
        let result = match answer {
            Answer::Ready(result) => result,
            Answer::Stored(id) => {
                let stored = committed
                    .changes
                    .iter()
                    .find(|c| c.id == id)
                    .and_then(|c| c.after.as_deref());
                match stored {
                    Some(stored) => self.render_committed(stored).await,
                    // Merging equal values changes nothing.
                    None => serde_json::json!({ "id": id }).into(),
                }
            }
            Answer::Current(id) => match self.tenant.tx().get(self.collection(), &id).await {
                Ok(Some(model)) => self.render_committed(&model).await,
                _ => serde_json::json!({ "id": id }).into(),
            },
        };
        Ok(Routed {
            result,
            committed,
            rooms,
        })
    }

    /// Waits until `pending` is durable and hands the commit over for
    /// pushing at once: later commits' pushes wait for it.
    async fn commit(&self, pending: Pending) -> Result<Committed, Failure> {
        let mut committed = pending.durable().await?;
        if let (Some(origin), Some(seq)) = (&self.origin, committed.seq) {
            // The changes are shared with the pushes; the custom events go
            // with them.
            let emits = std::mem::take(&mut committed.emits);
            origin.committed(seq, Arc::clone(&committed.changes), emits);
        }
        Ok(committed)
    }

    /// How this client sees the model, if it exists and is visible to it.
    async fn visible(&self, tx: &Tx, id: &str) -> Result<Reply, WireError> {
        let model = tx
            .get(self.collection(), id)
            .await
            .map_err(WireError::from)?
            .ok_or_else(|| not_found(id))?;
        match self.render(&model).await? {
            Some(rendered) => Ok(rendered),
            None => Err(not_found(id)),
        }
    }

    async fn render(&self, model: &Model) -> Result<Option<Reply>, WireError> {
        render::render(self.tenant.applied(), &self.view, &self.client, model)
            .await
            .map_err(|e| self.fail(&e))
    }

    /// How a model this request already committed looks to the client. The
    /// write is durable, so a failing render answers with the id alone
    /// rather than an error that would invite a retry.
    async fn render_committed(&self, model: &Model) -> Reply {
        match self.render_or_id(model).await {
            Ok(reply) => reply,
            Err(err) => {
                tracing::warn!(tenant = %self.tenant.name(), view = %self.view.spec().name, route = %self.route, connection = %self.client.id, code = %err.code, "render after a commit failed; answering with the id");
                serde_json::json!({ "id": model_id(model) }).into()
            }
        }
    }

    /// The model as this client sees it; just its id if the view hides it.
    async fn render_or_id(&self, model: &Model) -> Result<Reply, WireError> {
        Ok(match self.render(model).await? {
            Some(reply) => reply,
            None => serde_json::json!({ "id": model_id(model) }).into(),
        })
    }
}

//! The routes of one request: a built-in served natively, or the view's own
//! handler, each in one transaction.

use std::sync::Arc;

use serde_json::Value;

use super::data::{model_id, not_found, object, required_id};
use crate::broadcast::Origin;
use crate::client::Client;
use crate::render;
use crate::store::Model;
use crate::subscription::{RoomChange, model_room, view_room};
use crate::tenant::Tenant;
use crate::tx::{Committed, Tx};
use crate::view::{CallError, FailReason, View};
use crate::wire::{ErrorCode, WireError};

/// A request being served.
pub(super) struct Request<'a> {
    pub tenant: &'a Tenant,
    pub client: &'a Client,
    /// Where the commit is handed over for pushing; `None` pushes nothing.
    pub origin: Option<&'a Origin>,
    pub view: &'a Arc<View>,
    pub route: &'a str,
}

/// What a route produced: the ack's result, the commit, and how the
/// connection's subscriptions change.
pub(super) struct Routed {
    pub result: Value,
    pub committed: Committed,
    pub rooms: RoomChange,
}

impl Routed {
    fn new(result: Value, committed: Committed, rooms: RoomChange) -> Self {
        Self {
            result,
            committed,
            rooms,
        }
    }
}

impl Request<'_> {
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
            tracing::warn!(tenant = %self.tenant.name(), view = %name, route = self.route, connection = %self.client.id, %reason, %detail, "view failed");
            self.tenant
                .activity()
                .failed(name, self.route, &reason.to_string(), detail);
        }
        err.to_wire(name)
    }

    pub async fn custom(&self, handler: &str, data: Value) -> Result<Routed, WireError> {
        let text = data.to_string();
        let (result, tx) = self
            .view
            .handle(handler, self.client, &text, self.tenant.tx())
            .await
            .map_err(|e| self.fail(&e))?;
        let result: Value = serde_json::from_str(&result).map_err(|_| {
            self.fail(&CallError::Failed {
                reason: FailReason::Trap,
                detail: "handle returned text that is not JSON".into(),
            })
        })?;
        let committed = self.commit(tx).await?;
        let rooms = match self.route {
            "create" | "read" => match result.get("id").and_then(Value::as_str) {
                Some(id) => RoomChange::Join(self.model_room(id)),
                None => RoomChange::Keep,
            },
            "list" => RoomChange::Join(view_room(&self.view.spec().name)),
            _ => RoomChange::Keep,
        };
        Ok(Routed::new(result, committed, rooms))
    }

    pub async fn built_in(&self, data: Value) -> Result<Routed, WireError> {
        let mut tx = self.tenant.tx();
        let coll = self.collection().to_owned();
        match self.route {
            "create" => {
                let mut model = self.view.spec().defaults.clone();
                model.extend(object(data)?);
                let model = tx.create(&coll, model).map_err(WireError::from)?;
                // Rendered before the commit: once a write is durable, the
                // request must not fail.
                let result = self.render_or_id(&model).await?;
                let committed = self.commit(tx).await?;
                Ok(Routed::new(
                    result,
                    committed,
                    RoomChange::Join(self.model_room(&model_id(&model))),
                ))
            }
            "read" => {
                let id = required_id(&data)?;
                let result = self.visible(&tx, &id).await?;
                Ok(Routed::new(
                    result,
                    Committed::default(),
                    RoomChange::Join(self.model_room(&id)),
                ))
            }
            "update" | "patch" => {
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
                let committed = self.commit(tx).await?;
                let stored = committed
                    .changes
                    .iter()
                    .find(|c| c.id == id)
                    .and_then(|c| c.after.as_ref());
                let result = match stored {
                    Some(stored) => self.render_committed(stored).await,
                    // Merging equal values changes nothing.
                    None => serde_json::json!({ "id": id }),
                };
                Ok(Routed::new(result, committed, RoomChange::Keep))
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
                let committed = self.commit(tx).await?;
                let result = serde_json::json!({ "id": id });
                Ok(Routed::new(
                    result,
                    committed,
                    RoomChange::Leave(self.model_room(&id)),
                ))
            }
            "list" => {
                let models = tx.list(&coll, None, None).await.map_err(WireError::from)?;
                let mut rendered = Vec::with_capacity(models.len());
                for model in models {
                    if let Some(model) = self.render(&model).await? {
                        rendered.push(model);
                    }
                }
                Ok(Routed::new(
                    Value::Array(rendered),
                    Committed::default(),
                    RoomChange::Join(view_room(&self.view.spec().name)),
                ))
            }
            // Custom routes always have handlers (checked at load).
            other => Err(WireError::forbidden(format!("no handler for {other}"))),
        }
    }

    /// Commits `tx` and hands the commit over for pushing at once: later
    /// commits' pushes wait for it.
    async fn commit(&self, tx: Tx) -> Result<Committed, WireError> {
        let mut committed = tx.commit().await.map_err(WireError::from)?;
        if let (Some(origin), Some(seq)) = (self.origin, committed.seq) {
            // The changes are shared with the pushes; the custom events go
            // with them.
            let emits = std::mem::take(&mut committed.emits);
            origin.committed(seq, Arc::clone(&committed.changes), emits);
        }
        Ok(committed)
    }

    /// How this client sees the model, if it exists and is visible to it.
    async fn visible(&self, tx: &Tx, id: &str) -> Result<Value, WireError> {
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

    async fn render(&self, model: &Model) -> Result<Option<Value>, WireError> {
        render::render(self.tenant.store(), self.view, self.client, model)
            .await
            .map_err(|e| self.fail(&e))
    }

    /// How a model this request already committed looks to the client. The
    /// write is durable, so a failing render answers with the id alone
    /// rather than an error that would invite a retry.
    async fn render_committed(&self, model: &Model) -> Value {
        match self.render_or_id(model).await {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(view = %self.view.spec().name, code = %err.code, "render after a commit failed; answering with the id");
                serde_json::json!({ "id": model_id(model) })
            }
        }
    }

    /// The model as this client sees it; just its id if the view hides it.
    async fn render_or_id(&self, model: &Model) -> Result<Value, WireError> {
        Ok(match self.render(model).await? {
            Some(value) => value,
            None => serde_json::json!({ "id": model_id(model) }),
        })
    }
}

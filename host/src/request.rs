//! One client request, `<View>:<action>`: route check, native built-in or the
//! view's handler, one transaction, and what the connection subscribes to.

use std::sync::Arc;

use serde_json::Value;

use crate::broadcast::{Origin, Rooms, model_room, view_room};
use crate::client::Client;
use crate::store::{Model, Store, StoreError};
use crate::tenant::Tenant;
use crate::tx::{Committed, Tx};
use crate::view::{CallError, Plugin, normalize_route};
use crate::wire::WireError;

/// Longest id accepted from a client.
const MAX_ID: usize = 256;

/// What a successful request produced.
#[derive(Debug)]
pub struct Outcome {
    /// The view that served it.
    pub view: Arc<Plugin>,
    /// The ack's result.
    pub result: Value,
    /// What it wrote and emitted.
    pub committed: Committed,
    /// How the connection's subscriptions change.
    pub rooms: Rooms,
}

/// Serves `event` with `data` for `client` of `tenant`.
pub async fn run(
    tenant: &Tenant,
    client: &Client,
    origin: Option<&Origin>,
    event: &str,
    data: Value,
) -> Result<Outcome, WireError> {
    let Some((name, action)) = event.split_once(':') else {
        return Err(WireError::invalid(format!(
            "event {event:?} is not of the form <View>:<action>"
        )));
    };
    let view = tenant.catalog.get(name).ok_or_else(|| {
        WireError::new(
            crate::wire::ErrorCode::UnknownView,
            format!("no view named {name:?}"),
        )
    })?;
    let route = normalize_route(action);
    if route == "disconnect" {
        let rooms = match optional_id(&data)? {
            Some(id) => Rooms::Leave(model_room(name, &id)),
            None => Rooms::Leave(view_room(name)),
        };
        return Ok(Outcome {
            view,
            result: Value::Bool(true),
            committed: Committed::default(),
            rooms,
        });
    }
    if !view.spec().allows(route) {
        return Err(WireError::forbidden(format!(
            "view {name} does not allow {action}"
        )));
    }
    let request = Request {
        tenant,
        client,
        origin,
        view: &view,
        route,
    };
    let (result, committed, rooms) = match view.spec().handler_for(route) {
        Some(handler) => request.custom(handler, data).await?,
        None => request.built_in(data).await?,
    };
    Ok(Outcome {
        view,
        result,
        committed,
        rooms,
    })
}

struct Request<'a> {
    tenant: &'a Tenant,
    client: &'a Client,
    /// Where the commit is handed over for pushing; `None` pushes nothing.
    origin: Option<&'a Origin>,
    view: &'a Arc<Plugin>,
    route: &'a str,
}

type Served = (Value, Committed, Rooms);

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
            tracing::warn!(tenant = %self.tenant.name, view = %name, route = self.route, connection = %self.client.id, %reason, %detail, "view failed");
            self.tenant
                .activity
                .failed(name, self.route, &reason.to_string(), detail);
        }
        err.to_wire(name)
    }

    async fn custom(&self, handler: &str, data: Value) -> Result<Served, WireError> {
        let text = data.to_string();
        let (result, tx) = self
            .view
            .handle(handler, self.client, &text, self.tenant.tx())
            .await
            .map_err(|e| self.fail(&e))?;
        let result: Value = serde_json::from_str(&result).map_err(|_| {
            self.fail(&CallError::Failed {
                reason: crate::view::FailReason::Trap,
                detail: "handle returned text that is not JSON".into(),
            })
        })?;
        let committed = self.commit(tx).await?;
        let rooms = match self.route {
            "create" | "read" => match result.get("id").and_then(Value::as_str) {
                Some(id) => Rooms::Join(self.model_room(id)),
                None => Rooms::Keep,
            },
            "list" => Rooms::Join(view_room(&self.view.spec().name)),
            _ => Rooms::Keep,
        };
        Ok((result, committed, rooms))
    }

    async fn built_in(&self, data: Value) -> Result<Served, WireError> {
        let mut tx = self.tenant.tx();
        let coll = self.collection().to_owned();
        match self.route {
            "create" => {
                let mut model = self.view.spec().defaults.clone();
                model.extend(object(data)?);
                let model = tx.create(&coll, model).map_err(store_error)?;
                // Rendered before the commit: once a write is durable, the
                // request must not fail.
                let result = self.render_or_id(&model).await?;
                let committed = self.commit(tx).await?;
                Ok((
                    result,
                    committed,
                    Rooms::Join(self.model_room(&model_id(&model))),
                ))
            }
            "read" => {
                let id = required_id(&data)?;
                let result = self.visible(&tx, &id).await?;
                Ok((
                    result,
                    Committed::default(),
                    Rooms::Join(self.model_room(&id)),
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
                    .map_err(store_error)?
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
                Ok((result, committed, Rooms::Keep))
            }
            "delete" => {
                let id = required_id(&data)?;
                // Already gone is success: the original client echoes the
                // deletes it is pushed.
                match self.visible(&tx, &id).await {
                    Ok(_) => {
                        tx.remove(&coll, &id).await.map_err(store_error)?;
                    }
                    Err(err) if err.code == crate::wire::ErrorCode::NotFound => {}
                    Err(err) => return Err(err),
                }
                let committed = self.commit(tx).await?;
                let result = serde_json::json!({ "id": id });
                Ok((result, committed, Rooms::Leave(self.model_room(&id))))
            }
            "list" => {
                let models = tx.list(&coll, None, None).await.map_err(store_error)?;
                let mut rendered = Vec::with_capacity(models.len());
                for model in models {
                    if let Some(model) = self.render(&model).await? {
                        rendered.push(model);
                    }
                }
                Ok((
                    Value::Array(rendered),
                    Committed::default(),
                    Rooms::Join(view_room(&self.view.spec().name)),
                ))
            }
            // Custom routes always have handlers (checked at load).
            other => Err(WireError::forbidden(format!("no handler for {other}"))),
        }
    }

    /// Commits `tx` and hands the commit over for pushing at once: later
    /// commits' pushes wait for it.
    async fn commit(&self, tx: Tx) -> Result<Committed, WireError> {
        let mut committed = tx.commit().await.map_err(store_error)?;
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
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))?;
        match self.render(&model).await? {
            Some(rendered) => Ok(rendered),
            None => Err(not_found(id)),
        }
    }

    async fn render(&self, model: &Model) -> Result<Option<Value>, WireError> {
        render(&self.tenant.store, self.view, self.client, model)
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

/// `model` as `client` sees it through `view`: `None` when hidden.
pub async fn render(
    store: &Arc<dyn Store>,
    view: &Plugin,
    client: &Client,
    model: &Model,
) -> Result<Option<Value>, CallError> {
    if !view.spec().render_per_client {
        return Ok(Some(Value::Object(model.clone())));
    }
    // Printing a map of JSON values cannot fail.
    let text = serde_json::to_string(model).unwrap_or_default();
    render_text(store, view, client, text.into()).await
}

/// A model of a per-client view, as JSON `text`, as `client` sees it: a
/// push renders the same text for many audiences and prints it once.
pub async fn render_text(
    store: &Arc<dyn Store>,
    view: &Plugin,
    client: &Client,
    text: Arc<str>,
) -> Result<Option<Value>, CallError> {
    let rendered = view
        .render(client, text, Tx::new(Arc::clone(store)))
        .await?;
    match rendered {
        None => Ok(None),
        Some(text) => match serde_json::from_str(&text) {
            Ok(value) => Ok(Some(value)),
            Err(_) => Err(CallError::Failed {
                reason: crate::view::FailReason::Trap,
                detail: "render returned text that is not JSON".into(),
            }),
        },
    }
}

fn store_error(err: StoreError) -> WireError {
    match err {
        StoreError::NotFound { id, .. } => not_found(&id),
        StoreError::Quota(max) => WireError::limit(
            "stored_bytes",
            format!(
                "the tenant's store is full (it may hold {max} bytes); delete models to make room"
            ),
        ),
        other => {
            tracing::error!(cause = %other, "store failed");
            WireError::unavailable("the store is unavailable, try again")
        }
    }
}

fn not_found(id: &str) -> WireError {
    WireError::not_found(format!("no model with id {id:?}"))
}

fn model_id(model: &Model) -> String {
    model
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn object(data: Value) -> Result<Model, WireError> {
    match data {
        Value::Object(map) => Ok(map),
        other => Err(WireError::invalid(format!(
            "data must be a JSON object, not {}",
            kind(&other)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `id` of `data`: a non-empty string, or an integer taken as its decimal
/// text (ids round-trip through JavaScript).
fn optional_id(data: &Value) -> Result<Option<String>, WireError> {
    let Some(id) = data.as_object().and_then(|o| o.get("id")) else {
        return Ok(None);
    };
    let id = match id {
        Value::Null => return Ok(None),
        Value::String(s) if !s.is_empty() && s.len() <= MAX_ID => s.clone(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        other => {
            return Err(WireError::invalid(format!(
                "id must be a non-empty string of at most {MAX_ID} bytes, not {}",
                kind(other)
            )));
        }
    };
    Ok(Some(id))
}

fn required_id(data: &Value) -> Result<String, WireError> {
    if !data.is_object() {
        return Err(WireError::invalid(format!(
            "data must be a JSON object with an id, not {}",
            kind(data)
        )));
    }
    optional_id(data)?.ok_or_else(|| WireError::invalid("data has no id"))
}

/// The room a request subscribes to, when it can be known before the request
/// runs: a built-in `read` (the model) or `list` (the view). Joining before
/// reading means no change its answer lacks is missed.
pub fn room_before(event: &str, data: &Value) -> Option<String> {
    let (view, action) = event.split_once(':')?;
    match normalize_route(action) {
        "list" => Some(view_room(view)),
        "read" => optional_id(data)
            .ok()
            .flatten()
            .map(|id| model_room(view, &id)),
        _ => None,
    }
}

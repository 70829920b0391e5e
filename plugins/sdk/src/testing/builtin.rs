//! The built-in routes a view does not handle itself. The host runs them
//! natively, outside the view; this is a small copy of what it does (same
//! answers and error codes for the same data), without the subscriptions and
//! pushes that only exist on the wire.

use serde_json::{Map, Value, json};

use super::state::Tx;
use crate::{Action, Client, Collection, Error, ErrorCode, Result, View, collection};

/// Longest id the host accepts from a client.
const MAX_ID: usize = 256;

/// Serves `action` natively for `client`, in one transaction.
pub(super) fn run(view: &View, action: &Action, client: &Client, data: Value) -> Result<Value> {
    let models = collection(view.collection_name());
    let tx = Tx::begin(view.name(), true);
    let result = match action {
        Action::Create => {
            let mut model = view.defaults_map().clone();
            model.extend(object(data)?);
            let model = models.create(&Value::Object(model))?;
            render_or_id(view, client, model)
        }
        Action::Read => visible(view, client, &models, &required_id(&data)?)?,
        Action::Update | Action::Patch => {
            let id = required_id(&data)?;
            if view.renders_per_client() {
                visible(view, client, &models, &id)?;
            }
            let attributes = object(data)?;
            let before = models.get(&id)?.ok_or_else(|| not_found(&id))?;
            let stored = models.update(&id, &Value::Object(attributes), None)?;
            // As halo: merging equal values changes nothing and answers
            // only the id.
            if before == stored {
                json!({ "id": id })
            } else {
                render_or_id(view, client, stored)
            }
        }
        Action::Delete => {
            let id = required_id(&data)?;
            // Already gone is success: the original client echoes the
            // deletes it is pushed.
            match visible(view, client, &models, &id) {
                Ok(_) => {
                    models.remove(&id)?;
                }
                Err(err) if err.code() == ErrorCode::NotFound => {}
                Err(err) => return Err(err),
            }
            json!({ "id": id })
        }
        Action::List => Value::Array(
            models
                .list(None, None)?
                .into_iter()
                .filter_map(|model| super::render(view, client, model))
                .collect(),
        ),
        // The host refuses to load a view with a custom route but no handler.
        Action::Custom(name) => {
            return Err(Error::forbidden(format!(
                "custom route {name:?} has no handler: halo would refuse to load this view"
            )));
        }
    };
    tx.commit();
    Ok(result)
}

/// The model as `client` sees it, if it exists and is not hidden from it.
fn visible(view: &View, client: &Client, models: &Collection, id: &str) -> Result<Value> {
    models
        .get(id)?
        .and_then(|model| super::render(view, client, model))
        .ok_or_else(|| not_found(id))
}

/// The model as `client` sees it; just its id when the view hides it.
fn render_or_id(view: &View, client: &Client, model: Value) -> Value {
    let id = model.get("id").cloned().unwrap_or(Value::Null);
    super::render(view, client, model).unwrap_or_else(|| json!({ "id": id }))
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("no model with id {id:?}"))
}

fn object(data: Value) -> Result<Map<String, Value>> {
    match data {
        Value::Object(map) => Ok(map),
        other => Err(Error::invalid(format!(
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

/// The `id` of `data`: a non-empty string, or an integer as its decimal text.
fn required_id(data: &Value) -> Result<String> {
    let Value::Object(fields) = data else {
        return Err(Error::invalid(format!(
            "data must be a JSON object with an id, not {}",
            kind(data)
        )));
    };
    match fields.get("id") {
        None | Some(Value::Null) => Err(Error::invalid("data has no id")),
        Some(Value::String(id)) if !id.is_empty() && id.len() <= MAX_ID => Ok(id.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(other) => Err(Error::invalid(format!(
            "id must be a non-empty string of at most {MAX_ID} bytes, not {}",
            kind(other)
        ))),
    }
}

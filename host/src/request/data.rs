//! What a client sends as a request's data: ids and attribute objects,
//! checked, with clear errors.

use serde_json::Value;

use crate::store::Model;
use crate::wire::WireError;

/// Longest id accepted from a client.
const MAX_ID: usize = 256;

pub(super) fn not_found(id: &str) -> WireError {
    WireError::not_found(format!("no model with id {id:?}"))
}

pub(super) fn model_id(model: &Model) -> String {
    model
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub(super) fn object(data: Value) -> Result<Model, WireError> {
    match data {
        Value::Object(map) => Ok(map),
        other => Err(WireError::invalid(format!(
            "data must be a JSON object, not {}",
            kind(&other)
        ))),
    }
}

pub(super) fn kind(value: &Value) -> &'static str {
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
pub(super) fn optional_id(data: &Value) -> Result<Option<String>, WireError> {
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

pub(super) fn required_id(data: &Value) -> Result<String, WireError> {
    if !data.is_object() {
        return Err(WireError::invalid(format!(
            "data must be a JSON object with an id, not {}",
            kind(data)
        )));
    }
    optional_id(data)?.ok_or_else(|| WireError::invalid("data has no id"))
}

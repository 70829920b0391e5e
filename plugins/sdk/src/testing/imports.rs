//! The host's imports, faked in memory: the same functions, with the same
//! signatures, as the `collections`, `events` and `log` bindings, which off
//! wasm are unreachable stubs. `collection`, `events` and `log` call these
//! natively, so a view's code runs unchanged in a `cargo test`.
//!
//! They check what the host checks (collection and event names, JSON, the
//! per-call caps, no writes in `render` or `connect`) with the same error
//! codes.

use serde_json::Value;

use super::state::{self, Call, Model, State};
use crate::bindings::halo::view::types::{Error, ErrorCode};

/// Most writes one call may make, as in the host.
const MAX_WRITES: usize = 1000;
/// Most custom events one call may emit, as in the host.
const MAX_EMITS: usize = 100;
/// Most JSON one call may write, as in the host.
const MAX_WRITE_BYTES: usize = 16 << 20;

fn error(code: ErrorCode, message: impl Into<String>) -> Error {
    Error {
        code,
        message: message.into(),
    }
}

fn check_collection(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 128 {
        return Err(error(
            ErrorCode::Invalid,
            "collection names are 1 to 128 characters",
        ));
    }
    Ok(())
}

fn object(text: &str, what: &str) -> Result<Model, Error> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(
            ErrorCode::Invalid,
            format!("{what} is not a JSON object"),
        )),
    }
}

fn to_text(model: &Model) -> String {
    // Serializing a map of JSON values cannot fail.
    serde_json::to_string(model).unwrap_or_default()
}

/// The call in progress, after checking it may write `bytes` more of JSON;
/// `None` outside a call (a test's own setup), where anything goes.
fn writing(state: &mut State, bytes: usize) -> Result<Option<&mut Call>, Error> {
    let Some(call) = state.call() else {
        return Ok(None);
    };
    if !call.writable() {
        return Err(error(
            ErrorCode::Forbidden,
            "writes are only allowed in handle",
        ));
    }
    call.bytes += bytes;
    if call.bytes > MAX_WRITE_BYTES {
        return Err(error(
            ErrorCode::Invalid,
            format!("a call may write at most {MAX_WRITE_BYTES} bytes of JSON"),
        ));
    }
    Ok(Some(call))
}

/// Accounts for a create, update or remove of `bytes` of JSON.
fn count_write(state: &mut State, bytes: usize) -> Result<(), Error> {
    if let Some(call) = writing(state, bytes)? {
        if call.writes >= MAX_WRITES {
            return Err(error(
                ErrorCode::Invalid,
                format!("a transaction may write at most {MAX_WRITES} times"),
            ));
        }
        call.writes += 1;
    }
    Ok(())
}

/// Accounts for an event of `bytes` of JSON.
fn count_emit(state: &mut State, bytes: usize) -> Result<(), Error> {
    if let Some(call) = writing(state, bytes)? {
        call.emitted += 1;
        if call.emitted > MAX_EMITS {
            return Err(error(
                ErrorCode::Invalid,
                format!("a call may emit at most {MAX_EMITS} events"),
            ));
        }
    }
    Ok(())
}

/// The `collections` import.
pub(crate) mod collections {
    use super::*;

    /// The model `id` of `collection` as JSON text.
    pub(crate) fn get(collection: &str, id: &str) -> Result<Option<String>, Error> {
        check_collection(collection)?;
        Ok(state::with(|state| state.get(collection, id).map(to_text)))
    }

    /// Models of `collection` in creation order that match `filter`, at
    /// most `limit` of them.
    pub(crate) fn list(
        collection: &str,
        filter: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        check_collection(collection)?;
        let filter = filter.map(|f| object(f, "filter")).transpose()?;
        let limit = limit.map_or(usize::MAX, |l| l as usize);
        Ok(state::with(|state| {
            state
                .collections
                .get(collection)
                .into_iter()
                .flatten()
                .filter(|model| {
                    filter.as_ref().is_none_or(|filter| {
                        filter
                            .iter()
                            .all(|(key, value)| model.get(key) == Some(value))
                    })
                })
                .take(limit)
                .map(to_text)
                .collect()
        }))
    }

    /// Stores `model` under a fresh id (any `id` in it is replaced).
    pub(crate) fn create(collection: &str, model: &str) -> Result<String, Error> {
        check_collection(collection)?;
        let size = model.len();
        let mut model = object(model, "model")?;
        state::with(|state| {
            count_write(state, size)?;
            let id = state.new_id();
            model.insert("id".to_owned(), Value::String(id));
            state.push(collection, model.clone());
            Ok(to_text(&model))
        })
    }

    /// Merges `attributes` into the model `id`, never its `id` and, with
    /// `only`, nothing outside it.
    pub(crate) fn update(
        collection: &str,
        id: &str,
        attributes: &str,
        only: Option<&[String]>,
    ) -> Result<String, Error> {
        check_collection(collection)?;
        let size = attributes.len();
        let attributes = object(attributes, "attributes")?;
        state::with(|state| {
            count_write(state, size)?;
            let Some(model) = state.get_mut(collection, id) else {
                return Err(error(
                    ErrorCode::NotFound,
                    format!("no model {id:?} in {collection:?}"),
                ));
            };
            for (key, value) in attributes {
                if key == "id" || only.is_some_and(|only| !only.contains(&key)) {
                    continue;
                }
                model.insert(key, value);
            }
            Ok(to_text(model))
        })
    }

    /// Deletes the model `id`; whether it existed.
    pub(crate) fn remove(collection: &str, id: &str) -> Result<bool, Error> {
        check_collection(collection)?;
        state::with(|state| {
            count_write(state, id.len())?;
            Ok(state.remove(collection, id))
        })
    }
}

/// The `events` import.
pub(crate) mod events {
    use super::*;
    use crate::testing::{Event, To};

    fn check_event(event: &str) -> Result<(), Error> {
        if event.is_empty() || event.len() > 64 || event.contains(':') || event.contains('/') {
            return Err(error(
                ErrorCode::Invalid,
                "event names are 1 to 64 characters without ':' or '/'",
            ));
        }
        Ok(())
    }

    /// Queues `<view>:<event>` for the call's commit; sends it at once
    /// outside a call, named just `event`.
    fn emit(to: To, event: &str, data: &str) -> Result<(), Error> {
        check_event(event)?;
        let size = data.len();
        let data: Value = serde_json::from_str(data)
            .map_err(|_| error(ErrorCode::Invalid, "event data is not JSON"))?;
        state::with(|state| {
            count_emit(state, size)?;
            let (name, queue) = match state.calls.last_mut() {
                Some(call) => (format!("{}:{event}", call.view), &mut call.events),
                None => (event.to_owned(), &mut state.events),
            };
            queue.push(Event { to, name, data });
            Ok(())
        })
    }

    /// Sends to one connection.
    pub(crate) fn to_client(connection: &str, event: &str, data: &str) -> Result<(), Error> {
        emit(To::Client(connection.to_owned()), event, data)
    }

    /// Sends to the view's subscribers.
    pub(crate) fn to_subscribers(event: &str, data: &str) -> Result<(), Error> {
        emit(To::Subscribers, event, data)
    }
}

/// The `log` import.
pub(crate) mod log {
    pub(crate) use crate::bindings::halo::view::log::Level;
    use crate::log::Level as SdkLevel;
    use crate::testing::LogLine;

    /// Records one line, kept whether or not the call commits, and prints
    /// it so a failing test shows it.
    pub(crate) fn write(level: Level, message: &str) {
        let level = match level {
            Level::Trace => SdkLevel::Trace,
            Level::Debug => SdkLevel::Debug,
            Level::Info => SdkLevel::Info,
            Level::Warn => SdkLevel::Warn,
            Level::Error => SdkLevel::Error,
        };
        eprintln!("[halo log {level:?}] {message}");
        super::state::with(|state| {
            state.logs.push(LogLine {
                level,
                message: message.to_owned(),
            });
        });
    }
}

//! Unit-test a view with `cargo test`, natively, against an in-memory host.
//!
//! Off wasm, the SDK's [`collection`](crate::collection()), [`events`](crate::events)
//! and [`log`](crate::log) calls go to a fake host kept in memory, one per
//! thread: the test harness runs each `#[test]` on a fresh thread, so every
//! test starts empty and tests never share data. This module seeds and
//! inspects it and calls a view the way halo would:
//!
//! * [`call`]: one client's `<View>:<action>` request, answered with what
//!   that client's ack would carry. The route must be allowed; the view's
//!   handler runs if it has one for the action (`patch` falls back to the
//!   `update` handler), otherwise the built-in `create`, `read`, `update`,
//!   `patch`, `delete` or `list` runs as the host would run it natively.
//!   All writes of the call are one transaction: kept when it succeeds,
//!   discarded when it fails (or panics), and its events are sent only if
//!   it succeeds.
//! * [`render`] and [`connect`]: the view's per-client render and connection
//!   check. Like in the host, they may read but not write.
//! * [`insert`], [`seed`], [`models`], [`model`]: set up and inspect
//!   collections directly, bypassing any view.
//! * [`events`], [`take_events`], [`logs`]: what was sent and logged.
//! * [`reset`]: start over on this thread.
//!
//! The fake follows the host's documented semantics: ids are assigned on
//! create and shaped like the host's (32 hex digits of a UUIDv7; here from a
//! counter, so they repeat from run to run); `list` returns models in
//! creation order, filtered by equality and limited; `update` merges and
//! never changes `id`; `remove` tells whether the model existed; the host's
//! per-call caps and name checks apply. What it does not model is the wire:
//! subscriptions, pushes of changed models, other connections, tenants.
//! Collection calls made outside [`call`] (in a test's own code) apply at
//! once, and events sent outside one are named without the view's prefix.
//!
//! ```
//! use halo_sdk::prelude::*;
//! use halo_sdk::testing;
//!
//! fn todos() -> View {
//!     View::new("Todos")
//!         .defaults(json!({ "title": "", "done": false }))
//!         .routes([Create, Read, List])
//!         .on("finish", |req| {
//!             let todo = req.collection().update(req.id()?, &json!({ "done": true }), None)?;
//!             events::to_subscribers("finished", &todo)?;
//!             req.render(todo)
//!         })
//! }
//!
//! let alice = Client::new("c1", "", json!({ "user": "alice" }));
//! // The built-in create: defaults applied, an id assigned.
//! let todo = testing::call(&todos(), Create, &alice, json!({ "title": "milk" }))?;
//! assert_eq!(todo["done"], false);
//! // The custom handler, as `socket.emit("Todos:finish", {id})` runs it.
//! let done = testing::call(&todos(), "finish", &alice, json!({ "id": todo["id"] }))?;
//! assert_eq!(done["done"], true);
//! assert_eq!(testing::models("Todos"), [done.clone()]);
//! assert_eq!(testing::events()[0].name, "Todos:finished");
//! // Routes the view does not allow are refused before it is called.
//! let refused = testing::call(&todos(), Update, &alice, done);
//! assert_eq!(refused.map_err(|e| e.code()), Err(ErrorCode::Forbidden));
//! # Ok::<(), halo_sdk::Error>(())
//! ```

mod builtin;
pub(crate) mod imports;
mod state;

use serde_json::Value;

use self::state::{Tx, id_of, with};
use crate::bindings::Client as WitClient;
use crate::log::Level;
use crate::{Action, Client, Error, Result, View};

/// A custom event a view sent, as its receivers get it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Who receives it.
    pub to: To,
    /// The event name on the wire, `<view>:<event>` (just `<event>` when
    /// sent outside [`call`]).
    pub name: String,
    /// The payload.
    pub data: Value,
}

/// The receivers of an [`Event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum To {
    /// One connection, by id: [`events::to_client`](crate::events::to_client).
    Client(String),
    /// Every connection subscribed to the view except the requester:
    /// [`events::to_subscribers`](crate::events::to_subscribers).
    Subscribers,
}

/// A line a view wrote to the host's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Its severity.
    pub level: Level,
    /// Its text.
    pub message: String,
}

/// Empties this thread's fake host: collections, events, log lines, and the
/// id counter, so ids start over too.
pub fn reset() {
    with(|state| *state = state::State::default());
}

/// Calls `view` as halo does when `client` emits `<View>:<action>` with
/// `data`, and returns what the client's ack would carry: the result, or the
/// error as `{code, message}`.
///
/// `disconnect` answers `true`; a route the view does not allow is
/// `forbidden`; an action with a handler runs it, one without runs the
/// host's built-in. The call's writes are kept only if it succeeds, and its
/// events are sent only then.
pub fn call(view: &View, action: impl Into<Action>, client: &Client, data: Value) -> Result<Value> {
    let action = action.into();
    if action.as_str() == "disconnect" {
        return Ok(Value::Bool(true));
    }
    if !view.allowed_routes().contains(&action) {
        return Err(Error::forbidden(format!(
            "view {} does not allow {action}",
            view.name()
        )));
    }
    match handler_for(view, &action) {
        Some(handler) => handle(view, handler, client, &data),
        None => builtin::run(view, &action, client, data),
    }
}

/// Which handler the host would ask the view to run for `action`: its own,
/// or for `patch` the `update` handler; `None` runs the built-in.
fn handler_for(view: &View, action: &Action) -> Option<Action> {
    let has = |wanted: &Action| view.handler_names().any(|a| a == wanted);
    if has(action) {
        Some(action.clone())
    } else if *action == Action::Patch && has(&Action::Update) {
        Some(Action::Update)
    } else {
        None
    }
}

/// Runs the view's `handle` export in one transaction, data and result
/// crossing as JSON text as they do in the host.
fn handle(view: &View, action: Action, client: &Client, data: &Value) -> Result<Value> {
    let tx = Tx::begin(view.name(), true);
    let text = crate::export::handle(view, action.to_string(), wit(client), data.to_string())?;
    let result = serde_json::from_str(&text)
        .map_err(|_| Error::unavailable("handle returned text that is not JSON"))?;
    tx.commit();
    Ok(result)
}

/// How `model` looks to `client` through `view`: `None` when the view hides
/// it, the model unchanged when the view does not render per client. Like
/// in the host, the render function may read collections but not write.
pub fn render(view: &View, client: &Client, model: Value) -> Option<Value> {
    if !view.renders_per_client() {
        return Some(model);
    }
    let _read_only = Tx::begin(view.name(), false);
    view.render_for(client, model)
}

/// Whether `view` admits the new connection `client`, as halo asks it on
/// every connection when the view has a [`connect`](View::connect) check.
/// Like in the host, the check may read collections but not write.
pub fn connect(view: &View, client: &Client) -> Result<()> {
    let _read_only = Tx::begin(view.name(), false);
    Ok(crate::export::connect(view, wit(client))?)
}

/// Stores `model` in `collection` directly, as test data, and returns it as
/// stored. It keeps an `id` that is a non-empty string (replacing a model
/// with that id); otherwise it gets a fresh id.
///
/// # Panics
///
/// When `model` is not a JSON object: test data that no view could store.
#[track_caller]
pub fn insert(collection: &str, model: Value) -> Value {
    let Value::Object(mut model) = model else {
        panic!("testing::insert({collection:?}, …): a model must be a JSON object, not {model}");
    };
    with(|state| {
        let id = match id_of(&model) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => state.new_id(),
        };
        model.insert("id".to_owned(), Value::String(id.clone()));
        match state.get_mut(collection, &id) {
            Some(stored) => stored.clone_from(&model),
            None => state.push(collection, model.clone()),
        }
        Value::Object(model)
    })
}

/// Stores each of `models` with [`insert`]; returns them as stored.
///
/// # Panics
///
/// When one of them is not a JSON object.
#[track_caller]
pub fn seed(collection: &str, models: impl IntoIterator<Item = Value>) -> Vec<Value> {
    models
        .into_iter()
        .map(|model| insert(collection, model))
        .collect()
}

/// The models of `collection`, in creation order.
pub fn models(collection: &str) -> Vec<Value> {
    with(|state| {
        state
            .collections
            .get(collection)
            .into_iter()
            .flatten()
            .cloned()
            .map(Value::Object)
            .collect()
    })
}

/// The model `id` of `collection`, if there is one.
pub fn model(collection: &str, id: &str) -> Option<Value> {
    with(|state| state.get(collection, id).cloned().map(Value::Object))
}

/// The events sent so far, oldest first: those of calls that succeeded, and
/// those sent outside a call.
pub fn events() -> Vec<Event> {
    with(|state| state.events.clone())
}

/// Like [`events`], and forgets them, so the next call's come alone.
pub fn take_events() -> Vec<Event> {
    with(|state| std::mem::take(&mut state.events))
}

/// The lines written to the log so far, oldest first, including those of
/// calls that failed (as in the host's log).
pub fn logs() -> Vec<LogLine> {
    with(|state| state.logs.clone())
}

/// The client as the WIT bindings carry it.
fn wit(client: &Client) -> WitClient {
    WitClient {
        id: client.id().to_owned(),
        tenant: client.tenant().to_owned(),
        claims: client.claims().to_string(),
    }
}

#[cfg(test)]
mod tests;

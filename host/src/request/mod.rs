//! One client request, `<View>:<action>`, read top to bottom: its operation
//! id, its place in the connection's order, the route (a native built-in or
//! the view's handler) in one transaction, and its answer, released by the
//! tenant's broadcaster after the pushes it must follow.
//!
//! * `routes`: the built-in routes and custom handlers.
//! * `data`: ids and attribute objects from the client, checked.

mod data;
mod routes;

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::broadcast::{Ack, Answer, Link, Origin};
use crate::client::Client;
use crate::event::Event;
use crate::ops::{self, Claim, Remembered};
use crate::subscription::{RoomChange, model_room, view_room};
use crate::tenant::Tenant;
use crate::tx::Committed;
use crate::view::View;
use crate::wire::{ErrorCode, WireError};
use routes::{Request, Routed};

/// What a successful request produced.
#[derive(Debug)]
pub struct Outcome {
    /// The view that served it.
    pub view: Arc<View>,
    /// The ack's result.
    pub result: Value,
    /// What it wrote and emitted.
    pub committed: Committed,
    /// How the connection's subscriptions change.
    pub rooms: RoomChange,
}

/// Serves event `name` with `data` from `client` on `link`, and acks it
/// through the tenant's broadcaster in its place among the pushes. Returns
/// the error code it was answered with, if any.
pub async fn serve(
    tenant: &Tenant,
    link: Arc<dyn Link>,
    client: &Client,
    name: &str,
    data: Option<Value>,
    ack: Box<dyn Ack>,
) -> Option<ErrorCode> {
    // No data at all (`emit("V:list", ack)`) reads as null; each route says
    // whether null will do.
    let mut data = data.unwrap_or(Value::Null);
    let op = match ops::take_op(&mut data) {
        Ok(op) => op,
        Err(err) => {
            let code = err.code;
            ack.send(&Err(err));
            return Some(code);
        }
    };
    // Reads are answered afresh; their id is only dropped.
    let writes = Event::parse(name).map_or(true, |event| !event.is_read());
    let first = match op.filter(|_| writes) {
        None => None,
        Some(op) => match tenant.ops().claim(&ops::key(&client.claims, name, &op)) {
            Claim::First(first) => Some(first),
            Claim::Repeat(pending) => {
                // Answered as the first time, in this connection's place
                // among its pushes, after the pushes of its commit and those
                // before it; nothing is applied again.
                let origin = tenant.broadcaster().start_request(&link, None);
                let remembered = ops::answer_of(pending).await;
                drop(origin);
                tracing::debug!(connection = %client.id, event = name, "repeated operation answered again");
                let code = remembered.reply.as_ref().err().map(|err| err.code);
                end(tenant, link, remembered, Vec::new(), ack).await;
                return code;
            }
        },
    };
    let origin = tenant
        .broadcaster()
        .start_request(&link, room_before(name, &data));
    let outcome = run(tenant, client, Some(&origin), name, data).await;
    let (remembered, emits) = match outcome {
        // A commit's custom events went with its pushes; these are a
        // request's that wrote nothing.
        Ok(outcome) => (
            Remembered {
                reply: Ok(outcome.result),
                rooms: outcome.rooms,
                commit: outcome.committed.seq,
            },
            outcome.committed.emits,
        ),
        Err(err) => {
            tracing::debug!(connection = %client.id, event = name, code = %err.code, message = %err.message, "request refused");
            (
                Remembered {
                    reply: Err(err),
                    rooms: RoomChange::Keep,
                    commit: None,
                },
                Vec::new(),
            )
        }
    };
    if let Some(first) = first {
        first.finish(remembered.clone());
    }
    let code = remembered.reply.as_ref().err().map(|err| err.code);
    end(tenant, link, remembered, emits, ack).await;
    code
}

/// Hands a request's answer to the broadcaster and waits until the ack is on
/// its way: the connection's next request waits for it, so acks keep their
/// order.
async fn end(
    tenant: &Tenant,
    link: Arc<dyn Link>,
    remembered: Remembered,
    emits: Vec<crate::tx::Emit>,
    ack: Box<dyn Ack>,
) {
    let (sent, done) = oneshot::channel();
    let answer = Answer {
        link,
        reply: remembered.reply,
        ack,
        rooms: remembered.rooms,
        emits,
        sent,
    };
    tenant.broadcaster().end(remembered.commit, answer);
    let _ = done.await;
}

/// Runs event `name` with `data` for `client` of `tenant`: the route check,
/// then the built-in or the view's handler. Its commit, if it writes, is
/// handed to `origin` for pushing the moment it is durable.
pub async fn run(
    tenant: &Tenant,
    client: &Client,
    origin: Option<&Origin>,
    name: &str,
    data: Value,
) -> Result<Outcome, WireError> {
    let event = Event::parse(name)?;
    let view = tenant.catalog().get(event.view).ok_or_else(|| {
        WireError::new(
            ErrorCode::UnknownView,
            format!("no view named {:?}", event.view),
        )
    })?;
    if event.is_unsubscribe() {
        let rooms = match data::optional_id(&data)? {
            Some(id) => RoomChange::Leave(model_room(event.view, &id)),
            None => RoomChange::Leave(view_room(event.view)),
        };
        return Ok(Outcome {
            view,
            result: Value::Bool(true),
            committed: Committed::default(),
            rooms,
        });
    }
    if !view.spec().allows(event.route) {
        return Err(WireError::forbidden(format!(
            "view {} does not allow {}",
            event.view, event.action
        )));
    }
    let request = Request {
        tenant,
        client,
        origin,
        view: &view,
        route: event.route,
    };
    let Routed {
        result,
        committed,
        rooms,
    } = match view.spec().handler_for(event.route) {
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

/// The room a request subscribes to, when it can be known before the request
/// runs: a built-in `read` (the model) or `list` (the view). Joining before
/// reading means no change its answer lacks is missed.
fn room_before(name: &str, data: &Value) -> Option<String> {
    let event = Event::parse(name).ok()?;
    match event.route {
        "list" => Some(view_room(event.view)),
        "read" => data::optional_id(data)
            .ok()
            .flatten()
            .map(|id| model_room(event.view, &id)),
        _ => None,
    }
}

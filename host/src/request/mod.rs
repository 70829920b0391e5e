//! One client request, `<View>:<action>`, read top to bottom: its place in
//! the connection's order, its operation id, the route (a native built-in or
//! the view's handler) in one transaction, and its answer, released by the
//! tenant's broadcaster after the pushes it must follow.
//!
//! A request runs in two steps. [`serve`] applies it (in the connection's
//! arrival order; writes one at a time per tenant) and returns the rest:
//! waiting until what it wrote or saw is durable, then answering. The
//! connection's next request starts as soon as this one has applied.
//!
//! * `routes`: the built-in routes and custom handlers.
//! * `again`: running a write again that lost to another node's commit.
//! * `data`: ids and attribute objects from the client, checked.

mod again;
mod data;
mod routes;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::broadcast::{Ack, Answer, Link, Origin};
use crate::client::Client;
use crate::event::Event;
use crate::ops::{self, Claim, Remembered};
use crate::store::Recorded;
use crate::subscription::{RoomChange, model_room, view_room};
use crate::tenant::Tenant;
use crate::tx::{Committed, Emit};
use crate::view::View;
use crate::wire::{ErrorCode, WireError};
use routes::{Failure, Request, Routed};

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

/// The rest of a request once it has applied: it resolves, with the error
/// code it was answered with if any, once its ack is on its way.
pub type Finish = Pin<Box<dyn Future<Output = Option<ErrorCode>> + Send>>;

/// The request of a connection to serve.
pub struct Incoming {
    /// The connection.
    pub link: Arc<dyn Link>,
    /// Who sent it.
    pub client: Client,
    /// Its place among the connection's requests (0, 1, 2, ...).
    pub nth: u64,
    /// The event's name, `<View>:<action>`.
    pub name: String,
    /// Its data, if any.
    pub data: Option<Value>,
    /// Where its answer goes.
    pub ack: Box<dyn Ack>,
}

/// Applies `incoming` and returns the rest of it, which acks it through the
/// tenant's broadcaster in its place among the pushes.
pub async fn serve(tenant: Arc<Tenant>, incoming: Incoming) -> Finish {
    let Incoming {
        link,
        client,
        nth,
        name,
        data,
        ack,
    } = incoming;
    // No data at all (`emit("V:list", ack)`) reads as null; each route says
    // whether null will do.
    let mut data = data.unwrap_or(Value::Null);
    let origin = tenant
        .broadcaster()
        .start_request(&link, nth, room_before(&name, &data));
    let ending = Ending {
        tenant: Arc::clone(&tenant),
        link,
        nth,
        ack,
    };
    let op = match ops::take_op(&mut data) {
        Ok(op) => op,
        Err(err) => return Box::pin(ending.refused(err)),
    };
    // Reads are answered afresh; their id is only dropped.
    let writes = Event::parse(&name).map_or(true, |event| !event.is_read());
    let (first, key) = match op.filter(|_| writes) {
        None => (None, None),
        Some(op) => {
            let key = ops::key(&client.claims, &name, &op);
            match tenant.ops().claim(&key) {
                Claim::First(first) => {
                    // Applied before, perhaps by another node or before a
                    // restart: the store kept its answer.
                    match tenant.store().recorded(&key).await {
                        Ok(None) => (Some(first), Some(key)),
                        Ok(Some(recorded)) => {
                            drop(origin);
                            return Box::pin(async move {
                                let remembered = repeat(&tenant, &client, &name, &recorded).await;
                                first.finish(remembered.clone());
                                ending.end(remembered, Vec::new()).await
                            });
                        }
                        Err(err) => return Box::pin(ending.refused(err.into())),
                    }
                }
                Claim::Repeat(pending) => {
                    // Answered as the first time, in this connection's place
                    // among its pushes, after the pushes of its commit and
                    // those before it; nothing is applied again.
                    drop(origin);
                    tracing::debug!(connection = %client.id, event = %name, "repeated operation answered again");
                    return Box::pin(async move {
                        let remembered = ops::answer_of(pending).await;
                        ending.end(remembered, Vec::new()).await
                    });
                }
            }
        }
    };
    // Kept for running it again should another node's commit come between
    // its reads and its own.
    let again = writes.then(|| (origin.clone(), data.clone()));
    let applied = start(
        &tenant,
        client.clone(),
        Some(origin),
        &name,
        data,
        key.clone(),
        None,
    )
    .await;
    Box::pin(async move {
        let outcome = finish(&tenant, &client, &name, key, applied, again).await;
        let (remembered, emits) = match outcome {
            // A commit's custom events went with its pushes; these are a
            // request's that wrote nothing.
            Ok((routed, seq)) => (
                Remembered {
                    reply: Ok(routed.result),
                    rooms: routed.rooms,
                    commit: seq,
                },
                routed.committed.emits,
            ),
            Err(err) => {
                tracing::debug!(event = %name, code = %err.code, message = %err.message, "request refused");
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
        ending.end(remembered, emits).await
    })
}

/// Finishes an applied request: its answer and the commit it must follow.
/// Runs it again (with `again`, its origin and data) when another node's
/// commit came between its reads and its own, and answers a repeat of an
/// operation that a concurrent request applied as that one did.
async fn finish(
    tenant: &Arc<Tenant>,
    client: &Client,
    name: &str,
    key: Option<String>,
    mut applied: Result<(Request, routes::Applied), WireError>,
    again: Option<(Origin, Value)>,
) -> Result<(routes::Routed, Option<u64>), WireError> {
    let mut forget = again::Forget::new(tenant);
    let mut attempts = 0;
    // Other nodes' commits wait while this is held.
    let mut hold = None;
    loop {
        let (request, done) = applied?;
        let rank = done.rank();
        forget.set(request.redo_of, rank);
        match request.finish(done).await {
            Ok(routed) => {
                let seq = routed.committed.seq;
                return Ok((routed, seq));
            }
            Err(Failure::Wire(err)) => return Err(err),
            Err(Failure::Repeated) => {
                let recorded = match &key {
                    Some(key) => tenant
                        .store()
                        .recorded(key)
                        .await
                        .map_err(WireError::from)?,
                    None => None,
                };
                let Some(recorded) = recorded else {
                    return Err(WireError::unavailable(
                        "the operation was applied already; ask again for its answer",
                    ));
                };
                let remembered = Box::pin(repeat(tenant, client, name, &recorded)).await;
                let rooms = remembered.rooms;
                return remembered.reply.map(|result| {
                    (
                        routes::Routed {
                            result,
                            committed: Default::default(),
                            rooms,
                        },
                        remembered.commit,
                    )
                });
            }
            Err(Failure::Again) => {
                attempts += 1;
                let Some((origin, data)) = again.as_ref().filter(|_| attempts <= again::MAX_AGAIN)
                else {
                    return Err(WireError::unavailable(
                        "the tenant's data kept changing on other nodes meanwhile; try again",
                    ));
                };
                tracing::debug!(event = %name, attempts, "another node committed meanwhile; running the request again");
                hold = Box::pin(again::prepare(tenant, name, attempts, hold.take())).await;
                applied = Box::pin(start(
                    tenant,
                    client.clone(),
                    Some(origin.clone()),
                    name,
                    data.clone(),
                    key.clone(),
                    rank,
                ))
                .await;
            }
        }
    }
}

/// The answer to a repeat of an operation the store says was applied.
async fn repeat(
    tenant: &Arc<Tenant>,
    client: &Client,
    name: &str,
    recorded: &Recorded,
) -> Remembered {
    let answered = async {
        let event = Event::parse(name)?;
        let view = tenant.catalog().get(event.view).ok_or_else(|| {
            WireError::new(
                ErrorCode::UnknownView,
                format!("no view named {:?}", event.view),
            )
        })?;
        let applied = routes::Applied::repeat(recorded).ok_or_else(|| {
            WireError::unavailable(
                "the operation was applied already, but its answer cannot be read",
            )
        })?;
        let request = Request {
            tenant: Arc::clone(tenant),
            client: client.clone(),
            origin: None,
            view,
            route: event.route.to_owned(),
            op: None,
            redo_of: None,
        };
        request
            .finish(applied)
            .await
            .map_err(|failure| match failure {
                Failure::Wire(err) => err,
                Failure::Again | Failure::Repeated => WireError::unavailable("try again"),
            })
    };
    match answered.await {
        Ok(routed) => Remembered {
            reply: Ok(routed.result),
            rooms: routed.rooms,
            commit: Some(recorded.seq),
        },
        Err(err) => Remembered {
            reply: Err(err),
            rooms: RoomChange::Keep,
            commit: None,
        },
    }
}

/// How a request ends: its answer, handed to the broadcaster.
struct Ending {
    tenant: Arc<Tenant>,
    link: Arc<dyn Link>,
    nth: u64,
    ack: Box<dyn Ack>,
}

impl Ending {
    /// Hands the answer to the broadcaster and waits until the ack is on its
    /// way. Returns the error code it carries, if any.
    async fn end(self, remembered: Remembered, emits: Vec<Emit>) -> Option<ErrorCode> {
        let code = remembered.reply.as_ref().err().map(|err| err.code);
        let (sent, done) = oneshot::channel();
        let answer = Answer {
            link: self.link,
            nth: self.nth,
            reply: remembered.reply,
            ack: self.ack,
            rooms: remembered.rooms,
            emits,
            sent,
        };
        self.tenant.broadcaster().end(remembered.commit, answer);
        let _ = done.await;
        code
    }

    async fn refused(self, err: WireError) -> Option<ErrorCode> {
        let remembered = Remembered {
            reply: Err(err),
            rooms: RoomChange::Keep,
            commit: None,
        };
        self.end(remembered, Vec::new()).await
    }
}

/// Runs event `name` with `data` for `client` of `tenant` to the end: the
/// route check, then the built-in or the view's handler, durable. Its
/// commit, if it writes, is handed to `origin` for pushing the moment it is
/// durable.
pub async fn run(
    tenant: &Arc<Tenant>,
    client: &Client,
    origin: Option<Origin>,
    name: &str,
    data: Value,
) -> Result<Outcome, WireError> {
    let (request, applied) = start(tenant, client.clone(), origin, name, data, None, None).await?;
    let view = Arc::clone(&request.view);
    let rank = applied.rank();
    let finished = request.finish(applied).await;
    // It does not run again: later writes need not wait for it.
    if let Some(rank) = rank {
        tenant.applied().forget(rank);
    }
    let Routed {
        result,
        committed,
        rooms,
    } = finished.map_err(|failure| match failure {
        Failure::Wire(err) => err,
        Failure::Again | Failure::Repeated => {
            WireError::unavailable("the tenant's data changed meanwhile; try again")
        }
    })?;
    // Tests read the result as a value; text a view returned is JSON
    // already checked.
    let result = result
        .into_value()
        .map_err(|_| WireError::unavailable("the answer could not be read"))?;
    Ok(Outcome {
        view,
        result,
        committed,
        rooms,
    })
}

/// The first step of a request: finds the view, checks the route and
/// applies it.
async fn start(
    tenant: &Arc<Tenant>,
    client: Client,
    origin: Option<Origin>,
    name: &str,
    data: Value,
    op: Option<String>,
    redo_of: Option<u64>,
) -> Result<(Request, routes::Applied), WireError> {
    let event = Event::parse(name)?;
    let view = tenant.catalog().get(event.view).ok_or_else(|| {
        WireError::new(
            ErrorCode::UnknownView,
            format!("no view named {:?}", event.view),
        )
    })?;
    let request = Request {
        tenant: Arc::clone(tenant),
        client,
        origin,
        view: Arc::clone(&view),
        route: event.route.to_owned(),
        op,
        redo_of,
    };
    if event.is_unsubscribe() {
        let rooms = match data::optional_id(&data)? {
            Some(id) => RoomChange::Leave(model_room(event.view, &id)),
            None => RoomChange::Leave(view_room(event.view)),
        };
        return Ok((request, routes::Applied::unsubscribed(rooms)));
    }
    if !view.spec().allows(event.route) {
        return Err(WireError::forbidden(format!(
            "view {} does not allow {}",
            event.view, event.action
        )));
    }
    let applied = match view.spec().handler_for(event.route) {
        Some(handler) => request.custom(handler, data).await?,
        None => request.built_in(data).await?,
    };
    Ok((request, applied))
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

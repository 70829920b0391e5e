//! One connection's events, applied one after another in arrival order by a
//! task that exists only while the connection has events waiting: the task
//! socketioxide started for the event that found the queue idle. The next
//! event starts as soon as the previous one has applied; each finishes (is
//! made durable and answered) on a task of its own, and is counted and
//! logged under a span naming its tenant, view and action.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use socketioxide::extract::{AckSender, SocketRef};
use tracing::Instrument;

use super::link::{SocketAck, SocketLink};
use crate::client::Client;
use crate::drain::InFlight;
use crate::event::Event;
use crate::metrics::{Outcome, RequestLabels, metrics};
use crate::request;
use crate::tenant::Tenant;
use crate::wire::{ErrorCode, WireError};

/// Requests one connection may have waiting; more are refused at once with
/// `unavailable`. Clients wait for acks, so only a flood reaches this.
pub const MAX_QUEUED: usize = 256;

/// One event waiting to be served.
pub struct Waiting {
    /// The connection it came on.
    pub socket: SocketRef,
    /// Its name, `<View>:<action>`.
    pub event: String,
    /// Its data, if it had any that parsed.
    pub data: Option<Value>,
    /// Its ack.
    pub ack: AckSender,
    /// Keeps a shutdown waiting until the event is acked.
    pub in_flight: InFlight,
}

/// One connection's events waiting to be served, in arrival order. A task
/// serves them one after another and ends when none are left, so an idle
/// connection holds neither a task nor a channel.
pub struct Queue {
    tenant: Arc<Tenant>,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    waiting: VecDeque<Waiting>,
    /// Whether a task is serving the queue.
    serving: bool,
    /// The place of the next request served: answers go out in this order.
    next: u64,
}

impl Queue {
    pub fn new(tenant: Arc<Tenant>) -> Self {
        Self {
            tenant,
            pending: Mutex::new(Pending::default()),
        }
    }

    /// Queues `waiting`; gives it back when [`MAX_QUEUED`] are waiting
    /// already. When no one is serving the queue, the caller is handed the
    /// job: it must run [`Serving::run`], on the task that socketioxide
    /// started for this event. A task of halo's own would cost a second
    /// spawn and wake-up per request, about 3,000 instructions of the
    /// 105,000 a sequential update takes.
    pub fn push(self: &Arc<Self>, waiting: Waiting) -> Result<Option<Serving>, Waiting> {
        let mut pending = self.pending.lock();
        if pending.waiting.len() >= MAX_QUEUED {
            return Err(waiting);
        }
        pending.waiting.push_back(waiting);
        if pending.serving {
            return Ok(None);
        }
        pending.serving = true;
        Ok(Some(Serving {
            queue: Arc::clone(self),
            finished: false,
        }))
    }
}

/// The job of serving a [`Queue`] until it is empty; however it ends, the
/// next event starts another.
#[must_use = "the queue's events wait until the job runs"]
pub struct Serving {
    queue: Arc<Queue>,
    /// Set once it has handed the queue back with nothing left in it.
    finished: bool,
}

impl Serving {
    /// Serves the queue's events one after another until none are left.
    pub async fn run(mut self) {
        loop {
            let (waiting, nth) = {
                let mut pending = self.queue.pending.lock();
                match pending.waiting.pop_front() {
                    // Nobody is left to answer: a client that disconnected
                    // retries what it did not see acked.
                    Some(waiting) if !waiting.socket.connected() => continue,
                    Some(waiting) => {
                        let nth = pending.next;
                        pending.next += 1;
                        (waiting, nth)
                    }
                    None => {
                        pending.serving = false;
                        self.finished = true;
                        // A burst's worth of room is kept, no more.
                        pending.waiting.shrink_to(4);
                        return;
                    }
                }
            };
            serve(&self.queue.tenant, waiting, nth).await;
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // The task panicked or the runtime is going down: let a later event
        // start another.
        if !self.finished {
            self.queue.pending.lock().serving = false;
        }
    }
}

/// Applies one event, then lets it finish on a task of its own and counts
/// it. With `debug` lines on, it runs inside a span naming its tenant,
/// view, action and connection, so every line about it carries them. At
/// `info` the span is not made: its fields, formatted as it opens, cost a
/// tenth of an update's instructions, and the lines a request writes at
/// `info` and above (its view's output, its failures) name these fields
/// themselves.
async fn serve(tenant: &Arc<Tenant>, waiting: Waiting, nth: u64) {
    let Waiting {
        socket,
        event,
        data,
        ack,
        in_flight,
    } = waiting;
    let labels = Labels::of(tenant, &event);
    let span = tracing::debug_span!(
        "request",
        tenant = %tenant.name(),
        view = %labels.view,
        action = %labels.action,
        connection = %socket.id,
    );
    let ack = Box::new(SocketAck {
        socket: socket.clone(),
        ack,
    });
    let applying = apply(tenant, socket, event, data, ack, nth);
    // Wrapped only when the span is on: the wrapper moves the whole request's
    // future into itself.
    let finish = if span.is_disabled() {
        applying.await
    } else {
        applying.instrument(span.clone()).await
    };
    let tenant = Arc::clone(tenant);
    tokio::spawn(async move {
        let code = finish.instrument(span).await;
        labels.count(&tenant, code);
        // A shutdown waits for this: the ack is on its way now.
        drop(in_flight);
    });
}

/// A request's view and action, as counted: names of what the tenant has,
/// never free text from the client, so a client cannot grow the metrics
/// without bound. Empty when there is no such view or action. Shared or
/// static strings, so counting allocates nothing but a custom route's name.
pub struct Labels {
    view: Arc<str>,
    action: Cow<'static, str>,
}

impl Labels {
    /// The labels of event `name` on `tenant`.
    pub fn of(tenant: &Tenant, name: &str) -> Self {
        let unknown = || Self {
            view: Arc::from(""),
            action: Cow::Borrowed(""),
        };
        let Ok(event) = Event::parse(name) else {
            return unknown();
        };
        let Some(view) = tenant.catalog().get(event.view) else {
            return unknown();
        };
        let action = match event.built_in() {
            Some(built_in) => Cow::Borrowed(built_in),
            None if view.spec().allows(event.route) => Cow::Owned(event.route.to_owned()),
            None => Cow::Borrowed(""),
        };
        Self {
            view: Arc::clone(view.name()),
            action,
        }
    }

    /// Counts a request answered, with the error code it got if any.
    pub fn count(self, tenant: &Tenant, code: Option<ErrorCode>) {
        metrics().count_request(RequestLabels {
            tenant: Arc::clone(tenant.name()),
            view: self.view,
            action: self.action,
            outcome: if code.is_some() {
                Outcome::error
            } else {
                Outcome::ok
            },
            code: code.map_or("", ErrorCode::as_str),
        });
    }
}

/// Applies one event; returns the rest of it.
async fn apply(
    tenant: &Arc<Tenant>,
    socket: SocketRef,
    event: String,
    data: Option<Value>,
    ack: Box<SocketAck>,
    nth: u64,
) -> request::Finish {
    let Some(client) = socket.extensions.get::<Client>() else {
        let err = WireError::unavailable("connection not set up");
        let code = err.code;
        crate::broadcast::Ack::send(ack, Err(err));
        return Box::pin(std::future::ready(Some(code)));
    };
    let incoming = request::Incoming {
        link: Arc::new(SocketLink(socket)),
        client,
        nth,
        name: event,
        data,
        ack,
    };
    request::serve(Arc::clone(tenant), incoming).await
}

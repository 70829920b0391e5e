//! One connection's events, served one after another in arrival order by a
//! task that exists only while the connection has events waiting; each is
//! counted and logged under a span naming its tenant, view and action.

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
}

impl Queue {
    pub fn new(tenant: Arc<Tenant>) -> Self {
        Self {
            tenant,
            pending: Mutex::new(Pending::default()),
        }
    }

    /// Queues `waiting`, starting a task to serve it if none is running; gives
    /// it back when [`MAX_QUEUED`] are waiting already.
    pub fn push(self: &Arc<Self>, waiting: Waiting) -> Result<(), Waiting> {
        let mut pending = self.pending.lock();
        if pending.waiting.len() >= MAX_QUEUED {
            return Err(waiting);
        }
        pending.waiting.push_back(waiting);
        if !pending.serving {
            pending.serving = true;
            let serving = Serving {
                queue: Arc::clone(self),
                finished: false,
            };
            tokio::spawn(serving.run());
        }
        Ok(())
    }
}

/// The task serving a [`Queue`]; however it ends, the next event starts a
/// new one.
struct Serving {
    queue: Arc<Queue>,
    /// Set once it has handed the queue back with nothing left in it.
    finished: bool,
}

impl Serving {
    async fn run(mut self) {
        loop {
            let waiting = {
                let mut pending = self.queue.pending.lock();
                match pending.waiting.pop_front() {
                    Some(waiting) => waiting,
                    None => {
                        pending.serving = false;
                        self.finished = true;
                        // A burst's worth of room is kept, no more.
                        pending.waiting.shrink_to(4);
                        return;
                    }
                }
            };
            // Nobody is left to answer: a client that disconnected retries
            // what it did not see acked.
            if waiting.socket.connected() {
                serve(&self.queue.tenant, waiting).await;
            }
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

/// Serves one event inside a span naming its tenant, view, action and
/// connection, so every log line about it carries them, and counts it.
async fn serve(tenant: &Tenant, waiting: Waiting) {
    let labels = Labels::of(tenant, &waiting.event);
    let span = tracing::info_span!(
        "request",
        tenant = %tenant.name(),
        view = %labels.view,
        action = %labels.action,
        connection = %waiting.socket.id,
    );
    let code = answer(tenant, waiting).instrument(span).await;
    labels.count(tenant, code);
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
        metrics()
            .requests
            .get_or_create(&RequestLabels {
                tenant: Arc::clone(tenant.name()),
                view: self.view,
                action: self.action,
                outcome: if code.is_some() {
                    Outcome::error
                } else {
                    Outcome::ok
                },
                code: code.map_or("", ErrorCode::as_str),
            })
            .inc();
    }
}

/// Answers one event; returns the error code it was answered with, if any.
async fn answer(tenant: &Tenant, waiting: Waiting) -> Option<ErrorCode> {
    let Waiting {
        socket,
        event,
        data,
        ack,
        in_flight: _in_flight,
    } = waiting;
    let ack = Box::new(SocketAck {
        socket: socket.clone(),
        ack,
    });
    let Some(client) = socket.extensions.get::<Client>() else {
        let err = WireError::unavailable("connection not set up");
        let code = err.code;
        crate::broadcast::Ack::send(ack, &Err(err));
        return Some(code);
    };
    let link: Arc<dyn crate::broadcast::Link> = Arc::new(SocketLink(socket));
    request::serve(tenant, link, &client, &event, data, ack).await
}

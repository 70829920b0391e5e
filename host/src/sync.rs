//! The Socket.IO side: admits connections, serves each connection's
//! `<View>:<action>` events one after another in arrival order, and acks each
//! `(err, result)`.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use governor::{Quota, RateLimiter};
use parking_lot::Mutex;

use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use tracing::Instrument;

use crate::broadcast::Rooms;
use crate::client::Client;
use crate::drain::InFlight;
use crate::metrics::{Outcome, RequestLabels, metrics};
use crate::ops;
use crate::request;
use crate::tenant::Tenant;
use crate::tenants::{Slot, Tenants};
use crate::view::{BUILT_IN, normalize_route};
use crate::wire::{ErrorCode, WireError};

/// Requests one connection may have waiting; more are refused at once with
/// `unavailable`. Clients wait for acks, so only a flood reaches this.
pub const MAX_QUEUED: usize = 256;

/// Packets that may wait to be written to one connection. A connection that
/// falls further behind is closed; its client reconnects and refetches.
pub const SEND_BUFFER: usize = 4096;

/// One event waiting to be served.
struct Job {
    socket: SocketRef,
    event: String,
    data: Option<Value>,
    ack: AckSender,
    /// Keeps a shutdown waiting until the event is acked.
    _in_flight: InFlight,
}

/// Serves the tenant of `slot` on its namespace of `io`: loads it when a
/// client connects, checks the client's token and the tenant's limits, and
/// queues the connection's events for its worker.
pub fn attach(io: &SocketIo, slot: Arc<Slot>, tenants: Arc<Tenants>) {
    let path = slot.namespace();
    let own = Arc::clone(&slot);
    // Set-up happens in the middleware, which socketioxide awaits before it
    // tells the client it is connected; the connect handler runs detached,
    // so events sent right after connecting could beat handlers it adds.
    let middleware = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let slot = Arc::clone(&slot);
        let tenants = Arc::clone(&tenants);
        async move {
            if tenants.drain().closing() {
                return Err(WireError::unavailable("the server is shutting down"));
            }
            let tenant = tenants.open(&slot).await?;
            let client = identify(&tenant, &socket, auth.ok().as_ref())?;
            let limits = tenant.limits;
            if !tenant.activity.connect(limits.connections) {
                tracing::info!(tenant = %tenant.name, connection = %client.id, "connection refused: connection limit reached");
                return Err(WireError::limit(
                    "connections",
                    format!(
                        "this tenant has its {} connections open already",
                        limits.connections
                    ),
                ));
            }
            if let Err(err) = admit(&tenant, &client).await {
                tenant.activity.disconnect();
                return Err(err);
            }
            tracing::debug!(connection = %client.id, tenant = %tenant.name, "connected");
            socket.extensions.insert(client);
            socket.extensions.insert(Served(Arc::clone(&tenant)));
            // Uncounted when the connection ends, or, if its transport
            // closes before it ever joins the namespace (no disconnect
            // handler runs then), when the socket and its handlers are
            // dropped.
            let counted = Arc::new(Counted {
                activity: Arc::clone(&tenant.activity),
                done: AtomicBool::new(false),
            });
            let on_end = Arc::clone(&counted);
            socket.on_disconnect(move || async move { on_end.release() });
            let rate = Arc::new(RateLimiter::direct(Quota::per_second(
                NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN),
            )));
            // Only measure data when the tenant's cap is below the host's,
            // which Socket.IO itself enforces.
            let max_payload =
                (limits.max_payload < tenants.max_payload()).then_some(limits.max_payload);
            let queue = Arc::new(Queue::new(Arc::clone(&tenant)));
            let counted_on = Arc::clone(&tenant);
            let drain = Arc::clone(tenants.drain());
            socket.on_fallback(
                move |socket: SocketRef,
                      Event(event): Event,
                      TryData(data): TryData<Value>,
                      ack: AckSender| {
                    // This part runs as events arrive, in order: queue the
                    // event here, serve it in the connection's worker, so a
                    // client's saves apply in the order it made them.
                    let _counted = &counted;
                    let data = data.ok();
                    let in_flight = drain.enter();
                    let over = if rate.check().is_err() {
                        Some(WireError::limit(
                            "requests_per_second",
                            format!("more than {} requests per second on this connection; slow down", limits.requests_per_second),
                        ))
                    } else {
                        max_payload.and_then(|max| {
                            let size = data.as_ref().map_or(0, json_size);
                            (size > max).then(|| {
                                WireError::limit(
                                    "max_payload",
                                    format!("the data is {size} bytes; this tenant accepts at most {max}"),
                                )
                            })
                        })
                    };
                    let refused = match (in_flight, over) {
                        // Shutting down: left unacked, so halo.sync.js sends
                        // it again, with the same operation id, once it has
                        // reconnected to a host that is up; an error ack
                        // would hand it to the app as failed.
                        (None, _) => None,
                        (Some(_), Some(err)) => Some((socket, ack, event, err)),
                        (Some(in_flight), None) => {
                            let job = Job {
                                socket,
                                event,
                                data,
                                ack,
                                _in_flight: in_flight,
                            };
                            queue.push(job).err().map(|job| {
                                (
                                    job.socket,
                                    job.ack,
                                    job.event,
                                    WireError::unavailable(format!(
                                        "more than {MAX_QUEUED} requests are waiting on this connection; wait for acks"
                                    )),
                                )
                            })
                        }
                    };
                    if let Some((_, _, event, err)) = &refused {
                        count(&counted_on, labels(&counted_on, event), Some(err.code));
                    }
                    async move {
                        if let Some((socket, ack, event, err)) = refused {
                            refuse(&socket, ack, &event, &err);
                        }
                    }
                },
            );
            Ok::<(), WireError>(())
        }
    };
    // Runs once the socket is in the namespace: a connection admitted by a
    // copy of the tenant that was unloaded meanwhile (tenant.toml edited,
    // folder removed) missed that disconnect sweep, so it goes now and
    // reconnects to the current copy.
    let current = move |socket: SocketRef| async move {
        let stale = match socket.extensions.get::<Served>() {
            Some(Served(served)) => own.tenant().is_none_or(|now| !Arc::ptr_eq(&now, &served)),
            None => true,
        };
        if stale {
            let _ = socket.disconnect();
        }
    };
    io.ns(path, current.with(middleware));
}

/// The loaded copy of the tenant that admitted a connection.
#[derive(Clone)]
struct Served(Arc<Tenant>);

/// One counted connection of a tenant, uncounted exactly once.
struct Counted {
    activity: Arc<crate::tenant::Activity>,
    done: AtomicBool,
}

impl Counted {
    fn release(&self) {
        if !self.done.swap(true, Ordering::AcqRel) {
            self.activity.disconnect();
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.release();
    }
}

/// Who the connection is: the verified claims of its token when the tenant
/// requires one, otherwise the handshake's `auth` as it came.
fn identify(
    tenant: &Tenant,
    socket: &SocketRef,
    auth: Option<&Value>,
) -> Result<Client, WireError> {
    let id = socket.id.to_string();
    match &tenant.verifier {
        None => Ok(Client::new(&id, &tenant.name, auth)),
        Some(verifier) => match verifier.verify(auth) {
            Ok(claims) => Ok(Client::new(&id, &tenant.name, Some(&Value::Object(claims)))),
            Err(why) => {
                tracing::info!(tenant = %tenant.name, connection = %id, cause = %why, "connection refused: bad token");
                Err(WireError::unauthorized(why))
            }
        },
    }
}

/// Length of `value` as compact JSON, without building the text.
fn json_size(value: &Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Runs the `connect` export of every view that asks for it; any refusal
/// refuses the connection with that view's message.
async fn admit(tenant: &Tenant, client: &Client) -> Result<(), WireError> {
    for view in tenant.catalog.all() {
        if !view.spec().connect {
            continue;
        }
        if let Err(err) = view.connect(client, tenant.tx()).await {
            let wire = err.to_wire(&view.spec().name);
            if let crate::view::CallError::Failed { reason, detail } = &err {
                tenant
                    .activity
                    .failed(&view.spec().name, "connect", &reason.to_string(), detail);
            }
            tracing::info!(tenant = %tenant.name, connection = %client.id, view = %view.spec().name, cause = %err, "connection refused");
            return Err(wire);
        }
    }
    Ok(())
}

/// One connection's events waiting to be served, in arrival order. A task
/// serves them one after another and ends when none are left, so an idle
/// connection holds neither a task nor a channel.
struct Queue {
    tenant: Arc<Tenant>,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    jobs: VecDeque<Job>,
    /// Whether a task is serving the queue.
    serving: bool,
}

impl Queue {
    fn new(tenant: Arc<Tenant>) -> Self {
        Self {
            tenant,
            pending: Mutex::new(Pending::default()),
        }
    }

    /// Queues `job`, starting a task to serve it if none is running; gives
    /// it back when [`MAX_QUEUED`] are waiting already.
    fn push(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        let mut pending = self.pending.lock();
        if pending.jobs.len() >= MAX_QUEUED {
            return Err(job);
        }
        pending.jobs.push_back(job);
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
            let job = {
                let mut pending = self.queue.pending.lock();
                match pending.jobs.pop_front() {
                    Some(job) => job,
                    None => {
                        pending.serving = false;
                        self.finished = true;
                        // A burst's worth of room is kept, no more.
                        pending.jobs.shrink_to(4);
                        return;
                    }
                }
            };
            // Nobody is left to answer: a client that disconnected retries
            // what it did not see acked.
            if job.socket.connected() {
                serve(&self.queue.tenant, job).await;
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
async fn serve(tenant: &Tenant, job: Job) {
    let labels = labels(tenant, &job.event);
    let span = tracing::info_span!(
        "request",
        tenant = %tenant.name,
        view = %labels.0,
        action = %labels.1,
        connection = %job.socket.id,
    );
    let code = answer(tenant, job).instrument(span).await;
    count(tenant, labels, code);
}

/// Counts a request answered, with the error code it got if any.
fn count(tenant: &Tenant, (view, action): Labels, code: Option<ErrorCode>) {
    metrics()
        .requests
        .get_or_create(&RequestLabels {
            tenant: Arc::clone(&tenant.name),
            view,
            action,
            outcome: if code.is_some() {
                Outcome::error
            } else {
                Outcome::ok
            },
            code: code.map_or("", ErrorCode::as_str),
        })
        .inc();
}

/// A request's view and action, as counted.
type Labels = (Arc<str>, Cow<'static, str>);

/// The view and action `event` names, as counted: names of what the tenant
/// has, never free text from the client, so a client cannot grow the
/// metrics without bound. Empty when there is no such view or action.
/// Shared or static strings, so counting allocates nothing but a custom
/// route's name.
fn labels(tenant: &Tenant, event: &str) -> Labels {
    let unknown = || (Arc::from(""), Cow::Borrowed(""));
    let Some((name, action)) = event.split_once(':') else {
        return unknown();
    };
    let Some(view) = tenant.catalog.get(name) else {
        return unknown();
    };
    let route = normalize_route(action);
    let action = match BUILT_IN
        .iter()
        .chain(["disconnect"].iter())
        .find(|r| **r == route)
    {
        Some(built_in) => Cow::Borrowed(*built_in),
        None if view.spec().allows(route) => Cow::Owned(route.to_owned()),
        None => Cow::Borrowed(""),
    };
    (Arc::clone(view.name()), action)
}

/// Answers one event; returns the error code it was answered with, if any.
async fn answer(tenant: &Tenant, job: Job) -> Option<ErrorCode> {
    let Job {
        socket,
        event,
        data,
        ack,
        _in_flight,
    } = job;
    let Some(client) = socket.extensions.get::<Client>() else {
        let err = WireError::unavailable("connection not set up");
        refuse(&socket, ack, &event, &err);
        return Some(err.code);
    };
    // No data at all (`emit("V:list", ack)`) reads as null; each route
    // says whether null will do.
    let mut data = data.unwrap_or(Value::Null);
    let first = match ops::take_op(&mut data) {
        Err(err) => {
            refuse(&socket, ack, &event, &err);
            return Some(err.code);
        }
        // Reads are answered afresh; their id is only dropped.
        Ok(Some(_)) if !ops::applies_to(&event) => None,
        Ok(None) => None,
        Ok(Some(op)) => match tenant.ops.claim(&ops::key(&client.claims, &event, &op)) {
            ops::Claim::First(first) => Some(first),
            ops::Claim::Repeat(pending) => {
                // Answered as the first time, in this connection's place
                // among its pushes; nothing is applied again.
                let origin = tenant.broadcaster.hold(&socket, None);
                let (reply, rooms, commit) = ops::answer_of(pending).await;
                drop(origin);
                let code = reply.as_ref().err().map(|err| err.code);
                tracing::debug!(connection = %client.id, %event, "repeated operation answered again");
                // After the pushes of its commit and those before it, as
                // the first answer was.
                let sent =
                    tenant
                        .broadcaster
                        .release(socket, commit, rooms, reply, ack, Vec::new());
                let _ = sent.await;
                return code;
            }
        },
    };
    let joined_first = request::room_before(&event, &data);
    let origin = tenant.broadcaster.hold(&socket, joined_first);
    let outcome = request::run(tenant, &client, Some(&origin), &event, data).await;
    let (commit, rooms, reply, emits) = match outcome {
        // A commit's custom events went with its pushes; these are a
        // request's that wrote nothing.
        Ok(outcome) => (
            outcome.committed.seq,
            outcome.rooms,
            Ok(outcome.result),
            outcome.committed.emits,
        ),
        Err(err) => {
            tracing::debug!(connection = %client.id, %event, code = %err.code, message = %err.message, "request refused");
            (None, Rooms::Keep, Err(err), Vec::new())
        }
    };
    if let Some(first) = first {
        first.finish((reply.clone(), rooms.clone(), commit));
    }
    let code = reply.as_ref().err().map(|err| err.code);
    let sent = tenant
        .broadcaster
        .release(socket, commit, rooms, reply, ack, emits);
    // The next request waits for this ack: acks keep their order.
    let _ = sent.await;
    code
}

fn refuse(socket: &SocketRef, ack: AckSender, event: &str, err: &WireError) {
    tracing::debug!(connection = %socket.id, %event, code = %err.code, message = %err.message, "request refused");
    if let Err(send) = ack.send(&(err, Value::Null)) {
        tracing::debug!(connection = %socket.id, %event, cause = %send, "ack not delivered");
    }
}

//! The Socket.IO adapter, the one place socketioxide is used beyond the
//! server's set-up: each tenant's namespace, admitting connections, queueing
//! their events, and reaching them for acks and pushes.
//!
//! * `admit`: who a connection is, and whether the tenant takes it.
//! * `queue`: a connection's events, served in arrival order.
//! * `link`: a connection as the broadcaster reaches it.
//! * `everyone`: every connection of a namespace on this node, as one link.
//! * `incoming`: an event's ack request and data, as sent.
//! * `gate`, `meter`, `line`: the HTTP and TCP side of each session: the
//!   cap on sessions outside a namespace, and each session's unwritten
//!   bytes, capped.

mod admit;
mod everyone;
mod gate;
mod head;
mod incoming;
mod line;
mod link;
mod meter;
mod queue;

pub use admit::json_size;
pub use gate::{Gate, gate};
pub use head::detach;
pub use incoming::arguments;
pub use meter::{Conn, MeteredListener};

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use governor::{Quota, RateLimiter};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;

use crate::tenant::{Namespaces, Slot, Tenant, Tenants};
use crate::wire::{ErrorCode, WireError};
use incoming::Incoming;
use line::Line;
use queue::{Labels, MAX_QUEUED, Queue, Serving, Waiting};

/// Packets that may wait to be written to one connection. A connection that
/// falls further behind is closed; its client reconnects and refetches.
pub const SEND_BUFFER: usize = 4096;

/// Every tenant's namespace on one Socket.IO server.
pub struct SocketNamespaces {
    /// The server.
    pub io: SocketIo,
    /// What its HTTP side knows of each session.
    pub gate: Arc<Gate>,
}

#[async_trait]
impl Namespaces for SocketNamespaces {
    fn serve(&self, slot: Arc<Slot>, tenants: Arc<Tenants>) {
        attach(&self.io, Arc::clone(&self.gate), slot, tenants);
    }

    async fn disconnect(&self, namespace: &str) {
        if let Some(ns) = self.io.of(namespace) {
            let _ = ns.disconnect().await;
        }
    }

    fn remove(&self, namespace: &str) {
        self.io.delete_ns(namespace);
    }

    fn everyone(&self, namespace: &str) -> Arc<dyn crate::broadcast::Link> {
        Arc::new(everyone::Everyone {
            io: self.io.clone(),
            namespace: namespace.to_owned(),
        })
    }
}

/// Serves the tenant of `slot` on its namespace of `io`: loads it when a
/// client connects, checks the client's token and the tenant's limits, and
/// queues the connection's events for its worker.
fn attach(io: &SocketIo, gate: Arc<Gate>, slot: Arc<Slot>, tenants: Arc<Tenants>) {
    let path = slot.namespace();
    let own = Arc::clone(&slot);
    // Set-up happens in the middleware, which socketioxide awaits before it
    // tells the client it is connected; the connect handler runs detached,
    // so events sent right after connecting could beat handlers it adds.
    let middleware = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let slot = Arc::clone(&slot);
        let tenants = Arc::clone(&tenants);
        let gate = Arc::clone(&gate);
        async move {
            if tenants.drain().closing() {
                return Err(WireError::unavailable("the server is shutting down"));
            }
            let tenant = tenants.open(&slot).await?;
            let client = admit::identify(&tenant, &socket, auth.ok().as_ref())?;
            let limits = tenant.limits();
            // The limit counts the tenant's connections on every node.
            let elsewhere = tenants.elsewhere(tenant.name());
            if !tenant
                .activity()
                .connect(limits.connections.saturating_sub(elsewhere))
            {
                tracing::info!(tenant = %tenant.name(), connection = %client.id, "connection refused: connection limit reached");
                return Err(WireError::limit(
                    "connections",
                    format!(
                        "this tenant has its {} connections open already",
                        limits.connections
                    ),
                ));
            }
            if let Err(err) = admit::admit(&tenant, &client).await {
                tenant.activity().disconnect();
                return Err(err);
            }
            tracing::debug!(connection = %client.id, tenant = %tenant.name(), "connected");
            socket.extensions.insert(client);
            socket.extensions.insert(AdmittedBy(Arc::clone(&tenant)));
            // Uncounted when the connection ends, or, if its transport
            // closes before it ever joins the namespace (no disconnect
            // handler runs then), when the socket and its handlers are
            // dropped.
            let counted = Arc::new(admit::Counted {
                activity: Arc::clone(tenant.activity()),
                done: AtomicBool::new(false),
            });
            let on_end = Arc::clone(&counted);
            let line = session(&gate, &socket);
            socket.extensions.insert(Arc::clone(&line));
            socket.on_disconnect(move |reason: DisconnectReason| async move {
                on_end.release();
                // The session is over (the peer timed out, or its transport
                // failed or closed): a write stuck on a peer that reads
                // nothing would otherwise hold the connection open.
                if !matches!(
                    reason,
                    DisconnectReason::ClientNSDisconnect | DisconnectReason::ServerNSDisconnect
                ) {
                    line.cut();
                }
            });
            let intake = Arc::new(Intake {
                rate: RateLimiter::direct(Quota::per_second(
                    NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN),
                )),
                requests_per_second: limits.requests_per_second,
                // The host's cap is the transport's, on the whole message;
                // the tenant's is on the data, so it is measured on every
                // request.
                max_payload: limits.max_payload,
                queue: Arc::new(Queue::new(Arc::clone(&tenant))),
                tenant: Arc::clone(&tenant),
                drain: Arc::clone(tenants.drain()),
                _counted: counted,
            });
            socket.on_fallback(
                move |socket: SocketRef,
                      Incoming { event, acked, data }: Incoming,
                      ack: AckSender| {
                    // This part runs as events arrive, in order: queue the
                    // event here, serve it in the connection's worker, so a
                    // client's saves apply in the order it made them.
                    let taken = if acked {
                        intake.take(socket, event, data, ack)
                    } else {
                        intake.unacked(&socket, &event);
                        Taken::Nothing
                    };
                    async move {
                        match taken {
                            Taken::Refused((socket, ack, event, err)) => {
                                refuse(&socket, ack, &event, &err);
                            }
                            // Boxed: the loop's future is kilobytes, and
                            // tokio moves a task's future several times.
                            Taken::Serve(serving) => Box::pin(serving.run()).await,
                            Taken::Nothing => {}
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
        let stale = match socket.extensions.get::<AdmittedBy>() {
            Some(AdmittedBy(served)) => own.tenant().is_none_or(|now| !Arc::ptr_eq(&now, &served)),
            None => true,
        };
        if stale {
            let _ = socket.disconnect();
        }
    };
    io.ns(path, current.with(middleware));
}

/// An event refused before it was queued: answered with the error.
type Refused = (SocketRef, AckSender, String, WireError);

/// What the fallback handler's task does for an event it took.
enum Taken {
    /// Answers it with the error: it was refused.
    Refused(Refused),
    /// Serves the connection's queue: the event found no one serving it.
    Serve(Serving),
    /// Nothing: it waits behind others, or is left unanswered (shutting
    /// down, or no ack id).
    Nothing,
}

/// What a connection's fallback handler checks and queues events with.
struct Intake {
    rate: governor::DefaultDirectRateLimiter,
    requests_per_second: u32,
    max_payload: u64,
    queue: Arc<Queue>,
    tenant: Arc<Tenant>,
    drain: Arc<crate::drain::Drain>,
    /// Uncounts the connection when the handler, so the socket, is dropped.
    _counted: Arc<admit::Counted>,
}

impl Intake {
    /// Checks an event that asked for an ack and queues it, or gives back
    /// what to refuse it with.
    fn take(
        &self,
        socket: SocketRef,
        event: String,
        data: Result<Option<Value>, incoming::DataError>,
        ack: AckSender,
    ) -> Taken {
        // Shutting down: left unacked, so halo.sync.js sends it again, with
        // the same operation id, once it has reconnected to a host that is
        // up; an error ack would hand it to the app as failed.
        let Some(in_flight) = self.drain.enter() else {
            return Taken::Nothing;
        };
        let over = match data {
            Err(err) => Err(WireError::invalid(err.to_string())),
            Ok(_) if self.rate.check().is_err() => Err(WireError::limit(
                "requests_per_second",
                format!(
                    "more than {} requests per second on this connection; slow down",
                    self.requests_per_second
                ),
            )),
            Ok(data) => {
                let size = data.as_ref().map_or(0, admit::json_size);
                if size > self.max_payload {
                    Err(WireError::limit(
                        "max_payload",
                        format!(
                            "the data is {size} bytes; this tenant accepts at most {}",
                            self.max_payload
                        ),
                    ))
                } else {
                    Ok(data)
                }
            }
        };
        let refused = match over {
            Err(err) => (socket, ack, event, err),
            Ok(data) => {
                let waiting = Waiting {
                    socket,
                    event,
                    data,
                    ack,
                    in_flight,
                };
                let waiting = match self.queue.push(waiting) {
                    Ok(Some(serving)) => return Taken::Serve(serving),
                    Ok(None) => return Taken::Nothing,
                    Err(waiting) => waiting,
                };
                (
                    waiting.socket,
                    waiting.ack,
                    waiting.event,
                    WireError::unavailable(format!(
                        "more than {MAX_QUEUED} requests are waiting on this connection; wait for acks"
                    )),
                )
            }
        };
        Labels::of(&self.tenant, &refused.2).count(&self.tenant, Some(refused.3.code));
        Taken::Refused(refused)
    }

    /// An event without an ack id, or with one socketioxide could not read
    /// (above `i64::MAX`, or not followed by the data): nothing of it runs,
    /// since what cannot be answered is never applied, and the connection
    /// is closed so the client knows it was not served.
    fn unacked(&self, socket: &SocketRef, event: &str) {
        Labels::of(&self.tenant, event).count(&self.tenant, Some(ErrorCode::Invalid));
        tracing::info!(connection = %socket.id, %event, "event without a usable ack id; closing the connection");
        if socket.clone().disconnect().is_err() {
            link::close(socket);
        }
    }
}

/// The loaded copy of the tenant that admitted a connection.
#[derive(Clone)]
struct AdmittedBy(Arc<Tenant>);

/// The session's [`Line`], shared by its namespaces; joining one ends the
/// session's count as pending.
fn session(gate: &Gate, socket: &SocketRef) -> Arc<Line> {
    let parts = socket.req_parts();
    if let Some(pending) = parts.extensions.get::<gate::Pending>() {
        pending.joined();
    }
    let line = gate.lines.line(socket.id.as_str());
    if let Some(gate::Opened(wire)) = parts.extensions.get::<gate::Opened>() {
        line.attach(wire);
    }
    line
}

fn refuse(socket: &SocketRef, ack: AckSender, event: &str, err: &WireError) {
    tracing::debug!(connection = %socket.id, %event, code = %err.code, message = %err.message, "request refused");
    if let Err(send) = ack.send(&(err, Value::Null)) {
        tracing::debug!(connection = %socket.id, %event, cause = %send, "ack not delivered");
    }
}

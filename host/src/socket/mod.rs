//! The Socket.IO adapter, the one place socketioxide is used beyond the
//! server's set-up: each tenant's namespace, admitting connections, queueing
//! their events, and reaching them for acks and pushes.
//!
//! * `admit`: who a connection is, and whether the tenant takes it.
//! * `queue`: a connection's events, served in arrival order.
//! * `link`: a connection as the broadcaster reaches it.

mod admit;
mod link;
mod queue;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use governor::{Quota, RateLimiter};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;

use crate::tenant::{Namespaces, Slot, Tenant, Tenants};
use crate::wire::WireError;
use queue::{Labels, MAX_QUEUED, Queue, Waiting};

/// Packets that may wait to be written to one connection. A connection that
/// falls further behind is closed; its client reconnects and refetches.
pub const SEND_BUFFER: usize = 4096;

/// Every tenant's namespace on one Socket.IO server.
pub struct SocketNamespaces(pub SocketIo);

#[async_trait]
impl Namespaces for SocketNamespaces {
    fn serve(&self, slot: Arc<Slot>, tenants: Arc<Tenants>) {
        attach(&self.0, slot, tenants);
    }

    async fn disconnect(&self, namespace: &str) {
        if let Some(ns) = self.0.of(namespace) {
            let _ = ns.disconnect().await;
        }
    }

    fn remove(&self, namespace: &str) {
        self.0.delete_ns(namespace);
    }
}

/// Serves the tenant of `slot` on its namespace of `io`: loads it when a
/// client connects, checks the client's token and the tenant's limits, and
/// queues the connection's events for its worker.
fn attach(io: &SocketIo, slot: Arc<Slot>, tenants: Arc<Tenants>) {
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
            let client = admit::identify(&tenant, &socket, auth.ok().as_ref())?;
            let limits = tenant.limits();
            if !tenant.activity().connect(limits.connections) {
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
                            let size = data.as_ref().map_or(0, admit::json_size);
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
                            let waiting = Waiting {
                                socket,
                                event,
                                data,
                                ack,
                                in_flight,
                            };
                            queue.push(waiting).err().map(|waiting| {
                                (
                                    waiting.socket,
                                    waiting.ack,
                                    waiting.event,
                                    WireError::unavailable(format!(
                                        "more than {MAX_QUEUED} requests are waiting on this connection; wait for acks"
                                    )),
                                )
                            })
                        }
                    };
                    if let Some((_, _, event, err)) = &refused {
                        Labels::of(&counted_on, event).count(&counted_on, Some(err.code));
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

/// The loaded copy of the tenant that admitted a connection.
#[derive(Clone)]
struct AdmittedBy(Arc<Tenant>);

fn refuse(socket: &SocketRef, ack: AckSender, event: &str, err: &WireError) {
    tracing::debug!(connection = %socket.id, %event, code = %err.code, message = %err.message, "request refused");
    if let Err(send) = ack.send(&(err, Value::Null)) {
        tracing::debug!(connection = %socket.id, %event, cause = %send, "ack not delivered");
    }
}

//! The Socket.IO side: admits connections, turns each `<View>:<action>` event
//! into a request, acks it `(err, result)` and sends the pushes it causes.

use std::sync::Arc;

use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use tokio::sync::Semaphore;

use crate::broadcast::{self, model_room, view_room};
use crate::client::Client;
use crate::request::{self, Subscription};
use crate::tenant::Tenant;
use crate::wire::WireError;

/// Requests of one connection served at once; later ones wait their turn.
/// Keeps the acks a connection can have pending well below the socket's
/// send buffer ([`SEND_BUFFER`]), so a burst of requests never loses an ack.
pub const MAX_IN_FLIGHT: usize = 32;

/// Packets that may wait to be written to one connection. A client that
/// falls further behind loses pushes, not acks, and catches up by
/// refetching after it reconnects.
pub const SEND_BUFFER: usize = 1024;

/// Serves `tenant` on namespace `path` of `io`.
pub fn attach(io: &SocketIo, path: &'static str, tenant: Arc<Tenant>) {
    // Set-up happens in the middleware, which socketioxide awaits before it
    // tells the client it is connected; the connect handler runs detached,
    // so events sent right after connecting could beat handlers it adds.
    let middleware = move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let tenant = Arc::clone(&tenant);
        async move {
            let client = Client::new(&socket.id.to_string(), &tenant.name, auth.ok().as_ref());
            admit(&tenant, &client).await?;
            tracing::debug!(connection = %client.id, tenant = %tenant.name, "connected");
            socket.extensions.insert(client);
            let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
            socket.on_fallback(
                move |socket: SocketRef,
                      Event(event): Event,
                      TryData(data): TryData<Value>,
                      ack: AckSender| {
                    let tenant = Arc::clone(&tenant);
                    let in_flight = Arc::clone(&in_flight);
                    async move {
                        // The semaphore is never closed: acquiring only waits.
                        let Ok(_turn) = in_flight.acquire_owned().await else {
                            return;
                        };
                        serve(&tenant, socket, &event, data.ok(), ack).await;
                    }
                },
            );
            Ok::<(), WireError>(())
        }
    };
    io.ns(path, (async || {}).with(middleware));
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
            tracing::info!(connection = %client.id, view = %view.spec().name, cause = %err, "connection refused");
            return Err(wire);
        }
    }
    Ok(())
}

async fn serve(
    tenant: &Tenant,
    socket: SocketRef,
    event: &str,
    data: Option<Value>,
    ack: AckSender,
) {
    let Some(client) = socket.extensions.get::<Client>() else {
        return;
    };
    // No data at all (`emit("V:list", ack)`) reads as null; each route
    // says whether null will do.
    let outcome = request::run(tenant, &client, event, data.unwrap_or(Value::Null)).await;
    match outcome {
        Ok(outcome) => {
            let name = outcome.view.spec().name.clone();
            // Join before the ack so no push after it is missed.
            match &outcome.subscription {
                Subscription::Keep => {}
                Subscription::Model(id) => socket.join(model_room(&name, id)),
                Subscription::View => socket.join(view_room(&name)),
                Subscription::LeaveModel(id) => socket.leave(model_room(&name, id)),
                Subscription::LeaveView => socket.leave(view_room(&name)),
            }
            // Serialize Null for the error slot: the original client tests
            // the first argument for falsiness.
            if let Err(err) = ack.send(&(Value::Null, &outcome.result)) {
                tracing::debug!(connection = %client.id, %event, cause = %err, "ack not delivered");
            }
            broadcast::push(tenant, &socket, &outcome.committed.changes).await;
            broadcast::emit(&socket, outcome.committed.emits).await;
        }
        Err(err) => {
            tracing::debug!(connection = %client.id, %event, code = ?err.code, message = %err.message, "request refused");
            if let Err(send) = ack.send(&(&err, Value::Null)) {
                tracing::debug!(connection = %client.id, %event, cause = %send, "ack not delivered");
            }
        }
    }
}

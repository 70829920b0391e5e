//! The Socket.IO side: admits connections, serves each connection's
//! `<View>:<action>` events one after another in arrival order, and acks each
//! `(err, result)`.

use std::sync::Arc;

use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use tokio::sync::mpsc;

use crate::broadcast::Rooms;
use crate::client::Client;
use crate::request;
use crate::tenant::Tenant;
use crate::wire::WireError;

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
}

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
            let (queue, jobs) = mpsc::channel(MAX_QUEUED);
            tokio::spawn(work(tenant, jobs));
            socket.on_fallback(
                move |socket: SocketRef,
                      Event(event): Event,
                      TryData(data): TryData<Value>,
                      ack: AckSender| {
                    // This part runs as events arrive, in order: queue the
                    // event here, serve it in the connection's worker, so a
                    // client's saves apply in the order it made them.
                    let job = Job {
                        socket,
                        event,
                        data: data.ok(),
                        ack,
                    };
                    let refused = queue.try_send(job).err().map(|err| match err {
                        mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => job,
                    });
                    async move {
                        if let Some(job) = refused {
                            let err = WireError::unavailable(format!(
                                "more than {MAX_QUEUED} requests are waiting on this connection; wait for acks"
                            ));
                            refuse(&job.socket, job.ack, &job.event, &err);
                        }
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

/// Serves one connection's events in order; ends when the connection is gone
/// and its queue is drained.
async fn work(tenant: Arc<Tenant>, mut jobs: mpsc::Receiver<Job>) {
    while let Some(job) = jobs.recv().await {
        // Nobody is left to answer: a client that disconnected retries what
        // it did not see acked.
        if job.socket.connected() {
            serve(&tenant, job).await;
        }
    }
}

async fn serve(tenant: &Tenant, job: Job) {
    let Job {
        socket,
        event,
        data,
        ack,
    } = job;
    let Some(client) = socket.extensions.get::<Client>() else {
        refuse(
            &socket,
            ack,
            &event,
            &WireError::unavailable("connection not set up"),
        );
        return;
    };
    // No data at all (`emit("V:list", ack)`) reads as null; each route
    // says whether null will do.
    let data = data.unwrap_or(Value::Null);
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
    let sent = tenant
        .broadcaster
        .release(socket, commit, rooms, reply, ack, emits);
    // The next request waits for this ack: acks keep their order.
    let _ = sent.await;
}

fn refuse(socket: &SocketRef, ack: AckSender, event: &str, err: &WireError) {
    tracing::debug!(connection = %socket.id, %event, code = %err.code, message = %err.message, "request refused");
    if let Err(send) = ack.send(&(err, Value::Null)) {
        tracing::debug!(connection = %socket.id, %event, cause = %send, "ack not delivered");
    }
}

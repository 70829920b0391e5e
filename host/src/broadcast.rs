//! Pushes derived from committed write sets, sent in commit order: for every
//! written model, every view over its collection, every subscriber but the
//! requester.
//!
//! Each tenant has one broadcaster task. Requests hand it their commits and
//! their new subscriptions; it sends the pushes of commit `n` only after those
//! of `n - 1`, and lets a connection join a room (and sends it the ack of its
//! `read` or `list`) exactly after the last commit that request's read saw.
//! So a subscriber never misses a change its read did not include, never gets
//! an older change after a newer one, and never gets a push before the ack
//! that tells it to listen.
//!
//! Rooms are named after the events they carry: `<View>` holds a view's
//! list-subscribers, `<View>/<id>` a model's. A connection in both receives
//! each push once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::{SendError, SocketError};
use tokio::sync::{mpsc, oneshot};

use crate::catalog::Catalog;
use crate::client::Client;
use crate::request::render;
use crate::store::{Change, Model, Store};
use crate::tx::{Emit, EmitTarget};
use crate::view::Plugin;

/// How long a missing commit may hold back the ones after it. Commits are
/// handed over right after they are made, so a gap this long means the
/// request that made it is gone; later pushes must not wait for ever.
const GAP_TIMEOUT: Duration = Duration::from_secs(5);

/// The room of a view's list-subscribers.
pub fn view_room(view: &str) -> String {
    view.to_owned()
}

/// The room of one model's subscribers.
pub fn model_room(view: &str, id: &str) -> String {
    format!("{view}/{id}")
}

/// A committed request's pushes.
struct CommitJob {
    requester: SocketRef,
    changes: Vec<Change>,
    emits: Vec<Emit>,
}

/// A connection that subscribes once every commit up to `after` is pushed.
struct SubscribeJob {
    after: u64,
    socket: SocketRef,
    room: String,
    ack: AckSender,
    result: Value,
    sent: oneshot::Sender<()>,
}

enum Job {
    Commit(u64, CommitJob),
    Subscribe(SubscribeJob),
}

/// The handle requests use to reach their tenant's broadcaster task.
#[derive(Clone)]
pub struct Broadcaster {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Broadcaster {
    /// Starts the broadcaster of a tenant with `store` and `catalog`.
    pub fn start(store: Arc<dyn Store>, catalog: Arc<Catalog>) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        let next = store.committed() + 1;
        tokio::spawn(run(store, catalog, queue, next));
        Self { jobs }
    }

    /// Hands over the pushes of commit `seq`, made by `requester`.
    pub fn commit(&self, seq: u64, requester: SocketRef, changes: Vec<Change>, emits: Vec<Emit>) {
        let job = CommitJob {
            requester,
            changes,
            emits,
        };
        if self.jobs.send(Job::Commit(seq, job)).is_err() {
            tracing::warn!(seq, "broadcaster gone; pushes of a commit dropped");
        }
    }

    /// Joins `socket` to `room` and acks `result` right after the pushes of
    /// commit `after`; resolves once the ack is on its way.
    pub fn subscribe(
        &self,
        after: u64,
        socket: SocketRef,
        room: String,
        ack: AckSender,
        result: Value,
    ) -> oneshot::Receiver<()> {
        let (sent, done) = oneshot::channel();
        let job = SubscribeJob {
            after,
            socket,
            room,
            ack,
            result,
            sent,
        };
        if let Err(mpsc::error::SendError(Job::Subscribe(job))) =
            self.jobs.send(Job::Subscribe(job))
        {
            // No broadcaster (shutting down): still answer the request.
            job.socket.join(job.room.clone());
            acknowledge(&job.socket, job.ack, &job.result);
        }
        done
    }
}

async fn run(
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    mut next: u64,
) {
    let mut commits: BTreeMap<u64, CommitJob> = BTreeMap::new();
    let mut waiting: Vec<SubscribeJob> = Vec::new();
    loop {
        let job = if commits.is_empty() {
            queue.recv().await
        } else {
            match tokio::time::timeout(GAP_TIMEOUT, queue.recv()).await {
                Ok(job) => job,
                Err(_) => {
                    // Commits after a gap are waiting: give up on the gap.
                    let skip_to = commits.keys().next().copied().unwrap_or(next);
                    tracing::warn!(
                        missing_from = next,
                        to = skip_to,
                        "pushes of lost commits skipped"
                    );
                    next = skip_to;
                    drain(&store, &catalog, &mut commits, &mut waiting, &mut next).await;
                    continue;
                }
            }
        };
        let Some(job) = job else { break };
        match job {
            Job::Commit(seq, job) if seq >= next => {
                commits.insert(seq, job);
            }
            Job::Commit(seq, job) => {
                // Late after a skipped gap: better sent out of order than not.
                tracing::warn!(seq, "pushes of a commit sent late");
                push(&store, &catalog, job).await;
            }
            Job::Subscribe(job) => waiting.push(job),
        }
        drain(&store, &catalog, &mut commits, &mut waiting, &mut next).await;
    }
}

/// Sends every push and subscription that is due, in order.
async fn drain(
    store: &Arc<dyn Store>,
    catalog: &Catalog,
    commits: &mut BTreeMap<u64, CommitJob>,
    waiting: &mut Vec<SubscribeJob>,
    next: &mut u64,
) {
    loop {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(waiting)
            .into_iter()
            .partition(|job| job.after < *next);
        *waiting = later;
        for job in due {
            job.socket.join(job.room.clone());
            acknowledge(&job.socket, job.ack, &job.result);
            let _ = job.sent.send(());
        }
        match commits.remove(next) {
            Some(job) => {
                push(store, catalog, job).await;
                *next += 1;
            }
            None => break,
        }
    }
}

/// Acks `result` with a null error (the original client tests the first
/// argument for falsiness). A connection too far behind to take its ack is
/// closed: it reconnects and refetches, rather than waiting for ever.
pub fn acknowledge(socket: &SocketRef, ack: AckSender, result: &Value) {
    if let Err(err) = ack.send(&(Value::Null, result)) {
        overflowed(socket, &err, "ack");
    }
}

fn overflowed(socket: &SocketRef, err: &SendError, what: &str) {
    if let SendError::Socket(SocketError::InternalChannelFull) = err {
        tracing::warn!(connection = %socket.id, "{what} did not fit the connection's send buffer; closing it so the client resyncs");
        let _ = socket.clone().disconnect();
    } else {
        tracing::debug!(connection = %socket.id, cause = %err, "{what} not delivered");
    }
}

async fn push(store: &Arc<dyn Store>, catalog: &Catalog, job: CommitJob) {
    let CommitJob {
        requester,
        changes,
        emits,
    } = job;
    for change in &changes {
        for view in catalog.over(&change.collection) {
            if view.spec().render_per_client {
                push_rendered(store, &requester, &view, change).await;
            } else {
                push_shared(&requester, &view.spec().name, change);
            }
        }
    }
    emit(&requester, emits);
}

/// Sends custom events a view emitted.
pub fn emit(requester: &SocketRef, emits: Vec<Emit>) {
    for Emit { to, event, data } in emits {
        match to {
            EmitTarget::Connection(id) => {
                let target = id
                    .parse()
                    .ok()
                    .and_then(|sid| requester.broadcast().get_socket(sid));
                match target {
                    Some(socket) => send(&socket, &event, &data),
                    None => {
                        tracing::debug!(connection = %id, %event, "custom event for a connection that is gone")
                    }
                }
            }
            EmitTarget::Subscribers(view) => {
                to_rooms(requester, vec![view_room(&view)], &event, &data)
            }
        }
    }
}

/// The attributes that differ between `before` and `after`, with the id.
fn changed(id: &str, before: &Model, after: &Model) -> Option<Model> {
    let mut diff: Model = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if diff.is_empty() {
        return None;
    }
    diff.insert("id".into(), Value::String(id.to_owned()));
    Some(diff)
}

fn push_shared(requester: &SocketRef, view: &str, change: &Change) {
    let id = &change.id;
    let both = || vec![view_room(view), model_room(view, id)];
    match (&change.before, &change.after) {
        (None, Some(after)) => {
            to_rooms(
                requester,
                vec![view_room(view)],
                &format!("{view}:serveradd"),
                &json!([after]),
            );
        }
        (Some(before), Some(after)) => {
            if let Some(diff) = changed(id, before, after) {
                to_rooms(
                    requester,
                    both(),
                    &format!("{view}/{id}:serverchange"),
                    &diff,
                );
            }
        }
        (Some(_), None) => {
            to_rooms(
                requester,
                both(),
                &format!("{view}/{id}:serverdestroy"),
                &json!({ "id": id }),
            );
            to_rooms(
                requester,
                vec![view_room(view)],
                &format!("{view}:serverremove"),
                &json!([{ "id": id }]),
            );
        }
        (None, None) => {}
    }
}

/// How one audience (clients with equal claims) sees the model before and
/// after the change.
type Sight = (Option<Value>, Option<Value>);

async fn push_rendered(
    store: &Arc<dyn Store>,
    requester: &SocketRef,
    view: &Arc<Plugin>,
    change: &Change,
) {
    let name = &view.spec().name;
    let id = &change.id;
    let view_room = view_room(name);
    // `to` leaves the requester out.
    let recipients = requester
        .to(vec![view_room.clone(), model_room(name, id)])
        .sockets();
    let mut sights: HashMap<Arc<str>, Sight> = HashMap::new();
    for socket in recipients {
        let Some(client) = socket.extensions.get::<Client>() else {
            continue;
        };
        let sight = match sights.get(&client.claims) {
            Some(sight) => sight.clone(),
            None => {
                let sight = (
                    see(store, view, &client, change.before.as_ref()).await,
                    see(store, view, &client, change.after.as_ref()).await,
                );
                sights.insert(Arc::clone(&client.claims), sight.clone());
                sight
            }
        };
        let lists = socket.rooms().iter().any(|room| *room == view_room);
        match sight {
            (None, Some(after)) if lists => {
                send(&socket, &format!("{name}:serveradd"), &json!([after]))
            }
            (Some(before), Some(after)) => {
                if let (Value::Object(before), Value::Object(after)) = (&before, &after)
                    && let Some(diff) = changed(id, before, after)
                {
                    send(&socket, &format!("{name}/{id}:serverchange"), &diff);
                }
            }
            (Some(_), None) if change.after.is_none() => {
                send(
                    &socket,
                    &format!("{name}/{id}:serverdestroy"),
                    &json!({ "id": id }),
                );
                if lists {
                    send(
                        &socket,
                        &format!("{name}:serverremove"),
                        &json!([{ "id": id }]),
                    );
                }
            }
            // Still there but no longer visible to this client: drop it from
            // its lists. Not `serverdestroy`, which the original client would
            // answer with a delete.
            (Some(_), None) if lists => {
                send(
                    &socket,
                    &format!("{name}:serverremove"),
                    &json!([{ "id": id }]),
                );
            }
            _ => {}
        }
    }
}

async fn see(
    store: &Arc<dyn Store>,
    view: &Plugin,
    client: &Client,
    model: Option<&Model>,
) -> Option<Value> {
    let model = model?;
    match render(store, view, client, model).await {
        Ok(sight) => sight,
        Err(err) => {
            // A failing render hides the model: never leak what the view
            // could not vouch for.
            tracing::warn!(view = %view.spec().name, cause = %err, "render failed during a push; model hidden from that audience");
            None
        }
    }
}

/// Sends one push to every connection in `rooms` but the requester,
/// serializing the payload once for all of them.
fn to_rooms(requester: &SocketRef, rooms: Vec<String>, event: &str, data: &impl serde::Serialize) {
    let recipients = requester.to(rooms).sockets();
    if recipients.is_empty() {
        return;
    }
    let payload = match serde_json::value::to_raw_value(data) {
        Ok(payload) => payload,
        Err(err) => {
            tracing::error!(%event, cause = %err, "push not serializable");
            return;
        }
    };
    for socket in recipients {
        send(&socket, event, &payload);
    }
}

fn send(socket: &SocketRef, event: &str, data: &(impl serde::Serialize + ?Sized)) {
    if let Err(err) = socket.emit(event, data) {
        overflowed(socket, &err, "push");
    }
}

//! Pushes derived from committed write sets, sent in commit order: for every
//! written model, every view over its collection, every subscriber but the
//! requester.
//!
//! Each tenant has one broadcaster task, and everything a client receives
//! after a request (acks and pushes alike) passes through it, so each client
//! sees one order:
//!
//! * commits are pushed in the order the store made them;
//! * while a connection's request runs, pushes to it are held; when the
//!   request ends, those of earlier commits go out first, then its ack, then
//!   the rest. A write's ack never arrives before an older change, and a
//!   `read` or `list` joins its room before it reads, so no change its answer
//!   lacks is missed, and none reaches the client before the ack that tells
//!   it to listen.
//!
//! Rooms are named after the events they carry: `<View>` holds a view's
//! list-subscribers, `<View>/<id>` a model's. A connection in both receives
//! each push once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::catalog::Catalog;
use crate::client::Client;
use crate::request::render_text;
use crate::store::{Change, Model, Store};
use crate::tx::{Emit, EmitTarget};
use crate::view::Plugin;
use crate::wire::WireError;

/// How long a missing commit may hold back the ones after it. Commits are
/// handed over the moment the store makes them, so a gap this long means the
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

/// How a request changes its connection's rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rooms {
    /// No change.
    Keep,
    /// Join this room when the request succeeds (a built-in `read` or
    /// `list` has joined it already when it started: [`Broadcaster::hold`]).
    Join(String),
    /// Leave this room.
    Leave(String),
}

/// A committed request's pushes.
struct CommitJob {
    requester: SocketRef,
    changes: Arc<[Change]>,
    emits: Vec<Emit>,
}

/// The end of a request: its ack, and what it changes for its connection.
struct ReleaseJob {
    socket: SocketRef,
    /// The request's own commit, if it wrote: its ack waits for that commit's
    /// pushes and goes out after the held pushes of earlier commits.
    commit: Option<u64>,
    rooms: Rooms,
    reply: Result<Value, WireError>,
    ack: AckSender,
    /// Custom events of a request that wrote nothing.
    emits: Vec<Emit>,
    done: oneshot::Sender<()>,
}

enum Job {
    Hold(SocketRef, Option<String>),
    Commit(u64, CommitJob),
    Release(ReleaseJob),
    /// A commit whose per-client renders were computed off the loop; `None`
    /// if computing them failed, and its pushes are lost.
    Rendered(u64, Option<(Prepared, Shown)>),
}

/// What each audience was last pushed of the models the last rendered commit
/// wrote: `(view, id)` to the model's text then and each audience's sight of
/// it. The next commit that changes the same model from that same text
/// diffs against these instead of rendering the model again: they are what
/// those clients hold.
type Shown = HashMap<(String, String), (Arc<str>, HashMap<Arc<str>, Option<Value>>)>;

/// Most sights kept in [`Shown`]: a commit of many models to many audiences
/// is not worth holding on to.
const MAX_SHOWN: usize = 10_000;

/// How each audience sees each model a commit wrote, for the views that
/// render per client: `(view, change index)` to sights by claims.
type Sights = HashMap<(String, usize), HashMap<Arc<str>, Sight>>;

/// A commit ready to send: its job, the views over what it wrote (as they
/// were when it was prepared), and the renders those views need.
struct Prepared {
    job: CommitJob,
    views: Vec<Arc<Plugin>>,
    sights: Sights,
}

/// A push waiting for its connection's request to end, with the commit it
/// came from.
type Held = (u64, String, Box<RawValue>);

/// A connection mid-request.
#[derive(Default)]
struct Holding {
    pushes: Vec<Held>,
    /// The room it joined when the request started.
    joined: Option<String>,
}

/// The handle requests use to reach their tenant's broadcaster task.
#[derive(Clone)]
pub struct Broadcaster {
    jobs: mpsc::UnboundedSender<Job>,
}

/// Who made a commit, so its pushes skip them.
pub struct Origin {
    broadcaster: Broadcaster,
    requester: SocketRef,
}

impl Origin {
    /// Hands over commit `seq`. Call it the moment the store committed: the
    /// broadcaster holds later commits back until it has this one.
    pub fn committed(&self, seq: u64, changes: Arc<[Change]>, emits: Vec<Emit>) {
        let job = CommitJob {
            requester: self.requester.clone(),
            changes,
            emits,
        };
        if self.broadcaster.jobs.send(Job::Commit(seq, job)).is_err() {
            tracing::warn!(seq, "broadcaster gone; pushes of a commit dropped");
        }
    }
}

impl Broadcaster {
    /// Starts the broadcaster of a tenant with `store` and `catalog`.
    pub fn start(store: Arc<dyn Store>, catalog: Arc<Catalog>) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        let next = store.committed() + 1;
        tokio::spawn(run(store, catalog, queue, jobs.downgrade(), next));
        Self { jobs }
    }

    /// Starts a request of `socket`: holds pushes to it until
    /// [`release`](Self::release), and joins it to `room` first if the
    /// request will subscribe. Returns the handle its commit goes through.
    pub fn hold(&self, socket: &SocketRef, room: Option<String>) -> Origin {
        let _ = self.jobs.send(Job::Hold(socket.clone(), room));
        Origin {
            broadcaster: self.clone(),
            requester: socket.clone(),
        }
    }

    /// Ends a request: acks `reply` in its place among the pushes, applies
    /// `rooms`, and resolves once the ack is on its way.
    pub fn release(
        &self,
        socket: SocketRef,
        commit: Option<u64>,
        rooms: Rooms,
        reply: Result<Value, WireError>,
        ack: AckSender,
        emits: Vec<Emit>,
    ) -> oneshot::Receiver<()> {
        let (done, sent) = oneshot::channel();
        let job = ReleaseJob {
            socket,
            commit,
            rooms,
            reply,
            ack,
            emits,
            done,
        };
        if let Err(mpsc::error::SendError(Job::Release(job))) = self.jobs.send(Job::Release(job)) {
            // No broadcaster (shutting down): still answer the request.
            answer(&job.socket, job.ack, &job.reply);
        }
        sent
    }
}

/// The broadcaster's state: commits waiting for their turn, requests
/// waiting to end, and the pushes held for connections mid-request.
struct Order {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    /// The next commit to push.
    next: u64,
    commits: BTreeMap<u64, CommitJob>,
    releases: Vec<ReleaseJob>,
    held: HashMap<Sid, Holding>,
    /// Since when commit `next` is missing while later ones wait.
    gap_since: Option<Instant>,
    /// Commit `next` while its renders are computed; later commits wait,
    /// acks that do not depend on it go on.
    rendering: bool,
    /// What the last rendered commit showed; away with its renders while
    /// they are computed.
    shown: Shown,
    /// The loop's own queue, for render results.
    post: mpsc::WeakUnboundedSender<Job>,
}

async fn run(
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    post: mpsc::WeakUnboundedSender<Job>,
    next: u64,
) {
    let mut order = Order {
        store,
        catalog,
        next,
        commits: BTreeMap::new(),
        releases: Vec::new(),
        held: HashMap::new(),
        gap_since: None,
        rendering: false,
        shown: Shown::new(),
        post,
    };
    loop {
        let job = match order.gap_since {
            None => queue.recv().await,
            Some(since) => match tokio::time::timeout_at(since + GAP_TIMEOUT, queue.recv()).await {
                Ok(job) => job,
                Err(_) => {
                    order.skip_gap();
                    order.drain().await;
                    continue;
                }
            },
        };
        let Some(job) = job else { break };
        match job {
            Job::Hold(socket, room) => {
                // Only a room it was not in yet is its to leave again.
                let joined = room.filter(|room| !socket.rooms().iter().any(|r| r == room));
                if let Some(room) = &joined {
                    socket.join(room.clone());
                }
                order.held.insert(
                    socket.id,
                    Holding {
                        pushes: Vec::new(),
                        joined,
                    },
                );
            }
            Job::Commit(seq, job) if seq >= order.next => {
                order.commits.insert(seq, job);
            }
            Job::Commit(seq, job) => {
                // Late after a skipped gap: better sent out of order than not.
                tracing::warn!(seq, "pushes of a commit sent late");
                let prepared = prepare(&order.store, &order.catalog, job, &mut Shown::new()).await;
                order.deliver(seq, prepared);
            }
            Job::Release(job) => order.releases.push(job),
            Job::Rendered(seq, prepared) => {
                match prepared {
                    Some((prepared, shown)) => {
                        order.shown = shown;
                        order.deliver(seq, prepared);
                    }
                    None => {
                        tracing::error!(seq, "rendering a commit's pushes failed; they are lost")
                    }
                }
                order.rendering = false;
                order.next += 1;
            }
        }
        order.drain().await;
    }
}

impl Order {
    /// Pushes every commit that is due, then ends every request whose commit
    /// has been pushed.
    async fn drain(&mut self) {
        let mut advanced = false;
        while !self.rendering
            && let Some(job) = self.commits.remove(&self.next)
        {
            let seq = self.next;
            if needs_render(&self.catalog, &job) {
                // Renders call views: compute them off the loop, so acks
                // that do not wait for this commit are not held up.
                self.rendering = true;
                let (store, catalog, post) = (
                    Arc::clone(&self.store),
                    Arc::clone(&self.catalog),
                    self.post.clone(),
                );
                let mut shown = std::mem::take(&mut self.shown);
                tokio::spawn(async move {
                    // In a task of its own, so that even a panic reports
                    // back and the commits after this one are not stuck.
                    let prepared = tokio::spawn(async move {
                        let prepared = prepare(&store, &catalog, job, &mut shown).await;
                        (prepared, shown)
                    })
                    .await
                    .ok();
                    if let Some(post) = post.upgrade() {
                        let _ = post.send(Job::Rendered(seq, prepared));
                    }
                });
                break;
            }
            // No view over it renders per client: nothing is shown anew.
            let prepared = prepare(&self.store, &self.catalog, job, &mut Shown::new()).await;
            self.deliver(seq, prepared);
            self.next += 1;
            advanced = true;
        }
        // The gap clock runs from when the current gap opened; a commit
        // being rendered is no gap.
        self.gap_since = match (self.commits.is_empty() || self.rendering, self.gap_since) {
            (true, _) => None,
            (false, Some(since)) if !advanced => Some(since),
            (false, _) => Some(Instant::now()),
        };
        let next = self.next;
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.releases)
            .into_iter()
            .partition(|job| job.commit.is_none_or(|seq| seq < next));
        self.releases = waiting;
        for job in due {
            self.release(job);
        }
    }

    fn skip_gap(&mut self) {
        let to = self.commits.keys().next().copied().unwrap_or(self.next);
        tracing::warn!(
            missing_from = self.next,
            to,
            "pushes of lost commits skipped"
        );
        self.next = to;
        self.gap_since = None;
    }

    fn release(&mut self, job: ReleaseJob) {
        let ReleaseJob {
            socket,
            commit,
            rooms,
            reply,
            ack,
            emits,
            done,
        } = job;
        match &rooms {
            Rooms::Join(room) if reply.is_ok() => socket.join(room.clone()),
            Rooms::Leave(room) => socket.leave(room.clone()),
            Rooms::Join(_) | Rooms::Keep => {}
        }
        let Holding {
            pushes,
            joined: joined_first,
        } = self.held.remove(&socket.id).unwrap_or_default();
        // A read's answer may lack any held change, so they all follow it;
        // a write's answer includes every commit before its own.
        let (before, after): (Vec<Held>, Vec<Held>) = pushes
            .into_iter()
            .partition(|(seq, _, _)| commit.is_some_and(|own| *seq < own));
        for (_, event, payload) in before {
            emit_to(&socket, &event, &payload);
        }
        answer(&socket, ack, &reply);
        for (_, event, payload) in after {
            emit_to(&socket, &event, &payload);
        }
        // A room joined early that the request did not end up subscribing
        // to (it failed, or a custom read answered without that id).
        if let Some(room) = &joined_first
            && !(reply.is_ok() && rooms == Rooms::Join(room.clone()))
        {
            socket.leave(room.clone());
        }
        if !socket.connected() {
            // Gone mid-request: its rooms were cleaned at disconnect; clean
            // what this request added since.
            socket.leave_all();
        }
        self.emit(&socket, self.next.saturating_sub(1), emits);
        let _ = done.send(());
    }

    /// Sends a prepared commit's pushes and custom events.
    fn deliver(&mut self, seq: u64, prepared: Prepared) {
        let Prepared { job, views, sights } = prepared;
        let CommitJob {
            requester,
            changes,
            emits,
        } = job;
        for view in &views {
            let spec = view.spec();
            let mine: Vec<(usize, &Change)> = changes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.collection == spec.collection)
                .collect();
            if spec.render_per_client {
                for (index, change) in mine {
                    if let Some(sights) = sights.get(&(spec.name.clone(), index)) {
                        self.push_rendered(seq, &requester, &spec.name, change, sights);
                    }
                }
            } else {
                let mine: Vec<&Change> = mine.into_iter().map(|(_, c)| c).collect();
                self.push_shared(seq, &requester, &spec.name, &mine);
            }
        }
        self.emit(&requester, seq, emits);
    }

    /// Sends custom events a view emitted.
    fn emit(&mut self, requester: &SocketRef, seq: u64, emits: Vec<Emit>) {
        for Emit { to, event, data } in emits {
            match to {
                EmitTarget::Connection(id) => {
                    let target = id
                        .parse()
                        .ok()
                        .and_then(|sid| requester.broadcast().get_socket(sid));
                    match target {
                        Some(socket) => self.send(seq, &[socket], &event, &data),
                        None => {
                            tracing::debug!(connection = %id, %event, "custom event for a connection that is gone")
                        }
                    }
                }
                EmitTarget::Subscribers(view) => {
                    let recipients = requester.to(view_room(&view)).sockets();
                    self.send(seq, &recipients, &event, &data);
                }
            }
        }
    }

    /// Sends one push to `recipients`, serializing it once; held for those
    /// mid-request.
    fn send(
        &mut self,
        seq: u64,
        recipients: &[SocketRef],
        event: &str,
        data: &impl serde::Serialize,
    ) {
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
            match self.held.get_mut(&socket.id) {
                Some(held) => held.pushes.push((seq, event.to_owned(), payload.clone())),
                None => emit_to(socket, event, &payload),
            }
        }
    }

    fn push_shared(&mut self, seq: u64, requester: &SocketRef, view: &str, changes: &[&Change]) {
        let listers = requester.to(view_room(view)).sockets();
        // One `serveradd` and one `serverremove` per commit and view: a
        // commit of many models is a few packets, not one per model.
        let added: Vec<&Model> = changes
            .iter()
            .filter(|c| c.before.is_none())
            .filter_map(|c| c.after.as_ref())
            .collect();
        if !added.is_empty() {
            self.send(seq, &listers, &format!("{view}:serveradd"), &added);
        }
        let mut removed = Vec::new();
        for change in changes {
            let id = &change.id;
            match (&change.before, &change.after) {
                (Some(before), Some(after)) => {
                    if let Some(diff) = changed(id, before, after) {
                        let recipients = requester
                            .to(vec![view_room(view), model_room(view, id)])
                            .sockets();
                        self.send(
                            seq,
                            &recipients,
                            &format!("{view}/{id}:serverchange"),
                            &diff,
                        );
                    }
                }
                (Some(_), None) => {
                    let recipients = requester
                        .to(vec![view_room(view), model_room(view, id)])
                        .sockets();
                    self.send(
                        seq,
                        &recipients,
                        &format!("{view}/{id}:serverdestroy"),
                        &json!({ "id": id }),
                    );
                    removed.push(json!({ "id": id }));
                }
                _ => {}
            }
        }
        if !removed.is_empty() {
            self.send(seq, &listers, &format!("{view}:serverremove"), &removed);
        }
    }

    /// Sends one change of a per-client view to each subscriber as its
    /// audience sees it. Connections that joined after the renders were
    /// made read after this commit was durable: their answer has it.
    fn push_rendered(
        &mut self,
        seq: u64,
        requester: &SocketRef,
        name: &str,
        change: &Change,
        sights: &HashMap<Arc<str>, Sight>,
    ) {
        let id = &change.id;
        let view_room = view_room(name);
        // `to` leaves the requester out.
        let recipients = requester
            .to(vec![view_room.clone(), model_room(name, id)])
            .sockets();
        for socket in recipients {
            let Some(client) = socket.extensions.get::<Client>() else {
                continue;
            };
            let Some(sight) = sights.get(&client.claims) else {
                continue;
            };
            let lists = socket.rooms().iter().any(|room| *room == view_room);
            let one = std::slice::from_ref(&socket);
            match sight {
                (None, Some(after)) if lists => {
                    self.send(seq, one, &format!("{name}:serveradd"), &json!([after]))
                }
                (Some(Value::Object(before)), Some(Value::Object(after))) => {
                    if let Some(diff) = changed(id, before, after) {
                        self.send(seq, one, &format!("{name}/{id}:serverchange"), &diff);
                    }
                }
                (Some(_), None) if change.after.is_none() => {
                    self.send(
                        seq,
                        one,
                        &format!("{name}/{id}:serverdestroy"),
                        &json!({ "id": id }),
                    );
                    if lists {
                        self.send(
                            seq,
                            one,
                            &format!("{name}:serverremove"),
                            &json!([{ "id": id }]),
                        );
                    }
                }
                // Still there but no longer visible to this client: drop it
                // from its lists. Not `serverdestroy`, which the original
                // client would answer with a delete.
                (Some(_), None) if lists => {
                    self.send(
                        seq,
                        one,
                        &format!("{name}:serverremove"),
                        &json!([{ "id": id }]),
                    );
                }
                _ => {}
            }
        }
    }
}

/// Whether any view over what `job` wrote renders per client.
fn needs_render(catalog: &Catalog, job: &CommitJob) -> bool {
    job.changes.iter().any(|change| {
        catalog
            .over(&change.collection)
            .iter()
            .any(|view| view.spec().render_per_client)
    })
}

/// Snapshots the views over what `job` wrote and renders each written model,
/// before and after, once per audience among its current subscribers; a
/// model's before is taken from `shown` when it is what was last pushed.
/// Leaves in `shown` what this commit shows.
async fn prepare(
    store: &Arc<dyn Store>,
    catalog: &Catalog,
    job: CommitJob,
    shown: &mut Shown,
) -> Prepared {
    let views: Vec<Arc<Plugin>> = catalog
        .all()
        .into_iter()
        .filter(|view| {
            job.changes
                .iter()
                .any(|c| c.collection == view.spec().collection)
        })
        .collect();
    let mut sights: Sights = HashMap::new();
    let mut now_shown = Shown::new();
    for view in views.iter().filter(|view| view.spec().render_per_client) {
        let name = &view.spec().name;
        for (index, change) in job.changes.iter().enumerate() {
            if change.collection != view.spec().collection {
                continue;
            }
            let recipients = job
                .requester
                .to(vec![view_room(name), model_room(name, &change.id)])
                .sockets();
            // Printed once, rendered for every audience.
            let text = |model: &Option<Model>| -> Option<Arc<str>> {
                model
                    .as_ref()
                    .map(|m| serde_json::to_string(m).unwrap_or_default().into())
            };
            let (before, after) = (text(&change.before), text(&change.after));
            let key = (name.clone(), change.id.clone());
            let earlier = shown
                .get(&key)
                .filter(|(text, _)| Some(text) == before.as_ref())
                .map(|(_, sights)| sights);
            let mut by_audience: HashMap<Arc<str>, Sight> = HashMap::new();
            for socket in recipients {
                let Some(client) = socket.extensions.get::<Client>() else {
                    continue;
                };
                if by_audience.contains_key(&client.claims) {
                    continue;
                }
                let seen = match earlier.and_then(|sights| sights.get(&client.claims)) {
                    Some(seen) => seen.clone(),
                    None => see(store, view, &client, before.as_ref()).await,
                };
                let sight = (seen, see(store, view, &client, after.as_ref()).await);
                by_audience.insert(Arc::clone(&client.claims), sight);
            }
            if let Some(after) = after {
                let last = by_audience
                    .iter()
                    .map(|(claims, (_, now))| (Arc::clone(claims), now.clone()))
                    .collect();
                now_shown.insert(key, (after, last));
            }
            sights.insert((name.clone(), index), by_audience);
        }
    }
    let kept: usize = now_shown.values().map(|(_, sights)| sights.len()).sum();
    if kept > MAX_SHOWN {
        now_shown.clear();
    }
    *shown = now_shown;
    Prepared { job, views, sights }
}

/// Acks `reply` as `(null, result)` or `(error, null)`: the original client
/// tests the first argument for falsiness.
fn answer(socket: &SocketRef, ack: AckSender, reply: &Result<Value, WireError>) {
    let sent = match reply {
        Ok(result) => ack.send(&(Value::Null, result)),
        Err(err) => ack.send(&(err, Value::Null)),
    };
    if let Err(err) = sent {
        overflowed(socket, &err, "ack");
    }
}

fn emit_to(socket: &SocketRef, event: &str, payload: &RawValue) {
    match socket.emit(event, payload) {
        Ok(()) => {
            crate::metrics::metrics().pushes_sent.inc();
        }
        Err(err) => {
            // A closed connection is no drop: its client refetches anyway.
            if matches!(err, SendError::Socket(SocketError::InternalChannelFull)) {
                crate::metrics::metrics().pushes_dropped.inc();
            }
            overflowed(socket, &err, "push");
        }
    };
}

/// Marks a connection being closed for falling behind.
#[derive(Clone)]
struct Overflowed;

/// A connection too far behind to take a packet is closed: its client
/// reconnects and refetches, instead of missing pushes or waiting for an ack
/// for ever. The disconnect packet itself needs room in the buffer, so it is
/// retried until it fits or the connection is gone.
fn overflowed(socket: &SocketRef, err: &SendError, what: &str) {
    if let SendError::Socket(SocketError::InternalChannelFull) = err {
        if socket.extensions.get::<Overflowed>().is_some() {
            return;
        }
        socket.extensions.insert(Overflowed);
        tracing::warn!(connection = %socket.id, "{what} did not fit the connection's send buffer; closing it so the client resyncs");
        let socket = socket.clone();
        tokio::spawn(async move {
            while socket.connected() {
                if socket.clone().disconnect().is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    } else {
        tracing::debug!(connection = %socket.id, cause = %err, "{what} not delivered");
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

/// How one audience (clients with equal claims) sees the model before and
/// after the change.
type Sight = (Option<Value>, Option<Value>);

async fn see(
    store: &Arc<dyn Store>,
    view: &Plugin,
    client: &Client,
    model: Option<&Arc<str>>,
) -> Option<Value> {
    let model = model?;
    match render_text(store, view, client, Arc::clone(model)).await {
        Ok(sight) => sight,
        Err(err) => {
            // A failing render hides the model: never leak what the view
            // could not vouch for.
            tracing::warn!(view = %view.spec().name, cause = %err, "render failed during a push; model hidden from that audience");
            None
        }
    }
}

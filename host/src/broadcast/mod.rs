//! A tenant's broadcaster: one task through which everything a client
//! receives after a request passes (acks and pushes alike), so each client
//! sees one order. The order itself is the [`Sequencer`]'s; this module
//! feeds it commits and requests, turns commits into pushes
//! ([`deliver`]), and hands its decisions to the connections through the
//! [`Link`] trait, which the Socket.IO adapter implements.
//!
//! * `deliver`: a commit's pushes and custom events, per view and audience.
//! * `follow`: on a shared store, other nodes' commits, from the feed and
//!   the commit log.

mod deliver;
mod follow;

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::applied::Applied;
use crate::client::Client;
use crate::render::Shown;
use crate::reply::Reply;
use crate::sequencer::{Outbox, Sequencer};
use crate::store::Change;
use crate::subscription::RoomChange;
use crate::tx::Emit;
use crate::view::Catalog;
use crate::wire::WireError;
use deliver::Prepared;

/// How long a missing commit may hold back the ones after it. Commits are
/// handed over the moment the store makes them, so a gap this long means the
/// request that made it is gone; later pushes must not wait for ever.
const GAP_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection's identity, cheap to copy and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(pub [u8; 16]);

/// One client connection, as the broadcaster reaches it.
pub trait Link: Send + Sync + 'static {
    /// Its identity.
    fn id(&self) -> ConnId;
    /// Who it is, once admitted.
    fn client(&self) -> Option<Client>;
    /// Whether it is in `room`.
    fn in_room(&self, room: &str) -> bool;
    /// Joins `room`.
    fn join(&self, room: &str);
    /// Leaves `room`.
    fn leave(&self, room: &str);
    /// Leaves every room.
    fn leave_all(&self);
    /// Whether it is still open.
    fn connected(&self) -> bool;
    /// Sends a push or custom event.
    fn emit(&self, event: &str, payload: &RawValue);
    /// Calls `each` for every other connection in any of `rooms`, once each.
    fn peers(&self, rooms: &[String], each: &mut dyn FnMut(&dyn Link));
    /// Calls `each` for the connection of the tenant with Socket.IO id `id`,
    /// if it is connected.
    fn peer(&self, id: &str, each: &mut dyn FnMut(&dyn Link));
    /// Disconnects it; they reconnect and start again.
    fn disconnect(&self) {}
}

/// Sends a request's answer: the Socket.IO ack, kept by the adapter.
pub trait Ack: Send + 'static {
    /// Acks `reply` as `(null, result)` or `(error, null)`.
    fn send(self: Box<Self>, reply: Result<Reply, WireError>);
}

/// The end of a request: its answer and what it changes for its connection.
pub struct Answer {
    /// The connection.
    pub link: Arc<dyn Link>,
    /// The request's place among the connection's requests.
    pub nth: u64,
    /// The ack's content.
    pub reply: Result<Reply, WireError>,
    /// Where it goes.
    pub ack: Box<dyn Ack>,
    /// How its subscriptions change.
    pub rooms: RoomChange,
    /// Custom events of a request that wrote nothing (a commit's go with its
    /// pushes).
    pub emits: Vec<Emit>,
    /// Resolves once the ack is on its way.
    pub sent: oneshot::Sender<()>,
}

/// A committed request's pushes.
struct Commit {
    requester: Arc<dyn Link>,
    changes: Arc<[Change]>,
    emits: Vec<Emit>,
}

/// What the broadcaster task is told.
enum Work {
    /// Request `nth` of a connection starts, joining a room first if it
    /// will subscribe to it.
    Start(Arc<dyn Link>, u64, Option<String>),
    /// A commit, the moment the store made it.
    Commit(u64, Commit),
    /// A request ends, with the commit it made, if any.
    End(Option<u64>, Answer),
    /// A commit whose per-client renders were computed off the loop; `None`
    /// if computing them failed, and its pushes are lost.
    Rendered(u64, Option<(Prepared, Shown)>),
    /// From now on, also push the commits other nodes make, to every
    /// connection of this node, reached through the namespace's link.
    Follow(Arc<dyn Link>),
    /// A commit another node made.
    Foreign(u64, Arc<[Change]>, Vec<Emit>),
    /// Read the commit log now: the feed may have missed commits.
    Catch,
}

/// The handle requests use to reach their tenant's broadcaster task.
#[derive(Clone)]
pub struct Broadcaster {
    work: mpsc::UnboundedSender<Work>,
}

/// Hands a request's commit to the broadcaster, naming who made it so its
/// pushes skip them.
#[derive(Clone)]
pub struct Origin {
    broadcaster: Broadcaster,
    requester: Arc<dyn Link>,
}

impl Origin {
    /// Hands over commit `seq`. Call it the moment the store committed: the
    /// broadcaster holds later commits back until it has this one.
    pub fn committed(&self, seq: u64, changes: Arc<[Change]>, emits: Vec<Emit>) {
        let commit = Commit {
            requester: Arc::clone(&self.requester),
            changes,
            emits,
        };
        if self
            .broadcaster
            .work
            .send(Work::Commit(seq, commit))
            .is_err()
        {
            tracing::warn!(seq, "broadcaster gone; pushes of a commit dropped");
        }
    }
}

impl Broadcaster {
    /// Starts the broadcaster of a tenant with `applied` state and
    /// `catalog`.
    pub fn start(applied: Arc<Applied>, catalog: Arc<Catalog>) -> Self {
        let (work, queue) = mpsc::unbounded_channel();
        let next = applied.store().committed() + 1;
        let task = Task {
            applied,
            catalog,
            order: Sequencer::new(next),
            gap_since: None,
            shown: Shown::default(),
            post: work.downgrade(),
            joined: HashMap::new(),
            everyone: None,
            polled: Instant::now(),
            own: follow::OwnMissing::default(),
        };
        tokio::spawn(task.run(queue));
        Self { work }
    }

    /// Starts request `nth` of `link`: holds pushes to it until
    /// [`end`](Self::end), and joins it to `room` first if the request will
    /// subscribe. Returns the handle its commit goes through.
    pub fn start_request(&self, link: &Arc<dyn Link>, nth: u64, room: Option<String>) -> Origin {
        let _ = self.work.send(Work::Start(Arc::clone(link), nth, room));
        Origin {
            broadcaster: self.clone(),
            requester: Arc::clone(link),
        }
    }

    /// Pushes, from now on, the commits other nodes make to this tenant too,
    /// to the connections `everyone` reaches; missing ones are read from
    /// the store's commit log.
    pub fn follow(&self, everyone: Arc<dyn Link>) {
        let _ = self.work.send(Work::Follow(everyone));
    }

    /// Hands over commit `seq`, made by another node.
    pub fn foreign(&self, seq: u64, changes: Arc<[Change]>, emits: Vec<Emit>) {
        let _ = self.work.send(Work::Foreign(seq, changes, emits));
    }

    /// Reads the commit log for commits the feed may have missed.
    pub fn catch_up(&self) {
        let _ = self.work.send(Work::Catch);
    }

    /// Ends a request that made commit `commit` (if it wrote): acks it in
    /// its place among the pushes and applies its room change.
    pub fn end(&self, commit: Option<u64>, answer: Answer) {
        if let Err(mpsc::error::SendError(Work::End(_, answer))) =
            self.work.send(Work::End(commit, answer))
        {
            // No broadcaster (shutting down): still answer the request.
            answer.ack.send(answer.reply);
            let _ = answer.sent.send(());
        }
    }
}

/// The order a tenant's acks and pushes go out in.
type Order = Sequencer<ConnId, Packet, Commit, Ending>;

/// The broadcaster task's state.
struct Task {
    applied: Arc<Applied>,
    catalog: Arc<Catalog>,
    order: Order,
    /// Since when the next commit is missing while later ones wait.
    gap_since: Option<Instant>,
    /// What the last rendered commit showed; away with its renders while
    /// they are computed.
    shown: Shown,
    /// The loop's own queue, for render results.
    post: mpsc::WeakUnboundedSender<Work>,
    /// The room each running request joined when it started, to leave again
    /// if it does not end up subscribed.
    joined: HashMap<(ConnId, u64), String>,
    /// On a shared store: every connection of this node, for pushing other
    /// nodes' commits.
    everyone: Option<Arc<dyn Link>>,
    /// When the commit log was last read.
    polled: Instant,
    /// On a shared store: this node's commit the log showed first.
    own: follow::OwnMissing,
}

/// A push or custom event, printed once for all its receivers.
#[derive(Clone)]
pub(crate) struct Packet {
    event: Arc<str>,
    payload: Arc<RawValue>,
}

/// A request's answer waiting for the sequencer to release it, with the
/// room it joined when it started.
struct Ending {
    answer: Answer,
    joined_first: Option<String>,
}

impl Task {
    async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Work>) {
        loop {
            let work = match self.deadline() {
                None => queue.recv().await,
                Some(at) => match tokio::time::timeout_at(at, queue.recv()).await {
                    Ok(work) => work,
                    Err(_) => {
                        self.on_time().await;
                        self.drain().await;
                        continue;
                    }
                },
            };
            let Some(work) = work else { break };
            match work {
                Work::Start(link, nth, room) => {
                    // Only a room it was not in yet is its to leave again.
                    let id = link.id();
                    if let Some(room) = room.filter(|room| !link.in_room(room)) {
                        link.join(&room);
                        self.joined.insert((id, nth), room);
                    }
                    self.order.hold(id, nth);
                }
                Work::Commit(seq, commit) => {
                    // On a shared store the log may have brought it first.
                    if !self.order.has(seq) {
                        self.order.committed(seq, commit);
                    }
                }
                Work::Follow(everyone) => {
                    self.everyone = Some(everyone);
                    self.fill().await;
                }
                Work::Foreign(seq, changes, emits) => self.foreign(seq, changes, emits),
                Work::Catch => self.fill().await,
                Work::End(commit, answer) => {
                    let conn = answer.link.id();
                    let nth = answer.nth;
                    let joined_first = self.joined.remove(&(conn, nth));
                    self.order.end(
                        conn,
                        nth,
                        commit,
                        Ending {
                            answer,
                            joined_first,
                        },
                    );
                }
                Work::Rendered(seq, prepared) => {
                    match prepared {
                        Some((prepared, shown)) => {
                            self.shown = shown;
                            deliver::deliver(&mut self.order, seq, prepared);
                        }
                        None => {
                            tracing::error!(
                                seq,
                                "rendering a commit's pushes failed; they are lost"
                            )
                        }
                    }
                    self.order.pushed(seq);
                }
            }
            self.drain().await;
        }
    }

    /// Pushes every commit that is due, then ends every request whose commit
    /// has been pushed.
    async fn drain(&mut self) {
        let mut advanced = false;
        while let Some((seq, commit)) = self.order.take_due() {
            let late = seq < self.order.next();
            if late {
                // Late after a skipped gap: better sent out of order than not.
                tracing::warn!(seq, "pushes of a commit sent late");
            }
            if !late && deliver::needs_render(&self.catalog, &commit.changes) {
                // Renders call views: compute them off the loop, so acks that
                // do not wait for this commit are not held up.
                self.render_off_loop(seq, commit);
                break;
            }
            let prepared =
                deliver::prepare(&self.applied, &self.catalog, commit, &mut Shown::default()).await;
            deliver::deliver(&mut self.order, seq, prepared);
            if !late {
                self.order.pushed(seq);
                advanced = true;
            }
        }
        // The gap clock runs from when the current gap opened; a commit being
        // rendered is no gap.
        self.gap_since = match (self.order.stalled(), self.gap_since) {
            (false, _) => None,
            (true, Some(since)) if !advanced => Some(since),
            (true, _) => Some(Instant::now()),
        };
        while let Some(ending) = self.order.next_ending() {
            self.release(ending);
        }
    }

    fn render_off_loop(&mut self, seq: u64, commit: Commit) {
        let (applied, catalog, post) = (
            Arc::clone(&self.applied),
            Arc::clone(&self.catalog),
            self.post.clone(),
        );
        let mut shown = std::mem::take(&mut self.shown);
        tokio::spawn(async move {
            // In a task of its own, so that even a panic reports back and the
            // commits after this one are not stuck.
            let prepared = tokio::spawn(async move {
                let prepared = deliver::prepare(&applied, &catalog, commit, &mut shown).await;
                (prepared, shown)
            })
            .await
            .ok();
            if let Some(post) = post.upgrade() {
                let _ = post.send(Work::Rendered(seq, prepared));
            }
        });
    }

    fn release(&mut self, ending: crate::sequencer::Ending<ConnId, Ending>) {
        let link = Arc::clone(&ending.answer.answer.link);
        match &ending.answer.answer.rooms {
            RoomChange::Join(room) if ending.answer.answer.reply.is_ok() => link.join(room),
            RoomChange::Leave(room) => link.leave(room),
            RoomChange::Join(_) | RoomChange::Keep => {}
        }
        let mut emits = Vec::new();
        self.order.release(
            ending,
            &mut Released {
                link: &*link,
                emits: &mut emits,
            },
        );
        if !link.connected() {
            // Gone mid-request: its rooms were cleaned at disconnect; clean
            // what this request added since.
            link.leave_all();
        }
        let seq = self.order.last_pushed();
        deliver::emit(&mut self.order, &*link, seq, emits);
    }
}

/// A released request's connection, as the sequencer's outbox.
struct Released<'a> {
    link: &'a dyn Link,
    emits: &'a mut Vec<Emit>,
}

impl Outbox<Packet, Ending> for Released<'_> {
    fn push(&mut self, packet: Packet) {
        deliver::send(self.link, &packet);
    }

    fn answer(&mut self, ending: Ending) {
        let Ending {
            answer,
            joined_first,
        } = ending;
        let answered = answer.reply.is_ok();
        answer.ack.send(answer.reply);
        // A room joined early that the request did not end up subscribing
        // to (it failed, or a custom read answered without that id).
        if let Some(room) = &joined_first
            && !(answered && answer.rooms == RoomChange::Join(room.clone()))
        {
            self.link.leave(room);
        }
        *self.emits = answer.emits;
        let _ = answer.sent.send(());
    }
}

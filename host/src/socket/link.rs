//! A Socket.IO connection as the broadcaster reaches it, and its acks: sends
//! that do not fit a connection's buffer, in packets or in bytes, close it,
//! so its client resyncs rather than missing pushes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use serde_json::value::RawValue;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::{SendError, SocketError};

use super::line::Line;
use crate::broadcast::{Ack, ConnId, Link};
use crate::client::Client;
use crate::metrics::metrics;
use crate::reply::Reply;
use crate::wire::WireError;

/// A connection of a tenant's namespace.
pub struct SocketLink(pub SocketRef);

/// Calls `each` once for every socket of `rooms`, `members` listing one
/// room's. Asked for several rooms at once, socketioxide collects their
/// members into a set it grows as it goes, a SipHash insert and a share of a
/// rehash per receiver of every push, though most pushes reach one room only
/// (a model's subscribers, or a view's listers): one room at a time needs no
/// set, and only when two of them have members are they told apart here.
pub(super) fn once_each(
    rooms: &[String],
    members: impl Fn(&str) -> Vec<SocketRef>,
    each: &mut dyn FnMut(&dyn Link),
) {
    let mut lists: Vec<Vec<SocketRef>> = rooms
        .iter()
        .map(|room| members(room))
        .filter(|list| !list.is_empty())
        .collect();
    if lists.len() <= 1 {
        for socket in lists.pop().into_iter().flatten() {
            each(&SocketLink(socket));
        }
        return;
    }
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(
        lists.iter().map(Vec::len).sum(),
        foldhash::fast::RandomState::default(),
    );
    for socket in lists.into_iter().flatten() {
        if seen.insert(socket.id) {
            each(&SocketLink(socket));
        }
    }
}

/// The identity the broadcaster keys a connection by.
pub fn conn_id(socket: &SocketRef) -> ConnId {
    let mut id = [0; 16];
    let text = socket.id.as_str().as_bytes();
    let len = text.len().min(16);
    id[..len].copy_from_slice(&text[..len]);
    ConnId(id)
}

impl Link for SocketLink {
    fn id(&self) -> ConnId {
        conn_id(&self.0)
    }

    fn client(&self) -> Option<Client> {
        self.0.extensions.get::<Client>()
    }

    fn in_room(&self, room: &str) -> bool {
        self.0.rooms().iter().any(|r| r == room)
    }

    fn join(&self, room: &str) {
        self.0.join(room.to_owned());
    }

    fn leave(&self, room: &str) {
        self.0.leave(room.to_owned());
    }

    fn leave_all(&self) {
        self.0.leave_all();
    }

    fn connected(&self) -> bool {
        self.0.connected()
    }

    fn emit(&self, event: &str, payload: &RawValue) {
        let Some(queued) = Queued::take(&self.0, event.len() + payload.get().len()) else {
            metrics().pushes_dropped.inc();
            close(&self.0);
            return;
        };
        match self.0.emit(event, payload) {
            Ok(()) => {
                metrics().pushes_sent.inc();
            }
            Err(err) => {
                queued.undo();
                // A closed connection is no drop: its client refetches anyway.
                if matches!(err, SendError::Socket(SocketError::InternalChannelFull)) {
                    metrics().pushes_dropped.inc();
                }
                overflowed(&self.0, &err, "push");
            }
        }
    }

    fn peers(&self, rooms: &[String], each: &mut dyn FnMut(&dyn Link)) {
        once_each(rooms, |room| self.0.to(room.to_owned()).sockets(), each);
    }

    fn peer(&self, id: &str, each: &mut dyn FnMut(&dyn Link)) {
        if let Some(socket) = id
            .parse()
            .ok()
            .and_then(|sid| self.0.broadcast().get_socket(sid))
        {
            each(&SocketLink(socket));
        }
    }
}

/// A request's Socket.IO ack.
pub struct SocketAck {
    /// The connection it answers on.
    pub socket: SocketRef,
    /// The client's ack callback.
    pub ack: AckSender,
}

impl Ack for SocketAck {
    fn send(self: Box<Self>, reply: Result<Reply, WireError>) {
        // Printed once: its length is what the connection's cap counts, and
        // the ack carries the printed text as it is.
        let result = reply.and_then(|result| {
            result.into_raw().map_err(|err| {
                tracing::error!(connection = %self.socket.id, cause = %err, "answer not serializable");
                WireError::unavailable("the answer could not be sent")
            })
        });
        let size = match &result {
            Ok(raw) => raw.get().len(),
            Err(err) => err.message.len(),
        };
        let Some(queued) = Queued::take(&self.socket, size) else {
            close(&self.socket);
            return;
        };
        let sent = match result {
            Ok(raw) => self.ack.send(&(Value::Null, raw)),
            Err(err) => self.ack.send(&(err, Value::Null)),
        };
        if let Err(err) = sent {
            queued.undo();
            overflowed(&self.socket, &err, "ack");
        }
    }
}

/// Bytes of one packet counted on its session's line.
struct Queued(Option<(Arc<Line>, u64)>);

/// Besides its event name and data, a packet carries its type, namespace,
/// ack id and JSON punctuation; a little over is fine, since what is written
/// is uncounted in full.
const PACKET_OVERHEAD: usize = 32;

impl Queued {
    /// Counts a packet of `size` bytes of name and data; `None` when the
    /// session has its cap unwritten already, and the packet must not go.
    fn take(socket: &SocketRef, size: usize) -> Option<Self> {
        let Some(line) = socket.extensions.get::<Arc<Line>>() else {
            return Some(Self(None));
        };
        let size = size.saturating_add(PACKET_OVERHEAD) as u64;
        line.queue(size).then(|| Self(Some((line, size))))
    }

    /// The packet was not queued after all.
    fn undo(self) {
        if let Some((line, size)) = self.0 {
            line.written(size);
        }
    }
}

/// Marks a connection being closed for falling behind.
#[derive(Clone)]
struct Overflowed;

/// A connection too far behind to take a packet is closed: its client
/// reconnects and refetches, instead of missing pushes or waiting for an ack
/// for ever.
fn overflowed(socket: &SocketRef, err: &SendError, what: &str) {
    if let SendError::Socket(SocketError::InternalChannelFull) = err {
        tracing::warn!(connection = %socket.id, "{what} did not fit the connection's send buffer; closing it so the client resyncs");
        close(socket);
    } else {
        tracing::debug!(connection = %socket.id, cause = %err, "{what} not delivered");
    }
}

/// Closes a connection that cannot take what it is sent, once. It leaves
/// its rooms at once, so nothing more is queued for it; a websocket's TCP
/// connection is cut, which ends its session however full its buffers are.
/// A long-polling session gets the namespace's disconnect packet, which
/// needs room in its buffer, so that is retried until it fits or the
/// session is gone (its heartbeat ends it if it never polls again).
pub fn close(socket: &SocketRef) {
    if socket.extensions.get::<Overflowed>().is_some() {
        return;
    }
    socket.extensions.insert(Overflowed);
    if let Some(line) = socket.extensions.get::<Arc<Line>>() {
        tracing::warn!(connection = %socket.id, queued = line.queued(), "the connection has too much unwritten; closing it so the client resyncs");
        line.cut();
    }
    socket.leave_all();
    let socket = socket.clone();
    tokio::spawn(async move {
        while socket.connected() {
            if socket.clone().disconnect().is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

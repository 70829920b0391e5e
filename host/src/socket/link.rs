//! A Socket.IO connection as the broadcaster reaches it, and its acks: sends
//! that do not fit a connection's buffer close it, so its client resyncs
//! rather than missing pushes.

use std::time::Duration;

use serde_json::Value;
use serde_json::value::RawValue;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::{SendError, SocketError};

use crate::broadcast::{Ack, ConnId, Link};
use crate::client::Client;
use crate::metrics::metrics;
use crate::wire::WireError;

/// A connection of a tenant's namespace.
pub struct SocketLink(pub SocketRef);

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
        match self.0.emit(event, payload) {
            Ok(()) => {
                metrics().pushes_sent.inc();
            }
            Err(err) => {
                // A closed connection is no drop: its client refetches anyway.
                if matches!(err, SendError::Socket(SocketError::InternalChannelFull)) {
                    metrics().pushes_dropped.inc();
                }
                overflowed(&self.0, &err, "push");
            }
        }
    }

    fn peers(&self, rooms: &[String], each: &mut dyn FnMut(&dyn Link)) {
        for socket in self.0.to(rooms.to_vec()).sockets() {
            each(&SocketLink(socket));
        }
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
    fn send(self: Box<Self>, reply: &Result<Value, WireError>) {
        let sent = match reply {
            Ok(result) => self.ack.send(&(Value::Null, result)),
            Err(err) => self.ack.send(&(err, Value::Null)),
        };
        if let Err(err) = sent {
            overflowed(&self.socket, &err, "ack");
        }
    }
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

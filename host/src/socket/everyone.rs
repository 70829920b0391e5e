//! Every connection of a tenant's namespace on this node, as one link: what
//! commits made on other nodes are pushed through, since no connection here
//! made them.

use serde_json::value::RawValue;
use socketioxide::SocketIo;

use super::link::{SocketLink, once_each};
use crate::broadcast::{ConnId, Link};
use crate::client::Client;

/// The connections of one namespace on this node.
pub struct Everyone {
    /// The server.
    pub io: SocketIo,
    /// The namespace.
    pub namespace: String,
}

impl Link for Everyone {
    fn id(&self) -> ConnId {
        // No connection's id: Socket.IO ids are 16 base64url characters.
        ConnId([0; 16])
    }

    fn client(&self) -> Option<Client> {
        None
    }

    fn in_room(&self, _room: &str) -> bool {
        false
    }

    fn join(&self, _room: &str) {}

    fn leave(&self, _room: &str) {}

    fn leave_all(&self) {}

    fn connected(&self) -> bool {
        true
    }

    fn emit(&self, _event: &str, _payload: &RawValue) {}

    fn peers(&self, rooms: &[String], each: &mut dyn FnMut(&dyn Link)) {
        let members = |room: &str| {
            self.io
                .of(&self.namespace)
                .map(|ns| ns.within(room.to_owned()).sockets())
                .unwrap_or_default()
        };
        once_each(rooms, members, each);
    }

    fn peer(&self, id: &str, each: &mut dyn FnMut(&dyn Link)) {
        if let Some(socket) = id
            .parse()
            .ok()
            .and_then(|sid| self.io.of(&self.namespace)?.get_socket(sid))
        {
            each(&SocketLink(socket));
        }
    }

    fn disconnect(&self) {
        if let Some(ns) = self.io.of(&self.namespace) {
            tokio::spawn(async move {
                let _ = ns.disconnect().await;
            });
        }
    }
}

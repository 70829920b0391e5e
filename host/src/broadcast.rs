//! Pushes derived from a committed write set: for every written model, every
//! view over its collection, every subscriber but the requester.
//!
//! Rooms are named after the events they carry: `<View>` holds a view's
//! list-subscribers, `<View>/<id>` a model's. A connection in both receives
//! each push once (Socket.IO broadcasts to a union of rooms).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

use crate::client::Client;
use crate::request::render;
use crate::store::{Change, Model};
use crate::tenant::Tenant;
use crate::tx::{Emit, EmitTarget};
use crate::view::Plugin;

/// The room of a view's list-subscribers.
pub fn view_room(view: &str) -> String {
    view.to_owned()
}

/// The room of one model's subscribers.
pub fn model_room(view: &str, id: &str) -> String {
    format!("{view}/{id}")
}

/// Sends every push `changes` call for, to everyone but `requester`.
pub async fn push(tenant: &Tenant, requester: &SocketRef, changes: &[Change]) {
    for change in changes {
        for view in tenant.catalog.over(&change.collection) {
            if view.spec().render_per_client {
                push_rendered(tenant, requester, &view, change).await;
            } else {
                push_shared(requester, &view.spec().name, change).await;
            }
        }
    }
}

/// Sends custom events a view emitted.
pub async fn emit(requester: &SocketRef, emits: Vec<Emit>) {
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
                broadcast(requester, vec![view_room(&view)], &event, &data).await;
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

async fn push_shared(requester: &SocketRef, view: &str, change: &Change) {
    let id = &change.id;
    let both = vec![view_room(view), model_room(view, id)];
    match (&change.before, &change.after) {
        (None, Some(after)) => {
            broadcast(
                requester,
                vec![view_room(view)],
                &format!("{view}:serveradd"),
                &json!([after]),
            )
            .await;
        }
        (Some(before), Some(after)) => {
            if let Some(diff) = changed(id, before, after) {
                broadcast(
                    requester,
                    both,
                    &format!("{view}/{id}:serverchange"),
                    &Value::Object(diff),
                )
                .await;
            }
        }
        (Some(_), None) => {
            broadcast(
                requester,
                both,
                &format!("{view}/{id}:serverdestroy"),
                &json!({ "id": id }),
            )
            .await;
            broadcast(
                requester,
                vec![view_room(view)],
                &format!("{view}:serverremove"),
                &json!([{ "id": id }]),
            )
            .await;
        }
        (None, None) => {}
    }
}

/// How one audience (clients with equal claims) sees the model before and
/// after the change.
type Sight = (Option<Value>, Option<Value>);

async fn push_rendered(
    tenant: &Tenant,
    requester: &SocketRef,
    view: &Arc<Plugin>,
    change: &Change,
) {
    let name = &view.spec().name;
    let id = &change.id;
    let view_room = view_room(name);
    let recipients = requester
        .to(vec![view_room.clone(), model_room(name, id)])
        .sockets();
    let mut sights: HashMap<Arc<str>, Sight> = HashMap::new();
    for socket in recipients {
        if socket.id == requester.id {
            continue;
        }
        let Some(client) = socket.extensions.get::<Client>() else {
            continue;
        };
        let sight = match sights.get(&client.claims) {
            Some(sight) => sight.clone(),
            None => {
                let sight = (
                    see(tenant, view, &client, change.before.as_ref()).await,
                    see(tenant, view, &client, change.after.as_ref()).await,
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
                    send(
                        &socket,
                        &format!("{name}/{id}:serverchange"),
                        &Value::Object(diff),
                    );
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
    tenant: &Tenant,
    view: &Plugin,
    client: &Client,
    model: Option<&Model>,
) -> Option<Value> {
    let model = model?;
    match render(tenant, view, client, model).await {
        Ok(sight) => sight,
        Err(err) => {
            // A failing render hides the model: never leak what the view
            // could not vouch for.
            tracing::warn!(view = %view.spec().name, cause = %err, "render failed during a push; model hidden from that audience");
            None
        }
    }
}

async fn broadcast(requester: &SocketRef, rooms: Vec<String>, event: &str, data: &Value) {
    if let Err(err) = requester.to(rooms).emit(event, data).await {
        tracing::debug!(%event, cause = %err, "push not delivered to every subscriber");
    }
}

fn send(socket: &SocketRef, event: &str, data: &Value) {
    // A full or closed socket drops the push: a slow client must not stall
    // the others. It catches up by refetching after it reconnects.
    if let Err(err) = socket.emit(event, data) {
        tracing::debug!(connection = %socket.id, %event, cause = %err, "push dropped");
    }
}

//! Turns a commit into pushes: for every written model, every view over its
//! collection, every subscriber but the requester; once for all when the
//! view shows models as stored, per audience when it renders per client.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::HashMapExt;
use serde_json::Value;

use super::{Commit, Link, Order, Packet};
use crate::applied::Applied;
use crate::push::{Push, changed};
use crate::render::{self, Audiences, Shown, Sight, Sights};
use crate::store::{Change, Model};
use crate::subscription::{model_room, view_room};
use crate::tx::{Emit, EmitTarget};
use crate::view::{Catalog, View};

/// A commit ready to push: the views over what it wrote (as they were when
/// it was prepared), and the renders those views need, by view and change.
pub(super) struct Prepared {
    commit: Commit,
    views: Vec<Arc<View>>,
    sights: HashMap<(String, usize), Sights>,
}

/// Whether any view over what a commit wrote renders per client.
pub(super) fn needs_render(catalog: &Catalog, changes: &[Change]) -> bool {
    changes.iter().any(|change| {
        catalog
            .over(&change.collection)
            .iter()
            .any(|view| view.spec().render_per_client)
    })
}

/// Snapshots the views over what `commit` wrote and renders each written
/// model, before and after, once per audience among its current
/// subscribers; a model's before is taken from `shown` when it is what was
/// last pushed. Leaves in `shown` what this commit shows.
pub(super) async fn prepare(
    applied: &Arc<Applied>,
    catalog: &Catalog,
    commit: Commit,
    shown: &mut Shown,
) -> Prepared {
    let views: Vec<Arc<View>> = catalog
        .all()
        .into_iter()
        .filter(|view| {
            commit
                .changes
                .iter()
                .any(|c| c.collection == view.spec().collection)
        })
        .collect();
    let mut sights = HashMap::new();
    let mut now_shown = Shown::default();
    for view in views.iter().filter(|view| view.spec().render_per_client) {
        let name = &view.spec().name;
        for (index, change) in commit.changes.iter().enumerate() {
            if change.collection != view.spec().collection {
                continue;
            }
            // One client per audience among the subscribers.
            let mut audiences = Audiences::default();
            commit.requester.peers(
                &[view_room(name), model_room(name, &change.id)],
                &mut |peer| {
                    if let Some(client) = peer.client() {
                        audiences
                            .entry(Arc::clone(&client.claims))
                            .or_insert(client);
                    }
                },
            );
            let before = change.before.as_deref().map(render::print);
            let after = change.after.as_deref().map(render::print);
            let by_audience = audience_sights(
                applied,
                view,
                shown,
                &change.id,
                audiences,
                before.as_ref(),
                after.as_ref(),
            )
            .await;
            if let Some(after) = after {
                now_shown.record(name, &change.id, after, &by_audience);
            }
            sights.insert((name.clone(), index), by_audience);
        }
    }
    now_shown.trim();
    *shown = now_shown;
    Prepared {
        commit,
        views,
        sights,
    }
}

/// How each audience sees a model before and after a change, the model
/// printed once as `before` and `after`: from `shown` where that is what the
/// audience was last pushed, the rest rendered together.
async fn audience_sights(
    applied: &Arc<Applied>,
    view: &View,
    shown: &Shown,
    id: &str,
    audiences: Audiences,
    before: Option<&Arc<str>>,
    after: Option<&Arc<str>>,
) -> Sights {
    let mut by_audience = Sights::with_capacity(audiences.len());
    let mut jobs = Vec::with_capacity(2 * audiences.len());
    // Which sight each job is: its audience, and whether before.
    let mut slots = Vec::with_capacity(2 * audiences.len());
    let last = before.and_then(|text| shown.seen(&view.spec().name, id, text));
    for (claims, client) in audiences {
        let seen = last.and_then(|last| last.get(&claims).cloned());
        if let (None, Some(text)) = (&seen, before) {
            jobs.push((client.clone(), Arc::clone(text)));
            slots.push((Arc::clone(&claims), true));
        }
        if let Some(text) = after {
            jobs.push((client, Arc::clone(text)));
            slots.push((Arc::clone(&claims), false));
        }
        by_audience.insert(
            claims,
            Sight {
                before: seen.flatten(),
                after: None,
            },
        );
    }
    let rendered = render::sights(applied, view, &jobs).await;
    for ((claims, is_before), sight) in slots.into_iter().zip(rendered) {
        if let Some(entry) = by_audience.get_mut(&claims) {
            if is_before {
                entry.before = sight;
            } else {
                entry.after = sight;
            }
        }
    }
    by_audience
}

/// Pushes a prepared commit `seq` and its custom events, through `order` so
/// that connections mid-request get them when their request ends.
pub(super) fn deliver(order: &mut Order, seq: u64, prepared: Prepared) {
    let Prepared {
        commit,
        views,
        sights,
    } = prepared;
    let requester = &*commit.requester;
    for view in &views {
        let spec = view.spec();
        let mine = commit
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.collection == spec.collection);
        if spec.render_per_client {
            for (index, change) in mine {
                if let Some(sights) = sights.get(&(spec.name.clone(), index)) {
                    push_rendered(order, seq, requester, &spec.name, change, sights);
                }
            }
        } else {
            let mine: Vec<&Change> = mine.map(|(_, c)| c).collect();
            push_shared(order, seq, requester, &spec.name, &mine);
        }
    }
    emit(order, requester, seq, commit.emits);
}

/// Sends custom events a view emitted, as part of commit `seq`.
pub(super) fn emit(order: &mut Order, requester: &dyn Link, seq: u64, emits: Vec<Emit>) {
    for Emit { to, event, data } in emits {
        let Some(packet) = packet(&event, &data) else {
            continue;
        };
        match to {
            EmitTarget::Connection(id) => {
                let mut found = false;
                requester.peer(&id, &mut |peer| {
                    found = true;
                    route(order, seq, peer, &packet);
                });
                if !found {
                    tracing::debug!(connection = %id, %event, "custom event for a connection that is gone");
                }
            }
            EmitTarget::Subscribers(view) => {
                requester.peers(&[view_room(&view)], &mut |peer| {
                    route(order, seq, peer, &packet);
                });
            }
        }
    }
}

/// Sends `packet` to `to` now, or holds it for `to`'s running request.
fn route(order: &mut Order, seq: u64, to: &dyn Link, packet: &Packet) {
    if let Some(packet) = order.route(seq, &to.id(), packet.clone()) {
        send(to, &packet);
    }
}

/// Sends one packet.
pub(super) fn send(to: &dyn Link, packet: &Packet) {
    to.emit(&packet.event, &packet.payload);
}

/// `data` printed once for all its receivers.
fn packet(event: &str, data: &impl serde::Serialize) -> Option<Packet> {
    match serde_json::value::to_raw_value(data) {
        Ok(payload) => Some(Packet {
            event: event.into(),
            payload: Arc::from(payload),
        }),
        Err(err) => {
            tracing::error!(%event, cause = %err, "push not serializable");
            None
        }
    }
}

/// A push printed once for all its receivers.
fn push_packet(push: &Push) -> Option<Packet> {
    let event = push.event();
    match push.payload() {
        Ok(payload) => Some(Packet {
            event: event.into(),
            payload: Arc::from(payload),
        }),
        Err(err) => {
            tracing::error!(%event, cause = %err, "push not serializable");
            None
        }
    }
}

/// Sends the push `make` makes (none when it makes `None`) to every
/// connection in `rooms` but the requester. Made and printed only if
/// someone receives it: a writer alone in its rooms costs no diff.
fn broadcast<'a>(
    order: &mut Order,
    seq: u64,
    requester: &dyn Link,
    rooms: &[String],
    make: impl FnOnce() -> Option<Push<'a>>,
) {
    let mut make = Some(make);
    let mut packet = None;
    requester.peers(rooms, &mut |peer| {
        if let Some(make) = make.take() {
            packet = make().as_ref().and_then(push_packet);
        }
        if let Some(packet) = &packet {
            route(order, seq, peer, packet);
        }
    });
}

/// Pushes the changes of a view that shows models as stored: serialized
/// once, sent to every subscriber.
fn push_shared(order: &mut Order, seq: u64, requester: &dyn Link, view: &str, changes: &[&Change]) {
    let listers = [view_room(view)];
    // One `serveradd` and one `serverremove` per commit and view: a commit of
    // many models is a few packets, not one per model.
    let added: Vec<&Model> = changes
        .iter()
        .filter(|c| c.before.is_none())
        .filter_map(|c| c.after.as_deref())
        .collect();
    if !added.is_empty() {
        broadcast(order, seq, requester, &listers, || {
            Some(Push::Add {
                view,
                models: added,
            })
        });
    }
    let mut removed = Vec::new();
    for change in changes {
        let id = change.id.as_str();
        let rooms = [view_room(view), model_room(view, id)];
        match (&change.before, &change.after) {
            (Some(before), Some(after)) => {
                broadcast(order, seq, requester, &rooms, || {
                    changed(id, before, after).map(|changed| Push::Change { view, id, changed })
                });
            }
            (Some(_), None) => {
                broadcast(order, seq, requester, &rooms, || {
                    Some(Push::Destroy { view, id })
                });
                removed.push(id);
            }
            _ => {}
        }
    }
    if !removed.is_empty() {
        broadcast(order, seq, requester, &listers, || {
            Some(Push::Remove { view, ids: removed })
        });
    }
}

/// Sends one change of a per-client view to each subscriber as its audience
/// sees it. Connections that joined after the renders were made read after
/// this commit was durable: their answer has it.
fn push_rendered(
    order: &mut Order,
    seq: u64,
    requester: &dyn Link,
    view: &str,
    change: &Change,
    sights: &Sights,
) {
    let id = change.id.as_str();
    let list_room = view_room(view);
    requester.peers(&[list_room.clone(), model_room(view, id)], &mut |peer| {
        let Some(client) = peer.client() else { return };
        let Some(sight) = sights.get(&client.claims) else {
            return;
        };
        // Asked only where it matters: socketioxide lists every room of the
        // socket to answer, and an update pushed to a subscriber never asks.
        let lists = || peer.in_room(&list_room);
        for push in pushes_for(view, id, change, sight, &lists) {
            if let Some(packet) = push_packet(&push) {
                route(order, seq, peer, &packet);
            }
        }
    });
}

/// What one audience is pushed of a change it sees as `sight`; `lists` tells
/// whether the receiver lists the whole view.
fn pushes_for<'a>(
    view: &'a str,
    id: &'a str,
    change: &Change,
    sight: &'a Sight,
    lists: &dyn Fn() -> bool,
) -> Vec<Push<'a>> {
    match (&sight.before, &sight.after) {
        (None, Some(Value::Object(after))) if lists() => vec![Push::Add {
            view,
            models: vec![after],
        }],
        (Some(Value::Object(before)), Some(Value::Object(after))) => changed(id, before, after)
            .map(|changed| Push::Change { view, id, changed })
            .into_iter()
            .collect(),
        (Some(_), None) if change.after.is_none() => {
            let mut pushes = vec![Push::Destroy { view, id }];
            if lists() {
                pushes.push(Push::Remove {
                    view,
                    ids: vec![id],
                });
            }
            pushes
        }
        // Still there but no longer visible to this client: drop it from its
        // lists. Not `serverdestroy`, which the original client would answer
        // with a delete.
        (Some(_), None) if lists() => vec![Push::Remove {
            view,
            ids: vec![id],
        }],
        _ => Vec::new(),
    }
}

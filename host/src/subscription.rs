//! Which pushes a connection receives. Rooms are named after the events
//! they carry: `<View>` holds a view's list-subscribers (after `list`),
//! `<View>/<id>` a model's (after `read` or `create`). A connection in both
//! receives each push once.

/// The room of a view's list-subscribers.
pub fn view_room(view: &str) -> String {
    view.to_owned()
}

/// The room of one model's subscribers.
pub fn model_room(view: &str, id: &str) -> String {
    format!("{view}/{id}")
}

/// How a request changes its connection's subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomChange {
    /// No change.
    Keep,
    /// Join this room when the request succeeds (a built-in `read` or `list`
    /// has joined it already when it started, so that no change its answer
    /// lacks is missed).
    Join(String),
    /// Leave this room.
    Leave(String),
}

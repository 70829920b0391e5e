//! The fake host's state: collections, sent events and log lines, and the
//! calls in progress with what each must undo. One per thread, so tests that
//! run in parallel never see each other's data.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Event, LogLine};

/// A stored model: a JSON object whose `id` is its key in its collection.
pub(crate) type Model = Map<String, Value>;

/// Models per collection, each in creation order.
pub(crate) type Collections = BTreeMap<String, Vec<Model>>;

/// Everything the fake host holds for one thread.
#[derive(Default)]
pub(crate) struct State {
    pub collections: Collections,
    /// How many ids were handed out, so the next one is new.
    pub ids: u64,
    /// Events sent: those of committed calls, and those emitted outside one.
    pub events: Vec<Event>,
    pub logs: Vec<LogLine>,
    /// Calls in progress, innermost last.
    pub calls: Vec<Call>,
}

/// One call of the view in progress, as the host runs it.
pub(crate) struct Call {
    /// The view's name, the prefix of the events it emits.
    pub view: String,
    /// The collections before the call, put back unless it commits; `None`
    /// for a call that may not write (see [`Call::writable`]), which has
    /// nothing to put back.
    before: Option<Collections>,
    /// Events emitted, sent only if the call commits.
    pub events: Vec<Event>,
    /// Writes made (creates, updates, removes), against the host's cap.
    pub writes: usize,
    /// JSON bytes written or emitted, against the host's cap.
    pub bytes: usize,
    /// Events emitted, against the host's cap.
    pub emitted: usize,
}

impl Call {
    /// Whether imports may write: only in `handle`, not in `render` or
    /// `connect`.
    pub fn writable(&self) -> bool {
        self.before.is_some()
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

/// Runs `f` on this thread's state. `f` must not call back into the view:
/// the state stays borrowed while it runs.
pub(crate) fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with_borrow_mut(f)
}

impl State {
    /// The model `id` of `collection`.
    pub fn get(&self, collection: &str, id: &str) -> Option<&Model> {
        self.collections
            .get(collection)?
            .iter()
            .find(|model| id_of(model) == Some(id))
    }

    /// The model `id` of `collection`, to change in place.
    pub fn get_mut(&mut self, collection: &str, id: &str) -> Option<&mut Model> {
        self.collections
            .get_mut(collection)?
            .iter_mut()
            .find(|model| id_of(model) == Some(id))
    }

    /// Deletes the model `id` of `collection`; returns whether it existed.
    pub fn remove(&mut self, collection: &str, id: &str) -> bool {
        let Some(models) = self.collections.get_mut(collection) else {
            return false;
        };
        let before = models.len();
        models.retain(|model| id_of(model) != Some(id));
        models.len() != before
    }

    /// Appends `model`, which carries its id, to `collection`.
    pub fn push(&mut self, collection: &str, model: Model) {
        self.collections
            .entry(collection.to_owned())
            .or_default()
            .push(model);
    }

    /// A fresh id shaped like the host's: a UUIDv7 as 32 lowercase hex
    /// digits, later ids sorting after earlier ones. Its clock is a counter
    /// that [`reset`](super::reset) restarts, so test runs are repeatable.
    pub fn new_id(&mut self) -> String {
        self.ids += 1;
        // 48-bit time, version 7, 12 bits, variant 0b10, 62 bits.
        format!("{:012x}7000{:016x}", self.ids >> 62, (1 << 63) | self.ids)
    }

    /// The call in progress, if any.
    pub fn call(&mut self) -> Option<&mut Call> {
        self.calls.last_mut()
    }
}

/// The `id` attribute of a stored model.
pub(crate) fn id_of(model: &Model) -> Option<&str> {
    model.get("id").and_then(Value::as_str)
}

/// A call in progress: its writes are committed by [`Tx::commit`] and undone
/// when it is dropped otherwise, i.e. when the view returned an error or a
/// panic unwinds through it.
#[must_use = "a call that is not committed is rolled back"]
pub(crate) struct Tx {
    committed: bool,
}

impl Tx {
    /// Starts a call of view `view`; `writable` as in [`Call::writable`].
    pub fn begin(view: &str, writable: bool) -> Self {
        with(|state| {
            let before = writable.then(|| state.collections.clone());
            state.calls.push(Call {
                view: view.to_owned(),
                before,
                events: Vec::new(),
                writes: 0,
                bytes: 0,
                emitted: 0,
            });
        });
        Self { committed: false }
    }

    /// Keeps the call's writes and sends its events (to the enclosing call,
    /// if any, which sends them when it commits in turn).
    pub fn commit(mut self) {
        self.committed = true;
        with(|state| {
            let Some(call) = state.calls.pop() else {
                return;
            };
            match state.calls.last_mut() {
                Some(outer) => outer.events.extend(call.events),
                None => state.events.extend(call.events),
            }
        });
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // Never borrowed here: a panic inside `with` has released the
        // borrow before this runs.
        with(|state| {
            if let Some(before) = state.calls.pop().and_then(|call| call.before) {
                state.collections = before;
            }
        });
    }
}

//! Recent client operations of a tenant. A write may carry a client
//! operation id (`"$op"` in its data); a repeat of an id seen in the last
//! minutes, after a lost ack and a reconnect say, is answered with the first
//! answer instead of being applied twice.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::watch;

use crate::reply::Reply;
use crate::subscription::RoomChange;
use crate::wire::WireError;

/// The attribute of a request's data that carries its operation id.
pub const OP_KEY: &str = "$op";

/// Longest operation id accepted.
pub const MAX_OP_LEN: usize = 128;

/// How long an operation's answer is kept: far longer than a client takes
/// to reconnect and retry.
const KEEP: Duration = Duration::from_secs(300);

/// Most operations remembered per tenant; the oldest are forgotten first.
const MAX_KEPT: usize = 10_000;

/// What an operation's first run answered, for its repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered {
    /// The ack's content.
    pub reply: Result<Reply, WireError>,
    /// How it changed its connection's subscriptions.
    pub rooms: RoomChange,
    /// Its commit, if it wrote: a repeat is answered after its pushes.
    pub commit: Option<u64>,
}

/// An operation's answer, once its first run has one.
pub type Pending = watch::Receiver<Option<Remembered>>;

/// A tenant's recent operations.
#[derive(Default)]
pub struct Ops {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    answers: HashMap<Arc<str>, Pending>,
    order: VecDeque<(Instant, Arc<str>)>,
}

/// Whether an operation is new or a repeat.
pub enum Claim {
    /// First seen: run it and [`finish`](First::finish) with its answer.
    First(First),
    /// Seen before: its answer, once it is known.
    Repeat(Pending),
}

/// The right and duty to answer a new operation.
pub struct First {
    ops: Arc<Ops>,
    op: Arc<str>,
    answer: watch::Sender<Option<Remembered>>,
    finished: bool,
}

impl First {
    /// Records `answer` for repeats of this operation.
    pub fn finish(mut self, answer: Remembered) {
        self.answer.send_replace(Some(answer));
        self.finished = true;
    }
}

impl Drop for First {
    fn drop(&mut self) {
        // Never answered (the request was abandoned): a repeat may run it.
        // Only this run's own entry goes, not a newer one for the same id.
        if !self.finished {
            let mut inner = self.ops.inner.lock();
            let own = inner
                .answers
                .get(&self.op)
                .is_some_and(|pending| pending.same_channel(&self.answer.subscribe()));
            if own {
                inner.answers.remove(&self.op);
            }
        }
    }
}

impl Ops {
    /// Claims operation `op`, an id already qualified by who sent it and
    /// for what (see [`key`]).
    pub fn claim(self: &Arc<Self>, op: &str) -> Claim {
        let mut inner = self.inner.lock();
        let now = Instant::now();
        while let Some((at, _)) = inner.order.front() {
            if now.duration_since(*at) < KEEP && inner.order.len() < MAX_KEPT {
                break;
            }
            if let Some((at, old)) = inner.order.pop_front() {
                // One still running is never forgotten: its repeat must wait
                // for it, not run it again. It is looked at again later.
                let running = inner
                    .answers
                    .get(&old)
                    .is_some_and(|pending| pending.borrow().is_none());
                if running {
                    inner.order.push_back((at, old));
                    break;
                }
                inner.answers.remove(&old);
            }
        }
        if let Some(pending) = inner.answers.get(op) {
            return Claim::Repeat(pending.clone());
        }
        let op: Arc<str> = op.into();
        let (answer, pending) = watch::channel(None);
        inner.answers.insert(Arc::clone(&op), pending);
        inner.order.push_back((now, Arc::clone(&op)));
        Claim::First(First {
            ops: Arc::clone(self),
            op,
            answer,
            finished: false,
        })
    }
}

/// The key an operation is remembered under: the sender's claims, the event
/// and the client's id, so an id only ever repeats the same client's same
/// kind of request.
pub fn key(claims: &str, event: &str, op: &str) -> String {
    // Hashed: claims may be long, and the store keeps the key as text.
    let mut hasher = blake3::Hasher::new();
    for part in [claims, event, op] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// Takes the operation id out of `data`, if it carries one; a malformed one
/// is an error.
pub fn take_op(data: &mut Value) -> Result<Option<String>, WireError> {
    let Some(fields) = data.as_object_mut() else {
        return Ok(None);
    };
    match fields.remove(OP_KEY) {
        None => Ok(None),
        Some(Value::String(op)) if !op.is_empty() && op.len() <= MAX_OP_LEN => Ok(Some(op)),
        Some(_) => Err(WireError::invalid(format!(
            "{OP_KEY} must be a string of 1 to {MAX_OP_LEN} characters"
        ))),
    }
}

/// The answer of a repeated operation, once its first run has one.
pub async fn answer_of(mut pending: Pending) -> Remembered {
    match pending.wait_for(Option::is_some).await {
        Ok(answer) => answer.clone().unwrap_or_else(abandoned),
        Err(_) => abandoned(),
    }
}

fn abandoned() -> Remembered {
    Remembered {
        reply: Err(WireError::unavailable(
            "the first attempt of this operation did not finish; try again",
        )),
        rooms: RoomChange::Keep,
        commit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_repeat_gets_the_first_answer_and_an_abandoned_one_may_run_again() {
        let ops = Arc::new(Ops::default());
        let Claim::First(first) = ops.claim("a-1") else {
            panic!("new operation");
        };
        let Claim::Repeat(pending) = ops.claim("a-1") else {
            panic!("a repeat");
        };
        first.finish(Remembered {
            reply: Ok(Value::from(7).into()),
            rooms: RoomChange::Join("V/1".into()),
            commit: Some(3),
        });
        let remembered = answer_of(pending).await;
        assert_eq!(remembered.reply, Ok(Value::from(7).into()));
        assert_eq!(remembered.rooms, RoomChange::Join("V/1".into()));

        let Claim::First(abandoned) = ops.claim("a-2") else {
            panic!("new operation");
        };
        drop(abandoned);
        assert!(matches!(ops.claim("a-2"), Claim::First(_)));
    }

    #[test]
    fn the_id_is_taken_out_of_the_data() {
        let mut data = serde_json::json!({"title": "x", "$op": "s-1"});
        assert_eq!(take_op(&mut data), Ok(Some("s-1".into())));
        assert_eq!(data, serde_json::json!({"title": "x"}));
        let mut bad = serde_json::json!({"$op": 5});
        assert!(take_op(&mut bad).is_err());
        let mut none = serde_json::json!([1]);
        assert_eq!(take_op(&mut none), Ok(None));
    }
}

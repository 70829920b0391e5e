//! Fair shares of the CPU for view code across tenants.
//!
//! View code runs only while its call holds a turn, and there are as many
//! turns as cores. A call that has run for a tick hands its turn on when
//! others are waiting, and queues for the next one. Turns go round-robin
//! between tenants, so a tenant whose calls all loop gets its share and no
//! more: other tenants' calls wait about one tick for a turn, and the
//! runtime's workers are never all busy with view code.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// Hands out turns to run view code.
pub struct Fair {
    state: Mutex<State>,
    /// Calls queued for a turn; read without the lock on every tick.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct State {
    free: usize,
    /// Tenants with queued calls, in the order they are served.
    tenants: VecDeque<Arc<str>>,
    queued: HashMap<Arc<str>, VecDeque<oneshot::Sender<()>>>,
}

/// The right to run view code; handed on when dropped.
pub struct Turn {
    fair: Arc<Fair>,
    tenant: Arc<str>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.fair.release(Some(&self.tenant));
    }
}

impl Fair {
    /// `turns` calls may run view code at once.
    pub fn new(turns: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                free: turns.max(1),
                ..State::default()
            }),
            waiting: AtomicUsize::new(0),
        })
    }

    /// Whether any call is waiting for a turn.
    pub fn contended(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// Waits for a turn for a call of `tenant`.
    pub async fn acquire(self: &Arc<Self>, tenant: &Arc<str>) -> Turn {
        let granted = {
            let mut guard = self.state.lock();
            let state = &mut *guard;
            if state.free > 0 && state.tenants.is_empty() {
                state.free -= 1;
                None
            } else {
                let (tx, rx) = oneshot::channel();
                let queue = state.queued.entry(Arc::clone(tenant)).or_default();
                if queue.is_empty() {
                    state.tenants.push_back(Arc::clone(tenant));
                }
                queue.push_back(tx);
                self.waiting.fetch_add(1, Ordering::AcqRel);
                Some(rx)
            }
        };
        if let Some(rx) = granted {
            let mut wait = Wait {
                fair: Arc::clone(self),
                rx: Some(rx),
            };
            wait.wait().await;
        }
        Turn {
            fair: Arc::clone(self),
            tenant: Arc::clone(tenant),
        }
    }

    /// Gives a turn freed by a call of `from` to the next tenant in line
    /// other than `from` if there is one, or back to the pool.
    fn release(&self, from: Option<&Arc<str>>) {
        let mut state = self.state.lock();
        if state.tenants.len() > 1 && state.tenants.front() == from {
            state.tenants.rotate_left(1);
        }
        while let Some(tenant) = state.tenants.pop_front() {
            let Some(queue) = state.queued.get_mut(&tenant) else {
                continue;
            };
            let next = queue.pop_front();
            let more = !queue.is_empty();
            if more {
                state.tenants.push_back(Arc::clone(&tenant));
            } else {
                state.queued.remove(&tenant);
            }
            if let Some(next) = next {
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                // A waiter that gave up is skipped; its turn goes on.
                if next.send(()).is_ok() {
                    return;
                }
            }
        }
        state.free += 1;
    }
}

/// A queued call; if it is dropped after being granted a turn but before
/// taking it, the turn is handed on.
struct Wait {
    fair: Arc<Fair>,
    rx: Option<oneshot::Receiver<()>>,
}

impl Wait {
    async fn wait(&mut self) {
        if let Some(rx) = self.rx.as_mut() {
            // The sender is only dropped with the whole `Fair`.
            let _ = rx.await;
        }
        self.rx = None;
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.fair.release(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_alternate_between_tenants_whatever_their_queue_lengths() {
        let fair = Fair::new(1);
        let noisy: Arc<str> = "noisy".into();
        let quiet: Arc<str> = "quiet".into();
        let first = fair.acquire(&noisy).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for (tenant, n) in [(&noisy, 3), (&quiet, 1), (&noisy, 4)] {
            let shared = Arc::clone(&fair);
            let tenant = Arc::clone(tenant);
            let order = Arc::clone(&order);
            waiting.push(tokio::spawn(async move {
                let turn = shared.acquire(&tenant).await;
                order.lock().push(format!("{tenant}{n}"));
                drop(turn);
            }));
            // Queue in this order.
            while fair.waiting.load(Ordering::Acquire) < waiting.len() {
                tokio::task::yield_now().await;
            }
        }
        assert!(fair.contended());
        drop(first);
        for task in waiting {
            task.await.expect("task");
        }
        // A turn a noisy call hands on goes to quiet first, although two
        // noisy calls queued before it.
        assert_eq!(*order.lock(), vec!["quiet1", "noisy3", "noisy4"]);
        assert!(!fair.contended());
        assert_eq!(fair.state.lock().free, 1);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_lose_the_turn() {
        let fair = Fair::new(1);
        let tenant: Arc<str> = "t".into();
        let held = fair.acquire(&tenant).await;
        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(10), fair.acquire(&tenant)).await;
        assert!(gave_up.is_err());
        drop(held);
        let again =
            tokio::time::timeout(std::time::Duration::from_secs(1), fair.acquire(&tenant)).await;
        assert!(again.is_ok(), "the turn came back to the pool");
    }
}

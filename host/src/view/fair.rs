//! Fair shares of the CPU for view code across tenants.
//!
//! View code on the threads that serve requests runs only while its call
//! holds a turn, and there are as many turns as cores. A call that has run
//! for a tick hands its turn on when others are waiting, and queues for the
//! next one. Turns go round-robin between tenants, so a tenant whose calls
//! all loop gets its share and no more, and the runtime's workers are never
//! all busy with view code. A call that runs long moves to the view
//! workers, which run at the lowest priority: there it takes little more
//! than what request work leaves, and holds no turn (a turn held by a
//! thread the kernel keeps waiting would keep other tenants' calls waiting
//! with it).
//!
//! A tenant that comes to wait when none of its calls did is not kept
//! waiting for the tick: the turn holders are nudged (the epoch advanced at
//! once), and a holder that has run long hands its turn on right away. The
//! nudges are counted, so that the epoch callback does not take them for
//! ticks of CPU time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// Hands out turns to run view code.
pub struct Fair {
    state: Mutex<State>,
    /// Calls queued for a turn; read without the lock on every tick.
    waiting: AtomicUsize,
    /// Times the holders were nudged; see [`Fair::nudges`].
    nudges: AtomicU64,
    /// Advances the epoch out of turn; nothing in tests.
    nudge: Box<dyn Fn() + Send + Sync>,
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
    granted: Instant,
}

impl Turn {
    /// How long ago the turn was granted.
    pub fn held_for(&self) -> Duration {
        self.granted.elapsed()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.fair.release(Some(&self.tenant));
    }
}

impl Fair {
    /// `turns` calls may run view code at once, with nothing to nudge.
    #[cfg(test)]
    pub fn new(turns: usize) -> Arc<Self> {
        Self::with_nudge(turns, || {})
    }

    /// `turns` calls may run view code at once; `nudge` advances the epoch
    /// so that running calls reach their epoch callback now.
    pub fn with_nudge(turns: usize, nudge: impl Fn() + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                free: turns.max(1),
                ..State::default()
            }),
            waiting: AtomicUsize::new(0),
            nudges: AtomicU64::new(0),
            nudge: Box::new(nudge),
        })
    }

    /// How many times the holders were nudged so far: an epoch callback that
    /// sees this change ran because of a nudge, not because a tick passed.
    pub fn nudges(&self) -> u64 {
        self.nudges.load(Ordering::Acquire)
    }

    /// Whether any call is waiting for a turn.
    pub fn contended(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// Waits for a turn for a new call of `tenant`; nudges the holders when
    /// the tenant is new to the line.
    pub async fn acquire(self: &Arc<Self>, tenant: &Arc<str>) -> Turn {
        self.take(tenant, true).await
    }

    /// Waits for the next turn for a call of `tenant` that handed one on.
    /// It never nudges: two looping calls would otherwise nudge each other
    /// out of every turn they get.
    pub async fn reacquire(self: &Arc<Self>, tenant: &Arc<str>) -> Turn {
        self.take(tenant, false).await
    }

    async fn take(self: &Arc<Self>, tenant: &Arc<str>, may_nudge: bool) -> Turn {
        let (granted, newcomer) = {
            let mut guard = self.state.lock();
            let state = &mut *guard;
            if state.free > 0 && state.tenants.is_empty() {
                state.free -= 1;
                (None, false)
            } else {
                let (tx, rx) = oneshot::channel();
                let queue = state.queued.entry(Arc::clone(tenant)).or_default();
                let newcomer = queue.is_empty();
                if newcomer {
                    state.tenants.push_back(Arc::clone(tenant));
                }
                queue.push_back(tx);
                self.waiting.fetch_add(1, Ordering::AcqRel);
                (Some(rx), newcomer)
            }
        };
        // Only a tenant new to the line: one whose calls are queued already
        // gets its next turn in the round anyway, and nudging for each of
        // them would have a looping tenant nudge all the time.
        if newcomer && may_nudge {
            self.nudges.fetch_add(1, Ordering::AcqRel);
            (self.nudge)();
        }
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
            granted: Instant::now(),
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
    async fn only_a_tenant_new_to_the_line_nudges_the_holders() {
        let nudged = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&nudged);
        let fair = Fair::with_nudge(1, move || {
            counter.fetch_add(1, Ordering::AcqRel);
        });
        let noisy: Arc<str> = "noisy".into();
        let quiet: Arc<str> = "quiet".into();
        // A free turn: nobody to nudge.
        let held = fair.acquire(&noisy).await;
        assert_eq!((fair.nudges(), nudged.load(Ordering::Acquire)), (0, 0));

        let queue = |tenant: &Arc<str>, again: bool| {
            let (fair, tenant) = (Arc::clone(&fair), Arc::clone(tenant));
            tokio::spawn(async move {
                let turn = if again {
                    fair.reacquire(&tenant).await
                } else {
                    fair.acquire(&tenant).await
                };
                drop(turn);
            })
        };
        let wait_for = |n: usize| {
            let fair = Arc::clone(&fair);
            async move {
                while fair.waiting.load(Ordering::Acquire) < n {
                    tokio::task::yield_now().await;
                }
            }
        };
        // A call handed back, new to the line: no nudge.
        let handed_back = queue(&noisy, true);
        wait_for(1).await;
        assert_eq!(fair.nudges(), 0);
        // A second new call of a tenant already in line: none either.
        let more_noise = queue(&noisy, false);
        wait_for(2).await;
        assert_eq!(fair.nudges(), 0);
        // A new call of a tenant not in line: one.
        let quiet_call = queue(&quiet, false);
        wait_for(3).await;
        assert_eq!((fair.nudges(), nudged.load(Ordering::Acquire)), (1, 1));

        drop(held);
        for task in [handed_back, more_noise, quiet_call] {
            task.await.expect("task");
        }
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

//! What a tenant is doing: open connections, when it was last used, and its
//! recent plugin failures. Outlives the loaded tenant, so the admin endpoint
//! still shows failures after an idle tenant is unloaded.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

/// Failures kept per tenant; older ones are dropped.
const RECENT_FAILURES: usize = 20;

/// One plugin failure, as the admin endpoint lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The view that failed.
    pub view: String,
    /// The route it was serving (`render`, `connect` for those exports).
    pub action: String,
    /// What the client was told.
    pub reason: String,
    /// Detail from the sandbox, for the operator.
    pub detail: String,
}

/// Counters and recent history of one tenant.
#[derive(Debug)]
pub struct Activity {
    connections: AtomicUsize,
    last_active: Mutex<Instant>,
    failures: Mutex<VecDeque<Failure>>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            connections: AtomicUsize::new(0),
            last_active: Mutex::new(Instant::now()),
            failures: Mutex::new(VecDeque::new()),
        }
    }
}

impl Activity {
    /// Counts a new connection unless `max` are open already.
    pub fn connect(&self, max: usize) -> bool {
        let admitted = self
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .is_ok();
        self.touch();
        admitted
    }

    /// Counts a connection gone.
    pub fn disconnect(&self) {
        let _ = self
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                open.checked_sub(1)
            });
        self.touch();
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Marks the tenant as used now.
    pub fn touch(&self) {
        *self.last_active.lock() = Instant::now();
    }

    /// When the tenant was last used.
    pub fn last_active(&self) -> Instant {
        *self.last_active.lock()
    }

    /// Records a plugin failure.
    pub fn failed(&self, view: &str, action: &str, reason: &str, detail: &str) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut failures = self.failures.lock();
        if failures.len() == RECENT_FAILURES {
            failures.pop_front();
        }
        failures.push_back(Failure {
            at_ms,
            view: view.to_owned(),
            action: action.to_owned(),
            reason: reason.to_owned(),
            detail: detail.to_owned(),
        });
    }

    /// Recent failures, newest last.
    pub fn failures(&self) -> Vec<Failure> {
        self.failures.lock().iter().cloned().collect()
    }
}

//! Each Engine.IO session's outgoing bytes that are queued but not yet
//! written to the network, capped: a session at its cap takes no more, and
//! the connection is closed so its client resyncs instead of the host
//! holding ever more for a client that reads nothing.
//!
//! Queued bytes are counted when an ack or push is handed to socketioxide,
//! and uncounted when they leave: written to the websocket's TCP connection
//! (`meter`), or taken by a long-polling GET (`gate`). The count never goes
//! below zero, so frame overhead and pings, written but never queued here,
//! make it read low by a few bytes per packet at most, never drift.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use super::meter::Wire;

/// One session's unwritten bytes.
pub struct Line {
    queued: AtomicU64,
    cap: u64,
    /// The TCP connection of its websocket, once it has one.
    wire: OnceLock<Weak<Wire>>,
}

impl Line {
    fn new(cap: u64) -> Self {
        Self {
            queued: AtomicU64::new(0),
            cap,
            wire: OnceLock::new(),
        }
    }

    /// Counts `bytes` about to be queued; false, counting nothing, when the
    /// session already has its cap or more unwritten. A packet bigger than
    /// the cap still goes out when little is queued, so a large answer is
    /// never refused outright.
    pub fn queue(&self, bytes: u64) -> bool {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued < self.cap).then(|| queued.saturating_add(bytes))
            })
            .is_ok()
    }

    /// Uncounts `bytes` that left.
    pub fn written(&self, bytes: u64) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                Some(queued.saturating_sub(bytes))
            });
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Acquire)
    }

    /// Its websocket's TCP connection is `wire` from now on.
    pub fn attach(self: &Arc<Self>, wire: &Arc<Wire>) {
        wire.carry(Arc::clone(self));
        let _ = self.wire.set(Arc::downgrade(wire));
    }

    /// Cuts its websocket's TCP connection, if it has one.
    pub fn cut(&self) {
        if let Some(wire) = self.wire.get().and_then(Weak::upgrade) {
            wire.cut();
        }
    }
}

/// Every session's [`Line`], by Engine.IO session id. A line lives as long
/// as its namespace sockets or its websocket do; the map keeps none alive.
pub struct Lines {
    cap: u64,
    lines: Mutex<Map>,
}

struct Map {
    by_sid: HashMap<String, Weak<Line>>,
    /// Size at which dead entries are swept next.
    sweep_at: usize,
}

impl Lines {
    /// Lines capped at `cap` unwritten bytes each.
    pub fn new(cap: u64) -> Self {
        Self {
            cap,
            lines: Mutex::new(Map {
                by_sid: HashMap::new(),
                sweep_at: 64,
            }),
        }
    }

    /// The line of session `sid`, made if it has none yet.
    pub fn line(&self, sid: &str) -> Arc<Line> {
        let mut map = self.lines.lock();
        if let Some(line) = map.by_sid.get(sid).and_then(Weak::upgrade) {
            return line;
        }
        if map.by_sid.len() >= map.sweep_at {
            map.by_sid.retain(|_, line| line.strong_count() > 0);
            map.sweep_at = (map.by_sid.len() * 2).max(64);
        }
        let line = Arc::new(Line::new(self.cap));
        map.by_sid.insert(sid.to_owned(), Arc::downgrade(&line));
        line
    }

    /// The line of session `sid`, if it has one.
    pub fn get(&self, sid: &str) -> Option<Arc<Line>> {
        self.lines.lock().by_sid.get(sid).and_then(Weak::upgrade)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_takes_packets_until_its_cap_is_reached() {
        let line = Line::new(100);
        assert!(line.queue(60));
        assert!(line.queue(60), "under the cap, one more goes out");
        assert!(!line.queue(1), "at the cap, nothing more");
        assert_eq!(line.queued(), 120);
        line.written(50);
        assert!(line.queue(10));
        line.written(1_000);
        assert_eq!(line.queued(), 0, "never below zero");
        assert!(line.queue(10_000), "a big packet alone goes out");
    }

    #[test]
    fn lines_are_shared_by_sid_and_swept_once_dropped() {
        let lines = Lines::new(10);
        let a = lines.line("a");
        assert!(Arc::ptr_eq(&a, &lines.line("a")));
        for i in 0..1_000 {
            drop(lines.line(&i.to_string()));
        }
        assert!(
            lines.lines.lock().by_sid.len() <= 130,
            "dead lines are swept"
        );
        assert!(lines.get("a").is_some());
        drop(a);
        assert!(lines.get("a").is_none());
    }
}

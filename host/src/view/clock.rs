//! The epoch clock: a thread that advances the engine's epoch every tick
//! while view code may be running, and sleeps once none has run for a while.
//!
//! The epoch is what a view's CPU deadline and its turns count, so it only
//! needs to move while a call is under way. Ticking regardless woke the
//! process a thousand times a second with no traffic at all (about 1.3 % of
//! a core, by `perf`, on a host doing nothing).

use std::sync::Arc;
use std::sync::OnceLock;
#[cfg(test)]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::Thread;

use wasmtime::EngineWeak;

use super::TICK;

/// Ticks with no call running before the clock sleeps: long enough that a
/// steady trickle of requests keeps it awake, so a call rarely has to wake
/// it.
const IDLE_TICKS: u32 = 100;

/// The clock's shared state; the thread holds one handle, the engine another.
pub struct Clock {
    /// Calls under way, each counted by a [`Running`].
    running: AtomicUsize,
    /// Set before the thread parks, so a call that starts knows to wake it.
    asleep: AtomicBool,
    closed: AtomicBool,
    /// Epoch increments so far, for the tests to watch.
    #[cfg(test)]
    ticks: AtomicU64,
    thread: OnceLock<Thread>,
}

/// Keeps the clock ticking while it lives: held for the whole of a call.
pub struct Running(Arc<Clock>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Clock {
    /// Starts the clock for `engine`. It ends when the engine is gone or
    /// [`Clock::close`] is called.
    pub fn start(engine: EngineWeak) -> std::io::Result<Arc<Self>> {
        let clock = Arc::new(Self {
            running: AtomicUsize::new(0),
            asleep: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            #[cfg(test)]
            ticks: AtomicU64::new(0),
            thread: OnceLock::new(),
        });
        let own = Arc::clone(&clock);
        let handle = std::thread::Builder::new()
            .name("halo-epoch".into())
            .spawn(move || own.run(&engine))?;
        let _ = clock.thread.set(handle.thread().clone());
        Ok(clock)
    }

    fn run(&self, engine: &EngineWeak) {
        let mut idle = 0;
        loop {
            // Sleep first: a call that woke the clock gets a whole tick
            // before its first one, so its deadline never comes early.
            std::thread::sleep(TICK);
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            let Some(engine) = engine.upgrade() else {
                return;
            };
            engine.increment_epoch();
            drop(engine);
            #[cfg(test)]
            self.ticks.fetch_add(1, Ordering::Relaxed);
            if self.running.load(Ordering::SeqCst) > 0 {
                idle = 0;
                continue;
            }
            idle += 1;
            if idle < IDLE_TICKS {
                continue;
            }
            idle = 0;
            // Announced before the last look: a call that starts after it
            // sees `asleep` and unparks, one before it is seen here (both
            // sequentially consistent), so no call is left without ticks.
            self.asleep.store(true, Ordering::SeqCst);
            while self.running.load(Ordering::SeqCst) == 0 && !self.closed.load(Ordering::SeqCst) {
                std::thread::park();
            }
            self.asleep.store(false, Ordering::SeqCst);
        }
    }

    /// Counts a call as running until the guard drops, waking the clock if
    /// it sleeps.
    pub fn running(self: &Arc<Self>) -> Running {
        self.running.fetch_add(1, Ordering::SeqCst);
        if self.asleep.load(Ordering::SeqCst) {
            self.wake();
        }
        Running(Arc::clone(self))
    }

    /// Whether the clock sleeps (no call for a while).
    #[cfg(test)]
    pub fn is_asleep(&self) -> bool {
        self.asleep.load(Ordering::SeqCst)
    }

    /// Epoch increments so far.
    #[cfg(test)]
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Stops the thread.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Waits until `done` holds, for at most `limit`.
    fn until(limit: Duration, done: impl Fn() -> bool) -> bool {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    #[test]
    fn the_clock_sleeps_when_no_call_runs_and_ticks_again_for_one_that_starts() {
        let engine = wasmtime::Engine::new(&super::super::engine::config()).expect("engine");
        let clock = Clock::start(engine.weak()).expect("clock");
        assert!(
            until(Duration::from_secs(30), || clock.is_asleep()),
            "the clock kept ticking with no call"
        );
        let before = clock.ticks();
        let running = clock.running();
        assert!(
            until(Duration::from_secs(30), || clock.ticks() > before + 2),
            "a call started and the clock did not tick"
        );
        assert!(!clock.is_asleep());
        drop(running);
        assert!(
            until(Duration::from_secs(30), || clock.is_asleep()),
            "the clock did not sleep again after the call"
        );
        clock.close();
    }
}

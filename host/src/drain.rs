//! Requests in flight, so a shutdown can let them finish before it closes
//! the sockets they would be acked on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Counts requests from the moment they arrive until they are acked, and
/// refuses new ones once closing.
#[derive(Debug, Default)]
pub struct Drain {
    closing: AtomicBool,
    active: AtomicUsize,
    idle: Notify,
}

/// One request in flight; it is done when dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Drain>);

impl Drain {
    /// Admits a request, or `None` once the host is shutting down.
    pub fn enter(self: &Arc<Self>) -> Option<InFlight> {
        // Counted before the check, and sequentially consistent with
        // `close`'s store-then-load: either this sees `closing`, or `close`
        // sees this request counted.
        self.active.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(Arc::clone(self));
        (!self.closing.load(Ordering::SeqCst)).then_some(guard)
    }

    /// Whether the host is shutting down.
    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Requests in flight now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Refuses new requests from now on and waits up to `grace` for those in
    /// flight to finish; returns how many were still running when it gave
    /// up.
    pub async fn close(&self, grace: Duration) -> usize {
        self.closing.store(true, Ordering::SeqCst);
        let finished = tokio::time::timeout(grace, async {
            loop {
                // Registered before the check, so a wake-up between the two
                // is not lost.
                let idle = self.idle.notified();
                if self.active() == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await;
        if finished.is_ok() { 0 } else { self.active() }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_waits_for_requests_in_flight_and_refuses_new_ones() {
        let drain = std::sync::Arc::new(Drain::default());
        let (started, wait) = tokio::sync::oneshot::channel();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let busy = std::sync::Arc::clone(&drain);
        let request = tokio::spawn(async move {
            let _in_flight = busy.enter().expect("admitted before closing");
            let _ = started.send(());
            let _ = finished.await;
        });
        wait.await.expect("request started");
        let closer = std::sync::Arc::clone(&drain);
        let closing = tokio::spawn(async move { closer.close(Duration::from_secs(10)).await });
        tokio::task::yield_now().await;
        assert!(!closing.is_finished(), "close waits for the request");
        assert!(drain.enter().is_none(), "no new request once closing");
        let _ = finish.send(());
        request.await.expect("request ends");
        assert_eq!(closing.await.expect("close ends"), 0);
    }

    #[tokio::test]
    async fn close_gives_up_after_the_grace_period() {
        let drain = Arc::new(Drain::default());
        let _stuck = drain.enter().expect("admitted");
        assert_eq!(drain.close(Duration::from_millis(20)).await, 1);
    }
}

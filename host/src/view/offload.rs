//! Where a view call runs: on the caller's task while it is short, on the
//! engine's view workers once it has run for a tick.
//!
//! Most calls (validate, write, render) finish in a few microseconds, far
//! less than the two thread hops a trip to the view workers costs. A call
//! that runs long yields at the next epoch tick; from then on it runs on the
//! view workers, so the workers that serve sockets never run view code for
//! more than a tick at a time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// Set by the epoch callback when the call yielded because it used up a
/// tick, not because it waits for something.
pub(crate) type RanLong = Arc<AtomicBool>;

/// A call polled on the caller's task until it either finishes or yields
/// for running long; then it is handed back, to be moved.
pub(crate) struct Here<F> {
    call: Option<Pin<Box<F>>>,
    ran_long: RanLong,
}

/// What polling a call here came to.
pub(crate) enum Outcome<F: Future> {
    /// It finished here.
    Done(F::Output),
    /// It ran long and has not finished; the rest of it is this.
    Long(Pin<Box<F>>),
}

impl<F: Future> Here<F> {
    pub(crate) fn new(call: F, ran_long: RanLong) -> Self {
        Self {
            call: Some(Box::pin(call)),
            ran_long,
        }
    }
}

impl<F: Future> Future for Here<F> {
    type Output = Outcome<F>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(call) = self.call.as_mut() else {
            // Only polled again after it was done, which callers don't do.
            return Poll::Pending;
        };
        match call.as_mut().poll(cx) {
            Poll::Ready(output) => {
                self.call = None;
                Poll::Ready(Outcome::Done(output))
            }
            // Waiting for a turn or a read costs this task nothing: keep it.
            Poll::Pending if !self.ran_long.load(Ordering::Acquire) => Poll::Pending,
            Poll::Pending => match self.call.take() {
                Some(call) => Poll::Ready(Outcome::Long(call)),
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_short_call_finishes_here_and_a_long_one_is_handed_back_unfinished() {
        let flag: RanLong = Arc::new(AtomicBool::new(false));
        let short = Here::new(async { 7 }, Arc::clone(&flag)).await;
        assert!(matches!(short, Outcome::Done(7)));

        // Waiting is not running long: it stays here until done.
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let waiting = tokio::spawn(Here::new(
            async move { rx.await.unwrap_or(0) },
            Arc::clone(&flag),
        ));
        tokio::task::yield_now().await;
        tx.send(3).ok();
        assert!(matches!(waiting.await, Ok(Outcome::Done(3))));

        let long_flag = Arc::clone(&flag);
        let long = Here::new(
            async move {
                long_flag.store(true, Ordering::Release);
                tokio::task::yield_now().await;
                5
            },
            Arc::clone(&flag),
        )
        .await;
        match long {
            Outcome::Long(rest) => assert_eq!(rest.await, 5, "the rest runs wherever it is moved"),
            Outcome::Done(_) => panic!("a call that ran long was kept"),
        }
    }
}

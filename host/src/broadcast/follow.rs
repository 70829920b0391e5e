//! On a store other nodes share: taking in the commits they make, from the
//! feed or, for what the feed missed, from the commit log, and deciding when
//! the broadcaster's loop must look for them.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Commit, GAP_TIMEOUT, Order, Task};
use crate::store::{Change, LogRead};
use crate::tx::Emit;

/// On a shared store, how long a missing commit may hold back the ones
/// after it before it is read from the commit log: the feed usually brings
/// it sooner.
const FILL_DELAY: Duration = Duration::from_millis(100);

/// On a shared store, how often the commit log is checked for commits the
/// feed did not bring (it delivers at most once, and not while it is down).
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Most commits read from the log at once.
const FILL_BATCH: usize = 256;

impl Task {
    /// When the loop must act if no work comes: a gap to fill or give up on,
    /// or the commit log to check.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match (&self.everyone, self.gap_since) {
            (None, None) => None,
            (None, Some(since)) => Some(since + GAP_TIMEOUT),
            (Some(_), Some(since)) => Some(since + FILL_DELAY),
            (Some(_), None) => Some(self.polled + POLL_EVERY),
        }
    }

    pub(super) async fn on_time(&mut self) {
        if self.everyone.is_some() {
            self.fill().await;
            return;
        }
        let skipped = self.order.skip_gap();
        tracing::warn!(
            missing_from = skipped.start,
            to = skipped.end,
            "pushes of lost commits skipped"
        );
        self.gap_since = None;
    }

    /// Takes in a commit another node made, unless it is here already.
    pub(super) fn foreign(&mut self, seq: u64, changes: Arc<[Change]>, emits: Vec<Emit>) {
        let Some(everyone) = &self.everyone else {
            return;
        };
        if self.order.has(seq) {
            return;
        }
        self.applied.store().observe(seq);
        let commit = Commit {
            requester: Arc::clone(everyone),
            changes,
            emits,
        };
        self.order.committed(seq, commit);
    }

    /// Reads the commits this node has not seen from the commit log. When
    /// the log no longer has them, this node's clients are disconnected:
    /// they reconnect and read the current state.
    pub(super) async fn fill(&mut self) {
        self.polled = Instant::now();
        let Some(everyone) = self.everyone.clone() else {
            return;
        };
        let after = self.order.last_pushed();
        self.own.arrived(&self.order);
        let read = self.applied.store().log_after(after, FILL_BATCH).await;
        match read {
            Ok(LogRead::Commits(commits)) => {
                let now = Instant::now();
                for logged in commits {
                    if logged.mine
                        && !self.order.has(logged.seq)
                        && !self.own.overdue(logged.seq, now)
                    {
                        continue;
                    }
                    let emits = logged
                        .events
                        .and_then(|events| serde_json::from_value(events).ok())
                        .unwrap_or_default();
                    self.foreign(logged.seq, logged.changes.into(), emits);
                }
                if self.order.stalled() {
                    // Still a gap: read on at the next deadline.
                    self.gap_since = Some(Instant::now());
                }
            }
            Ok(LogRead::Behind { head }) => {
                tracing::warn!(
                    from = after + 1,
                    to = head,
                    "commits this node missed are no longer in the commit log; its clients start again"
                );
                self.order.restart_after(head);
                self.applied.store().observe(head);
                everyone.disconnect();
            }
            Err(err) => {
                tracing::warn!(cause = %err, "reading the commit log failed; trying again");
            }
        }
    }
}

/// This node's own commit that the commit log showed before its request
/// handed it over. Taken from the log, it would be pushed to every
/// connection, its requester among them; so it is left to its request,
/// unless that request seems gone.
#[derive(Default)]
pub(super) struct OwnMissing(Option<(u64, Instant)>);

impl OwnMissing {
    /// Forgets the commit it waits for once it is in `order`.
    fn arrived(&mut self, order: &Order) {
        if self.0.is_some_and(|(seq, _)| order.has(seq)) {
            self.0 = None;
        }
    }

    /// Whether own commit `seq`, which the log shows and the order lacks,
    /// has waited for its request as long as a gap may last. Only the
    /// first such commit is timed; the ones after it wait behind it.
    fn overdue(&mut self, seq: u64, now: Instant) -> bool {
        match self.0 {
            Some((waiting, since)) if waiting == seq => {
                let overdue = now >= since + GAP_TIMEOUT;
                if overdue {
                    self.0 = None;
                }
                overdue
            }
            Some((waiting, _)) if waiting < seq => false,
            _ => {
                self.0 = Some((seq, now));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_own_commit_is_left_to_its_request_until_a_gap_would_time_out() {
        let mut own = OwnMissing::default();
        let start = Instant::now();
        assert!(
            !own.overdue(7, start),
            "first seen: its request hands it over"
        );
        assert!(!own.overdue(8, start), "a later own commit waits behind it");
        assert!(!own.overdue(7, start + FILL_DELAY));
        assert!(own.overdue(7, start + GAP_TIMEOUT), "its request is gone");
        let later = start + GAP_TIMEOUT;
        assert!(!own.overdue(8, later), "the next one is timed afresh");
        assert!(!own.overdue(8, later + FILL_DELAY));
        assert!(own.overdue(8, later + GAP_TIMEOUT));
    }
}

//! Running a write again when another node's commit came between its reads
//! and its own: how often, after what pause, when it holds the tenant, and
//! letting later writes go once it will not run again.

use crate::store::Hold;
use crate::tenant::Tenant;

/// How often a write is run again when other nodes' commits keep coming
/// between its reads and its own commit.
pub(super) const MAX_AGAIN: u32 = 32;

/// Runs lost to other nodes' commits before a write holds the tenant: its
/// next run makes other nodes' commits wait, so it cannot lose again to a
/// node that writes nonstop. Losing now and then is the cheaper path, so
/// hold waits for a write that keeps losing.
const HOLD_AFTER: u32 = 3;

/// The longest pause before running a write again, in milliseconds.
const MAX_BACKOFF_MS: u64 = 64;

/// A random pause before run `attempt` of a write that lost to another
/// node's commit: nodes that keep colliding on one tenant stop doing so in
/// lockstep, and each gets its turn at the tenant's lock.
fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling = (1u64 << attempt.min(6)).min(MAX_BACKOFF_MS);
    std::time::Duration::from_micros(fastrand::u64(0..=ceiling * 1000))
}

/// Readies run `attempt` of write `event`, which lost: lets go of the hold
/// of its last run, pauses, and holds `tenant` if the write has lost often
/// enough. The hold is taken before the run reads, so that its reads are
/// current when it commits, and kept until it is durable.
pub(super) async fn prepare(
    tenant: &Tenant,
    event: &str,
    attempt: u32,
    last: Option<Hold>,
) -> Option<Hold> {
    crate::metrics::metrics().writes_again.inc();
    // Other nodes need not wait through the pause.
    drop(last);
    tokio::time::sleep(backoff(attempt)).await;
    if attempt < HOLD_AFTER {
        return None;
    }
    // Without a hold (the store cannot hold, another node holds the tenant,
    // or the database failed) the write runs again as before.
    match tenant.store().hold().await {
        Ok(hold) => {
            if hold.is_some() {
                crate::metrics::metrics().tenant_holds.inc();
            }
            hold
        }
        Err(err) => {
            tracing::warn!(tenant = %tenant.name(), %event, cause = %err, "could not hold the tenant; running the write again without");
            None
        }
    }
}

/// Held while a request may still run again: once dropped, however the
/// request ended, later writes stop waiting for its refused transactions.
pub(super) struct Forget<'a> {
    tenant: &'a Tenant,
    ranks: [Option<u64>; 2],
}

impl<'a> Forget<'a> {
    pub(super) fn new(tenant: &'a Tenant) -> Self {
        Self {
            tenant,
            ranks: [None, None],
        }
    }

    /// The current run: the rank it replaces, if a run again, and its own.
    pub(super) fn set(&mut self, redo_of: Option<u64>, rank: Option<u64>) {
        self.ranks = [redo_of, rank];
    }
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        for rank in self.ranks.into_iter().flatten() {
            self.tenant.applied().forget(rank);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_attempts_and_stays_bounded() {
        for attempt in 1..40 {
            let ceiling = (1u64 << attempt.min(6)).min(MAX_BACKOFF_MS);
            let pause = backoff(attempt);
            assert!(
                pause <= std::time::Duration::from_millis(ceiling),
                "{attempt}: {pause:?}"
            );
        }
    }
}

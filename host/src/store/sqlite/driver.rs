//! Where a store's writer runs. With durability `disk` it has a thread of its
//! own: a commit waits for the disk, which must not hold a runtime worker.
//! With `process` a commit only writes to the operating system, so the writer
//! is a task on the runtime: handing each batch to another thread and back
//! cost two context switches per request, more than the commit itself.

use std::sync::mpsc;

use tokio::sync::mpsc::UnboundedReceiver;

use super::writer::Writer;
use super::{Job, MAX_BATCH, Submission};

/// Most transactions a writer task commits in one go: a batch holds its
/// runtime worker for as long as it takes.
const MAX_TASK_BATCH: usize = 64;

/// Commits `first` and the jobs queued behind it, at most `max` of them;
/// returns whom to tell if one of them asks the writer to close.
fn commit_queued(
    writer: &mut Writer,
    first: Job,
    jobs: &mut UnboundedReceiver<Job>,
    max: usize,
) -> Option<mpsc::Sender<()>> {
    let mut batch: Vec<Submission> = Vec::new();
    let mut closed = None;
    let mut next = Some(first);
    while let Some(job) = next.take() {
        match job {
            Job::Commit(submission) => batch.push(submission),
            Job::Close(done) => {
                closed = Some(done);
                break;
            }
        }
        if batch.len() < max {
            next = jobs.try_recv().ok();
        }
    }
    writer.commit(batch);
    closed
}

/// Starts `writer` on its own thread, or, when `on_runtime` and a runtime is
/// running, as a task on it. It commits what `jobs` brings until asked to
/// close or until every sender is gone.
pub(super) fn start(
    mut writer: Writer,
    mut jobs: UnboundedReceiver<Job>,
    on_runtime: bool,
) -> std::io::Result<()> {
    if on_runtime && let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            while let Some(first) = jobs.recv().await {
                // Woken by a submit, it would run next and commit that one
                // alone: first let the other ready requests submit theirs,
                // so they share the commit.
                tokio::task::yield_now().await;
                if let Some(done) = commit_queued(&mut writer, first, &mut jobs, MAX_TASK_BATCH) {
                    return writer.finish(Some(done));
                }
            }
            writer.finish(None);
        });
        return Ok(());
    }
    std::thread::Builder::new()
        .name("halo-store-writer".into())
        .spawn(move || {
            while let Some(first) = jobs.blocking_recv() {
                if let Some(done) = commit_queued(&mut writer, first, &mut jobs, MAX_BATCH) {
                    return writer.finish(Some(done));
                }
            }
            writer.finish(None);
        })
        .map(drop)
}

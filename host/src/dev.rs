//! `halo dev`: builds every view in a folder (Rust crates for
//! `wasm32-wasip2`, JavaScript and Python views with their SDKs' build
//! commands) into the plugins folder halo serves, then rebuilds the view
//! that changed on each save; the host's folder watcher hot-reloads that one
//! view, and connected clients stay connected.
//!
//! * `sources`: finding the views, and which one a changed file belongs to.
//! * `compile`: one build, its component moved into the plugins folder.
//! * `rust`: `cargo build` of a view crate.
//! * `script`: the JavaScript and Python build commands.
//! * `console`: status lines, the tools' output, a spinner while building.

mod compile;
mod console;
mod rust;
mod script;
mod sources;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use compile::{Builder, When};
use console::{Console, Tone};
use sources::Layout;

pub use sources::FindError;

/// How long sources must be quiet before a rebuild: an editor's save, a
/// `git checkout` or a formatter touch several files in a row.
const SETTLE: Duration = Duration::from_millis(200);

/// Why the dev loop could not start. Compile errors are not among them: a
/// view that does not build is reported, and built again on the next save.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// No views, or cargo could not say which crates there are.
    #[error(transparent)]
    Find(#[from] FindError),
    /// The plugins folder cannot be tidied.
    #[error("cleaning the plugins folder {}: {cause}", dir.display())]
    Out {
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        cause: std::io::Error,
    },
    /// The folder cannot be watched.
    #[error("watching {}: {cause}", dir.display())]
    Watch {
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        cause: notify::Error,
    },
    /// A worker thread died.
    #[error("halo dev's worker stopped: {0}")]
    Worker(tokio::task::JoinError),
}

// Not `#[from]`: that would make the error its source too, and `{:#}` would
// print it twice.
impl From<tokio::task::JoinError> for DevError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self::Worker(err)
    }
}

/// Keeps rebuilding while it lives; dropping it stops watching and kills a
/// build under way.
pub struct Dev {
    watcher: Arc<Mutex<RecommendedWatcher>>,
    builder: Arc<Builder>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.builder.stop();
    }
}

/// What the watcher saw.
#[derive(Debug)]
enum Change {
    /// Sources of these views changed.
    Views(Vec<usize>),
    /// A folder appeared: to be watched too.
    Folder(PathBuf),
}

/// Builds every view under `dir` into `out` (as `<name>.wasm`), then
/// rebuilds on change until the returned [`Dev`] is dropped.
///
/// Errs when there is no view to build or the folder cannot be watched, but
/// not when views fail to build, not even all of them: the server then
/// starts without them (or with their builds from the last run), and a save
/// that fixes them builds and loads them.
pub async fn start(dir: PathBuf, out: PathBuf) -> Result<Dev, DevError> {
    let console = Console::new();
    let layout = {
        let out = out.clone();
        tokio::task::spawn_blocking(move || Layout::find(&dir, &out)).await??
    };
    let layout = Arc::new(layout);
    let names: Vec<String> = layout.views.iter().map(|view| view.name.clone()).collect();
    let described: Vec<String> = layout
        .views
        .iter()
        .map(|view| match view.lang {
            sources::Lang::Rust => view.name.clone(),
            sources::Lang::Js => format!("{} (JavaScript)", view.name),
            sources::Lang::Py => format!("{} (Python)", view.name),
        })
        .collect();
    console.say(
        Tone::Plain,
        &format!(
            "halo dev: {} view{} in {}: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            layout.root.display(),
            described.join(", ")
        ),
    );
    let removed = {
        let out = out.clone();
        tokio::task::spawn_blocking(move || compile::clean(&out, &names))
    }
    .await?
    .map_err(|cause| DevError::Out {
        dir: out.clone(),
        cause,
    })?;
    if !removed.is_empty() {
        console.say(
            Tone::Plain,
            &format!("removed from {}: {}", out.display(), removed.join(", ")),
        );
    }

    // Watching starts before the first builds, so that a save made while
    // they run is built after them.
    let (changes, received) = mpsc::unbounded_channel();
    let watcher = {
        let layout = Arc::clone(&layout);
        tokio::task::spawn_blocking(move || watch(layout, changes)).await??
    };
    let builder = Arc::new(Builder::new(Arc::clone(&layout), out, Arc::clone(&console)));
    // Made before the first builds: should this future be dropped during
    // them, dropping it kills the build.
    let mut dev = Dev {
        watcher: Arc::new(Mutex::new(watcher)),
        builder: Arc::clone(&builder),
        task: None,
    };
    let mut built = 0;
    for index in 0..layout.views.len() {
        built += usize::from(builder.build(index, When::Initial).await);
    }
    if built == 0 {
        console.say(
            Tone::Bad,
            "no view built; halo serves what earlier runs built, if anything, until a save fixes them",
        );
    }
    let watcher = Arc::downgrade(&dev.watcher);
    dev.task = Some(tokio::spawn(rebuild(builder, layout, received, watcher)));
    Ok(dev)
}

/// Rebuilds, one view at a time, the views whose sources change, once
/// they have been quiet for [`SETTLE`]. Changes made during a build are
/// queued, so they get one more build after it.
async fn rebuild(
    builder: Arc<Builder>,
    layout: Arc<Layout>,
    mut changes: mpsc::UnboundedReceiver<Change>,
    watcher: Weak<Mutex<RecommendedWatcher>>,
) {
    let mut pending = BTreeSet::new();
    while let Some(change) = changes.recv().await {
        note(change, &mut pending, &layout, &watcher).await;
        loop {
            match tokio::time::timeout(SETTLE, changes.recv()).await {
                Ok(Some(change)) => note(change, &mut pending, &layout, &watcher).await,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        for index in std::mem::take(&mut pending) {
            builder.build(index, When::Rebuild).await;
        }
    }
}

async fn note(
    change: Change,
    pending: &mut BTreeSet<usize>,
    layout: &Arc<Layout>,
    watcher: &Weak<Mutex<RecommendedWatcher>>,
) {
    match change {
        Change::Views(views) => pending.extend(views),
        Change::Folder(folder) => {
            let Some(watcher) = watcher.upgrade() else {
                return;
            };
            let walk = {
                let layout = Arc::clone(layout);
                let folder = folder.clone();
                tokio::task::spawn_blocking(move || {
                    watch_tree(&mut watcher.lock(), &layout, &folder)
                })
            };
            // Sources may have landed in it before it was watched.
            match walk.await {
                Ok(Ok(true)) => pending.extend(layout.owners(&folder)),
                Ok(Ok(false)) => {}
                Ok(Err(err)) => {
                    tracing::warn!(folder = %folder.display(), cause = %err, "halo dev cannot watch a new folder")
                }
                Err(_) => {}
            }
        }
    }
}

/// A watcher on every folder under the layout's root but ignored ones
/// (target folders above all, which builds fill with thousands of files),
/// sending what changed to `changes`. Blocks.
fn watch(
    layout: Arc<Layout>,
    changes: mpsc::UnboundedSender<Change>,
) -> Result<RecommendedWatcher, DevError> {
    let root = layout.root.clone();
    let failed = |cause| DevError::Watch {
        dir: root.clone(),
        cause,
    };
    let seen = Arc::clone(&layout);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if crate::watch::irrelevant(&event.kind) {
            return;
        }
        let appeared = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
        );
        for path in event.paths {
            let change = if appeared && !seen.ignored(&path) && path.is_dir() {
                Change::Folder(path)
            } else {
                let views = seen.affected(&path);
                if views.is_empty() {
                    continue;
                }
                Change::Views(views)
            };
            // Closed only when halo dev stops.
            let _ = changes.send(change);
        }
    })
    .map_err(failed)?;
    watch_tree(&mut watcher, &layout, &layout.root).map_err(failed)?;
    Ok(watcher)
}

/// Watches `folder` and every folder under it that `layout` does not
/// ignore, each on its own, so ignored ones cost nothing; returns whether it
/// holds sources. Blocks.
fn watch_tree(
    watcher: &mut RecommendedWatcher,
    layout: &Layout,
    folder: &Path,
) -> Result<bool, notify::Error> {
    let mut sources = false;
    let mut stack = vec![folder.to_owned()];
    while let Some(folder) = stack.pop() {
        if let Err(err) = watcher.watch(&folder, RecursiveMode::NonRecursive) {
            // A folder removed since it was listed has nothing to watch.
            if folder.exists() {
                return Err(err);
            }
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            // Not through symlinks: they may loop, or lead out of the root.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !layout.ignored(&path) {
                    stack.push(path);
                }
            } else if !layout.affected(&path).is_empty() {
                sources = true;
            }
        }
    }
    Ok(sources)
}

//! A plugins folder: loads every `*.wasm` in it at start, then watches it and
//! adds, replaces or removes views as files come and go.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::catalog::{Catalog, Installed};
use crate::metrics::{Reload, metrics};
use crate::view::{LoadError, MAX_COMPONENT_BYTES, Runtime};

/// How long the folder must be quiet before a rescan: editors and `cp` write
/// a file in several steps.
const SETTLE: Duration = Duration::from_millis(150);

/// How long to wait before loading again a file that could not be loaded for
/// a passing reason (every view slot busy).
const RETRY: Duration = Duration::from_secs(1);

/// Keeps a tenant's catalog in step with its plugins folder.
pub struct Folder {
    dir: PathBuf,
    runtime: Arc<Runtime>,
    catalog: Arc<Catalog>,
    /// Content hash of the last version of each file that was tried, so an
    /// invalid file is reported once, not on every rescan.
    seen: Mutex<HashMap<PathBuf, blake3::Hash>>,
}

impl Folder {
    /// A folder `dir` feeding `catalog`.
    pub fn new(dir: PathBuf, runtime: Arc<Runtime>, catalog: Arc<Catalog>) -> Arc<Self> {
        Arc::new(Self {
            dir,
            runtime,
            catalog,
            seen: Mutex::default(),
        })
    }

    /// Loads what changed since the last scan and unloads what is gone.
    /// Returns false when a file could not be loaded for a passing reason
    /// and the scan should be repeated.
    pub async fn scan(&self) -> bool {
        let dir = self.dir.clone();
        let files = match tokio::task::spawn_blocking(move || wasm_files(&dir)).await {
            Ok(Ok(files)) => files,
            Ok(Err(err)) => {
                tracing::error!(tenant = self.runtime.tenant(), dir = %self.dir.display(), cause = %err, "cannot read the plugins folder");
                return true;
            }
            Err(_) => return true,
        };
        let gone: Vec<PathBuf> = self
            .seen
            .lock()
            .keys()
            .filter(|path| !files.contains(path))
            .cloned()
            .collect();
        for path in gone {
            self.seen.lock().remove(&path);
            if let Some(name) = self.catalog.remove(&path) {
                tracing::info!(tenant = self.runtime.tenant(), view = %name, file = %path.display(), "view unloaded: its file was removed");
                metrics().reload(self.runtime.tenant(), Reload::removed);
            }
        }
        let mut settled = true;
        for path in files {
            settled &= self.load(&path).await;
        }
        settled
    }

    /// Loads `path` if it changed; false if it should be tried again.
    async fn load(&self, path: &Path) -> bool {
        let file = path.to_owned();
        let read = tokio::task::spawn_blocking(move || {
            read_bounded(&file).map(|bytes| {
                let hash = blake3::hash(&bytes);
                (bytes, hash)
            })
        })
        .await;
        let (bytes, hash) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(err)) => {
                tracing::error!(tenant = self.runtime.tenant(), file = %path.display(), cause = %err, "view refused: cannot read file");
                return true;
            }
            Err(_) => return false,
        };
        if self.seen.lock().get(path) == Some(&hash) {
            return true;
        }
        let keeps = match self.catalog.name_of(path) {
            Some(name) => format!("; the previous version of view {name} keeps serving"),
            None => String::new(),
        };
        let plugin = match self.runtime.load(bytes).await {
            Ok(plugin) => plugin,
            Err(LoadError::Busy) => {
                tracing::warn!(tenant = self.runtime.tenant(), file = %path.display(), "view not loaded yet: every view slot is busy; trying again");
                return false;
            }
            Err(err) => {
                self.seen.lock().insert(path.to_owned(), hash);
                tracing::error!(tenant = self.runtime.tenant(), file = %path.display(), cause = %err, "view refused{keeps}");
                metrics().reload(self.runtime.tenant(), Reload::refused);
                return true;
            }
        };
        self.seen.lock().insert(path.to_owned(), hash);
        let before = self
            .catalog
            .name_of(path)
            .and_then(|name| self.catalog.get(&name));
        let spec = plugin.spec().clone();
        let hash = plugin.hash()[..12].to_owned();
        match self.catalog.install(path, plugin) {
            Ok(how) => {
                let routes: Vec<&str> = spec.routes.iter().map(String::as_str).collect();
                let what = match how {
                    Installed::Added => "view loaded".to_owned(),
                    Installed::Replaced => "view replaced".to_owned(),
                    Installed::Renamed { from } => format!("view loaded, replacing view {from}"),
                };
                let tenant = self.runtime.tenant();
                if let Some(before) = before {
                    let widened = spec.widened_from(before.spec());
                    if !widened.is_empty() {
                        tracing::warn!(
                            tenant,
                            view = %spec.name,
                            added = %widened.join(", "),
                            file = %path.display(),
                            "view widened its permissions on reload"
                        );
                    }
                }
                tracing::info!(
                    tenant,
                    view = %spec.name,
                    collection = %spec.collection,
                    routes = %routes.join(","),
                    render_per_client = spec.render_per_client,
                    hash = %hash,
                    file = %path.display(),
                    "{what}"
                );
                metrics().reload(tenant, Reload::loaded);
            }
            Err(err) => {
                tracing::error!(tenant = self.runtime.tenant(), file = %path.display(), cause = %err, "view refused{keeps}");
                metrics().reload(self.runtime.tenant(), Reload::refused);
            }
        }
        true
    }

    /// Rescans whenever the folder changes, until the returned watcher is
    /// dropped.
    pub fn watch(self: &Arc<Self>) -> notify::Result<notify::RecommendedWatcher> {
        let changed = self.follow();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Not on reads: the rescan reads the files, and would
                // start the next one.
                if event.is_ok_and(|event| !crate::watch::irrelevant(&event.kind)) {
                    // A full channel already holds a pending rescan.
                    let _ = changed.try_send(());
                }
            })?;
        watcher.watch(&self.dir, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    }

    /// Rescans, once things settle, after each signal on the returned
    /// sender; stops when it is dropped. For a caller that watches the
    /// folder itself: one watcher can serve many folders, where a watcher
    /// each would run into the system's cap on inotify instances.
    pub fn follow(self: &Arc<Self>) -> mpsc::Sender<()> {
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let folder = Arc::clone(self);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                tokio::time::sleep(SETTLE).await;
                while rx.try_recv().is_ok() {}
                while !folder.scan().await {
                    tokio::time::sleep(RETRY).await;
                }
            }
        });
        tx
    }
}

fn wasm_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_COMPONENT_BYTES {
        return Err(std::io::Error::other(format!(
            "{len} bytes is over the {MAX_COMPONENT_BYTES}-byte limit for a view"
        )));
    }
    std::fs::read(path)
}

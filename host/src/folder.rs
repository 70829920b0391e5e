//! A plugins folder: loads every `*.wasm` in it at start, then watches it and
//! adds, replaces or removes views as files come and go.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::catalog::{Catalog, Installed};
use crate::view::{MAX_COMPONENT_BYTES, Runtime};

/// How long the folder must be quiet before a rescan: editors and `cp` write
/// a file in several steps.
const SETTLE: Duration = Duration::from_millis(150);

/// Keeps a tenant's catalog in step with its plugins folder.
pub struct PluginFolder {
    dir: PathBuf,
    runtime: Arc<Runtime>,
    catalog: Arc<Catalog>,
    /// Content hash of the last version of each file that was tried, so an
    /// invalid file is reported once, not on every rescan.
    seen: Mutex<HashMap<PathBuf, blake3::Hash>>,
}

impl PluginFolder {
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
    pub async fn scan(&self) {
        let files = match wasm_files(&self.dir) {
            Ok(files) => files,
            Err(err) => {
                tracing::error!(dir = %self.dir.display(), cause = %err, "cannot read the plugins folder");
                return;
            }
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
                tracing::info!(view = %name, file = %path.display(), "view unloaded: its file was removed");
            }
        }
        for path in files {
            self.load(&path).await;
        }
    }

    async fn load(&self, path: &Path) {
        let bytes = match read_bounded(path) {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::error!(file = %path.display(), cause = %err, "view refused: cannot read file");
                return;
            }
        };
        let hash = blake3::hash(&bytes);
        if self.seen.lock().insert(path.to_owned(), hash) == Some(hash) {
            return;
        }
        let keeps = match self.catalog.name_of(path) {
            Some(name) => format!("; the previous version of view {name} keeps serving"),
            None => String::new(),
        };
        let plugin = match self.runtime.load(bytes).await {
            Ok(plugin) => plugin,
            Err(err) => {
                tracing::error!(file = %path.display(), cause = %err, "view refused{keeps}");
                return;
            }
        };
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
                tracing::info!(
                    view = %spec.name,
                    collection = %spec.collection,
                    routes = %routes.join(","),
                    render_per_client = spec.render_per_client,
                    hash = %hash,
                    file = %path.display(),
                    "{what}"
                );
            }
            Err(err) => {
                tracing::error!(file = %path.display(), cause = %err, "view refused{keeps}");
            }
        }
    }

    /// Rescans whenever the folder changes, until the returned watcher is
    /// dropped.
    pub fn watch(self: &Arc<Self>) -> notify::Result<notify::RecommendedWatcher> {
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok() {
                    // A full channel already holds a pending rescan.
                    let _ = tx.try_send(());
                }
            })?;
        watcher.watch(&self.dir, RecursiveMode::NonRecursive)?;
        let folder = Arc::clone(self);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                tokio::time::sleep(SETTLE).await;
                while rx.try_recv().is_ok() {}
                folder.scan().await;
            }
        });
        Ok(watcher)
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

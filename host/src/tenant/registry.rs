//! The tenants a host serves: one per sub-folder of the tenants folder (plus
//! the single-tenant default on `/`), each registered as the Socket.IO
//! namespace `/<tenant>`, loaded when a client first connects, unloaded when
//! idle, and followed as folders and `tenant.toml` files come and go.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use notify::{RecursiveMode, Watcher};
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use super::slot::{Loaded, Slot};
use super::{TenantLimits, name};
use crate::data_dir::DataDir;
use crate::drain::Drain;
use crate::metrics::TenantGauges;
use crate::view::Engine;

/// Where a tenant's clients connect: the Socket.IO adapter serves each
/// tenant on a namespace of its own.
#[async_trait]
pub trait Namespaces: Send + Sync + 'static {
    /// Starts serving `slot`'s namespace, loading the tenant when a client
    /// first connects.
    fn serve(&self, slot: Arc<Slot>, tenants: Arc<Tenants>);
    /// Disconnects every client of `namespace`; they reconnect.
    async fn disconnect(&self, namespace: &str);
    /// Stops serving `namespace`.
    fn remove(&self, namespace: &str);
    /// Every connection of `namespace` on this node, as one link.
    fn everyone(&self, namespace: &str) -> Arc<dyn crate::broadcast::Link>;
}

/// How long the tenants folder must be quiet before a rescan.
const SETTLE: Duration = Duration::from_millis(200);

/// What every tenant shares.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where tenants' databases live.
    pub data: DataDir,
    /// Limits for keys a tenant.toml leaves out.
    pub defaults: TenantLimits,
    /// How long a tenant with no connections stays loaded.
    pub idle: Duration,
    /// The database every tenant's data is in, shared with the cluster's
    /// other nodes; `None`: a SQLite file per tenant in `data`.
    pub shared: Option<Arc<crate::store::Postgres>>,
}

/// Every tenant of a host.
pub struct Tenants {
    pub(super) engine: Arc<Engine>,
    pub(super) settings: Settings,
    namespaces: Arc<dyn Namespaces>,
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    /// Folder names already reported as invalid, so each is logged once.
    refused: Mutex<BTreeSet<String>>,
    /// Requests in flight on any tenant, for a graceful shutdown.
    drain: Arc<Drain>,
    /// Connections per tenant on the cluster's other nodes.
    elsewhere: Mutex<BTreeMap<String, usize>>,
}

impl Tenants {
    /// No tenants yet.
    pub fn new(
        engine: Arc<Engine>,
        settings: Settings,
        namespaces: Arc<dyn Namespaces>,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine,
            settings,
            namespaces,
            slots: RwLock::default(),
            refused: Mutex::default(),
            drain: Arc::default(),
            elsewhere: Mutex::default(),
        })
    }

    /// Connections of tenant `name` on the cluster's other nodes, as they
    /// last reported them.
    pub fn elsewhere(&self, name: &str) -> usize {
        self.elsewhere.lock().get(name).copied().unwrap_or(0)
    }

    /// Sets what the other nodes of the cluster reported, per tenant.
    pub fn set_elsewhere(&self, counts: BTreeMap<String, usize>) {
        *self.elsewhere.lock() = counts;
    }

    /// Every connection of `namespace` on this node, as one link.
    pub fn everyone(&self, namespace: &str) -> Arc<dyn crate::broadcast::Link> {
        self.namespaces.everyone(namespace)
    }

    /// Requests in flight on any tenant.
    pub fn drain(&self) -> &Arc<Drain> {
        &self.drain
    }

    /// Unloads every tenant, closing their stores, once their requests are
    /// done: the last step of a shutdown.
    pub fn unload_all(&self) {
        let slots = self.slots();
        let unloaded: Vec<_> = slots
            .iter()
            .filter_map(|slot| slot.loaded.lock().take())
            .collect();
        let count = unloaded.len();
        // Side by side, so a slow disk costs one wait, not one per tenant.
        std::thread::scope(|scope| {
            for loaded in &unloaded {
                scope.spawn(|| loaded.tenant.store().close());
            }
        });
        drop(unloaded);
        tracing::info!(tenants = count, "stores closed");
    }

    /// Serves the single-tenant default on `/` from `plugins`, with its
    /// database in the data folder itself; loaded now and never unloaded.
    pub async fn add_default(self: &Arc<Self>, plugins: PathBuf) -> anyhow::Result<()> {
        std::fs::create_dir_all(&plugins)
            .with_context(|| format!("creating the plugins folder {}", plugins.display()))?;
        let slot = Arc::new(Slot {
            name: String::new(),
            dir: None,
            plugins,
            db: self.settings.data.default_database(),
            pinned: true,
            activity: Arc::default(),
            loaded: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
        });
        self.open(&slot)
            .await
            .map_err(|err| anyhow::anyhow!("{}", err.message))?;
        self.register(slot);
        Ok(())
    }

    /// Serves every tenant folder in `dir`, and follows the folder from now
    /// on until the returned watcher is dropped.
    pub async fn serve_folder(
        self: &Arc<Self>,
        dir: PathBuf,
    ) -> anyhow::Result<notify::RecommendedWatcher> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the tenants folder {}", dir.display()))?;
        self.scan(&dir).await;
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let tenants = Arc::downgrade(self);
        let root = dir.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                // Not on reads: scanning reads tenant.toml and the views,
                // and would start the next scan.
                if crate::watch::irrelevant(&event.kind) {
                    return;
                }
                let mut rescan = false;
                for path in &event.paths {
                    match (tenants.upgrade(), plugins_of(&root, path)) {
                        (Some(tenants), Some(tenant)) => tenants.plugins_changed(tenant),
                        _ => rescan = true,
                    }
                }
                if rescan {
                    // A full channel already holds a pending rescan.
                    let _ = tx.try_send(());
                }
            })?;
        // One recursive watcher for every tenant: tenant folders, their
        // tenant.toml and their plugins. A watcher per tenant would hit the
        // system's cap on inotify instances (often 128) long before 1,000
        // tenants.
        watcher
            .watch(&dir, RecursiveMode::Recursive)
            .with_context(|| format!("watching the tenants folder {}", dir.display()))?;
        let tenants = Arc::clone(self);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                tokio::time::sleep(SETTLE).await;
                while rx.try_recv().is_ok() {}
                tenants.scan(&dir).await;
            }
        });
        Ok(watcher)
    }

    /// Unloads tenants idle for longer than the idle time, until the host
    /// stops.
    pub fn reap_idle(self: &Arc<Self>) {
        let tenants = Arc::downgrade(self);
        let every =
            (self.settings.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(tenants) = tenants.upgrade() else {
                    return;
                };
                for slot in tenants.slots() {
                    if slot.pinned {
                        continue;
                    }
                    // Checked and taken under the lock `open` uses, so a
                    // connection being admitted either keeps the tenant
                    // loaded or loads it afresh: never two copies at once.
                    let mut loaded = slot.loaded.lock();
                    let idle = slot.activity.connections() == 0
                        && slot.activity.last_active().elapsed() >= tenants.settings.idle;
                    let unloaded = if idle { loaded.take() } else { None };
                    drop(loaded);
                    // Dropped outside the lock: closing its store may wait
                    // for the disk.
                    if unloaded.is_some() {
                        drop(unloaded);
                        tracing::info!(tenant = %slot.name, "tenant unloaded: idle");
                    }
                }
            }
        });
    }

    /// Largest Socket.IO message the host accepts at all.
    pub fn max_payload(&self) -> u64 {
        self.settings.defaults.max_payload
    }

    /// The gauges of every loaded tenant, for a scrape.
    pub fn gauges(&self) -> Vec<TenantGauges> {
        self.slots()
            .iter()
            .filter_map(|slot| slot.tenant())
            .map(|tenant| TenantGauges {
                name: tenant.name().to_string(),
                connections: tenant.activity().connections(),
                warm_instances: tenant.runtime().warm_instances(),
            })
            .collect()
    }

    /// Every tenant, by name.
    pub fn slots(&self) -> Vec<Arc<Slot>> {
        self.slots.read().values().cloned().collect()
    }

    /// The tenant named `name`.
    pub fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots.read().get(name).cloned()
    }

    /// Brings the tenant folders in `dir` and the registered tenants in step.
    async fn scan(self: &Arc<Self>, dir: &Path) {
        let listed = match tenant_folders(dir) {
            Ok(listed) => listed,
            Err(err) => {
                tracing::error!(dir = %dir.display(), cause = %err, "cannot read the tenants folder");
                return;
            }
        };
        let mut wanted = BTreeMap::new();
        for (folder, path) in listed {
            match name::validate(&folder) {
                Ok(()) => {
                    wanted.insert(folder, path);
                }
                Err(err) => {
                    if self.refused.lock().insert(folder.clone()) {
                        tracing::error!(folder = %path.display(), cause = %err, "tenant folder ignored");
                    }
                }
            }
        }
        let known: Vec<Arc<Slot>> = self.slots().into_iter().filter(|s| !s.pinned).collect();
        for slot in &known {
            if !wanted.contains_key(&slot.name) {
                self.remove(slot).await;
            } else if slot.config_changed() {
                tracing::info!(tenant = %slot.name, "tenant.toml changed: reloading the tenant; its clients reconnect");
                self.unload(slot).await;
            }
        }
        for (tenant, path) in wanted {
            if self.slot(&tenant).is_some() {
                continue;
            }
            let slot = Arc::new(Slot {
                db: self.settings.data.tenant_database(&tenant),
                plugins: path.join("plugins"),
                dir: Some(path),
                name: tenant,
                pinned: false,
                activity: Arc::default(),
                loaded: Mutex::new(None),
                loading: tokio::sync::Mutex::new(()),
            });
            tracing::info!(tenant = %slot.name, namespace = %slot.namespace(), "tenant added");
            self.register(slot);
        }
    }

    fn register(self: &Arc<Self>, slot: Arc<Slot>) {
        self.namespaces.serve(Arc::clone(&slot), Arc::clone(self));
        self.slots.write().insert(slot.name.clone(), slot);
    }

    /// Tells loaded tenant `name` that a file in its plugins folder changed.
    fn plugins_changed(&self, name: &str) {
        let Some(slot) = self.slot(name) else { return };
        if let Some(Loaded {
            rescan: Some(rescan),
            ..
        }) = slot.loaded.lock().as_ref()
        {
            let _ = rescan.try_send(());
        }
    }

    /// Takes a tenant down: its namespace goes, its clients are disconnected.
    /// Its data stays.
    async fn remove(&self, slot: &Slot) {
        self.slots.write().remove(&slot.name);
        // Disconnect first: deleting a namespace only starts closing its
        // sockets, and gives up on the ones that do not close at once.
        self.namespaces.disconnect(&slot.namespace()).await;
        self.namespaces.remove(&slot.namespace());
        let gone = slot.loaded.lock().take();
        drop(gone);
        tracing::info!(tenant = %slot.name, "tenant removed: its folder is gone (its data is kept)");
    }

    /// Unloads a tenant and disconnects its clients, which reconnect and load
    /// it afresh.
    async fn unload(&self, slot: &Slot) {
        let gone = slot.loaded.lock().take();
        drop(gone);
        self.namespaces.disconnect(&slot.namespace()).await;
    }
}

/// The tenant whose plugins folder `path` is in (or is), if it is in one.
fn plugins_of<'p>(root: &Path, path: &'p Path) -> Option<&'p str> {
    let mut parts = path.strip_prefix(root).ok()?.components();
    let tenant = parts.next()?.as_os_str().to_str()?;
    (parts.next()?.as_os_str() == "plugins").then_some(tenant)
}

/// The sub-folders of `dir`, by folder name.
fn tenant_folders(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        let folder = entry.file_name().to_string_lossy().into_owned();
        found.push((folder, path));
    }
    Ok(found)
}

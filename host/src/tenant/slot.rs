//! One tenant the host knows, loaded or not: loading it (its tenant.toml,
//! store, sandbox and views) on first use, and noticing when its settings
//! change.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::registry::Tenants;
use super::{Activity, TENANT_TOML, Tenant, TenantConfig, Verifier};
use crate::store::{PostgresStore, SqliteStore, Store};
use crate::view::{Catalog, Folder, Runtime};
use crate::wire::WireError;

/// A tenant the host knows, loaded or not.
pub struct Slot {
    /// The tenant's name; empty for the default on `/`.
    pub name: String,
    /// Its folder (holding tenant.toml); `None` for the default tenant.
    pub(super) dir: Option<PathBuf>,
    pub(super) plugins: PathBuf,
    pub(super) db: PathBuf,
    /// The default tenant is never unloaded.
    pub(super) pinned: bool,
    /// Connections, last use and failures, kept across loads.
    pub activity: Arc<Activity>,
    pub(super) loaded: Mutex<Option<Loaded>>,
    /// Serializes loads, so concurrent first connections load once.
    pub(super) loading: tokio::sync::Mutex<()>,
}

pub(super) struct Loaded {
    pub(super) tenant: Arc<Tenant>,
    /// Hash of the tenant.toml it was loaded with, to notice edits.
    pub(super) config: Option<blake3::Hash>,
    /// Asks its plugins folder for a rescan; `None` when the folder has a
    /// watcher of its own (the default tenant).
    pub(super) rescan: Option<mpsc::Sender<()>>,
}

impl Slot {
    /// The Socket.IO namespace of this tenant.
    pub fn namespace(&self) -> String {
        format!("/{}", self.name)
    }

    /// The tenant, if it is loaded.
    pub fn tenant(&self) -> Option<Arc<Tenant>> {
        self.loaded.lock().as_ref().map(|l| Arc::clone(&l.tenant))
    }

    /// The tenant if loaded, marked as used under the same lock the idle
    /// reaper takes.
    pub(super) fn use_tenant(&self) -> Option<Arc<Tenant>> {
        let loaded = self.loaded.lock();
        let tenant = loaded.as_ref().map(|l| Arc::clone(&l.tenant));
        if tenant.is_some() {
            self.activity.touch();
        }
        tenant
    }
}

impl Tenants {
    /// The loaded tenant of `slot`, loading it first if needed. Marks it
    /// used, so it is not unloaded while the caller admits a connection.
    pub async fn open(&self, slot: &Slot) -> Result<Arc<Tenant>, WireError> {
        if let Some(tenant) = slot.use_tenant() {
            return Ok(tenant);
        }
        let _loading = slot.loading.lock().await;
        if let Some(tenant) = slot.use_tenant() {
            return Ok(tenant);
        }
        let started = Instant::now();
        match self.load(slot).await {
            Ok((tenant, config, rescan)) => {
                let tenant = Arc::new(tenant);
                let mut loaded = slot.loaded.lock();
                slot.activity.touch();
                *loaded = Some(Loaded {
                    tenant: Arc::clone(&tenant),
                    config,
                    rescan,
                });
                drop(loaded);
                tracing::info!(
                    tenant = %slot.name,
                    views = tenant.catalog().all().len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    "tenant loaded"
                );
                Ok(tenant)
            }
            Err(err) => {
                tracing::error!(tenant = %slot.name, cause = %format!("{err:#}"), "tenant failed to load");
                Err(WireError::unavailable(format!(
                    "tenant {:?} cannot be served right now; its operator has been told why",
                    slot.name
                )))
            }
        }
    }

    async fn load(
        &self,
        slot: &Slot,
    ) -> anyhow::Result<(Tenant, Option<blake3::Hash>, Option<mpsc::Sender<()>>)> {
        let (config, hash) = match &slot.dir {
            Some(dir) => (
                TenantConfig::load(&dir.join(TENANT_TOML), self.settings.defaults)?,
                Some(fingerprint(dir)),
            ),
            None => (
                TenantConfig {
                    limits: self.settings.defaults,
                    auth: None,
                },
                None,
            ),
        };
        let verifier = match (&config.auth, &slot.dir) {
            (Some(auth), Some(dir)) => Some(Verifier::new(auth, dir)?),
            _ => None,
        };
        std::fs::create_dir_all(&slot.plugins)
            .with_context(|| format!("creating {}", slot.plugins.display()))?;
        let quota = Some(config.limits.stored_bytes);
        let durability = config.limits.durability;
        let store: Arc<dyn Store> = match &self.settings.shared {
            Some(pg) => Arc::new(
                PostgresStore::open(pg, &slot.name, quota, durability)
                    .await
                    .with_context(|| format!("opening tenant {:?} in PostgreSQL", slot.name))?,
            ),
            None => {
                let db = slot.db.clone();
                Arc::new(
                    tokio::task::spawn_blocking(move || {
                        if let Some(parent) = db.parent() {
                            std::fs::create_dir_all(parent)?;
                        }
                        SqliteStore::open_with(&db, quota, durability).map_err(anyhow::Error::from)
                    })
                    .await??,
                )
            }
        };
        let runtime = Runtime::new(&self.engine, config.limits.sandbox, &slot.name);
        let catalog = Arc::new(Catalog::default());
        let folder = Folder::new(slot.plugins.clone(), runtime.clone(), Arc::clone(&catalog));
        folder.scan().await;
        let tenant = Tenant::new(slot.name.clone(), store, catalog, runtime).configured(
            config.limits,
            verifier,
            Arc::clone(&slot.activity),
        );
        if self.settings.shared.is_some() {
            // Other nodes commit to this tenant too.
            tenant
                .broadcaster()
                .follow(self.everyone(&slot.namespace()));
        }
        // Tenants of the tenants folder share its watcher; the default
        // tenant's folder is watched on its own.
        let (tenant, rescan) = if slot.dir.is_some() {
            (tenant, Some(folder.follow()))
        } else {
            let watcher = folder
                .watch()
                .with_context(|| format!("watching {}", slot.plugins.display()))?;
            (tenant.keep(watcher), None)
        };
        Ok((tenant, hash, rescan))
    }
}

impl Slot {
    /// Whether tenant.toml differs from what the loaded tenant was loaded
    /// with.
    pub(super) fn config_changed(&self) -> bool {
        let Some(dir) = &self.dir else {
            return false;
        };
        let loaded = self.loaded.lock().as_ref().map(|l| l.config);
        loaded.is_some_and(|was| was != Some(fingerprint(dir)))
    }
}

/// What a tenant's settings depend on: its tenant.toml and the public key
/// file it names, if any, so replacing a key reloads the tenant too. A
/// missing file counts as empty.
fn fingerprint(dir: &Path) -> blake3::Hash {
    let toml = std::fs::read(dir.join(TENANT_TOML)).unwrap_or_default();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&toml);
    let key_file = std::str::from_utf8(&toml)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| {
            table
                .get("auth")?
                .get("public_key_file")?
                .as_str()
                .map(str::to_owned)
        });
    if let Some(file) = key_file {
        hasher.update(b"\0");
        hasher.update(&std::fs::read(dir.join(file)).unwrap_or_default());
    }
    hasher.finalize()
}

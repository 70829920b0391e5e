//! A tenant: an isolated app with its own views, store, limits and keys,
//! and the registry of every tenant a host serves.
//!
//! * `registry`: the tenants folder: namespaces, lazy loading, idle
//!   unloading.
//! * `slot`: one tenant the host knows, loaded or not.
//! * `name`: which folder names may be tenants.
//! * `config`: `tenant.toml`, its limits and auth settings.
//! * `auth`: verifying handshake tokens.
//! * `activity`: connection count, last use and recent failures.

mod activity;
mod auth;
mod config;
pub mod name;
mod registry;
mod slot;

use std::sync::Arc;

pub use activity::{Activity, Failure};
pub use auth::Verifier;
pub use config::{Algorithm, TenantConfig, TenantLimits};
pub use registry::{Namespaces, Settings, Tenants};
pub use slot::Slot;

use crate::applied::Applied;
use crate::broadcast::Broadcaster;
use crate::ops::Ops;
use crate::store::Store;
use crate::tx::Tx;
use crate::view::{Catalog, Runtime};

/// The file in a tenant folder that holds its settings.
pub const TENANT_TOML: &str = "tenant.toml";

/// Everything one tenant's requests need, while it is loaded.
pub struct Tenant {
    /// Tenant name; empty for the single-tenant default on namespace `/`.
    /// Shared, since every counted request carries it as a label.
    name: Arc<str>,
    /// The tenant's collections.
    store: Arc<dyn Store>,
    /// The tenant's views.
    catalog: Arc<Catalog>,
    /// The sandbox its views run in.
    runtime: Arc<Runtime>,
    /// Its store with the writes applied but not yet durable over it.
    applied: Arc<Applied>,
    /// Sends its pushes in commit order.
    broadcaster: Broadcaster,
    /// Its limits.
    limits: TenantLimits,
    /// Checks handshake tokens, when the tenant requires them.
    verifier: Option<Verifier>,
    /// Connections, last use, failures.
    activity: Arc<Activity>,
    /// Recent client operations, answered again instead of re-applied.
    ops: Arc<Ops>,
    /// Whatever must live as long as the tenant is loaded (folder watchers).
    _keep: Vec<Box<dyn std::any::Any + Send + Sync>>,
}

impl Tenant {
    /// A tenant with default limits and no token check; starts its
    /// broadcaster, so call it inside the runtime.
    pub fn new(
        name: String,
        store: Arc<dyn Store>,
        catalog: Arc<Catalog>,
        runtime: Arc<Runtime>,
    ) -> Self {
        let applied = Applied::new(Arc::clone(&store));
        let broadcaster = Broadcaster::start(Arc::clone(&applied), Arc::clone(&catalog));
        let limits = TenantLimits {
            sandbox: runtime.limits(),
            ..TenantLimits::default()
        };
        Self {
            name: name.into(),
            store,
            catalog,
            runtime,
            applied,
            broadcaster,
            limits,
            verifier: None,
            activity: Arc::default(),
            ops: Arc::default(),
            _keep: Vec::new(),
        }
    }

    /// Sets the limits the host enforces outside the sandbox, the token
    /// check and the activity record.
    pub fn configured(
        mut self,
        limits: TenantLimits,
        verifier: Option<Verifier>,
        activity: Arc<Activity>,
    ) -> Self {
        self.limits = limits;
        self.verifier = verifier;
        self.activity = activity;
        self
    }

    /// Keeps `thing` alive as long as the tenant is loaded.
    pub fn keep(mut self, thing: impl std::any::Any + Send + Sync) -> Self {
        self._keep.push(Box::new(thing));
        self
    }

    /// Its name; empty for the single-tenant default on namespace `/`.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Its collections.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Its live views.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The sandbox its views run in.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Its applied state: the store, and the writes not yet durable over
    /// it.
    pub fn applied(&self) -> &Arc<Applied> {
        &self.applied
    }

    /// Sends its pushes and acks in commit order.
    pub fn broadcaster(&self) -> &Broadcaster {
        &self.broadcaster
    }

    /// Its limits.
    pub fn limits(&self) -> TenantLimits {
        self.limits
    }

    /// Checks handshake tokens, when the tenant requires them.
    pub fn verifier(&self) -> Option<&Verifier> {
        self.verifier.as_ref()
    }

    /// Connections, last use, failures.
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Recent client operations.
    pub fn ops(&self) -> &Arc<Ops> {
        &self.ops
    }

    /// A fresh transaction on the tenant's store.
    pub fn tx(&self) -> Tx {
        Tx::new(Arc::clone(&self.applied))
    }
}

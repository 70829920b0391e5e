//! A tenant: an isolated app with its own views and store.

use std::sync::Arc;

use crate::broadcast::Broadcaster;
use crate::catalog::Catalog;
use crate::store::Store;
use crate::tx::Tx;
use crate::view::Runtime;

/// Everything one tenant's requests need.
pub struct Tenant {
    /// Tenant name; empty for the single-tenant default on namespace `/`.
    pub name: String,
    /// The tenant's collections.
    pub store: Arc<dyn Store>,
    /// The tenant's views.
    pub catalog: Arc<Catalog>,
    /// The sandbox its views run in.
    pub runtime: Arc<Runtime>,
    /// Sends its pushes in commit order.
    pub broadcaster: Broadcaster,
}

impl Tenant {
    /// A tenant; starts its broadcaster, so call it inside the runtime.
    pub fn new(
        name: String,
        store: Arc<dyn Store>,
        catalog: Arc<Catalog>,
        runtime: Arc<Runtime>,
    ) -> Self {
        let broadcaster = Broadcaster::start(Arc::clone(&store), Arc::clone(&catalog));
        Self {
            name,
            store,
            catalog,
            runtime,
            broadcaster,
        }
    }

    /// A fresh transaction on the tenant's store.
    pub fn tx(&self) -> Tx {
        Tx::new(Arc::clone(&self.store))
    }
}

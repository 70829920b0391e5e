//! Shared set-up for the host's integration tests: built components, a
//! tenant on a temporary store and plugins folder, and bounded waits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use halo::client::Client;
use halo::request::{self, Outcome};
use halo::store::SqliteStore;
use halo::tenant::Tenant;
use halo::view::{Catalog, Engine, Folder, Limits, Runtime};
use halo::wire::WireError;
use serde_json::Value;

/// Paths of the components built from `plugins/`.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// A tenant served from a temporary folder, as `halo serve` would.
pub struct Host {
    /// The tenant requests go to.
    pub tenant: Arc<Tenant>,
    /// Its plugins folder.
    pub folder: Arc<Folder>,
    /// Its plugins folder's path.
    pub plugins: PathBuf,
    /// Keeps the folders alive.
    pub dir: tempfile::TempDir,
}

impl Host {
    /// A host with `components` copied into its plugins folder and loaded.
    pub async fn with(components: &[&str], limits: Limits) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins)?;
        for component in components {
            add(&plugins, component)?;
        }
        let engine = Engine::new(dir.path().join("cache"))?;
        let runtime = Runtime::new(&engine, limits, "");
        let catalog = Arc::new(Catalog::default());
        let folder = Folder::new(plugins.clone(), Arc::clone(&runtime), Arc::clone(&catalog));
        folder.scan().await;
        let store = SqliteStore::open(&dir.path().join("halo.sqlite3"))?;
        let tenant = Arc::new(Tenant::new(
            String::new(),
            Arc::new(store),
            catalog,
            runtime,
        ));
        Ok(Self {
            tenant,
            folder,
            plugins,
            dir,
        })
    }

    /// Sends `event` with `data` as connection `client`.
    pub async fn request(
        &self,
        client: &str,
        event: &str,
        data: Value,
    ) -> Result<Outcome, WireError> {
        let client = Client::new(client, "", None);
        request::run(&self.tenant, &client, None, event, data).await
    }
}

/// Copies a built component into `plugins`, under its own file name.
pub fn add(plugins: &Path, component: &str) -> std::io::Result<PathBuf> {
    let name = Path::new(component)
        .file_name()
        .ok_or_else(|| std::io::Error::other("component path has no file name"))?;
    let target = plugins.join(name);
    std::fs::copy(component, &target)?;
    Ok(target)
}

/// Polls `check` every 20 ms until it holds, for at most `limit`.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = tokio::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

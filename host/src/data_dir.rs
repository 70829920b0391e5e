//! The data folder (`--data`) and every path halo keeps under it.

use std::path::{Path, PathBuf};

/// The data folder: the default tenant's database, each tenant's database
/// folder, the compiled-view cache and `halo dev`'s builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

/// Every store's database file name, in its folder.
const DATABASE: &str = "halo.sqlite3";

impl DataDir {
    /// The data folder at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database of the single-tenant default on `/`.
    pub fn default_database(&self) -> PathBuf {
        self.root.join(DATABASE)
    }

    /// Everything halo keeps of tenant `name`: `tenants/<name>/`.
    pub fn tenant(&self, name: &str) -> PathBuf {
        self.root.join("tenants").join(name)
    }

    /// The database of tenant `name`.
    pub fn tenant_database(&self, name: &str) -> PathBuf {
        self.tenant(name).join(DATABASE)
    }

    /// Compiled components, so a restart does not compile again.
    pub fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// Where `halo dev` puts the views it builds.
    pub fn dev_plugins(&self) -> PathBuf {
        self.root.join("dev").join("plugins")
    }
}

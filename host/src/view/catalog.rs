//! The views a tenant serves right now, by name and by plugin file; swapped
//! atomically on hot reload.

use foldhash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::View;

/// Why a view could not be installed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    /// Another file already serves a view of that name.
    #[error("view {name:?} is already served by {other}")]
    NameTaken {
        /// The view name.
        name: String,
        /// The file that serves it.
        other: String,
    },
}

/// What an install did.
#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    /// A view that was not served before.
    Added,
    /// A new version of a view this file served.
    Replaced,
    /// This file now serves a view of another name; the old name is gone.
    Renamed {
        /// The name the file served before.
        from: String,
    },
}

#[derive(Default)]
struct Inner {
    by_name: HashMap<String, Arc<View>>,
    /// Which view each plugin file serves.
    by_file: HashMap<PathBuf, String>,
}

/// A tenant's live views. Readers get an `Arc<View>`: a request that
/// started on one version finishes on it while a reload swaps in the next.
#[derive(Default)]
pub struct Catalog {
    inner: RwLock<Inner>,
}

impl Catalog {
    /// The view named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<View>> {
        self.inner.read().by_name.get(name).cloned()
    }

    /// Every view over `collection`.
    pub fn over(&self, collection: &str) -> Vec<Arc<View>> {
        self.inner
            .read()
            .by_name
            .values()
            .filter(|p| p.spec().collection == collection)
            .cloned()
            .collect()
    }

    /// Every view, sorted by name.
    pub fn all(&self) -> Vec<Arc<View>> {
        let mut all: Vec<_> = self.inner.read().by_name.values().cloned().collect();
        all.sort_by(|a, b| a.spec().name.cmp(&b.spec().name));
        all
    }

    /// Serves `plugin` as the view of `file`, replacing what that file served.
    pub fn install(&self, file: &Path, plugin: View) -> Result<Installed, CatalogError> {
        let mut inner = self.inner.write();
        let name = plugin.spec().name.clone();
        if let Some((other, _)) = inner
            .by_file
            .iter()
            .find(|(f, n)| **n == name && f.as_path() != file)
        {
            return Err(CatalogError::NameTaken {
                name,
                other: other.display().to_string(),
            });
        }
        let previous = inner.by_file.insert(file.to_owned(), name.clone());
        inner.by_name.insert(name.clone(), Arc::new(plugin));
        Ok(match previous {
            None => Installed::Added,
            Some(old) if old == name => Installed::Replaced,
            Some(old) => {
                inner.by_name.remove(&old);
                Installed::Renamed { from: old }
            }
        })
    }

    /// Stops serving the view of `file`; returns its name.
    pub fn remove(&self, file: &Path) -> Option<String> {
        let mut inner = self.inner.write();
        let name = inner.by_file.remove(file)?;
        inner.by_name.remove(&name);
        Some(name)
    }

    /// The view name `file` serves, if any.
    pub fn name_of(&self, file: &Path) -> Option<String> {
        self.inner.read().by_file.get(file).cloned()
    }
}

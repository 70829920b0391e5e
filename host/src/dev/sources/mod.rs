//! Which views `halo dev` builds, in which language, and which of them a
//! changed file belongs to.
//!
//! * `cargo`: Rust view crates, as `cargo metadata` lists them.
//! * `js`: JavaScript views, in packages that depend on halo-sdk.
//! * `py`: Python views, modules that import halo_sdk.

pub(super) mod cargo;
mod js;
mod py;

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

pub use crate::scaffold::Lang;

/// Why the views could not be found.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The folder cannot be read.
    #[error("{}: {cause}", dir.display())]
    Dir {
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        cause: std::io::Error,
    },
    /// The path names a file.
    #[error("{} is not a folder", .0.display())]
    NotDir(PathBuf),
    /// cargo could not be started.
    #[error("cannot run cargo (is Rust installed, and cargo on the PATH?): {0}")]
    Cargo(std::io::Error),
    /// `cargo metadata` refused the folder's Cargo.toml.
    #[error("cargo metadata failed in {}:\n{}", dir.display(), stderr.trim_end())]
    Metadata {
        /// The folder it ran in.
        dir: PathBuf,
        /// What it said.
        stderr: String,
    },
    /// `cargo metadata` answered something we cannot read.
    #[error("cannot read what cargo metadata printed in {}: {cause}", dir.display())]
    Json {
        /// The folder it ran in.
        dir: PathBuf,
        /// What went wrong.
        cause: serde_json::Error,
    },
    /// Nothing to build.
    #[error(
        "no view crates in {}: a view is a Cargo package whose lib has crate-type = [\"cdylib\"], \
         a view.js in an npm package that depends on halo-sdk, or a Python module that imports halo_sdk and defines `view`; \
         in that folder itself, in its workspace, or in one of its subfolders (`halo new <name> [--lang js|py]` makes one)",
        .0.display()
    )]
    NoCrates(PathBuf),
    /// Two views would be built into the same `<name>.wasm`.
    #[error("two views are named {name}: {} and {}", first.display(), second.display())]
    SameName {
        /// The name.
        name: String,
        /// One of them.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

/// One view to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its name, also its file's name in the plugins folder.
    pub name: String,
    /// What it is written in.
    pub lang: Lang,
    /// Its own folder: the crate's, the one holding its `view.js` or its
    /// module.
    pub dir: PathBuf,
    /// Where its build starts: its Cargo.toml, its `view.js`, its `.py`.
    pub entry: PathBuf,
    /// What it is built with: the root of its Cargo workspace (its own
    /// folder when alone), its npm package's folder, its module's folder.
    pub group: PathBuf,
}

/// The views under the watched folder, and what in it to ignore.
#[derive(Debug)]
pub struct Layout {
    /// The watched folder, canonical: event paths start with it.
    pub root: PathBuf,
    /// The views, in a stable order.
    pub views: Vec<Source>,
    /// Folders whose changes never matter: cargo's target folders and the
    /// plugins folder we write to.
    skip: Vec<PathBuf>,
}

impl Layout {
    /// Finds the views of `dir`, in every language: `dir` itself or the
    /// members of the workspace or package rooted there, else those of each
    /// immediate subfolder. `out` (where builds go) is ignored when it lies
    /// inside `dir`. Blocks: it runs `cargo metadata` where there is a
    /// Cargo.toml, and reads manifests and modules.
    pub fn find(dir: &Path, out: &Path) -> Result<Self, FindError> {
        let root = dir.canonicalize().map_err(|cause| FindError::Dir {
            dir: dir.to_owned(),
            cause,
        })?;
        if !root.is_dir() {
            return Err(FindError::NotDir(dir.to_owned()));
        }
        let mut skip = vec![out.canonicalize().unwrap_or_else(|_| out.to_owned())];
        let folders = folders(&root)?;
        let mut views = cargo::find(&root, &folders, &mut skip)?;
        views.extend(js::find(&root, &folders));
        views.extend(py::find(&root, &folders));
        Self::new(root, views, skip)
    }

    /// A layout of `views` under `root`, refused when empty or when two
    /// views share a name.
    fn new(root: PathBuf, mut views: Vec<Source>, skip: Vec<PathBuf>) -> Result<Self, FindError> {
        if views.is_empty() {
            return Err(FindError::NoCrates(root));
        }
        views.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.dir.cmp(&b.dir)));
        for pair in views.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(FindError::SameName {
                    name: pair[0].name.clone(),
                    first: pair[0].entry.clone(),
                    second: pair[1].entry.clone(),
                });
            }
        }
        Ok(Self { root, views, skip })
    }

    /// Whether changes at `path` (a file or a folder) never matter: outside
    /// the root, under a build or package folder (any folder named `target`,
    /// `node_modules` or `__pycache__`, or the target folder cargo reported)
    /// or the plugins folder, or hidden (`.git`, `.venv`, editors' state).
    pub fn ignored(&self, path: &Path) -> bool {
        if self.skip.iter().any(|dir| path.starts_with(dir)) {
            return true;
        }
        let Ok(inside) = path.strip_prefix(&self.root) else {
            return true;
        };
        inside.components().any(|part| match part {
            Component::Normal(name) => skipped(name),
            _ => false,
        })
    }

    /// The views a change to file `path` should rebuild: none unless it is
    /// a source of their language in a place that matters.
    pub fn affected(&self, path: &Path) -> Vec<usize> {
        if self.ignored(path) {
            return Vec::new();
        }
        self.owners(path)
            .into_iter()
            .filter(|&index| is_source(path, self.views[index].lang))
            .collect()
    }

    /// The views that own `path`: the view whose entry it is; else those of
    /// the innermost view folder holding it; else every view of the
    /// innermost group holding it (a workspace's Cargo.toml, a crate or
    /// module that is not a view, a package's shared code).
    pub fn owners(&self, path: &Path) -> Vec<usize> {
        if let Some(index) = self.views.iter().position(|view| view.entry == path) {
            return vec![index];
        }
        let innermost = |folder: fn(&Source) -> &PathBuf| {
            let deepest = self
                .views
                .iter()
                .map(folder)
                .filter(|dir| path.starts_with(dir))
                .max_by_key(|dir| dir.components().count())?;
            Some(
                self.views
                    .iter()
                    .enumerate()
                    .filter(|(_, view)| folder(view) == deepest)
                    .map(|(index, _)| index)
                    .collect::<Vec<_>>(),
            )
        };
        innermost(|view| &view.dir)
            .or_else(|| innermost(|view| &view.group))
            .unwrap_or_default()
    }
}

/// `root`'s immediate subfolders that may hold views, in order.
fn folders(root: &Path) -> Result<Vec<PathBuf>, FindError> {
    let entries = std::fs::read_dir(root).map_err(|cause| FindError::Dir {
        dir: root.to_owned(),
        cause,
    })?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() && !hidden_or_target(path))
        .collect();
    folders.sort();
    Ok(folders)
}

/// Whether a file can change a build of a `lang` view: its sources and
/// manifests, but not editors' backups, swap and lock files (`foo.rs~`,
/// `.foo.rs.swp`, `#foo.rs#`, `.#foo.rs`), nor lock files builds write
/// (Cargo.lock, package-lock.json), nor tests (`*.test.js`, `test_*.py`).
pub fn is_source(path: &Path, lang: Lang) -> bool {
    let Some(name) = path.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    if name.starts_with('.') || name.starts_with('#') || name.ends_with('~') {
        return false;
    }
    let ext = path.extension().and_then(OsStr::to_str).unwrap_or("");
    match lang {
        Lang::Rust => name == "Cargo.toml" || ext == "rs" || ext == "wit",
        Lang::Js => {
            name == "package.json"
                || (matches!(ext, "js" | "mjs" | "cjs")
                    && !name.contains(".test.")
                    && !name.contains(".spec."))
        }
        Lang::Py => {
            name == "pyproject.toml"
                || (ext == "py"
                    && !name.starts_with("test_")
                    && !name.ends_with("_test.py")
                    && name != "conftest.py")
        }
    }
}

/// Whether a folder of this name is never looked into: build output, a
/// package store, or a hidden one.
fn skipped(name: &OsStr) -> bool {
    name == "target"
        || name == "node_modules"
        || name == "__pycache__"
        || name.to_string_lossy().starts_with('.')
}

fn hidden_or_target(path: &Path) -> bool {
    path.file_name().is_none_or(skipped)
}

#[cfg(test)]
mod tests;

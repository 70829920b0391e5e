//! Which view crates `halo dev` builds, and which of them a changed file
//! belongs to.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

/// Why the view crates could not be found.
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
        "no view crates in {}: a view crate is a Cargo package whose lib has crate-type = [\"cdylib\"], \
         in that folder itself, in its workspace, or in one of its subfolders (`halo new <name>` makes one)",
        .0.display()
    )]
    NoCrates(PathBuf),
    /// Two crates would be built into the same `<name>.wasm`.
    #[error("two view crates are named {name}: {} and {}", first.display(), second.display())]
    SameName {
        /// The package name.
        name: String,
        /// One of them.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

/// One view crate: a package with a cdylib lib.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// Its package name, also its file's name in the plugins folder.
    pub name: String,
    /// The folder of its Cargo.toml.
    pub dir: PathBuf,
    /// Its Cargo.toml.
    pub manifest: PathBuf,
    /// The root of its workspace (its own folder when it is alone).
    pub workspace: PathBuf,
}

/// The view crates under the watched folder, and what in it to ignore.
#[derive(Debug)]
pub struct Layout {
    /// The watched folder, canonical: event paths start with it.
    pub root: PathBuf,
    /// The crates, in a stable order.
    pub crates: Vec<Crate>,
    /// Folders whose changes never matter: cargo's target folders and the
    /// plugins folder we write to.
    skip: Vec<PathBuf>,
}

impl Layout {
    /// Finds the view crates of `dir`: `dir` itself or the members of the
    /// workspace rooted there, else those of each immediate subfolder.
    /// `out` (where builds go) is ignored when it lies inside `dir`.
    /// Blocks: it runs `cargo metadata`.
    pub fn find(dir: &Path, out: &Path) -> Result<Self, FindError> {
        let root = dir.canonicalize().map_err(|cause| FindError::Dir {
            dir: dir.to_owned(),
            cause,
        })?;
        if !root.is_dir() {
            return Err(FindError::NotDir(dir.to_owned()));
        }
        let mut crates = Vec::new();
        let mut skip = vec![out.canonicalize().unwrap_or_else(|_| out.to_owned())];
        if root.join("Cargo.toml").is_file() {
            let (found, target) = views_in(metadata(&root)?, &root);
            crates.extend(found);
            skip.push(target);
        }
        if crates.is_empty() {
            let entries = std::fs::read_dir(&root).map_err(|cause| FindError::Dir {
                dir: root.clone(),
                cause,
            })?;
            let mut subdirs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| !hidden_or_target(path) && path.join("Cargo.toml").is_file())
                .collect();
            subdirs.sort();
            for sub in subdirs {
                let (found, target) = views_in(metadata(&sub)?, &sub);
                if !found.is_empty() {
                    skip.push(target);
                }
                for krate in found {
                    if !crates
                        .iter()
                        .any(|known: &Crate| known.manifest == krate.manifest)
                    {
                        crates.push(krate);
                    }
                }
            }
        }
        Self::new(root, crates, skip)
    }

    /// A layout of `crates` under `root`, refused when empty or when two
    /// crates share a name.
    fn new(root: PathBuf, mut crates: Vec<Crate>, skip: Vec<PathBuf>) -> Result<Self, FindError> {
        if crates.is_empty() {
            return Err(FindError::NoCrates(root));
        }
        crates.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.dir.cmp(&b.dir)));
        for pair in crates.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(FindError::SameName {
                    name: pair[0].name.clone(),
                    first: pair[0].dir.clone(),
                    second: pair[1].dir.clone(),
                });
            }
        }
        Ok(Self { root, crates, skip })
    }

    /// Whether changes at `path` (a file or a folder) never matter: outside
    /// the root, under a target folder (any folder named `target`, as cargo
    /// names it, or the one cargo reported) or the plugins folder, or hidden
    /// (`.git`, editors' state).
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

    /// The crates a change to file `path` should rebuild: none unless it is
    /// a source (`*.rs`, `*.wit`, `Cargo.toml`) in a place that matters.
    pub fn affected(&self, path: &Path) -> Vec<usize> {
        if self.ignored(path) || !is_source(path) {
            return Vec::new();
        }
        self.owners(path)
    }

    /// The crates that own `path`: the innermost crate folder holding it,
    /// else every crate of the innermost workspace holding it (a workspace's
    /// Cargo.toml, or a shared crate that is not a view).
    pub fn owners(&self, path: &Path) -> Vec<usize> {
        let innermost = self
            .crates
            .iter()
            .enumerate()
            .filter(|(_, krate)| path.starts_with(&krate.dir))
            .max_by_key(|(_, krate)| krate.dir.components().count());
        if let Some((index, _)) = innermost {
            return vec![index];
        }
        let workspace = self
            .crates
            .iter()
            .map(|krate| &krate.workspace)
            .filter(|workspace| path.starts_with(workspace))
            .max_by_key(|workspace| workspace.components().count());
        match workspace {
            Some(workspace) => self
                .crates
                .iter()
                .enumerate()
                .filter(|(_, krate)| &krate.workspace == workspace)
                .map(|(index, _)| index)
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Whether a file can change a build: Rust sources, WIT files and
/// manifests, but not editors' backups, swap and lock files (`foo.rs~`,
/// `.foo.rs.swp`, `#foo.rs#`, `.#foo.rs`), nor Cargo.lock, which builds
/// themselves write.
pub fn is_source(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    if name.starts_with('.') || name.starts_with('#') || name.ends_with('~') {
        return false;
    }
    name == "Cargo.toml"
        || path
            .extension()
            .is_some_and(|ext| ext == "rs" || ext == "wit")
}

/// Whether a folder of this name is never looked into: a target folder or
/// a hidden one.
fn skipped(name: &OsStr) -> bool {
    name == "target" || name.to_string_lossy().starts_with('.')
}

fn hidden_or_target(path: &Path) -> bool {
    path.file_name().is_none_or(skipped)
}

/// What `cargo metadata --no-deps` says of a workspace: only what we use.
#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_root: PathBuf,
    target_directory: PathBuf,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

/// A build target of a package, as cargo describes it in its JSON.
#[derive(Debug, Deserialize)]
pub(super) struct Target {
    kind: Vec<String>,
}

impl Target {
    /// Whether it builds a cdylib, which is what a view crate is.
    pub(super) fn is_cdylib(&self) -> bool {
        self.kind.iter().any(|kind| kind == "cdylib")
    }
}

fn metadata(dir: &Path) -> Result<Metadata, FindError> {
    let output = Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        // Config (.cargo/config.toml) is looked up from the working folder.
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(FindError::Cargo)?;
    if !output.status.success() {
        return Err(FindError::Metadata {
            dir: dir.to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    serde_json::from_slice(&output.stdout).map_err(|cause| FindError::Json {
        dir: dir.to_owned(),
        cause,
    })
}

/// The view crates `metadata`, asked in `dir`, names, and the target folder.
/// All the workspace's when `dir` is its root; otherwise (a member of a
/// workspace further up) only those inside `dir`.
fn views_in(metadata: Metadata, dir: &Path) -> (Vec<Crate>, PathBuf) {
    let whole = metadata.workspace_root == dir;
    let crates = metadata
        .packages
        .into_iter()
        .filter(|package| package.targets.iter().any(Target::is_cdylib))
        .filter_map(|package| {
            let crate_dir = package.manifest_path.parent()?.to_owned();
            (whole || crate_dir.starts_with(dir)).then(|| Crate {
                name: package.name,
                dir: crate_dir,
                manifest: package.manifest_path,
                workspace: metadata.workspace_root.clone(),
            })
        })
        .collect();
    (crates, metadata.target_directory)
}

#[cfg(test)]
mod tests;

//! Rust view crates: the packages with a cdylib that `cargo metadata`
//! lists.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::{FindError, Lang, Source};

/// The view crates of `root`: itself or the members of the workspace rooted
/// there, else those of each of its `folders` that has a Cargo.toml. Adds
/// the target folders cargo reports to `skip`.
pub(super) fn find(
    root: &Path,
    folders: &[PathBuf],
    skip: &mut Vec<PathBuf>,
) -> Result<Vec<Source>, FindError> {
    let mut crates = Vec::new();
    if root.join("Cargo.toml").is_file() {
        let (found, target) = views_in(metadata(root)?, root);
        crates.extend(found);
        skip.push(target);
    }
    if crates.is_empty() {
        for sub in folders
            .iter()
            .filter(|sub| sub.join("Cargo.toml").is_file())
        {
            let (found, target) = views_in(metadata(sub)?, sub);
            if !found.is_empty() {
                skip.push(target);
            }
            for krate in found {
                if !crates
                    .iter()
                    .any(|known: &Source| known.entry == krate.entry)
                {
                    crates.push(krate);
                }
            }
        }
    }
    Ok(crates)
}

/// What `cargo metadata --no-deps` says of a workspace: only what we use.
#[derive(Debug, Deserialize)]
pub(super) struct Metadata {
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
pub(in crate::dev) struct Target {
    kind: Vec<String>,
}

impl Target {
    /// Whether it builds a cdylib, which is what a view crate is.
    pub(in crate::dev) fn is_cdylib(&self) -> bool {
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
pub(super) fn views_in(metadata: Metadata, dir: &Path) -> (Vec<Source>, PathBuf) {
    let whole = metadata.workspace_root == dir;
    let crates = metadata
        .packages
        .into_iter()
        .filter(|package| package.targets.iter().any(Target::is_cdylib))
        .filter_map(|package| {
            let crate_dir = package.manifest_path.parent()?.to_owned();
            (whole || crate_dir.starts_with(dir)).then(|| Source {
                name: package.name,
                lang: Lang::Rust,
                dir: crate_dir,
                entry: package.manifest_path,
                group: metadata.workspace_root.clone(),
            })
        })
        .collect();
    (crates, metadata.target_directory)
}

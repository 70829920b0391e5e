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
mod tests {
    use super::*;

    fn krate(name: &str, dir: &str, workspace: &str) -> Crate {
        Crate {
            name: name.to_owned(),
            dir: PathBuf::from(dir),
            manifest: Path::new(dir).join("Cargo.toml"),
            workspace: PathBuf::from(workspace),
        }
    }

    /// `/v`: a workspace with two views and a shared non-view crate, a lone
    /// view crate, and a view nested inside another.
    fn layout() -> Layout {
        Layout::new(
            PathBuf::from("/v"),
            vec![
                krate("todos", "/v/ws/todos", "/v/ws"),
                krate("notes", "/v/ws/notes", "/v/ws"),
                krate("alone", "/v/alone", "/v/alone"),
                krate("inner", "/v/alone/inner", "/v/alone/inner"),
            ],
            vec![
                PathBuf::from("/v/ws/build-out"),
                PathBuf::from("/data/dev/plugins"),
            ],
        )
        .expect("a valid layout")
    }

    fn names(layout: &Layout, path: &str) -> Vec<String> {
        let mut names: Vec<String> = layout
            .affected(Path::new(path))
            .into_iter()
            .map(|index| layout.crates[index].name.clone())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_source_file_maps_to_the_crate_that_holds_it() {
        let layout = layout();
        assert_eq!(names(&layout, "/v/ws/todos/src/lib.rs"), ["todos"]);
        assert_eq!(names(&layout, "/v/ws/todos/src/deep/mod.rs"), ["todos"]);
        assert_eq!(names(&layout, "/v/ws/notes/Cargo.toml"), ["notes"]);
        assert_eq!(names(&layout, "/v/ws/notes/wit/view.wit"), ["notes"]);
        assert_eq!(names(&layout, "/v/ws/notes/build.rs"), ["notes"]);
        assert_eq!(names(&layout, "/v/alone/src/lib.rs"), ["alone"]);
    }

    #[test]
    fn a_nested_crate_owns_its_files() {
        let layout = layout();
        assert_eq!(names(&layout, "/v/alone/inner/src/lib.rs"), ["inner"]);
    }

    #[test]
    fn a_workspace_file_outside_every_view_rebuilds_the_whole_workspace() {
        let layout = layout();
        assert_eq!(names(&layout, "/v/ws/Cargo.toml"), ["notes", "todos"]);
        assert_eq!(names(&layout, "/v/ws/sdk/src/lib.rs"), ["notes", "todos"]);
    }

    #[test]
    fn files_outside_every_crate_and_workspace_rebuild_nothing() {
        let layout = layout();
        assert!(names(&layout, "/v/loose.rs").is_empty());
        assert!(names(&layout, "/v/Cargo.toml").is_empty());
        assert!(names(&layout, "/elsewhere/src/lib.rs").is_empty());
        assert!(names(&layout, "/vv/ws/todos/src/lib.rs").is_empty());
    }

    #[test]
    fn build_output_and_hidden_folders_are_ignored() {
        let layout = layout();
        assert!(names(&layout, "/v/ws/target/release/build/x/out/gen.rs").is_empty());
        assert!(names(&layout, "/v/alone/target/wasm32-wasip2/release/alone.d").is_empty());
        assert!(names(&layout, "/v/ws/build-out/gen.rs").is_empty());
        assert!(names(&layout, "/v/ws/todos/.git/HEAD").is_empty());
        assert!(names(&layout, "/v/ws/todos/.idea/src/lib.rs").is_empty());
        assert!(layout.ignored(Path::new("/v/ws/target")));
        assert!(layout.ignored(Path::new("/v/alone/.cargo")));
        assert!(layout.ignored(Path::new("/data/dev/plugins/todos.wasm")));
        assert!(!layout.ignored(Path::new("/v/ws/todos/src")));
    }

    #[test]
    fn only_sources_count_not_editor_files_or_lockfiles() {
        let layout = layout();
        for path in [
            "/v/ws/todos/src/lib.rs~",
            "/v/ws/todos/src/.lib.rs.swp",
            "/v/ws/todos/src/.lib.rs.swx",
            "/v/ws/todos/src/#lib.rs#",
            "/v/ws/todos/src/.#lib.rs",
            "/v/ws/todos/src/4913",
            "/v/ws/todos/src/lib.rs.kate-swp",
            "/v/ws/todos/Cargo.lock",
            "/v/ws/todos/README.md",
            "/v/ws/todos/src",
        ] {
            assert!(names(&layout, path).is_empty(), "{path} should be ignored");
        }
    }

    #[test]
    fn crates_with_the_same_name_are_refused() {
        let err = Layout::new(
            PathBuf::from("/v"),
            vec![
                krate("a", "/v/one", "/v/one"),
                krate("a", "/v/two", "/v/two"),
            ],
            Vec::new(),
        )
        .expect_err("same names");
        assert!(matches!(err, FindError::SameName { .. }), "{err}");
    }

    #[test]
    fn no_crates_is_an_error_that_says_what_a_view_crate_is() {
        let err = Layout::new(PathBuf::from("/v"), Vec::new(), Vec::new()).expect_err("empty");
        assert!(
            err.to_string().contains("crate-type = [\"cdylib\"]"),
            "{err}"
        );
    }

    const METADATA: &str = r#"{
        "packages": [
            {"name": "halo-sdk", "manifest_path": "/p/sdk/Cargo.toml",
             "targets": [{"kind": ["lib"], "name": "halo_sdk"}]},
            {"name": "todos", "manifest_path": "/p/todos/Cargo.toml",
             "targets": [{"kind": ["cdylib"], "name": "todos"}]},
            {"name": "both", "manifest_path": "/p/both/Cargo.toml",
             "targets": [{"kind": ["cdylib", "rlib"], "name": "both"}, {"kind": ["test"], "name": "t"}]},
            {"name": "cli", "manifest_path": "/p/cli/Cargo.toml",
             "targets": [{"kind": ["bin"], "name": "cli"}]}
        ],
        "workspace_root": "/p",
        "target_directory": "/p/target",
        "version": 1
    }"#;

    #[test]
    fn views_are_the_packages_with_a_cdylib() {
        let metadata: Metadata = serde_json::from_str(METADATA).expect("valid metadata");
        let (crates, target) = views_in(metadata, Path::new("/p"));
        let names: Vec<&str> = crates.iter().map(|krate| krate.name.as_str()).collect();
        assert_eq!(names, ["todos", "both"]);
        assert_eq!(target, Path::new("/p/target"));
        assert_eq!(crates[0].dir, Path::new("/p/todos"));
        assert_eq!(crates[0].workspace, Path::new("/p"));
    }

    #[test]
    fn a_member_asked_alone_keeps_only_itself() {
        let metadata: Metadata = serde_json::from_str(METADATA).expect("valid metadata");
        let (crates, _) = views_in(metadata, Path::new("/p/todos"));
        let names: Vec<&str> = crates.iter().map(|krate| krate.name.as_str()).collect();
        assert_eq!(names, ["todos"]);
    }
}

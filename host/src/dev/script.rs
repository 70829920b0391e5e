//! Builds of JavaScript and Python views, with their SDKs' build commands:
//! `halo-view-build` from the view's npm package, `halo-view-build-py` from
//! a virtual environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use super::compile::{BuildError, Running};
use super::console::{Console, Tone};
use super::sources::{Lang, Source};

/// The Python build command as pip installs it.
const PY_TOOL: &str = "halo-view-build-py";

/// The virtual environment `make views-setup` makes in the repository this
/// halo was built from: the last place the Python build command is looked
/// for.
const REPOSITORY_VENV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../build/venv");

/// Builds `view` (JavaScript or Python) into the component `out`, showing
/// the tools' output on `console`. Blocks.
pub(super) fn build(
    view: &Source,
    out: &Path,
    console: &Arc<Console>,
    running: &Running,
) -> Result<(), BuildError> {
    let (tool, mut command) = match view.lang {
        Lang::Js => (
            "halo-view-build",
            Command::new(js_tool(view, console, running)?),
        ),
        Lang::Py => (PY_TOOL, Command::new(py_tool(&view.group)?)),
        Lang::Rust => {
            return Err(BuildError::Toolchain(
                "a Rust crate is built with cargo".into(),
            ));
        }
    };
    command
        .arg(&view.entry)
        .arg("-o")
        .arg(out)
        .current_dir(&view.dir);
    running.run_shown(tool, &mut command, console)
}

/// The package's `halo-view-build`, after `npm install` when its
/// node_modules lack it (a package `halo new` just made). halo-sdk is a
/// `file:` dependency, so installing links it and downloads nothing.
fn js_tool(
    view: &Source,
    console: &Arc<Console>,
    running: &Running,
) -> Result<PathBuf, BuildError> {
    let package = &view.group;
    let tool = package.join("node_modules/.bin/halo-view-build");
    if tool.is_file() {
        return Ok(tool);
    }
    console.say(
        Tone::Plain,
        &format!(
            "installing the packages of {} (npm install)…",
            package.display()
        ),
    );
    let mut npm = Command::new("npm");
    npm.args(["install", "--no-audit", "--no-fund"])
        .current_dir(package);
    running.run_shown("npm install", &mut npm, console)?;
    if tool.is_file() {
        return Ok(tool);
    }
    Err(BuildError::Toolchain(format!(
        "npm install left no halo-view-build in {}: depend on halo-sdk (plugins/sdk-js in halo's repository) in package.json",
        package.join("node_modules/.bin").display()
    )))
}

/// The first `halo-view-build-py` in a `.venv` or `venv` of `folder` or a
/// folder above it, on the PATH, or in the repository's `build/venv`.
fn py_tool(folder: &Path) -> Result<PathBuf, BuildError> {
    let venvs = folder
        .ancestors()
        .flat_map(|dir| [dir.join(".venv"), dir.join("venv")]);
    let path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    venvs
        .map(|venv| venv.join("bin").join(PY_TOOL))
        .chain(path.into_iter().map(|dir| dir.join(PY_TOOL)))
        .chain(std::iter::once(Path::new(REPOSITORY_VENV).join("bin").join(PY_TOOL)))
        .find(|tool| tool.is_file())
        .ok_or_else(|| {
            BuildError::Toolchain(format!(
                "{PY_TOOL} not found in a .venv or venv of {} or above, on the PATH, or in {REPOSITORY_VENV}: \
                 `python3 -m venv .venv && .venv/bin/pip install -e <halo>/plugins/sdk-py` (or `make views-setup` in halo's repository)",
                folder.display()
            ))
        })
}

//! One build of a view, in its language's tool chain, its component moved
//! into the plugins folder in one step so the host reloads it whole.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::console::{Console, Tone};
use super::sources::{Lang, Layout, Source};
use super::{rust, script};

/// Why a build produced nothing to serve.
#[derive(Debug, thiserror::Error)]
pub(super) enum BuildError {
    #[error("cannot run {tool}: {cause}")]
    Spawn { tool: String, cause: std::io::Error },
    #[error("waiting for {tool}: {cause}")]
    Wait { tool: String, cause: std::io::Error },
    /// Errors in the view: the tool has shown them.
    #[error("{0} failed")]
    Failed(String),
    /// The tool chain is missing or unusable; what to do about it.
    #[error("{0}")]
    Toolchain(String),
    #[error("cargo built no .wasm for it (is its lib crate-type = [\"cdylib\"]?)")]
    NoArtifact,
    #[error("copying {} into {}: {cause}", from.display(), to.display())]
    Install {
        from: PathBuf,
        to: PathBuf,
        cause: std::io::Error,
    },
    /// `halo dev` is stopping.
    #[error("stopped")]
    Stopped,
}

/// Whether a build is the first of its view, before halo serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// At start.
    Initial,
    /// After a change, with halo serving.
    Rebuild,
}

/// Builds views one at a time into the plugins folder.
pub struct Builder {
    layout: Arc<Layout>,
    out: PathBuf,
    console: Arc<Console>,
    running: Arc<Running>,
}

impl Builder {
    /// Builds `layout`'s views into `out`, reporting on `console`.
    pub fn new(layout: Arc<Layout>, out: PathBuf, console: Arc<Console>) -> Self {
        Self {
            layout,
            out,
            console,
            running: Arc::default(),
        }
    }

    /// Builds view `index` and installs it; true if it did.
    pub async fn build(&self, index: usize, when: When) -> bool {
        let Some(view) = self.layout.views.get(index) else {
            return false;
        };
        let name = &view.name;
        self.console.say(Tone::Plain, &format!("building {name}…"));
        let started = Instant::now();
        let spinner = self.console.spin(&format!("building {name}…"));
        let job = {
            let view = view.clone();
            let out = self.out.clone();
            let console = Arc::clone(&self.console);
            let running = Arc::clone(&self.running);
            // Builds run for seconds to minutes: off the async workers.
            tokio::task::spawn_blocking(move || build(&view, &out, &console, &running))
        };
        let outcome = job.await.unwrap_or(Err(BuildError::Stopped));
        drop(spinner);
        let secs = started.elapsed().as_secs_f64();
        match outcome {
            Ok(changed) => {
                let tail = match (when, changed) {
                    (When::Initial, _) => "",
                    (When::Rebuild, true) => " → reloading",
                    (When::Rebuild, false) => "; unchanged, nothing to reload",
                };
                self.console
                    .say(Tone::Good, &format!("built {name} in {secs:.1}s{tail}"));
                true
            }
            Err(BuildError::Stopped) => false,
            Err(err) => {
                let why = match err {
                    BuildError::Failed(_) => String::new(),
                    other => format!(" ({other})"),
                };
                let serving = if component(&self.out, name).is_file() {
                    "still serving the previous build"
                } else {
                    "nothing to serve for it until it builds"
                };
                self.console.say(
                    Tone::Bad,
                    &format!("{name} failed to build{why}; {serving}"),
                );
                false
            }
        }
    }

    /// Kills the build under way, if any, and refuses new ones.
    pub fn stop(&self) {
        self.running.stop();
    }
}

/// Builds `view` with its language's tool chain and installs the component
/// in `out`; whether it changed. Blocks.
fn build(
    view: &Source,
    out: &Path,
    console: &Arc<Console>,
    running: &Running,
) -> Result<bool, BuildError> {
    match view.lang {
        Lang::Rust => {
            let wasm = rust::cargo_build(view, console, running)?;
            install(&wasm, out, &view.name)
        }
        Lang::Js | Lang::Py => {
            // Written beside the plugins folder's components under a name
            // the host does not load, then installed like cargo's output.
            let built = out.join(format!(".{}.wasm.built", view.name));
            let outcome = script::build(view, &built, console, running)
                .and_then(|()| install(&built, out, &view.name));
            let _ = std::fs::remove_file(&built);
            outcome
        }
    }
}

/// The process of the build under way, so that stopping `halo dev` does
/// not leave it running (or the runtime waiting for it at exit).
#[derive(Default)]
pub(super) struct Running(Mutex<RunningState>);

#[derive(Default)]
struct RunningState {
    child: Option<Child>,
    stopped: bool,
}

impl Running {
    /// Starts `command` (named `tool` in errors) with its stdout piped, and
    /// its stderr too when it is.
    pub(super) fn spawn(
        &self,
        tool: &str,
        command: &mut Command,
    ) -> Result<(ChildStdout, Option<ChildStderr>), BuildError> {
        let mut state = self.0.lock();
        if state.stopped {
            return Err(BuildError::Stopped);
        }
        let mut child = command.spawn().map_err(|cause| BuildError::Spawn {
            tool: tool.to_owned(),
            cause,
        })?;
        let stderr = child.stderr.take();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BuildError::Spawn {
                tool: tool.to_owned(),
                cause: std::io::Error::other("no pipe to its stdout"),
            });
        };
        state.child = Some(child);
        Ok((stdout, stderr))
    }

    /// Waits for the process once its output has ended.
    pub(super) fn wait(&self, tool: &str) -> Result<ExitStatus, BuildError> {
        let child = self.0.lock().child.take();
        match child {
            Some(mut child) => child.wait().map_err(|cause| BuildError::Wait {
                tool: tool.to_owned(),
                cause,
            }),
            None => Err(BuildError::Stopped),
        }
    }

    /// Runs `command` to its end with all its output shown on `console`;
    /// errs with [`BuildError::Failed`] unless it succeeds.
    pub(super) fn run_shown(
        &self,
        tool: &str,
        command: &mut Command,
        console: &Arc<Console>,
    ) -> Result<(), BuildError> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (stdout, stderr) = self.spawn(tool, command)?;
        let errors = stderr.map(|stderr| {
            let console = Arc::clone(console);
            std::thread::spawn(move || console.pass_through(stderr))
        });
        console.pass_through(stdout);
        let status = self.wait(tool);
        if let Some(errors) = errors {
            let _ = errors.join();
        }
        if !status?.success() {
            return Err(BuildError::Failed(tool.to_owned()));
        }
        Ok(())
    }

    fn stop(&self) {
        let mut state = self.0.lock();
        state.stopped = true;
        if let Some(mut child) = state.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where the component of view `name` is served from in `out`.
fn component(out: &Path, name: &str) -> PathBuf {
    out.join(format!("{name}.wasm"))
}

/// Copies `wasm` to `out/<name>.wasm` through a file the host ignores (it
/// loads only `*.wasm`), then renames it into place, so the host never reads
/// a half-written component. Returns false when the content is unchanged
/// (the host would not reload it either).
fn install(wasm: &Path, out: &Path, name: &str) -> Result<bool, BuildError> {
    let to = component(out, name);
    let failed = |cause| BuildError::Install {
        from: wasm.to_owned(),
        to: to.clone(),
        cause,
    };
    let bytes = std::fs::read(wasm).map_err(failed)?;
    if std::fs::read(&to).is_ok_and(|before| before == bytes) {
        return Ok(false);
    }
    let partial = out.join(format!(".{name}.wasm.partial"));
    std::fs::write(&partial, &bytes).map_err(failed)?;
    std::fs::rename(&partial, &to).map_err(failed)?;
    Ok(true)
}

/// Removes from `out` what a previous `halo dev` left that no view named in
/// `names` will replace (components of views gone since, which would
/// otherwise keep serving) and half-copied or half-built files. Blocks.
pub fn clean(out: &Path, names: &[String]) -> std::io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let Some(file) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let stale = match file.strip_suffix(".wasm") {
            Some(name) => !names.iter().any(|known| known == name),
            None => {
                file.starts_with('.')
                    && (file.ends_with(".wasm.partial") || file.ends_with(".wasm.built"))
            }
        };
        if stale && path.is_file() {
            std::fs::remove_file(&path)?;
            removed.push(file.to_owned());
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_replaces_in_one_step_and_tells_if_anything_changed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let built = dir.path().join("built.wasm");
        let out = dir.path().join("out");
        std::fs::create_dir(&out).expect("out");
        std::fs::write(&built, b"one").expect("write");
        assert!(install(&built, &out, "todos").expect("installed"));
        assert!(!install(&built, &out, "todos").expect("installed"));
        std::fs::write(&built, b"two").expect("write");
        assert!(install(&built, &out, "todos").expect("installed"));
        assert_eq!(std::fs::read(out.join("todos.wasm")).expect("read"), b"two");
        let left: Vec<_> = std::fs::read_dir(&out)
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["todos.wasm"], "no temp file is left behind");
    }

    #[test]
    fn clean_removes_components_of_views_gone_and_partial_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in [
            "todos.wasm",
            "gone.wasm",
            ".todos.wasm.partial",
            ".notes.wasm.built",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(file), b"x").expect("write");
        }
        let removed = clean(dir.path(), &["todos".to_owned()]).expect("cleaned");
        assert_eq!(
            removed,
            [".notes.wasm.built", ".todos.wasm.partial", "gone.wasm"]
        );
        assert!(dir.path().join("todos.wasm").is_file());
        assert!(dir.path().join("notes.txt").is_file());
    }
}

//! One `cargo build` of a view crate for `wasm32-wasip2`, its component
//! moved into the plugins folder in one step so the host reloads it whole.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde::Deserialize;

use super::console::{Console, Tone};
use super::crates::{Crate, Layout, Target};

/// Why a build produced nothing to serve.
#[derive(Debug, thiserror::Error)]
enum BuildError {
    #[error("cannot run cargo: {0}")]
    Spawn(std::io::Error),
    #[error("waiting for cargo: {0}")]
    Wait(std::io::Error),
    /// Compile errors: cargo has shown them.
    #[error("cargo failed")]
    Failed,
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

/// Whether a build is the first of its crate, before halo serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// At start.
    Initial,
    /// After a change, with halo serving.
    Rebuild,
}

/// Builds crates one at a time into the plugins folder.
pub struct Builder {
    layout: Arc<Layout>,
    out: PathBuf,
    console: Arc<Console>,
    running: Arc<Running>,
}

impl Builder {
    /// Builds `layout`'s crates into `out`, reporting on `console`.
    pub fn new(layout: Arc<Layout>, out: PathBuf, console: Arc<Console>) -> Self {
        Self {
            layout,
            out,
            console,
            running: Arc::default(),
        }
    }

    /// Builds crate `index` and installs it; true if it did.
    pub async fn build(&self, index: usize, when: When) -> bool {
        let Some(krate) = self.layout.crates.get(index) else {
            return false;
        };
        let name = &krate.name;
        self.console.say(Tone::Plain, &format!("building {name}…"));
        let started = Instant::now();
        let spinner = self.console.spin(&format!("building {name}…"));
        let job = {
            let krate = krate.clone();
            let out = self.out.clone();
            let console = Arc::clone(&self.console);
            let running = Arc::clone(&self.running);
            // cargo runs for seconds to minutes: off the async workers.
            tokio::task::spawn_blocking(move || {
                let wasm = cargo_build(&krate, &console, &running)?;
                install(&wasm, &out, &krate.name)
            })
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
                    BuildError::Failed => String::new(),
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

/// The cargo process of the build under way, so that stopping `halo dev`
/// does not leave it running (or the runtime waiting for it at exit).
#[derive(Default)]
struct Running(Mutex<RunningState>);

#[derive(Default)]
struct RunningState {
    child: Option<Child>,
    stopped: bool,
}

impl Running {
    fn spawn(
        &self,
        command: &mut Command,
    ) -> Result<(ChildStdout, Option<ChildStderr>), BuildError> {
        let mut state = self.0.lock();
        if state.stopped {
            return Err(BuildError::Stopped);
        }
        let mut child = command.spawn().map_err(BuildError::Spawn)?;
        let stderr = child.stderr.take();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BuildError::Spawn(std::io::Error::other(
                "no pipe to cargo's stdout",
            )));
        };
        state.child = Some(child);
        Ok((stdout, stderr))
    }

    /// Waits for the process once its stdout has ended.
    fn wait(&self) -> Result<ExitStatus, BuildError> {
        let child = self.0.lock().child.take();
        match child {
            Some(mut child) => child.wait().map_err(BuildError::Wait),
            None => Err(BuildError::Stopped),
        }
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

/// Runs cargo for `krate` and returns the component it built. Blocks.
fn cargo_build(
    krate: &Crate,
    console: &Arc<Console>,
    running: &Running,
) -> Result<PathBuf, BuildError> {
    let mut command = Command::new("cargo");
    command
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--lib",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&krate.manifest)
        // Config (.cargo/config.toml) is looked up from the working folder;
        // the target folder is cargo's choice (CARGO_TARGET_DIR, config, or
        // the workspace's target/).
        .current_dir(&krate.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if console.is_terminal() {
        // cargo's stderr comes through us so our spinner and its lines do not
        // overwrite each other; its own progress bar would fight the spinner.
        command
            .stderr(Stdio::piped())
            .env("CARGO_TERM_PROGRESS_WHEN", "never");
        if std::env::var_os("CARGO_TERM_COLOR").is_none() {
            command.env("CARGO_TERM_COLOR", "always");
        }
    } else {
        command.stderr(Stdio::inherit());
    }
    let (stdout, stderr) = running.spawn(&mut command)?;
    let passing = stderr.map(|stderr| {
        let console = Arc::clone(console);
        std::thread::spawn(move || console.pass_through(stderr))
    });
    let artifact = artifact(stdout, &krate.manifest);
    let status = running.wait();
    if let Some(passing) = passing {
        let _ = passing.join();
    }
    if !status?.success() {
        return Err(BuildError::Failed);
    }
    artifact.ok_or(BuildError::NoArtifact)
}

/// A line of cargo's JSON output: only what we use.
#[derive(Deserialize)]
struct Message {
    reason: String,
    manifest_path: Option<PathBuf>,
    target: Option<Target>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

/// Reads cargo's JSON messages to the end and returns the `.wasm` built for
/// the cdylib of the package at `manifest`.
fn artifact(stdout: impl Read, manifest: &Path) -> Option<PathBuf> {
    let mut found = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Message>(&line) else {
            continue;
        };
        let ours = message.reason == "compiler-artifact"
            && message.manifest_path.as_deref() == Some(manifest)
            && message.target.is_some_and(|target| target.is_cdylib());
        if ours
            && let Some(wasm) = message
                .filenames
                .into_iter()
                .find(|file| file.extension().is_some_and(|ext| ext == "wasm"))
        {
            found = Some(wasm);
        }
    }
    found
}

/// Where the component of crate `name` is served from in `out`.
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

/// Removes from `out` what a previous `halo dev` left that no crate named in
/// `names` will replace (components of crates gone since, which would
/// otherwise keep serving) and half-copied files. Blocks.
pub fn clean(out: &Path, names: &[String]) -> std::io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let Some(file) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let stale = match file.strip_suffix(".wasm") {
            Some(name) => !names.iter().any(|known| known == name),
            None => file.starts_with('.') && file.ends_with(".wasm.partial"),
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
    fn the_artifact_is_the_cdylib_wasm_of_the_crate() {
        let stdout = r#"{"reason":"compiler-artifact","manifest_path":"/p/sdk/Cargo.toml","target":{"kind":["lib"],"name":"halo_sdk"},"filenames":["/t/libhalo_sdk.rlib"],"fresh":true}
not json at all
{"reason":"compiler-artifact","manifest_path":"/p/other/Cargo.toml","target":{"kind":["cdylib"],"name":"other"},"filenames":["/t/other.wasm"],"fresh":false}
{"reason":"compiler-artifact","manifest_path":"/p/todos/Cargo.toml","target":{"kind":["cdylib"],"name":"todos"},"filenames":["/t/todos.d","/t/todos.wasm"],"fresh":false}
{"reason":"build-finished","success":true}
"#;
        assert_eq!(
            artifact(stdout.as_bytes(), Path::new("/p/todos/Cargo.toml")),
            Some(PathBuf::from("/t/todos.wasm"))
        );
        assert_eq!(
            artifact(stdout.as_bytes(), Path::new("/p/none/Cargo.toml")),
            None
        );
    }

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
    fn clean_removes_components_of_crates_gone_and_partial_copies() {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in [
            "todos.wasm",
            "gone.wasm",
            ".todos.wasm.partial",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(file), b"x").expect("write");
        }
        let removed = clean(dir.path(), &["todos".to_owned()]).expect("cleaned");
        assert_eq!(removed, [".todos.wasm.partial", "gone.wasm"]);
        assert!(dir.path().join("todos.wasm").is_file());
        assert!(dir.path().join("notes.txt").is_file());
    }
}

//! One `cargo build` of a Rust view crate for `wasm32-wasip2`, and the
//! component it made.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde::Deserialize;

use super::compile::{BuildError, Running};
use super::console::Console;
use super::sources::Source;
use super::sources::cargo::Target;

/// Runs cargo for `krate` and returns the component it built. Blocks.
pub(super) fn cargo_build(
    krate: &Source,
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
        .arg(&krate.entry)
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
    let (stdout, stderr) = running.spawn("cargo", &mut command)?;
    let passing = stderr.map(|stderr| {
        let console = Arc::clone(console);
        std::thread::spawn(move || console.pass_through(stderr))
    });
    let artifact = artifact(stdout, &krate.entry);
    let status = running.wait("cargo");
    if let Some(passing) = passing {
        let _ = passing.join();
    }
    if !status?.success() {
        return Err(BuildError::Failed("cargo".to_owned()));
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
}

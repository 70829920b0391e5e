//! Compiling a component in a child process: cranelift's working memory
//! for a large component (a Python view: hundreds of MB) is freed when the
//! child exits, instead of staying in the server's heap for good. The child
//! is halo itself, re-run with a hidden command; it writes the artifact into
//! the compile cache, which the server then maps.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use wasmtime::component::Component;

/// The hidden command that compiles one component (see [`child_main`]).
pub const COMMAND: &str = "compile-view";

/// Exit status of a child that found the component invalid; its stderr says
/// why.
const INVALID: i32 = 65;

/// Most of a child's error output kept: the reason is at its start.
const MAX_REASON: usize = 8 << 10;

/// The executable that compiles components for this process, when it can.
static CHILD: OnceLock<PathBuf> = OnceLock::new();

/// Makes every engine of this process compile in a child running `exe`
/// (`halo` itself, which knows [`COMMAND`]). Without it, engines compile in
/// process, as library users and tests do.
pub fn compile_in_child(exe: PathBuf) {
    let _ = CHILD.set(exe);
}

pub(super) fn child() -> Option<&'static Path> {
    CHILD.get().map(PathBuf::as_path)
}

/// Why a child did not compile a component.
#[derive(Debug, thiserror::Error)]
pub(super) enum ChildError {
    /// The component is not valid: the child's own words.
    #[error("{0}")]
    Invalid(String),
    /// The child could not run or did not finish; compiling here may work.
    #[error("{0}")]
    Failed(String),
}

/// Compiles `bytes` in a child running `exe`, which writes the artifact to
/// `out`. Blocks.
pub(super) fn in_child(exe: &Path, bytes: &[u8], out: &Path) -> Result<(), ChildError> {
    let failed = |what: &str, err: std::io::Error| ChildError::Failed(format!("{what}: {err}"));
    let mut child = Command::new(exe)
        .arg(COMMAND)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(&format!("starting {}", exe.display()), e))?;
    // The child reads all of stdin before it writes anything, so writing
    // first cannot deadlock on a full stderr pipe.
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(bytes))
        .transpose();
    // Read to the end, so a long message cannot block the child.
    let mut output = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_end(&mut output);
    }
    let status = child
        .wait()
        .map_err(|e| failed("waiting for the compiler", e))?;
    output.truncate(MAX_REASON);
    let reason = String::from_utf8_lossy(&output).trim().to_owned();
    match status.code() {
        Some(0) => Ok(()),
        Some(INVALID) => Err(ChildError::Invalid(reason)),
        _ => {
            let how = match (written, status.code()) {
                (Err(err), _) => format!("could not hand it the component ({err})"),
                (_, Some(code)) => format!("exited with status {code}"),
                (_, None) => "was killed (out of memory?)".to_owned(),
            };
            Err(ChildError::Failed(format!(
                "the compiler process {how}: {reason}"
            )))
        }
    }
}

/// What [`COMMAND`] runs: reads a component on stdin and writes its
/// compiled artifact to `out` (through a temporary file and a rename). The
/// exit status tells an invalid component (its reason on stderr) from other
/// failures.
pub fn child_main(out: &Path) -> std::process::ExitCode {
    let mut bytes = Vec::new();
    if let Err(err) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("reading the component: {err}");
        return std::process::ExitCode::FAILURE;
    }
    let engine = match wasmtime::Engine::new(&super::engine::config()) {
        Ok(engine) => engine,
        Err(err) => {
            eprintln!("starting the compiler: {err:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let component = match Component::new(&engine, &bytes) {
        Ok(component) => component,
        Err(err) => {
            eprintln!("{err:#}");
            return std::process::ExitCode::from(INVALID as u8);
        }
    };
    match super::cache::store(&component, out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("writing {}: {err:#}", out.display());
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compiler_that_cannot_start_is_a_failure_to_compile_here_not_a_refusal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("x.cwasm");
        let missing = dir.path().join("no-such-halo");
        match in_child(&missing, b"\0asm", &out) {
            Err(ChildError::Failed(why)) => assert!(why.contains("starting"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(!out.exists());
    }

    #[test]
    fn an_invalid_component_is_refused_with_the_childs_words() {
        // `sh` stands in for halo: it reads the component, says why it is
        // invalid and exits with the status that means so.
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("fake-halo");
        std::fs::write(
            &script,
            format!("#!/bin/sh\ncat >/dev/null\necho 'bad magic' >&2\nexit {INVALID}\n"),
        )
        .expect("write");
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&script, executable).expect("chmod");
        match in_child(&script, b"not wasm", &dir.path().join("x.cwasm")) {
            Err(ChildError::Invalid(reason)) => assert_eq!(reason, "bad magic"),
            other => panic!("{other:?}"),
        }
    }
}

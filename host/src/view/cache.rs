//! Compiled components on disk, keyed by content and engine, so a restart
//! loads views without compiling them again. Compiling happens in a child
//! process when this process can start one (see `compile`), one component
//! at a time.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;
use super::compile::{self, ChildError};
use super::refusal;

/// A host-owned folder of `.cwasm` artifacts. Only the host writes here:
/// artifacts are native code and are trusted when loaded.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// Fingerprint of the engine's settings and version; artifacts of another
    /// engine would be refused by wasmtime, so they get another name.
    engine_key: [u8; 8],
    /// Held while a child compiles: compiling already uses every core, and
    /// one at a time bounds the memory children take together.
    compiling: Mutex<()>,
}

impl ComponentCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir,
            engine_key: hasher.finish().to_le_bytes(),
            compiling: Mutex::new(()),
        })
    }

    /// The compiled component for `bytes`, and the content hash of `bytes`.
    /// Blocks: call it off the async workers.
    pub fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> Result<(Component, String), LoadError> {
        let hash = blake3::hash(bytes).to_hex().to_string();
        let mut key = blake3::Hasher::new();
        key.update(&self.engine_key);
        key.update(bytes);
        let path = self.dir.join(format!("{}.cwasm", key.finalize().to_hex()));
        if let Some(component) = cached(engine, &path) {
            return Ok((component, hash));
        }
        if let Some(exe) = compile::child() {
            let _one = self.compiling.lock();
            // Another load may have compiled it while this one waited.
            if let Some(component) = cached(engine, &path) {
                return Ok((component, hash));
            }
            match compile::in_child(exe, bytes, &path) {
                Ok(()) => match load(engine, &path) {
                    Ok(component) => return Ok((component, hash)),
                    // E.g. the binary was replaced since this process
                    // started, and its engine differs.
                    Err(err) => {
                        tracing::warn!(cause = %format!("{err:#}"), "a component compiled in a child process does not load here; compiling in process")
                    }
                },
                Err(ChildError::Invalid(reason)) => return Err(refusal::uncompilable(reason)),
                Err(ChildError::Failed(why)) => {
                    tracing::warn!(cause = %why, "compiling in a child process failed; compiling in process")
                }
            }
        }
        let component =
            Component::new(engine, bytes).map_err(|e| refusal::uncompilable(format!("{e:#}")))?;
        if let Err(err) = store(&component, &path) {
            tracing::warn!(path = %path.display(), cause = %err, "could not cache compiled component");
        }
        Ok((component, hash))
    }
}

/// The artifact at `path`, if there is a good one.
fn cached(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    match load(engine, path) {
        Ok(component) => Some(component),
        Err(err) => {
            tracing::warn!(path = %path.display(), cause = %err, "ignoring unreadable cached component");
            None
        }
    }
}

#[expect(
    unsafe_code,
    reason = "deserializing trusts the file as native code; only artifacts this host wrote to its own cache are read"
)]
fn load(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `path` is inside the host's cache folder, written by `store`
    // below (here or in a child `compile` started) from a component an
    // engine of the same settings compiled; wasmtime checks that.
    unsafe { Component::deserialize_file(engine, path) }
}

/// Writes `component`'s artifact to `path` in one step.
pub(super) fn store(component: &Component, path: &Path) -> anyhow::Result<()> {
    let bytes = component.serialize()?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    // Rename is atomic: a concurrent reader sees the whole file or none.
    std::fs::rename(&tmp, path)?;
    Ok(())
}

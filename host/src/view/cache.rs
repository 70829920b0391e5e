//! Compiled components on disk, keyed by content and engine, so a restart
//! loads views without compiling them again.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

/// A host-owned folder of `.cwasm` artifacts. Only the host writes here:
/// artifacts are native code and are trusted when loaded.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// Fingerprint of the engine's settings and version; artifacts of another
    /// engine would be refused by wasmtime, so they get another name.
    engine_key: [u8; 8],
}

impl ComponentCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir,
            engine_key: hasher.finish().to_le_bytes(),
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
        if path.exists() {
            match load(engine, &path) {
                Ok(component) => return Ok((component, hash)),
                Err(err) => {
                    tracing::warn!(path = %path.display(), cause = %err, "ignoring unreadable cached component")
                }
            }
        }
        let component = Component::new(engine, bytes)
            .map_err(|e| LoadError::Invalid(format!("{:#}", e.root_cause())))?;
        if let Err(err) = store(&component, &path) {
            tracing::warn!(path = %path.display(), cause = %err, "could not cache compiled component");
        }
        Ok((component, hash))
    }
}

#[expect(
    unsafe_code,
    reason = "deserializing trusts the file as native code; only artifacts this host wrote to its own cache are read"
)]
fn load(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `path` is inside the host's cache folder, written by `store`
    // below from a component this engine compiled.
    unsafe { Component::deserialize_file(engine, path) }
}

fn store(component: &Component, path: &Path) -> anyhow::Result<()> {
    let bytes = component.serialize()?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    // Rename is atomic: a concurrent reader sees the whole file or none.
    std::fs::rename(&tmp, path)?;
    Ok(())
}

//! `halo dev`: views (Rust, JavaScript, Python) built, served, and rebuilt
//! on save.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::serve::{self, Serve};
use super::signals::Signals;

#[derive(clap::Args)]
pub struct Dev {
    /// A view project (crate, npm package, Python module folder), or a
    /// folder of them.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub serve: Serve,
}

/// Builds the views in `args.dir` into `<data>/dev/plugins`, serves
/// that folder, and rebuilds on every save.
pub async fn run(mut args: Dev) -> anyhow::Result<()> {
    let out = crate::data_dir::DataDir::new(&args.serve.data).dev_plugins();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // The first builds can take minutes: a signal meanwhile stops them (and
    // the cargo processes) rather than killing halo under cargo's feet.
    let mut signals = Signals::new();
    let _dev = tokio::select! {
        dev = crate::dev::start(args.dir.clone(), out.clone()) => dev?,
        () = signals.next() => return Ok(()),
    };
    args.serve.plugins = Some(out);
    args.serve.node_modules = browser_libraries(args.serve.node_modules);
    serve::run(args.serve, signals).await
}

/// Where the front page's browser libraries are. A JavaScript view's own
/// `node_modules` (where `halo dev` usually runs) holds its SDK, not them:
/// then the repository's this halo was built from, as `halo serve` falls
/// back to when there is no `node_modules` at all.
fn browser_libraries(node_modules: PathBuf) -> PathBuf {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(&node_modules);
    if node_modules.is_relative()
        && !node_modules.join("backbone").exists()
        && repository.join("backbone").exists()
    {
        return repository;
    }
    node_modules
}

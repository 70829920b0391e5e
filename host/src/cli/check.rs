//! `halo check`: a view's spec, or exactly why halo would refuse the file.

use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Check {
    /// The component (*.wasm).
    pub file: PathBuf,
}

/// Loads `args.file` as `halo serve` would and prints what it declares, or
/// why it would be refused (exit status 1).
pub async fn run(args: &Check) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let refuse = |why: String| -> anyhow::Result<()> {
        eprintln!("{} would be refused: {why}", args.file.display());
        std::process::exit(1)
    };
    if !bytes.starts_with(b"\0asm") {
        return refuse("it is not WebAssembly (no \\0asm header)".into());
    }
    // A core module has version 1; a component has its own layer number.
    if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
        return refuse(
            "it is a core WebAssembly module, not a component: build the view for wasm32-wasip2"
                .into(),
        );
    }
    // A cache of its own, so checking never touches a host's data folder.
    let cache = std::env::temp_dir().join("halo-check-cache");
    let engine = crate::view::Engine::new(cache).context("starting the wasm runtime")?;
    let runtime = crate::view::Runtime::new(&engine, crate::view::Limits::default(), "");
    let plugin = match runtime.load(bytes).await {
        Ok(plugin) => plugin,
        Err(err) => return refuse(err.to_string()),
    };
    let spec = plugin.spec();
    let list = |set: &std::collections::BTreeSet<String>| {
        set.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("{}: a valid view", args.file.display());
    println!("  view        {}", spec.name);
    println!("  collection  {}", spec.collection);
    println!("  routes      {}", list(&spec.routes));
    println!("  handlers    {}", list(&spec.handlers));
    println!(
        "  render      {}",
        if spec.render_per_client {
            "per client"
        } else {
            "shared"
        }
    );
    println!("  connect     {}", if spec.connect { "yes" } else { "no" });
    println!("  wit         {}", plugin.wit());
    println!("  hash        {}", plugin.hash());
    Ok(())
}

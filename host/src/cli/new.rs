//! `halo new`: a view project to start from, in Rust, JavaScript or Python.

use std::path::PathBuf;

use crate::scaffold::Lang;

#[derive(clap::Args)]
pub struct New {
    /// The project's name (also its folder's); the view's is derived from
    /// it (`my-items` → `MyItems`).
    pub name: String,
    /// The language to write the view in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
    /// Where to create it.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The halo-sdk to depend on (`plugins/sdk`, `plugins/sdk-js` or
    /// `plugins/sdk-py` in halo's repository); defaults to the one of the
    /// repository this halo was built from.
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

/// Creates the project and says where, and what to do next.
pub fn run(args: &New) -> anyhow::Result<()> {
    let dir = crate::scaffold::create(&args.dir, &args.name, args.lang, args.sdk.as_deref())?;
    println!("created {}", dir.display());
    let next = match args.lang {
        Lang::Rust => {
            "`halo dev` there builds it and serves it; `cargo test --target host-tuple` runs its tests"
        }
        Lang::Js => {
            "`halo dev` there installs its packages, builds it and serves it; `npm test` runs its tests"
        }
        Lang::Py => {
            "`halo dev` there builds it and serves it; pytest runs its tests (see its README)"
        }
    };
    println!("{next}");
    Ok(())
}

//! `halo new`: a view crate to start from.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct New {
    /// The view crate's name (also its folder's).
    pub name: String,
    /// Where to create it.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The halo-sdk crate to depend on; defaults to the one this halo was
    /// built with.
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

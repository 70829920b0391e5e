//! `halo tenant drop`: deletes a removed tenant's data.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::data_dir::DataDir;

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Delete a tenant's data for good. Its folder must be gone from the
    /// tenants folder first (which also takes it down on a running host).
    Drop(Drop),
}

#[derive(clap::Args)]
pub struct Drop {
    /// The tenant.
    pub name: String,
    /// The data folder the host uses.
    #[arg(long, env = "HALO_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// The tenants folder the host uses, to check the tenant is gone from it.
    #[arg(long, env = "HALO_TENANTS")]
    pub tenants: Option<PathBuf>,
    /// Really delete; without it, only say what would be deleted.
    #[arg(long)]
    pub yes: bool,
}

/// Deletes `<data>/tenants/<name>`, once the tenant's folder is gone.
pub fn drop(args: &Drop) -> anyhow::Result<()> {
    crate::tenant::name::validate(&args.name)?;
    if let Some(tenants) = &args.tenants {
        let folder = tenants.join(&args.name);
        if folder.exists() {
            anyhow::bail!(
                "tenant {} is still configured ({} exists); remove its folder first, which also takes it down on a running host",
                args.name,
                folder.display()
            );
        }
    }
    let dir = DataDir::new(&args.data).tenant(&args.name);
    if !dir.exists() {
        anyhow::bail!("tenant {} has no data in {}", args.name, dir.display());
    }
    if !args.yes {
        println!(
            "would delete {} (tenant {}'s data); run again with --yes to delete it",
            dir.display(),
            args.name
        );
        return Ok(());
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("deleting {}", dir.display()))?;
    println!("deleted {}", dir.display());
    Ok(())
}

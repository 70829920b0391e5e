//! The `halo` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// halo: a real-time backend for Backbone.js apps, with views as sandboxed
/// WebAssembly components.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the views in a plugins folder over HTTP and Socket.IO.
    Serve(Serve),
}

#[derive(clap::Args)]
struct Serve {
    /// Address to listen on.
    #[arg(long, env = "HALO_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "HALO_PORT", default_value_t = 3000)]
    port: u16,
    /// Folder of view components (*.wasm); watched, so views can be added,
    /// replaced and removed while halo runs.
    #[arg(long, env = "HALO_PLUGINS", default_value = "./plugins")]
    plugins: PathBuf,
    /// Folder for the SQLite database and the compiled-view cache.
    #[arg(long, env = "HALO_DATA", default_value = "./data")]
    data: PathBuf,
    /// Memory one view instance may use, in MiB.
    #[arg(long, env = "HALO_PLUGIN_MEMORY_MIB", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    plugin_memory_mib: u32,
    /// CPU time one view call may use, in milliseconds.
    #[arg(long, env = "HALO_PLUGIN_DEADLINE_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    plugin_deadline_ms: u64,
    /// View calls that may run at once; more wait for a free slot.
    #[arg(long, env = "HALO_PLUGIN_INSTANCES", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    plugin_instances: u32,
    /// Largest Socket.IO message, in bytes; a bigger one closes the
    /// connection that sent it.
    #[arg(long, env = "HALO_MAX_PAYLOAD", default_value_t = 1_000_000)]
    max_payload: u64,
    /// The socket.io-client browser bundle served at /socket.io/socket.io.js.
    #[arg(
        long,
        env = "HALO_SOCKET_IO_CLIENT",
        default_value = "node_modules/socket.io-client/dist/socket.io.min.js"
    )]
    socket_io_client: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
    }
}

async fn serve(args: Serve) -> anyhow::Result<()> {
    let limits = halo::view::Limits {
        memory_bytes: (args.plugin_memory_mib as usize) << 20,
        cpu_deadline: Duration::from_millis(args.plugin_deadline_ms),
        max_instances: args.plugin_instances as usize,
    };
    let config = halo::Config {
        plugins: args.plugins,
        data: args.data,
        limits,
        max_payload: args.max_payload,
        socket_io_client: Some(args.socket_io_client),
    };
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    halo::serve(config, listener, shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

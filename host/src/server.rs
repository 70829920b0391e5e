//! Starts a host: opens the store, loads the plugins folder, serves HTTP and
//! Socket.IO on a bound listener until shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use socketioxide::SocketIo;
use tokio::net::TcpListener;

use crate::catalog::Catalog;
use crate::folder::PluginFolder;
use crate::store::SqliteStore;
use crate::tenant::Tenant;
use crate::view::{Limits, Runtime};

/// Everything `serve` needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder of `*.wasm` views, watched for changes.
    pub plugins: PathBuf,
    /// Folder for the database and the compiled-component cache.
    pub data: PathBuf,
    /// Sandbox limits.
    pub limits: Limits,
    /// Largest Socket.IO message accepted, in bytes; a bigger one closes
    /// that connection.
    pub max_payload: u64,
    /// The socket.io-client browser bundle to serve, if any.
    pub socket_io_client: Option<PathBuf>,
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("creating the data folder {}", config.data.display()))?;
    std::fs::create_dir_all(&config.plugins)
        .with_context(|| format!("creating the plugins folder {}", config.plugins.display()))?;
    let store = SqliteStore::open(&config.data.join("halo.sqlite3"))
        .with_context(|| format!("opening the store in {}", config.data.display()))?;
    let runtime = Runtime::new(config.limits, config.data.join("cache"))
        .context("starting the wasm runtime")?;
    let catalog = Arc::new(Catalog::default());
    let folder = PluginFolder::new(
        config.plugins.clone(),
        Arc::clone(&runtime),
        Arc::clone(&catalog),
    );
    folder.scan().await;
    let _watcher = folder
        .watch()
        .with_context(|| format!("watching the plugins folder {}", config.plugins.display()))?;

    let tenant = Arc::new(Tenant::new(
        String::new(),
        Arc::new(store),
        Arc::clone(&catalog),
        runtime,
    ));
    let (layer, io) = SocketIo::builder()
        .max_payload(config.max_payload)
        .max_buffer_size(crate::sync::SEND_BUFFER)
        .build_layer();
    crate::sync::attach(&io, "/", tenant);

    let socket_io_js = match &config.socket_io_client {
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => Some(bytes::Bytes::from(bytes)),
            Err(err) => {
                tracing::warn!(path = %path.display(), cause = %err, "socket.io-client bundle not found; /socket.io/socket.io.js will answer 404 (run `npm install`)");
                None
            }
        },
        None => None,
    };
    let app = crate::http::app(layer, socket_io_js, Arc::clone(&catalog));
    let addr = listener.local_addr()?;
    let views: Vec<String> = catalog
        .all()
        .iter()
        .map(|v| v.spec().name.clone())
        .collect();
    tracing::info!(
        address = %format!("http://{addr}"),
        plugins = %config.plugins.display(),
        data = %config.data.display(),
        views = %views.join(","),
        "serving"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Upgraded websockets are not tracked by the HTTP server's
            // graceful shutdown: close them so it can finish.
            io.close().await;
        })
        .await
        .context("serving HTTP")?;
    Ok(())
}

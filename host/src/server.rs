//! Starts a host: serves the default tenant's plugins folder on `/` and/or
//! a tenants folder, over HTTP and Socket.IO on a bound listener, until
//! shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::response::IntoResponse;
use socketioxide::{ParserConfig, SocketIo};
use tokio::net::TcpListener;

use crate::data_dir::DataDir;
use crate::socket::{Conn, Gate, MeteredListener, SEND_BUFFER, SocketNamespaces};
use crate::tenant::{Settings, TenantLimits, Tenants};
use crate::view::Engine;

/// Everything `serve` needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder of `*.wasm` views served as the default tenant on `/`.
    pub plugins: Option<PathBuf>,
    /// Folder of tenant folders, each served on `/<tenant>`.
    pub tenants: Option<PathBuf>,
    /// Folder for the databases and the compiled-component cache.
    pub data: DataDir,
    /// Limits of the default tenant, and of tenants for what their
    /// tenant.toml leaves out. Their `max_payload` is also the largest
    /// Socket.IO message the host accepts at all: a bigger one closes the
    /// connection that sent it.
    pub limits: TenantLimits,
    /// How long a tenant with no connections stays loaded.
    pub idle: Duration,
    /// The socket.io-client browser bundle to serve, if any.
    pub socket_io_client: Option<PathBuf>,
    /// npm's `node_modules`, where the demos' browser libraries are found.
    pub node_modules: Option<PathBuf>,
    /// Bearer token for the admin endpoint; without one it is off.
    pub admin_token: Option<String>,
    /// The tenant whose HS256 secret signs demo users' tokens
    /// (`/demo/token/{user}`); without one that route is off.
    pub demo_tenant: Option<String>,
    /// Origins whose pages may connect (`*`: any); none keeps browsers to
    /// the same origin.
    pub cors_origins: Vec<String>,
    /// How long a shutdown waits for requests in flight before it closes
    /// the sockets anyway.
    pub shutdown_grace: Duration,
    /// What one connection may hold, and how long it may take to join.
    pub sessions: SessionLimits,
    /// The shared store and the cluster, if any.
    pub cluster: ClusterConfig,
}

/// Where the data lives when it is shared, and the cluster this node is in.
#[derive(Debug, Clone, Default)]
pub struct ClusterConfig {
    /// PostgreSQL URL of the shared store; `None`: SQLite files.
    pub store: Option<String>,
    /// Redis URL of the change feed; `None`: no other node is told of
    /// commits (they find them in the commit log within a second).
    pub feed: Option<String>,
    /// The cluster's name, the prefix of its Redis keys.
    pub name: String,
    /// This node's name.
    pub node: String,
    /// Commits of each tenant the commit log keeps.
    pub retention: u64,
}

/// What one connection may hold of the host's memory, and for how long.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// Bytes of acks and pushes that may wait unwritten for one connection;
    /// one that falls further behind is closed and its client resyncs.
    pub send_buffer: u64,
    /// How long a new connection may take to join a namespace.
    pub handshake_timeout: Duration,
    /// Connections that may be opened and not yet in a namespace, host-wide.
    pub max_handshakes: usize,
    /// How often the host pings each connection.
    pub ping_interval: Duration,
    /// How long it waits for the pong before the connection is dead.
    pub ping_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            send_buffer: 1 << 20,
            handshake_timeout: Duration::from_secs(5),
            max_handshakes: 1024,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
        }
    }
}

/// Bytes of each websocket's read buffer.
const WS_READ_BUFFER: usize = 1024;

/// How long closing the sockets may take once requests are done.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether an Engine.IO request belongs to an open session (`sid=`).
fn has_session(uri: &axum::http::Uri) -> bool {
    uri.query()
        .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("sid=")))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(at)) => {
            let user = &rest[..at - scheme.len() - 3];
            let user = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{}", &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let data = config.data.root();
    std::fs::create_dir_all(data)
        .with_context(|| format!("creating the data folder {}", data.display()))?;
    let engine = Engine::new(config.data.cache()).context("starting the wasm runtime")?;
    let max_payload = config.limits.max_payload;
    let ws_max = usize::try_from(max_payload).unwrap_or(usize::MAX);
    let sessions = &config.sessions;
    let (service, io) = SocketIo::builder()
        // One limit on every transport: a long-polling POST body, and a
        // websocket message and each of its frames.
        .max_payload(max_payload)
        .ws_max_message_size(ws_max)
        .ws_max_frame_size(ws_max)
        // A websocket's read buffer lives as long as the connection, idle or
        // not: 1 KiB holds a typical event, and a bigger message grows it
        // while it is read (4 KiB by default, 3 KiB more per idle client).
        .ws_read_buffer_size(WS_READ_BUFFER)
        .max_buffer_size(SEND_BUFFER)
        .connect_timeout(sessions.handshake_timeout)
        .ping_interval(sessions.ping_interval)
        .ping_timeout(sessions.ping_timeout)
        // halo's data is JSON: a packet announcing binary attachments is
        // refused (and its connection closed) as it arrives, rather than
        // held, unanswered, until attachments that may never come.
        .with_parser(ParserConfig::common().max_incoming_binaries(0))
        .build_svc();
    let gate = Gate::new(sessions.max_handshakes, sessions.send_buffer);
    let shared = match &config.cluster.store {
        Some(url) => Some(
            crate::store::Postgres::connect(url, config.cluster.retention)
                .await
                .with_context(|| format!("opening the store at {}", redact(url)))?,
        ),
        None => None,
    };
    if config.cluster.feed.is_some() && shared.is_none() {
        anyhow::bail!("--feed ties nodes that share a store: give --store postgres://… as well");
    }
    let tenants = Tenants::new(
        engine,
        Settings {
            data: config.data.clone(),
            defaults: config.limits,
            idle: config.idle,
            shared: shared.clone(),
        },
        Arc::new(SocketNamespaces {
            io: io.clone(),
            gate: Arc::clone(&gate),
        }),
    );
    if let Some(plugins) = &config.plugins {
        tenants.add_default(plugins.clone()).await?;
    }
    let _watcher = match &config.tenants {
        Some(dir) => Some(tenants.serve_folder(dir.clone()).await?),
        None => None,
    };
    tenants.reap_idle();
    let cluster = match (&config.cluster.feed, &shared) {
        (Some(url), Some(pg)) => {
            let cluster = crate::cluster::Cluster::join(
                url,
                &config.cluster.name,
                &config.cluster.node,
                pg,
                &tenants,
            )
            .await?;
            tracing::info!(cluster = %config.cluster.name, node = %config.cluster.node, "joined the cluster");
            Some(Arc::new(cluster))
        }
        _ => None,
    };

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
    let vendor = crate::http::VENDOR
        .iter()
        .map(|(path, file)| {
            let bytes = config
                .node_modules
                .as_ref()
                .and_then(|dir| std::fs::read(dir.join(file)).ok())
                .map(bytes::Bytes::from);
            (*path, bytes)
        })
        .collect();
    // One service for every method: it holds the Engine.IO sessions, so a
    // long-polling client's GETs, POSTs and websocket upgrade must all reach
    // the same instance. (A layer applied to a route makes one per method,
    // and polling clients then never get past their handshake.)
    let draining = Arc::clone(tenants.drain());
    let sockets = axum::Router::new()
        .route_service("/socket.io/", service)
        .layer(axum::middleware::from_fn(crate::socket::detach))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&gate),
            crate::socket::gate,
        ))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let draining = Arc::clone(&draining);
                async move {
                    // While draining, new Engine.IO sessions get a 503: the
                    // client retries with backoff until a host is up. (A
                    // refusal at the Socket.IO level would make it give up.)
                    if draining.closing() && !has_session(request.uri()) {
                        return (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "the server is shutting down",
                        )
                            .into_response();
                    }
                    next.run(request).await
                }
            },
        ));
    let demo = match (&config.demo_tenant, &config.tenants) {
        (Some(tenant), Some(dir)) => {
            crate::tenant::name::validate(tenant)?;
            crate::demo::routes(tenant.clone(), dir.join(tenant))
        }
        (Some(_), None) => anyhow::bail!("--demo-tenant needs --tenants"),
        _ => axum::Router::new(),
    };
    let app = crate::http::app(
        sockets,
        socket_io_js,
        vendor,
        Arc::clone(&tenants),
        config.admin_token.clone(),
        &config.cors_origins,
    )
    .merge(demo);
    let app = match &config.admin_token {
        Some(token) => app.merge(crate::admin::cluster_routes(
            cluster.clone(),
            Arc::clone(&tenants),
            config.cluster.node.clone(),
            token,
        )),
        None => app,
    };
    let addr = listener.local_addr()?;
    let views: Vec<String> = tenants
        .slot("")
        .and_then(|slot| slot.tenant())
        .map(|t| {
            t.catalog()
                .all()
                .iter()
                .map(|v| v.spec().name.clone())
                .collect()
        })
        .unwrap_or_default();
    tracing::info!(
        address = %format!("http://{addr}"),
        plugins = %config.plugins.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        tenants = %config.tenants.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        tenant_count = tenants.slots().iter().filter(|s| !s.name.is_empty()).count(),
        data = %data.display(),
        views = %views.join(","),
        admin = config.admin_token.is_some(),
        "serving"
    );
    let drain = Arc::clone(tenants.drain());
    let grace = config.shutdown_grace;
    // Each connection is metered: its writes are credited to the session it
    // carries, and it can be cut (see `socket::meter`).
    let listener = MeteredListener(listener);
    axum::serve(listener, app.into_make_service_with_connect_info::<Conn>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Stop taking requests (and /readyz says so), let those in
            // flight commit and be acked, then close the sockets: upgraded
            // websockets are not tracked by the HTTP server's graceful
            // shutdown, which waits for them.
            let in_flight = drain.active();
            tracing::info!(in_flight, "shutting down: finishing requests in flight");
            let abandoned = drain.close(grace).await;
            if abandoned > 0 {
                tracing::warn!(abandoned, grace = ?grace, "requests still running after the grace period; closing anyway (their clients retry)");
            }
            // A peer that stopped reading could hold a socket's close for
            // as long as TCP takes to give up.
            if tokio::time::timeout(CLOSE_TIMEOUT, io.close()).await.is_err() {
                tracing::warn!("some connections did not close in time; leaving them");
            }
        })
        .await
        .context("serving HTTP")?;
    // Every store's writer finishes what it was given and closes its
    // database before the process ends.
    tokio::task::spawn_blocking(move || tenants.unload_all())
        .await
        .context("closing the stores")?;
    tracing::info!("stopped");
    Ok(())
}

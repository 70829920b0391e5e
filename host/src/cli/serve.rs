//! `halo serve`: its settings, and starting the host on a listener.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::parse_log_level;
use super::signals::{Signals, shutdown_signal};

#[derive(clap::Args)]
pub struct Serve {
    /// Settings file; its keys are the flags' names with `_` for `-`
    /// (`plugin_memory_mib = 64`). Environment variables and flags override
    /// it. [default: ./halo.toml, when there is one]
    #[arg(long, env = "HALO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "HALO_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "HALO_PORT", default_value_t = 3000)]
    pub port: u16,
    /// Folder of view components (*.wasm) served as the default tenant on
    /// `/`; watched, so views can be added, replaced and removed while halo
    /// runs. Defaults to ./plugins when --tenants is not given either.
    #[arg(long, env = "HALO_PLUGINS")]
    pub plugins: Option<PathBuf>,
    /// Folder of tenants: `<tenant>/plugins/*.wasm` and
    /// `<tenant>/tenant.toml`, each served on namespace `/<tenant>`. Watched:
    /// adding or removing a folder brings a tenant up or down.
    #[arg(long, env = "HALO_TENANTS")]
    pub tenants: Option<PathBuf>,
    /// How long a tenant with no connections stays loaded, in seconds.
    #[arg(long, env = "HALO_TENANT_IDLE_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub tenant_idle_secs: u64,
    /// Bearer token that opens the read-only admin endpoint
    /// `/admin/tenants`; without one the endpoint is off.
    #[arg(long, env = "HALO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Folder for the SQLite databases and the compiled-view cache.
    #[arg(long, env = "HALO_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// Memory one view instance may use, in MiB.
    #[arg(long, env = "HALO_PLUGIN_MEMORY_MIB", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub plugin_memory_mib: u32,
    /// CPU time one view call may use, in milliseconds.
    #[arg(long, env = "HALO_PLUGIN_DEADLINE_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub plugin_deadline_ms: u64,
    /// View calls that may run at once per tenant; more wait for a free
    /// slot.
    #[arg(long, env = "HALO_PLUGIN_INSTANCES", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub plugin_instances: u32,
    /// Largest Socket.IO message, in bytes; a bigger one closes the
    /// connection that sent it.
    #[arg(long, env = "HALO_MAX_PAYLOAD", default_value_t = 1_000_000)]
    pub max_payload: u64,
    /// The socket.io-client browser bundle served at /socket.io/socket.io.js.
    #[arg(
        long,
        env = "HALO_SOCKET_IO_CLIENT",
        default_value = "node_modules/socket.io-client/dist/socket.io.min.js"
    )]
    pub socket_io_client: PathBuf,
    /// npm's node_modules, where the demo pages' jQuery, underscore and
    /// Backbone are served from (/vendor/*.js).
    #[arg(long, env = "HALO_NODE_MODULES", default_value = "node_modules")]
    pub node_modules: PathBuf,
    /// A tenant (HS256) whose secret signs sign-in tokens for the notes
    /// demo's users at /demo/token/{alice,bob}. For demos only: anyone who
    /// reaches the route becomes alice or bob there, and on any tenant
    /// sharing that secret and audience.
    #[arg(long, env = "HALO_DEMO_TENANT")]
    pub demo_tenant: Option<String>,
    /// Connections a tenant may have open at once, unless its tenant.toml
    /// says otherwise.
    #[arg(long, env = "HALO_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Requests per second one connection may make (also the burst
    /// allowed), unless its tenant's tenant.toml says otherwise.
    #[arg(long, env = "HALO_REQUESTS_PER_SECOND", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub requests_per_second: u32,
    /// Bytes a tenant's store may hold, unless its tenant.toml says
    /// otherwise.
    #[arg(long, env = "HALO_STORED_BYTES", default_value_t = 1 << 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stored_bytes: u64,
    /// When a write is acknowledged and pushed: `disk` once it is synced to
    /// disk (survives power loss), `process` once it is written to the
    /// operating system (survives a crash or kill -9 of halo, not of the
    /// machine; faster). A tenant's tenant.toml may choose its own.
    #[arg(long, env = "HALO_DURABILITY", value_enum, default_value_t = crate::store::Durability::Disk)]
    pub durability: crate::store::Durability,
    /// Where tenants' data lives: `sqlite` (a file per tenant under
    /// --data, nothing to install) or a PostgreSQL URL
    /// (`postgres://user@host:port/db`) that several nodes may share. halo
    /// creates its tables in that database at start.
    #[arg(long, env = "HALO_STORE", default_value = "sqlite", value_parser = parse_store)]
    pub store: String,
    /// Redis URL (`redis://host:port`) of the change feed that ties the
    /// nodes of a cluster together; needs a PostgreSQL --store.
    #[arg(long, env = "HALO_FEED", value_parser = parse_feed)]
    pub feed: Option<String>,
    /// The cluster's name: nodes with the same store, feed and name serve
    /// the same tenants together. It prefixes every Redis key and channel.
    #[arg(long, env = "HALO_CLUSTER", default_value = "halo")]
    pub cluster: String,
    /// This node's name, in logs and the admin endpoint (default: host
    /// name and process id).
    #[arg(long, env = "HALO_NODE")]
    pub node: Option<String>,
    /// Commits of each tenant the shared store's commit log keeps: a node
    /// further behind than this makes its clients start again.
    #[arg(long, env = "HALO_LOG_RETENTION", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub log_retention: u64,
    /// Origin whose pages may connect from a browser (CORS), e.g.
    /// `https://app.example.com`; repeat it, or separate origins with
    /// commas. `*` lets any origin. With none, browsers keep to the same
    /// origin.
    #[arg(long = "cors-origin", id = "cors_origins", env = "HALO_CORS_ORIGINS",
          value_delimiter = ',', action = clap::ArgAction::Append, value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
    /// Bytes of acks and pushes that may wait unwritten for one connection;
    /// a client that falls further behind is disconnected and resyncs. One
    /// answer bigger than this still goes out when little else waits.
    #[arg(long, env = "HALO_SEND_BUFFER_BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub send_buffer_bytes: u64,
    /// How long a new connection may take to join a namespace, in seconds;
    /// one that has not by then is closed.
    #[arg(long, env = "HALO_HANDSHAKE_TIMEOUT_SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub handshake_timeout_secs: u64,
    /// Connections that may be open and not yet in a namespace, host-wide;
    /// more are answered 503, and clients retry.
    #[arg(long, env = "HALO_MAX_HANDSHAKES", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_handshakes: u64,
    /// How often each connection is pinged, in seconds.
    #[arg(long, env = "HALO_PING_INTERVAL_SECS", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_interval_secs: u64,
    /// How long a ping may wait for its pong, in seconds; a connection that
    /// does not answer in time is closed.
    #[arg(long, env = "HALO_PING_TIMEOUT_SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_timeout_secs: u64,
    /// How long a shutdown waits for requests in flight to finish, in
    /// seconds; a second signal exits at once.
    #[arg(long, env = "HALO_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// What to log: a level (error, warn, info, debug, trace) or
    /// tracing-subscriber directives such as `info,crate::view=debug`.
    #[arg(long, env = "HALO_LOG_LEVEL", default_value = "info", value_parser = parse_log_level)]
    pub log_level: String,
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, env = "HALO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, with the request's fields in `span`.
    Json,
}

/// The host's name and the process id.
fn default_node() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "halo".to_owned());
    format!("{host}-{}", std::process::id())
}

/// `sqlite`, or a PostgreSQL URL.
fn parse_store(text: &str) -> Result<String, String> {
    if text == "sqlite" {
        return Ok(text.to_owned());
    }
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err("the store is `sqlite` or a URL like postgres://user@host:5432/db".into());
    }
    text.parse::<tokio_postgres::Config>()
        .map(|_| text.to_owned())
        .map_err(|err| err.to_string())
}

/// A Redis URL.
fn parse_feed(text: &str) -> Result<String, String> {
    if !(text.starts_with("redis://") || text.starts_with("rediss://")) {
        return Err("the feed is a URL like redis://127.0.0.1:6379".into());
    }
    redis::Client::open(text)
        .map(|_| text.to_owned())
        .map_err(|err| err.to_string())
}

/// An origin as browsers send it: `*`, or scheme and host (and port), no
/// path.
fn parse_origin(text: &str) -> Result<String, String> {
    if text == "*" {
        return Ok(text.to_owned());
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err("an origin is `*` or like https://app.example.com".into());
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
        return Err(
            "an origin is `*` or like https://app.example.com (no path, no trailing /)".into(),
        );
    }
    axum::http::HeaderValue::from_str(text)
        .map(|_| text.to_owned())
        .map_err(|err| err.to_string())
}

/// Serves until a signal.
pub async fn run(args: Serve, signals: Signals) -> anyhow::Result<()> {
    let limits = crate::tenant::TenantLimits {
        sandbox: crate::view::Limits {
            memory_bytes: (args.plugin_memory_mib as usize) << 20,
            cpu_deadline: Duration::from_millis(args.plugin_deadline_ms),
            max_instances: args.plugin_instances as usize,
        },
        max_payload: args.max_payload,
        connections: args.connections as usize,
        requests_per_second: args.requests_per_second,
        stored_bytes: args.stored_bytes,
        durability: args.durability,
    };
    let plugins = match (&args.plugins, &args.tenants) {
        (None, None) => Some(PathBuf::from("./plugins")),
        (plugins, _) => plugins.clone(),
    };
    let config = crate::Config {
        plugins,
        tenants: args.tenants,
        data: crate::DataDir::new(args.data),
        limits,
        idle: Duration::from_secs(args.tenant_idle_secs),
        socket_io_client: Some(beside_source(args.socket_io_client)),
        node_modules: Some(beside_source(args.node_modules)),
        demo_tenant: args.demo_tenant,
        admin_token: args.admin_token.filter(|token| !token.is_empty()),
        cluster: crate::server::ClusterConfig {
            store: (args.store != "sqlite").then_some(args.store),
            feed: args.feed,
            name: args.cluster,
            node: args.node.unwrap_or_else(default_node),
            retention: args.log_retention,
        },
        cors_origins: args.cors_origins,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        sessions: crate::server::SessionLimits {
            send_buffer: args.send_buffer_bytes,
            handshake_timeout: Duration::from_secs(args.handshake_timeout_secs),
            max_handshakes: usize::try_from(args.max_handshakes).unwrap_or(usize::MAX),
            ping_interval: Duration::from_secs(args.ping_interval_secs),
            ping_timeout: Duration::from_secs(args.ping_timeout_secs),
        },
    };
    let listener = listen(&args.host, args.port)
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    crate::serve(config, listener, shutdown_signal(signals)).await
}

/// Connections the kernel may hold ready before halo accepts them. The usual
/// 128 overflows when a few hundred clients connect at once (a page reload
/// across an office, a reconnect after a restart), and each dropped SYN costs
/// its client a second's retransmit; the kernel caps this at somaxconn.
const BACKLOG: u32 = 4096;

/// A listener on `host:port` with a backlog of [`BACKLOG`].
async fn listen(host: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As std's bind does: a restarted halo can take its port back at once.
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no address to bind")
    }))
}

/// `path`, or, when it is relative and missing here, the same path in the
/// repository this halo was built from: `halo dev` run in a view's own
/// folder still serves the browser libraries npm installed there.
fn beside_source(path: PathBuf) -> PathBuf {
    if path.is_relative() && !path.exists() {
        let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(&path);
        if built.exists() {
            return built;
        }
    }
    path
}

//! The `halo` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
    /// Serve a plugins folder on `/` and/or a tenants folder, each tenant on
    /// `/<tenant>`, over HTTP and Socket.IO.
    Serve(Serve),
    /// Manage tenants' data.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Check a view component against the WIT world and print its spec, or
    /// exactly why halo would refuse it.
    Check(Check),
    /// Scaffold a view crate: Cargo.toml, src/lib.rs with a spec and one
    /// custom handler, and a unit test.
    New(New),
    /// Build every view crate in DIR for wasm32-wasip2 and serve them; on
    /// each save, rebuild the one that changed and hot-reload it.
    Dev(Dev),
}

#[derive(clap::Args)]
struct New {
    /// The view crate's name (also its folder's).
    name: String,
    /// Where to create it.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// The halo-sdk crate to depend on; defaults to the one this halo was
    /// built with.
    #[arg(long)]
    sdk: Option<PathBuf>,
}

#[derive(clap::Args)]
struct Dev {
    /// A view crate, or a folder of view crates.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    serve: Serve,
}

#[derive(clap::Args)]
struct Check {
    /// The component (*.wasm).
    file: PathBuf,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Delete a tenant's data for good. Its folder must be gone from the
    /// tenants folder first (which also takes it down on a running host).
    Drop(Drop),
}

#[derive(clap::Args)]
struct Drop {
    /// The tenant.
    name: String,
    /// The data folder the host uses.
    #[arg(long, env = "HALO_DATA", default_value = "./data")]
    data: PathBuf,
    /// The tenants folder the host uses, to check the tenant is gone from it.
    #[arg(long, env = "HALO_TENANTS")]
    tenants: Option<PathBuf>,
    /// Really delete; without it, only say what would be deleted.
    #[arg(long)]
    yes: bool,
}

#[derive(clap::Args)]
struct Serve {
    /// Settings file; its keys are the flags' names with `_` for `-`
    /// (`plugin_memory_mib = 64`). Environment variables and flags override
    /// it. [default: ./halo.toml, when there is one]
    #[arg(long, env = "HALO_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "HALO_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "HALO_PORT", default_value_t = 3000)]
    port: u16,
    /// Folder of view components (*.wasm) served as the default tenant on
    /// `/`; watched, so views can be added, replaced and removed while halo
    /// runs. Defaults to ./plugins when --tenants is not given either.
    #[arg(long, env = "HALO_PLUGINS")]
    plugins: Option<PathBuf>,
    /// Folder of tenants: `<tenant>/plugins/*.wasm` and
    /// `<tenant>/tenant.toml`, each served on namespace `/<tenant>`. Watched:
    /// adding or removing a folder brings a tenant up or down.
    #[arg(long, env = "HALO_TENANTS")]
    tenants: Option<PathBuf>,
    /// How long a tenant with no connections stays loaded, in seconds.
    #[arg(long, env = "HALO_TENANT_IDLE_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    tenant_idle_secs: u64,
    /// Bearer token that opens the read-only admin endpoint
    /// `/admin/tenants`; without one the endpoint is off.
    #[arg(long, env = "HALO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Folder for the SQLite databases and the compiled-view cache.
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
    /// View calls that may run at once per tenant; more wait for a free
    /// slot.
    #[arg(long, env = "HALO_PLUGIN_INSTANCES", default_value_t = 16,
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
    /// npm's node_modules, where the demo pages' jQuery, underscore and
    /// Backbone are served from (/vendor/*.js).
    #[arg(long, env = "HALO_NODE_MODULES", default_value = "node_modules")]
    node_modules: PathBuf,
    /// A tenant (HS256) whose secret signs sign-in tokens for the notes
    /// demo's users at /demo/token/{alice,bob}. For demos only: anyone who
    /// reaches the route becomes alice or bob there, and on any tenant
    /// sharing that secret and audience.
    #[arg(long, env = "HALO_DEMO_TENANT")]
    demo_tenant: Option<String>,
    /// Connections a tenant may have open at once, unless its tenant.toml
    /// says otherwise.
    #[arg(long, env = "HALO_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Requests per second one connection may make (also the burst
    /// allowed), unless its tenant's tenant.toml says otherwise.
    #[arg(long, env = "HALO_REQUESTS_PER_SECOND", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    requests_per_second: u32,
    /// Bytes a tenant's store may hold, unless its tenant.toml says
    /// otherwise.
    #[arg(long, env = "HALO_STORED_BYTES", default_value_t = 1 << 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    stored_bytes: u64,
    /// Origin whose pages may connect from a browser (CORS), e.g.
    /// `https://app.example.com`; repeat it, or separate origins with
    /// commas. `*` lets any origin. With none, browsers keep to the same
    /// origin.
    #[arg(long = "cors-origin", id = "cors_origins", env = "HALO_CORS_ORIGINS",
          value_delimiter = ',', action = clap::ArgAction::Append, value_parser = parse_origin)]
    cors_origins: Vec<String>,
    /// How long a shutdown waits for requests in flight to finish, in
    /// seconds; a second signal exits at once.
    #[arg(long, env = "HALO_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// What to log: a level (error, warn, info, debug, trace) or
    /// tracing-subscriber directives such as `info,halo::view=debug`.
    #[arg(long, env = "HALO_LOG_LEVEL", default_value = "info", value_parser = parse_log_level)]
    log_level: String,
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, env = "HALO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, with the request's fields in `span`.
    Json,
}

fn parse_log_level(text: &str) -> Result<String, String> {
    EnvFilter::builder()
        .parse(text)
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

fn main() -> std::process::ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("halo: {err:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let logging = match &cli.command {
        Command::Serve(serve) | Command::Dev(Dev { serve, .. }) => {
            (serve.log_level.as_str(), serve.log_format)
        }
        _ => ("info", LogFormat::Text),
    };
    init_logging(logging.0, logging.1);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("halo: starting the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Blocking work still running (a cargo build `halo dev` started) must not
    // hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("halo: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args, Signals::new()).await,
        Command::Tenant(TenantCommand::Drop(args)) => drop_tenant(&args),
        Command::Check(args) => check(&args).await,
        Command::New(args) => {
            let dir = halo::scaffold::create(&args.dir, &args.name, args.sdk.as_deref())?;
            println!("created {}", dir.display());
            Ok(())
        }
        Command::Dev(args) => dev(args).await,
    }
}

/// The command line, with `HALO_*` variables and `halo.toml` under it: a
/// flag beats a variable, which beats the file, which beats the default.
fn parse() -> anyhow::Result<Cli> {
    let command = Cli::command();
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Only the variables of the command being run: a bad HALO_PORT must not
    // stop `halo new`.
    let named = argv
        .iter()
        .skip(1)
        .find(|arg| !arg.to_string_lossy().starts_with('-'))
        .and_then(|name| command.find_subcommand(name));
    if let Some(sub) = named {
        halo::settings::check_env(sub)?;
    }
    // --help, --version and malformed flags end here, as clap does.
    let matches = command.clone().get_matches_from(&argv);
    // The commands that take settings from a file, which file, and whether
    // they take all of its keys.
    let explicit = |sub: &clap::ArgMatches| sub.get_one::<PathBuf>("config").cloned();
    let (path, file, all_keys): (&[&str], Option<PathBuf>, bool) = match matches.subcommand() {
        Some(("serve", sub)) => (&["serve"], explicit(sub).or_else(default_config), true),
        Some(("dev", sub)) => (&["dev"], explicit(sub).or_else(default_config), true),
        // Drop must look where the host keeps its data and tenants.
        Some(("tenant", tenant)) if tenant.subcommand_name() == Some("drop") => (
            &["tenant", "drop"],
            std::env::var_os("HALO_CONFIG")
                .map(PathBuf::from)
                .or_else(default_config),
            false,
        ),
        _ => (&[], None, true),
    };
    if let Some(file) = file {
        // The flags go right after the subcommand's name, so they stay
        // before a `--` and any positional argument.
        let (mut sub_command, mut sub, mut at) = (&command, &matches, 1);
        for name in path {
            sub_command = sub_command
                .find_subcommand(name)
                .context("the subcommand parsed")?;
            sub = sub
                .subcommand_matches(name)
                .context("the subcommand parsed")?;
            at += argv
                .iter()
                .skip(at)
                .position(|arg| arg == name)
                .context("the subcommand parsed")?
                + 1;
        }
        let flags = halo::settings::from_file(&file, sub_command, sub, all_keys)?;
        argv.splice(at..at, flags);
    }
    let matches = command.get_matches_from(argv);
    Ok(Cli::from_arg_matches(&matches)?)
}

/// `./halo.toml`, when there is one.
fn default_config() -> Option<PathBuf> {
    let default = PathBuf::from(halo::settings::DEFAULT_FILE);
    default.is_file().then_some(default)
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = EnvFilter::builder()
        .parse(level)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// Loads `args.file` as `halo serve` would and prints what it declares, or
/// why it would be refused (exit status 1).
async fn check(args: &Check) -> anyhow::Result<()> {
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
    let engine = halo::view::Engine::new(cache).context("starting the wasm runtime")?;
    let runtime = halo::view::Runtime::new(&engine, halo::view::Limits::default(), "");
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
    println!("  wit         {}", halo::view::WIT_PACKAGE);
    println!("  hash        {}", plugin.hash());
    Ok(())
}

async fn serve(args: Serve, signals: Signals) -> anyhow::Result<()> {
    let limits = halo::tenant::TenantLimits {
        sandbox: halo::view::Limits {
            memory_bytes: (args.plugin_memory_mib as usize) << 20,
            cpu_deadline: Duration::from_millis(args.plugin_deadline_ms),
            max_instances: args.plugin_instances as usize,
        },
        max_payload: args.max_payload,
        connections: args.connections as usize,
        requests_per_second: args.requests_per_second,
        stored_bytes: args.stored_bytes,
    };
    let plugins = match (&args.plugins, &args.tenants) {
        (None, None) => Some(PathBuf::from("./plugins")),
        (plugins, _) => plugins.clone(),
    };
    let config = halo::Config {
        plugins,
        tenants: args.tenants,
        data: args.data,
        limits,
        idle: Duration::from_secs(args.tenant_idle_secs),
        max_payload: args.max_payload,
        socket_io_client: Some(beside_source(args.socket_io_client)),
        node_modules: Some(beside_source(args.node_modules)),
        demo_tenant: args.demo_tenant,
        admin_token: args.admin_token.filter(|token| !token.is_empty()),
        cors_origins: args.cors_origins,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    let listener = listen(&args.host, args.port)
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    halo::serve(config, listener, shutdown_signal(signals)).await
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

/// Builds the view crates in `args.dir` into `<data>/dev/plugins`, serves
/// that folder, and rebuilds on every save.
async fn dev(mut args: Dev) -> anyhow::Result<()> {
    let out = args.serve.data.join("dev").join("plugins");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // The first builds can take minutes: a signal meanwhile stops them (and
    // the cargo processes) rather than killing halo under cargo's feet.
    let mut signals = Signals::new();
    let _dev = tokio::select! {
        dev = halo::dev::start(args.dir.clone(), out.clone()) => dev?,
        () = signals.next() => return Ok(()),
    };
    args.serve.plugins = Some(out);
    serve(args.serve, signals).await
}

/// Deletes `<data>/tenants/<name>`, once the tenant's folder is gone.
fn drop_tenant(args: &Drop) -> anyhow::Result<()> {
    halo::tenant::name::validate(&args.name)?;
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
    let dir = args.data.join("tenants").join(&args.name);
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

/// Resolves on the first Ctrl-C or SIGTERM, and makes the second one end
/// the process at once, for when a graceful shutdown takes too long.
async fn shutdown_signal(mut signals: Signals) {
    signals.next().await;
    tracing::info!("shutting down; a second Ctrl-C or SIGTERM exits at once");
    tokio::spawn(async move {
        signals.next().await;
        eprintln!("halo: second signal, exiting now");
        std::process::exit(130);
    });
}

/// Ctrl-C and SIGTERM as one stream, listened to from start-up on, so a
/// signal that comes while views load is not lost.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn recv(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = recv(self.interrupt.as_mut()) => {},
                () = recv(self.term.as_mut()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

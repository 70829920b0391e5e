//! The `halo` command line: one file per command, with settings from flags,
//! `HALO_*` variables and `halo.toml`, in that order of precedence.
//!
//! * `serve`: `halo serve`, and the settings it shares with `halo dev`.
//! * `check`: `halo check`, a view's spec or why it would be refused.
//! * `new`: `halo new`, a view project to start from.
//! * `dev`: `halo dev`, views rebuilt and reloaded on save.
//! * `tenant`: `halo tenant drop`.
//! * `signals`: Ctrl-C and SIGTERM, for graceful shutdown.

mod check;
mod dev;
mod new;
mod serve;
mod signals;
mod tenant;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use serve::{LogFormat, Serve};
use signals::Signals;

/// halo: a real-time backend for Backbone.js apps, with views as sandboxed
/// WebAssembly components.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Serve a plugins folder on `/` and/or a tenants folder, each tenant on
    /// `/<tenant>`, over HTTP and Socket.IO.
    Serve(Serve),
    /// Manage tenants' data.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Check a view component against the WIT world and print its spec, or
    /// exactly why halo would refuse it.
    Check(check::Check),
    /// Scaffold a view project in Rust, JavaScript or Python (--lang): a
    /// view with a spec and one custom handler, and its unit tests.
    New(new::New),
    /// Build every view in DIR (Rust crates for wasm32-wasip2, JavaScript
    /// and Python views with their SDKs) and serve them; on each save,
    /// rebuild the one that changed and hot-reload it.
    Dev(dev::Dev),
    /// Compile one component read on stdin into a cache artifact: what halo
    /// runs in a child process so the compiler's memory leaves with it.
    #[command(name = crate::view::COMPILE_COMMAND, hide = true)]
    CompileView {
        /// Where to write the artifact.
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_log_level(text: &str) -> Result<String, String> {
    EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_owned())
        .map_err(|err| err.to_string())
}

/// Runs the command line; the process exits with what this returns.
pub fn main() -> std::process::ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("halo: {err:#}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Command::CompileView { out } = &cli.command {
        return crate::view::compile_main(out);
    }
    // Views are compiled in a child running this same binary, which knows
    // the hidden command above.
    match std::env::current_exe() {
        Ok(exe) => crate::view::compile_in_child(exe),
        Err(err) => eprintln!("halo: views will compile in process: {err}"),
    }
    let logging = match &cli.command {
        Command::Serve(serve) | Command::Dev(dev::Dev { serve, .. }) => {
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
        Command::Serve(args) => serve::run(args, Signals::new()).await,
        Command::Tenant(tenant::TenantCommand::Drop(args)) => tenant::drop(&args),
        Command::Check(args) => check::run(&args).await,
        Command::New(args) => new::run(&args),
        Command::Dev(args) => dev::run(args).await,
        // Run by `main` before the async runtime starts.
        Command::CompileView { .. } => Ok(()),
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
        crate::settings::check_env(sub)?;
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
        let flags = crate::settings::from_file(&file, sub_command, sub, all_keys)?;
        argv.splice(at..at, flags);
    }
    let matches = command.get_matches_from(argv);
    Ok(Cli::from_arg_matches(&matches)?)
}

/// `./halo.toml`, when there is one.
fn default_config() -> Option<PathBuf> {
    let default = PathBuf::from(crate::settings::DEFAULT_FILE);
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

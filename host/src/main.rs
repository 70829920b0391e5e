//! The `halo` binary: the command line in `halo::cli`.

fn main() -> std::process::ExitCode {
    halo::cli::main()
}

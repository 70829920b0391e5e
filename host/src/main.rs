//! The `halo` binary: the command line in `halo::cli`.

/// Requests allocate and free many small, short-lived values (JSON, packets,
/// futures) across threads; mimalloc serves them in fewer instructions than
/// the system allocator (measured in docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    halo::cli::main()
}

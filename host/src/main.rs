//! The `halo` binary: the command line in `halo::cli`.

/// Requests allocate and free many small, short-lived values (JSON, packets,
/// futures) across threads; mimalloc serves them in fewer instructions than
/// the system allocator (measured in docs/benchmarks.md), the more so called
/// through its plain entry points (`halo::allocator`).
#[global_allocator]
static ALLOCATOR: halo::allocator::Allocator = halo::allocator::Allocator;

fn main() -> std::process::ExitCode {
    halo::cli::main()
}

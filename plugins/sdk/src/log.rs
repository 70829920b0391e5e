//! Write to the host's log, where every line is tagged with the tenant and
//! the view. Cheaper and better tagged than `println!`.

#[cfg(target_arch = "wasm32")]
use crate::bindings::halo::view::log as wit;
// Off wasm the bindings are unreachable stubs: see `testing`.
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::log as wit;

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Step-by-step detail.
    Trace,
    /// Detail for debugging a view.
    Debug,
    /// Something worth knowing happened.
    Info,
    /// Something looks wrong but the request goes on.
    Warn,
    /// Something failed.
    Error,
}

/// Writes one line at `level`.
pub fn write(level: Level, message: &str) {
    let level = match level {
        Level::Trace => wit::Level::Trace,
        Level::Debug => wit::Level::Debug,
        Level::Info => wit::Level::Info,
        Level::Warn => wit::Level::Warn,
        Level::Error => wit::Level::Error,
    };
    wit::write(level, message);
}

/// Writes one line at [`Level::Trace`].
pub fn trace(message: impl AsRef<str>) {
    write(Level::Trace, message.as_ref());
}

/// Writes one line at [`Level::Debug`].
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message.as_ref());
}

/// Writes one line at [`Level::Info`].
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message.as_ref());
}

/// Writes one line at [`Level::Warn`].
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message.as_ref());
}

/// Writes one line at [`Level::Error`].
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message.as_ref());
}

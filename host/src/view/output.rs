//! Guest stdout and stderr, written line by line into the host's log.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use super::host::{MAX_LOG_LINE, truncate};

/// One of a view's output streams. Bytes past a full line's worth are dropped
/// rather than refused: Rust's `println!` panics when a write fails.
#[derive(Clone)]
pub(crate) struct LogPipe {
    tenant: Arc<str>,
    view: Arc<str>,
    stream: &'static str,
    pending: Arc<Mutex<Vec<u8>>>,
    now: NowServing,
}

/// Whom a call serves, named on every line the view writes during it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Caller {
    /// The handler's action, or `render` or `connect`.
    pub action: Arc<str>,
    /// The connection served; for a render of several audiences, one of
    /// them.
    pub connection: Arc<str>,
}

/// The call an instance is running, shared with its pipes: whom it serves,
/// and the request's span, which is open only when the log takes `debug`
/// lines (see `socket::queue`).
pub(crate) struct Serving {
    pub caller: Caller,
    pub span: tracing::Span,
}

impl Default for Serving {
    fn default() -> Self {
        Self {
            caller: Caller::default(),
            span: tracing::Span::none(),
        }
    }
}

/// What an instance and its pipes share of the call running now.
pub(crate) type NowServing = Arc<Mutex<Serving>>;

impl LogPipe {
    pub fn new(tenant: Arc<str>, view: Arc<str>, stream: &'static str, now: NowServing) -> Self {
        Self {
            tenant,
            view,
            stream,
            pending: Arc::default(),
            now,
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut pending = self.pending.lock();
        for &byte in bytes {
            if byte == b'\n' {
                self.emit(&pending);
                pending.clear();
            } else if pending.len() < MAX_LOG_LINE {
                pending.push(byte);
            }
        }
    }

    fn emit(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = truncate(&line, MAX_LOG_LINE);
        let (caller, span) = {
            let now = self.now.lock();
            (now.caller.clone(), now.span.clone())
        };
        span.in_scope(|| {
            tracing::info!(
                target: "halo::view",
                tenant = %self.tenant,
                view = %self.view,
                action = %caller.action,
                connection = %caller.connection,
                stream = self.stream,
                "{line}"
            );
        });
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let pending = std::mem::take(&mut *self.pending.lock());
        if !pending.is_empty() {
            self.emit(&pending);
        }
        Poll::Ready(Ok(()))
    }
}

//! Every accepted TCP connection, metered: the bytes written to it are
//! credited to the Engine.IO session it carries once it is a websocket, and
//! it can be cut from outside even while a write to a peer that stopped
//! reading is stuck.
//!
//! socketioxide writes a websocket from a task of its own that waits, for as
//! long as TCP does, on a peer that reads nothing; closing the session does
//! not end that wait. A cut wakes that task with an error, so its buffers and
//! its file descriptor are freed at once, and resets the connection.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::line::Line;

/// One TCP connection's shared state.
#[derive(Default)]
pub struct Wire {
    /// The session whose websocket this is, once known.
    line: OnceLock<Arc<Line>>,
    cut: AtomicBool,
    /// The tasks waiting to read or write, woken by a cut.
    waiting: Mutex<[Option<Waker>; 2]>,
}

const READ: usize = 0;
const WRITE: usize = 1;

impl Wire {
    /// Credits every later write to `line`. A connection carries one
    /// websocket, so one session, for the rest of its life.
    pub fn carry(&self, line: Arc<Line>) {
        let _ = self.line.set(line);
    }

    /// Cuts the connection: pending and later reads and writes fail, and it
    /// is reset when dropped.
    pub fn cut(&self) {
        if self.cut.swap(true, Ordering::AcqRel) {
            return;
        }
        let wakers = std::mem::take(&mut *self.waiting.lock());
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Acquire)
    }

    fn wrote(&self, n: usize) {
        if let Some(line) = self.line.get() {
            line.written(n as u64);
        }
    }

    /// Remembers who waits on `which`; false if the wire was cut meanwhile,
    /// since a cut made before the waker was stored would never wake it.
    fn wait(&self, which: usize, cx: &Context<'_>) -> bool {
        let mut waiting = self.waiting.lock();
        match &waiting[which] {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => waiting[which] = Some(cx.waker().clone()),
        }
        drop(waiting);
        !self.is_cut()
    }
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection cut by the server",
    )
}

/// A TCP stream and its [`Wire`].
pub struct Metered {
    io: TcpStream,
    wire: Arc<Wire>,
}

impl Metered {
    fn check<T>(
        &self,
        which: usize,
        cx: &Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Pending if !self.wire.wait(which, cx) => Poll::Ready(Err(cut_error())),
            other => other,
        }
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        // A reset frees the kernel's buffers now; a plain close would keep
        // offering unsent data to a peer that reads nothing.
        if self.wire.is_cut() {
            let _ = self.io.set_zero_linger();
        }
    }
}

impl AsyncRead for Metered {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.wire.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        self.check(READ, cx, poll)
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.wire.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.wire.wrote(n);
        }
        self.check(WRITE, cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.wire.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = poll {
            self.wire.wrote(n);
        }
        self.check(WRITE, cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.wire.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.check(WRITE, cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A TCP listener whose connections are [`Metered`].
pub struct MeteredListener(pub TcpListener);

impl axum::serve::Listener for MeteredListener {
    type Io = Metered;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Metered, SocketAddr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        // Socket.IO's packets are small and many; without TCP_NODELAY a
        // packet written behind an unacknowledged one waits for the peer's
        // delayed ACK.
        if let Err(err) = io.set_nodelay(true) {
            tracing::debug!(cause = %err, "TCP_NODELAY not set on a connection");
        }
        let wire = Arc::new(Wire::default());
        (Metered { io, wire }, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// The connection a request came on, in its extensions (axum's
/// `ConnectInfo`).
#[derive(Clone)]
pub struct Conn(pub Arc<Wire>);

impl Connected<IncomingStream<'_, MeteredListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, MeteredListener>) -> Self {
        Self(Arc::clone(&stream.io().wire))
    }
}

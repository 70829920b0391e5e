//! The HTTP side of every Engine.IO request, before socketioxide sees it:
//! new sessions count against a host-wide cap until they join a namespace,
//! websockets are tied to their session's [`Line`], and what long-polling
//! GETs take out of a session is uncounted from it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::line::{Line, Lines};
use super::meter::{Conn, Wire};

/// What the gate shares with the namespaces.
pub struct Gate {
    /// Every session's unwritten bytes.
    pub lines: Lines,
    /// Sessions opened and not yet in a namespace.
    pending: AtomicUsize,
    max_pending: usize,
}

impl Gate {
    /// A gate allowing `max_pending` sessions outside any namespace at once,
    /// each with at most `send_buffer` bytes unwritten.
    pub fn new(max_pending: usize, send_buffer: u64) -> Arc<Self> {
        Arc::new(Self {
            lines: Lines::new(send_buffer),
            pending: AtomicUsize::new(0),
            max_pending,
        })
    }

    /// Sessions opened and not yet in a namespace.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    fn open(self: &Arc<Self>) -> Option<Pending> {
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_pending).then_some(n + 1)
            })
            .ok()?;
        Some(Pending(Arc::new(Handshake {
            gate: Arc::clone(self),
            done: AtomicBool::new(false),
        })))
    }
}

/// A session counted as pending, in the extensions of the request that
/// opened it. socketioxide keeps that request's parts for the session's
/// life, so the count drops when the session joins a namespace or, if it
/// never does, when it is dropped.
#[derive(Clone)]
pub struct Pending(Arc<Handshake>);

impl Pending {
    /// The session joined a namespace.
    pub fn joined(&self) {
        self.0.release();
    }
}

struct Handshake {
    gate: Arc<Gate>,
    done: AtomicBool,
}

impl Handshake {
    fn release(&self) {
        if !self.done.swap(true, Ordering::AcqRel) {
            self.gate.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Handshake {
    fn drop(&mut self) {
        self.release();
    }
}

/// The TCP connection of a session opened directly as a websocket, in the
/// extensions of the request that opened it.
#[derive(Clone)]
pub struct Opened(pub Arc<Wire>);

/// The Engine.IO query parameters the gate looks at.
struct Query<'a> {
    sid: Option<&'a str>,
    websocket: bool,
}

impl<'a> Query<'a> {
    fn of(request: &'a Request) -> Self {
        let mut query = Query {
            sid: None,
            websocket: false,
        };
        for pair in request.uri().query().unwrap_or_default().split('&') {
            match pair.split_once('=') {
                Some(("sid", sid)) => query.sid = Some(sid),
                Some(("transport", transport)) => query.websocket = transport == "websocket",
                _ => {}
            }
        }
        query
    }
}

/// The middleware in front of the Socket.IO service.
pub async fn gate(State(gate): State<Arc<Gate>>, mut request: Request, next: Next) -> Response {
    let wire = request
        .extensions()
        .get::<ConnectInfo<Conn>>()
        .map(|ConnectInfo(Conn(wire))| Arc::clone(wire));
    let query = Query::of(&request);
    let websocket = query.websocket;
    let sid = query.sid.map(str::to_owned);
    let get = request.method() == Method::GET;
    match sid {
        None => {
            let Some(pending) = gate.open() else {
                tracing::warn!(
                    pending = gate.pending(),
                    "new session refused: too many sessions have not joined a namespace yet"
                );
                // Clients retry a refused handshake with backoff.
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many connections are being opened; retry",
                )
                    .into_response();
            };
            request.extensions_mut().insert(pending);
            if let (true, Some(wire)) = (websocket, wire) {
                request.extensions_mut().insert(Opened(wire));
            }
            next.run(request).await
        }
        Some(sid) if websocket => {
            // An upgrade: from now on the session's packets go out on this
            // connection. Made here if the session has no line yet (it
            // upgrades before joining a namespace); the namespace takes the
            // same one.
            if let Some(wire) = wire {
                gate.lines.line(&sid).attach(&wire);
            }
            next.run(request).await
        }
        Some(sid) if get => {
            let response = next.run(request).await;
            match gate.lines.get(&sid) {
                Some(line) => polled(response, &line).await,
                None => response,
            }
        }
        Some(_) => next.run(request).await,
    }
}

/// Uncounts what a long-polling GET took out of the session. socketioxide
/// builds the whole response in memory, so reading it back costs no wait.
async fn polled(response: Response, line: &Line) -> Response {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            line.written(bytes.len() as u64);
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(err) => {
            tracing::debug!(cause = %err, "polling response not read back");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

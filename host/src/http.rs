//! The HTTP side: the browser files and the Socket.IO endpoint.

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// The Backbone adapter, built into the binary.
const HALO_SYNC_JS: &str = include_str!("../../static/halo.sync.js");

const JAVASCRIPT: &str = "application/javascript; charset=utf-8";

/// The routes: `/halo/halo.sync.js`, `/socket.io/socket.io.js` (when the
/// bundle was found at start) and the Socket.IO service at `/socket.io/`.
pub fn app(
    socket_io: socketioxide::layer::SocketIoLayer,
    socket_io_js: Option<Arc<[u8]>>,
) -> Router {
    let bundle = move || {
        let socket_io_js = socket_io_js.clone();
        async move {
            match socket_io_js {
                Some(js) => ([(header::CONTENT_TYPE, JAVASCRIPT)], js.to_vec()).into_response(),
                None => (
                    StatusCode::NOT_FOUND,
                    "the socket.io-client browser bundle was not found at start; run `npm install` or pass --socket-io-client",
                )
                    .into_response(),
            }
        }
    };
    // The bundle route sits outside the Socket.IO layer, which would
    // otherwise claim every path under /socket.io/.
    let sockets = Router::new()
        .route("/socket.io/", get(not_found).post(not_found))
        .layer(socket_io);
    Router::new()
        .route(
            "/halo/halo.sync.js",
            get(|| async { ([(header::CONTENT_TYPE, JAVASCRIPT)], HALO_SYNC_JS) }),
        )
        .route("/socket.io/socket.io.js", get(bundle))
        .merge(sockets)
}

async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

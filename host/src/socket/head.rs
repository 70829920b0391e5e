//! A Socket.IO request's head cut down to what Engine.IO reads, copied out
//! of hyper's read buffer, so that a connection held open keeps neither
//! that buffer nor headers nobody reads again.
//!
//! hyper parses a request's URI and header values as slices of the buffer it
//! read them into (8 KiB or more), and Engine.IO keeps the request's head
//! for as long as the session lives: every idle connection held its whole
//! read buffer for a few hundred bytes of headers. Of the copy, an idle
//! connection's largest share was the header map itself (about 600 bytes
//! for a browser's dozen headers), and the extensions' table the layers in
//! front had filled: halo reads both in those layers, before this one.

use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, SEC_WEBSOCKET_KEY};
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;

use super::gate;

/// The headers Engine.IO reads once this layer has passed the request on:
/// the websocket handshake's key, and the type of a long-polling POST's
/// body. A layer behind this one that reads another header must add it.
const KEPT: [HeaderName; 2] = [SEC_WEBSOCKET_KEY, CONTENT_TYPE];

/// The middleware: passes on `request` with a head of its own.
pub async fn detach(request: Request, next: Next) -> Response {
    next.run(detached(request)).await
}

/// `request` with its URI copied, only the [`KEPT`] headers, and only the
/// extensions read behind this layer: hyper's upgrade and the gate's
/// session marks. The method, version and body move over as they are.
fn detached(request: Request) -> Request {
    let (mut parts, body) = request.into_parts();
    // Parsed from a copy, so it shares nothing; it parsed once, so it
    // parses again.
    if let Ok(uri) = Uri::try_from(parts.uri.to_string()) {
        parts.uri = uri;
    }
    // Sized to what it keeps: a map grown from empty makes room for six.
    let kept = KEPT
        .iter()
        .map(|name| parts.headers.get_all(name).iter().count())
        .sum();
    let mut headers = HeaderMap::with_capacity(kept);
    for name in KEPT {
        for value in parts.headers.get_all(&name) {
            let copy = HeaderValue::from_bytes(value.as_bytes()).map(|mut copy| {
                copy.set_sensitive(value.is_sensitive());
                copy
            });
            if let Ok(copy) = copy {
                headers.append(name.clone(), copy);
            }
        }
    }
    parts.headers = headers;
    let mut extensions = Extensions::new();
    keep::<hyper::upgrade::OnUpgrade>(&mut parts.extensions, &mut extensions);
    keep::<gate::Pending>(&mut parts.extensions, &mut extensions);
    keep::<gate::Opened>(&mut parts.extensions, &mut extensions);
    parts.extensions = extensions;
    Request::from_parts(parts, body)
}

/// Moves the `T` of `from`, if any, into `to`.
fn keep<T: Clone + Send + Sync + 'static>(from: &mut Extensions, to: &mut Extensions) {
    if let Some(value) = from.remove::<T>() {
        to.insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn handshake() -> Request {
        let buffer = bytes::Bytes::from_static(b"/socket.io/?EIO=4&transport=websocket");
        Request::builder()
            .method("GET")
            .uri(Uri::from_maybe_shared(buffer).expect("a uri"))
            .header("host", "localhost:3000")
            .header("upgrade", "websocket")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("content-type", "text/plain; charset=UTF-8")
            .header("x-custom", "one")
            .body(Body::empty())
            .expect("a request")
    }

    #[test]
    fn the_copy_keeps_the_method_uri_and_the_headers_engine_io_reads() {
        let copy = detached(handshake());
        assert_eq!(copy.method(), "GET");
        assert_eq!(copy.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(
            copy.headers()["sec-websocket-key"],
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert_eq!(copy.headers()["content-type"], "text/plain; charset=UTF-8");
        assert_eq!(copy.headers().len(), 2, "{:?}", copy.headers());
    }

    #[test]
    fn the_copy_keeps_the_upgrade_and_the_gates_marks_and_drops_other_extensions() {
        let wire = std::sync::Arc::new(crate::socket::meter::Wire::default());
        let mut request = handshake();
        request.extensions_mut().insert(7_u32);
        request.extensions_mut().insert(gate::Opened(wire));
        let copy = detached(request);
        assert!(copy.extensions().get::<gate::Opened>().is_some());
        assert_eq!(copy.extensions().get::<u32>(), None);
    }
}

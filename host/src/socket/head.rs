//! A Socket.IO request's head copied out of hyper's read buffer, so that a
//! connection held open does not keep that buffer alive.
//!
//! hyper parses a request's URI and header values as slices of the buffer it
//! read them into (8 KiB or more), and Engine.IO keeps the request's head
//! for as long as the session lives: every idle connection held its whole
//! read buffer for a few hundred bytes of headers.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;

/// The middleware: passes on `request` with a head of its own.
pub async fn detach(request: Request, next: Next) -> Response {
    next.run(detached(request)).await
}

/// `request` with its URI and headers copied; the method, version,
/// extensions (hyper's upgrade among them) and body move over as they are.
fn detached(request: Request) -> Request {
    let (mut parts, body) = request.into_parts();
    // Parsed from a copy, so it shares nothing; it parsed once, so it
    // parses again.
    if let Ok(uri) = Uri::try_from(parts.uri.to_string()) {
        parts.uri = uri;
    }
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        // Known names are constants; others are copied too.
        let name = HeaderName::from_bytes(name.as_str().as_bytes());
        let value = HeaderValue::from_bytes(value.as_bytes()).map(|mut copy| {
            copy.set_sensitive(value.is_sensitive());
            copy
        });
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    parts.headers = headers;
    Request::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn the_copy_keeps_method_uri_headers_and_extensions() {
        let buffer = bytes::Bytes::from_static(b"/socket.io/?EIO=4&transport=websocket");
        let mut request = Request::builder()
            .method("GET")
            .uri(Uri::from_maybe_shared(buffer).expect("a uri"))
            .header("upgrade", "websocket")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("x-custom", "one")
            .header("x-custom", "two")
            .body(Body::empty())
            .expect("a request");
        request.extensions_mut().insert(7_u32);
        let copy = detached(request);
        assert_eq!(copy.method(), "GET");
        assert_eq!(copy.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(copy.headers()["upgrade"], "websocket");
        assert_eq!(
            copy.headers()["sec-websocket-key"],
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        let custom: Vec<_> = copy.headers().get_all("x-custom").iter().collect();
        assert_eq!(custom, ["one", "two"], "repeated headers keep their order");
        assert_eq!(copy.extensions().get::<u32>(), Some(&7));
    }
}

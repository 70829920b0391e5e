//! The HTTP side: the browser files, the Socket.IO endpoint, the probes and
//! CORS.

use std::sync::Arc;

use axum::Router;

use crate::tenant::Tenants;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The Backbone adapter, built into the binary.
const HALO_SYNC_JS: &str = include_str!("../../static/halo.sync.js");

/// The front page's live view explorer.
const EXPLORER_JS: &str = include_str!("../../static/explorer.js");

const JAVASCRIPT: &str = "application/javascript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The demo apps, built into the binary: path, content type, text.
const DEMO: [(&str, &str, &str); 5] = [
    (
        "/demo/todos",
        HTML,
        include_str!("../../static/demo/todos.html"),
    ),
    (
        "/demo/todos.js",
        JAVASCRIPT,
        include_str!("../../static/demo/todos.js"),
    ),
    (
        "/demo/notes",
        HTML,
        include_str!("../../static/demo/notes.html"),
    ),
    (
        "/demo/notes.js",
        JAVASCRIPT,
        include_str!("../../static/demo/notes.js"),
    ),
    (
        "/demo/demo.css",
        CSS,
        include_str!("../../static/demo/demo.css"),
    ),
];

/// Browser libraries the demos load, served from npm's `node_modules`:
/// URL path and file within it. Never checked in.
pub const VENDOR: [(&str, &str); 3] = [
    ("/vendor/jquery.js", "jquery/dist/jquery.min.js"),
    ("/vendor/underscore.js", "underscore/underscore-umd-min.js"),
    ("/vendor/backbone.js", "backbone/backbone-min.js"),
];

/// The routes: `/` (what this host serves), `/halo/halo.sync.js`,
/// `/socket.io/socket.io.js` (when the bundle was found at start), the demos
/// and their libraries, `sockets` (the Socket.IO service at `/socket.io/`),
/// and `/admin/tenants` when an admin token is set.
pub fn app(
    sockets: Router,
    socket_io_js: Option<bytes::Bytes>,
    vendor: Vec<(&'static str, Option<bytes::Bytes>)>,
    tenants: Arc<Tenants>,
    admin_token: Option<String>,
    cors_origins: &[String],
) -> Router {
    let bundle = move || {
        let socket_io_js = socket_io_js.clone();
        async move {
            match socket_io_js {
                Some(js) => ([(header::CONTENT_TYPE, JAVASCRIPT)], js).into_response(),
                None => (
                    StatusCode::NOT_FOUND,
                    "the socket.io-client browser bundle was not found at start; run `npm install` or pass --socket-io-client",
                )
                    .into_response(),
            }
        }
    };
    let probes = crate::probes::routes(Arc::clone(&tenants), admin_token.as_deref());
    let admin = match admin_token {
        Some(token) => crate::admin::routes(Arc::clone(&tenants), &token),
        None => Router::new(),
    };
    let mut router = Router::new();
    for (path, kind, text) in DEMO {
        router = router.route(
            path,
            get(move || async move { ([(header::CONTENT_TYPE, kind)], text) }),
        );
    }
    for (path, file) in vendor {
        router = router.route(
            path,
            get(move || {
                let file = file.clone();
                async move {
                    match file {
                        Some(js) => ([(header::CONTENT_TYPE, JAVASCRIPT)], js).into_response(),
                        None => (
                            StatusCode::NOT_FOUND,
                            "this library was not found in node_modules at start; run `npm install` or pass --node-modules",
                        )
                            .into_response(),
                    }
                }
            }),
        );
    }
    router
        .route("/", get(move || async move { index(&tenants) }))
        .route(
            "/halo/halo.sync.js",
            get(|| async { ([(header::CONTENT_TYPE, JAVASCRIPT)], HALO_SYNC_JS) }),
        )
        .route("/socket.io/socket.io.js", get(bundle))
        .route(
            "/explorer.js",
            get(|| async { ([(header::CONTENT_TYPE, JAVASCRIPT)], EXPLORER_JS) }),
        )
        .merge(sockets)
        .merge(admin)
        .merge(probes)
        .layer(cors(cors_origins))
}

/// Lets pages from `origins` use the Socket.IO endpoint and the scripts
/// (`*` lets any origin); with none, browsers keep to the same origin.
fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
}

/// A page that says what this host serves and how to connect to it, with
/// each view of the default tenant live below (`static/explorer.js`), to try
/// a view while writing it. Tenants are not listed: their names are their
/// operators' business.
fn index(tenants: &Tenants) -> Html<String> {
    let mut rows = String::new();
    let mut sections = String::new();
    let default = tenants.slot("").and_then(|slot| slot.tenant());
    let views = default.map(|t| t.catalog().all()).unwrap_or_default();
    for view in views {
        let spec = view.spec();
        let routes: Vec<&str> = spec.routes.iter().map(String::as_str).collect();
        let (name, routes) = (escape(&spec.name), escape(&routes.join(",")));
        rows.push_str(&format!(
            "<tr><td><code>{name}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            escape(&spec.collection),
            routes.replace(',', ", "),
            if spec.render_per_client {
                "per client"
            } else {
                "shared"
            },
        ));
        sections.push_str(&format!(
            r#"<section data-view="{name}" data-routes="{routes}">
<h2><code>{name}</code></h2>
<form><input name="json" size="60" placeholder='{{"title": "…"}}' aria-label="new {name} as JSON"> <button>create</button></form>
<p class="error" role="alert"></p>
<table><tbody></tbody></table>
</section>
"#
        ));
    }
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>halo</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em}} td{{padding:.2em .6em;vertical-align:top}} .error{{color:#b00}}</style></head>
<body>
<h1>halo</h1>
<p>Real-time sync for Backbone.js apps. Views served on <code>/</code>:</p>
<table><thead><tr><th>view</th><th>collection</th><th>routes</th><th>render</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p>In a page:</p>
<pre>&lt;script src="/socket.io/socket.io.js"&gt;&lt;/script&gt;
&lt;script src="/halo/halo.sync.js"&gt;&lt;/script&gt;  &lt;!-- after underscore and Backbone --&gt;
&lt;script&gt;Backbone.socket = io();&lt;/script&gt;</pre>
<h2>Live</h2>
<p>Each view as a Backbone collection on this page (<span id="status">connecting…</span>): what any client saves shows here at once.</p>
{sections}
<script src="/socket.io/socket.io.js"></script>
<script src="/vendor/jquery.js"></script>
<script src="/vendor/underscore.js"></script>
<script src="/vendor/backbone.js"></script>
<script src="/halo/halo.sync.js"></script>
<script src="/explorer.js"></script>
</body></html>
"#
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

//! What operators and orchestrators poll: `/healthz` (the process answers),
//! `/readyz` (it can serve: views loaded, stores open, not shutting down)
//! and `/metrics` (Prometheus text).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::metrics::{CONTENT_TYPE, metrics};
use crate::tenant::Tenants;

#[derive(Clone)]
struct Probes {
    tenants: Arc<Tenants>,
    /// With an admin token, `/metrics` asks for it too: it names tenants.
    token: Option<blake3::Hash>,
}

/// The probe routes. `admin_token`, when set, guards `/metrics`.
pub fn routes(tenants: Arc<Tenants>, admin_token: Option<&str>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(scrape))
        .with_state(Probes {
            tenants,
            token: admin_token.map(|token| blake3::hash(token.as_bytes())),
        })
}

/// HTTP is served only once the default tenant is loaded and its store
/// open, so being asked means ready, until a shutdown begins.
async fn ready(State(probes): State<Probes>) -> Response {
    if probes.tenants.drain().closing() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    } else {
        "ready\n".into_response()
    }
}

async fn scrape(State(probes): State<Probes>, headers: HeaderMap) -> Response {
    if let Some(token) = &probes.token
        && let Some(refused) = crate::admin::refusal(&headers, token)
    {
        return refused;
    }
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        metrics().render(probes.tenants.gauges()),
    )
        .into_response()
}

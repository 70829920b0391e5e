//! The operator's read-only view of a host: `GET /admin/tenants`, JSON,
//! behind a bearer token. Lists every tenant with its views, connections,
//! limits and recent plugin failures.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Serialize;

use crate::tenant::{Failure, Slot, Tenant, TenantLimits, Tenants};

#[derive(Clone)]
struct Admin {
    tenants: Arc<Tenants>,
    /// BLAKE3 of the token: comparing hashes takes the same time whatever
    /// the guess, so the token cannot be found byte by byte.
    token: blake3::Hash,
}

/// Checks `Authorization: Bearer <token>` against the token's BLAKE3 hash:
/// `None` when it matches, else the 401 answer to give.
pub fn refusal(headers: &HeaderMap, token: &blake3::Hash) -> Option<Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if blake3::hash(given.as_bytes()) == *token {
        return None;
    }
    Some((
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(serde_json::json!({ "error": "a valid admin token is required: Authorization: Bearer <token>" })),
    )
        .into_response())
}

/// The admin routes, answering only to `Authorization: Bearer <token>`.
pub fn routes(tenants: Arc<Tenants>, token: &str) -> Router {
    Router::new()
        .route("/admin/tenants", get(list))
        .with_state(Admin {
            tenants,
            token: blake3::hash(token.as_bytes()),
        })
}

#[derive(Serialize)]
struct Listing {
    tenants: Vec<TenantInfo>,
}

#[derive(Serialize)]
struct TenantInfo {
    name: String,
    namespace: String,
    loaded: bool,
    connections: usize,
    /// Only known while the tenant is loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsInfo>,
    views: Vec<ViewInfo>,
    failures: Vec<Failure>,
}

#[derive(Serialize)]
struct LimitsInfo {
    memory_mib: usize,
    deadline_ms: u128,
    instances: usize,
    connections: usize,
    max_payload: u64,
    requests_per_second: u32,
    stored_bytes: u64,
    auth: bool,
}

#[derive(Serialize)]
struct ViewInfo {
    name: String,
    collection: String,
    routes: Vec<String>,
    handlers: Vec<String>,
    render: &'static str,
    connect: bool,
    hash: String,
    wit: &'static str,
}

async fn list(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&headers, &admin.token) {
        return refused;
    }
    let tenants = admin
        .tenants
        .slots()
        .iter()
        .map(|slot| info(slot))
        .collect();
    Json(Listing { tenants }).into_response()
}

fn info(slot: &Slot) -> TenantInfo {
    let tenant = slot.tenant();
    TenantInfo {
        name: slot.name.clone(),
        namespace: slot.namespace(),
        loaded: tenant.is_some(),
        connections: slot.activity.connections(),
        limits: tenant.as_deref().map(|t| limits(t.limits(), t)),
        views: tenant.as_deref().map(views).unwrap_or_default(),
        failures: slot.activity.failures(),
    }
}

fn limits(limits: TenantLimits, tenant: &Tenant) -> LimitsInfo {
    LimitsInfo {
        memory_mib: limits.sandbox.memory_bytes >> 20,
        deadline_ms: limits.sandbox.cpu_deadline.as_millis(),
        instances: limits.sandbox.max_instances,
        connections: limits.connections,
        max_payload: limits.max_payload,
        requests_per_second: limits.requests_per_second,
        stored_bytes: limits.stored_bytes,
        auth: tenant.verifier().is_some(),
    }
}

fn views(tenant: &Tenant) -> Vec<ViewInfo> {
    tenant
        .catalog()
        .all()
        .iter()
        .map(|view| {
            let spec = view.spec();
            ViewInfo {
                name: spec.name.clone(),
                collection: spec.collection.clone(),
                routes: spec.routes.iter().cloned().collect(),
                handlers: spec.handlers.iter().cloned().collect(),
                render: if spec.render_per_client {
                    "per_client"
                } else {
                    "shared"
                },
                connect: spec.connect,
                hash: view.hash().to_owned(),
                wit: view.wit(),
            }
        })
        .collect()
}

/// `GET /admin/cluster`: every node's connections as it last reported them,
/// and the cluster's totals; a node outside a cluster reports itself.
pub fn cluster_routes(
    cluster: Option<Arc<crate::cluster::Cluster>>,
    tenants: Arc<Tenants>,
    node: String,
    token: &str,
) -> Router {
    let token = blake3::hash(token.as_bytes());
    Router::new().route(
        "/admin/cluster",
        get(move |headers: HeaderMap| {
            let (cluster, tenants, node) = (cluster.clone(), Arc::clone(&tenants), node.clone());
            async move {
                if let Some(refused) = refusal(&headers, &token) {
                    return refused;
                }
                let report = match cluster {
                    Some(cluster) => cluster.report(),
                    None => {
                        let tenants: std::collections::BTreeMap<String, usize> = tenants
                            .gauges()
                            .into_iter()
                            .map(|g| (g.name, g.connections))
                            .collect();
                        let connections = tenants.values().sum();
                        crate::cluster::ClusterReport {
                            node: node.clone(),
                            nodes: vec![crate::cluster::NodeReport {
                                node,
                                connections,
                                tenants,
                            }],
                            connections,
                        }
                    }
                };
                Json(report).into_response()
            }
        }),
    )
}

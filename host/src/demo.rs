//! Sign-in for the notes demo: `GET /demo/token/{user}` mints a short-lived
//! token for one of the demo users, signed with the demo tenant's own HS256
//! secret, so the demo shows verified per-user visibility end to end. Only
//! served when `--demo-tenant` names a tenant.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

use crate::tenant::{Algorithm, TENANT_TOML, TenantConfig};

/// The users the demo signs in.
pub const USERS: [&str; 2] = ["alice", "bob"];

/// How long a demo token lasts.
const LIFETIME_SECS: u64 = 3600;

#[derive(Clone)]
struct Demo {
    tenant: String,
    dir: PathBuf,
}

/// The token route for tenant `tenant`, whose folder is `dir`.
pub fn routes(tenant: String, dir: PathBuf) -> Router {
    Router::new()
        .route("/demo/token/{user}", get(token))
        .with_state(Demo { tenant, dir })
}

async fn token(State(demo): State<Demo>, Path(user): Path<String>) -> Response {
    if !USERS.contains(&user.as_str()) {
        return (StatusCode::NOT_FOUND, "the demo signs in alice or bob").into_response();
    }
    let path = demo.dir.join(TENANT_TOML);
    let config = match TenantConfig::load(&path, Default::default()) {
        Ok(config) => config,
        Err(err) => {
            tracing::error!(cause = %err, "demo tenant misconfigured");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the demo tenant is misconfigured",
            )
                .into_response();
        }
    };
    let Some(auth) = config
        .auth
        .filter(|auth| auth.algorithm == Algorithm::HS256)
    else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the demo tenant needs [auth] with algorithm HS256",
        )
            .into_response();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut claims = json!({
        "sub": user,
        "user": user,
        "aud": auth.audience,
        "iat": now,
        "exp": now + LIFETIME_SECS,
    });
    if let Some(issuer) = &auth.issuer {
        claims["iss"] = json!(issuer);
    }
    let key = EncodingKey::from_secret(auth.secret.unwrap_or_default().as_bytes());
    match encode(&Header::default(), &claims, &key) {
        Ok(token) => Json(json!({ "namespace": format!("/{}", demo.tenant), "token": token }))
            .into_response(),
        Err(err) => {
            tracing::error!(cause = %err, "demo token not signed");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not sign a token").into_response()
        }
    }
}

//! Who a request comes from: the connection and the claims of its handshake.

use std::sync::Arc;

/// The identity of one Socket.IO connection, as views see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Socket.IO connection id.
    pub id: Arc<str>,
    /// Tenant name; empty for the single-tenant default on namespace `/`.
    pub tenant: Arc<str>,
    /// Claims of the handshake's `auth`, as compact JSON object text. Clients
    /// with equal claims see models alike, so per-client render is done once
    /// per distinct value of this field.
    pub claims: Arc<str>,
}

impl Client {
    /// A client of `tenant` with connection id `id` and the handshake's
    /// `auth` value. Anything but a JSON object counts as no claims.
    pub fn new(id: &str, tenant: &str, auth: Option<&serde_json::Value>) -> Self {
        let claims = match auth {
            Some(value @ serde_json::Value::Object(_)) => value.to_string(),
            _ => "{}".to_owned(),
        };
        Self {
            id: id.into(),
            tenant: tenant.into(),
            claims: claims.into(),
        }
    }
}

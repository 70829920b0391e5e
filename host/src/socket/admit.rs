//! Who a connection is, and whether its tenant takes it: the handshake's
//! token, the views' `connect` exports, and the tenant's connection count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use socketioxide::extract::SocketRef;

use crate::client::Client;
use crate::tenant::{Activity, Tenant};
use crate::view::CallError;
use crate::wire::WireError;

/// One counted connection of a tenant, uncounted exactly once.
pub struct Counted {
    pub activity: Arc<Activity>,
    pub done: AtomicBool,
}

impl Counted {
    pub fn release(&self) {
        if !self.done.swap(true, Ordering::AcqRel) {
            self.activity.disconnect();
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.release();
    }
}

/// Who the connection is: the verified claims of its token when the tenant
/// requires one, otherwise the handshake's `auth` as it came.
pub fn identify(
    tenant: &Tenant,
    socket: &SocketRef,
    auth: Option<&Value>,
) -> Result<Client, WireError> {
    let id = socket.id.to_string();
    match &tenant.verifier() {
        None => Ok(Client::new(&id, tenant.name(), auth)),
        Some(verifier) => match verifier.verify(auth) {
            Ok(claims) => Ok(Client::new(
                &id,
                tenant.name(),
                Some(&Value::Object(claims)),
            )),
            Err(why) => {
                tracing::info!(tenant = %tenant.name(), connection = %id, cause = %why, "connection refused: bad token");
                Err(WireError::unauthorized(why))
            }
        },
    }
}

/// Length of `value` as compact JSON, without building the text.
pub fn json_size(value: &Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Runs the `connect` export of every view that asks for it; any refusal
/// refuses the connection with that view's message.
pub async fn admit(tenant: &Tenant, client: &Client) -> Result<(), WireError> {
    for view in tenant.catalog().all() {
        if !view.spec().connect {
            continue;
        }
        if let Err(err) = view.connect(client, tenant.tx()).await {
            let wire = err.to_wire(&view.spec().name);
            if let CallError::Failed { reason, detail } = &err {
                tenant
                    .activity()
                    .failed(&view.spec().name, "connect", &reason.to_string(), detail);
            }
            tracing::info!(tenant = %tenant.name(), connection = %client.id, view = %view.spec().name, cause = %err, "connection refused");
            return Err(wire);
        }
    }
    Ok(())
}

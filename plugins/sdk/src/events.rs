//! Push custom events to clients; they are sent after the request commits and
//! dropped if it fails.

use serde_json::Value;

use crate::Result;
#[cfg(target_arch = "wasm32")]
use crate::bindings::halo::view::events as wit;
use crate::print::print;
// Off wasm the bindings are unreachable stubs: see `testing`.
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::events as wit;

/// Sends `<view>:<event>` with `data` to one connection of the tenant, e.g.
/// `req.client().id()`. A connection that is gone is ignored.
pub fn to_client(connection: &str, event: &str, data: &Value) -> Result<()> {
    Ok(wit::to_client(connection, event, &print(data))?)
}

/// Sends `<view>:<event>` with `data` to every connection subscribed to this
/// view (after a `list`), except the requester.
pub fn to_subscribers(event: &str, data: &Value) -> Result<()> {
    Ok(wit::to_subscribers(event, &print(data))?)
}

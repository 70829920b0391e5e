//! Read and write the tenant's collections. All writes of one request form one
//! transaction: committed when the handler returns `Ok`, discarded otherwise.

use serde_json::Value;

#[cfg(target_arch = "wasm32")]
use crate::bindings::halo::view::collections as wit;
// Off wasm the bindings are unreachable stubs: the in-memory host of
// `testing` answers instead, so views can be unit-tested natively.
use crate::print::print;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::collections as wit;
use crate::{Error, Result};

/// A handle on one collection of the tenant; see [`collection()`] and
/// [`Request::collection`](crate::Request::collection).
///
/// Models cross the boundary as JSON text: the handle serializes what it
/// sends and parses what it gets, and JSON the host sends that does not parse
/// becomes an `unavailable` error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    name: String,
}

/// The tenant's collection `name` (there is no way to name another tenant's).
pub fn collection(name: impl Into<String>) -> Collection {
    Collection { name: name.into() }
}

impl Collection {
    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model `id`, or `None` if there is none.
    pub fn get(&self, id: &str) -> Result<Option<Value>> {
        wit::get(&self.name, id)?
            .map(|text| parse(&text))
            .transpose()
    }

    /// Models in creation order whose attributes all equal those of `filter`
    /// (a JSON object), at most `limit` of them.
    pub fn list(&self, filter: Option<&Value>, limit: Option<u32>) -> Result<Vec<Value>> {
        let filter = filter.map(print);
        wit::list(&self.name, filter.as_deref(), limit)?
            .iter()
            .map(|text| parse(text))
            .collect()
    }

    /// Stores `model` (a JSON object) as a new model and returns it with the
    /// `id` the host assigned. Defaults are not applied here: see
    /// [`Request::with_defaults`](crate::Request::with_defaults).
    pub fn create(&self, model: &Value) -> Result<Value> {
        parse(&wit::create(&self.name, &print(model))?)
    }

    /// Merges `attributes` (a JSON object; its `id` is ignored) into the model
    /// `id` and returns the result. With `only`, attributes not named in it
    /// are left unchanged. Fails with `not_found` when there is no such model.
    pub fn update(&self, id: &str, attributes: &Value, only: Option<&[&str]>) -> Result<Value> {
        let only: Option<Vec<String>> = only.map(|names| names.iter().map(|&n| n.into()).collect());
        parse(&wit::update(
            &self.name,
            id,
            &print(attributes),
            only.as_deref(),
        )?)
    }

    /// Deletes the model `id`; returns whether it existed.
    pub fn remove(&self, id: &str) -> Result<bool> {
        Ok(wit::remove(&self.name, id)?)
    }
}

/// Models come from the host, so JSON that does not parse is the host's
/// fault, not the client's.
fn parse(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|err| {
        crate::log::error(format!("the host returned malformed JSON: {err}"));
        Error::unavailable("the store returned malformed data")
    })
}

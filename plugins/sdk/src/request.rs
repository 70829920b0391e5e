//! The [`Request`] a handler serves, and the [`Client`] it is served for.

use serde_json::{Map, Value};

use crate::bindings::halo::view::types as wit;
use crate::{Action, Collection, Error, Result, View, collection};

/// The connection a call is made for.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    id: String,
    tenant: String,
    /// Always a JSON object; `{}` when the handshake carried none.
    claims: Value,
}

impl Client {
    /// A client with connection `id`, `tenant` and handshake `claims`; claims
    /// that are not a JSON object count as none.
    pub fn new(id: impl Into<String>, tenant: impl Into<String>, claims: Value) -> Self {
        let claims = match claims {
            Value::Object(map) => Value::Object(map),
            _ => Value::Object(Map::new()),
        };
        Self {
            id: id.into(),
            tenant: tenant.into(),
            claims,
        }
    }

    /// The Socket.IO connection id, e.g. for [`events::to_client`](crate::events::to_client).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The connection's tenant; empty for the single-tenant default.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The verified claims of the handshake's `auth` object, e.g.
    /// `{"user": "alice"}`; `{}` when there are none.
    pub fn claims(&self) -> &Value {
        &self.claims
    }

    /// The claim `name` if it is a string, e.g. `claim_str("user")`.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name)?.as_str()
    }

    /// Reads the WIT client, parsing its claims once.
    pub(crate) fn from_wit(client: wit::Client) -> Self {
        // The host sends verified claims; anything unreadable counts as none.
        let claims = serde_json::from_str(&client.claims).unwrap_or(Value::Null);
        Self::new(client.id, client.tenant, claims)
    }
}

/// One client's call of one action, as a handler sees it.
#[derive(Debug)]
pub struct Request<'v> {
    view: &'v View,
    action: Action,
    client: Client,
    data: Value,
    /// The `id` attribute as text when it is an integer, so [`Request::id`]
    /// can lend it out.
    numeric_id: Option<String>,
}

impl<'v> Request<'v> {
    /// A request of `action` on `view` by `client` with `data`.
    pub fn new(view: &'v View, action: Action, client: Client, data: Value) -> Self {
        let numeric_id = match data.get("id") {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            _ => None,
        };
        Self {
            view,
            action,
            client,
            data,
            numeric_id,
        }
    }

    /// The action invoked.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The connection the request came from.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The request's data, as the client sent it: for Backbone's `create`,
    /// `update` and `patch`, the model's attributes.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The `id` attribute of the data: a non-empty string, or an integer as
    /// text. Fails with `invalid` when it is missing or anything else.
    pub fn id(&self) -> Result<&str> {
        match self.data.get("id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(id),
            None | Some(Value::Null) => Err(Error::invalid("the request has no id")),
            Some(_) => self
                .numeric_id
                .as_deref()
                .ok_or_else(|| Error::invalid("id must be a non-empty string or an integer")),
        }
    }

    /// The view serving the request.
    pub fn view(&self) -> &View {
        self.view
    }

    /// The view's own collection.
    pub fn collection(&self) -> Collection {
        collection(self.view.collection_name())
    }

    /// The view's defaults with the attributes of `data` (a JSON object) over
    /// them: what the host's native `create` would store. Fails with
    /// `invalid` when `data` is not an object.
    pub fn with_defaults(&self, data: &Value) -> Result<Value> {
        let Value::Object(attributes) = data else {
            return Err(Error::invalid("the model must be a JSON object"));
        };
        let mut model = self.view.defaults_map().clone();
        model.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(Value::Object(model))
    }

    /// `model` as the requesting client may see it, through the view's
    /// [`render`](View::render). A model hidden from the client fails with
    /// `not_found`, as if it did not exist.
    pub fn render(&self, model: Value) -> Result<Value> {
        self.view
            .render_for(&self.client, model)
            .ok_or_else(|| Error::not_found("no such model"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorCode;

    fn request(view: &View, data: Value) -> Request<'_> {
        Request::new(view, Action::Read, Client::new("c1", "", json!({})), data)
    }

    #[test]
    fn id_is_a_string_or_an_integer() {
        let view = View::new("V");
        assert_eq!(request(&view, json!({ "id": "a1" })).id(), Ok("a1"));
        assert_eq!(request(&view, json!({ "id": 7 })).id(), Ok("7"));
        for bad in [
            json!({}),
            json!({ "id": "" }),
            json!({ "id": 1.5 }),
            json!({ "id": [1] }),
            json!("x"),
        ] {
            let err = request(&view, bad).id().err().map(|e| e.code());
            assert_eq!(err, Some(ErrorCode::Invalid));
        }
    }

    #[test]
    fn with_defaults_puts_the_data_over_the_defaults() {
        let view = View::new("V").defaults(json!({ "title": "", "completed": false }));
        let req = request(&view, Value::Null);
        assert_eq!(
            req.with_defaults(&json!({ "title": "milk" })),
            Ok(json!({ "title": "milk", "completed": false }))
        );
        assert_eq!(
            req.with_defaults(&json!([])).map_err(|e| e.code()),
            Err(ErrorCode::Invalid)
        );
    }

    #[test]
    fn a_hidden_model_renders_as_not_found() {
        let view = View::new("V")
            .render(|client, model| (model["owner"] == client.claims()["user"]).then_some(model));
        let req = Request::new(
            &view,
            Action::Read,
            Client::new("c1", "", json!({ "user": "bob" })),
            Value::Null,
        );
        assert_eq!(
            req.render(json!({ "owner": "bob" })),
            Ok(json!({ "owner": "bob" }))
        );
        assert_eq!(
            req.render(json!({ "owner": "alice" }))
                .map_err(|e| e.code()),
            Err(ErrorCode::NotFound)
        );
    }

    #[test]
    fn claims_that_are_not_an_object_count_as_none() {
        let client = Client::from_wit(wit::Client {
            id: "c1".into(),
            tenant: "t".into(),
            claims: "not json".into(),
        });
        assert_eq!(client.claims(), &json!({}));
        let client = Client::new("c1", "t", json!({ "user": "alice", "admin": true }));
        assert_eq!(client.claim_str("user"), Some("alice"));
        assert_eq!(client.claim_str("admin"), None);
    }
}

//! Runs a [`View`] behind the component's exports; `export_view!` calls these.

use std::cell::RefCell;

use serde_json::Value;

use crate::bindings::{Client as WitClient, Error as WitError, ViewSpec};
use crate::print::{Source, print};
use crate::{Action, Client, Error, Request, View};

/// The view's spec, read once by the host when it loads the component.
pub fn describe(view: &View) -> ViewSpec {
    ViewSpec {
        name: view.name().to_owned(),
        collection: view.collection_name().to_owned(),
        defaults: print(&Value::Object(view.defaults_map().clone())),
        routes: names(view.allowed_routes()),
        handlers: names(view.handler_names()),
        render_per_client: view.renders_per_client(),
        connect: view.connect_fn().is_some(),
    }
}

/// The wire names of `actions`.
fn names<'a>(actions: impl IntoIterator<Item = &'a Action>) -> Vec<String> {
    actions.into_iter().map(|a| a.as_str().to_owned()).collect()
}

/// Runs the handler of `action` (for `patch` without one, that of `update`);
/// an action without one is `forbidden`, data that is not JSON `invalid`.
pub fn handle(
    view: &View,
    action: String,
    client: WitClient,
    data: String,
) -> Result<String, WitError> {
    let action = Action::custom(action);
    let Some(handler) = view.handler(&action) else {
        return Err(Error::forbidden(format!("{} does not handle {action}", view.name())).into());
    };
    // An event sent without data may arrive as empty text: treat it as
    // `null`, and keep no text to send back for it.
    let sent = !data.trim().is_empty();
    let value = if sent {
        serde_json::from_str(&data).map_err(|_| Error::invalid("the request data is not JSON"))?
    } else {
        Value::Null
    };
    let request = Request::new(view, action, Client::from_wit(client), value);
    let _source = sent.then(|| Source::register(request.data(), data));
    Ok(print(&handler(&request)?))
}

/// How `model` looks to `client`; unchanged when the view has no render
/// function, hidden when the model is not JSON.
pub fn render(view: &View, client: WitClient, model: String) -> Option<String> {
    if !view.renders_per_client() {
        return Some(model);
    }
    let model = parsed(model)?;
    view.render_for(&Client::from_wit(client), model)
        .map(|rendered| print(&rendered))
}

std::thread_local! {
    /// The model text `render` was given last and, once it came twice in a
    /// row, what it parses to. A push renders one model for each of its
    /// audiences in turn, so the same text comes again and again, and
    /// cloning the value costs less than parsing the text; a list renders
    /// a different model each time, and pays nothing for the cache.
    static LAST_MODEL: RefCell<(String, Option<Value>)> = const { RefCell::new((String::new(), None)) };
}

/// `text` parsed, or cloned from [`LAST_MODEL`] when it is the text seen
/// last.
fn parsed(text: String) -> Option<Value> {
    LAST_MODEL.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != text {
            let value = serde_json::from_str(&text).ok();
            *last = (text, None);
            return value;
        }
        if let Some(value) = &last.1 {
            return Some(value.clone());
        }
        let value: Value = serde_json::from_str(&text).ok()?;
        last.1 = Some(value.clone());
        Some(value)
    })
}

/// Admits or refuses a connection; admits all when the view has no connect
/// function.
pub fn connect(view: &View, client: WitClient) -> Result<(), WitError> {
    match view.connect_fn() {
        Some(connect) => Ok(connect(&Client::from_wit(client))?),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::bindings::halo::view::types::ErrorCode as WitCode;

    fn client(claims: &str) -> WitClient {
        WitClient {
            id: "c1".into(),
            tenant: String::new(),
            claims: claims.into(),
        }
    }

    fn view() -> View {
        View::new("V").on("whoami", |req| {
            Ok(json!({ "user": req.client().claim_str("user"), "data": req.data() }))
        })
    }

    #[test]
    fn handle_runs_the_handler_with_parsed_data_and_claims() {
        let out = handle(
            &view(),
            "whoami".into(),
            client(r#"{"user":"alice"}"#),
            "[1]".into(),
        );
        let out: Value = serde_json::from_str(&out.unwrap_or_default()).unwrap_or_default();
        assert_eq!(out, json!({ "user": "alice", "data": [1] }));
    }

    #[test]
    fn handle_refuses_actions_without_a_handler_and_data_that_is_not_json() {
        let code = |r: Result<String, WitError>| r.err().map(|e| e.code);
        assert_eq!(
            code(handle(&view(), "update".into(), client("{}"), "{}".into())),
            Some(WitCode::Forbidden)
        );
        assert_eq!(
            code(handle(&view(), "whoami".into(), client("{}"), "{".into())),
            Some(WitCode::Invalid)
        );
    }

    #[test]
    fn without_render_or_connect_functions_everything_passes() {
        assert_eq!(
            render(&view(), client("{}"), "{\"a\":1}".into()).as_deref(),
            Some("{\"a\":1}")
        );
        assert!(connect(&view(), client("{}")).is_ok());
    }

    #[test]
    fn render_parses_each_new_model_and_reuses_a_repeated_one() {
        let view = View::new("V").render(|client, mut model| {
            model["viewer"] = json!(client.claim_str("user"));
            Some(model)
        });
        let (a, b) = (r#"{"user":"a"}"#, r#"{"user":"b"}"#);
        let (one, two) = (r#"{"x":1}"#, r#"{"x":2}"#);
        // In turn: new, repeated (parsed and kept), repeated again (from
        // what was kept, unchanged by the renders before), then other models.
        let calls = [
            (a, one, Some(r#"{"viewer":"a","x":1}"#)),
            (b, one, Some(r#"{"viewer":"b","x":1}"#)),
            (a, one, Some(r#"{"viewer":"a","x":1}"#)),
            (b, two, Some(r#"{"viewer":"b","x":2}"#)),
            (b, "not json", None),
            (b, "not json", None),
            (a, two, Some(r#"{"viewer":"a","x":2}"#)),
        ];
        for (claims, model, expected) in calls {
            let rendered = render(&view, client(claims), model.into());
            assert_eq!(rendered.as_deref(), expected, "{claims} sees {model}");
        }
    }

    #[test]
    fn connect_refuses_with_the_view_s_error() {
        let view = View::new("V").connect(|c| match c.claim_str("user") {
            Some(_) => Ok(()),
            None => Err(Error::forbidden("sign in")),
        });
        assert!(connect(&view, client(r#"{"user":"a"}"#)).is_ok());
        let err = connect(&view, client("{}")).err();
        assert_eq!(
            err.map(|e| (e.code, e.message)),
            Some((WitCode::Forbidden, "sign in".into()))
        );
    }
}

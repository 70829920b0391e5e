//! The [`View`] builder: what a view is, which actions clients may invoke, and
//! the handlers it overrides.

use std::fmt;

use serde_json::{Map, Value};

use crate::{Client, Request, Result};

/// A handler for one action; see [`View::on`].
type Handler = Box<dyn Fn(&Request<'_>) -> Result<Value>>;
/// How a model looks to one client; see [`View::render`].
type RenderFn = Box<dyn Fn(&Client, Value) -> Option<Value>>;
/// Admits or refuses a connection; see [`View::connect`].
type ConnectFn = Box<dyn Fn(&Client) -> Result<()>>;

/// An action a client invokes on a view, as `socket.emit("<View>:<action>")`.
///
/// Built-in actions run natively in the host unless the view registers a
/// handler with [`View::on`]; custom actions always need one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `create`: store a new model (Backbone `save` of a new model).
    Create,
    /// `read`: fetch one model by `id`.
    Read,
    /// `update`: replace a model's attributes. Also serves `patch` when the
    /// view has no `patch` handler.
    Update,
    /// `patch`: change some attributes of a model.
    Patch,
    /// `delete` (also sent as `destroy`): remove a model.
    Delete,
    /// `list`: fetch the whole view.
    List,
    /// Any other name, served only by a handler.
    Custom(String),
}

impl Action {
    /// The action named `name`: a built-in one for `create`, `read`,
    /// `update`, `patch`, `delete` (or `destroy`) and `list`, a custom one
    /// otherwise.
    pub fn custom(name: impl Into<String>) -> Self {
        let name = name.into();
        match name.as_str() {
            "create" => Self::Create,
            "read" => Self::Read,
            "update" => Self::Update,
            "patch" => Self::Patch,
            "delete" | "destroy" => Self::Delete,
            "list" => Self::List,
            _ => Self::Custom(name),
        }
    }

    /// The name on the wire, e.g. `"update"` or `"archive"`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::List => "list",
            Self::Custom(name) => name,
        }
    }
}

impl From<&str> for Action {
    fn from(name: &str) -> Self {
        Self::custom(name)
    }
}

impl From<String> for Action {
    fn from(name: String) -> Self {
        Self::custom(name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A view: its name, backing collection, defaults, the actions clients may
/// invoke, and the handlers and render function it overrides.
///
/// What a view does not override runs natively in the host: built-in actions
/// without a handler, and sending models as stored when there is no
/// [`render`](View::render).
pub struct View {
    name: String,
    collection: Option<String>,
    defaults: Map<String, Value>,
    /// Routes in the order given; no duplicates.
    routes: Vec<Action>,
    /// At most one handler per action, in the order registered.
    handlers: Vec<(Action, Handler)>,
    render: Option<RenderFn>,
    connect: Option<ConnectFn>,
}

impl View {
    /// A view named `name`: the first segment of the Backbone `url` and the
    /// prefix of every event (`<name>:<action>`). It starts with no routes,
    /// no defaults, and the collection of the same name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            collection: None,
            defaults: Map::new(),
            routes: Vec::new(),
            handlers: Vec::new(),
            render: None,
            connect: None,
        }
    }

    /// Backs the view with collection `name` instead of the view's name.
    /// Several views may share one collection.
    pub fn collection(mut self, name: impl Into<String>) -> Self {
        self.collection = Some(name.into());
        self
    }

    /// Attributes every model created through this view starts with.
    ///
    /// The host applies them on its native `create`; a custom `create`
    /// handler applies them with [`Request::with_defaults`].
    ///
    /// # Panics
    ///
    /// If `defaults` is not a JSON object: the view then fails to load, with
    /// this message in the host's log.
    pub fn defaults(mut self, defaults: Value) -> Self {
        match defaults {
            Value::Object(map) => self.defaults = map,
            other => panic!(
                "view {:?}: defaults must be a JSON object, not {other}",
                self.name
            ),
        }
        self
    }

    /// Allows clients to invoke `routes`, in addition to those allowed
    /// already: built-in [`Action`]s or custom names. Anything else is
    /// refused with `forbidden` before the view is called.
    pub fn routes<A: Into<Action>>(mut self, routes: impl IntoIterator<Item = A>) -> Self {
        for action in routes {
            self.allow(action.into());
        }
        self
    }

    /// Serves `action` with `handler` instead of the host's built-in, and
    /// allows the action if it is not a route yet. A later `on` for the same
    /// action replaces the earlier one.
    ///
    /// `patch` without a handler of its own uses the `update` handler.
    pub fn on(
        mut self,
        action: impl Into<Action>,
        handler: impl Fn(&Request<'_>) -> Result<Value> + 'static,
    ) -> Self {
        let action = action.into();
        self.allow(action.clone());
        let handler: Handler = Box::new(handler);
        match self.handlers.iter_mut().find(|(a, _)| *a == action) {
            Some(slot) => slot.1 = handler,
            None => self.handlers.push((action, handler)),
        }
        self
    }

    /// Decides how each model looks to each client: `Some` of what to send,
    /// or `None` to hide the model from that client. The host then calls it
    /// for every model it sends, to every client.
    ///
    /// Decide on the client's [`claims`](Client::claims), not its id: the
    /// host may call once for several connections with the same claims.
    pub fn render(mut self, render: impl Fn(&Client, Value) -> Option<Value> + 'static) -> Self {
        self.render = Some(Box::new(render));
        self
    }

    /// Admits (`Ok`) or refuses (`Err`, sent to the client) every new
    /// connection of the tenant, e.g. by checking its claims.
    pub fn connect(mut self, connect: impl Fn(&Client) -> Result<()> + 'static) -> Self {
        self.connect = Some(Box::new(connect));
        self
    }

    /// The view's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name of the collection the view exposes.
    pub fn collection_name(&self) -> &str {
        self.collection.as_deref().unwrap_or(&self.name)
    }

    /// The attributes every created model starts with.
    pub fn defaults_map(&self) -> &Map<String, Value> {
        &self.defaults
    }

    /// The actions clients may invoke.
    pub fn allowed_routes(&self) -> &[Action] {
        &self.routes
    }

    /// Whether `handle` serves `action`: it has a handler, or it is `patch`
    /// and `update` has one.
    pub fn handles(&self, action: &Action) -> bool {
        self.handler(action).is_some()
    }

    /// How `model` looks to `client`: the view's render function, or the
    /// model unchanged when there is none.
    pub fn render_for(&self, client: &Client, model: Value) -> Option<Value> {
        match &self.render {
            Some(render) => render(client, model),
            None => Some(model),
        }
    }

    /// Adds `action` to the routes unless it is there already.
    fn allow(&mut self, action: Action) {
        if !self.routes.contains(&action) {
            self.routes.push(action);
        }
    }

    /// The handler that serves `action`: its own, or for `patch` without
    /// one, the `update` handler (whichever of the two the host asks for).
    pub(crate) fn handler(&self, action: &Action) -> Option<&Handler> {
        let own = |wanted: &Action| {
            self.handlers
                .iter()
                .find(|(a, _)| a == wanted)
                .map(|(_, handler)| handler)
        };
        own(action).or_else(|| match action {
            Action::Patch => own(&Action::Update),
            _ => None,
        })
    }

    pub(crate) fn handler_names(&self) -> impl Iterator<Item = &Action> {
        self.handlers.iter().map(|(action, _)| action)
    }

    pub(crate) fn renders_per_client(&self) -> bool {
        self.render.is_some()
    }

    pub(crate) fn connect_fn(&self) -> Option<&ConnectFn> {
        self.connect.as_ref()
    }
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View")
            .field("name", &self.name)
            .field("collection", &self.collection_name())
            .field("defaults", &self.defaults)
            .field("routes", &self.routes)
            .field("handlers", &self.handler_names().collect::<Vec<_>>())
            .field("render_per_client", &self.renders_per_client())
            .field("connect", &self.connect.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::export::describe;

    fn my_models() -> View {
        View::new("MyModels")
            .defaults(json!({ "someProperty": "a default value" }))
            .routes([Action::Create, Action::Read, Action::Update, Action::List])
            .on(Action::Update, |req| Ok(req.data().clone()))
    }

    #[test]
    fn describe_lists_routes_handlers_and_defaults() {
        let spec = describe(&my_models());
        assert_eq!(spec.name, "MyModels");
        assert_eq!(spec.collection, "MyModels");
        assert_eq!(spec.routes, ["create", "read", "update", "list"]);
        assert_eq!(spec.handlers, ["update"]);
        assert_eq!(spec.defaults, r#"{"someProperty":"a default value"}"#);
        assert!(!spec.render_per_client);
        assert!(!spec.connect);
    }

    #[test]
    fn a_custom_handler_is_also_a_route() {
        let view = View::new("V")
            .collection("c")
            .on("archive", |_| Ok(Value::Null))
            .routes(["read", "archive"])
            .render(|_, model| Some(model))
            .connect(|_| Ok(()));
        let spec = describe(&view);
        assert_eq!(spec.collection, "c");
        assert_eq!(spec.routes, ["archive", "read"]);
        assert_eq!(spec.handlers, ["archive"]);
        assert!(spec.render_per_client);
        assert!(spec.connect);
    }

    #[test]
    fn patch_falls_back_to_the_update_handler() {
        let view = my_models();
        assert!(view.handles(&Action::Patch));
        assert!(!view.handles(&Action::Create));
        let spec = describe(&view);
        assert_eq!(spec.handlers, ["update"], "the host does the fallback too");
    }

    #[test]
    fn built_in_names_become_built_in_actions() {
        assert_eq!(Action::custom("destroy"), Action::Delete);
        assert_eq!(Action::from("patch"), Action::Patch);
        assert_eq!(Action::from("archive").as_str(), "archive");
    }

    #[test]
    #[should_panic(expected = "defaults must be a JSON object")]
    fn defaults_that_are_not_an_object_fail_the_load() {
        let _ = View::new("V").defaults(json!([1]));
    }
}

//! A view's spec as the host keeps it, checked when the view is loaded.

use std::collections::BTreeSet;

use crate::event::{BUILT_IN, normalize_route};
use crate::store::Model;

use super::bindings::halo::view::types::ViewSpec as RawSpec;

/// What a view declared in `describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSpec {
    /// Name clients use in events.
    pub name: String,
    /// Backing collection.
    pub collection: String,
    /// Attributes a natively created model starts with.
    pub defaults: Model,
    /// Allowed routes; `destroy` is stored as `delete`.
    pub routes: BTreeSet<String>,
    /// Routes the view's `handle` implements.
    pub handlers: BTreeSet<String>,
    /// Whether each model must be rendered per client.
    pub render_per_client: bool,
    /// Whether new connections must be admitted by the view.
    pub connect: bool,
}

impl ViewSpec {
    /// What this spec allows that `before` did not: new routes, per-client
    /// render dropped (every client now sees whole models), the connect
    /// check dropped. Empty when nothing widened.
    pub fn widened_from(&self, before: &ViewSpec) -> Vec<String> {
        let mut added: Vec<String> = self
            .routes
            .difference(&before.routes)
            .map(|route| format!("route {route}"))
            .collect();
        if before.render_per_client && !self.render_per_client {
            added.push("shared render (per-client render removed)".into());
        }
        if before.connect && !self.connect {
            added.push("no connect check (connect removed)".into());
        }
        added
    }
}

/// Longest view name: it is part of every event name.
pub const MAX_VIEW_NAME: usize = 64;

/// Why a spec was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// The name is empty, too long, or has characters that break event names.
    #[error(
        "view name {0:?} is not 1 to 64 letters, digits, '_', '-' or '.' (it is part of every event name)"
    )]
    Name(String),
    /// The collection name is empty, too long or has control characters.
    #[error("collection name {0:?} is not 1 to 128 printable characters")]
    Collection(String),
    /// The defaults are not a JSON object.
    #[error("defaults are not a JSON object")]
    Defaults,
    /// A route is empty, has ':' or '/', or is reserved.
    #[error("route {0:?} is not a valid route name")]
    Route(String),
    /// A custom route has no handler.
    #[error("custom route {0:?} has no handler")]
    MissingHandler(String),
}

fn valid_route(route: &str) -> bool {
    (1..=64).contains(&route.len())
        && route != "disconnect"
        && !route
            .chars()
            .any(|c| c == ':' || c == '/' || c.is_control())
}

impl ViewSpec {
    /// Checks a spec given field by field, as `describe` returns them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check(
        name: &str,
        collection: &str,
        defaults: &str,
        routes: Vec<String>,
        handlers: Vec<String>,
        render_per_client: bool,
        connect: bool,
    ) -> Result<Self, SpecError> {
        Self::from_raw(RawSpec {
            name: name.into(),
            collection: collection.into(),
            defaults: defaults.into(),
            routes,
            handlers,
            render_per_client,
            connect,
        })
    }

    /// Checks a spec as returned by `describe`.
    pub(crate) fn from_raw(raw: RawSpec) -> Result<Self, SpecError> {
        let name_ok = (1..=MAX_VIEW_NAME).contains(&raw.name.len())
            && raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !name_ok {
            return Err(SpecError::Name(raw.name));
        }
        if !(1..=128).contains(&raw.collection.len())
            || raw.collection.chars().any(char::is_control)
        {
            return Err(SpecError::Collection(raw.collection));
        }
        let defaults = match serde_json::from_str(&raw.defaults) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(SpecError::Defaults),
        };
        let mut routes = BTreeSet::new();
        for route in raw.routes {
            if !valid_route(&route) {
                return Err(SpecError::Route(route));
            }
            routes.insert(normalize_route(&route).to_owned());
        }
        let mut handlers = BTreeSet::new();
        for handler in raw.handlers {
            if !valid_route(&handler) {
                return Err(SpecError::Route(handler));
            }
            handlers.insert(normalize_route(&handler).to_owned());
        }
        if let Some(custom) = routes
            .iter()
            .find(|r| !BUILT_IN.contains(&r.as_str()) && !handlers.contains(*r))
        {
            return Err(SpecError::MissingHandler(custom.clone()));
        }
        Ok(Self {
            name: raw.name,
            collection: raw.collection,
            defaults,
            routes,
            handlers,
            render_per_client: raw.render_per_client,
            connect: raw.connect,
        })
    }

    /// Whether clients may invoke `route` (already normalized).
    pub fn allows(&self, route: &str) -> bool {
        self.routes.contains(route)
    }

    /// The handler that serves `route`, if the view has one: its own, or for
    /// `patch` the `update` handler, so that a patch cannot bypass the rules
    /// a custom update enforces.
    pub fn handler_for<'a>(&self, route: &'a str) -> Option<&'a str> {
        if self.handlers.contains(route) {
            Some(route)
        } else if route == "patch" && self.handlers.contains("update") {
            Some("update")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, routes: &[&str], handlers: &[&str]) -> RawSpec {
        RawSpec {
            name: name.into(),
            collection: "things".into(),
            defaults: "{}".into(),
            routes: routes.iter().map(|r| (*r).to_owned()).collect(),
            handlers: handlers.iter().map(|r| (*r).to_owned()).collect(),
            render_per_client: false,
            connect: false,
        }
    }

    #[test]
    fn destroy_is_the_delete_route() {
        let spec = ViewSpec::from_raw(raw("Things", &["destroy", "list"], &[])).expect("valid");
        assert!(spec.allows("delete"));
        assert!(!spec.allows("update"));
    }

    #[test]
    fn patch_uses_the_update_handler() {
        let spec =
            ViewSpec::from_raw(raw("Things", &["update", "patch"], &["update"])).expect("valid");
        assert_eq!(spec.handler_for("patch"), Some("update"));
        assert_eq!(spec.handler_for("read"), None);
    }

    #[test]
    fn names_that_break_event_names_are_refused() {
        for bad in ["", "a:b", "a/b", "a b", &"x".repeat(65)] {
            assert!(ViewSpec::from_raw(raw(bad, &[], &[])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn custom_routes_need_a_handler_and_disconnect_is_reserved() {
        assert_eq!(
            ViewSpec::from_raw(raw("T", &["archive"], &[])),
            Err(SpecError::MissingHandler("archive".into()))
        );
        assert_eq!(
            ViewSpec::from_raw(raw("T", &["disconnect"], &[])),
            Err(SpecError::Route("disconnect".into()))
        );
    }
}

//! A client event, `<View>:<action>`, parsed once into its view and route.

use crate::wire::WireError;

/// The routes halo serves natively unless a view handles them itself.
pub const BUILT_IN: [&str; 6] = ["create", "read", "update", "patch", "delete", "list"];

/// One parsed `<View>:<action>` event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The view's name, as the client's Backbone `url` gave it.
    pub view: &'a str,
    /// The action as sent (`destroy` and `delete` both stay as sent).
    pub action: &'a str,
    /// The route it asks for: the action, with halo's `destroy` read as
    /// Backbone's `delete`.
    pub route: &'a str,
}

impl<'a> Event<'a> {
    /// Splits `name` at its first `:`.
    pub fn parse(name: &'a str) -> Result<Self, WireError> {
        let (view, action) = name.split_once(':').ok_or_else(|| {
            WireError::invalid(format!("event {name:?} is not of the form <View>:<action>"))
        })?;
        Ok(Self {
            view,
            action,
            route: normalize_route(action),
        })
    }

    /// Whether the route only reads or unsubscribes: such requests are
    /// answered afresh each time, never from a remembered operation.
    pub fn is_read(&self) -> bool {
        matches!(self.route, "read" | "list" | "disconnect")
    }

    /// Whether this is `disconnect`, which every view serves: it only
    /// unsubscribes.
    pub fn is_unsubscribe(&self) -> bool {
        self.route == "disconnect"
    }

    /// The built-in route this is, as a static string, if it is one.
    pub fn built_in(&self) -> Option<&'static str> {
        BUILT_IN
            .iter()
            .chain(["disconnect"].iter())
            .find(|r| **r == self.route)
            .copied()
    }
}

/// Backbone's method name for a route: halo's `destroy` is `delete`.
pub fn normalize_route(route: &str) -> &str {
    if route == "destroy" { "delete" } else { route }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_splits_at_its_first_colon_and_destroy_reads_as_delete() {
        let event = Event::parse("Todos:destroy").expect("well formed");
        assert_eq!(
            (event.view, event.action, event.route),
            ("Todos", "destroy", "delete")
        );
        assert_eq!(event.built_in(), Some("delete"));
        let custom = Event::parse("Todos:archive:all").expect("well formed");
        assert_eq!((custom.view, custom.route), ("Todos", "archive:all"));
        assert_eq!(custom.built_in(), None);
        assert!(Event::parse("Todos").is_err());
    }

    #[test]
    fn reads_lists_and_unsubscribes_are_reads() {
        for name in ["V:read", "V:list", "V:disconnect"] {
            assert!(Event::parse(name).expect("well formed").is_read(), "{name}");
        }
        for name in [
            "V:create",
            "V:update",
            "V:patch",
            "V:delete",
            "V:destroy",
            "V:custom",
        ] {
            assert!(
                !Event::parse(name).expect("well formed").is_read(),
                "{name}"
            );
        }
    }
}

//! The four pushes Backbone clients listen for, each owning its event name,
//! and the changed attributes a `serverchange` carries.

use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Value, json};

use crate::store::Model;

/// A push to the subscribers of a view or of one of its models.
#[derive(Debug, Clone, PartialEq)]
pub enum Push<'a> {
    /// `V/<id>:serverchange`: the attributes that changed, with the id.
    Change {
        /// View name.
        view: &'a str,
        /// Model id.
        id: &'a str,
        /// Changed attributes and the id.
        changed: Model,
    },
    /// `V/<id>:serverdestroy`: the model is gone.
    Destroy {
        /// View name.
        view: &'a str,
        /// Model id.
        id: &'a str,
    },
    /// `V:serveradd`: models added to the view's list.
    Add {
        /// View name.
        view: &'a str,
        /// The models, as the receiver sees them.
        models: Vec<&'a Model>,
    },
    /// `V:serverremove`: models gone from the view's list.
    Remove {
        /// View name.
        view: &'a str,
        /// Their ids.
        ids: Vec<&'a str>,
    },
}

impl Push<'_> {
    /// The Socket.IO event name the original `halo.sync.js` listens on.
    pub fn event(&self) -> String {
        match self {
            Push::Change { view, id, .. } => format!("{view}/{id}:serverchange"),
            Push::Destroy { view, id } => format!("{view}/{id}:serverdestroy"),
            Push::Add { view, .. } => format!("{view}:serveradd"),
            Push::Remove { view, .. } => format!("{view}:serverremove"),
        }
    }

    /// The event's one argument, printed once for every receiver.
    pub fn payload(&self) -> serde_json::Result<Box<RawValue>> {
        match self {
            Push::Change { changed, .. } => to_raw_value(changed),
            Push::Destroy { id, .. } => to_raw_value(&json!({ "id": id })),
            Push::Add { models, .. } => to_raw_value(models),
            Push::Remove { ids, .. } => {
                let ids: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
                to_raw_value(&ids)
            }
        }
    }
}

/// The attributes that differ between `before` and `after`, with the id;
/// `None` when nothing changed.
pub fn changed(id: &str, before: &Model, after: &Model) -> Option<Model> {
    let mut diff: Model = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if diff.is_empty() {
        return None;
    }
    diff.insert("id".into(), Value::String(id.to_owned()));
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_push_names_the_event_the_original_client_listens_on() {
        let model = json!({"id": "1", "title": "a"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let pushes = [
            Push::Change {
                view: "Todos",
                id: "1",
                changed: Model::new(),
            },
            Push::Destroy {
                view: "Todos",
                id: "1",
            },
            Push::Add {
                view: "Todos",
                models: vec![&model],
            },
            Push::Remove {
                view: "Todos",
                ids: vec!["1"],
            },
        ];
        let events: Vec<String> = pushes.iter().map(Push::event).collect();
        assert_eq!(
            events,
            [
                "Todos/1:serverchange",
                "Todos/1:serverdestroy",
                "Todos:serveradd",
                "Todos:serverremove"
            ]
        );
        let payload = |push: &Push| -> Value {
            serde_json::from_str(push.payload().expect("printable").get()).expect("JSON")
        };
        assert_eq!(payload(&pushes[3]), json!([{"id": "1"}]));
        assert_eq!(payload(&pushes[2]), json!([{"id": "1", "title": "a"}]));
    }

    #[test]
    fn a_change_carries_only_what_changed_and_nothing_when_nothing_did() {
        let before = json!({"id": "1", "a": 1, "b": 2});
        let after = json!({"id": "1", "a": 1, "b": 3});
        let (Value::Object(before), Value::Object(after)) = (before, after) else {
            unreachable!("objects")
        };
        assert_eq!(
            changed("1", &before, &after),
            Some(
                json!({"id": "1", "b": 3})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            )
        );
        assert_eq!(changed("1", &before, &before), None);
    }
}

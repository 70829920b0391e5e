//! An ack's result: a JSON value the host made, or JSON text a view
//! returned, sent as it came.
//!
//! A view's handler returns its result as text. Parsing that text into a
//! value only to print it again for the ack cost a custom handler about a
//! tenth of its work; checking that it is JSON costs a scan and keeps the
//! text as it is.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::{RawValue, to_raw_value};

use crate::store::Model;

/// The result of a request, as its ack will carry it.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A value the host made (built-in routes, repeats' ids).
    Value(Value),
    /// JSON text, checked, sent as it is.
    Text(Box<RawValue>),
}

impl Reply {
    /// `text` if it is one JSON value (whitespace around it is dropped).
    pub fn from_text(text: String) -> serde_json::Result<Self> {
        RawValue::from_string(text).map(Self::Text)
    }

    /// `model` printed now, to be sent as printed.
    pub fn model(model: &Model) -> Self {
        match to_raw_value(model) {
            Ok(raw) => Self::Text(raw),
            // serde_json fails only on a map key that is not a string, which
            // a JSON object has none of; kept as a value all the same.
            Err(_) => Self::Value(Value::Object(model.clone())),
        }
    }

    /// `replies` as one array, printed now.
    pub fn list(replies: Vec<Reply>) -> Self {
        match to_raw_value(&replies) {
            Ok(raw) => Self::Text(raw),
            // As for a model: each is JSON already, so this is not reached.
            Err(_) => Self::Value(Value::Array(
                replies
                    .into_iter()
                    .filter_map(|reply| reply.into_value().ok())
                    .collect(),
            )),
        }
    }

    /// The result as printed JSON, ready for the wire.
    pub fn into_raw(self) -> serde_json::Result<Box<RawValue>> {
        match self {
            Self::Value(value) => to_raw_value(&value),
            Self::Text(text) => Ok(text),
        }
    }

    /// The result as a value: parsed, for text.
    pub fn into_value(self) -> serde_json::Result<Value> {
        match self {
            Self::Value(value) => Ok(value),
            Self::Text(text) => serde_json::from_str(text.get()),
        }
    }

    /// The result as a value, parsed if it is text.
    fn as_value(&self) -> serde_json::Result<Cow<'_, Value>> {
        match self {
            Self::Value(value) => Ok(Cow::Borrowed(value)),
            Self::Text(text) => serde_json::from_str(text.get()).map(Cow::Owned),
        }
    }

    /// The string attribute `key` of an object result.
    pub fn str_field(&self, key: &str) -> Option<String> {
        self.as_value()
            .ok()?
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

impl From<Value> for Reply {
    fn from(value: Value) -> Self {
        Self::Value(value)
    }
}

/// Equal when they hold the same JSON value, whichever way each holds it.
impl PartialEq for Reply {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Value(a), Self::Value(b)) => a == b,
            (Self::Text(a), Self::Text(b)) if a.get() == b.get() => true,
            _ => match (self.as_value(), other.as_value()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            },
        }
    }
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(value) => value.serialize(serializer),
            Self::Text(text) => text.serialize(serializer),
        }
    }
}

/// Read back as text: kept answers are only ever sent again.
impl<'de> Deserialize<'de> for Reply {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self::Text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_is_sent_as_it_came_and_reads_as_its_value() {
        let reply = Reply::from_text(r#" {"b": 1, "a": [true]} "#.to_owned()).expect("JSON");
        assert_eq!(reply, Reply::Value(json!({ "a": [true], "b": 1 })));
        let raw = reply.clone().into_raw().expect("printable");
        assert_eq!(raw.get(), r#"{"b": 1, "a": [true]}"#);
        assert_eq!(reply.str_field("b"), None);
        assert_eq!(
            reply.into_value().ok(),
            Some(json!({ "a": [true], "b": 1 }))
        );
    }

    #[test]
    fn models_and_lists_are_printed_once_as_their_values() {
        let model = json!({ "id": "m1", "n": 1.5 });
        let Value::Object(map) = model.clone() else {
            unreachable!("an object")
        };
        let printed = Reply::model(&map);
        assert!(matches!(printed, Reply::Text(_)));
        assert_eq!(printed, Reply::Value(model.clone()));
        let list = Reply::list(vec![printed, Reply::Value(json!(true))]);
        assert_eq!(list.clone().into_value().ok(), Some(json!([model, true])));
        assert_eq!(
            list.into_raw().expect("printable").get(),
            r#"[{"id":"m1","n":1.5},true]"#
        );
    }

    #[test]
    fn text_that_is_not_one_json_value_is_refused() {
        for bad in ["", "{", "{} {}", "nope", "{\"a\":1,}"] {
            assert!(Reply::from_text(bad.to_owned()).is_err(), "{bad:?} taken");
        }
    }

    #[test]
    fn a_kept_reply_reads_back_equal() {
        for reply in [
            Reply::Value(json!({ "id": "x", "n": 2 })),
            Reply::from_text(r#"{"id":"y"}"#.to_owned()).expect("JSON"),
        ] {
            let kept = serde_json::to_string(&reply).expect("printable");
            let back: Reply = serde_json::from_str(&kept).expect("readable");
            assert_eq!(back, reply);
        }
        let text = Reply::from_text(r#"{"id":"y"}"#.to_owned()).expect("JSON");
        assert_eq!(text.str_field("id").as_deref(), Some("y"));
    }
}

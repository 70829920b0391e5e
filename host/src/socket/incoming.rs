//! What an incoming Socket.IO event carries: its name, whether it asked for
//! an ack, and its data, all read in one pass over the packet's JSON text.
//!
//! socketioxide reads an ack id it cannot use (above `i64::MAX`, or followed
//! by anything but the JSON array) as no ack id at all, and hands the event
//! on. halo answers every request, so an event without an ack id is refused
//! before any of it runs (see `socket/mod.rs`); this extractor is where that
//! is seen.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use serde::de::{Deserializer as _, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromMessageParts, Value as Packet};
use socketioxide::socket::Socket;

/// Why an event's data could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// The packet is not JSON text (a binary packet).
    #[error("the event is binary, not JSON")]
    Binary,
    /// The arguments are not a JSON array of the event name and data.
    #[error("the data is not valid JSON: {0}")]
    Json(String),
}

/// An event's name, ack request and data.
pub struct Incoming {
    /// The event's name.
    pub event: String,
    /// Whether the client asked for an ack with an id halo can answer.
    pub acked: bool,
    /// The first argument after the event name; `None` when there is none.
    pub data: Result<Option<Value>, DataError>,
}

impl<A: Adapter> FromMessageParts<A> for Incoming {
    type Error = Infallible;

    fn from_message_parts(
        _socket: &Arc<Socket<A>>,
        packet: &mut Packet,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let (event, data) = match packet.as_str() {
            Some(text) => arguments(text.as_str()),
            None => (String::new(), Err(DataError::Binary)),
        };
        Ok(Self {
            event,
            acked: ack_id.is_some(),
            data,
        })
    }
}

/// Reads `["<event>", data, ...]`: the event's name, and the data, the
/// element after the name; further arguments are ignored, as the original
/// server did. The name is kept even when the data cannot be read, so that
/// the refusal can name the event. socketioxide routed the event by this
/// name already, so it is there, unescaped.
pub fn arguments(text: &str) -> (String, Result<Option<Value>, DataError>) {
    struct Args<'a>(&'a mut String);
    impl<'de> Visitor<'de> for Args<'_> {
        type Value = Option<Value>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of the event name and its data")
        }

        fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
            match seq.next_element::<&'de str>()? {
                Some(name) => name.clone_into(self.0),
                None => return Err(serde::de::Error::custom("no event name")),
            }
            let data = seq.next_element::<Value>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(data)
        }
    }
    let mut event = String::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let data = (&mut de)
        .deserialize_seq(Args(&mut event))
        .and_then(|data| de.end().map(|()| data))
        .map_err(|err| DataError::Json(err.to_string()));
    (event, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_data_is_the_element_after_the_name() {
        let data = |text| arguments(text).1;
        assert_eq!(data(r#"["V:list"]"#), Ok(None));
        assert_eq!(data(r#"["V:list",[]]"#), Ok(Some(json!([]))));
        assert_eq!(
            data(r#" ["V:create", {"a": 1}, "extra"] "#),
            Ok(Some(json!({"a": 1})))
        );
        assert_eq!(data(r#"["V:x",null]"#), Ok(Some(Value::Null)));
    }

    #[test]
    fn the_name_is_read_even_when_the_data_is_not() {
        assert_eq!(arguments(r#"["V:create",{}]"#).0, "V:create");
        let (event, data) = arguments(r#"["V:create",{"a":1e999}]"#);
        assert_eq!(event, "V:create");
        assert!(matches!(data, Err(DataError::Json(_))), "{data:?}");
    }

    #[test]
    fn broken_json_is_an_error_not_missing_data() {
        for text in [
            r#"["V:create",{"a":1"#,
            r#"["V:create",{"a":1e999}]"#,
            r#"["V:create",{}]x"#,
            r#"{}"#,
            r#"[]"#,
            r#"[1]"#,
            "",
        ] {
            assert!(
                matches!(arguments(text).1, Err(DataError::Json(_))),
                "{text:?} was read"
            );
        }
    }
}

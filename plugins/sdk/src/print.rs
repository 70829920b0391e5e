//! JSON values printed as text for the host, and the request's data sent
//! back as the text it came as.

use std::cell::RefCell;

use serde_json::Value;

std::thread_local! {
    /// The request's data while its handler runs, by address, and the text
    /// the host sent it as. Handlers often hand the data back unchanged
    /// (`collection().update(id, req.data(), …)`): sending that text again
    /// costs a copy where printing the value cost a walk over it. The
    /// address is only compared, never followed.
    static SOURCE: RefCell<Option<(*const Value, String)>> = const { RefCell::new(None) };
}

/// Marks `value` as parsed from `text` until the guard drops. `value` must
/// not change meanwhile: a request's data, which handlers only borrow.
pub(crate) struct Source(());

impl Source {
    pub(crate) fn register(value: &Value, text: String) -> Self {
        SOURCE.with(|source| *source.borrow_mut() = Some((value, text)));
        Self(())
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        SOURCE.with(|source| source.borrow_mut().take());
    }
}

/// `value` as JSON text. The request's data (see [`Source`]) goes as the
/// text it came as, spacing and all; the host parses it as it parses a
/// client's text for a built-in route, so a number beyond what an `f64`
/// holds reaches it as the client sent it. Any other value is printed
/// compactly with serde_json's own writer, not `Display`: `Display` goes
/// through `core::fmt` a fragment at a time, which in Wasm cost a view most
/// of its printing time. Printing a JSON value cannot fail (its keys are
/// strings), so the empty default is never seen.
pub(crate) fn print(value: &Value) -> String {
    let sent = SOURCE.with(|source| match &*source.borrow() {
        Some((at, text)) if std::ptr::eq(*at, value) => Some(text.clone()),
        _ => None,
    });
    sent.unwrap_or_else(|| serde_json::to_string(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn prints_what_display_prints() {
        let value = json!({ "a": [1, "two\n", null], "b": { "c": 1.5 } });
        assert_eq!(print(&value), value.to_string());
    }

    #[test]
    fn the_registered_value_prints_as_its_source_text_and_only_it() {
        let text = r#"{ "b": 1, "a": 2 }"#;
        let data: Value = serde_json::from_str(text).unwrap_or_default();
        let copy = data.clone();
        {
            let _source = Source::register(&data, text.to_owned());
            assert_eq!(print(&data), text);
            // An equal value elsewhere is printed: only the data itself
            // is known to be unchanged.
            assert_eq!(print(&copy), r#"{"a":2,"b":1}"#);
        }
        assert_eq!(print(&data), r#"{"a":2,"b":1}"#);
    }
}

//! JSON values printed as text for the host.

use serde_json::Value;

/// `value` as compact JSON text. serde_json's own writer, not `Display`:
/// `Display` goes through `core::fmt` a fragment at a time, which in Wasm
/// cost a view most of its printing time. Printing a JSON value cannot fail
/// (its keys are strings), so the empty default is never seen.
pub(crate) fn print(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
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
}

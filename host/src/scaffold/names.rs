//! Which names a view project may have in each language, and the names
//! derived from one.

use super::{Lang, ScaffoldError};

/// Longest name: the view's name, derived from it, may be no longer.
const MAX_NAME: usize = crate::view::MAX_VIEW_NAME;

/// Rust's keywords, reserved ones included: a crate's library name may not
/// be one.
const RUST_KEYWORDS: [&str; 52] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "_",
];

/// Crates a Rust view links with: a view of the same name would shadow them.
const RUST_TAKEN: [&str; 8] = [
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "halo_sdk",
    "serde_json",
    "wit_bindgen",
];

/// Python's lowercase keywords: the view's module is imported by its name.
const PY_KEYWORDS: [&str; 32] = [
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Modules a Python view's build imports (the SDK's, the build's own, and
/// the standard library's the SDK uses): a view module of the same name
/// would shadow them.
const PY_TAKEN: [&str; 18] = [
    "halo_sdk",
    "halo_view_entry",
    "wit_world",
    "componentize_py_types",
    "componentize_py_runtime",
    "json",
    "typing",
    "inspect",
    "traceback",
    "os",
    "sys",
    "time",
    "types",
    "abc",
    "enum",
    "collections",
    "functools",
    "test",
];

/// Refuses a name that cannot name a project of `lang` and its view: it
/// must be lowercase ASCII letters, digits, `-` and `_`, and not clash with
/// the language's keywords or the modules a view is built with.
pub fn check(name: &str, lang: Lang) -> Result<(), ScaffoldError> {
    let refuse = |reason| {
        Err(ScaffoldError::Name {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.chars().next() else {
        return refuse("it is empty");
    };
    if name.len() > MAX_NAME {
        return refuse("it is longer than 64 characters, the most a view's name may have");
    }
    if !first.is_ascii_lowercase() {
        return refuse("it must start with a lowercase ASCII letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return refuse("it may have only lowercase ASCII letters, digits, '-' and '_'");
    }
    let lib = snake_case(name);
    match lang {
        Lang::Rust if RUST_KEYWORDS.contains(&lib.as_str()) => refuse("it is a Rust keyword"),
        Lang::Rust if RUST_TAKEN.contains(&lib.as_str()) => {
            refuse("a crate the view links with has that name")
        }
        Lang::Py if PY_KEYWORDS.contains(&lib.as_str()) => refuse("it is a Python keyword"),
        Lang::Py if PY_TAKEN.contains(&lib.as_str()) => {
            refuse("a module the view is built with has that name")
        }
        Lang::Js if name == "halo-sdk" => refuse("the package would depend on itself"),
        _ => Ok(()),
    }
}

/// `my-items` → `my_items`: the Rust library, its `.wasm`, and the Python
/// module.
pub fn snake_case(name: &str) -> String {
    name.replace('-', "_")
}

/// `my-items` → `MyItems`: a view's name reads like a Backbone `url`.
pub fn pascal_case(name: &str) -> String {
    name.split(['-', '_'])
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

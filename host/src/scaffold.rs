//! `halo new`: scaffolds a view crate that builds and loads on the first try.
//!
//! The files are the templates in `host/templates/new/`, built into the
//! binary, with the crate's names and the path of `halo-sdk` filled in.

use std::io;
use std::path::{Path, PathBuf};

/// The crate's files: where each goes, and its template.
const FILES: [(&str, &str); 5] = [
    ("Cargo.toml", include_str!("../templates/new/Cargo.toml.in")),
    (
        ".cargo/config.toml",
        include_str!("../templates/new/config.toml.in"),
    ),
    ("src/lib.rs", include_str!("../templates/new/lib.rs.in")),
    ("README.md", include_str!("../templates/new/README.md.in")),
    (".gitignore", include_str!("../templates/new/gitignore.in")),
];

/// The SDK this halo was built with, next to its own crate in the repository.
const BUILT_WITH_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

/// Longest name: the view's name, derived from it, may be no longer.
const MAX_NAME: usize = crate::view::MAX_VIEW_NAME;

/// Rust's keywords, reserved ones included: a crate's library name may not
/// be one.
const KEYWORDS: [&str; 52] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "_",
];

/// Crates a view links with: a view of the same name would shadow them.
const TAKEN: [&str; 8] = [
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "halo_sdk",
    "serde_json",
    "wit_bindgen",
];

/// Why a view crate could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not one a view crate can have.
    #[error("{name:?} cannot name a view crate: {reason}")]
    Name {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Something is in the way already.
    #[error("{} exists already; pick another name or --dir", .0.display())]
    Exists(PathBuf),
    /// The SDK to depend on is not where it was said, or expected, to be.
    #[error(
        "halo-sdk not found at {}: {reason}; pass --sdk with the path of halo-sdk (plugins/sdk in halo's repository)",
        path.display()
    )]
    Sdk {
        /// Where it was looked for.
        path: PathBuf,
        /// What is there instead.
        reason: String,
    },
    /// Writing the crate failed.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        cause: io::Error,
    },
}

/// Creates the crate `name` in `parent/<name>` and returns its folder.
///
/// The crate depends on the halo-sdk at `sdk`, or by default on the one this
/// halo was built with. Nothing is written unless the name and the SDK are
/// fine, and a crate left half-written by a failure is removed.
pub fn create(parent: &Path, name: &str, sdk: Option<&Path>) -> Result<PathBuf, ScaffoldError> {
    check_name(name)?;
    let sdk = find_sdk(sdk.unwrap_or(Path::new(BUILT_WITH_SDK)))?;
    let sdk = sdk.to_str().ok_or_else(|| ScaffoldError::Sdk {
        path: sdk.clone(),
        reason: "its path is not UTF-8, which Cargo.toml cannot hold".into(),
    })?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| ScaffoldError::Io { path, cause }
    };
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let dir = parent.join(name);
    // Creating the folder is what claims the name: no race with another
    // `halo new`, and nothing of the user's is ever overwritten.
    if let Err(err) = std::fs::create_dir(&dir) {
        return Err(match err.kind() {
            io::ErrorKind::AlreadyExists => ScaffoldError::Exists(dir),
            _ => io(&dir)(err),
        });
    }
    let fill = Names::new(name, sdk);
    let written = FILES.iter().try_for_each(|(file, template)| {
        let path = dir.join(file);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io(folder))?;
        }
        std::fs::write(&path, fill.apply(template)).map_err(io(&path))
    });
    if let Err(err) = written {
        // Best effort: the folder is ours, and half a crate helps no one.
        let _ = std::fs::remove_dir_all(&dir);
        return Err(err);
    }
    Ok(dir)
}

/// Refuses a name that is not a crate name, a library name and a view name
/// all at once: lowercase ASCII letters, digits, `-` and `_`.
fn check_name(name: &str) -> Result<(), ScaffoldError> {
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
    if KEYWORDS.contains(&lib.as_str()) {
        return refuse("it is a Rust keyword");
    }
    if TAKEN.contains(&lib.as_str()) {
        return refuse("a crate the view links with has that name");
    }
    Ok(())
}

/// The canonical path of the halo-sdk crate at `path`.
fn find_sdk(path: &Path) -> Result<PathBuf, ScaffoldError> {
    let refuse = |reason: String| ScaffoldError::Sdk {
        path: path.to_path_buf(),
        reason,
    };
    let sdk = path.canonicalize().map_err(|err| refuse(err.to_string()))?;
    let manifest = std::fs::read_to_string(sdk.join("Cargo.toml"))
        .map_err(|err| refuse(format!("no readable Cargo.toml there ({err})")))?;
    if !manifest.contains(r#"name = "halo-sdk""#) {
        return Err(refuse("its Cargo.toml is not halo-sdk's".into()));
    }
    Ok(sdk)
}

/// What the templates' `{{…}}` placeholders stand for.
struct Names {
    /// `{{name}}`: the crate, e.g. `my-items`.
    name: String,
    /// `{{lib}}`: the library, its `.wasm` and the function that builds
    /// the view, e.g. `my_items`.
    lib: String,
    /// `{{view}}`: the view and its collection, e.g. `MyItems`.
    view: String,
    /// `{{sdk}}`: the SDK's path as a TOML string, quotes included.
    sdk: String,
}

impl Names {
    fn new(name: &str, sdk: &str) -> Self {
        Self {
            name: name.to_owned(),
            lib: snake_case(name),
            view: pascal_case(name),
            sdk: toml::Value::String(sdk.to_owned()).to_string(),
        }
    }

    fn apply(&self, template: &str) -> String {
        template
            .replace("{{name}}", &self.name)
            .replace("{{lib}}", &self.lib)
            .replace("{{view}}", &self.view)
            .replace("{{sdk}}", &self.sdk)
    }
}

/// `my-items` → `my_items`, as cargo names the library.
fn snake_case(name: &str) -> String {
    name.replace('-', "_")
}

/// `my-items` → `MyItems`: a view's name reads like a Backbone `url`.
fn pascal_case(name: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk() -> PathBuf {
        PathBuf::from(BUILT_WITH_SDK)
    }

    fn read(path: PathBuf) -> String {
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    #[test]
    fn creates_a_crate_named_after_the_view() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = create(tmp.path(), "shopping-list", None).expect("created");
        assert_eq!(dir, tmp.path().join("shopping-list"));
        for (file, _) in FILES {
            assert!(dir.join(file).is_file(), "{file}");
        }
        let lib = read(dir.join("src/lib.rs"));
        assert!(lib.contains(r#"View::new("ShoppingList")"#), "{lib}");
        assert!(lib.contains("fn shopping_list() -> View"), "{lib}");
        assert!(
            lib.contains("halo_sdk::export_view!(shopping_list);"),
            "{lib}"
        );
        assert!(lib.contains("use halo_sdk::testing;"), "{lib}");
        assert!(!lib.contains("{{"), "every placeholder is filled:\n{lib}");

        let manifest: toml::Table = read(dir.join("Cargo.toml")).parse().expect("TOML");
        assert_eq!(manifest["package"]["name"].as_str(), Some("shopping-list"));
        assert_eq!(manifest["package"]["edition"].as_str(), Some("2024"));
        assert!(manifest.contains_key("workspace"), "a workspace of its own");
        assert_eq!(
            manifest["lib"]["crate-type"].as_array().map(Vec::len),
            Some(1)
        );
        let sdk_path = manifest["dependencies"]["halo-sdk"]["path"].as_str();
        let canonical = sdk().canonicalize().expect("the SDK is in the repository");
        assert_eq!(sdk_path.map(PathBuf::from), Some(canonical));
        assert_eq!(
            manifest["profile"]["release"]["panic"].as_str(),
            Some("abort")
        );

        let config: toml::Table = read(dir.join(".cargo/config.toml")).parse().expect("TOML");
        assert_eq!(config["build"]["target"].as_str(), Some("wasm32-wasip2"));
        let readme = read(dir.join("README.md"));
        assert!(
            readme.contains("cargo test --target host-tuple"),
            "{readme}"
        );
        assert!(readme.contains("release/shopping_list.wasm"), "{readme}");
        assert!(read(dir.join(".gitignore")).starts_with("target/\n"));
    }

    #[test]
    fn names_that_cannot_be_crates_are_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let long = "a".repeat(65);
        for bad in [
            "",
            "My-View",
            "1st",
            "-x",
            "_x",
            "a b",
            "a.b",
            "a/b",
            "../x",
            "über",
            "fn",
            "self",
            "std",
            "test",
            "halo-sdk",
            "serde_json",
            &long,
        ] {
            match create(tmp.path(), bad, None) {
                Err(ScaffoldError::Name { name, .. }) => assert_eq!(name, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("read").collect();
        assert!(left.is_empty(), "nothing written: {left:?}");
        assert!(create(tmp.path(), &"a".repeat(64), None).is_ok());
    }

    #[test]
    fn an_existing_folder_is_left_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("taken");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("keep.txt"), "mine").expect("write");
        let err = create(tmp.path(), "taken", None).expect_err("refused");
        assert!(
            matches!(&err, ScaffoldError::Exists(path) if *path == dir),
            "{err:?}"
        );
        assert!(err.to_string().contains("exists already"), "{err}");
        assert_eq!(read(dir.join("keep.txt")), "mine");
        assert!(!dir.join("Cargo.toml").exists());
        // A file of that name is in the way too.
        std::fs::write(tmp.path().join("file"), "").expect("write");
        assert!(matches!(
            create(tmp.path(), "file", None),
            Err(ScaffoldError::Exists(_))
        ));
    }

    #[test]
    fn the_sdk_must_be_halo_sdk() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let missing = tmp.path().join("nowhere");
        let err = create(tmp.path(), "a", Some(&missing)).expect_err("refused");
        assert!(matches!(err, ScaffoldError::Sdk { .. }), "{err:?}");
        assert!(err.to_string().contains("--sdk"), "{err}");
        // The plugins workspace is not the SDK.
        let plugins = sdk().join("..");
        let err = create(tmp.path(), "a", Some(&plugins)).expect_err("refused");
        assert!(matches!(err, ScaffoldError::Sdk { .. }), "{err:?}");
        assert!(!tmp.path().join("a").exists());
        // A relative path is taken from the working directory (the host
        // crate's, in tests), as a shell user means it, and stored absolute.
        let dir = create(tmp.path(), "b", Some(Path::new("../plugins/sdk"))).expect("created");
        let manifest = read(dir.join("Cargo.toml"));
        let canonical = sdk().canonicalize().expect("the SDK is in the repository");
        assert!(
            manifest.contains(&format!("{:?}", canonical.display().to_string())),
            "{manifest}"
        );
    }

    #[test]
    fn a_parent_folder_is_created_when_missing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let parent = tmp.path().join("deep/er");
        assert_eq!(
            create(&parent, "v2_items", None).ok(),
            Some(parent.join("v2_items"))
        );
        let lib = read(parent.join("v2_items/src/lib.rs"));
        assert!(lib.contains(r#"View::new("V2Items")"#), "{lib}");
    }

    #[test]
    fn names_convert_between_cases() {
        assert_eq!(pascal_case("todos"), "Todos");
        assert_eq!(pascal_case("my-view_2"), "MyView2");
        assert_eq!(pascal_case("a--b"), "AB");
        assert_eq!(snake_case("my-view"), "my_view");
    }
}

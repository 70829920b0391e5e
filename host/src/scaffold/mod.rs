//! `halo new`: scaffolds a view project, in Rust, JavaScript or Python,
//! that builds and loads on the first try.
//!
//! The files are the templates in `host/templates/new/<lang>/`, built into
//! the binary, with the project's names and the path of the SDK filled in.
//!
//! * `names`: the names a project may have, and those derived from it.

mod names;

use std::io;
use std::path::{Path, PathBuf};

/// The languages a view can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A crate built for wasm32-wasip2 with `plugins/sdk`.
    Rust,
    /// An npm package built with QuickJS by `plugins/sdk-js`.
    Js,
    /// A module built with componentize-py by `plugins/sdk-py`.
    Py,
}

/// Where a file of a project goes (placeholders allowed), and its template.
type File = (&'static str, &'static str);

const RUST_FILES: [File; 5] = [
    (
        "Cargo.toml",
        include_str!("../../templates/new/rust/Cargo.toml.in"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../../templates/new/rust/config.toml.in"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/new/rust/lib.rs.in"),
    ),
    (
        "README.md",
        include_str!("../../templates/new/rust/README.md.in"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/new/rust/gitignore.in"),
    ),
];

const JS_FILES: [File; 5] = [
    (
        "package.json",
        include_str!("../../templates/new/js/package.json.in"),
    ),
    ("view.js", include_str!("../../templates/new/js/view.js.in")),
    (
        "view.test.js",
        include_str!("../../templates/new/js/view.test.js.in"),
    ),
    (
        "README.md",
        include_str!("../../templates/new/js/README.md.in"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/new/js/gitignore.in"),
    ),
];

const PY_FILES: [File; 4] = [
    (
        "{{lib}}.py",
        include_str!("../../templates/new/py/view.py.in"),
    ),
    (
        "test_{{lib}}.py",
        include_str!("../../templates/new/py/test_view.py.in"),
    ),
    (
        "README.md",
        include_str!("../../templates/new/py/README.md.in"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/new/py/gitignore.in"),
    ),
];

/// The repository this halo was built from, where its SDKs are.
const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

impl Lang {
    fn files(self) -> &'static [File] {
        match self {
            Self::Rust => &RUST_FILES,
            Self::Js => &JS_FILES,
            Self::Py => &PY_FILES,
        }
    }

    /// The SDK this halo was built with, in its repository.
    fn built_with_sdk(self) -> PathBuf {
        let folder = match self {
            Self::Rust => "plugins/sdk",
            Self::Js => "plugins/sdk-js",
            Self::Py => "plugins/sdk-py",
        };
        Path::new(REPOSITORY).join(folder)
    }

    /// The SDK's manifest, and the line that names it halo-sdk.
    fn sdk_manifest(self) -> (&'static str, &'static str) {
        match self {
            Self::Rust => ("Cargo.toml", r#"name = "halo-sdk""#),
            Self::Js => ("package.json", r#""name": "halo-sdk""#),
            Self::Py => ("pyproject.toml", r#"name = "halo-sdk""#),
        }
    }
}

/// Why a view project could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not one a view project can have.
    #[error("{name:?} cannot name a view crate, package or module: {reason}")]
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
        "halo-sdk not found at {}: {reason}; pass --sdk with the path of halo-sdk ({} in halo's repository)",
        path.display(), folder
    )]
    Sdk {
        /// Where it was looked for.
        path: PathBuf,
        /// What is there instead.
        reason: String,
        /// Where the SDK is in the repository.
        folder: &'static str,
    },
    /// Writing the project failed.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        cause: io::Error,
    },
}

/// Creates the `lang` view project `name` in `parent/<name>` and returns its
/// folder.
///
/// The project depends on the SDK at `sdk`, or by default on the one this
/// halo was built with. Nothing is written unless the name and the SDK are
/// fine, and a project left half-written by a failure is removed.
pub fn create(
    parent: &Path,
    name: &str,
    lang: Lang,
    sdk: Option<&Path>,
) -> Result<PathBuf, ScaffoldError> {
    names::check(name, lang)?;
    let sdk = find_sdk(
        sdk.map_or_else(|| lang.built_with_sdk(), Path::to_path_buf),
        lang,
    )?;
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
    let fill = Names::new(name, lang, &sdk);
    let written = lang.files().iter().try_for_each(|(file, template)| {
        let path = dir.join(fill.apply(file));
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io(folder))?;
        }
        std::fs::write(&path, fill.apply(template)).map_err(io(&path))
    });
    if let Err(err) = written {
        // Best effort: the folder is ours, and half a project helps no one.
        let _ = std::fs::remove_dir_all(&dir);
        return Err(err);
    }
    Ok(dir)
}

/// The canonical path of the `lang` halo-sdk at `path`, as UTF-8 (the
/// manifests that name it are text).
fn find_sdk(path: PathBuf, lang: Lang) -> Result<String, ScaffoldError> {
    let folder = match lang {
        Lang::Rust => "plugins/sdk",
        Lang::Js => "plugins/sdk-js",
        Lang::Py => "plugins/sdk-py",
    };
    let refuse = |reason: String| ScaffoldError::Sdk {
        path: path.clone(),
        reason,
        folder,
    };
    let sdk = path.canonicalize().map_err(|err| refuse(err.to_string()))?;
    let (manifest, line) = lang.sdk_manifest();
    let text = std::fs::read_to_string(sdk.join(manifest))
        .map_err(|err| refuse(format!("no readable {manifest} there ({err})")))?;
    if !text.contains(line) {
        return Err(refuse(format!("its {manifest} is not halo-sdk's")));
    }
    sdk.into_os_string()
        .into_string()
        .map_err(|_| refuse("its path is not UTF-8, which a manifest cannot hold".into()))
}

/// What the templates' `{{…}}` placeholders stand for.
struct Names {
    /// `{{name}}`: the project, e.g. `my-items`.
    name: String,
    /// `{{lib}}`: the Rust library and its `.wasm`, or the Python module,
    /// e.g. `my_items`.
    lib: String,
    /// `{{view}}`: the view and its collection, e.g. `MyItems`.
    view: String,
    /// `{{sdk}}`: the SDK's path, quoted as its manifest needs: a TOML
    /// string (quotes included) for Rust, the inside of a JSON string for
    /// JavaScript, as is for Python (only its README names it).
    sdk: String,
}

impl Names {
    fn new(name: &str, lang: Lang, sdk: &str) -> Self {
        let sdk = match lang {
            Lang::Rust => toml::Value::String(sdk.to_owned()).to_string(),
            Lang::Js => {
                let quoted = serde_json::Value::String(sdk.to_owned()).to_string();
                // A serialized JSON string starts and ends with one quote.
                let inner = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"'));
                inner.unwrap_or(&quoted).to_owned()
            }
            Lang::Py => sdk.to_owned(),
        };
        Self {
            name: name.to_owned(),
            lib: names::snake_case(name),
            view: names::pascal_case(name),
            sdk,
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

#[cfg(test)]
mod tests;

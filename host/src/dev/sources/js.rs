//! JavaScript views: a `view.js` in an npm package that depends on
//! halo-sdk, at the package's root (named after the package) or in a
//! subfolder of it (named after the subfolder), as in `plugins/js`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Lang, Source, hidden_or_target};

/// The file a JavaScript view's build starts from.
pub(in crate::dev) const ENTRY: &str = "view.js";

/// What we read of a package.json.
#[derive(Deserialize)]
struct Package {
    name: Option<String>,
    #[serde(default)]
    dependencies: serde_json::Map<String, serde_json::Value>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: serde_json::Map<String, serde_json::Value>,
}

/// The views of the package at `root`, else of the packages in `folders`.
pub(super) fn find(root: &Path, folders: &[PathBuf]) -> Vec<Source> {
    let here = in_package(root);
    if !here.is_empty() {
        return here;
    }
    folders.iter().flat_map(|dir| in_package(dir)).collect()
}

/// The views of the package in `dir`, if it is one that uses halo-sdk
/// (and is not halo-sdk itself). A package.json that cannot be read is no
/// package of views.
fn in_package(dir: &Path) -> Vec<Source> {
    let Ok(text) = std::fs::read_to_string(dir.join("package.json")) else {
        return Vec::new();
    };
    let Ok(package) = serde_json::from_str::<Package>(&text) else {
        return Vec::new();
    };
    let uses_sdk = package.dependencies.contains_key("halo-sdk")
        || package.dev_dependencies.contains_key("halo-sdk");
    if !uses_sdk || package.name.as_deref() == Some("halo-sdk") {
        return Vec::new();
    }
    let mut views = Vec::new();
    let folder_name = |dir: &Path| {
        dir.file_name()
            .map(|name| name.to_string_lossy().into_owned())
    };
    if dir.join(ENTRY).is_file() {
        // A scoped name, `@me/items`, builds `items.wasm`.
        let name = package
            .name
            .as_deref()
            .map(|name| name.rsplit('/').next().unwrap_or(name).to_owned())
            .or_else(|| folder_name(dir));
        views.extend(name.map(|name| source(name, dir, dir)));
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return views;
    };
    let mut subs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|sub| !hidden_or_target(sub) && sub.join(ENTRY).is_file())
        .collect();
    subs.sort();
    for sub in subs {
        views.extend(folder_name(&sub).map(|name| source(name, &sub, dir)));
    }
    views
}

fn source(name: String, dir: &Path, package: &Path) -> Source {
    Source {
        name,
        lang: Lang::Js,
        dir: dir.to_owned(),
        entry: dir.join(ENTRY),
        group: package.to_owned(),
    }
}

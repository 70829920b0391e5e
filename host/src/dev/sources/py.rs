//! Python views: modules that import halo_sdk and define `view`, in the
//! watched folder or its immediate subfolders (`plugins/py/notes/notes.py`),
//! each named after its module.

use std::path::{Path, PathBuf};

use super::{Lang, Source, is_source};

/// The Python views in `root`, and in each of `folders`.
pub(super) fn find(root: &Path, folders: &[PathBuf]) -> Vec<Source> {
    std::iter::once(root)
        .chain(folders.iter().map(PathBuf::as_path))
        .flat_map(in_folder)
        .collect()
}

/// The view modules directly in `dir`, in name order.
fn in_folder(dir: &Path) -> Vec<Source> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut modules: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "py")
                && is_source(path, Lang::Py)
                && path.is_file()
        })
        .filter(|path| std::fs::read_to_string(path).is_ok_and(|text| is_view(&text)))
        .collect();
    modules.sort();
    modules
        .into_iter()
        .filter_map(|module| {
            let name = module.file_stem()?.to_string_lossy().into_owned();
            Some(Source {
                name,
                lang: Lang::Py,
                dir: dir.to_owned(),
                entry: module,
                group: dir.to_owned(),
            })
        })
        .collect()
}

/// Whether a module's text makes it a view: it imports halo_sdk and
/// defines `view` at its top level (an assignment or a function), which is
/// what the build exports.
pub(super) fn is_view(text: &str) -> bool {
    let mut imports = false;
    let mut defines = false;
    for line in text.lines() {
        imports |= line.starts_with("from halo_sdk") || line.starts_with("import halo_sdk");
        defines |= line.starts_with("def view(")
            || line
                .strip_prefix("view")
                .map(str::trim_start)
                .is_some_and(|rest| {
                    (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with(':')
                });
    }
    imports && defines
}

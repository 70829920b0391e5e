//! Finding views and telling sources from build output.

use super::*;

use std::path::{Path, PathBuf};

use super::cargo::{Metadata, views_in};

fn krate(name: &str, dir: &str, workspace: &str) -> Source {
    Source {
        name: name.to_owned(),
        lang: Lang::Rust,
        dir: PathBuf::from(dir),
        entry: Path::new(dir).join("Cargo.toml"),
        group: PathBuf::from(workspace),
    }
}

/// `/v`: a workspace with two views and a shared non-view crate, a lone
/// view crate, and a view nested inside another.
fn layout() -> Layout {
    Layout::new(
        PathBuf::from("/v"),
        vec![
            krate("todos", "/v/ws/todos", "/v/ws"),
            krate("notes", "/v/ws/notes", "/v/ws"),
            krate("alone", "/v/alone", "/v/alone"),
            krate("inner", "/v/alone/inner", "/v/alone/inner"),
        ],
        vec![
            PathBuf::from("/v/ws/build-out"),
            PathBuf::from("/data/dev/plugins"),
        ],
    )
    .expect("a valid layout")
}

fn names(layout: &Layout, path: &str) -> Vec<String> {
    let mut names: Vec<String> = layout
        .affected(Path::new(path))
        .into_iter()
        .map(|index| layout.views[index].name.clone())
        .collect();
    names.sort();
    names
}

#[test]
fn a_source_file_maps_to_the_crate_that_holds_it() {
    let layout = layout();
    assert_eq!(names(&layout, "/v/ws/todos/src/lib.rs"), ["todos"]);
    assert_eq!(names(&layout, "/v/ws/todos/src/deep/mod.rs"), ["todos"]);
    assert_eq!(names(&layout, "/v/ws/notes/Cargo.toml"), ["notes"]);
    assert_eq!(names(&layout, "/v/ws/notes/wit/view.wit"), ["notes"]);
    assert_eq!(names(&layout, "/v/ws/notes/build.rs"), ["notes"]);
    assert_eq!(names(&layout, "/v/alone/src/lib.rs"), ["alone"]);
}

#[test]
fn a_nested_crate_owns_its_files() {
    let layout = layout();
    assert_eq!(names(&layout, "/v/alone/inner/src/lib.rs"), ["inner"]);
}

#[test]
fn a_workspace_file_outside_every_view_rebuilds_the_whole_workspace() {
    let layout = layout();
    assert_eq!(names(&layout, "/v/ws/Cargo.toml"), ["notes", "todos"]);
    assert_eq!(names(&layout, "/v/ws/sdk/src/lib.rs"), ["notes", "todos"]);
}

#[test]
fn files_outside_every_crate_and_workspace_rebuild_nothing() {
    let layout = layout();
    assert!(names(&layout, "/v/loose.rs").is_empty());
    assert!(names(&layout, "/v/Cargo.toml").is_empty());
    assert!(names(&layout, "/elsewhere/src/lib.rs").is_empty());
    assert!(names(&layout, "/vv/ws/todos/src/lib.rs").is_empty());
}

#[test]
fn build_output_and_hidden_folders_are_ignored() {
    let layout = layout();
    assert!(names(&layout, "/v/ws/target/release/build/x/out/gen.rs").is_empty());
    assert!(names(&layout, "/v/alone/target/wasm32-wasip2/release/alone.d").is_empty());
    assert!(names(&layout, "/v/ws/build-out/gen.rs").is_empty());
    assert!(names(&layout, "/v/ws/todos/.git/HEAD").is_empty());
    assert!(names(&layout, "/v/ws/todos/.idea/src/lib.rs").is_empty());
    assert!(layout.ignored(Path::new("/v/ws/target")));
    assert!(layout.ignored(Path::new("/v/alone/.cargo")));
    assert!(layout.ignored(Path::new("/data/dev/plugins/todos.wasm")));
    assert!(!layout.ignored(Path::new("/v/ws/todos/src")));
}

#[test]
fn only_sources_count_not_editor_files_or_lockfiles() {
    let layout = layout();
    for path in [
        "/v/ws/todos/src/lib.rs~",
        "/v/ws/todos/src/.lib.rs.swp",
        "/v/ws/todos/src/.lib.rs.swx",
        "/v/ws/todos/src/#lib.rs#",
        "/v/ws/todos/src/.#lib.rs",
        "/v/ws/todos/src/4913",
        "/v/ws/todos/src/lib.rs.kate-swp",
        "/v/ws/todos/Cargo.lock",
        "/v/ws/todos/README.md",
        "/v/ws/todos/src",
    ] {
        assert!(names(&layout, path).is_empty(), "{path} should be ignored");
    }
}

#[test]
fn crates_with_the_same_name_are_refused() {
    let err = Layout::new(
        PathBuf::from("/v"),
        vec![
            krate("a", "/v/one", "/v/one"),
            krate("a", "/v/two", "/v/two"),
        ],
        Vec::new(),
    )
    .expect_err("same names");
    assert!(matches!(err, FindError::SameName { .. }), "{err}");
}

#[test]
fn no_crates_is_an_error_that_says_what_a_view_crate_is() {
    let err = Layout::new(PathBuf::from("/v"), Vec::new(), Vec::new()).expect_err("empty");
    assert!(
        err.to_string().contains("crate-type = [\"cdylib\"]"),
        "{err}"
    );
}

const METADATA: &str = r#"{
    "packages": [
        {"name": "halo-sdk", "manifest_path": "/p/sdk/Cargo.toml",
         "targets": [{"kind": ["lib"], "name": "halo_sdk"}]},
        {"name": "todos", "manifest_path": "/p/todos/Cargo.toml",
         "targets": [{"kind": ["cdylib"], "name": "todos"}]},
        {"name": "both", "manifest_path": "/p/both/Cargo.toml",
         "targets": [{"kind": ["cdylib", "rlib"], "name": "both"}, {"kind": ["test"], "name": "t"}]},
        {"name": "cli", "manifest_path": "/p/cli/Cargo.toml",
         "targets": [{"kind": ["bin"], "name": "cli"}]}
    ],
    "workspace_root": "/p",
    "target_directory": "/p/target",
    "version": 1
}"#;

#[test]
fn views_are_the_packages_with_a_cdylib() {
    let metadata: Metadata = serde_json::from_str(METADATA).expect("valid metadata");
    let (crates, target) = views_in(metadata, Path::new("/p"));
    let names: Vec<&str> = crates.iter().map(|krate| krate.name.as_str()).collect();
    assert_eq!(names, ["todos", "both"]);
    assert_eq!(target, Path::new("/p/target"));
    assert_eq!(crates[0].dir, Path::new("/p/todos"));
    assert_eq!(crates[0].group, Path::new("/p"));
}

#[test]
fn a_member_asked_alone_keeps_only_itself() {
    let metadata: Metadata = serde_json::from_str(METADATA).expect("valid metadata");
    let (crates, _) = views_in(metadata, Path::new("/p/todos"));
    let names: Vec<&str> = crates.iter().map(|krate| krate.name.as_str()).collect();
    assert_eq!(names, ["todos"]);
}

fn script(name: &str, lang: Lang, entry: &str, group: &str) -> Source {
    let entry = PathBuf::from(entry);
    Source {
        name: name.to_owned(),
        lang,
        dir: entry.parent().expect("a folder").to_owned(),
        entry,
        group: PathBuf::from(group),
    }
}

/// `/s`: a JS package with two views in subfolders and shared code, and a
/// folder of two Python views with a helper module.
fn scripts() -> Layout {
    Layout::new(
        PathBuf::from("/s"),
        vec![
            script("todos", Lang::Js, "/s/js/todos/view.js", "/s/js"),
            script("items", Lang::Js, "/s/js/items/view.js", "/s/js"),
            script("notes", Lang::Py, "/s/py/notes.py", "/s/py"),
            script("tasks", Lang::Py, "/s/py/tasks.py", "/s/py"),
        ],
        Vec::new(),
    )
    .expect("a valid layout")
}

#[test]
fn a_js_file_rebuilds_its_view_and_shared_code_the_whole_package() {
    let layout = scripts();
    assert_eq!(names(&layout, "/s/js/todos/view.js"), ["todos"]);
    assert_eq!(names(&layout, "/s/js/todos/rules.mjs"), ["todos"]);
    assert_eq!(names(&layout, "/s/js/shared.js"), ["items", "todos"]);
    assert_eq!(names(&layout, "/s/js/package.json"), ["items", "todos"]);
    for path in [
        "/s/js/todos/view.test.js",
        "/s/js/package-lock.json",
        "/s/js/node_modules/halo-sdk/src/view.js",
        "/s/js/todos/notes.md",
    ] {
        assert!(names(&layout, path).is_empty(), "{path} should be ignored");
    }
}

#[test]
fn a_python_module_rebuilds_itself_and_a_helper_every_view_beside_it() {
    let layout = scripts();
    assert_eq!(names(&layout, "/s/py/notes.py"), ["notes"]);
    assert_eq!(names(&layout, "/s/py/helpers.py"), ["notes", "tasks"]);
    for path in [
        "/s/py/test_notes.py",
        "/s/py/notes_test.py",
        "/s/py/conftest.py",
        "/s/py/__pycache__/notes.cpython-312.pyc",
        "/s/py/notes.js",
    ] {
        assert!(names(&layout, path).is_empty(), "{path} should be ignored");
    }
}

#[test]
fn views_are_found_in_packages_and_modules_of_a_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let uses_sdk = r#"{"name": "my-views", "dependencies": {"halo-sdk": "file:../sdk-js"}}"#;
    write("js/package.json", uses_sdk);
    write("js/todos/view.js", "");
    write("js/items/view.js", "");
    write("js/lib/shared.js", "");
    write(
        "solo/package.json",
        r#"{"name": "@me/solo", "devDependencies": {"halo-sdk": "*"}}"#,
    );
    write("solo/view.js", "");
    write(
        "sdk-js/package.json",
        r#"{"name": "halo-sdk", "dependencies": {"halo-sdk": "*"}}"#,
    );
    write("sdk-js/view.js", "");
    write("other/package.json", r#"{"name": "other"}"#);
    write("other/view.js", "");
    write(
        "py/notes.py",
        "from halo_sdk import View\n\nview = View(\"Notes\")\n",
    );
    write(
        "py/helper.py",
        "from halo_sdk import View\n\ndef helper(): pass\n",
    );
    write("py/test_notes.py", "from halo_sdk import View\nview = 1\n");
    write("py/plain.py", "view = 1\n");
    write(
        "py/node_modules/x.py",
        "from halo_sdk import View\nview = 1\n",
    );
    let out = root.join("out");
    let layout = Layout::find(root, &out).expect("found");
    let found: Vec<(&str, Lang)> = layout
        .views
        .iter()
        .map(|view| (view.name.as_str(), view.lang))
        .collect();
    assert_eq!(
        found,
        [
            ("items", Lang::Js),
            ("notes", Lang::Py),
            ("solo", Lang::Js),
            ("todos", Lang::Js),
        ]
    );
    let root = root.canonicalize().expect("canonical");
    let todos = &layout.views[3];
    assert_eq!(todos.group, root.join("js"));
    assert_eq!(todos.entry, root.join("js/todos/view.js"));
}

#[test]
fn a_python_view_imports_the_sdk_and_defines_view_at_the_top() {
    assert!(py_is_view("import halo_sdk\nview = halo_sdk.View('A')\n"));
    assert!(py_is_view(
        "from halo_sdk import View\nview: View = View('A')\n"
    ));
    assert!(py_is_view(
        "from halo_sdk import View\ndef view():\n    return View('A')\n"
    ));
    assert!(!py_is_view(
        "from halo_sdk import View\n    view = View('A')\n"
    ));
    assert!(!py_is_view("from halo_sdk import View\nview == 1\n"));
    assert!(!py_is_view("view = 1\n"));
    assert!(!py_is_view("from halo_sdk import View\nviews = []\n"));
}

fn py_is_view(text: &str) -> bool {
    super::py::is_view(text)
}

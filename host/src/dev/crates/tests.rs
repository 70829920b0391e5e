//! Finding view crates and telling sources from build output.

use super::*;

fn krate(name: &str, dir: &str, workspace: &str) -> Crate {
    Crate {
        name: name.to_owned(),
        dir: PathBuf::from(dir),
        manifest: Path::new(dir).join("Cargo.toml"),
        workspace: PathBuf::from(workspace),
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
        .map(|index| layout.crates[index].name.clone())
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
    assert_eq!(crates[0].workspace, Path::new("/p"));
}

#[test]
fn a_member_asked_alone_keeps_only_itself() {
    let metadata: Metadata = serde_json::from_str(METADATA).expect("valid metadata");
    let (crates, _) = views_in(metadata, Path::new("/p/todos"));
    let names: Vec<&str> = crates.iter().map(|krate| krate.name.as_str()).collect();
    assert_eq!(names, ["todos"]);
}

//! Views of both WIT versions, built from Rust, JavaScript and Python, load
//! in one host and answer requests the same way. The JS and Python builds
//! come from `make views` (HALO_VIEWS_DIR, else build/views); a test whose
//! build is missing says so and passes, since `cargo test` alone does not
//! build them.

use std::path::PathBuf;

use halo::view::Limits;
use halo::wire::ErrorCode;
use halo_tests::{Host, components};
use serde_json::json;

/// A JS or Python example built by `make views`, if it is there.
fn built(file: &str) -> Option<String> {
    let dir = std::env::var_os("HALO_VIEWS_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../build/views")),
        PathBuf::from,
    );
    let path = dir.join(file);
    if path.is_file() {
        return Some(path.display().to_string());
    }
    eprintln!("skipped: {} is not built (make views)", path.display());
    None
}

/// A host serving `build` alone, whose one view `name` implements `wit`.
async fn serving(build: &str, name: &str, wit: &str) -> Host {
    let host = Host::with(&[build], Limits::default())
        .await
        .expect("host starts");
    let view = host
        .tenant
        .catalog()
        .get(name)
        .unwrap_or_else(|| panic!("{build} loads as {name}"));
    assert_eq!(view.wit(), wit, "{build}");
    host
}

/// The same requests against the Rust, JavaScript (both versions) and
/// Python todos: every answer alike, ids aside.
#[tokio::test]
async fn todos_answer_alike_in_every_language_and_version() {
    let mut builds = vec![(components::TODOS.to_owned(), "halo:view@0.1.0")];
    for (file, wit) in [
        ("js-todos.wasm", "halo:view@0.1.0"),
        ("js-todos-0.2.wasm", "halo:view@0.2.0"),
        ("py-todos.wasm", "halo:view@0.2.0"),
    ] {
        builds.extend(built(file).map(|path| (path, wit)));
    }
    for (build, wit) in &builds {
        let host = serving(build, "Todos", wit).await;
        let todo = host
            .request("c1", "Todos:create", json!({ "title": "  milk " }))
            .await
            .unwrap_or_else(|err| panic!("{build}: create: {err:?}"))
            .result;
        let id = todo["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            todo,
            json!({ "id": id, "title": "milk", "completed": false }),
            "{build}"
        );
        let patched = host
            .request("c1", "Todos:patch", json!({ "id": id, "completed": true }))
            .await
            .unwrap_or_else(|err| panic!("{build}: patch: {err:?}"))
            .result;
        assert_eq!(patched["completed"], true, "{build}");
        for bad in [
            json!({ "title": " " }),
            json!({ "title": "x", "completed": 1 }),
        ] {
            let err = host
                .request("c1", "Todos:create", bad)
                .await
                .expect_err("refused");
            assert_eq!(err.code, ErrorCode::Invalid, "{build}: {err:?}");
        }
        let list = host
            .request("c2", "Todos:list", json!([]))
            .await
            .unwrap_or_else(|err| panic!("{build}: list: {err:?}"))
            .result;
        assert_eq!(
            list,
            json!([{ "id": id, "title": "milk", "completed": true }]),
            "{build}"
        );
    }
}

/// The Python notes (0.2.0) renders per client and refuses a client without
/// a `user` claim, as the Rust notes (0.1.0) does.
#[tokio::test]
async fn notes_refuse_a_client_without_a_user_in_rust_and_python() {
    let mut builds = vec![(components::NOTES.to_owned(), "halo:view@0.1.0")];
    builds.extend(built("py-notes.wasm").map(|path| (path, "halo:view@0.2.0")));
    for (build, wit) in &builds {
        let host = serving(build, "Notes", wit).await;
        let err = host
            .request("c1", "Notes:create", json!({ "text": "x" }))
            .await
            .expect_err("refused");
        assert_eq!(err.code, ErrorCode::Forbidden, "{build}: {err:?}");
        let list = host
            .request("c1", "Notes:list", json!([]))
            .await
            .unwrap_or_else(|err| panic!("{build}: list: {err:?}"))
            .result;
        assert_eq!(list, json!([]), "{build}");
    }
}

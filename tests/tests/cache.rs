//! Compiled components are cached on disk, so a restart does not compile
//! them again; a damaged cache entry is ignored, never trusted.

use std::sync::Arc;

use halo::view::{Engine, Limits, Runtime};
use halo_tests::components;

fn cached(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

async fn load(cache: &std::path::Path) -> String {
    let engine = Engine::new(cache.to_owned()).expect("engine starts");
    let runtime: Arc<Runtime> = Runtime::new(&engine, Limits::default(), "");
    let bytes = std::fs::read(components::TODOS).expect("component");
    let plugin = runtime.load(bytes).await.expect("todos loads");
    plugin.spec().name.clone()
}

#[tokio::test]
async fn a_second_start_loads_the_compiled_component_from_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(load(dir.path()).await, "Todos");
    let files = cached(dir.path());
    assert_eq!(files.len(), 1, "one artifact for one component");
    let written = std::fs::metadata(&files[0])
        .and_then(|m| m.modified())
        .expect("mtime");

    assert_eq!(load(dir.path()).await, "Todos");
    let again = std::fs::metadata(&files[0])
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(written, again, "the artifact was reused, not rewritten");
}

#[tokio::test]
async fn a_damaged_cache_entry_is_compiled_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    load(dir.path()).await;
    let files = cached(dir.path());
    std::fs::write(&files[0], b"damaged").expect("damage");
    assert_eq!(load(dir.path()).await, "Todos");
    assert!(
        std::fs::read(&files[0]).expect("read").len() > 1000,
        "rewritten whole"
    );
}

//! The plugins folder is watched: views are added, replaced and removed while
//! the host runs, and an invalid file never replaces a working view.

use std::sync::Arc;
use std::time::Duration;

use halo::view::Limits;
use halo::wire::ErrorCode;
use halo_tests::{Host, add, components, eventually};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_come_and_go_with_their_files() {
    let host = Host::with(&[], Limits::default())
        .await
        .expect("host starts");
    let _watcher = host.folder.watch().expect("watching");
    let catalog = &host.tenant.catalog();
    assert!(catalog.get("Echo").is_none());

    // Added.
    let file = host.plugins.join("app.wasm");
    std::fs::copy(components::ECHO, &file).expect("copy");
    assert!(
        eventually(WAIT, || catalog.get("Echo").is_some()).await,
        "Echo loads"
    );
    host.request("c", "Echo:create", json!({"x": 1}))
        .await
        .expect("served");

    // Replaced: the same file now holds another view.
    let old = catalog.get("Echo").expect("loaded");
    std::fs::copy(components::TODOS, &file).expect("copy");
    assert!(
        eventually(WAIT, || catalog.get("Todos").is_some()).await,
        "Todos loads"
    );
    assert!(catalog.get("Echo").is_none(), "the file's old view is gone");
    // A request that holds the old version still completes on it.
    assert_eq!(old.spec().name, "Echo");
    let err = host
        .request("c", "Echo:list", json!([]))
        .await
        .expect_err("gone");
    assert_eq!(err.code, ErrorCode::UnknownView);
    // The file's new view answers by its own rules: Todos' defaults.
    let todo = host
        .request("c", "Todos:create", json!({"title": "new"}))
        .await
        .expect("Todos serves");
    assert_eq!(todo.result["completed"], false);

    // Removed.
    std::fs::remove_file(&file).expect("remove");
    assert!(
        eventually(WAIT, || catalog.get("Todos").is_none()).await,
        "Todos unloads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_is_refused_and_the_previous_version_keeps_serving() {
    let host = Host::with(&[components::PROBE], Limits::default())
        .await
        .expect("host starts");
    let _watcher = host.folder.watch().expect("watching");
    let catalog = host.tenant.catalog();
    let loaded = catalog.get("Probe").expect("Probe loaded at start");

    // A new file that is not a component never shows up.
    std::fs::write(host.plugins.join("junk.wasm"), b"not a component").expect("write");
    // A core module, not a component.
    std::fs::write(host.plugins.join("core.wasm"), b"\0asm\x01\0\0\0").expect("write");
    // The working view's file overwritten with garbage.
    std::fs::write(host.plugins.join("probe.wasm"), b"\0asm garbage").expect("write");
    rescanned(&host).await;

    let serving = catalog.get("Probe").expect("Probe still served");
    assert!(
        Arc::ptr_eq(&loaded, &serving),
        "the previous version keeps serving"
    );
    assert_eq!(catalog.all().len(), 1);
    host.request("c", "Probe:list", json!([]))
        .await
        .expect("still served");
    let err = host
        .request("c", "Probe:create", json!({}))
        .await
        .expect_err("this version does not create");
    assert_eq!(err.code, ErrorCode::Forbidden);

    // A valid file again replaces it: the view's next version, which also
    // allows create.
    std::fs::copy(components::PROBE_WIDE, host.plugins.join("probe.wasm")).expect("copy");
    assert!(
        eventually(WAIT, || catalog
            .get("Probe")
            .is_some_and(|now| now.spec().routes.contains("create")))
        .await,
        "the new version loads"
    );
    host.request("c", "Probe:create", json!({"n": 1}))
        .await
        .expect("the new version creates");
}

/// Waits until the watcher has scanned the whole folder as it is now, by
/// adding a marker view and removing it again. Scans run one at a time: the
/// one that unloads the marker starts after the one that loaded it has
/// ended, and that one listed the folder after everything written before
/// the marker, and loaded or refused all of it.
async fn rescanned(host: &Host) {
    let catalog = &host.tenant.catalog();
    let marker = add(&host.plugins, components::MIRROR).expect("add the marker");
    assert!(
        eventually(WAIT, || catalog.get("Mirror").is_some()).await,
        "the marker loads"
    );
    std::fs::remove_file(&marker).expect("remove the marker");
    assert!(
        eventually(WAIT, || catalog.get("Mirror").is_none()).await,
        "the marker unloads"
    );
}

#[tokio::test]
async fn two_files_cannot_serve_the_same_view_name() {
    let host = Host::with(&[components::ECHO], Limits::default())
        .await
        .expect("host starts");
    std::fs::copy(components::ECHO, host.plugins.join("echo-copy.wasm")).expect("copy");
    host.folder.scan().await;
    assert_eq!(host.tenant.catalog().all().len(), 1);
    assert_eq!(
        host.tenant
            .catalog()
            .name_of(&host.plugins.join("echo.wasm"))
            .as_deref(),
        Some("Echo"),
        "the first file keeps the name"
    );
}

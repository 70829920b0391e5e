//! A faulty view fails its own request with `plugin_failed`, stopped by the
//! limit it ran into, while other requests keep being served.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use halo::view::Limits;
use halo::wire::ErrorCode;
use halo_tests::{Host, components};
use serde_json::json;

fn limits() -> Limits {
    Limits {
        memory_bytes: 16 << 20,
        cpu_deadline: Duration::from_millis(50),
        max_instances: 16,
    }
}

/// Runs `event` on a fixture that misbehaves while a well-behaved view keeps
/// answering, and checks the misbehaving request alone failed.
async fn fails_alone(fixture: &str, event: &str, reason: &str) {
    let host = Host::with(&[fixture, components::ECHO], limits())
        .await
        .expect("host starts");
    let faulty = host.request("c1", event, json!({}));
    let healthy = async {
        let mut served = 0;
        for n in 0..20 {
            let outcome = host
                .request("c2", "Echo:create", json!({ "n": n }))
                .await
                .expect("the healthy view keeps serving");
            assert_eq!(outcome.result["n"], n);
            served += 1;
        }
        served
    };
    let (faulty, served) = tokio::join!(faulty, healthy);
    let err = faulty.expect_err("the faulty request fails");
    assert_eq!(err.code, ErrorCode::PluginFailed, "{err:?}");
    assert!(
        err.message.contains(reason),
        "message {:?} names {reason:?}",
        err.message
    );
    assert_eq!(served, 20);
    // The sandbox stopped it, as the operator sees in the tenant's failures:
    // the limit it ran into, not the wall-clock backstop that a call which
    // escaped its limits would only meet much later.
    let (view, action) = event.split_once(':').expect("event is View:action");
    let failures = host.tenant.activity().failures();
    let failure = failures
        .iter()
        .find(|f| f.view == view && f.action == action)
        .expect("the failure is recorded");
    assert!(failure.reason.contains(reason), "{failure:?}");
    assert!(
        !failure.detail.contains("wall-clock"),
        "stopped by the backstop, not by its own limit: {failure:?}"
    );

    // The view is usable again: a new instance replaces the poisoned one.
    let again = host.request("c1", event, json!({})).await;
    assert_eq!(
        again.expect_err("fails again").code,
        ErrorCode::PluginFailed
    );
    let listed = host
        .request("c1", "Echo:list", json!([]))
        .await
        .expect("list works");
    assert_eq!(listed.result.as_array().map(Vec::len), Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_that_loops_forever_fails_its_request_at_the_deadline() {
    fails_alone(components::SPIN, "Spin:spin", "CPU deadline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_that_allocates_without_bound_fails_at_its_memory_limit() {
    fails_alone(components::HOG, "Hog:hog", "memory limit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_that_panics_fails_its_request_only() {
    fails_alone(components::CRASH, "Crash:crash", "trapped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_looping_view_does_not_starve_the_runtime_on_one_worker() {
    // Spinners that run far longer than serving a request takes, so that
    // which of them ends first depends on scheduling alone.
    let limits = Limits {
        cpu_deadline: Duration::from_millis(500),
        ..limits()
    };
    let host = Host::with(&[components::SPIN, components::ECHO], limits)
        .await
        .expect("host starts");
    let spins = futures_join(&host).await;
    assert!(spins.iter().all(|code| *code == ErrorCode::PluginFailed));
}

/// Four spinning calls and a healthy one on a single worker thread: the
/// healthy one must be answered while the spinners still run. It is polled
/// after them, so a spinner holding the only worker would keep it from
/// finishing until that spinner gave up.
async fn futures_join(host: &Host) -> Vec<ErrorCode> {
    let gave_up = &AtomicUsize::new(0);
    let spin = |n: usize| async move {
        let code = host
            .request(&format!("s{n}"), "Spin:spin", json!({}))
            .await
            .expect_err("spinning fails")
            .code;
        gave_up.fetch_add(1, Ordering::SeqCst);
        code
    };
    // A read: writes take the tenant's turn one at a time, so a write would
    // wait for the spinners' turns whatever the runtime did.
    let healthy = async {
        host.request("h", "Echo:list", json!([]))
            .await
            .expect("healthy request is served");
        gave_up.load(Ordering::SeqCst)
    };
    let (a, b, c, d, finished_before) = tokio::join!(spin(1), spin(2), spin(3), spin(4), healthy);
    assert_eq!(
        finished_before, 0,
        "the healthy request was answered only after {finished_before} spinner(s) gave up"
    );
    vec![a, b, c, d]
}

#[tokio::test]
async fn a_tenant_keeps_no_more_warm_instances_than_its_instance_limit() {
    let limits = Limits {
        max_instances: 2,
        ..limits()
    };
    let host = Host::with(
        &[components::ECHO, components::TODOS, components::MY_MODELS],
        limits,
    )
    .await
    .expect("host starts");
    // Each view's custom handler leaves a warm instance behind; three views
    // would keep three without the tenant-wide cap.
    host.request("c", "Echo:whoami", json!({}))
        .await
        .expect("echo answers");
    host.request("c", "Todos:create", json!({ "title": "a" }))
        .await
        .expect("todos answers");
    let model = host
        .request("c", "MyModels:create", json!({}))
        .await
        .expect("a model to update");
    let id = model.result["id"].clone();
    // Its custom update runs in a third instance; whether it accepts the
    // change does not matter here.
    let _ = host
        .request(
            "c",
            "MyModels:update",
            json!({ "id": id, "someProperty": 1 }),
        )
        .await;
    assert_eq!(host.tenant.runtime().warm_instances(), 2);
    // A view unloaded takes its warm instances with it.
    std::fs::remove_file(host.plugins.join("echo.wasm")).expect("remove echo");
    host.folder.scan().await;
    assert_eq!(host.tenant.runtime().warm_instances(), 1);
}

//! The writes of one request commit together or not at all.

use halo::view::Limits;
use halo_tests::{Host, components};
use serde_json::json;

#[tokio::test]
async fn a_handler_that_writes_twice_then_fails_leaves_nothing() {
    let host = Host::with(&[components::HALFWAY], Limits::default())
        .await
        .expect("host starts");
    let err = host
        .request("c", "Halfway:halfway", json!({}))
        .await
        .expect_err("the handler refuses");
    assert_eq!(err.message, "second thoughts");
    let listed = host
        .request("c", "Halfway:list", json!([]))
        .await
        .expect("list");
    assert_eq!(
        listed.result,
        json!([]),
        "no write of the failed request is stored"
    );
}

#[tokio::test]
async fn a_handler_that_succeeds_commits_all_its_writes_and_reports_them() {
    let host = Host::with(&[components::HALFWAY], Limits::default())
        .await
        .expect("host starts");
    let outcome = host
        .request("c", "Halfway:both", json!({}))
        .await
        .expect("the handler succeeds");
    assert_eq!(
        outcome.committed.changes.len(),
        2,
        "both creates are in the write set"
    );
    assert!(
        outcome
            .committed
            .changes
            .iter()
            .all(|c| c.before.is_none() && c.after.is_some())
    );
    let listed = host
        .request("c", "Halfway:list", json!([]))
        .await
        .expect("list");
    assert_eq!(listed.result.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_trapping_handler_leaves_nothing_behind() {
    let host = Host::with(&[components::CRASH], Limits::default())
        .await
        .expect("host starts");
    host.request("c", "Crash:crash", json!({}))
        .await
        .expect_err("the handler traps");
    let listed = host
        .request("c", "Crash:list", json!([]))
        .await
        .expect("list");
    assert_eq!(listed.result, json!([]));
}

#[tokio::test]
async fn a_handler_that_writes_without_bound_is_stopped_and_leaves_nothing() {
    let host = Host::with(&[components::HALFWAY], Limits::default())
        .await
        .expect("host starts");
    let err = host
        .request("c", "Halfway:flood", json!({}))
        .await
        .expect_err("the flood is refused");
    assert_eq!(err.code, halo::wire::ErrorCode::Invalid);
    assert!(err.message.contains("at most 1000"), "{}", err.message);
    let listed = host
        .request("c", "Halfway:list", json!([]))
        .await
        .expect("list");
    assert_eq!(listed.result, json!([]));
}

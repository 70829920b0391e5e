//! The applied state over a real SQLite store, when the store refuses:
//! requests see their transactions' outcomes in any order.

use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::json;

use super::*;
use crate::store::suite::create;
use crate::store::{Durability, SqliteStore};

/// Applies one `create` of `id` with `body` under a turn taken now.
async fn apply_create(applied: &Applied, redo_of: Option<u64>, id: &str, body: Value) -> Applying {
    let turn = applied.turn(redo_of).await;
    let write = create(id, body);
    let Write::Create { model: created, .. } = &write else {
        unreachable!("create makes a create")
    };
    let key = ("todos".to_owned(), id.to_owned());
    let latest = vec![(key.clone(), Some(Arc::new(created.clone())))];
    applied.apply(turn, vec![write], latest, vec![key], None, None)
}

#[tokio::test]
async fn a_refusal_seen_after_a_later_one_still_runs_again_first_and_is_never_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Room for a small model, not for a big one.
    let store = SqliteStore::open_with(
        &dir.path().join("t.sqlite3"),
        Some(200),
        Durability::Process,
    )
    .expect("open");
    let applied = Applied::new(Arc::new(store));
    let big = apply_create(&applied, None, "big", json!({"text": "x".repeat(400)})).await;
    // Applied after the big one, on the state that has it: refused with it.
    let small = apply_create(&applied, None, "small", json!({})).await;
    assert_eq!((big.rank(), small.rank()), (1, 2));
    assert!(
        applied.get("todos", "big").await.expect("get").is_some(),
        "applied, not yet durable: read as written"
    );
    // The later request sees its refusal first.
    let refused = applied.durable(small).await;
    assert!(matches!(refused, Err(StoreError::Aborted)), "{refused:?}");
    let refused = applied.durable(big).await;
    assert!(
        matches!(refused, Err(StoreError::Quota(200))),
        "{refused:?}"
    );
    assert_eq!(
        applied.get("todos", "big").await.expect("get"),
        None,
        "a refused write is not read"
    );
    assert!(applied.list("todos").await.expect("list").is_empty());
    // The second runs again only after the first has.
    let mut second = Box::pin(apply_create(&applied, Some(2), "small", json!({})));
    assert!(
        (&mut second).now_or_never().is_none(),
        "the second waits for the first to run again"
    );
    let first = apply_create(&applied, Some(1), "smaller", json!({})).await;
    let second = second.await;
    assert_eq!((first.rank(), second.rank()), (1, 2));
    let first = applied.durable(first).await.expect("the first, run again");
    let second = applied
        .durable(second)
        .await
        .expect("the second, run again");
    assert!(first.seq < second.seq, "in the order first applied");
    let ids: Vec<Value> = applied
        .list("todos")
        .await
        .expect("list")
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, [json!("smaller"), json!("small")]);
}

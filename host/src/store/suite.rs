//! The behaviour every store must have, as tests each backend runs against
//! a real database of its kind (`store_suite!`), so that neither drifts.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Recorded, Store, StoreError, Transaction, Write, model};

pub(crate) fn create(id: &str, body: Value) -> Write {
    let mut m = model(body);
    m.insert("id".into(), Value::String(id.into()));
    Write::Create {
        collection: "todos".into(),
        id: id.into(),
        model: m,
    }
}

pub(crate) fn merge(id: &str, attributes: Value) -> Write {
    Write::Merge {
        collection: "todos".into(),
        id: id.into(),
        attributes: model(attributes),
        only: None,
    }
}

fn ids(models: &[super::Model]) -> Vec<Value> {
    models.iter().map(|m| m["id"].clone()).collect()
}

pub(crate) async fn models_are_listed_in_creation_order(store: Arc<dyn Store>) {
    for id in ["b", "a", "c"] {
        store
            .commit(vec![create(id, json!({"t": id}))])
            .await
            .expect("commit");
    }
    store
        .commit(vec![merge("a", json!({"done": true}))])
        .await
        .expect("merge");
    let listed = store.list("todos").await.expect("list");
    assert_eq!(ids(&listed), vec![json!("b"), json!("a"), json!("c")]);
    let a = store.get("todos", "a").await.expect("get").expect("exists");
    assert_eq!(a["done"], json!(true));
    assert_eq!(a["t"], json!("a"), "a merge keeps the other attributes");
    assert!(
        store.get("other", "a").await.expect("get").is_none(),
        "collections are separate"
    );
}

pub(crate) async fn commits_are_numbered_in_order(store: Arc<dyn Store>) {
    let before = store.committed();
    let mut seqs = Vec::new();
    for id in ["x", "y", "z"] {
        let commit = store
            .commit(vec![create(id, json!({}))])
            .await
            .expect("commit");
        seqs.push(commit.seq.expect("numbered"));
    }
    assert_eq!(seqs, vec![before + 1, before + 2, before + 3]);
    assert_eq!(store.committed(), before + 3);
}

pub(crate) async fn a_failing_transaction_applies_nothing_and_spares_its_batch(
    store: Arc<dyn Store>,
) {
    store
        .commit(vec![create("x", json!({}))])
        .await
        .expect("seed");
    // Many transactions at once share batches; the bad ones must fail alone.
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let writes = if n % 2 == 0 {
                vec![create(&format!("ok{n}"), json!({}))]
            } else {
                vec![
                    create(&format!("bad{n}"), json!({})),
                    merge("missing", json!({"a": 1})),
                ]
            };
            store.commit(writes).await
        }));
    }
    for (n, task) in tasks.into_iter().enumerate() {
        let result = task.await.expect("task");
        if n % 2 == 0 {
            assert!(result.is_ok(), "{n}: {result:?}");
        } else {
            assert!(
                matches!(result, Err(StoreError::NotFound { .. })),
                "{n}: {result:?}"
            );
        }
    }
    let listed = store.list("todos").await.expect("list");
    assert_eq!(listed.len(), 21, "the seed and the 20 good creates");
    assert!(
        listed
            .iter()
            .all(|m| !m["id"].as_str().unwrap_or("").starts_with("bad"))
    );
}

pub(crate) async fn removing_a_missing_model_changes_nothing(store: Arc<dyn Store>) {
    let before = store.committed();
    let commit = store
        .commit(vec![Write::Remove {
            collection: "todos".into(),
            id: "nope".into(),
        }])
        .await
        .expect("commit");
    assert!(commit.changes.is_empty());
    assert_eq!(
        commit.seq,
        Some(before + 1),
        "it still took its place in the order"
    );
}

pub(crate) async fn a_create_with_a_taken_id_fails(store: Arc<dyn Store>) {
    store
        .commit(vec![create("x", json!({}))])
        .await
        .expect("first");
    let again = store.commit(vec![create("x", json!({}))]).await;
    assert!(matches!(again, Err(StoreError::Exists { .. })), "{again:?}");
}

pub(crate) async fn a_refusal_refuses_the_rest_of_its_epoch(store: Arc<dyn Store>) {
    let tx = |writes, epoch| Transaction {
        writes,
        epoch: Some(epoch),
        base: store.known(),
        ..Transaction::default()
    };
    // Submitted together, before any is awaited, as pipelined requests are.
    let refused = store.submit(tx(vec![merge("missing", json!({"a": 1}))], 1));
    let dependent = store.submit(tx(vec![create("d", json!({}))], 1));
    let next_epoch = store.submit(tx(vec![create("e", json!({}))], 2));
    assert!(matches!(refused.await, Err(StoreError::NotFound { .. })));
    assert!(matches!(dependent.await, Err(StoreError::Aborted)));
    assert!(next_epoch.await.is_ok());
    assert!(store.get("todos", "d").await.expect("get").is_none());
    assert!(store.get("todos", "e").await.expect("get").is_some());
}

pub(crate) async fn an_operation_is_recorded_with_its_commit_and_applies_once(
    store: Arc<dyn Store>,
) {
    let op = |answer: &str| Recorded {
        key: "client|V:create|op-1".into(),
        answer: answer.into(),
        seq: 0,
    };
    assert!(
        store
            .recorded("client|V:create|op-1")
            .await
            .expect("read")
            .is_none()
    );
    let first = store
        .submit(Transaction {
            op: Some(op("first")),
            ..Transaction::writes(vec![create("a", json!({}))])
        })
        .await
        .expect("first");
    let again = store
        .submit(Transaction {
            op: Some(op("second")),
            ..Transaction::writes(vec![create("b", json!({}))])
        })
        .await;
    assert!(matches!(again, Err(StoreError::Repeated(_))), "{again:?}");
    assert!(
        store.get("todos", "b").await.expect("get").is_none(),
        "a repeat's writes are not applied"
    );
    let recorded = store
        .recorded("client|V:create|op-1")
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(recorded.answer, "first");
    assert_eq!(Some(recorded.seq), first.seq);
}

/// One `#[tokio::test]` per suite test, each on a fresh store from
/// `$open` (an async expression giving an `Arc<dyn Store>`).
macro_rules! store_suite {
    ($open:expr) => {
        $crate::store::suite::store_suite!(@each $open;
            models_are_listed_in_creation_order,
            commits_are_numbered_in_order,
            a_failing_transaction_applies_nothing_and_spares_its_batch,
            removing_a_missing_model_changes_nothing,
            a_create_with_a_taken_id_fails,
            a_refusal_refuses_the_rest_of_its_epoch,
            an_operation_is_recorded_with_its_commit_and_applies_once);
    };
    (@each $open:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, _keep) = $open;
                $crate::store::suite::$name(store).await;
            }
        )*
    };
}
pub(crate) use store_suite;

//! The SQLite store against a real database file.

use super::*;
use crate::store::model;
use serde_json::{Value, json};

fn create(id: &str, body: Value) -> Write {
    let mut m = model(body);
    m.insert("id".into(), Value::String(id.into()));
    Write::Create {
        collection: "todos".into(),
        id: id.into(),
        model: m,
    }
}

fn merge(id: &str, attributes: Value) -> Write {
    Write::Merge {
        collection: "todos".into(),
        id: id.into(),
        attributes: model(attributes),
        only: None,
    }
}

#[tokio::test]
async fn models_are_listed_in_creation_order_and_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let store = SqliteStore::open(&path).expect("open");
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
    }
    let store = SqliteStore::open(&path).expect("reopen");
    let ids: Vec<Value> = store
        .list("todos")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("b"), json!("a"), json!("c")]);
    let a = store.get("todos", "a").await.expect("get").expect("exists");
    assert_eq!(a["done"], json!(true));
    assert!(
        store.get("other", "a").await.expect("get").is_none(),
        "collections are separate"
    );
}

#[tokio::test]
async fn a_failing_transaction_applies_nothing_and_spares_its_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).expect("open"));
    store
        .commit(vec![create("x", json!({}))])
        .await
        .expect("seed");

    // Many transactions at once share batches; the bad ones must fail
    // alone.
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

#[tokio::test]
async fn removing_a_missing_model_is_not_an_error_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("db")).expect("open");
    let commit = store
        .commit(vec![Write::Remove {
            collection: "todos".into(),
            id: "nope".into(),
        }])
        .await
        .expect("commit");
    assert!(commit.changes.is_empty());
    assert_eq!(commit.seq, Some(1), "it still took its place in the order");
    assert_eq!(store.committed(), 1);
}

#[tokio::test]
async fn a_create_with_a_taken_id_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("db")).expect("open");
    store
        .commit(vec![create("x", json!({}))])
        .await
        .expect("first");
    let again = store.commit(vec![create("x", json!({}))]).await;
    assert!(matches!(again, Err(StoreError::Exists { .. })), "{again:?}");
}

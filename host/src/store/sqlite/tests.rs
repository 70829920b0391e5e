//! The SQLite store against a real database file: the store suite, and
//! what only a file shows.

use super::*;
use crate::store::{Write, model};
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

/// A fresh store in a temporary folder, and the folder to keep.
fn fresh() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("db")).expect("open");
    (Arc::new(store), dir)
}

crate::store::suite::store_suite!(fresh());

#[tokio::test]
async fn commit_numbers_and_operations_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let first = {
        let store = SqliteStore::open(&path).expect("open");
        let commit = store
            .submit(Transaction {
                op: Some(Recorded {
                    key: "k".into(),
                    answer: "a".into(),
                    seq: 0,
                }),
                ..Transaction::writes(vec![create("x", json!({}))])
            })
            .await
            .expect("commit");
        store.close();
        commit.seq.expect("numbered")
    };
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.committed(), first);
    let next = store
        .commit(vec![create("y", json!({}))])
        .await
        .expect("commit");
    assert_eq!(next.seq, Some(first + 1));
    let recorded = store.recorded("k").await.expect("read").expect("kept");
    assert_eq!(recorded.seq, first);
}

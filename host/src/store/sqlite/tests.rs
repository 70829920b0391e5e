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

/// The ids of the store's todos, in the order it lists them.
async fn listed_ids(store: &SqliteStore) -> Vec<Value> {
    store
        .list("todos")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m["id"].clone())
        .collect()
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
    assert_eq!(
        listed_ids(&store).await,
        vec![json!("b"), json!("a"), json!("c")]
    );
    let a = store.get("todos", "a").await.expect("get").expect("exists");
    assert_eq!(a["done"], json!(true));
    assert!(
        store.get("other", "a").await.expect("get").is_none(),
        "collections are separate"
    );
}

/// A transaction of `write` that records client operation `key`.
fn recording(key: &str, write: Write) -> Transaction {
    Transaction {
        op: Some(Recorded {
            key: key.into(),
            answer: "a".into(),
            seq: 0,
        }),
        ..Transaction::writes(vec![write])
    }
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
            .submit(recording("k", create("x", json!({}))))
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

#[tokio::test]
async fn after_a_stop_without_close_commits_are_numbered_past_every_recorded_operation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let recorded = {
        let store = SqliteStore::open(&path).expect("open");
        store
            .commit(vec![create("a", json!({}))])
            .await
            .expect("commit");
        let with_op = store
            .submit(recording("k", create("b", json!({}))))
            .await
            .expect("commit")
            .seq
            .expect("numbered");
        store
            .commit(vec![create("c", json!({}))])
            .await
            .expect("commit");
        // Dropped, not closed: as after a crash, the counter was not saved.
        with_op
    };
    let store = SqliteStore::open(&path).expect("reopen");
    assert!(store.committed() >= recorded);
    let next = store
        .commit(vec![create("d", json!({}))])
        .await
        .expect("commit");
    assert!(next.seq.expect("numbered") > recorded);
    assert_eq!(
        store.recorded("k").await.expect("read").expect("kept").seq,
        recorded
    );
    for id in ["a", "b", "c", "d"] {
        assert!(
            store.get("todos", id).await.expect("get").is_some(),
            "{id} kept"
        );
    }
}

#[tokio::test]
async fn a_model_another_connection_wrote_is_read_as_written_after_the_next_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let store = SqliteStore::open(&path).expect("open");
    store
        .commit(vec![create("a", json!({"v": 1}))])
        .await
        .expect("create");
    store
        .commit(vec![merge("a", json!({"v": 2}))])
        .await
        .expect("merge");
    assert_eq!(
        store.get("todos", "a").await.expect("get").expect("a")["v"],
        json!(2)
    );

    // Another copy of the tenant finishing its last write on the same file.
    let other = Connection::open(&path).expect("open again");
    other
        .execute(
            "UPDATE models SET body = ?1 WHERE id = 'a'",
            params![r#"{"id":"a","v":3,"by":"other"}"#],
        )
        .expect("write from the other connection");

    // The store's next batch notices the other connection's commit and
    // merges into what the file holds, not into what it last wrote.
    let commit = store
        .commit(vec![merge("a", json!({"w": true}))])
        .await
        .expect("merge");
    let after = commit.changes[0].after.clone().expect("after");
    assert_eq!(after["v"], json!(3));
    assert_eq!(after["by"], json!("other"));
    let read = store.get("todos", "a").await.expect("get").expect("a");
    assert_eq!(read, after, "a read sees the commit, not an older copy");
}

#[tokio::test]
async fn the_quota_refuses_growth_past_it_whether_a_transaction_writes_once_or_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    // "todos" + "a" + {"id":"a","t":"xxxxxxxxxx"} is 33 bytes stored.
    let store =
        SqliteStore::open_with(&dir.path().join("db"), Some(80), Durability::Disk).expect("open");
    store
        .commit(vec![create("a", json!({"t": "xxxxxxxxxx"}))])
        .await
        .expect("fits");

    // One write: refused before it runs, and the store is unchanged.
    let grow = json!({"t": "x".repeat(60)});
    assert!(matches!(
        store.commit(vec![merge("a", grow.clone())]).await,
        Err(StoreError::Quota(80))
    ));
    let a = store.get("todos", "a").await.expect("get").expect("a");
    assert_eq!(a["t"], json!("xxxxxxxxxx"));

    // Several writes: the ones that ran are undone with the refusal.
    assert!(matches!(
        store
            .commit(vec![create("b", json!({})), merge("a", grow)])
            .await,
        Err(StoreError::Quota(80))
    ));
    assert!(store.get("todos", "b").await.expect("get").is_none());

    // Shrinking always goes through, and makes room again.
    store
        .commit(vec![merge("a", json!({"t": ""}))])
        .await
        .expect("shrinks");
    store
        .commit(vec![create("b", json!({}))])
        .await
        .expect("fits again");
    assert_eq!(listed_ids(&store).await, vec![json!("a"), json!("b")]);
}

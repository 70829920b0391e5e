//! The PostgreSQL store against a real server: the store suite, and what
//! only a store shared by several nodes shows. Each test makes its own
//! database and drops it after (`HALO_TEST_POSTGRES` names the server,
//! default `postgres://postgres@127.0.0.1:5432`).

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::store::suite::{create, merge};

fn server() -> String {
    std::env::var("HALO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A database of its own, dropped when this is.
struct Database {
    name: String,
}

impl Database {
    async fn create() -> Self {
        let name = format!("halo_test_{}", uuid::Uuid::now_v7().simple());
        admin(&format!("CREATE DATABASE {name}")).await;
        Self { name }
    }

    fn url(&self) -> String {
        format!("{}/{}", server(), self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs outside any runtime's reach: a thread with its own.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(admin(&sql));
            }
        })
        .join();
    }
}

async fn admin(sql: &str) {
    let url = format!("{}/postgres", server());
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|err| {
            panic!("PostgreSQL at {url} is needed for these tests (start it, or set HALO_TEST_POSTGRES): {err}")
        });
    let task = tokio::spawn(connection);
    client.batch_execute(sql).await.expect(sql);
    drop(client);
    let _ = task.await;
}

async fn fresh() -> (Arc<dyn Store>, Database) {
    let db = Database::create().await;
    let pg = Postgres::connect(&db.url(), 1000).await.expect("connect");
    let store = PostgresStore::open(&pg, "t", None, Durability::Disk)
        .await
        .expect("open");
    (Arc::new(store), db)
}

crate::store::suite::store_suite!(fresh().await);

#[tokio::test]
async fn tenants_are_apart_and_share_nothing() {
    let db = Database::create().await;
    let pg = Postgres::connect(&db.url(), 1000).await.expect("connect");
    let a = PostgresStore::open(&pg, "a", None, Durability::Disk)
        .await
        .expect("a");
    let b = PostgresStore::open(&pg, "b", None, Durability::Disk)
        .await
        .expect("b");
    a.commit(vec![create("x", json!({"of": "a"}))])
        .await
        .expect("a");
    b.commit(vec![create("x", json!({"of": "b"}))])
        .await
        .expect("b");
    let x = a.get("todos", "x").await.expect("get").expect("a's x");
    assert_eq!(x["of"], json!("a"));
    assert_eq!(b.list("todos").await.expect("list").len(), 1);
    assert_eq!(a.committed(), 1, "each tenant has its own commit order");
    assert_eq!(b.committed(), 1);
}

/// Tenant `t` of `db` as two nodes see it (two connections with their own
/// writer marks), after node one created model `n`: commit 1.
async fn two_nodes(db: &Database) -> (PostgresStore, PostgresStore) {
    let one = Postgres::connect(&db.url(), 1000).await.expect("one");
    let two = Postgres::connect(&db.url(), 1000).await.expect("two");
    let on_one = PostgresStore::open(&one, "t", None, Durability::Disk)
        .await
        .expect("open");
    let on_two = PostgresStore::open(&two, "t", None, Durability::Disk)
        .await
        .expect("open");
    on_one
        .commit(vec![create("n", json!({"n": 0}))])
        .await
        .expect("seed");
    (on_one, on_two)
}

#[tokio::test]
async fn two_nodes_share_one_commit_order_and_a_write_that_raced_is_refused() {
    let db = Database::create().await;
    let (on_one, on_two) = two_nodes(&db).await;
    // Node two read before node one's next commit, and commits after it.
    let base = on_two.known();
    on_one
        .commit(vec![merge("n", json!({"n": 1}))])
        .await
        .expect("one");
    let raced = on_two
        .submit(Transaction {
            base,
            epoch: Some(0),
            ..Transaction::writes(vec![merge("n", json!({"n": 1}))])
        })
        .await;
    assert!(matches!(raced, Err(StoreError::Conflict)), "{raced:?}");
    // Run again on what it knows now, it goes through, numbered after.
    let again = on_two
        .submit(Transaction {
            base: on_two.known(),
            epoch: Some(1),
            ..Transaction::writes(vec![merge("n", json!({"n": 2}))])
        })
        .await
        .expect("again");
    assert_eq!(again.seq, Some(3));
    let LogRead::Commits(log) = on_one.log_after(0, 10).await.expect("log") else {
        panic!("the log keeps everything here");
    };
    let seqs: Vec<u64> = log.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    // Node one's own commits are marked as its own; node two's are not.
    let mine: Vec<bool> = log.iter().map(|c| c.mine).collect();
    assert_eq!(mine, vec![true, true, false]);
    assert_eq!(
        log[2].changes[0].after.as_ref().map(|m| m["n"].clone()),
        Some(json!(2))
    );
    let n = on_one.get("todos", "n").await.expect("get").expect("n");
    assert_eq!(n["n"], json!(2));
}

#[tokio::test]
async fn a_reader_past_the_retention_is_told_it_is_behind() {
    let db = Database::create().await;
    let pg = Postgres::connect(&db.url(), 2).await.expect("connect");
    let store = PostgresStore::open(&pg, "t", None, Durability::Disk)
        .await
        .expect("open");
    for n in 0..300 {
        store
            .commit(vec![create(&format!("m{n}"), json!({}))])
            .await
            .expect("commit");
    }
    assert_eq!(store.head().await.expect("head"), 300);
    match store.log_after(0, 10).await.expect("log") {
        LogRead::Behind { head } => assert_eq!(head, 300),
        other => panic!("expected behind, got {other:?}"),
    }
    match store.log_after(299, 10).await.expect("log") {
        LogRead::Commits(commits) => assert_eq!(commits.len(), 1),
        other => panic!("the last commit is kept, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hold_keeps_other_nodes_commits_waiting_until_it_is_released() {
    let db = Database::create().await;
    let (on_one, on_two) = two_nodes(&db).await;
    let hold = on_two
        .hold()
        .await
        .expect("hold")
        .expect("nobody else holds one");
    assert_eq!(
        on_two.known(),
        1,
        "the hold learns the tenant's last commit"
    );
    assert!(
        on_one.hold().await.expect("hold").is_none(),
        "one node holds a tenant at a time"
    );
    // Node one submits first, but its batch waits for the hold.
    let waiting = on_one.submit(Transaction {
        base: on_one.known(),
        epoch: Some(0),
        ..Transaction::writes(vec![merge("n", json!({"n": 1}))])
    });
    let held = on_two
        .submit(Transaction {
            base: on_two.known(),
            epoch: Some(0),
            ..Transaction::writes(vec![merge("n", json!({"n": 2}))])
        })
        .await
        .expect("the holding node's write cannot lose");
    assert_eq!(held.seq, Some(2));
    drop(hold);
    // Released, node one's batch goes on, and finds it read too early.
    let raced = waiting.await;
    assert!(matches!(raced, Err(StoreError::Conflict)), "{raced:?}");
    let again = on_one.hold().await.expect("hold");
    assert!(again.is_some(), "free again once released");
    let n = on_one.get("todos", "n").await.expect("get").expect("n");
    assert_eq!(n["n"], json!(2));
}

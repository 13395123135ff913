//! The storage conformance suite against SQLite (a fresh file per test).

use std::sync::Arc;

use s4s_store::SqliteStore;
use s4s_store::prelude::*;

async fn fresh() -> Option<Arc<dyn Store>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s4s.db");
    // Keep the directory alive for the test's duration.
    std::mem::forget(dir);
    Some(Arc::new(SqliteStore::open(&path).await.unwrap()))
}

s4s_store::conformance_tests!(fresh());

#[tokio::test]
async fn reopening_keeps_state_and_does_not_remigrate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s4s.db");
    {
        let s = SqliteStore::open(&path).await.unwrap();
        s.set_cursor("t", "graph-alert", "c1", 1).await.unwrap();
    }
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.get_cursor("t", "graph-alert").await.unwrap().as_deref(), Some("c1"));
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s4s.db");
    let first = SqliteStore::open(&path).await.unwrap();
    assert!(first.single_instance());
    let err = SqliteStore::open(&path).await.err().expect("second open must fail");
    assert!(err.to_string().contains("use PostgreSQL"), "{err}");
    drop(first);
    SqliteStore::open(&path).await.unwrap();
}

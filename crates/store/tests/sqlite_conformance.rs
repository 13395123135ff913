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

#[tokio::test]
async fn an_attached_handle_redrives_beside_the_running_service() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s4s.db");
    assert!(SqliteStore::attach(&path).await.err().unwrap().to_string().contains("does not exist"));
    // The service holds the lock file and has buried a job.
    let service = SqliteStore::open(&path).await.unwrap();
    service
        .enqueue(&[s4s_store::NewJob::once("t1", s4s_core::jobs::page::KIND, "page:a".into(), "{}".into())], 1000)
        .await
        .unwrap();
    let j = service.claim_jobs("w1", 1000, 10_000, 1).await.unwrap().remove(0);
    assert!(service.bury_job(j.id, "w1", "rejected: HTTP 400", 1100).await.unwrap());
    // The operator's handle (`jobs retry`) writes beside it, and the service sees the change.
    let operator = SqliteStore::attach(&path).await.unwrap();
    assert!(operator.redrive_job("page:a", 2000).await.unwrap());
    drop(operator);
    assert_eq!(service.claim_jobs("w1", 2000, 10_000, 1).await.unwrap().len(), 1);
    // A database of another schema version is refused.
    bump_schema(&path).await;
    let err = SqliteStore::attach(&path).await.err().unwrap().to_string();
    assert!(err.contains("schema version") && err.contains("matches the running service"), "{err}");
}

/// Marks the schema one version newer, as a newer binary would leave it.
async fn bump_schema(path: &std::path::Path) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("INSERT INTO schema_version (version) VALUES (999)").execute(&mut c).await.unwrap();
}

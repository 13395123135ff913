//! The storage conformance suite against PostgreSQL: one fresh schema per test.
//!
//! Uses `S4S_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`). An
//! unreachable server fails the tests, unless `S4S_SKIP_POSTGRES=1` is set (for machines
//! without PostgreSQL; CI never sets it).

use std::str::FromStr;
use std::sync::Arc;

use s4s_store::PostgresStore;
use s4s_store::prelude::*;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

fn url() -> String {
    std::env::var("S4S_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn fresh_opt() -> Option<Arc<dyn Store>> {
    let base = PgConnectOptions::from_str(&url()).expect("valid S4S_TEST_POSTGRES_URL");
    let mut conn = match PgConnection::connect_with(&base).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("S4S_SKIP_POSTGRES").as_deref() == Ok("1") {
                eprintln!("skipping: PostgreSQL not reachable at {}: {e}", url());
                return None;
            }
            panic!(
                "PostgreSQL not reachable at {} ({e}); start it, set S4S_TEST_POSTGRES_URL, or set S4S_SKIP_POSTGRES=1 to skip",
                url()
            );
        }
    };
    let schema = format!("s4s_test_{}", rand_suffix());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await.unwrap();
    let opts = base.options([("search_path", schema.as_str())]);
    Some(Arc::new(PostgresStore::connect_with(opts).await.unwrap()))
}

fn rand_suffix() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}_{}", std::process::id(), t % 1_000_000_000_000)
}

s4s_store::conformance_tests!(fresh_opt());

#[tokio::test]
async fn two_replicas_migrating_at_once_both_succeed() {
    let Some(_) = fresh_opt().await else { return };
    let base = PgConnectOptions::from_str(&url()).unwrap();
    let mut conn = PgConnection::connect_with(&base).await.unwrap();
    let schema = format!("s4s_test_mig_{}", rand_suffix());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await.unwrap();
    let o1 = base.clone().options([("search_path", schema.as_str())]);
    let o2 = base.options([("search_path", schema.as_str())]);
    let (a, b) = tokio::join!(PostgresStore::connect_with(o1), PostgresStore::connect_with(o2));
    a.unwrap();
    b.unwrap();
}

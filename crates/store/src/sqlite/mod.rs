//! SQLite backend: one file, WAL journal, the embedded default for a single instance.

mod migrations;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection, Transaction};

use crate::shared::{self, sql};
use crate::types::{AlertRecord, Result, StoreError, StoredAlert};
use migrations::MIGRATIONS;

pub struct SqliteStore {
    pool: SqlitePool,
    /// Held for the store's lifetime: one process per database file. The OS releases it
    /// when the process dies, even on SIGKILL.
    _lock: std::fs::File,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let lock_path = path.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Corrupt(format!("cannot create lock file {}: {e}", lock_path.display())))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Locked(path.display().to_string()));
        }
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives process crashes (kill -9); only an OS crash or
            // power loss can drop the last commits. See ARCHITECTURE.md "Durability".
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        let store = SqliteStore { pool, _lock: lock };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens an existing database read-only, without the process lock, to inspect it while
    /// the service runs (`signl4-sentinel jobs`).
    pub async fn inspect(path: &Path) -> Result<SqliteStore> {
        if !path.exists() {
            return Err(StoreError::Corrupt(format!("{} does not exist (has the service run yet?)", path.display())));
        }
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .read_only(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?;
        // Not locked: this handle never writes.
        let lock = std::fs::File::open(path).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(SqliteStore { pool, _lock: lock })
    }

    /// Opens an existing database for an operator's small writes while the service may hold
    /// it (`signl4-sentinel jobs retry`): without the process lock and without migrating.
    /// SQLite serialises this handle's writes with the service's (`BEGIN IMMEDIATE` and the
    /// busy timeout); use it only for statements that are safe beside running workers
    /// ([`Outbox::redrive_job`](crate::traits::Outbox::redrive_job) changes dead jobs only).
    /// Refuses a database whose schema is not this binary's (run the matching version).
    pub async fn attach(path: &Path) -> Result<SqliteStore> {
        if !path.exists() {
            return Err(StoreError::Corrupt(format!("{} does not exist (has the service run yet?)", path.display())));
        }
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?;
        let version: Option<i64> = sqlx::query_scalar(sql::SCHEMA_VERSION_MAX).fetch_one(&pool).await?;
        let version = version.unwrap_or(0);
        if version != MIGRATIONS.len() as i64 {
            return Err(StoreError::Corrupt(format!(
                "{} has schema version {version}, this binary expects {}: start the service of this version once \
                 (it migrates), or use the signl4-sentinel binary that matches the running service",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        // Not locked: the service keeps its lock; this handle only makes fenced, small writes.
        let lock = std::fs::File::open(path).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(SqliteStore { pool, _lock: lock })
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").execute(&mut *tx).await?;
        apply_migrations(&mut tx, MIGRATIONS).await?;
        tx.commit().await?;
        Ok(())
    }

    /// IMMEDIATE: take the write lock up front so busy_timeout applies instead of a
    /// SQLITE_BUSY on lock upgrade.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn fetch_alert_states(&self, tenant: &str, source: &str, ids: &[String]) -> Result<Vec<StoredAlert>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(400) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT {} FROM alerts WHERE tenant = ? AND source = ? AND alert_id IN ({marks})",
                sql::ALERT_STATE_COLUMNS
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(source);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(alert_from_row(&r)?);
            }
        }
        Ok(out)
    }

    /// Without `SKIP LOCKED`: the `BEGIN IMMEDIATE` write lock serialises claimers.
    async fn claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        lease_prefix: Option<&str>,
    ) -> Result<Vec<SqliteRow>> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql::job_claim("", lease_prefix.is_some())))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .bind(lease_prefix.unwrap_or(""))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }
}

/// The stored `(version, paged)` of the alert, or `None` after inserting it as new. Inside
/// `BEGIN IMMEDIATE` no other writer can race the lookup.
async fn insert_or_lock_alert(
    conn: &mut SqliteConnection,
    a: &AlertRecord,
    now_ms: i64,
) -> Result<Option<(String, i64)>> {
    let existing: Option<(String, i64)> = sqlx::query_as(sql::ALERT_VERSION)
        .bind(&a.tenant)
        .bind(&a.source)
        .bind(&a.alert_id)
        .fetch_optional(&mut *conn)
        .await?;
    if existing.is_none() {
        insert_alert(conn, sql::ALERT_INSERT, a, now_ms).await?;
    }
    Ok(existing)
}

shared::helpers!(
    conn = SqliteConnection,
    row = SqliteRow,
    job_for_merge = "SELECT id, state, payload FROM jobs WHERE key = $1",
    fence_check = sql::FENCE_CHECK
);
shared::alert_store!(SqliteStore);
shared::outbox!(
    SqliteStore,
    next_due = "SELECT MIN(MAX(next_attempt_ms, COALESCE(lease_until_ms, 0))) FROM jobs WHERE state = 'pending' AND paused = 0"
);
// With the lock file held, no other process uses the database.
shared::coordination!(SqliteStore, single_instance = true);
shared::inspection!(SqliteStore, backend = "sqlite");

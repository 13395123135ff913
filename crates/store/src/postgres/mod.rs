//! PostgreSQL backend: for several replicas sharing one database.
//!
//! Jobs are claimed with `FOR UPDATE SKIP LOCKED`, so replicas never take the same job;
//! migrations run under a transaction-scoped advisory lock, so replicas can start together.

mod migrations;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, Transaction};

use crate::shared::{self, sql};
use crate::types::{AlertRecord, Result, StoreError, StoredAlert};
use migrations::MIGRATIONS;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects with a `postgres://` URL and applies migrations.
    pub async fn connect(url: &secrecy::SecretString) -> Result<PostgresStore> {
        use secrecy::ExposeSecret;
        // The URL may hold a password: never include it in the error.
        let opts = PgConnectOptions::from_str(url.expose_secret())
            .map_err(|_| StoreError::Corrupt("storage.url is not a valid postgres:// URL".into()))?;
        PostgresStore::connect_with(opts).await
    }

    /// Connects with explicit options (tests use a `search_path` per test).
    pub async fn connect_with(opts: PgConnectOptions) -> Result<PostgresStore> {
        let pool =
            PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(10)).connect_with(opts).await?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Connects for an operator's commands (`signl4-sentinel jobs …`) beside running replicas:
    /// without migrating (a newer CLI must not change the schema under older replicas), and
    /// refusing a database whose schema is not this binary's.
    pub async fn attach(url: &secrecy::SecretString) -> Result<PostgresStore> {
        use secrecy::ExposeSecret;
        let opts = PgConnectOptions::from_str(url.expose_secret())
            .map_err(|_| StoreError::Corrupt("storage.url is not a valid postgres:// URL".into()))?;
        let pool =
            PgPoolOptions::new().max_connections(2).acquire_timeout(Duration::from_secs(10)).connect_with(opts).await?;
        let version: Option<i64> =
            sqlx::query_scalar(sql::SCHEMA_VERSION_MAX).fetch_one(&pool).await.map_err(|_| {
                StoreError::Corrupt("the database has no signl4-sentinel schema (has the service run yet?)".into())
            })?;
        let version = version.unwrap_or(0);
        if version != MIGRATIONS.len() as i64 {
            return Err(StoreError::Corrupt(format!(
                "the database has schema version {version}, this binary expects {}: use the signl4-sentinel binary \
                 that matches the running service",
                MIGRATIONS.len()
            )));
        }
        Ok(PostgresStore { pool })
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Replicas starting together migrate one at a time.
        sqlx::query("SELECT pg_advisory_xact_lock(7347234)").execute(&mut *tx).await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").execute(&mut *tx).await?;
        apply_migrations(&mut tx, MIGRATIONS).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A plain transaction: rows that must not race are locked with `FOR UPDATE`.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    async fn fetch_alert_states(&self, tenant: &str, source: &str, ids: &[String]) -> Result<Vec<StoredAlert>> {
        let sql = format!(
            "SELECT {} FROM alerts WHERE tenant = $1 AND source = $2 AND alert_id = ANY($3)",
            sql::ALERT_STATE_COLUMNS
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(source).bind(ids).fetch_all(&self.pool).await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// `SKIP LOCKED`: concurrent claimers (other replicas too) pass over each other's rows.
    async fn claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        lease_prefix: Option<&str>,
    ) -> Result<Vec<PgRow>> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql::job_claim(" FOR UPDATE SKIP LOCKED", lease_prefix.is_some())))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .bind(lease_prefix.unwrap_or(""))
            .fetch_all(&self.pool)
            .await?)
    }
}

/// The stored `(version, paged)` of the alert, locked for the transaction, or `None` after
/// inserting it as new.
async fn insert_or_lock_alert(conn: &mut PgConnection, a: &AlertRecord, now_ms: i64) -> Result<Option<(String, i64)>> {
    if insert_alert(conn, sql::ALERT_INSERT_IF_ABSENT, a, now_ms).await? == 1 {
        return Ok(None);
    }
    // Lock the row: another replica may be ingesting the same alert.
    let existing: (String, i64) = sqlx::query_as(sql::ALERT_VERSION_FOR_UPDATE)
        .bind(&a.tenant)
        .bind(&a.source)
        .bind(&a.alert_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Some(existing))
}

shared::helpers!(
    conn = PgConnection,
    row = PgRow,
    job_for_merge = "SELECT id, state, payload FROM jobs WHERE key = $1 FOR UPDATE",
    fence_check = sql::FENCE_CHECK_FOR_SHARE
);
shared::alert_store!(PostgresStore);
shared::outbox!(
    PostgresStore,
    next_due = "SELECT MIN(GREATEST(next_attempt_ms, COALESCE(lease_until_ms, 0))) FROM jobs WHERE state = 'pending' AND paused = 0"
);
shared::coordination!(PostgresStore, single_instance = false);
shared::inspection!(PostgresStore, backend = "postgres");

//! PostgreSQL backend: for several replicas sharing one database. Jobs are claimed with
//! `FOR UPDATE SKIP LOCKED`, so replicas never take the same job; migrations run under a
//! transaction-scoped advisory lock, so replicas can start together.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use sqlx::PgConnection;

use crate::{
    AlertKey, AlertRecord, AlertUpdate, FollowUp, InboundEvent, IngestItem, IngestOutcome, Job, JobCounts, JobState,
    NewJob, Result, Store, StoreError, StoredAlert,
};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE alerts (
    tenant      TEXT NOT NULL,
    source      TEXT NOT NULL,
    alert_id    TEXT NOT NULL,
    version     TEXT NOT NULL,
    status      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    raw         TEXT NOT NULL,
    paged       BIGINT NOT NULL DEFAULT 0,
    first_seen_ms BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    PRIMARY KEY (tenant, source, alert_id)
);
CREATE TABLE jobs (
    id              BIGSERIAL PRIMARY KEY,
    tenant          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    key             TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    created_ms      BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until_ms  BIGINT,
    last_error      TEXT,
    result          TEXT,
    paused          BIGINT NOT NULL DEFAULT 0,
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, paused, next_attempt_ms);
CREATE TABLE cursors (
    tenant     TEXT NOT NULL,
    source     TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant, source)
);
"#,
    r#"
ALTER TABLE alerts ADD COLUMN incident_id TEXT;
ALTER TABLE alerts ADD COLUMN signl4_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE alerts ADD COLUMN written_status TEXT;
ALTER TABLE alerts ADD COLUMN signl4_event_id TEXT;
CREATE INDEX alerts_incident ON alerts (tenant, incident_id);
CREATE INDEX alerts_signl4_event ON alerts (tenant, signl4_event_id);
ALTER TABLE jobs ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
CREATE TABLE inbound_events (
    event_id    TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    meaning     TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
"#,
    r#"
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    until_ms    BIGINT NOT NULL
);
"#,
];

const JOB_COLUMNS: &str = "id, tenant, kind, key, payload, state, attempts, created_ms, next_attempt_ms, lease_owner, lease_until_ms, last_error, result, paused, rev";
const ALERT_COLUMNS: &str = "tenant, source, alert_id, version, status, severity, incident_id, raw, paged, signl4_state, written_status, signl4_event_id";
/// Without the raw JSON: for bulk state lookups (the poller re-reads many alerts per second).
const ALERT_STATE_COLUMNS: &str = "tenant, source, alert_id, version, status, severity, incident_id, '' AS raw, paged, signl4_state, written_status, signl4_event_id";

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

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // Replicas starting together migrate one at a time.
        sqlx::query("SELECT pg_advisory_xact_lock(7347234)").execute(&mut *tx).await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").execute(&mut *tx).await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM schema_version").fetch_one(&mut *tx).await?;
        let current = current.unwrap_or(0) as usize;
        if current > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "database schema version {current} is newer than this binary supports ({}); upgrade signl4-sentinel",
                MIGRATIONS.len()
            )));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(current) {
            sqlx::raw_sql(*m).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind((i + 1) as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn job_from_row(r: &PgRow) -> Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        tenant: r.try_get("tenant")?,
        kind: r.try_get("kind")?,
        key: r.try_get("key")?,
        payload: r.try_get("payload")?,
        state: JobState::parse(r.try_get::<&str, _>("state")?)?,
        attempts: r.try_get("attempts")?,
        created_ms: r.try_get("created_ms")?,
        next_attempt_ms: r.try_get("next_attempt_ms")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until_ms: r.try_get("lease_until_ms")?,
        last_error: r.try_get("last_error")?,
        result: r.try_get("result")?,
        paused: r.try_get::<i64, _>("paused")? != 0,
        rev: r.try_get("rev")?,
    })
}

fn alert_from_row(r: &PgRow) -> Result<StoredAlert> {
    Ok(StoredAlert {
        record: AlertRecord {
            tenant: r.try_get("tenant")?,
            source: r.try_get("source")?,
            alert_id: r.try_get("alert_id")?,
            version: r.try_get("version")?,
            status: r.try_get("status")?,
            severity: r.try_get("severity")?,
            incident_id: r.try_get("incident_id")?,
            raw: r.try_get("raw")?,
        },
        paged: r.try_get::<i64, _>("paged")? != 0,
        signl4_state: r.try_get("signl4_state")?,
        written_status: r.try_get("written_status")?,
        signl4_event_id: r.try_get("signl4_event_id")?,
    })
}

/// Creates a job, or coalesces it into an existing one with the same key (see [`NewJob`]).
async fn insert_job(conn: &mut PgConnection, job: &NewJob, now_ms: i64) -> Result<usize> {
    let inserted = sqlx::query(
        "INSERT INTO jobs (tenant, kind, key, payload, created_ms, next_attempt_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&job.tenant)
    .bind(&job.kind)
    .bind(&job.key)
    .bind(&job.payload)
    .bind(now_ms)
    .bind(now_ms)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(1);
    }
    let Some(merge) = job.coalesce else { return Ok(0) };
    let (id, state, payload): (i64, String, String) =
        sqlx::query_as("SELECT id, state, payload FROM jobs WHERE key = $1 FOR UPDATE")
            .bind(&job.key)
            .fetch_one(&mut *conn)
            .await?;
    if state == "pending" {
        sqlx::query("UPDATE jobs SET payload = $1, rev = rev + 1, updated_ms = $2 WHERE id = $3")
            .bind(merge(&payload, &job.payload))
            .bind(now_ms)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        Ok(0)
    } else {
        sqlx::query(
            "UPDATE jobs SET state = 'pending', payload = $1, rev = rev + 1, attempts = 0, created_ms = $2, next_attempt_ms = $3, \
             lease_owner = NULL, lease_until_ms = NULL, last_error = NULL, result = NULL, paused = 0, updated_ms = $4 WHERE id = $5",
        )
        .bind(&job.payload)
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        Ok(1)
    }
}

async fn apply_update(conn: &mut PgConnection, key: &AlertKey, u: &AlertUpdate, now_ms: i64) -> Result<()> {
    if u == &AlertUpdate::default() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE alerts SET signl4_state = COALESCE($1, signl4_state), written_status = COALESCE($2, written_status), \
         signl4_event_id = COALESCE($3, signl4_event_id), paged = COALESCE($4, paged), updated_ms = $5 WHERE tenant = $6 AND source = $7 AND alert_id = $8",
    )
    .bind(&u.signl4_state)
    .bind(&u.written_status)
    .bind(&u.signl4_event_id)
    .bind(u.paged.map(i64::from))
    .bind(now_ms)
    .bind(&key.tenant)
    .bind(&key.source)
    .bind(&key.alert_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn ingest(&self, items: &[IngestItem], now_ms: i64) -> Result<IngestOutcome> {
        let mut out = IngestOutcome::default();
        if items.is_empty() {
            return Ok(out);
        }
        let mut tx = self.pool.begin().await?;
        for item in items {
            let a = &item.alert;
            let inserted = sqlx::query(
                "INSERT INTO alerts (tenant, source, alert_id, version, status, severity, incident_id, raw, paged, first_seen_ms, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9) ON CONFLICT (tenant, source, alert_id) DO NOTHING",
            )
            .bind(&a.tenant)
            .bind(&a.source)
            .bind(&a.alert_id)
            .bind(&a.version)
            .bind(&a.status)
            .bind(&a.severity)
            .bind(&a.incident_id)
            .bind(&a.raw)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let paged = if inserted {
                out.new += 1;
                false
            } else {
                // Lock the row: another replica may be ingesting the same alert.
                let (version, paged): (String, i64) = sqlx::query_as(
                    "SELECT version, paged FROM alerts WHERE tenant = $1 AND source = $2 AND alert_id = $3 FOR UPDATE",
                )
                .bind(&a.tenant)
                .bind(&a.source)
                .bind(&a.alert_id)
                .fetch_one(&mut *tx)
                .await?;
                if version == a.version {
                    out.unchanged += 1;
                } else {
                    sqlx::query(
                        "UPDATE alerts SET version = $1, status = $2, severity = $3, incident_id = $4, raw = $5, updated_ms = $6 \
                         WHERE tenant = $7 AND source = $8 AND alert_id = $9",
                    )
                    .bind(&a.version)
                    .bind(&a.status)
                    .bind(&a.severity)
                    .bind(&a.incident_id)
                    .bind(&a.raw)
                    .bind(now_ms)
                    .bind(&a.tenant)
                    .bind(&a.source)
                    .bind(&a.alert_id)
                    .execute(&mut *tx)
                    .await?;
                    out.updated += 1;
                }
                paged != 0
            };
            if let (Some(job), false) = (&item.page, paged) {
                out.jobs_created += insert_job(&mut tx, job, now_ms).await?;
                sqlx::query(
                    "UPDATE alerts SET paged = 1, signl4_state = CASE WHEN signl4_state = 'none' THEN 'open' ELSE signl4_state END \
                     WHERE tenant = $1 AND source = $2 AND alert_id = $3",
                )
                .bind(&a.tenant)
                .bind(&a.source)
                .bind(&a.alert_id)
                .execute(&mut *tx)
                .await?;
            }
            for job in &item.jobs {
                insert_job(&mut tx, job, now_ms).await?;
            }
            let key = AlertKey { tenant: a.tenant.clone(), source: a.source.clone(), alert_id: a.alert_id.clone() };
            apply_update(&mut tx, &key, &item.update, now_ms).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn get_alert(&self, tenant: &str, source: &str, alert_id: &str) -> Result<Option<StoredAlert>> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND source = $2 AND alert_id = $3");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(source)
            .bind(alert_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    async fn get_alerts(&self, tenant: &str, source: &str, ids: &[String]) -> Result<Vec<StoredAlert>> {
        let sql = format!(
            "SELECT {ALERT_STATE_COLUMNS} FROM alerts WHERE tenant = $1 AND source = $2 AND alert_id = ANY($3)"
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(source).bind(ids).fetch_all(&self.pool).await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn find_alert_by_signl4_event(&self, tenant: &str, signl4_event_id: &str) -> Result<Option<StoredAlert>> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND signl4_event_id = $2 LIMIT 1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(signl4_event_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    async fn incident_alerts(&self, tenant: &str, incident_id: &str) -> Result<Vec<StoredAlert>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND incident_id = $2 AND paged = 1 ORDER BY alert_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(incident_id).fetch_all(&self.pool).await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn update_alert(&self, key: &AlertKey, update: &AlertUpdate, now_ms: i64) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        apply_update(&mut conn, key, update, now_ms).await
    }

    async fn record_inbound(
        &self,
        event: &InboundEvent,
        update: Option<(&AlertKey, &AlertUpdate)>,
        jobs: &[NewJob],
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO inbound_events (event_id, tenant, meaning, received_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(&event.event_id)
        .bind(&event.tenant)
        .bind(&event.meaning)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !fresh {
            return Ok(false);
        }
        if let Some((key, u)) = update {
            apply_update(&mut tx, key, u, now_ms).await?;
        }
        for job in jobs {
            insert_job(&mut tx, job, now_ms).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn enqueue(&self, jobs: &[NewJob], now_ms: i64) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for job in jobs {
            n += insert_job(&mut tx, job, now_ms).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn get_cursor(&self, tenant: &str, source: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM cursors WHERE tenant = $1 AND source = $2")
            .bind(tenant)
            .bind(source)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_cursor(&self, tenant: &str, source: &str, value: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO cursors (tenant, source, value, updated_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, source) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
        )
        .bind(tenant)
        .bind(source)
        .bind(value)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_jobs(&self, owner: &str, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>> {
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until_ms = $2, attempts = attempts + 1, updated_ms = $3 \
             WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND paused = 0 AND next_attempt_ms <= $3 \
                          AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
                          ORDER BY next_attempt_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING {JOB_COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| (j.next_attempt_ms, j.id));
        Ok(jobs)
    }

    async fn complete_job_with(
        &self,
        id: i64,
        owner: &str,
        rev: i64,
        result: &str,
        follow: &FollowUp,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE jobs SET state = 'done', result = $1, lease_owner = NULL, lease_until_ms = NULL, last_error = NULL, updated_ms = $2 \
             WHERE id = $3 AND lease_owner = $4 AND state = 'pending' AND rev = $5",
        )
        .bind(result)
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .bind(rev)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            // Coalesced with newer work while we ran: release it to run again now.
            sqlx::query(
                "UPDATE jobs SET lease_owner = NULL, lease_until_ms = NULL, next_attempt_ms = $1, updated_ms = $2 \
                 WHERE id = $3 AND lease_owner = $4 AND state = 'pending'",
            )
            .bind(now_ms)
            .bind(now_ms)
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        }
        if r.rows_affected() == 1 {
            if let Some((key, u)) = &follow.update {
                apply_update(&mut tx, key, u, now_ms).await?;
            }
            for job in &follow.jobs {
                insert_job(&mut tx, job, now_ms).await?;
            }
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn retry_job(&self, id: i64, owner: &str, next_attempt_ms: i64, error: &str, now_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET next_attempt_ms = $1, last_error = $2, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $3 \
             WHERE id = $4 AND lease_owner = $5 AND state = 'pending'",
        )
        .bind(next_attempt_ms)
        .bind(error)
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn bury_job(&self, id: i64, owner: &str, error: &str, now_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET state = 'dead', last_error = $1, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $2 \
             WHERE id = $3 AND lease_owner = $4 AND state = 'pending'",
        )
        .bind(error)
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn pause_jobs(&self, tenant: &str, kind: &str, error: &str, now_ms: i64) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE jobs SET paused = 1, last_error = $1, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $2 \
             WHERE tenant = $3 AND kind = $4 AND state = 'pending' AND paused = 0",
        )
        .bind(error)
        .bind(now_ms)
        .bind(tenant)
        .bind(kind)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn unpause_all(&self, now_ms: i64) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE jobs SET paused = 0, next_attempt_ms = $1, updated_ms = $1 WHERE state = 'pending' AND paused = 1",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn release_leases(&self, now_ms: i64) -> Result<u64> {
        let r = sqlx::query("UPDATE jobs SET lease_owner = NULL, lease_until_ms = NULL, updated_ms = $1 WHERE state = 'pending' AND lease_owner IS NOT NULL")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM leases").execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    fn single_instance(&self) -> bool {
        false
    }

    async fn try_lease(&self, name: &str, owner: &str, now_ms: i64, ttl_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO leases (name, owner, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
             WHERE leases.owner = excluded.owner OR leases.until_ms <= $4",
        )
        .bind(name)
        .bind(owner)
        .bind(now_ms + ttl_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn job_counts(&self) -> Result<JobCounts> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT state, paused, COUNT(*) FROM jobs GROUP BY state, paused")
                .fetch_all(&self.pool)
                .await?;
        let mut c = JobCounts::default();
        for (state, paused, n) in rows {
            match (state.as_str(), paused != 0) {
                ("pending", false) => c.pending += n,
                ("pending", true) => c.paused += n,
                ("done", _) => c.done += n,
                ("dead", _) => c.dead += n,
                (other, _) => return Err(StoreError::Corrupt(format!("unknown job state {other}"))),
            }
        }
        Ok(c)
    }

    async fn list_jobs(&self, state: JobState, limit: i64) -> Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state.as_str()).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn next_due_ms(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(GREATEST(next_attempt_ms, COALESCE(lease_until_ms, 0))) FROM jobs WHERE state = 'pending' AND paused = 0",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

//! The `helpers!` macro: row mapping, job insert/coalesce, alert update and the migration runner.

/// Defines, in the invoking module, the functions both backends share, for connection type
/// `$conn` and row type `$row`. `job_for_merge` selects `(id, state, payload)` of the job with
/// key `$1` (PostgreSQL locks the row).
macro_rules! helpers {
    (conn = $conn:ty, row = $row:ty, job_for_merge = $job_for_merge:expr, fence_check = $fence_check:expr) => {
        /// Fails with [`StoreError::Fenced`] unless `fence` still holds.
        async fn check_fence(
            conn: &mut $conn,
            fence: Option<&$crate::types::Fence>,
            now_ms: i64,
        ) -> $crate::types::Result<()> {
            let Some(f) = fence else { return Ok(()) };
            let held: Option<i64> = sqlx::query_scalar($fence_check)
                .bind(&f.lease)
                .bind(&f.owner)
                .bind(f.generation)
                .bind(now_ms)
                .fetch_optional(&mut *conn)
                .await?;
            match held {
                Some(_) => Ok(()),
                None => Err($crate::types::StoreError::Fenced(f.lease.clone())),
            }
        }

        /// The body of every ingest: each alert version and its jobs (see
        /// [`AlertStore::ingest`](crate::traits::AlertStore::ingest)), inside the caller's transaction.
        async fn ingest_items(
            conn: &mut $conn,
            items: &[$crate::types::IngestItem],
            now_ms: i64,
        ) -> $crate::types::Result<$crate::types::IngestOutcome> {
            use $crate::shared::sql;
            let mut out = $crate::types::IngestOutcome::default();
            for item in items {
                let a = &item.alert;
                let paged = match insert_or_lock_alert(conn, a, now_ms).await? {
                    None => {
                        out.new += 1;
                        false
                    }
                    Some((v, paged)) if v == a.version => {
                        out.unchanged += 1;
                        paged != 0
                    }
                    Some((_, paged)) => {
                        sqlx::query(sql::ALERT_UPDATE_VERSION)
                            .bind(&a.version)
                            .bind(&a.status)
                            .bind(&a.severity)
                            .bind(&a.incident_id)
                            .bind(&a.raw)
                            .bind(now_ms)
                            .bind(&a.tenant)
                            .bind(&a.source)
                            .bind(&a.alert_id)
                            .execute(&mut *conn)
                            .await?;
                        out.updated += 1;
                        paged != 0
                    }
                };
                if let (Some(job), false) = (&item.page, paged) {
                    out.jobs_created += insert_job(conn, job, now_ms).await?;
                    for more in &item.more_pages {
                        out.jobs_created += insert_job(conn, more, now_ms).await?;
                    }
                    insert_audit(conn, &item.audit, now_ms).await?;
                    // Fair order: a storm inside one incident must not hold back
                    // the first page of a new incident.
                    if let Some(incident) = &a.incident_id {
                        let others: i64 = sqlx::query_scalar(sql::INCIDENT_ALREADY_PAGED)
                            .bind(&a.tenant)
                            .bind(&a.source)
                            .bind(incident)
                            .bind(&a.alert_id)
                            .fetch_one(&mut *conn)
                            .await?;
                        if others > 0 {
                            sqlx::query(sql::JOB_DEPRIORITIZE).bind(&job.key).execute(&mut *conn).await?;
                        }
                    }
                    sqlx::query(sql::ALERT_MARK_PAGED)
                        .bind(&a.tenant)
                        .bind(&a.source)
                        .bind(&a.alert_id)
                        .execute(&mut *conn)
                        .await?;
                }
                for job in &item.jobs {
                    insert_job(conn, job, now_ms).await?;
                }
                let key = $crate::types::AlertKey {
                    tenant: a.tenant.clone(),
                    source: a.source.clone(),
                    alert_id: a.alert_id.clone(),
                };
                apply_update(conn, &key, &item.update, now_ms).await?;
            }
            Ok(out)
        }

        /// Quarantines items inside the caller's transaction (see
        /// [`AlertStore::quarantine`](crate::traits::AlertStore::quarantine)); returns how many were new.
        async fn quarantine_items(
            conn: &mut $conn,
            items: &[$crate::types::QuarantineItem],
            now_ms: i64,
        ) -> $crate::types::Result<usize> {
            let mut new = 0;
            for q in items {
                let attempts: i64 = sqlx::query_scalar($crate::shared::sql::QUARANTINE_UPSERT)
                    .bind(&q.tenant)
                    .bind(&q.source)
                    .bind(&q.item_id)
                    .bind(&q.raw)
                    .bind(&q.reason)
                    .bind(now_ms)
                    .fetch_one(&mut *conn)
                    .await?;
                if attempts == 1 {
                    new += 1;
                    insert_audit(conn, &q.audit, now_ms).await?;
                }
            }
            Ok(new)
        }

        fn quarantined_from_row(r: &$row) -> $crate::types::Result<$crate::types::Quarantined> {
            use sqlx::Row;
            Ok($crate::types::Quarantined {
                id: r.try_get("id")?,
                tenant: r.try_get("tenant")?,
                source: r.try_get("source")?,
                item_id: r.try_get("item_id")?,
                raw: r.try_get("raw")?,
                reason: r.try_get("reason")?,
                first_seen_ms: r.try_get("first_seen_ms")?,
                last_seen_ms: r.try_get("last_seen_ms")?,
                attempts: r.try_get("attempts")?,
                retry: r.try_get::<i64, _>("retry")? != 0,
            })
        }

        fn job_from_row(r: &$row) -> $crate::types::Result<$crate::types::Job> {
            use sqlx::Row;
            Ok($crate::types::Job {
                id: r.try_get("id")?,
                tenant: r.try_get("tenant")?,
                kind: r.try_get("kind")?,
                key: r.try_get("key")?,
                payload: r.try_get("payload")?,
                state: $crate::types::JobState::parse(r.try_get::<&str, _>("state")?)?,
                attempts: r.try_get("attempts")?,
                created_ms: r.try_get("created_ms")?,
                next_attempt_ms: r.try_get("next_attempt_ms")?,
                lease_owner: r.try_get("lease_owner")?,
                lease_until_ms: r.try_get("lease_until_ms")?,
                last_error: r.try_get("last_error")?,
                result: r.try_get("result")?,
                paused: r.try_get::<i64, _>("paused")? != 0,
                rev: r.try_get("rev")?,
                attempt: match (r.try_get::<Option<String>, _>("attempt_id")?, r.try_get::<Option<i64>, _>("attempt_ms")?) {
                    (Some(id), Some(started_ms)) => Some($crate::types::Attempt { id, started_ms }),
                    _ => None,
                },
                updated_ms: r.try_get("updated_ms")?,
            })
        }

        fn alert_from_row(r: &$row) -> $crate::types::Result<$crate::types::StoredAlert> {
            use sqlx::Row;
            Ok($crate::types::StoredAlert {
                record: $crate::types::AlertRecord {
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
                routes: r
                    .try_get::<Option<String>, _>("routes")?
                    .map(|s| s.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect())
                    .unwrap_or_default(),
                episode: r.try_get::<i64, _>("episode")?,
                grouped_into: r.try_get("grouped_into")?,
                acknowledged_by: r.try_get("acked_by")?,
                acknowledged_ms: r.try_get("acked_ms")?,
            })
        }

        /// Creates a job, or coalesces it into an existing one with the same key (see
        /// [`NewJob`](crate::types::NewJob)).
        async fn insert_job(
            conn: &mut $conn,
            job: &$crate::types::NewJob,
            now_ms: i64,
        ) -> $crate::types::Result<usize> {
            use $crate::shared::sql;
            let inserted = sqlx::query(sql::JOB_INSERT)
                .bind(&job.tenant)
                .bind(job.kind.as_str())
                .bind(&job.key)
                .bind(&job.payload)
                .bind(now_ms)
                .bind(now_ms)
                .bind(now_ms)
                .bind($crate::shared::claim_priority(job.kind))
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if inserted == 1 {
                return Ok(1);
            }
            let Some(merge) = job.coalesce else { return Ok(0) };
            let (id, state, payload): (i64, String, String) =
                sqlx::query_as($job_for_merge).bind(&job.key).fetch_one(&mut *conn).await?;
            if state == "pending" {
                sqlx::query(sql::JOB_MERGE_PENDING)
                    .bind(merge(&payload, &job.payload))
                    .bind(now_ms)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Ok(0)
            } else {
                sqlx::query(sql::JOB_REARM)
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

        /// Inserts audit records once each (by record id) and arms the upload job of every
        /// tenant that got a new one; returns how many were new.
        async fn insert_audit(
            conn: &mut $conn,
            records: &[$crate::types::AuditRecord],
            now_ms: i64,
        ) -> $crate::types::Result<usize> {
            let mut new = 0;
            let mut armed: Vec<&str> = Vec::new();
            for r in records {
                let n = sqlx::query($crate::shared::sql::AUDIT_INSERT)
                    .bind(&r.tenant)
                    .bind(&r.record_id)
                    .bind(r.row_text())
                    .bind(now_ms)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                if n == 1 {
                    new += 1;
                    if !armed.contains(&r.tenant.as_str()) {
                        armed.push(&r.tenant);
                    }
                }
            }
            for tenant in armed {
                insert_job(conn, &s4s_core::jobs::audit_upload(tenant), now_ms).await?;
            }
            Ok(new)
        }

        /// Inserts an alert row with `insert` ([`sql::ALERT_INSERT`](crate::shared::sql::ALERT_INSERT)
        /// or its `IF_ABSENT` variant); returns the number of rows inserted.
        async fn insert_alert(
            conn: &mut $conn,
            insert: &'static str,
            a: &$crate::types::AlertRecord,
            now_ms: i64,
        ) -> $crate::types::Result<u64> {
            Ok(sqlx::query(insert)
                .bind(&a.tenant)
                .bind(&a.source)
                .bind(&a.alert_id)
                .bind(&a.version)
                .bind(&a.status)
                .bind(&a.severity)
                .bind(&a.incident_id)
                .bind(&a.raw)
                .bind(now_ms)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        }

        async fn apply_update(
            conn: &mut $conn,
            key: &$crate::types::AlertKey,
            u: &$crate::types::AlertUpdate,
            now_ms: i64,
        ) -> $crate::types::Result<()> {
            if u == &$crate::types::AlertUpdate::default() {
                return Ok(());
            }
            sqlx::query($crate::shared::sql::ALERT_APPLY_UPDATE)
                .bind(&u.signl4_state)
                .bind(&u.written_status)
                .bind(&u.signl4_event_id)
                .bind(u.paged.map(i64::from))
                .bind(&u.routes)
                .bind(u.episode)
                .bind(&u.grouped_into)
                .bind(now_ms)
                .bind(&key.tenant)
                .bind(&key.source)
                .bind(&key.alert_id)
                .bind(&u.acknowledged_by)
                .bind(u.acknowledged_ms)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// Applies the migrations the database lacks; the index + 1 is the schema version. The
        /// caller has created `schema_version` and commits the transaction.
        async fn apply_migrations(conn: &mut $conn, migrations: &[&'static str]) -> $crate::types::Result<()> {
            use $crate::shared::sql;
            let current: Option<i64> = sqlx::query_scalar(sql::SCHEMA_VERSION_MAX).fetch_one(&mut *conn).await?;
            let current = current.unwrap_or(0) as usize;
            if current > migrations.len() {
                return Err($crate::types::StoreError::Corrupt(format!(
                    "database schema version {current} is newer than this binary supports ({}); upgrade signl4-sentinel",
                    migrations.len()
                )));
            }
            for (i, m) in migrations.iter().enumerate().skip(current) {
                sqlx::raw_sql(*m).execute(&mut *conn).await?;
                sqlx::query(sql::SCHEMA_VERSION_INSERT).bind((i + 1) as i64).execute(&mut *conn).await?;
            }
            Ok(())
        }
    };
}

pub(crate) use helpers;

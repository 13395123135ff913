//! The `outbox!` macro: the `Outbox` impl both backends share (claiming stays per backend).

/// Implements [`Outbox`](crate::traits::Outbox) for `$store`; `next_due` is the `next_due_ms` query
/// (the dialects spell the larger of two values differently).
macro_rules! outbox {
    ($store:ty, next_due = $next_due:expr) => {
        impl $store {
            /// Claims (see the backend's `claim`) and returns the jobs oldest due first.
            async fn claimed(
                &self,
                owner: &str,
                now_ms: i64,
                lease_ms: i64,
                limit: i64,
                lease_prefix: Option<&str>,
            ) -> $crate::types::Result<Vec<$crate::types::Job>> {
                let rows = self.claim(owner, now_ms, lease_ms, limit, lease_prefix).await?;
                let mut jobs = rows.iter().map(job_from_row).collect::<$crate::types::Result<Vec<_>>>()?;
                jobs.sort_by_key(|j| (j.next_attempt_ms, j.id));
                Ok(jobs)
            }
        }

        #[async_trait::async_trait]
        impl $crate::traits::Outbox for $store {
            async fn enqueue(&self, jobs: &[$crate::types::NewJob], now_ms: i64) -> $crate::types::Result<usize> {
                let mut tx = self.begin_write().await?;
                let mut n = 0;
                for job in jobs {
                    n += insert_job(&mut tx, job, now_ms).await?;
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn claim_jobs(
                &self,
                owner: &str,
                now_ms: i64,
                lease_ms: i64,
                limit: i64,
            ) -> $crate::types::Result<Vec<$crate::types::Job>> {
                self.claimed(owner, now_ms, lease_ms, limit, None).await
            }

            async fn claim_leased_jobs(
                &self,
                owner: &str,
                lease_prefix: &str,
                now_ms: i64,
                lease_ms: i64,
                limit: i64,
            ) -> $crate::types::Result<Vec<$crate::types::Job>> {
                self.claimed(owner, now_ms, lease_ms, limit, Some(lease_prefix)).await
            }

            async fn complete_job_with(
                &self,
                id: i64,
                owner: &str,
                rev: i64,
                result: &str,
                follow: &$crate::types::FollowUp,
                now_ms: i64,
            ) -> $crate::types::Result<bool> {
                use $crate::shared::sql;
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(sql::JOB_COMPLETE)
                    .bind(result)
                    .bind(now_ms)
                    .bind(id)
                    .bind(owner)
                    .bind(rev)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() == 0 {
                    // Coalesced with newer work while we ran: release it to run again now.
                    sqlx::query(sql::JOB_RELEASE_STALE)
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
                    insert_audit(&mut tx, &follow.audit, now_ms).await?;
                }
                tx.commit().await?;
                Ok(r.rows_affected() == 1)
            }

            async fn retry_job(
                &self,
                id: i64,
                owner: &str,
                next_attempt_ms: i64,
                error: &str,
                now_ms: i64,
            ) -> $crate::types::Result<bool> {
                let r = sqlx::query($crate::shared::sql::JOB_RETRY)
                    .bind(next_attempt_ms)
                    .bind(error)
                    .bind(now_ms)
                    .bind(id)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn begin_attempt(
                &self,
                id: i64,
                owner: &str,
                attempt_id: &str,
                now_ms: i64,
            ) -> $crate::types::Result<bool> {
                let r = sqlx::query($crate::shared::sql::JOB_BEGIN_ATTEMPT)
                    .bind(attempt_id)
                    .bind(now_ms)
                    .bind(id)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn end_attempt(&self, id: i64, owner: &str, now_ms: i64) -> $crate::types::Result<bool> {
                let r = sqlx::query($crate::shared::sql::JOB_END_ATTEMPT)
                    .bind(now_ms)
                    .bind(id)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn extend_leases(
                &self,
                ids: &[i64],
                owner: &str,
                until_ms: i64,
                now_ms: i64,
            ) -> $crate::types::Result<u64> {
                let mut n = 0;
                for id in ids {
                    let r = sqlx::query($crate::shared::sql::JOB_EXTEND_LEASE)
                        .bind(until_ms)
                        .bind(id)
                        .bind(owner)
                        .bind(now_ms)
                        .execute(&self.pool)
                        .await?;
                    n += r.rows_affected();
                }
                Ok(n)
            }

            async fn bury_job(&self, id: i64, owner: &str, error: &str, now_ms: i64) -> $crate::types::Result<bool> {
                let r = sqlx::query($crate::shared::sql::JOB_BURY)
                    .bind(error)
                    .bind(now_ms)
                    .bind(id)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn pause_job(&self, id: i64, owner: &str, error: &str, now_ms: i64) -> $crate::types::Result<bool> {
                let r = sqlx::query($crate::shared::sql::JOB_PAUSE_ONE)
                    .bind(error)
                    .bind(now_ms)
                    .bind(id)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn pause_jobs(
                &self,
                tenant: &str,
                kind: &str,
                error: &str,
                now_ms: i64,
            ) -> $crate::types::Result<u64> {
                let r = sqlx::query($crate::shared::sql::JOB_PAUSE)
                    .bind(error)
                    .bind(now_ms)
                    .bind(tenant)
                    .bind(kind)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn defer_jobs(
                &self,
                tenant: &str,
                kind: &str,
                until_ms: i64,
                now_ms: i64,
            ) -> $crate::types::Result<u64> {
                let r = sqlx::query($crate::shared::sql::JOB_DEFER_KIND)
                    .bind(tenant)
                    .bind(kind)
                    .bind(until_ms)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn unpause_all(&self, now_ms: i64) -> $crate::types::Result<u64> {
                let r = sqlx::query($crate::shared::sql::JOB_UNPAUSE_ALL).bind(now_ms).execute(&self.pool).await?;
                Ok(r.rows_affected())
            }

            async fn release_leases(&self, now_ms: i64) -> $crate::types::Result<u64> {
                let r = sqlx::query($crate::shared::sql::JOB_RELEASE_LEASES).bind(now_ms).execute(&self.pool).await?;
                // Polling leases too: the caller checked `single_instance`, so no other process polls.
                sqlx::query($crate::shared::sql::LEASES_DELETE_ALL).execute(&self.pool).await?;
                Ok(r.rows_affected())
            }

            async fn next_due_ms(&self) -> $crate::types::Result<Option<i64>> {
                Ok(sqlx::query_scalar($next_due).fetch_one(&self.pool).await?)
            }

            async fn redrive_job(&self, key: &str, now_ms: i64) -> $crate::types::Result<bool> {
                let r =
                    sqlx::query($crate::shared::sql::JOB_REDRIVE).bind(now_ms).bind(key).execute(&self.pool).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn record_audit(
                &self,
                records: &[$crate::types::AuditRecord],
                now_ms: i64,
            ) -> $crate::types::Result<usize> {
                if records.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let n = insert_audit(&mut tx, records, now_ms).await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn unsent_audit(
                &self,
                tenant: &str,
                limit: i64,
            ) -> $crate::types::Result<Vec<$crate::types::StoredAudit>> {
                use sqlx::Row;
                let rows = sqlx::query($crate::shared::sql::AUDIT_UNSENT)
                    .bind(tenant)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::types::StoredAudit {
                            id: r.try_get("id")?,
                            tenant: r.try_get("tenant")?,
                            record_id: r.try_get("record_id")?,
                            row: r.try_get("row_json")?,
                            created_ms: r.try_get("created_ms")?,
                        })
                    })
                    .collect()
            }

            async fn unsent_audit_count(&self, tenant: &str) -> $crate::types::Result<i64> {
                Ok(sqlx::query_scalar($crate::shared::sql::AUDIT_UNSENT_COUNT)
                    .bind(tenant)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn mark_audit_sent(
                &self,
                ids: &[i64],
                now_ms: i64,
                forget_before_ms: i64,
            ) -> $crate::types::Result<u64> {
                let mut tx = self.begin_write().await?;
                let mut n = 0;
                // A few hundred ids per statement at most.
                for chunk in ids.chunks(500) {
                    n += sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::audit_mark_sent(chunk)))
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                sqlx::query($crate::shared::sql::AUDIT_FORGET_SENT).bind(forget_before_ms).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn redrive_dead(&self, tenant: Option<&str>, now_ms: i64) -> $crate::types::Result<u64> {
                let r = sqlx::query($crate::shared::sql::JOB_REDRIVE_DEAD)
                    .bind(now_ms)
                    .bind(tenant)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected())
            }
        }
    };
}

pub(crate) use outbox;

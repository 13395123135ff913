//! The `inspection!` macro: the `Inspection` impl (name, ping, job counts, lists and look-ups) both backends share.

/// Implements [`Inspection`](crate::traits::Inspection) for `$store`, named `$name`.
macro_rules! inspection {
    ($store:ty, backend = $name:expr) => {
        #[async_trait::async_trait]
        impl $crate::traits::Inspection for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn ping(&self) -> $crate::types::Result<()> {
                sqlx::query($crate::shared::sql::PING).execute(&self.pool).await?;
                Ok(())
            }

            async fn job_counts(&self) -> $crate::types::Result<$crate::types::JobCounts> {
                let rows: Vec<(String, i64, i64)> =
                    sqlx::query_as($crate::shared::sql::JOB_COUNTS).fetch_all(&self.pool).await?;
                let mut c = $crate::types::JobCounts::default();
                for (state, paused, n) in rows {
                    match (state.as_str(), paused != 0) {
                        ("pending", false) => c.pending += n,
                        ("pending", true) => c.paused += n,
                        ("done", _) => c.done += n,
                        ("dead", _) => c.dead += n,
                        (other, _) => {
                            return Err($crate::types::StoreError::Corrupt(format!("unknown job state {other}")));
                        }
                    }
                }
                Ok(c)
            }

            async fn list_jobs(
                &self,
                state: $crate::types::JobState,
                limit: i64,
            ) -> $crate::types::Result<Vec<$crate::types::Job>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::job_list()))
                    .bind(state.as_str())
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(job_from_row).collect()
            }

            async fn get_job(&self, key: &str) -> $crate::types::Result<Option<$crate::types::Job>> {
                let row = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::job_get()))
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(job_from_row).transpose()
            }

            async fn oldest_pending_jobs(&self) -> $crate::types::Result<Vec<(String, i64)>> {
                Ok(sqlx::query_as($crate::shared::sql::JOB_OLDEST_PENDING).fetch_all(&self.pool).await?)
            }

            async fn recent_jobs(&self, kind: &str, limit: i64) -> $crate::types::Result<Vec<$crate::types::Job>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::job_recent()))
                    .bind(kind)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(job_from_row).collect()
            }

            async fn queue_by_kind(&self) -> $crate::types::Result<Vec<$crate::types::KindQueue>> {
                let rows: Vec<(String, i64, i64, i64, Option<i64>)> =
                    sqlx::query_as($crate::shared::sql::JOB_QUEUE_BY_KIND).fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(kind, pending, parked, dead, oldest_pending_ms)| $crate::types::KindQueue {
                        kind,
                        pending,
                        parked,
                        dead,
                        oldest_pending_ms,
                    })
                    .collect())
            }

            async fn list_cursors(&self) -> $crate::types::Result<Vec<$crate::types::CursorRow>> {
                let rows: Vec<(String, String, String, i64)> =
                    sqlx::query_as($crate::shared::sql::CURSOR_LIST).fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(tenant, source, value, updated_ms)| $crate::types::CursorRow {
                        tenant,
                        source,
                        value,
                        updated_ms,
                    })
                    .collect())
            }

            async fn quarantined(&self, limit: i64) -> $crate::types::Result<Vec<$crate::types::Quarantined>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::quarantine_list()))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(quarantined_from_row).collect()
            }

            async fn get_quarantined(&self, id: i64) -> $crate::types::Result<Option<$crate::types::Quarantined>> {
                let row = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::quarantine_get()))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(quarantined_from_row).transpose()
            }

            async fn quarantine_counts(&self) -> $crate::types::Result<Vec<(String, String, i64)>> {
                Ok(sqlx::query_as($crate::shared::sql::QUARANTINE_COUNTS).fetch_all(&self.pool).await?)
            }
        }
    };
}

pub(crate) use inspection;

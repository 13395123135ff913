//! The `alert_store!` macro: the `AlertStore` impl both backends share.

/// Implements [`AlertStore`](crate::traits::AlertStore) for `$store` (see the module docs of `shared`
/// for what the invoking module provides).
macro_rules! alert_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::traits::AlertStore for $store {
            async fn ingest_fenced(
                &self,
                items: &[$crate::types::IngestItem],
                fence: Option<&$crate::types::Fence>,
                now_ms: i64,
            ) -> $crate::types::Result<$crate::types::IngestOutcome> {
                use $crate::shared::sql;
                let mut out = $crate::types::IngestOutcome::default();
                if items.is_empty() {
                    return Ok(out);
                }
                let mut tx = self.begin_write().await?;
                check_fence(&mut tx, fence, now_ms).await?;
                for item in items {
                    let a = &item.alert;
                    let paged = match insert_or_lock_alert(&mut tx, a, now_ms).await? {
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
                                .execute(&mut *tx)
                                .await?;
                            out.updated += 1;
                            paged != 0
                        }
                    };
                    if let (Some(job), false) = (&item.page, paged) {
                        out.jobs_created += insert_job(&mut tx, job, now_ms).await?;
                        for more in &item.more_pages {
                            out.jobs_created += insert_job(&mut tx, more, now_ms).await?;
                        }
                        insert_audit(&mut tx, &item.audit, now_ms).await?;
                        // Fair order (issue 8): a storm inside one incident must not hold back
                        // the first page of a new incident.
                        if let Some(incident) = &a.incident_id {
                            let others: i64 = sqlx::query_scalar(sql::INCIDENT_ALREADY_PAGED)
                                .bind(&a.tenant)
                                .bind(&a.source)
                                .bind(incident)
                                .bind(&a.alert_id)
                                .fetch_one(&mut *tx)
                                .await?;
                            if others > 0 {
                                sqlx::query(sql::JOB_DEPRIORITIZE).bind(&job.key).execute(&mut *tx).await?;
                            }
                        }
                        sqlx::query(sql::ALERT_MARK_PAGED)
                            .bind(&a.tenant)
                            .bind(&a.source)
                            .bind(&a.alert_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for job in &item.jobs {
                        insert_job(&mut tx, job, now_ms).await?;
                    }
                    let key = $crate::types::AlertKey {
                        tenant: a.tenant.clone(),
                        source: a.source.clone(),
                        alert_id: a.alert_id.clone(),
                    };
                    apply_update(&mut tx, &key, &item.update, now_ms).await?;
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn get_alert(
                &self,
                tenant: &str,
                source: &str,
                alert_id: &str,
            ) -> $crate::types::Result<Option<$crate::types::StoredAlert>> {
                let row = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::alert_get()))
                    .bind(tenant)
                    .bind(source)
                    .bind(alert_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(alert_from_row).transpose()
            }

            async fn get_alerts(
                &self,
                tenant: &str,
                source: &str,
                ids: &[String],
            ) -> $crate::types::Result<Vec<$crate::types::StoredAlert>> {
                self.fetch_alert_states(tenant, source, ids).await
            }

            async fn find_alert_by_signl4_event(
                &self,
                tenant: &str,
                signl4_event_id: &str,
            ) -> $crate::types::Result<Option<$crate::types::StoredAlert>> {
                let row = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::alert_by_signl4_event()))
                    .bind(tenant)
                    .bind(signl4_event_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(alert_from_row).transpose()
            }

            async fn live_pages(
                &self,
                tenant: &str,
                source: &str,
                limit: i64,
            ) -> $crate::types::Result<Vec<$crate::types::StoredAlert>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::live_pages()))
                    .bind(tenant)
                    .bind(source)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(alert_from_row).collect()
            }

            async fn incident_alerts(
                &self,
                tenant: &str,
                incident_id: &str,
            ) -> $crate::types::Result<Vec<$crate::types::StoredAlert>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::incident_alerts()))
                    .bind(tenant)
                    .bind(incident_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(alert_from_row).collect()
            }

            async fn update_alert(
                &self,
                key: &$crate::types::AlertKey,
                update: &$crate::types::AlertUpdate,
                now_ms: i64,
            ) -> $crate::types::Result<()> {
                let mut conn = self.pool.acquire().await?;
                apply_update(&mut conn, key, update, now_ms).await
            }

            async fn record_inbound(
                &self,
                event: &$crate::types::InboundEvent,
                update: Option<(&$crate::types::AlertKey, &$crate::types::AlertUpdate)>,
                jobs: &[$crate::types::NewJob],
                now_ms: i64,
            ) -> $crate::types::Result<bool> {
                let mut tx = self.begin_write().await?;
                let fresh = sqlx::query($crate::shared::sql::INBOUND_INSERT)
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
                insert_audit(&mut tx, &event.audit, now_ms).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn quarantine(
                &self,
                items: &[$crate::types::QuarantineItem],
                fence: Option<&$crate::types::Fence>,
                now_ms: i64,
            ) -> $crate::types::Result<usize> {
                if items.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                check_fence(&mut tx, fence, now_ms).await?;
                let mut new = 0;
                for q in items {
                    let attempts: i64 = sqlx::query_scalar($crate::shared::sql::QUARANTINE_UPSERT)
                        .bind(&q.tenant)
                        .bind(&q.source)
                        .bind(&q.item_id)
                        .bind(&q.raw)
                        .bind(&q.reason)
                        .bind(now_ms)
                        .fetch_one(&mut *tx)
                        .await?;
                    if attempts == 1 {
                        new += 1;
                        insert_audit(&mut tx, &q.audit, now_ms).await?;
                    }
                }
                tx.commit().await?;
                Ok(new)
            }

            async fn quarantine_retries(
                &self,
                tenant: &str,
                source: &str,
                limit: i64,
            ) -> $crate::types::Result<Vec<$crate::types::Quarantined>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe($crate::shared::sql::quarantine_due()))
                    .bind(tenant)
                    .bind(source)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(quarantined_from_row).collect()
            }

            async fn retry_quarantined(&self, id: i64) -> $crate::types::Result<bool> {
                let n = sqlx::query($crate::shared::sql::QUARANTINE_RETRY_ONE)
                    .bind(id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn retry_all_quarantined(&self, tenant: Option<&str>) -> $crate::types::Result<u64> {
                Ok(sqlx::query($crate::shared::sql::QUARANTINE_RETRY_ALL)
                    .bind(tenant.unwrap_or(""))
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn release_quarantined(&self, id: i64) -> $crate::types::Result<bool> {
                let n = sqlx::query($crate::shared::sql::QUARANTINE_RELEASE)
                    .bind(id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }
        }
    };
}

pub(crate) use alert_store;

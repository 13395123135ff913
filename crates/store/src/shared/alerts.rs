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
                if items.is_empty() {
                    return Ok($crate::types::IngestOutcome::default());
                }
                let mut tx = self.begin_write().await?;
                check_fence(&mut tx, fence, now_ms).await?;
                let out = ingest_items(&mut tx, items, now_ms).await?;
                tx.commit().await?;
                Ok(out)
            }

            async fn ingest_page(
                &self,
                items: &[$crate::types::IngestItem],
                quarantined: &[$crate::types::QuarantineItem],
                fence: Option<&$crate::types::Fence>,
                now_ms: i64,
            ) -> $crate::types::Result<($crate::types::IngestOutcome, usize)> {
                if items.is_empty() && quarantined.is_empty() {
                    return Ok(($crate::types::IngestOutcome::default(), 0));
                }
                let mut tx = self.begin_write().await?;
                check_fence(&mut tx, fence, now_ms).await?;
                let new = quarantine_items(&mut tx, quarantined, now_ms).await?;
                let out = ingest_items(&mut tx, items, now_ms).await?;
                tx.commit().await?;
                Ok((out, new))
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
                let new = quarantine_items(&mut tx, items, now_ms).await?;
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

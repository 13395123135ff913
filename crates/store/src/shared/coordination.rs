//! The `coordination!` macro: the `Coordination` impl (cursors and leases) both backends share.

/// Implements [`Coordination`](crate::traits::Coordination) for `$store`.
macro_rules! coordination {
    ($store:ty, single_instance = $single:expr) => {
        #[async_trait::async_trait]
        impl $crate::traits::Coordination for $store {
            async fn get_cursor(&self, tenant: &str, source: &str) -> $crate::types::Result<Option<String>> {
                Ok(sqlx::query_scalar($crate::shared::sql::CURSOR_GET)
                    .bind(tenant)
                    .bind(source)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_cursor_fenced(
                &self,
                tenant: &str,
                source: &str,
                value: &str,
                fence: Option<&$crate::types::Fence>,
                now_ms: i64,
            ) -> $crate::types::Result<()> {
                let mut tx = self.begin_write().await?;
                check_fence(&mut tx, fence, now_ms).await?;
                sqlx::query($crate::shared::sql::CURSOR_SET)
                    .bind(tenant)
                    .bind(source)
                    .bind(value)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn acquire_lease(
                &self,
                name: &str,
                owner: &str,
                now_ms: i64,
                ttl_ms: i64,
            ) -> $crate::types::Result<Option<i64>> {
                Ok(sqlx::query_scalar($crate::shared::sql::LEASE_TRY)
                    .bind(name)
                    .bind(owner)
                    .bind(now_ms + ttl_ms)
                    .bind(now_ms)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            fn single_instance(&self) -> bool {
                $single
            }
        }
    };
}

pub(crate) use coordination;

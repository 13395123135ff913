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

            async fn set_cursor(
                &self,
                tenant: &str,
                source: &str,
                value: &str,
                now_ms: i64,
            ) -> $crate::types::Result<()> {
                sqlx::query($crate::shared::sql::CURSOR_SET)
                    .bind(tenant)
                    .bind(source)
                    .bind(value)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn try_lease(
                &self,
                name: &str,
                owner: &str,
                now_ms: i64,
                ttl_ms: i64,
            ) -> $crate::types::Result<bool> {
                let r = sqlx::query($crate::shared::sql::LEASE_TRY)
                    .bind(name)
                    .bind(owner)
                    .bind(now_ms + ttl_ms)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            fn single_instance(&self) -> bool {
                $single
            }
        }
    };
}

pub(crate) use coordination;

//! The token cache of a [`TokenProvider`]: one slot per resource scope, refreshed before
//! expiry, with only one refresh per scope in flight however many tasks ask at once (a
//! per-scope async mutex); the expiries for the status page; dropping a rejected token.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::TokenProvider;
use crate::clients::http::UpstreamError;

/// A cached token of one scope.
#[derive(Clone)]
pub(super) struct Cached {
    token: Arc<SecretString>,
    refresh_at: Instant,
    /// When the token expires (Unix ms), for the status page.
    expires_ms: i64,
}

/// When to refresh a token that lives `lifetime`: 5 minutes early, or after 80 % of a
/// short lifetime.
pub fn refresh_after(lifetime: Duration) -> Duration {
    let early = Duration::from_secs(300);
    if lifetime > early * 2 { lifetime - early } else { lifetime.mul_f64(0.8) }
}

impl TokenProvider {
    fn slot(&self, scope: &str) -> Arc<tokio::sync::Mutex<Option<Cached>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(scope.to_string()).or_default().clone()
    }

    /// A valid token for `scope` (`https://graph.microsoft.com/.default`).
    pub async fn token(&self, scope: &str) -> Result<Arc<SecretString>, UpstreamError> {
        let slot = self.slot(scope);
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let r = (|| self.fetch(scope))
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(200))
                    .with_max_delay(Duration::from_secs(10))
                    .with_max_times(4)
                    .with_jitter(),
            )
            .when(UpstreamError::is_transient)
            .adjust(|e, d| e.retry_after().or(d))
            .await;
        let (access_token, lifetime) = match r {
            Ok(v) => v,
            Err(e) => {
                if !e.is_transient() {
                    *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                }
                return Err(e);
            }
        };
        *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let cached = Cached {
            token: Arc::new(SecretString::from(access_token)),
            refresh_at: Instant::now() + refresh_after(Duration::from_secs(lifetime)),
            expires_ms: crate::clock::now_ms().saturating_add((lifetime as i64).saturating_mul(1000)),
        };
        *guard = Some(cached.clone());
        Ok(cached.token)
    }

    /// The cached tokens' expiry times (Unix ms), by scope, soonest first (the status page).
    /// A slot whose token is being fetched right now is left out rather than waited for.
    pub fn token_expiries(&self) -> Vec<(String, i64)> {
        let slots: Vec<(String, Arc<tokio::sync::Mutex<Option<Cached>>>)> = {
            let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let mut out: Vec<(String, i64)> = slots
            .into_iter()
            .filter_map(|(scope, slot)| slot.try_lock().ok().and_then(|g| g.as_ref().map(|c| (scope, c.expires_ms))))
            .collect();
        out.sort_by_key(|(_, ms)| *ms);
        out
    }

    /// Drops a cached token the API rejected (401), so the next call fetches a new one.
    pub async fn invalidate(&self, scope: &str, rejected: &SecretString) {
        let slot = self.slot(scope);
        let mut guard = slot.lock().await;
        if guard.as_ref().is_some_and(|c| c.token.expose_secret() == rejected.expose_secret()) {
            *guard = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_timing() {
        assert_eq!(refresh_after(Duration::from_secs(3599)), Duration::from_secs(3299));
        assert_eq!(refresh_after(Duration::from_secs(100)), Duration::from_secs(80));
    }
}

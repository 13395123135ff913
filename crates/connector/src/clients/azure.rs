//! A bearer-token JSON client for Azure and Microsoft APIs (Graph, ARM, Log Analytics):
//! retries with exponential backoff and jitter that never undercut `Retry-After`, one token
//! refresh after a 401, permanent 4xx surfaced with an explanation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::clients::entra::TokenProvider;
use s4s_core::origin::Origin;
use url::Url;

use crate::clients::http::{UpstreamError, checked_url, origin_of, summarize_body};
use crate::clients::scheduler::Scheduler;

/// In-call retry budget for requests made by outbox jobs; longer waits are the outbox's job.
pub const JOB_RETRY_BUDGET: Duration = Duration::from_secs(5);

pub struct AzureApi {
    service: &'static str,
    /// The configured endpoint's origin: the only one this client's token is sent to.
    origin: Origin,
    http: reqwest::Client,
    scope: String,
    tokens: Arc<TokenProvider>,
    /// Every request goes through the tenant's scheduler for this upstream.
    sched: Arc<Scheduler>,
    /// Turns a 403 message into an instruction.
    explain_forbidden: fn(&str) -> String,
}

impl AzureApi {
    pub fn new(
        service: &'static str,
        endpoint: &Url,
        http: reqwest::Client,
        scope: &str,
        tokens: Arc<TokenProvider>,
        sched: Arc<Scheduler>,
        explain_forbidden: fn(&str) -> String,
    ) -> AzureApi {
        AzureApi { service, origin: origin_of(endpoint), http, scope: scope.into(), tokens, sched, explain_forbidden }
    }

    /// One request, with retries when `retry`: throttling (honouring fractional
    /// `Retry-After`), 5xx and network errors back off with jitter; one 401 refreshes the
    /// token; other 4xx are permanent. A `url` outside the endpoint's origin (a `nextLink`
    /// naming another host) is refused before a token is fetched or anything is sent
    /// ([`UpstreamError::Foreign`]).
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
        retry: bool,
        budget: Duration,
    ) -> Result<Value, UpstreamError> {
        // The one place Graph / ARM / Log Analytics requests are built: the origin policy here
        // means a bearer token is only ever attached for its own endpoint.
        let url = checked_url(self.service, &self.origin, url)?;
        let refreshed = AtomicBool::new(false);
        let op = || async {
            let token = self.tokens.token(&self.scope).await?;
            // The tenant's budget for this upstream: waits (pollers) or says when (jobs).
            self.sched.acquire().await?;
            metrics::counter!(crate::telemetry::UPSTREAM_REQUESTS, "service" => self.service).increment(1);
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose_secret())
                .header("Prefer", "include-unknown-enum-members");
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| UpstreamError::network(self.service, e))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            self.sched.observe(status, &headers);
            let text = resp.text().await.map_err(|e| UpstreamError::network(self.service, e))?;
            if status == 401 && !refreshed.swap(true, Ordering::Relaxed) {
                // Expired or revoked token: drop it and try once more with a fresh one.
                self.tokens.invalidate(&self.scope, &token).await;
                return Err(UpstreamError::Http {
                    service: self.service,
                    status,
                    message: s4s_core::redact::scrub(&summarize_body(&text), &[token.expose_secret()]),
                    retry_after: Some(Duration::ZERO),
                    permanent: false,
                });
            }
            if !(200..300).contains(&status) {
                // Scrub bearer tokens / JWTs an error body may echo (our own request's token).
                let mut msg = s4s_core::redact::scrub(&summarize_body(&text), &[token.expose_secret()]);
                if status == 403 {
                    msg = (self.explain_forbidden)(&msg);
                }
                return Err(UpstreamError::from_response(self.service, status, &headers, msg));
            }
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str::<Value>(&text)
                .map_err(|e| UpstreamError::Invalid { service: self.service, message: format!("invalid JSON: {e}") })
        };
        let max_times = if retry { usize::MAX } else { 1 };
        op.retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(250))
                .with_max_delay(Duration::from_secs(30))
                .with_total_delay(Some(budget))
                .with_max_times(max_times)
                .with_jitter(),
        )
        // Without retries, only the token refresh after a 401 is repeated.
        .when(|e: &UpstreamError| {
            if e.is_held() {
                // The scheduler said when: the job is rescheduled, the worker freed.
                false
            } else if retry {
                e.is_transient()
            } else {
                e.status() == Some(401) && e.retry_after() == Some(Duration::ZERO)
            }
        })
        .adjust(|e, d| match (e.retry_after(), d) {
            // Never retry sooner than the server asked; a wait longer than the whole retry
            // budget is the outbox's (or the next poll's) to do, not this call's.
            (Some(ra), Some(_)) if ra <= budget => Some(ra),
            (Some(_), Some(_)) => None,
            (_, d) => d,
        })
        .notify(|e, d| tracing::debug!(error = %e, delay_ms = d.as_millis() as u64, "Graph request failed; retrying"))
        .await
    }
}

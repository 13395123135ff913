//! The Azure Monitor Logs Ingestion API (`microsoft-apis.md` §5.2), for the `SIGNL4_CL` audit
//! trail: `POST {dce}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01` with a
//! bearer token for `https://monitor.azure.com/.default`, a gzip'd JSON array, `204` on
//! success. One call per batch, no retries inside the call: the audit job's outbox schedule
//! retries (a `429`'s `Retry-After` holds the tenant's Logs Ingestion scheduler, so every
//! caller waits). A `403` means the app lacks *Monitoring Metrics Publisher* on the rule.

use std::io::Write;
use std::sync::Arc;

use s4s_core::config::AuditConfig;
use secrecy::ExposeSecret;

use crate::clients::entra::TokenProvider;
use s4s_core::origin::Origin;

use crate::clients::http::{UpstreamError, checked_url, origin_of, summarize_body};
use crate::clients::scheduler::Scheduler;

pub const SERVICE: &str = "Logs Ingestion";

/// What a `403` means (§5.2 troubleshooting), and how to fix it.
pub fn explain_forbidden(msg: &str) -> String {
    format!(
        "{msg} — the app needs the \"Monitoring Metrics Publisher\" role on the data collection rule (deploy/bicep/main.bicep assigns it; a new assignment can take up to 30 minutes to apply)"
    )
}

pub struct LogsIngestionClient {
    http: reqwest::Client,
    url: String,
    /// The DCE's origin: the monitor token goes nowhere else.
    origin: Origin,
    scope: String,
    tokens: Arc<TokenProvider>,
    sched: Arc<Scheduler>,
}

impl LogsIngestionClient {
    pub fn new(
        http: reqwest::Client,
        cfg: &AuditConfig,
        scope: &str,
        tokens: Arc<TokenProvider>,
        sched: Arc<Scheduler>,
    ) -> LogsIngestionClient {
        LogsIngestionClient {
            http,
            url: cfg.upload_url(),
            origin: origin_of(&cfg.endpoint),
            scope: scope.to_string(),
            tokens,
            sched,
        }
    }

    /// Uploads one JSON array (`body`), gzip'd. `Ok` only on the service's 2xx (204).
    pub async fn upload(&self, body: &str) -> Result<(), UpstreamError> {
        let gz = gzip(body.as_bytes())
            .map_err(|e| UpstreamError::Invalid { service: SERVICE, message: format!("cannot compress: {e}") })?;
        // Checked before a token is fetched: nothing is sent to another origin.
        let url = checked_url(SERVICE, &self.origin, &self.url)?;
        let mut refreshed = false;
        loop {
            let token = self.tokens.token(&self.scope).await?;
            self.sched.acquire().await?;
            metrics::counter!(crate::telemetry::UPSTREAM_REQUESTS, "service" => SERVICE).increment(1);
            let resp = self
                .http
                .post(url.clone())
                .bearer_auth(token.expose_secret())
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .header("x-ms-client-request-id", request_id())
                .body(gz.clone())
                .send()
                .await
                .map_err(|e| UpstreamError::network(SERVICE, e))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            self.sched.observe(status, &headers);
            if (200..300).contains(&status) {
                return Ok(());
            }
            let text = resp.text().await.unwrap_or_default();
            if status == 401 && !refreshed {
                // Expired or revoked token: once more with a fresh one.
                refreshed = true;
                self.tokens.invalidate(&self.scope, &token).await;
                continue;
            }
            let mut msg = summarize_body(&text);
            if let Some(code) = headers.get("x-ms-error-code").and_then(|v| v.to_str().ok())
                && !msg.contains(code)
            {
                msg = format!("{code}: {msg}");
            }
            let mut msg = s4s_core::redact::scrub(&msg, &[token.expose_secret()]);
            if status == 403 {
                msg = explain_forbidden(&msg);
            }
            return Err(UpstreamError::from_response(SERVICE, status, &headers, msg));
        }
    }
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), flate2::Compression::fast());
    enc.write_all(data)?;
    enc.finish()
}

/// A random `x-ms-client-request-id` (a UUID's shape), for Microsoft's support.
fn request_id() -> String {
    let a: u128 = rand::random();
    let h = format!("{a:032x}");
    format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

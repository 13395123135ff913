//! SIGNL4 REST polling fallback, for when SIGNL4 cannot reach the connector (firewalls).
//!
//! With `tenant.signl4.api_key` set, every `api_poll_interval` the connector asks SIGNL4's
//! REST API (`X-S4-Api-Key`, `signl4.md` §2) for alerts modified since its cursor, turns the
//! acknowledgements, closes and annotations of *its own* alerts into the same events the
//! webhook receiver handles, and feeds them through the same path. Change keys are shared with
//! the webhook, so with both on each change still has exactly one effect.

use std::sync::Arc;
use std::time::Duration;

use s4s_core::signl4_event::{events_from_rest_alert, events_from_rest_annotations, rest_external_id};
use s4s_core::{keys, timefmt};
use s4s_store::Store;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use url::Url;

use crate::runtime::TenantRuntime;
use crate::upstream::{UpstreamError, summarize_body};

/// Cursor name of the REST poller.
pub const SOURCE_SIGNL4_REST: &str = "signl4-rest";

pub struct Signl4Api {
    http: reqwest::Client,
    base: String,
    key: SecretString,
    team_id: Option<String>,
}

impl Signl4Api {
    pub fn new(http: reqwest::Client, api_base: &Url, key: SecretString, team_id: Option<String>) -> Signl4Api {
        Signl4Api { http, base: api_base.as_str().trim_end_matches('/').to_string(), key, team_id }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Option<Value>, UpstreamError> {
        let resp = req
            .header("X-S4-Api-Key", self.key.expose_secret())
            .send()
            .await
            .map_err(|e| UpstreamError::network("SIGNL4 API", e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| UpstreamError::network("SIGNL4 API", e))?;
        if status == 204 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            let mut msg = summarize_body(&text);
            if status == 401 || status == 403 {
                msg = format!("{msg} — check tenant.signl4.api_key (SIGNL4 → Integrations → API Keys)");
            }
            return Err(UpstreamError::from_response("SIGNL4 API", status, &headers, msg));
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| UpstreamError::Invalid { service: "SIGNL4 API", message: format!("invalid JSON: {e}") })
    }

    /// Alerts modified since `since`, following `hasMore` / `continuationToken`.
    pub async fn alerts_modified_since(&self, since: OffsetDateTime) -> Result<Vec<Value>, UpstreamError> {
        let mut out = Vec::new();
        let mut token = Value::Null;
        for _ in 0..100 {
            let mut body = json!({"modifiedSince": timefmt::odata(since), "continuationToken": token});
            if let Some(t) = &self.team_id {
                body["teamId"] = json!(t);
            }
            let url = format!("{}/v2/alerts/paged?maxResults=100", self.base);
            let Some(page) = self.send(self.http.post(&url).json(&body)).await? else { break };
            out.extend(page.get("results").and_then(Value::as_array).cloned().unwrap_or_default());
            let more = page.get("hasMore").and_then(Value::as_bool).unwrap_or(false);
            token = page.get("continuationToken").cloned().unwrap_or(Value::Null);
            if !more || token.is_null() {
                break;
            }
        }
        Ok(out)
    }

    pub async fn annotations(&self, alert_id: &str) -> Result<Value, UpstreamError> {
        let mut u = Url::parse(&format!("{}/v2/alerts", self.base))
            .map_err(|e| UpstreamError::Invalid { service: "SIGNL4 API", message: e.to_string() })?;
        u.path_segments_mut()
            .map_err(|_| UpstreamError::Invalid { service: "SIGNL4 API", message: "bad base URL".into() })?
            .push(alert_id)
            .push("annotations");
        Ok(self.send(self.http.get(u)).await?.unwrap_or(Value::Array(Vec::new())))
    }
}

/// One poll: returns how many events were recorded.
pub async fn poll_once(rt: &TenantRuntime, api: &Signl4Api, store: &Arc<dyn Store>) -> anyhow::Result<usize> {
    let t = &rt.cfg;
    let now = OffsetDateTime::now_utc();
    let stored = store.get_cursor(&t.name, SOURCE_SIGNL4_REST).await?;
    let cursor = stored.as_deref().and_then(timefmt::parse).unwrap_or(now - t.lookback);
    let alerts = api.alerts_modified_since(cursor - t.overlap).await?;
    let mut newest = cursor;
    let mut recorded = 0;
    for a in &alerts {
        if let Some(ts) = a.get("lastModified").and_then(Value::as_str).and_then(timefmt::parse)
            && ts > newest
        {
            newest = ts;
        }
        // Only alerts this connector raised for this tenant.
        let ours =
            rest_external_id(a).as_deref().and_then(keys::parse_external_id).is_some_and(|(tn, _, _)| tn == t.name);
        if !ours {
            continue;
        }
        let mut events = events_from_rest_alert(a);
        if let Some(id) = a.get("id").and_then(Value::as_str) {
            events.extend(events_from_rest_annotations(a, &api.annotations(id).await?));
        }
        for ev in events {
            let note = crate::inbound::handle(store, rt, &ev).await?;
            if note != "duplicate" && note != "unknown-alert" && note != "ignored" {
                recorded += 1;
            }
        }
    }
    // Everything up to `newest` is recorded.
    if newest > cursor || stored.is_none() {
        store
            .set_cursor(
                &t.name,
                SOURCE_SIGNL4_REST,
                &timefmt::odata(newest),
                timefmt::millis(OffsetDateTime::now_utc()),
            )
            .await?;
    }
    Ok(recorded)
}

/// Polls until shutdown.
pub async fn run(
    rt: Arc<TenantRuntime>,
    api: Signl4Api,
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let interval = rt.cfg.signl4.api_poll_interval;
    let mut last_error: Option<String> = None;
    loop {
        let started = tokio::time::Instant::now();
        if !rt.hold_lease(store.as_ref(), "signl4-rest", interval * 3).await {
            tokio::select! {
                _ = tokio::time::sleep_until(started + interval.max(Duration::from_millis(50))) => {}
                _ = shutdown.changed() => return,
            }
            continue;
        }
        let result = tokio::select! {
            r = poll_once(&rt, &api, &store) => r,
            _ = shutdown.changed() => return,
        };
        match result {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(tenant = %rt.cfg.name, events = n, "SIGNL4 REST poll found changes");
                    wake.notify_one();
                }
                last_error = None;
                rt.set_signl4_api_error(None);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                metrics::counter!("s4s_signl4_rest_errors_total", "tenant" => rt.cfg.name.clone()).increment(1);
                if last_error.as_deref() != Some(msg.as_str()) {
                    tracing::error!(tenant = %rt.cfg.name, error = %msg, "polling the SIGNL4 REST API failed; retrying every api_poll_interval");
                }
                rt.set_signl4_api_error(Some(msg.clone()));
                last_error = Some(msg);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(started + interval.max(Duration::from_millis(50))) => {}
            _ = shutdown.changed() => return,
        }
    }
}

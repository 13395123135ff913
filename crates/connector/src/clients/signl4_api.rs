//! SIGNL4 REST API client (`X-S4-Api-Key`, `signl4.md` §2): alerts modified since a time
//! (paged by continuation token) and an alert's annotations.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use s4s_core::timefmt;

use crate::clients::http::{UpstreamError, summarize_body};
use crate::tenant::scheduler::Scheduler;

pub struct Signl4Api {
    http: reqwest::Client,
    base: String,
    key: SecretString,
    team_id: Option<String>,
    /// SIGNL4's REST limits for this team (`signl4.md` §1.7).
    sched: Arc<Scheduler>,
}

impl Signl4Api {
    pub fn new(
        http: reqwest::Client,
        api_base: &Url,
        key: SecretString,
        team_id: Option<String>,
        sched: Arc<Scheduler>,
    ) -> Signl4Api {
        Signl4Api { http, base: api_base.as_str().trim_end_matches('/').to_string(), key, team_id, sched }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Option<Value>, UpstreamError> {
        self.sched.acquire().await?;
        let resp = req
            .header("X-S4-Api-Key", self.key.expose_secret())
            .send()
            .await
            .map_err(|e| UpstreamError::network("SIGNL4 API", e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.sched.observe(status, &headers);
        let text = resp.text().await.map_err(|e| UpstreamError::network("SIGNL4 API", e))?;
        if status == 204 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            let mut msg = s4s_core::redact::scrub(&summarize_body(&text), &[self.key.expose_secret()]);
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

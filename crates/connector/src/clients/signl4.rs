//! SIGNL4 inbound webhook client (`signl4.md` §1). One request per call: retries are the
//! outbox's job (`delivery.rs`), so a crash never loses a pending retry.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use s4s_core::origin::Origin;

use crate::clients::http::{UpstreamError, checked_request, origin_of, push_segments, summarize_body};
use crate::clients::scheduler::Scheduler;

pub struct Signl4Client {
    http: reqwest::Client,
    base: Url,
    /// The webhook endpoint's origin: the team secret (in the URL) goes nowhere else.
    origin: Origin,
    team_secret: SecretString,
    /// The team's event limits, paced below so SIGNL4 never blocks us (`signl4.md` §1.7).
    sched: Arc<Scheduler>,
}

impl Signl4Client {
    pub fn new(
        http: reqwest::Client,
        webhook_base: &Url,
        team_secret: SecretString,
        sched: Arc<Scheduler>,
    ) -> Signl4Client {
        Signl4Client { http, base: webhook_base.clone(), origin: origin_of(webhook_base), team_secret, sched }
    }

    /// POSTs one event within the team's budget. Returns SIGNL4's `eventId` on 201.
    pub async fn send(&self, body: &Map<String, Value>) -> Result<Option<String>, UpstreamError> {
        self.reserve().await?;
        self.post(body).await
    }

    /// Waits for the team's request budget (or fails with [`UpstreamError::Held`]): a page
    /// reserves its slot, records its attempt, then [`Signl4Client::post`]s.
    pub async fn reserve(&self) -> Result<(), UpstreamError> {
        self.sched.acquire().await
    }

    /// POSTs one event with the slot [`Signl4Client::reserve`] gave.
    pub async fn post(&self, body: &Map<String, Value>) -> Result<Option<String>, UpstreamError> {
        // `{webhook}/{teamSecret}`: the secret is one pushed segment (never pasted).
        let mut url = self.base.clone();
        push_segments("SIGNL4", &mut url, &[self.team_secret.expose_secret()])?;
        let req = self.http.post(url).json(body).build().map_err(|e| UpstreamError::network("SIGNL4", e))?;
        checked_request("SIGNL4", &self.origin, &req)?;
        let resp = self.http.execute(req).await.map_err(|e| UpstreamError::network("SIGNL4", e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.sched.observe(status, &headers);
        let text = resp.text().await.map_err(|e| UpstreamError::network("SIGNL4", e))?;
        if !(200..300).contains(&status) {
            // SIGNL4's 404 body echoes the team secret (`signl4.md` §1.6): scrub it first.
            let mut msg = s4s_core::redact::scrub(&summarize_body(&text), &[self.team_secret.expose_secret()]);
            if status == 404 {
                msg = format!(
                    "SIGNL4 does not know this team secret ({msg}); check signl4.team_secret (SIGNL4 → Teams → your team → Secret, or an integration secret)"
                );
            }
            return Err(UpstreamError::from_response("SIGNL4", status, &headers, msg));
        }
        Ok(serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("eventId").and_then(Value::as_str).map(str::to_string)))
    }
}

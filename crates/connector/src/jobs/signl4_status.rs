//! Job: close or acknowledge a SIGNL4 alert by external id after a change in the portal.

use async_trait::async_trait;
use s4s_core::jobs::JobKind;
use serde_json::{Map, Value};

use crate::jobs::{JobContext, JobHandler, Outcome};
use crate::telemetry;

pub struct Signl4StatusJob;

#[async_trait]
impl JobHandler for Signl4StatusJob {
    const KIND: JobKind = JobKind::Signl4Status;
    type Payload = Map<String, Value>;

    async fn run(&self, cx: &JobContext<'_>, mut body: Map<String, Value>) -> Outcome {
        let rt = cx.tenant;
        let team = rt.team(&s4s_core::jobs::take_route(&mut body));
        match team.webhook.send(&body).await {
            Ok(event_id) => {
                let status = body.get("X-S4-Status").and_then(|v| v.as_str()).unwrap_or("");
                tracing::info!(tenant = %rt.cfg.name, status = %status, external_id = %body.get("X-S4-ExternalID").and_then(|v| v.as_str()).unwrap_or(""), "SIGNL4 alert updated after a change in the portal");
                metrics::counter!(telemetry::SIGNL4_STATUS_SENT, "tenant" => rt.cfg.name.clone(), "status" => status.to_string()).increment(1);
                Outcome::Done(serde_json::json!({ "eventId": event_id }).to_string())
            }
            Err(e) => e.into(),
        }
    }
}

//! Job: close or acknowledge a SIGNL4 alert by external id after a change in the portal.

use async_trait::async_trait;
use s4s_core::jobs::{self, JobKind};
use serde_json::{Map, Value};

use crate::jobs::{JobContext, JobHandler, Outcome, signl4};
use crate::telemetry;

pub struct Signl4StatusJob;

#[async_trait]
impl JobHandler for Signl4StatusJob {
    const KIND: JobKind = jobs::signl4_status::KIND;
    type Payload = Map<String, Value>;

    async fn run(&self, cx: &JobContext<'_>, mut body: Map<String, Value>) -> Outcome {
        let tenant = cx.tenant;
        let route = jobs::take_route(&mut body);
        if let Some(parked) = signl4::parked(cx, &route) {
            return parked;
        }
        let team = tenant.team(&route);
        match team.webhook.send(&body).await {
            Ok(event_id) => {
                let status = body.get("X-S4-Status").and_then(|v| v.as_str()).unwrap_or("");
                tracing::info!(tenant = %tenant.cfg.name, status = %status, external_id = %body.get("X-S4-ExternalID").and_then(|v| v.as_str()).unwrap_or(""), "SIGNL4 alert updated after a change in the portal");
                metrics::counter!(telemetry::SIGNL4_STATUS_SENT, "tenant" => tenant.cfg.name.clone(), "status" => status.to_string()).increment(1);
                Outcome::Done(serde_json::json!({ "eventId": event_id }).to_string())
            }
            Err(e) => signl4::failed(cx, &route, e),
        }
    }
}

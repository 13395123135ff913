//! Job: add a text to a SIGNL4 alert through the REST API — an alert grouped into the page of
//! the first alert of its incident (`group = "incident"`, team with an API key).
//!
//! The SIGNL4 alert is found by its external id. It may not exist yet (its page is still being
//! delivered, or SIGNL4 is still processing it, `signl4.md` §2.4): then the job looks again
//! later, for up to [`GIVE_UP`]. An annotation has no idempotency key, so a retry first checks
//! whether the alert already has this exact text (the failed attempt may have reached SIGNL4).

use std::time::Duration;

use async_trait::async_trait;
use s4s_core::jobs::{AnnotateJob, JobKind};
use s4s_core::route::DEFAULT_ROUTE;
use serde_json::Value;

use crate::clock::now_ms;
use crate::jobs::{JobContext, JobHandler, Outcome};

/// How long a grouped alert waits for its incident's page to exist in SIGNL4.
const GIVE_UP: Duration = Duration::from_secs(30 * 60);
const LOOK_AGAIN: Duration = Duration::from_secs(5);

pub struct Annotate;

#[async_trait]
impl JobHandler for Annotate {
    const KIND: JobKind = s4s_core::jobs::annotate::KIND;
    type Payload = AnnotateJob;

    async fn run(&self, cx: &JobContext<'_>, job: AnnotateJob) -> Outcome {
        let tenant = cx.tenant;
        let route = job.route.clone().unwrap_or_else(|| DEFAULT_ROUTE.to_string());
        let Some(api) = &tenant.team(&route).api else {
            return Outcome::Broken(format!("team of route {route} has no signl4.api_key to annotate with"));
        };
        let found = match api.alerts_by_external_id(&job.external_id).await {
            Ok(f) => f,
            Err(e) => return e.into(),
        };
        let Some(alert) = found.into_iter().next() else {
            let age = Duration::from_millis((now_ms() - cx.job.created_ms).max(0) as u64);
            if age < GIVE_UP {
                return Outcome::Later(LOOK_AGAIN);
            }
            tracing::warn!(tenant = %tenant.cfg.name, external_id = %job.external_id, "the incident's SIGNL4 alert never appeared; annotation not added");
            return Outcome::Done(r#"{"annotated":false,"why":"SIGNL4 alert not found"}"#.into());
        };
        let already = match api.annotations(&alert.id).await {
            Ok(Value::Array(list)) => {
                list.iter().any(|n| n.get("text").and_then(Value::as_str) == Some(job.text.as_str()))
            }
            Ok(_) => false,
            Err(e) => return e.into(),
        };
        if !already && let Err(e) = api.annotate(&alert.id, &job.text).await {
            return e.into();
        }
        tracing::info!(tenant = %tenant.cfg.name, external_id = %job.external_id, signl4_alert = %alert.id, "grouped alert added to its incident's SIGNL4 alert");
        Outcome::Done(
            serde_json::json!({ "annotated": true, "signl4AlertId": alert.id, "already": already }).to_string(),
        )
    }
}

//! Job: bring a Graph alert to the state SIGNL4 asked for — GET (current state and comments),
//! PATCH only what differs, POST only comments not yet there — then roll the incident up.

use async_trait::async_trait;
use s4s_core::ids::SOURCE_GRAPH_ALERT;
use s4s_core::jobs::{self, JobKind};
use s4s_core::sync::{self, AlertSync, IncidentSync};
use s4s_store::{AlertKey, AlertUpdate, FollowUp, NewJob};
use serde_json::Value;

use crate::clock::now_ms;
use crate::jobs::{JobContext, JobHandler, Outcome};
use crate::telemetry;

pub struct GraphSyncJob;

#[async_trait]
impl JobHandler for GraphSyncJob {
    const KIND: JobKind = JobKind::GraphSync;
    type Payload = AlertSync;

    async fn run(&self, cx: &JobContext<'_>, intent: AlertSync) -> Outcome {
        let rt = cx.tenant;
        let graph = &rt.clients.graph;
        let current = match graph.get_alert(&intent.alert_id).await {
            Ok(v) => v,
            Err(e) => return e.into(),
        };
        let plan = sync::alert_plan(&intent, &current);
        let key = AlertKey {
            tenant: rt.cfg.name.clone(),
            source: SOURCE_GRAPH_ALERT.into(),
            alert_id: intent.alert_id.clone(),
        };
        if let Some(patch) = &plan.patch {
            // Record what we are about to write *before* writing it, so the poller recognises
            // the change as our own echo even if we crash right after the PATCH.
            if let Some(status) = patch.get("status").and_then(Value::as_str) {
                let u = AlertUpdate { written_status: Some(status.to_string()), ..Default::default() };
                if let Err(e) = cx.store.update_alert(&key, &u, now_ms()).await {
                    return e.into();
                }
            }
            if let Err(e) = graph.patch_alert(&intent.alert_id, patch).await {
                return e.into();
            }
        }
        for c in &plan.comments {
            if let Err(e) = graph.post_alert_comment(&intent.alert_id, c).await {
                return e.into();
            }
        }
        metrics::counter!(telemetry::GRAPH_WRITES, "tenant" => rt.cfg.name.clone(), "what" => "alert")
            .increment(u64::from(plan.patch.is_some()) + plan.comments.len() as u64);
        tracing::info!(tenant = %rt.cfg.name, alert_id = %intent.alert_id, job_key = %cx.job.key, status = intent.status.as_deref().unwrap_or("-"), patched = plan.patch.is_some(), comments = plan.comments.len(), "SIGNL4 response written to the Graph alert");
        // Notes do not change states: only status changes can move the incident. The roll-up
        // job is committed with this job's completion.
        let mut follow = FollowUp::default();
        if let (Some(incident), Some(_)) = (&intent.incident_id, &intent.status) {
            follow.jobs.extend(roll_up(cx, incident, &intent).await);
        }
        Outcome::DoneWith(
            serde_json::json!({"patched": plan.patch.is_some(), "comments": plan.comments.len()}).to_string(),
            follow,
        )
    }
}

/// The incident follows when all its tracked alerts are acknowledged or closed: the job that
/// moves it, if it should move.
async fn roll_up(cx: &JobContext<'_>, incident: &str, intent: &AlertSync) -> Option<NewJob> {
    let rt = cx.tenant;
    let alerts = match cx.store.incident_alerts(&rt.cfg.name, incident).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the incident's alerts for the roll-up");
            return None;
        }
    };
    let states: Vec<_> = alerts.iter().map(|a| a.state()).collect();
    let status = sync::incident_rollup(&states)?;
    let resolved = status == "resolved";
    let opts = &rt.cfg.sync.options;
    let roll = IncidentSync {
        incident_id: incident.to_string(),
        tag: None,
        status: Some(status.to_string()),
        assigned_to: intent.assigned_to.clone(),
        classification: if resolved { opts.close_classification.clone() } else { None },
        determination: if resolved { opts.close_determination.clone() } else { None },
    };
    Some(jobs::incident_sync(&rt.cfg.name, &roll))
}

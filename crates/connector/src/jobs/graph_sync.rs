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
use crate::tenant::audit;
use s4s_core::records::Action;

pub struct GraphSyncJob;

#[async_trait]
impl JobHandler for GraphSyncJob {
    const KIND: JobKind = s4s_core::jobs::graph_sync::KIND;
    type Payload = AlertSync;

    async fn run(&self, cx: &JobContext<'_>, intent: AlertSync) -> Outcome {
        let tenant = cx.tenant;
        let graph = &tenant.clients.graph;
        let ext = s4s_core::ids::external_id(&tenant.cfg.name, SOURCE_GRAPH_ALERT, &intent.alert_id);
        let current = match graph.get_alert(&intent.alert_id).await {
            Ok(v) => v,
            Err(e) => return failed(cx, &ext, &intent, e.into()).await,
        };
        let plan = sync::alert_plan(&intent, &current);
        let key = AlertKey {
            tenant: tenant.cfg.name.clone(),
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
                return failed(cx, &ext, &intent, e.into()).await;
            }
        }
        for c in &plan.comments {
            if let Err(e) = graph.post_alert_comment(&intent.alert_id, c).await {
                return failed(cx, &ext, &intent, e.into()).await;
            }
        }
        metrics::counter!(telemetry::GRAPH_WRITES, "tenant" => tenant.cfg.name.clone(), "what" => "alert")
            .increment(u64::from(plan.patch.is_some()) + plan.comments.len() as u64);
        tracing::info!(tenant = %tenant.cfg.name, alert_id = %intent.alert_id, job_key = %cx.job.key, status = intent.status.as_deref().unwrap_or("-"), patched = plan.patch.is_some(), comments = plan.comments.len(), "SIGNL4 response written to the Graph alert");
        // Notes do not change states: only status changes can move the incident. The roll-up
        // job is committed with this job's completion.
        let mut follow = FollowUp::default();
        if let (Some(incident), Some(_)) = (&intent.incident_id, &intent.status) {
            follow.jobs.extend(roll_up(cx, incident, &intent).await);
        }
        if intent.status.is_some() || !intent.comments.is_empty() {
            let details = serde_json::json!({"target": "graph alert", "patched": plan.patch.is_some(), "comments": plan.comments.len(), "assignedTo": intent.assigned_to});
            let status = intent.status.as_deref().unwrap_or("comment");
            let store = cx.store.as_ref();
            follow
                .audit
                .extend(audit::of_job(tenant, store, cx.job, Action::WrittenBack, &ext, None, status, details).await);
        }
        Outcome::DoneWith(
            serde_json::json!({"patched": plan.patch.is_some(), "comments": plan.comments.len()}).to_string(),
            follow,
        )
    }
}

/// A failed attempt; a permanent failure (the job goes to the dead letters) is recorded as
/// `write_back_failed` first.
async fn failed(cx: &JobContext<'_>, ext: &str, intent: &AlertSync, outcome: Outcome) -> Outcome {
    if let Outcome::Failed(e) = &outcome
        && !e.is_transient()
    {
        let details = serde_json::json!({"target": "graph alert", "error": e.to_string()});
        let status = intent.status.as_deref().unwrap_or("comment");
        let rec =
            audit::of_job(cx.tenant, cx.store.as_ref(), cx.job, Action::WriteBackFailed, ext, None, status, details);
        if let Some(r) = rec.await
            && let Err(e) = cx.store.record_audit(&[r], now_ms()).await
        {
            tracing::warn!(error = %e, "cannot record the failed write-back in the audit trail");
        }
    }
    outcome
}

/// The incident follows when all its tracked alerts are acknowledged or closed: the job that
/// moves it, if it should move.
async fn roll_up(cx: &JobContext<'_>, incident: &str, intent: &AlertSync) -> Option<NewJob> {
    let tenant = cx.tenant;
    let alerts = match cx.store.incident_alerts(&tenant.cfg.name, incident).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the incident's alerts for the roll-up");
            return None;
        }
    };
    let states: Vec<_> = alerts.iter().map(|a| a.state()).collect();
    let status = sync::incident_rollup(&states)?;
    let resolved = status == "resolved";
    let opts = &tenant.cfg.sync.options;
    let roll = IncidentSync {
        incident_id: incident.to_string(),
        tag: None,
        status: Some(status.to_string()),
        assigned_to: intent.assigned_to.clone(),
        classification: if resolved { opts.close_classification.clone() } else { None },
        determination: if resolved { opts.close_determination.clone() } else { None },
    };
    Some(jobs::incident_sync(&tenant.cfg.name, &roll))
}

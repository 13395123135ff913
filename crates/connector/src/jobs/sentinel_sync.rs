//! Job: SIGNL4 response → Sentinel incident (read-modify-write with the etag; a 409 re-reads
//! and re-applies, so people's concurrent edits are never lost; comments with client-chosen
//! ids). In per-alert mode the incident follows when all its paged alerts did.

use std::sync::Arc;

use async_trait::async_trait;
use s4s_core::jobs::{JobKind, SentinelSyncJob};
use s4s_core::sentinel as model;
use s4s_core::sync::{self, AlertSync};
use s4s_core::timefmt;
use s4s_store::{AlertKey, AlertUpdate, FollowUp, Store};
use time::OffsetDateTime;

use crate::clients::sentinel::SentinelClient;
use crate::clock::now_ms;
use crate::jobs::{JobContext, JobError, JobHandler, Outcome};
use crate::telemetry;
use crate::tenant::audit;
use s4s_core::records::Action;

pub struct SentinelSync;

#[async_trait]
impl JobHandler for SentinelSync {
    const KIND: JobKind = s4s_core::jobs::sentinel_sync::KIND;
    type Payload = SentinelSyncJob;

    async fn run(&self, cx: &JobContext<'_>, p: SentinelSyncJob) -> Outcome {
        let tenant = cx.tenant;
        let Some(client) = tenant.workspace(&p.workspace).cloned() else {
            return Outcome::Broken("workspace no longer configured".into());
        };
        let mut intent = p.sync.clone();
        let (incident, key) = match &intent.incident_id {
            // Per-alert mode: the alert's incident follows only when all paged alerts did.
            Some(inc) => {
                let src = model::alert_source(&p.workspace);
                let states: Vec<_> = match cx.store.incident_alerts(&tenant.cfg.name, inc).await {
                    Ok(a) => a.iter().map(|x| x.state()).collect(),
                    Err(e) => return e.into(),
                };
                intent.status = sync::incident_rollup(&states).map(str::to_string);
                (
                    inc.clone(),
                    AlertKey { tenant: tenant.cfg.name.clone(), source: src, alert_id: intent.alert_id.clone() },
                )
            }
            None => (
                intent.alert_id.clone(),
                AlertKey {
                    tenant: tenant.cfg.name.clone(),
                    source: model::source(&p.workspace),
                    alert_id: intent.alert_id.clone(),
                },
            ),
        };
        let label = p.label || intent.status.is_some();
        let ext = s4s_core::ids::external_id(&key.tenant, &key.source, &key.alert_id);
        let status = intent.status.clone().unwrap_or_else(|| "comment".into());
        let responded = p.sync.status.is_some() || !intent.comments.is_empty();
        match write_back(&client, cx.store, &key, &incident, &intent, label).await {
            Ok((wrote, comments)) => {
                metrics::counter!(telemetry::SENTINEL_WRITES, "tenant" => tenant.cfg.name.clone())
                    .increment(u64::from(wrote) + comments as u64);
                tracing::info!(tenant = %tenant.cfg.name, incident = %incident, status = intent.status.as_deref().unwrap_or("-"), updated = wrote, comments, "Sentinel incident updated");
                let result = serde_json::json!({"updated": wrote, "comments": comments}).to_string();
                let mut follow = FollowUp::default();
                if responded {
                    let details = serde_json::json!({"target": "sentinel incident", "incident": incident, "updated": wrote, "comments": comments});
                    let store = cx.store.as_ref();
                    follow.audit.extend(
                        audit::of_job(tenant, store, cx.job, Action::WrittenBack, &ext, None, &status, details).await,
                    );
                }
                Outcome::DoneWith(result, follow)
            }
            Err(e) => {
                if responded && !e.is_transient() {
                    let details = serde_json::json!({"target": "sentinel incident", "incident": incident, "error": e.to_string()});
                    let store = cx.store.as_ref();
                    let rec =
                        audit::of_job(tenant, store, cx.job, Action::WriteBackFailed, &ext, None, &status, details);
                    if let Some(r) = rec.await
                        && let Err(e) = cx.store.record_audit(&[r], now_ms()).await
                    {
                        tracing::warn!(error = %e, "cannot record the failed write-back in the audit trail");
                    }
                }
                Outcome::Failed(e)
            }
        }
    }
}

/// Applies a write-back to the incident: GET, compute the full PUT body, PUT with the etag; on
/// 409 (someone changed it meanwhile) re-read and re-apply, up to 5 times. Then the comments,
/// with ids derived from their refs.
async fn write_back(
    client: &SentinelClient,
    store: &Arc<dyn Store>,
    key: &AlertKey,
    incident: &str,
    intent: &AlertSync,
    label: bool,
) -> Result<(bool, usize), JobError> {
    let label = if label { client.cfg.label.clone() } else { None };
    let mut wrote = false;
    for attempt in 0..5 {
        let current = client.get_incident(incident).await?;
        let Some(body) = model::incident_put(&current, intent, &client.cfg, label.as_deref()) else { break };
        if let Some(status) = intent.status.as_deref()
            && body.pointer("/properties/status") != current.pointer("/properties/status")
        {
            // Recorded before the write: the sweep then recognises the change as our echo.
            let u = AlertUpdate { written_status: Some(status.to_string()), ..Default::default() };
            store.update_alert(key, &u, timefmt::millis(OffsetDateTime::now_utc())).await?;
        }
        match client.put_incident(incident, &body).await {
            Ok(_) => {
                wrote = true;
                break;
            }
            Err(e) if e.status() == Some(409) && attempt < 4 => {
                metrics::counter!(telemetry::SENTINEL_CONFLICTS).increment(1);
                tracing::debug!(incident, "incident changed meanwhile (409); re-reading");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    for c in &intent.comments {
        client.put_comment(incident, &model::comment_id(&c.r#ref), &c.text).await?;
    }
    Ok((wrote, intent.comments.len()))
}

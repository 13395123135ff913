//! Job: make a Graph incident follow its alerts (status, owner, tag). Housekeeping priority
//! (`JobKind::priority`): it yields to polling and write-backs when Graph's budget is tight.

use async_trait::async_trait;
use s4s_core::jobs::JobKind;
use s4s_core::sync::{self, IncidentSync};

use crate::jobs::{JobContext, JobHandler, Outcome};
use crate::telemetry;

pub struct IncidentSyncJob;

#[async_trait]
impl JobHandler for IncidentSyncJob {
    const KIND: JobKind = s4s_core::jobs::incident_sync::KIND;
    type Payload = IncidentSync;

    async fn run(&self, cx: &JobContext<'_>, intent: IncidentSync) -> Outcome {
        let tenant = cx.tenant;
        let graph = &tenant.clients.graph;
        let current = match graph.get_incident(&intent.incident_id).await {
            Ok(v) => v,
            Err(e) => return e.into(),
        };
        let Some(patch) = sync::incident_plan(&intent, &current) else {
            return Outcome::Done("{\"patched\":false}".into());
        };
        if let Err(e) = graph.patch_incident(&intent.incident_id, &patch).await {
            return e.into();
        }
        metrics::counter!(telemetry::GRAPH_WRITES, "tenant" => tenant.cfg.name.clone(), "what" => "incident")
            .increment(1);
        tracing::info!(tenant = %tenant.cfg.name, incident = %intent.incident_id, fields = ?patch.keys().collect::<Vec<_>>(), "Graph incident updated");
        Outcome::Done("{\"patched\":true}".into())
    }
}

//! Job: rule-query results that missed a Sentinel page's time budget, added as an incident
//! comment (client-chosen comment id, so a retry updates instead of duplicating).

use async_trait::async_trait;
use s4s_core::jobs::{JobKind, SentinelPageJob};
use s4s_core::sentinel::{self as model, Enrichment, SentinelAlert};
use serde_json::Value;

use crate::clients::sentinel::enrich;
use crate::jobs::{JobContext, JobHandler, Outcome};

pub struct SentinelEnrich;

#[async_trait]
impl JobHandler for SentinelEnrich {
    const KIND: JobKind = s4s_core::jobs::sentinel_enrich::KIND;
    type Payload = SentinelPageJob;

    async fn run(&self, cx: &JobContext<'_>, p: SentinelPageJob) -> Outcome {
        let Some(client) = cx.tenant.workspace(&p.workspace).cloned() else {
            return Outcome::Broken("workspace no longer configured".into());
        };
        let target: Vec<SentinelAlert> = match &p.alert {
            Some(a) => SentinelAlert::from_json(a.clone()).into_iter().collect(),
            None => p.alerts.iter().cloned().filter_map(SentinelAlert::from_json).collect(),
        };
        let text = match enrich(&client, &target, None).await {
            Enrichment::Results(r) => format!("Rule query results (signl4-sentinel):\n{r}"),
            Enrichment::Failed(e) => format!("Rule query results unavailable (signl4-sentinel): {e}"),
            Enrichment::None | Enrichment::Pending => return Outcome::Done("{}".into()),
        };
        let Some(incident) = p.incident.get("name").and_then(Value::as_str) else {
            return Outcome::Broken("incident without name".into());
        };
        match client.put_comment(incident, &model::comment_id(&cx.job.key), &text).await {
            Ok(_) => Outcome::Done("{\"comment\":true}".into()),
            Err(e) => e.into(),
        }
    }
}

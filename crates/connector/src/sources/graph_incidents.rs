//! Pull source: Graph incidents changed since the cursor; an incident resolved or redirected
//! by someone else closes the SIGNL4 alerts of its tracked alerts (optional: paging works
//! without `SecurityIncident.Read.All`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use s4s_core::budget::Priority;
use s4s_core::ids::SOURCE_GRAPH_INCIDENT;
use s4s_core::{ingest, timefmt};
use s4s_store::{Fence, Store};
use serde_json::Value;
use time::OffsetDateTime;

use crate::sources::quarantine;
use crate::sources::{Page, PullSource, Stored};
use crate::tenant::TenantContext;

pub struct GraphIncidents(pub Arc<TenantContext>);

#[async_trait]
impl PullSource for GraphIncidents {
    fn cursor(&self) -> String {
        SOURCE_GRAPH_INCIDENT.into()
    }
    fn describe(&self) -> String {
        "Graph incidents (portal closes of incidents are not mirrored until it works)".into()
    }
    fn overlap(&self) -> Duration {
        self.0.overlap.overlap_for(SOURCE_GRAPH_INCIDENT)
    }
    fn optional(&self) -> bool {
        true
    }
    /// Mirroring portal closes of incidents is housekeeping, swept at the slow interval.
    fn priority(&self) -> Priority {
        Priority::Housekeeping
    }
    fn min_interval(&self) -> Duration {
        self.0.cfg.poll_interval
    }

    async fn first_page(&self, since: OffsetDateTime) -> anyhow::Result<Page> {
        let g = &self.0.clients.graph;
        self.next_page(&g.incidents_since_url(since, self.0.cfg.page_size)).await
    }

    async fn next_page(&self, url: &str) -> anyhow::Result<Page> {
        let v = self.0.clients.graph.get_json(url).await?;
        Ok(Page {
            items: v.get("value").and_then(Value::as_array).cloned().unwrap_or_default(),
            next: v.get("@odata.nextLink").and_then(Value::as_str).map(str::to_string),
        })
    }

    async fn store_page(&self, store: &dyn Store, fence: Option<&Fence>, items: Vec<Value>) -> anyhow::Result<Stored> {
        let t = &self.0.cfg;
        let mut out = Stored::default();
        // Items whose processing failed (a panic included): kept aside, the page goes on.
        let mut poisoned = Vec::new();
        for inc in &items {
            out.newest = out.newest.max(inc.get("lastUpdateDateTime").and_then(Value::as_str).and_then(timefmt::parse));
            let (Some(id), Some(status)) =
                (inc.get("id").and_then(Value::as_str), inc.get("status").and_then(Value::as_str))
            else {
                continue;
            };
            if !matches!(status, "resolved" | "redirected") {
                continue;
            }
            let tracked = store.incident_alerts(&t.name, id).await?;
            let closes = match ingest::guarded(|| ingest::incident_closes(&t.name, status, &tracked)) {
                Ok(c) => c,
                Err(reason) => {
                    // Counts as stored for the cursor: durable in the quarantine table.
                    poisoned.push(quarantine::item(t, SOURCE_GRAPH_INCIDENT, id, inc, &reason));
                    continue;
                }
            };
            if closes.is_empty() {
                continue;
            }
            for c in &closes {
                tracing::info!(tenant = %t.name, incident = %id, alert_id = %c.alert.alert_id, incident_status = %status, "incident closed in the portal: closing the SIGNL4 alert");
            }
            // Close job and state in one transaction.
            store.ingest_fenced(&closes, fence, timefmt::millis(OffsetDateTime::now_utc())).await?;
            out.queued += closes.len();
        }
        quarantine::record(store, fence, t, poisoned).await?;
        Ok(out)
    }

    /// Re-runs the quarantined incidents an operator asked for (`jobs retry quarantine:<id>`)
    /// through [`PullSource::store_page`]; closing is keyed once per alert, so a close already
    /// made is not made again.
    async fn recheck(&self, store: &dyn Store) -> anyhow::Result<usize> {
        let t = &self.0.cfg;
        let mut queued = 0;
        for (q, raw) in quarantine::due(store, t, SOURCE_GRAPH_INCIDENT).await? {
            queued += self.store_page(store, None, vec![raw]).await?.queued;
            quarantine::finish(store, &q, false).await?;
        }
        Ok(queued)
    }
}

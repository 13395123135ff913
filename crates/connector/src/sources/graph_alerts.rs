//! Pull source: Microsoft Graph Security `alerts_v2` changed since the cursor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use s4s_core::alert::GraphAlert;
use s4s_core::config::TenantConfig;
use s4s_core::ids::SOURCE_GRAPH_ALERT;
use s4s_core::records::IngestItem;
use s4s_core::{ingest, timefmt};
use s4s_store::{Fence, Store, StoredAlert};
use serde_json::Value;
use time::OffsetDateTime;

use crate::sources::pipeline::{self, Malformed, PageSource};
use crate::sources::quarantine;
use crate::sources::{Page, PullSource, Stored};
use crate::tenant::TenantContext;

pub struct GraphAlerts(pub Arc<TenantContext>);

/// Pages of ids the late re-read lists per poll at most.
pub const LATE_PAGES: usize = 2;

#[async_trait]
impl PullSource for GraphAlerts {
    fn cursor(&self) -> String {
        SOURCE_GRAPH_ALERT.into()
    }
    fn describe(&self) -> String {
        "Microsoft Graph alerts".into()
    }
    fn overlap(&self) -> Duration {
        self.0.overlap.overlap_for(SOURCE_GRAPH_ALERT)
    }
    fn late_window(&self) -> Duration {
        self.0.cfg.late_window
    }

    /// Lists ids and versions changed in `[from, to)` (at most [`LATE_PAGES`] pages of 1,000),
    /// and fetches only the alerts whose version is not stored: during a burst the re-read
    /// costs a request or two and no write.
    async fn reread(
        &self,
        store: &dyn Store,
        fence: Option<&Fence>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> anyhow::Result<Stored> {
        let g = &self.0.clients.graph;
        let mut listed = Vec::new();
        let mut url = Some(g.alert_versions_url(from, to, 1000));
        for _ in 0..LATE_PAGES {
            let Some(u) = url.take() else { break };
            let p = g.alerts_page(&u).await?;
            listed.extend(p.value);
            url = p.next_link;
        }
        if url.is_some() {
            tracing::debug!(tenant = %self.0.cfg.name, listed = listed.len(), "late re-read stopped after {LATE_PAGES} pages (burst); the overlap re-read covers the rest");
        }
        // (id, version, listed item) of every well-formed entry.
        let listed: Vec<(String, String, Value)> = listed
            .into_iter()
            .filter_map(|v| {
                let id = v.get("id")?.as_str()?.to_string();
                let at = timefmt::parse(v.get("lastUpdateDateTime")?.as_str()?)?;
                Some((id, timefmt::odata(at), v))
            })
            .collect();
        let ids: Vec<String> = listed.iter().map(|(id, _, _)| id.clone()).collect();
        let known: HashMap<String, String> = store
            .get_alerts(&self.0.cfg.name, SOURCE_GRAPH_ALERT, &ids)
            .await?
            .into_iter()
            .map(|a| (a.record.alert_id, a.record.version))
            .collect();
        let mut fresh = Vec::new();
        for (id, version, raw) in listed {
            if known.get(&id) == Some(&version) {
                continue;
            }
            // A server that ignored `$select` sent the whole alert already.
            if raw.get("title").is_some() {
                fresh.push(raw);
            } else {
                fresh.push(g.get_alert(&id).await?);
            }
        }
        if fresh.is_empty() {
            return Ok(Stored::default());
        }
        self.store_page(store, fence, fresh).await
    }

    /// Re-runs the quarantined alerts an operator asked for (`jobs retry quarantine:<id>`)
    /// through [`PullSource::store_page`]; one whose stored version is as new or newer was
    /// processed since and is only released. Then the tenant's quarantined webhook events.
    async fn recheck(&self, store: &dyn Store) -> anyhow::Result<usize> {
        let t = &self.0.cfg;
        let mut queued = 0;
        for (q, raw) in quarantine::due(store, t, SOURCE_GRAPH_ALERT).await? {
            let at = raw.get("lastUpdateDateTime").and_then(Value::as_str).and_then(timefmt::parse);
            let stored = store.get_alerts(&t.name, SOURCE_GRAPH_ALERT, std::slice::from_ref(&q.item_id)).await?;
            let superseded =
                at.is_some_and(|at| stored.iter().any(|s| timefmt::parse(&s.record.version).is_some_and(|v| v >= at)));
            if !superseded {
                queued += self.store_page(store, None, vec![raw]).await?.queued;
            }
            quarantine::finish(store, &q, superseded).await?;
        }
        // The webhook has no cycle of its own: the tenant's poller re-runs its quarantined events.
        Ok(queued + crate::sources::events::rerun_quarantined_webhooks(store, &self.0).await?)
    }

    async fn first_page(&self, since: OffsetDateTime) -> anyhow::Result<Page> {
        let g = &self.0.clients.graph;
        self.next_page(&g.alerts_since_url(since, self.0.cfg.page_size)).await
    }

    async fn next_page(&self, url: &str) -> anyhow::Result<Page> {
        let p = self.0.clients.graph.alerts_page(url).await?;
        Ok(Page { items: p.value, next: p.next_link })
    }

    async fn store_page(&self, store: &dyn Store, fence: Option<&Fence>, items: Vec<Value>) -> anyhow::Result<Stored> {
        pipeline::store_page(self, store, fence, items).await
    }
}

#[async_trait]
impl PageSource for GraphAlerts {
    type Item = GraphAlert;
    /// Routes paging once per incident: what the store knows of these incidents' pages.
    type State = ingest::GroupBook;
    type Extra = ();
    // Graph lists the most recent first; page the oldest of a batch first.
    const OLDEST_FIRST: bool = true;

    fn tenant(&self) -> &TenantConfig {
        &self.0.cfg
    }
    fn source(&self) -> String {
        SOURCE_GRAPH_ALERT.into()
    }
    fn describe(&self) -> String {
        PullSource::describe(self)
    }
    fn raw_key(raw: &Value) -> Option<String> {
        raw.get("id").and_then(Value::as_str).map(str::to_string)
    }
    fn parse(raw: Value) -> Result<GraphAlert, Malformed> {
        let id = Self::raw_key(&raw);
        GraphAlert::from_json(raw).map_err(|e| Malformed { id, error: e.to_string() })
    }
    fn key(a: &GraphAlert) -> &str {
        &a.id
    }
    fn changed_at(a: &GraphAlert) -> OffsetDateTime {
        a.last_update
    }
    fn raw(a: &GraphAlert) -> &Value {
        &a.raw
    }

    /// The groups of the page's incidents (alerts not paged yet only; the batch adds to them
    /// in order). A Sentinel workspace onboarded to Defender sees the same incidents: their
    /// pages (twins) are in the same rows, under the XDR incident id.
    async fn state(
        &self,
        store: &dyn Store,
        parsed: &[GraphAlert],
        prior: &HashMap<String, StoredAlert>,
    ) -> anyhow::Result<ingest::GroupBook> {
        let t = &self.0.cfg;
        let mut groups = ingest::GroupBook::default();
        if ingest::groups_incidents(t) || ingest::may_have_twins(t) {
            let mut incidents: Vec<&str> = parsed
                .iter()
                .filter(|a| !prior.get(&a.id).is_some_and(|p| p.paged))
                .filter_map(|a| a.incident_id.as_deref())
                .collect();
            incidents.sort_unstable();
            incidents.dedup();
            for inc in incidents {
                let stored = store.incident_alerts(&t.name, inc).await?;
                groups.add_stored(&t.name, &stored);
                groups.add_twin(&t.name, inc, &stored);
            }
        }
        Ok(groups)
    }

    async fn enrich(&self, _: &dyn Store, _: &GraphAlert, _: Option<&StoredAlert>) -> anyhow::Result<()> {
        Ok(())
    }

    fn decide(
        &self,
        groups: &mut ingest::GroupBook,
        a: &GraphAlert,
        prior: Option<&StoredAlert>,
        _: (),
    ) -> Vec<IngestItem> {
        vec![ingest::graph_alert_grouped(&self.0.cfg, a, prior, groups)]
    }
}

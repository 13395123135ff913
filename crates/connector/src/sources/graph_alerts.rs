//! Pull source: Microsoft Graph Security `alerts_v2` changed since the cursor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use s4s_core::alert::GraphAlert;
use s4s_core::ids::SOURCE_GRAPH_ALERT;
use s4s_core::{ingest, timefmt};
use s4s_store::{Fence, Store, StoredAlert};
use serde_json::Value;
use time::OffsetDateTime;

use crate::sources::quarantine;
use crate::sources::{Page, PullSource, Stored};
use crate::telemetry;
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
        let t = &self.0.cfg;
        let mut parsed = Vec::with_capacity(items.len());
        // Items whose processing failed (a panic included): kept aside, the page goes on.
        let mut poisoned = Vec::new();
        for raw in items {
            let id = raw.get("id").and_then(Value::as_str).map(str::to_string);
            let copy = id.as_ref().map(|_| raw.clone());
            match ingest::guarded(|| GraphAlert::from_json(raw)) {
                Ok(Ok(a)) => parsed.push(a),
                // Without an id there is nothing to key it by, retry or show.
                Ok(Err(e)) if id.is_none() => {
                    metrics::counter!(telemetry::ALERTS_MALFORMED, "tenant" => t.name.clone()).increment(1);
                    tracing::warn!(tenant = %t.name, error = %e, "skipping an alert Graph returned without an id");
                }
                Ok(Err(e)) => {
                    metrics::counter!(telemetry::ALERTS_MALFORMED, "tenant" => t.name.clone()).increment(1);
                    let (id, raw) = (id.unwrap_or_default(), copy.unwrap_or_default());
                    poisoned.push(quarantine::item(t, SOURCE_GRAPH_ALERT, &id, &raw, &e.to_string()));
                }
                Err(reason) => {
                    let (id, raw) = (id.unwrap_or_default(), copy.unwrap_or_default());
                    poisoned.push(quarantine::item(t, SOURCE_GRAPH_ALERT, &id, &raw, &reason));
                }
            }
        }
        // What we knew of these alerts before (paged? SIGNL4 state? our own last write?).
        let ids: Vec<String> = parsed.iter().map(|a| a.id.clone()).collect();
        let prior: HashMap<String, StoredAlert> = store
            .get_alerts(&t.name, SOURCE_GRAPH_ALERT, &ids)
            .await?
            .into_iter()
            .map(|a| (a.record.alert_id.clone(), a))
            .collect();
        // Routes paging once per incident: what the store knows of these incidents' pages
        // (alerts not paged yet only; the batch adds to it in order).
        // A Sentinel workspace onboarded to Defender sees the same incidents: their pages
        // (twins) are in the same rows, under the XDR incident id.
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
        parsed.sort_by_key(|a| a.last_update);
        let mut out = Stored::default();
        let mut batch = Vec::with_capacity(parsed.len());
        let now = timefmt::millis(OffsetDateTime::now_utc());
        // With routes, which team(s) each new page goes to is part of the audit trail.
        let audit_routes = t.audit.is_some() && !t.routes.is_empty();
        for a in &parsed {
            // A quarantined alert counts as stored for the cursor: it is durable in the
            // quarantine table, written with this page's alerts.
            out.newest = out.newest.max(Some(a.last_update));
            let p = prior.get(&a.id);
            let decided = ingest::guarded(|| {
                let mut item = ingest::graph_alert_grouped(t, a, p, &mut groups);
                if audit_routes {
                    item.audit = s4s_core::audit::routed(&item, now);
                }
                item
            });
            let item = match decided {
                Ok(item) => item,
                Err(reason) => {
                    poisoned.push(quarantine::item(t, SOURCE_GRAPH_ALERT, &a.id, &a.raw, &reason));
                    continue;
                }
            };
            // A version we already stored that asks for nothing new (the overlap re-read)
            // needs no write transaction at all.
            if ingest::unchanged(p, &item) {
                continue;
            }
            batch.push(item);
        }
        // Graph lists the most recent first; page the oldest of a batch first.
        batch.sort_by(|a, b| a.alert.version.cmp(&b.alert.version));
        out.read = batch.len();
        // The poisoned items are stored with the page, in one transaction: durable exactly when
        // the page is, so the cursor moves past both.
        quarantine::prepare(t, &mut poisoned, now);
        let (o, new) = store.ingest_page(&batch, &poisoned, fence, now).await?;
        quarantine::report(t, &poisoned, new);
        for (result, n) in [("new", o.new), ("updated", o.updated), ("unchanged", o.unchanged)] {
            metrics::counter!(telemetry::ALERTS_INGESTED, "tenant" => t.name.clone(), "result" => result)
                .increment(n as u64);
        }
        metrics::counter!(telemetry::PAGE_JOBS_CREATED, "tenant" => t.name.clone()).increment(o.jobs_created as u64);
        let grouped = batch.iter().filter(|i| i.update.signl4_state.as_deref() == Some("grouped")).count();
        metrics::counter!(crate::telemetry::ALERTS_GROUPED, "tenant" => t.name.clone()).increment(grouped as u64);
        out.new = o.new;
        out.updated = o.updated;
        out.queued = o.jobs_created + batch.iter().map(|i| i.jobs.len()).sum::<usize>();
        Ok(out)
    }
}

//! Pull source: a Sentinel workspace's incidents changed since the cursor (ARM, `nextLink`),
//! stored as alert rows (`sentinel.<workspace>`) with their pages and portal closes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use s4s_core::config::PagePer;
use s4s_core::sentinel::{self as model, Incident};
use s4s_core::{ingest, timefmt};
use s4s_store::{Fence, Store, StoredAlert};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clients::sentinel::SentinelClient;
use crate::sources::quarantine;
use crate::sources::{Page, PullSource, Stored};
use crate::tenant::TenantContext;

pub struct SentinelIncidents {
    pub tenant: Arc<TenantContext>,
    pub client: Arc<SentinelClient>,
    /// When the portal comments of live pages were last read again (`comment_recheck`).
    last_recheck: Mutex<Option<Instant>>,
}

/// At most this many live incident pages have their comments read again per recheck (one
/// ARM request each; the most recently changed first).
const RECHECK_MAX: i64 = 50;

impl SentinelIncidents {
    pub fn new(tenant: Arc<TenantContext>, client: Arc<SentinelClient>) -> SentinelIncidents {
        SentinelIncidents { tenant, client, last_recheck: Mutex::new(Some(Instant::now())) }
    }

    /// Re-runs the quarantined incidents an operator asked for (`jobs retry quarantine:<id>`)
    /// through [`PullSource::store_page`]; one whose stored version is as new or
    /// newer was processed since and is only released.
    async fn rerun_quarantined(&self, store: &dyn Store) -> anyhow::Result<usize> {
        let t = &self.tenant.cfg;
        let source = self.cursor();
        let mut queued = 0;
        for (q, raw) in quarantine::due(store, t, &source).await? {
            let at = Incident::from_json(raw.clone()).map(|i| i.last_modified);
            let stored = store.get_alerts(&t.name, &source, std::slice::from_ref(&q.item_id)).await?;
            let superseded =
                at.is_some_and(|at| stored.iter().any(|s| timefmt::parse(&s.record.version).is_some_and(|v| v >= at)));
            if !superseded {
                queued += self.store_page(store, None, vec![raw]).await?.queued;
            }
            quarantine::finish(store, &q, superseded).await?;
        }
        Ok(queued)
    }

    /// The members a comment annotates in per-alert mode (each alert's page).
    async fn members(&self, store: &dyn Store, incident: &str) -> anyhow::Result<Vec<StoredAlert>> {
        Ok(match self.client.cfg.page_per {
            PagePer::Alert => store.incident_alerts(&self.tenant.cfg.name, incident).await?,
            PagePer::Incident => Vec::new(),
        })
    }
}

#[async_trait]
impl PullSource for SentinelIncidents {
    fn cursor(&self) -> String {
        model::source(&self.client.cfg.name)
    }
    fn describe(&self) -> String {
        format!("Sentinel workspace {}", self.client.cfg.name)
    }
    fn overlap(&self) -> Duration {
        self.tenant.overlap.overlap_for(&self.cursor())
    }

    /// Whether a portal comment moves the incident's `lastModifiedTimeUtc` is not documented
    /// (`microsoft-apis.md` §3): every `comment_recheck`, the comments of the incidents whose
    /// SIGNL4 alert is still live are read again, so a comment reaches the phone either way.
    /// Annotations are once per comment id, so a comment seen twice is added once. Before
    /// that, quarantined incidents an operator asked to re-run are re-run.
    async fn recheck(&self, store: &dyn Store) -> anyhow::Result<usize> {
        let reruns = self.rerun_quarantined(store).await?;
        let every = self.client.cfg.comment_recheck;
        let due = {
            let mut last = self.last_recheck.lock().unwrap_or_else(|p| p.into_inner());
            let due = !every.is_zero() && last.is_none_or(|t| t.elapsed() >= every);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if !due {
            return Ok(reruns);
        }
        let (t, ws) = (&self.tenant.cfg, &self.client.cfg);
        let mut jobs = Vec::new();
        for row in store.live_pages(&t.name, &self.cursor(), RECHECK_MAX).await? {
            let Some(inc) = serde_json::from_str::<Value>(&row.record.raw).ok().and_then(Incident::from_json) else {
                continue;
            };
            // One incident that cannot be read (deleted, a transient error) does not fail the
            // poll; the budget saying "wait" ends this recheck (the next one comes round).
            let comments = match self.client.comments(&inc.name).await {
                Ok(c) if c.is_empty() => continue,
                Ok(c) => c,
                Err(e) if e.is_held() => break,
                Err(e) => {
                    tracing::warn!(tenant = %t.name, workspace = %ws.name, incident = %inc.name, error = %e, "cannot re-read the incident's portal comments; trying again at the next recheck");
                    continue;
                }
            };
            let members = self.members(store, &inc.name).await?;
            jobs.extend(ingest::sentinel_portal_comments(t, ws, &inc, &row, &comments, &members));
        }
        if jobs.is_empty() {
            return Ok(reruns);
        }
        let created = store.enqueue(&jobs, timefmt::millis(OffsetDateTime::now_utc())).await?;
        if created > 0 {
            tracing::info!(tenant = %t.name, workspace = %ws.name, annotations = created, "portal comments found by the comment recheck");
        }
        Ok(reruns + created)
    }

    async fn first_page(&self, since: OffsetDateTime) -> anyhow::Result<Page> {
        self.next_page(&self.client.incidents_since_url(since, self.tenant.cfg.page_size)).await
    }

    async fn next_page(&self, url: &str) -> anyhow::Result<Page> {
        let v = self.client.get_json(url).await?;
        Ok(Page {
            items: v.get("value").and_then(Value::as_array).cloned().unwrap_or_default(),
            next: v.get("nextLink").and_then(Value::as_str).map(str::to_string),
        })
    }

    async fn store_page(&self, store: &dyn Store, fence: Option<&Fence>, items: Vec<Value>) -> anyhow::Result<Stored> {
        let (t, ws) = (&self.tenant.cfg, &self.client.cfg);
        let source = self.cursor();
        let total = items.len();
        // Items whose processing failed (a panic included): kept aside, the page goes on.
        let mut poisoned = Vec::new();
        let mut incidents: Vec<Incident> = Vec::with_capacity(total);
        for raw in items {
            let copy = raw.clone();
            match ingest::guarded(|| Incident::from_json(raw)) {
                Ok(Some(inc)) => incidents.push(inc),
                Ok(None) => {}
                Err(reason) => {
                    let name = copy.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                    poisoned.push(quarantine::item(t, &source, &name, &copy, &reason));
                }
            }
        }
        if incidents.len() + poisoned.len() < total {
            // Like malformed Graph alerts: counted and said, never silently dropped.
            let skipped = (total - incidents.len() - poisoned.len()) as u64;
            metrics::counter!(crate::telemetry::ALERTS_MALFORMED, "tenant" => t.name.clone()).increment(skipped);
            tracing::warn!(tenant = %t.name, workspace = %ws.name, skipped, "skipping Sentinel incidents without name or a valid lastModifiedTimeUtc");
        }
        let names: Vec<String> = incidents.iter().map(|i| i.name.clone()).collect();
        let prior: HashMap<String, StoredAlert> = store
            .get_alerts(&t.name, &source, &names)
            .await?
            .into_iter()
            .map(|a| (a.record.alert_id.clone(), a))
            .collect();
        let mut out = Stored { read: incidents.len(), ..Default::default() };
        let mut batch = Vec::new();
        let now = timefmt::millis(OffsetDateTime::now_utc());
        let audit_routes = t.audit.is_some() && !t.routes.is_empty();
        for inc in &incidents {
            out.newest = out.newest.max(Some(inc.last_modified));
            let p = prior.get(&inc.name);
            let alerts = match ingest::sentinel_needs_alerts(ws, inc, p) {
                true => Some(self.client.incident_alerts(&inc.name).await?),
                false => None,
            };
            let tracked = match ingest::sentinel_needs_tracked(ws, inc, p) {
                true => store.incident_alerts(&t.name, &inc.name).await?,
                false => Vec::new(),
            };
            // The same Defender incident already paged through Graph: it joins that page.
            let twin = match ingest::sentinel_twin_of(t, ws, inc, p) {
                Some(xdr) => ingest::Twin::find(&t.name, &source, &store.incident_alerts(&t.name, xdr).await?),
                None => None,
            };
            // Comments added in the portal reach the phone as annotations (read before the
            // decision: the decision does no I/O and runs guarded).
            let comments = match p.filter(|_| ingest::sentinel_comments_changed(inc, p)) {
                Some(_) => Some((self.client.comments(&inc.name).await?, self.members(store, &inc.name).await?)),
                None => None,
            };
            let decided = ingest::guarded(|| {
                let mut items = ingest::sentinel_incident(t, ws, inc, p, alerts, &tracked, twin.as_ref());
                if let (Some(prior), Some((comments, members))) = (p, &comments) {
                    let jobs = ingest::sentinel_portal_comments(t, ws, inc, prior, comments, members);
                    match items.iter_mut().find(|i| i.alert.source == source && i.alert.alert_id == inc.name) {
                        Some(item) => item.jobs.extend(jobs),
                        None if jobs.is_empty() => {}
                        None => {
                            tracing::warn!(tenant = %t.name, workspace = %ws.name, incident = %inc.name, "portal comments without an incident version to record them with; skipped")
                        }
                    }
                }
                if audit_routes {
                    for item in &mut items {
                        item.audit = s4s_core::audit::routed(item, now);
                    }
                }
                items
            });
            match decided {
                Ok(items) => batch.extend(items),
                // Counts as stored for the cursor: durable in the quarantine table.
                Err(reason) => poisoned.push(quarantine::item(t, &source, &inc.name, &inc.raw, &reason)),
            }
        }
        out.queued = batch.iter().map(|i| i.jobs.len() + usize::from(i.page.is_some())).sum();
        // The poisoned items are stored with the page, in one transaction: durable exactly when
        // the page is, so the cursor moves past both.
        quarantine::prepare(t, &mut poisoned, now);
        let (o, new) = store.ingest_page(&batch, &poisoned, fence, now).await?;
        quarantine::report(t, &poisoned, new);
        let grouped = batch.iter().filter(|i| i.update.signl4_state.as_deref() == Some("grouped")).count();
        metrics::counter!(crate::telemetry::ALERTS_GROUPED, "tenant" => t.name.clone()).increment(grouped as u64);
        out.new = o.new;
        out.updated = o.updated;
        Ok(out)
    }
}

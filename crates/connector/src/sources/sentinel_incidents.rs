//! Pull source: a Sentinel workspace's incidents changed since the cursor (ARM, `nextLink`),
//! stored as alert rows (`sentinel.<workspace>`) with their pages and portal closes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use s4s_core::config::{PagePer, TenantConfig};
use s4s_core::records::IngestItem;
use s4s_core::sentinel::{self as model, Incident};
use s4s_core::{ingest, timefmt};
use s4s_store::{Fence, Store, StoredAlert};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clients::sentinel::SentinelClient;
use crate::sources::pipeline::{self, Malformed, PageSource};
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
        pipeline::store_page(self, store, fence, items).await
    }
}

/// What an incident's decision reads before it runs.
pub struct IncidentReads {
    /// Its alerts from ARM ([`ingest::sentinel_needs_alerts`]).
    alerts: Option<Vec<Value>>,
    /// Its stored alerts ([`ingest::sentinel_needs_tracked`]).
    tracked: Vec<StoredAlert>,
    /// The page its Graph twin made.
    twin: Option<ingest::Twin>,
    /// Its portal comments and the rows they annotate, when it may have gained comments.
    comments: Option<(Vec<Value>, Vec<StoredAlert>)>,
}

#[async_trait]
impl PageSource for SentinelIncidents {
    type Item = Incident;
    type State = ();
    type Extra = IncidentReads;

    fn tenant(&self) -> &TenantConfig {
        &self.tenant.cfg
    }
    fn source(&self) -> String {
        self.cursor()
    }
    fn describe(&self) -> String {
        PullSource::describe(self)
    }
    fn raw_key(raw: &Value) -> Option<String> {
        raw.get("name").and_then(Value::as_str).map(str::to_string)
    }
    /// Without a name or a valid `lastModifiedTimeUtc` an incident is counted as malformed.
    fn parse(raw: Value) -> Result<Incident, Malformed> {
        Incident::from_json(raw)
            .ok_or_else(|| Malformed { id: None, error: "no name or no valid lastModifiedTimeUtc".into() })
    }
    fn key(inc: &Incident) -> &str {
        &inc.name
    }
    fn changed_at(inc: &Incident) -> OffsetDateTime {
        inc.last_modified
    }
    fn raw(inc: &Incident) -> &Value {
        &inc.raw
    }

    async fn state(&self, _: &dyn Store, _: &[Incident], _: &HashMap<String, StoredAlert>) -> anyhow::Result<()> {
        Ok(())
    }

    async fn enrich(
        &self,
        store: &dyn Store,
        inc: &Incident,
        p: Option<&StoredAlert>,
    ) -> anyhow::Result<IncidentReads> {
        let (t, ws) = (&self.tenant.cfg, &self.client.cfg);
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
            Some(xdr) => ingest::Twin::find(&t.name, &self.cursor(), &store.incident_alerts(&t.name, xdr).await?),
            None => None,
        };
        // Comments added in the portal reach the phone as annotations.
        let comments = match p.filter(|_| ingest::sentinel_comments_changed(inc, p)) {
            Some(_) => Some((self.client.comments(&inc.name).await?, self.members(store, &inc.name).await?)),
            None => None,
        };
        Ok(IncidentReads { alerts, tracked, twin, comments })
    }

    fn decide(&self, _: &mut (), inc: &Incident, p: Option<&StoredAlert>, reads: IncidentReads) -> Vec<IngestItem> {
        let (t, ws) = (&self.tenant.cfg, &self.client.cfg);
        let source = self.cursor();
        let mut items = ingest::sentinel_incident(t, ws, inc, p, reads.alerts, &reads.tracked, reads.twin.as_ref());
        if let (Some(prior), Some((comments, members))) = (p, &reads.comments) {
            let jobs = ingest::sentinel_portal_comments(t, ws, inc, prior, comments, members);
            match items.iter_mut().find(|i| i.alert.source == source && i.alert.alert_id == inc.name) {
                Some(item) => item.jobs.extend(jobs),
                None if jobs.is_empty() => {}
                None => {
                    tracing::warn!(tenant = %t.name, workspace = %ws.name, incident = %inc.name, "portal comments without an incident version to record them with; skipped")
                }
            }
        }
        items
    }
}

//! Pull source: the SIGNL4 REST polling fallback, for when SIGNL4 cannot reach the connector.
//!
//! With `tenant.signl4.api_key` set, every `api_poll_interval` the connector asks SIGNL4's
//! REST API (`X-S4-Api-Key`, `signl4.md` §2) for alerts modified since its cursor, turns the
//! acknowledgements, closes and annotations of *its own* alerts into the same events the
//! webhook receiver handles, and records them through the same path ([`events`]). Change keys
//! are shared with the webhook, so with both on each change still has exactly one effect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use s4s_core::budget::Priority;
use s4s_core::ids::{ExternalId, SOURCE_SIGNL4_REST};
use s4s_core::ingest;
use s4s_core::signl4::event::{events_from_rest_alert, events_from_rest_annotations};
use s4s_core::signl4::rest::RestAlert;
use s4s_store::{Fence, Store};
use serde_json::Value;
use time::OffsetDateTime;

use crate::sources::{Page, PullSource, Stored, events, quarantine};
use crate::tenant::TenantContext;

pub struct Signl4Rest {
    pub tenant: Arc<TenantContext>,
    /// Which of the tenant's teams (`Clients::teams`) this poller reads.
    team: usize,
    /// The `lastModified` of each alert already handled, so the overlap re-read behind the
    /// cursor does not fetch every recent alert's annotations again on every poll (one REST
    /// request per alert against 150 per 15 s, `signl4.md` §1.7). Lost on restart: then each
    /// recent alert is read once more (its events deduplicate by change key).
    seen: Mutex<HashMap<String, OffsetDateTime>>,
}

/// `lastModified` may be coarse (whole seconds): a version modified this shortly before we
/// handled it may hide a later change with the same timestamp, so it is read again.
const SETTLED: time::Duration = time::Duration::seconds(2);

/// How far the REST poller re-reads behind its cursor (see `overlap`).
const REST_OVERLAP: Duration = Duration::from_secs(5);

impl Signl4Rest {
    /// Polls the tenant's `team` (index into `Clients::teams`; 0 = the tenant's own).
    pub fn new(tenant: Arc<TenantContext>, team: usize) -> Signl4Rest {
        Signl4Rest { tenant, team, seen: Mutex::new(HashMap::new()) }
    }

    fn api(&self) -> Option<&crate::clients::signl4_api::Signl4Api> {
        self.tenant.clients.teams.get(self.team).and_then(|t| t.api.as_ref())
    }

    /// The route of the team polled (`default` for the tenant's own).
    fn route(&self) -> &str {
        self.tenant.clients.teams.get(self.team).map(|t| t.route.as_str()).unwrap_or(s4s_core::route::DEFAULT_ROUTE)
    }

    /// True when this version of the alert was handled already.
    fn seen(&self, a: &RestAlert) -> bool {
        let Some(m) = a.last_modified else { return false };
        self.seen.lock().map(|s| s.get(&a.id).is_some_and(|t| *t >= m)).unwrap_or(false)
    }

    fn remember(&self, a: &RestAlert) {
        let Some(m) = a.last_modified else { return };
        if m > OffsetDateTime::now_utc() - SETTLED {
            return;
        }
        if let Ok(mut s) = self.seen.lock() {
            s.insert(a.id.clone(), m);
            // Keep it bounded: forget versions older than a day (they are behind any cursor).
            if s.len() > 50_000 {
                let cutoff = OffsetDateTime::now_utc() - time::Duration::days(1);
                s.retain(|_, t| *t > cutoff);
            }
        }
    }
}

#[async_trait]
impl PullSource for Signl4Rest {
    fn cursor(&self) -> String {
        match self.route() {
            s4s_core::route::DEFAULT_ROUTE => SOURCE_SIGNL4_REST.into(),
            r => format!("{SOURCE_SIGNL4_REST}.{r}"),
        }
    }
    fn describe(&self) -> String {
        match self.route() {
            s4s_core::route::DEFAULT_ROUTE => "the SIGNL4 REST API".into(),
            r => format!("the SIGNL4 REST API (team of route {r})"),
        }
    }
    /// Below pages: an in-doubt page's lookup (same REST budget) must not wait behind a
    /// poll's annotation reads.
    fn priority(&self) -> Priority {
        Priority::WriteBack
    }
    /// The cursor is SIGNL4's own `lastModified` (no clock skew, no indexing delay as with
    /// Graph), so the re-read behind it only covers timestamps coarser than a change (whole
    /// seconds): 5 s, not the tenant's `overlap`. Each re-read alert costs an annotations
    /// request at SIGNL4's REST limit (150 per 15 s, `signl4.md` §1.7), and after a restart
    /// every alert in the window is re-read once.
    fn overlap(&self) -> Duration {
        self.tenant.cfg.overlap.min(REST_OVERLAP)
    }

    /// Re-runs the quarantined REST alerts (or events of them) an operator asked for (`jobs
    /// retry quarantine:<id>`) through [`PullSource::store_page`]; each change still has one
    /// effect (change keys).
    async fn recheck(&self, store: &dyn Store) -> anyhow::Result<usize> {
        let mut queued = 0;
        for (q, raw) in quarantine::due(store, &self.tenant.cfg, &self.cursor()).await? {
            // Not "already handled": the re-run must read it again.
            if let (Some(id), Ok(mut seen)) = (raw.get("id").and_then(Value::as_str), self.seen.lock()) {
                seen.remove(id);
            }
            queued += self.store_page(store, None, vec![raw]).await?.queued;
            quarantine::finish(store, &q, false).await?;
        }
        Ok(queued)
    }

    async fn first_page(&self, since: OffsetDateTime) -> anyhow::Result<Page> {
        let Some(api) = self.api() else { return Ok(Page { items: Vec::new(), next: None }) };
        // The client follows `hasMore` / `continuationToken` itself.
        Ok(Page { items: api.alerts_modified_since(since).await?, next: None })
    }

    async fn next_page(&self, _next: &str) -> anyhow::Result<Page> {
        Ok(Page { items: Vec::new(), next: None })
    }

    async fn store_page(&self, store: &dyn Store, _fence: Option<&Fence>, items: Vec<Value>) -> anyhow::Result<Stored> {
        let tenant = &self.tenant;
        let Some(api) = self.api() else { return Ok(Stored::default()) };
        let mut out = Stored::default();
        // V1 or V2 shape (`signl4.md` §2.3 / §2.4), only alerts this connector raised for this tenant.
        let mut alerts: Vec<RestAlert> = Vec::new();
        // A REST alert whose processing fails (a panic included) is kept aside with its JSON,
        // and the rest go on.
        let mut raws: HashMap<String, Value> = HashMap::new();
        let mut poisoned = Vec::new();
        for raw in &items {
            let a = match ingest::guarded(|| RestAlert::from_json(raw)) {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(reason) => {
                    let id = raw.get("id").and_then(Value::as_str).unwrap_or_default();
                    poisoned.push(quarantine::item(&tenant.cfg, &self.cursor(), id, raw, &reason));
                    continue;
                }
            };
            out.newest = out.newest.max(a.last_modified);
            let ours =
                a.external_id.as_deref().and_then(ExternalId::parse).is_some_and(|e| e.tenant == tenant.cfg.name);
            if ours && !self.seen(&a) {
                raws.insert(a.id.clone(), raw.clone());
                alerts.push(a);
            }
        }
        quarantine::record(store, None, &tenant.cfg, poisoned).await?;
        // V2 names users by id only: resolve them to e-mail addresses (the `assignedTo` of a
        // Graph alert), falling back to the id when SIGNL4 cannot tell.
        let wanted: Vec<String> = alerts.iter().flat_map(RestAlert::unresolved_user_ids).collect();
        let users = if alerts.is_empty() { Default::default() } else { api.users(&wanted).await };
        for mut a in alerts {
            a.resolve_users(&users);
            let raw = raws.remove(&a.id).unwrap_or_default();
            let mut evs = match ingest::guarded(|| events_from_rest_alert(&a)) {
                Ok(evs) => evs,
                Err(reason) => {
                    quarantine::record(
                        store,
                        None,
                        &tenant.cfg,
                        vec![quarantine::item(&tenant.cfg, &self.cursor(), &a.id, &raw, &reason)],
                    )
                    .await?;
                    continue;
                }
            };
            // A new alert whose `lastModified` is exactly its `created` was never touched: no
            // annotations to read (this saves one REST request per alert of a storm). Anything
            // else is read: the two may differ in precision (whole seconds vs milliseconds), so
            // "modified earlier than created" also means modified.
            let untouched = a.status == Some(1) && a.last_modified.is_some() && a.last_modified == a.created;
            if !untouched {
                let annotations = api.annotations(&a.id).await?;
                match ingest::guarded(|| events_from_rest_annotations(&a, &annotations, &users)) {
                    Ok(more) => evs.extend(more),
                    Err(reason) => {
                        let q = quarantine::item(&tenant.cfg, &self.cursor(), &a.id, &raw, &reason);
                        quarantine::record(store, None, &tenant.cfg, vec![q]).await?;
                        continue;
                    }
                }
            }
            // The API key reads with its team's rights; act only on that team's alerts (the
            // tenant's own key also covers teams without a key of their own), as the webhook.
            let has_own = |i: usize| tenant.clients.teams.get(i).is_some_and(|t| t.api.is_some());
            let grant = events::grant(tenant, |i| i == self.team, has_own);
            for ev in evs {
                if events::record_or_quarantine(store, tenant, &grant, &ev, &self.cursor(), &raw).await?.is_effect() {
                    out.queued += 1;
                    out.read += 1;
                }
            }
            // Recorded (or deduplicated): this version needs no second look.
            self.remember(&a);
        }
        Ok(out)
    }
}

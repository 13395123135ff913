//! Executing outbox jobs: pages to SIGNL4, write-backs to Graph, status changes to SIGNL4.
//!
//! Workers claim due jobs with a lease, perform the effect, and only then mark them done
//! (fenced by the lease owner and the payload revision, so a job coalesced with newer work
//! while it ran runs again). A transient failure (network, 5xx, 429) reschedules the job
//! with exponential backoff and jitter, never sooner than `Retry-After` /
//! `X-RateLimit-Reset`; a job still failing `dead_letter_after` after it was queued moves to
//! the dead-letter state, as does one rejected permanently (4xx). A wrong SIGNL4 team secret
//! (404) parks the tenant's SIGNL4 jobs and says so once, loudly, instead of hammering SIGNL4.
//!
//! The only duplicate window: the effect succeeded and the process died before the commit.
//! For pages SIGNL4 then shows the alert twice; Graph writes are re-planned against the
//! alert's current state, so a retry never adds a second comment.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use s4s_core::config::DeliveryConfig;
use s4s_core::keys;
use s4s_core::retry::next_delay;
use s4s_core::sync::{self, AlertSync, IncidentSync, Signl4State};
use s4s_core::timefmt;
use s4s_store::{AlertKey, AlertUpdate, FollowUp, Job, NewJob, Store};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore, watch};

use crate::runtime::{JOB_GRAPH_SYNC, JOB_INCIDENT_SYNC, JOB_PAGE, JOB_SIGNL4_STATUS, TenantRuntime};
use crate::upstream::UpstreamError;

pub struct Delivery {
    pub store: Arc<dyn Store>,
    pub tenants: HashMap<String, Arc<TenantRuntime>>,
    pub cfg: DeliveryConfig,
    pub wake: Arc<Notify>,
    pub owner: String,
}

pub fn now_ms() -> i64 {
    timefmt::millis(OffsetDateTime::now_utc())
}

/// After a Graph page: remember SIGNL4's event id (fallback correlation) and ask for the
/// incident tag — committed with the page's completion, in one transaction.
fn after_page(rt: &TenantRuntime, external_id: &str, event_id: Option<&str>, incident: Option<&str>) -> FollowUp {
    let mut f = FollowUp::default();
    let Some((tenant, source, alert_id)) = keys::parse_external_id(external_id) else { return f };
    if let Some(ev) = event_id {
        let key = AlertKey { tenant: tenant.into(), source: source.into(), alert_id: alert_id.into() };
        f.update = Some((key, AlertUpdate { signl4_event_id: Some(ev.into()), ..Default::default() }));
    }
    // The first page of an incident tags it: a plain once-only job (one INSERT … ON CONFLICT
    // DO NOTHING per page), separate from the coalescing roll-up job; the plan skips a tag
    // that is already there.
    if let (Some(tag), true, Some(inc)) = (&rt.cfg.sync.incident_tag, rt.cfg.sync.enabled, incident) {
        let intent = IncidentSync { incident_id: inc.to_string(), tag: Some(tag.clone()), ..Default::default() };
        f.jobs.push(NewJob::once(
            &rt.cfg.name,
            JOB_INCIDENT_SYNC,
            format!("tag:{}:{inc}", rt.cfg.name),
            serde_json::to_string(&intent).unwrap_or_default(),
        ));
    }
    f
}

fn incident_job(tenant: &str, intent: IncidentSync) -> NewJob {
    NewJob::coalescing(
        tenant,
        JOB_INCIDENT_SYNC,
        format!("incident:{tenant}:{}", intent.incident_id),
        serde_json::to_string(&intent).unwrap_or_default(),
        sync::merge_incident_sync_json,
    )
}

/// How a job attempt ended.
enum Outcome {
    Done(String),
    /// Done, with bookkeeping and follow-up jobs committed together with the completion.
    DoneWith(String, FollowUp),
    /// Not attempted now (local rate limit); try again after the delay.
    Defer(Duration),
    Failed(UpstreamError),
    /// Stored payload unusable: dead-letter it.
    Broken(String),
}

impl Delivery {
    /// Runs until `shutdown`; in-flight jobs finish first.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.cfg.concurrency));
        let lease_ms = self.cfg.lease.as_millis() as i64;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Register interest before querying, so a wake-up during the query is not lost.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let free = permits.available_permits() as i64;
            let jobs = if free > 0 {
                // Claim up to twice the free slots: under load this halves the claim
                // transactions; the extra jobs wait at most one job's duration for a slot,
                // well inside their lease (`delivery.lease` > 2 × `request_timeout`).
                let want = (free * 2).min(self.cfg.concurrency as i64 * 2);
                match self.store.claim_jobs(&self.owner, now_ms(), lease_ms, want).await {
                    Ok(j) => j,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot claim jobs from the database");
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            };
            if !jobs.is_empty() {
                for job in jobs {
                    let Ok(permit) = permits.clone().acquire_owned().await else { return };
                    let me = self.clone();
                    tokio::spawn(async move {
                        me.execute(job).await;
                        drop(permit);
                        me.wake.notify_one();
                    });
                }
                continue;
            }
            // Nothing due: sleep until the next job is due, a wake-up, or 1 s (other
            // replicas may have added jobs).
            let wait = match self.store.next_due_ms().await {
                Ok(Some(due)) => Duration::from_millis((due - now_ms()).clamp(0, 1000) as u64),
                _ => Duration::from_secs(1),
            };
            if free == 0 || wait > Duration::ZERO {
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        // Wait for in-flight jobs.
        let _ = permits.acquire_many(self.cfg.concurrency as u32).await;
    }

    async fn execute(&self, job: Job) {
        let Some(rt) = self.tenants.get(&job.tenant).cloned() else {
            // The tenant was removed from the configuration; keep the job for a later config.
            tracing::warn!(tenant = %job.tenant, key = %job.key, "job for a tenant that is not configured; retrying in 1 h");
            let _ = self
                .store
                .retry_job(job.id, &self.owner, now_ms() + 3_600_000, "tenant not configured", now_ms())
                .await;
            return;
        };
        let to_signl4 =
            job.kind == JOB_PAGE || job.kind == JOB_SIGNL4_STATUS || job.kind == crate::sentinel::JOB_SENTINEL_PAGE;
        if to_signl4 && rt.should_park_pages() {
            let why = rt.status().signl4_rejected.unwrap_or_default();
            let _ = self.store.retry_job(job.id, &self.owner, now_ms(), &why, now_ms()).await;
            let _ = self.store.pause_jobs(&job.tenant, &job.kind, &why, now_ms()).await;
            return;
        }
        let started = std::time::Instant::now();
        let outcome = match job.kind.as_str() {
            JOB_PAGE => self.send_page(&rt, &job).await,
            JOB_SIGNL4_STATUS => self.send_signl4_status(&rt, &job).await,
            JOB_GRAPH_SYNC => self.sync_alert(&rt, &job).await,
            JOB_INCIDENT_SYNC => self.sync_incident(&rt, &job).await,
            crate::sentinel::JOB_SENTINEL_PAGE => self.sentinel_page(&rt, &job).await,
            crate::sentinel::JOB_SENTINEL_SYNC => self.sentinel_sync(&rt, &job).await,
            crate::sentinel::JOB_SENTINEL_ENRICH => self.sentinel_enrich(&rt, &job).await,
            other => Outcome::Broken(format!("unknown job kind {other} (written by a newer version?)")),
        };
        metrics::histogram!("s4s_job_seconds", "kind" => job.kind.clone()).record(started.elapsed().as_secs_f64());
        self.finish(&rt, job, outcome).await;
    }

    async fn finish(&self, rt: &TenantRuntime, job: Job, outcome: Outcome) {
        let tenant = rt.cfg.name.clone();
        match outcome {
            Outcome::Defer(delay) => {
                tracing::debug!(tenant = %tenant, key = %job.key, delay_ms = delay.as_millis() as u64, "job deferred by the local rate limit");
                let _ = self
                    .store
                    .retry_job(
                        job.id,
                        &self.owner,
                        now_ms() + delay.as_millis() as i64,
                        "deferred (rate limit)",
                        now_ms(),
                    )
                    .await;
            }
            Outcome::Done(_) | Outcome::DoneWith(..) => {
                let (result, follow) = match outcome {
                    Outcome::DoneWith(r, f) => (r, f),
                    Outcome::Done(r) => (r, FollowUp::default()),
                    _ => unreachable!("matched above"),
                };
                let had_jobs = !follow.jobs.is_empty();
                match self.store.complete_job_with(job.id, &self.owner, job.rev, &result, &follow, now_ms()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::debug!(tenant = %tenant, key = %job.key, "job changed while running (coalesced) or lease lost; it runs again")
                    }
                    Err(e) => {
                        tracing::error!(tenant = %tenant, key = %job.key, error = %e, "done, but could not record it; it may run again")
                    }
                }
                if had_jobs {
                    self.wake.notify_one();
                }
                metrics::counter!("s4s_jobs_done_total", "tenant" => tenant, "kind" => job.kind.clone()).increment(1);
            }
            Outcome::Broken(why) => {
                tracing::error!(tenant = %tenant, key = %job.key, error = %why, "job moved to dead letters");
                metrics::counter!("s4s_jobs_dead_total", "tenant" => tenant).increment(1);
                let _ = self.store.bury_job(job.id, &self.owner, &why, now_ms()).await;
            }
            Outcome::Failed(e) if e.status() == Some(404) && e.to_string().starts_with("SIGNL4:") => {
                metrics::counter!("s4s_delivery_failures_total", "tenant" => tenant.clone(), "kind" => "rejected")
                    .increment(1);
                let msg = e.to_string();
                if rt.signl4_rejected(&msg) {
                    tracing::error!(tenant = %tenant, error = %msg, "SIGNL4 REJECTED THE TEAM SECRET: pages for this tenant are parked (nothing is lost). Fix tenant.signl4.team_secret and restart signl4-sentinel to send them.");
                }
                let _ = self.store.retry_job(job.id, &self.owner, now_ms(), &msg, now_ms()).await;
                for kind in [JOB_PAGE, JOB_SIGNL4_STATUS, crate::sentinel::JOB_SENTINEL_PAGE] {
                    let _ = self.store.pause_jobs(&tenant, kind, &msg, now_ms()).await;
                }
            }
            Outcome::Failed(e) => {
                let transient = e.is_transient();
                metrics::counter!("s4s_delivery_failures_total", "tenant" => tenant.clone(), "kind" => if transient { "transient" } else { "permanent" }).increment(1);
                let age = Duration::from_millis((now_ms() - job.created_ms).max(0) as u64);
                if !transient || age >= self.cfg.dead_letter_after {
                    let why = if transient {
                        format!("gave up after {}s: {e}", age.as_secs())
                    } else {
                        format!("rejected: {e}")
                    };
                    tracing::error!(tenant = %tenant, key = %job.key, error = %why, "job moved to dead letters; see `signl4-sentinel jobs --dead`");
                    metrics::counter!("s4s_jobs_dead_total", "tenant" => tenant.clone()).increment(1);
                    let _ = self.store.bury_job(job.id, &self.owner, &why, now_ms()).await;
                    return;
                }
                let delay = next_delay(
                    e.retry_after(),
                    (job.attempts - 1).max(0) as u32,
                    self.cfg.initial_backoff,
                    self.cfg.max_backoff,
                    rand::random::<f64>(),
                );
                tracing::warn!(tenant = %tenant, key = %job.key, attempt = job.attempts, retry_in_ms = delay.as_millis() as u64, error = %e, "job failed; will retry");
                let _ = self
                    .store
                    .retry_job(job.id, &self.owner, now_ms() + delay.as_millis() as i64, &e.to_string(), now_ms())
                    .await;
            }
        }
    }

    async fn send_page(&self, rt: &TenantRuntime, job: &Job) -> Outcome {
        let body: Map<String, Value> = match serde_json::from_str(&job.payload) {
            Ok(Value::Object(m)) => m,
            _ => return Outcome::Broken("stored page payload is not a JSON object".into()),
        };
        let started = std::time::Instant::now();
        match rt.signl4.send(&body).await {
            Ok(event_id) => {
                rt.page_sent();
                let tenant = rt.cfg.name.clone();
                metrics::counter!("s4s_pages_sent_total", "tenant" => tenant.clone()).increment(1);
                metrics::histogram!("s4s_signl4_request_seconds").record(started.elapsed().as_secs_f64());
                let title = body.get("Title").and_then(|v| v.as_str()).unwrap_or("");
                let external_id = body.get("X-S4-ExternalID").and_then(|v| v.as_str()).unwrap_or("");
                tracing::info!(tenant = %tenant, title = %title, external_id = %external_id, event_id = event_id.as_deref().unwrap_or("-"), "paged");
                let incident = body.get("Incident ID").and_then(|v| v.as_str());
                let follow = after_page(rt, external_id, event_id.as_deref(), incident);
                Outcome::DoneWith(serde_json::json!({ "eventId": event_id }).to_string(), follow)
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    async fn send_signl4_status(&self, rt: &TenantRuntime, job: &Job) -> Outcome {
        let body: Map<String, Value> = match serde_json::from_str(&job.payload) {
            Ok(Value::Object(m)) => m,
            _ => return Outcome::Broken("stored SIGNL4 status payload is not a JSON object".into()),
        };
        match rt.signl4.send(&body).await {
            Ok(event_id) => {
                let status = body.get("X-S4-Status").and_then(|v| v.as_str()).unwrap_or("");
                tracing::info!(tenant = %rt.cfg.name, status = %status, external_id = %body.get("X-S4-ExternalID").and_then(|v| v.as_str()).unwrap_or(""), "SIGNL4 alert updated after a change in the portal");
                metrics::counter!("s4s_signl4_status_sent_total", "tenant" => rt.cfg.name.clone(), "status" => status.to_string()).increment(1);
                Outcome::Done(serde_json::json!({ "eventId": event_id }).to_string())
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Brings a Graph alert to the state SIGNL4 asked for: GET (current state and comments),
    /// PATCH only what differs, POST only comments not yet there.
    async fn sync_alert(&self, rt: &TenantRuntime, job: &Job) -> Outcome {
        let intent: AlertSync = match serde_json::from_str(&job.payload) {
            Ok(s) => s,
            Err(e) => return Outcome::Broken(format!("stored sync payload is unreadable: {e}")),
        };
        let current = match rt.graph.get_alert(&intent.alert_id).await {
            Ok(v) => v,
            Err(e) => return Outcome::Failed(e),
        };
        let plan = sync::alert_plan(&intent, &current);
        let key = AlertKey {
            tenant: rt.cfg.name.clone(),
            source: keys::SOURCE_GRAPH_ALERT.into(),
            alert_id: intent.alert_id.clone(),
        };
        if let Some(patch) = &plan.patch {
            // Record what we are about to write *before* writing it, so the poller recognises
            // the change as our own echo even if we crash right after the PATCH.
            if let Some(status) = patch.get("status").and_then(Value::as_str) {
                let u = AlertUpdate { written_status: Some(status.to_string()), ..Default::default() };
                if let Err(e) = self.store.update_alert(&key, &u, now_ms()).await {
                    return Outcome::Failed(UpstreamError::Invalid { service: "database", message: e.to_string() });
                }
            }
            if let Err(e) = rt.graph.patch_alert(&intent.alert_id, patch).await {
                return Outcome::Failed(e);
            }
        }
        for c in &plan.comments {
            if let Err(e) = rt.graph.post_alert_comment(&intent.alert_id, c).await {
                return Outcome::Failed(e);
            }
        }
        metrics::counter!("s4s_graph_writes_total", "tenant" => rt.cfg.name.clone(), "what" => "alert")
            .increment(u64::from(plan.patch.is_some()) + plan.comments.len() as u64);
        tracing::info!(tenant = %rt.cfg.name, alert = %intent.alert_id, status = intent.status.as_deref().unwrap_or("-"), patched = plan.patch.is_some(), comments = plan.comments.len(), "SIGNL4 response written to the Graph alert");
        // Notes do not change states: only status changes can move the incident. The roll-up
        // job is committed with this job's completion.
        let mut follow = FollowUp::default();
        if let (Some(incident), Some(_)) = (&intent.incident_id, &intent.status) {
            follow.jobs.extend(self.roll_up(rt, incident, &intent).await);
        }
        Outcome::DoneWith(
            serde_json::json!({"patched": plan.patch.is_some(), "comments": plan.comments.len()}).to_string(),
            follow,
        )
    }

    /// The incident follows when all its tracked alerts are acknowledged or closed: the job
    /// that moves it, if it should move.
    async fn roll_up(&self, rt: &TenantRuntime, incident: &str, intent: &AlertSync) -> Option<NewJob> {
        let alerts = match self.store.incident_alerts(&rt.cfg.name, incident).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the incident's alerts for the roll-up");
                return None;
            }
        };
        let states: Vec<Signl4State> = alerts.iter().map(|a| Signl4State::parse(&a.signl4_state)).collect();
        let status = sync::incident_rollup(&states)?;
        let resolved = status == "resolved";
        let roll = IncidentSync {
            incident_id: incident.to_string(),
            tag: None,
            status: Some(status.to_string()),
            assigned_to: intent.assigned_to.clone(),
            classification: if resolved { rt.cfg.sync.options.close_classification.clone() } else { None },
            determination: if resolved { rt.cfg.sync.options.close_determination.clone() } else { None },
        };
        Some(incident_job(&rt.cfg.name, roll))
    }

    /// Pages a Sentinel incident (or one of its alerts), with rule-query results when they
    /// arrive within the enrichment budget; otherwise a later job adds them as a comment.
    async fn sentinel_page(&self, rt: &TenantRuntime, job: &Job) -> Outcome {
        use s4s_core::sentinel::{self as model, Enrichment, Incident, SentinelAlert};
        let p: crate::sentinel::PageJob = match serde_json::from_str(&job.payload) {
            Ok(p) => p,
            Err(e) => return Outcome::Broken(format!("stored Sentinel page is unreadable: {e}")),
        };
        let Some(client) = rt.workspace(&p.workspace).cloned() else {
            return Outcome::Broken(format!("Sentinel workspace {} is no longer configured", p.workspace));
        };
        let Some(inc) = Incident::from_json(p.incident.clone()) else {
            return Outcome::Broken("stored incident is unreadable".into());
        };
        let alerts: Vec<SentinelAlert> = p.alerts.iter().cloned().filter_map(SentinelAlert::from_json).collect();
        let target: Vec<SentinelAlert> = match &p.alert {
            Some(a) => SentinelAlert::from_json(a.clone()).into_iter().collect(),
            None => alerts.clone(),
        };
        let enrichment = crate::sentinel::enrich(&client, &target, Some(client.cfg.enrichment_budget)).await;
        let page = match &p.alert {
            Some(_) if !target.is_empty() => {
                model::alert_page(&rt.cfg.name, &client.cfg, &inc, &target[0], &enrichment, &rt.cfg.signl4)
            }
            _ => model::incident_page(&rt.cfg.name, &client.cfg, &inc, &alerts, &enrichment, &rt.cfg.signl4),
        };
        match rt.signl4.send(&page.body).await {
            Ok(event_id) => {
                rt.page_sent();
                metrics::counter!("s4s_pages_sent_total", "tenant" => rt.cfg.name.clone()).increment(1);
                tracing::info!(tenant = %rt.cfg.name, workspace = %p.workspace, title = %page.body.get("Title").and_then(|v| v.as_str()).unwrap_or(""), enrichment = ?std::mem::discriminant(&enrichment), "paged (Sentinel)");
                let mut follow = FollowUp::default();
                if rt.cfg.sync.enabled && client.cfg.label.is_some() {
                    let intent = AlertSync { alert_id: inc.name.clone(), ..Default::default() };
                    let ext = keys::external_id(&rt.cfg.name, &model::source(&p.workspace), &inc.name);
                    follow.jobs.push(crate::sentinel::sync_job(&rt.cfg.name, &p.workspace, &ext, intent, true));
                }
                if enrichment == Enrichment::Pending {
                    follow.jobs.push(NewJob::once(
                        &rt.cfg.name,
                        crate::sentinel::JOB_SENTINEL_ENRICH,
                        format!("enrich:{}", page.external_id),
                        job.payload.clone(),
                    ));
                }
                if let Some((t, src, id)) = keys::parse_external_id(&page.external_id)
                    && let Some(ev) = &event_id
                {
                    let key = AlertKey { tenant: t.into(), source: src.into(), alert_id: id.into() };
                    follow.update =
                        Some((key, AlertUpdate { signl4_event_id: Some(ev.clone()), ..Default::default() }));
                }
                Outcome::DoneWith(serde_json::json!({ "eventId": event_id }).to_string(), follow)
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Rule-query results that missed the page's time budget, added as an incident comment.
    async fn sentinel_enrich(&self, rt: &TenantRuntime, job: &Job) -> Outcome {
        use s4s_core::sentinel::{self as model, Enrichment, SentinelAlert};
        let p: crate::sentinel::PageJob = match serde_json::from_str(&job.payload) {
            Ok(p) => p,
            Err(e) => return Outcome::Broken(format!("stored Sentinel page is unreadable: {e}")),
        };
        let Some(client) = rt.workspace(&p.workspace).cloned() else {
            return Outcome::Broken("workspace no longer configured".into());
        };
        let target: Vec<SentinelAlert> = match &p.alert {
            Some(a) => SentinelAlert::from_json(a.clone()).into_iter().collect(),
            None => p.alerts.iter().cloned().filter_map(SentinelAlert::from_json).collect(),
        };
        let text = match crate::sentinel::enrich(&client, &target, None).await {
            Enrichment::Results(r) => format!("Rule query results (signl4-sentinel):\n{r}"),
            Enrichment::Failed(e) => format!("Rule query results unavailable (signl4-sentinel): {e}"),
            Enrichment::None | Enrichment::Pending => return Outcome::Done("{}".into()),
        };
        let Some(incident) = p.incident.get("name").and_then(Value::as_str) else {
            return Outcome::Broken("incident without name".into());
        };
        match client.put_comment(incident, &model::comment_id(&job.key), &text).await {
            Ok(_) => Outcome::Done("{\"comment\":true}".into()),
            Err(e) => Outcome::Failed(e),
        }
    }

    /// SIGNL4 response → Sentinel incident (read-modify-write with etag; comments with
    /// client-chosen ids). In per-alert mode the incident follows when all its paged alerts did.
    async fn sentinel_sync(&self, rt: &TenantRuntime, job: &Job) -> Outcome {
        let p: crate::sentinel::SyncJob = match serde_json::from_str(&job.payload) {
            Ok(p) => p,
            Err(e) => return Outcome::Broken(format!("stored Sentinel sync is unreadable: {e}")),
        };
        let Some(client) = rt.workspace(&p.workspace).cloned() else {
            return Outcome::Broken("workspace no longer configured".into());
        };
        let mut intent = p.sync.clone();
        let (incident, key) = match &intent.incident_id {
            // Per-alert mode: the alert's incident follows only when all paged alerts did.
            Some(inc) => {
                let src = s4s_core::sentinel::alert_source(&p.workspace);
                let states: Vec<Signl4State> = match self.store.incident_alerts(&rt.cfg.name, inc).await {
                    Ok(a) => a.iter().map(|x| Signl4State::parse(&x.signl4_state)).collect(),
                    Err(e) => {
                        return Outcome::Failed(UpstreamError::Invalid { service: "database", message: e.to_string() });
                    }
                };
                intent.status = sync::incident_rollup(&states).map(str::to_string);
                (inc.clone(), AlertKey { tenant: rt.cfg.name.clone(), source: src, alert_id: intent.alert_id.clone() })
            }
            None => (
                intent.alert_id.clone(),
                AlertKey {
                    tenant: rt.cfg.name.clone(),
                    source: s4s_core::sentinel::source(&p.workspace),
                    alert_id: intent.alert_id.clone(),
                },
            ),
        };
        match crate::sentinel::write_back(
            &client,
            &self.store,
            &key,
            &incident,
            &intent,
            p.label || intent.status.is_some(),
        )
        .await
        {
            Ok((wrote, comments)) => {
                metrics::counter!("s4s_sentinel_writes_total", "tenant" => rt.cfg.name.clone())
                    .increment(u64::from(wrote) + comments as u64);
                tracing::info!(tenant = %rt.cfg.name, incident = %incident, status = intent.status.as_deref().unwrap_or("-"), updated = wrote, comments, "Sentinel incident updated");
                Outcome::Done(serde_json::json!({"updated": wrote, "comments": comments}).to_string())
            }
            Err(e) => Outcome::Failed(e),
        }
    }

    async fn sync_incident(&self, rt: &TenantRuntime, job: &Job) -> Outcome {
        // Incident housekeeping shares Graph's 150 requests/min with polling and alert
        // write-backs; cap it so a storm of new incidents cannot starve them.
        if let Err(wait) = rt.take_incident_budget() {
            return Outcome::Defer(wait);
        }
        let intent: IncidentSync = match serde_json::from_str(&job.payload) {
            Ok(s) => s,
            Err(e) => return Outcome::Broken(format!("stored incident payload is unreadable: {e}")),
        };
        let current = match rt.graph.get_incident(&intent.incident_id).await {
            Ok(v) => v,
            Err(e) => return Outcome::Failed(e),
        };
        let Some(patch) = sync::incident_plan(&intent, &current) else {
            return Outcome::Done("{\"patched\":false}".into());
        };
        if let Err(e) = rt.graph.patch_incident(&intent.incident_id, &patch).await {
            return Outcome::Failed(e);
        }
        metrics::counter!("s4s_graph_writes_total", "tenant" => rt.cfg.name.clone(), "what" => "incident").increment(1);
        tracing::info!(tenant = %rt.cfg.name, incident = %intent.incident_id, fields = ?patch.keys().collect::<Vec<_>>(), "Graph incident updated");
        Outcome::Done("{\"patched\":true}".into())
    }
}

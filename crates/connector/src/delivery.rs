//! Delivering outbox jobs to SIGNL4.
//!
//! Workers claim due jobs with a lease, send them, and only then mark them done (fenced by
//! the lease owner). A transient failure (network, 5xx, 429) reschedules the job with
//! exponential backoff and jitter, never sooner than `Retry-After` / `X-RateLimit-Reset`; a
//! job still failing `dead_letter_after` after it was created moves to the dead-letter state.
//! A wrong team secret (404) parks the tenant's pages and says so once, loudly, instead of
//! hammering SIGNL4.
//!
//! The only duplicate window: SIGNL4 answered 201 and the process died before
//! `complete_job` committed. After the lease expires the page is sent again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use s4s_core::config::DeliveryConfig;
use s4s_core::retry::next_delay;
use s4s_core::timefmt;
use s4s_store::{Job, Store};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore, watch};

use crate::runtime::{JOB_PAGE, TenantRuntime};

pub struct Delivery {
    pub store: Arc<dyn Store>,
    pub tenants: HashMap<String, Arc<TenantRuntime>>,
    pub cfg: DeliveryConfig,
    pub wake: Arc<Notify>,
    pub owner: String,
}

fn now_ms() -> i64 {
    timefmt::millis(OffsetDateTime::now_utc())
}

impl Delivery {
    /// Runs until `shutdown`; in-flight deliveries finish first.
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
                match self.store.claim_jobs(&self.owner, now_ms(), lease_ms, free).await {
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
        // Wait for in-flight deliveries.
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
        match job.kind.as_str() {
            JOB_PAGE => self.send_page(&rt, job).await,
            other => {
                tracing::error!(kind = %other, key = %job.key, "unknown job kind (written by a newer version?); moving to dead letters");
                let _ = self.store.bury_job(job.id, &self.owner, &format!("unknown job kind {other}"), now_ms()).await;
            }
        }
    }

    async fn send_page(&self, rt: &TenantRuntime, job: Job) {
        let tenant = rt.cfg.name.clone();
        let body: Map<String, Value> = match serde_json::from_str(&job.payload) {
            Ok(Value::Object(m)) => m,
            _ => {
                let _ = self.store.bury_job(job.id, &self.owner, "stored payload is not a JSON object", now_ms()).await;
                return;
            }
        };
        if rt.should_park_pages() {
            let why = rt.status().signl4_rejected.unwrap_or_default();
            let _ = self.store.retry_job(job.id, &self.owner, now_ms(), &why, now_ms()).await;
            let _ = self.store.pause_jobs(&tenant, JOB_PAGE, &why, now_ms()).await;
            return;
        }
        let started = std::time::Instant::now();
        match rt.signl4.send(&body).await {
            Ok(event_id) => {
                let result = serde_json::json!({ "eventId": event_id }).to_string();
                match self.store.complete_job(job.id, &self.owner, &result, now_ms()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(tenant = %tenant, key = %job.key, "lease lost while paging (job took longer than delivery.lease); another worker may page again")
                    }
                    Err(e) => {
                        tracing::error!(tenant = %tenant, key = %job.key, error = %e, "paged, but could not record it; the page may be sent again")
                    }
                }
                rt.page_sent();
                metrics::counter!("s4s_pages_sent_total", "tenant" => tenant.clone()).increment(1);
                metrics::histogram!("s4s_signl4_request_seconds").record(started.elapsed().as_secs_f64());
                let title = body.get("Title").and_then(|v| v.as_str()).unwrap_or("");
                let external_id = body.get("X-S4-ExternalID").and_then(|v| v.as_str()).unwrap_or("");
                tracing::info!(tenant = %tenant, title = %title, external_id = %external_id, event_id = event_id.as_deref().unwrap_or("-"), "paged");
            }
            Err(e) if e.status() == Some(404) => {
                metrics::counter!("s4s_delivery_failures_total", "tenant" => tenant.clone(), "kind" => "rejected")
                    .increment(1);
                let msg = e.to_string();
                if rt.signl4_rejected(&msg) {
                    tracing::error!(tenant = %tenant, error = %msg, "SIGNL4 REJECTED THE TEAM SECRET: pages for this tenant are parked (nothing is lost). Fix tenant.signl4.team_secret and restart signl4-sentinel to send them.");
                }
                let _ = self.store.retry_job(job.id, &self.owner, now_ms(), &msg, now_ms()).await;
                let _ = self.store.pause_jobs(&tenant, JOB_PAGE, &msg, now_ms()).await;
            }
            Err(e) => {
                let transient = e.is_transient();
                metrics::counter!("s4s_delivery_failures_total", "tenant" => tenant.clone(), "kind" => if transient { "transient" } else { "permanent" }).increment(1);
                let age = Duration::from_millis((now_ms() - job.created_ms).max(0) as u64);
                if !transient || age >= self.cfg.dead_letter_after {
                    let why = if transient {
                        format!("gave up after {}s: {e}", age.as_secs())
                    } else {
                        format!("rejected: {e}")
                    };
                    tracing::error!(tenant = %tenant, key = %job.key, error = %why, "page moved to dead letters; see `signl4-sentinel jobs --dead`");
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
                tracing::warn!(tenant = %tenant, key = %job.key, attempt = job.attempts, retry_in_ms = delay.as_millis() as u64, error = %e, "page delivery failed; will retry");
                let _ = self
                    .store
                    .retry_job(job.id, &self.owner, now_ms() + delay.as_millis() as i64, &e.to_string(), now_ms())
                    .await;
            }
        }
    }
}

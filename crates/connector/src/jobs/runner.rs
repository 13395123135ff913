//! The one job runner: claims due jobs with a lease, runs them through the registry, and only
//! then marks them done (fenced by the lease owner and the payload revision, so a job coalesced
//! with newer work while it ran runs again). A transient failure (network, 5xx, 429, database)
//! reschedules the job with exponential backoff and jitter, never sooner than `Retry-After` /
//! `X-RateLimit-Reset`; a job still failing `dead_letter_after` after it was queued moves to the
//! dead-letter state, as does one rejected permanently (4xx). A job its handler parks
//! ([`Outcome::Park`], e.g. a wrong SIGNL4 team secret) waits paused until a restart.
//!
//! The only duplicate window: the effect succeeded and the process died before the commit.
//! For pages SIGNL4 then shows the alert twice; Graph writes are re-planned against the
//! alert's current state, so a retry never adds a second comment.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use s4s_core::budget::Priority;
use s4s_core::config::DeliveryConfig;
use s4s_core::jobs::JobKind;
use s4s_core::retry::next_delay;
use s4s_store::{FollowUp, Job, Store};
use tokio::sync::{Notify, Semaphore, watch};

use crate::clients::scheduler::{Caller, as_caller};
use crate::clock::now_ms;
use crate::jobs::{JobContext, Outcome, Registry};
use crate::tenant::{POLL_LEASE_PREFIX, TenantContext};

pub struct Runner {
    pub store: Arc<dyn Store>,
    pub tenants: HashMap<String, Arc<TenantContext>>,
    pub registry: Registry,
    pub cfg: DeliveryConfig,
    pub wake: Arc<Notify>,
    pub owner: String,
    /// Jobs this runner holds a lease on (claimed, running or waiting for a slot); their
    /// leases are renewed every third of `delivery.lease` until they finish.
    pub held: Arc<Mutex<HashSet<i64>>>,
}

impl Runner {
    /// How many jobs this runner holds now (in flight or about to be).
    pub fn in_flight(held: &Mutex<HashSet<i64>>) -> usize {
        held.lock().map(|h| h.len()).unwrap_or(0)
    }

    fn hold(&self, id: i64, on: bool) {
        if let Ok(mut h) = self.held.lock() {
            if on {
                h.insert(id);
            } else {
                h.remove(&id);
            }
        }
    }

    /// Renews the leases of held jobs every third of the lease: a short lease (default 10 s)
    /// means a replica that died holds its claimed pages only for seconds.
    async fn keep_leases(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let lease = self.cfg.lease;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(lease / 3) => {}
                _ = stop.changed() => {}
            }
            let ids: Vec<i64> = self.held.lock().map(|h| h.iter().copied().collect()).unwrap_or_default();
            if !ids.is_empty() {
                let until = now_ms() + lease.as_millis() as i64;
                if let Err(e) = self.store.extend_leases(&ids, &self.owner, until, now_ms()).await {
                    tracing::warn!(error = %e, "cannot renew job leases");
                }
            }
        }
    }
}

impl Runner {
    /// Runs until `shutdown`: then claims nothing more, releases claimed jobs that have not
    /// started, and returns when the running ones finished (the caller bounds that wait by
    /// `delivery.shutdown_timeout`).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.cfg.concurrency));
        let renewer = tokio::spawn(self.clone().keep_leases(shutdown.clone()));
        let mut db_failures: u32 = 0;
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
                // transactions; the extra jobs wait for a slot with their leases renewed.
                let want = (free * 2).min(self.cfg.concurrency as i64 * 2);
                // With replicas, only jobs of tenants this replica polls: their request budgets
                // live here. One process per SQLite file runs every tenant.
                let claimed = if self.store.single_instance() {
                    self.store.claim_jobs(&self.owner, now_ms(), lease_ms, want).await
                } else {
                    self.store.claim_leased_jobs(&self.owner, POLL_LEASE_PREFIX, now_ms(), lease_ms, want).await
                };
                match claimed {
                    Ok(j) => {
                        if db_failures > 0 {
                            tracing::info!(after = db_failures, "the database answers again; claiming jobs");
                            db_failures = 0;
                        }
                        j
                    }
                    Err(e) => {
                        // Database unreachable (PostgreSQL restarting): back off, 0.5 s doubling
                        // to 15 s, and say so once per outage, not once per attempt.
                        if db_failures == 0 {
                            tracing::error!(error = %e, "cannot claim jobs from the database; retrying with backoff");
                        }
                        db_failures += 1;
                        let wait = Duration::from_millis(500u64.saturating_mul(1 << db_failures.min(5)))
                            .min(Duration::from_secs(15));
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = shutdown.changed() => {}
                        }
                        continue;
                    }
                }
            } else {
                Vec::new()
            };
            if !jobs.is_empty() {
                for job in &jobs {
                    self.hold(job.id, true);
                }
                let mut jobs = jobs.into_iter();
                while let Some(job) = jobs.next() {
                    let permit = tokio::select! {
                        p = permits.clone().acquire_owned() => p.ok(),
                        _ = shutdown.changed() => None,
                    };
                    let Some(permit) = permit else {
                        // Stopping: hand back what has not started.
                        for j in std::iter::once(job).chain(jobs.by_ref()) {
                            let _ = self
                                .store
                                .retry_job(j.id, &self.owner, now_ms(), j.last_error.as_deref().unwrap_or(""), now_ms())
                                .await;
                            self.hold(j.id, false);
                        }
                        break;
                    };
                    let me = self.clone();
                    tokio::spawn(async move {
                        let (id, key) = (job.id, job.key.clone());
                        // A bug in a job must not keep its lease renewed forever: a panic is a
                        // failed attempt, retried after its backoff like any other.
                        let run = std::panic::AssertUnwindSafe(me.execute(job)).catch_unwind().await;
                        if let Err(p) = run {
                            let why = format!("internal error: the job panicked: {}", crate::telemetry::panic_text(&p));
                            tracing::error!(job_key = %key, error = %why, "job attempt panicked; retrying later");
                            let _ = me.store.retry_job(id, &me.owner, now_ms() + 60_000, &why, now_ms()).await;
                        }
                        me.hold(id, false);
                        // Drop our handle on the runner (and its store) before freeing the
                        // slot: a stop that waits for the slots then really holds the last one,
                        // so the SQLite lock is free when `App::stop` returns.
                        let wake = me.wake.clone();
                        drop(me);
                        drop(permit);
                        wake.notify_one();
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
            // A job due now that could not be claimed belongs to a tenant another replica
            // polls (or is leased by a worker): do not spin on it.
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(wait.max(Duration::from_millis(20))) => {}
                _ = shutdown.changed() => {}
            }
        }
        // Wait for in-flight jobs.
        let _ = permits.acquire_many(self.cfg.concurrency as u32).await;
        renewer.abort();
        // Wait until the aborted task is gone (it holds the runner and the store).
        let _ = renewer.await;
    }

    async fn execute(&self, job: Job) {
        let Some(tenant) = self.tenants.get(&job.tenant).cloned() else {
            // The tenant was removed from the configuration; keep the job for a later config.
            tracing::warn!(tenant = %job.tenant, job_key = %job.key, "job for a tenant that is not configured; retrying in 1 h");
            let _ = self
                .store
                .retry_job(job.id, &self.owner, now_ms() + 3_600_000, "tenant not configured", now_ms())
                .await;
            return;
        };
        let started = std::time::Instant::now();
        let priority = self.registry.kind(&job.kind).map(JobKind::priority).unwrap_or(Priority::Housekeeping);
        let outcome = as_caller(
            Caller::job(priority),
            self.registry.run(&JobContext { store: &self.store, tenant: &tenant, job: &job }),
        )
        .await;
        metrics::histogram!(crate::telemetry::JOB_SECONDS, "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
        self.finish(&tenant, job, outcome).await;
    }

    async fn finish(&self, tenant: &TenantContext, job: Job, outcome: Outcome) {
        let name = tenant.cfg.name.clone();
        match outcome {
            Outcome::Defer(delay) => {
                tracing::debug!(tenant = %name, job_key = %job.key, delay_ms = delay.as_millis() as u64, "job deferred by the request budget");
                // Every job of this kind draws on the same budget: they all wait, instead of
                // each being claimed and deferred in turn (a 2,500-job tag backlog did that
                // hundreds of times a second and crowded pages out of the claims).
                let until = now_ms() + delay.as_millis() as i64;
                let _ = self.store.defer_jobs(&name, &job.kind, until, now_ms()).await;
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
                        tracing::debug!(tenant = %name, job_key = %job.key, "job changed while running (coalesced) or lease lost; it runs again")
                    }
                    Err(e) => {
                        tracing::error!(tenant = %name, job_key = %job.key, error = %e, "done, but could not record it; it may run again")
                    }
                }
                if had_jobs {
                    self.wake.notify_one();
                }
                metrics::counter!(crate::telemetry::JOBS_DONE, "tenant" => name, "kind" => job.kind.clone())
                    .increment(1);
            }
            Outcome::Later(delay) => {
                let _ = self
                    .store
                    .retry_job(
                        job.id,
                        &self.owner,
                        now_ms() + delay.as_millis() as i64,
                        job.last_error.as_deref().unwrap_or(""),
                        now_ms(),
                    )
                    .await;
            }
            Outcome::Abandoned(why) => {
                tracing::warn!(tenant = %name, job_key = %job.key, reason = %why, "job abandoned by this worker; it runs again elsewhere or later");
            }
            Outcome::Broken(why) => {
                tracing::error!(tenant = %name, job_key = %job.key, error = %why, "job moved to dead letters");
                metrics::counter!(crate::telemetry::JOBS_DEAD, "tenant" => name).increment(1);
                let _ = self.store.bury_job(job.id, &self.owner, &why, now_ms()).await;
            }
            Outcome::Park { reason } => {
                tracing::debug!(tenant = %name, job_key = %job.key, reason = %reason, "job parked");
                let _ = self.store.pause_job(job.id, &self.owner, &reason, now_ms()).await;
            }
            Outcome::Failed(e) => {
                let transient = e.is_transient();
                metrics::counter!(crate::telemetry::DELIVERY_FAILURES, "tenant" => name.clone(), "kind" => if transient { "transient" } else { "permanent" }).increment(1);
                let age = Duration::from_millis((now_ms() - job.created_ms).max(0) as u64);
                if !transient || age >= self.cfg.dead_letter_after {
                    let why = if transient {
                        format!("gave up after {}s: {e}", age.as_secs())
                    } else {
                        format!("rejected: {e}")
                    };
                    tracing::error!(tenant = %name, job_key = %job.key, error = %why, "job moved to dead letters; see `signl4-sentinel jobs --dead`");
                    metrics::counter!(crate::telemetry::JOBS_DEAD, "tenant" => name.clone()).increment(1);
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
                tracing::warn!(tenant = %name, job_key = %job.key, attempt = job.attempts, retry_in_ms = delay.as_millis() as u64, error = %e, "job failed; will retry");
                let _ = self
                    .store
                    .retry_job(job.id, &self.owner, now_ms() + delay.as_millis() as i64, &e.to_string(), now_ms())
                    .await;
            }
        }
    }
}

//! The storage contract, split by concern: alerts, outbox, coordination and inspection.

use async_trait::async_trait;

use crate::types::{
    AlertKey, AlertUpdate, AuditRecord, CursorRow, Fence, FollowUp, InboundEvent, IngestItem, IngestOutcome, Job,
    JobCounts, JobState, KindQueue, NewJob, QuarantineItem, Quarantined, Result, StoredAlert, StoredAudit,
};

/// Alerts and what happens to them: ingest, lookups, sync bookkeeping, inbound SIGNL4 events.
#[async_trait]
pub trait AlertStore: Send + Sync + 'static {
    /// Stores alert versions and creates their page jobs, all in one transaction.
    /// Re-ingesting the same version is a no-op; a page job is created at most once per alert.
    async fn ingest(&self, items: &[IngestItem], now_ms: i64) -> Result<IngestOutcome> {
        self.ingest_fenced(items, None, now_ms).await
    }
    /// [`AlertStore::ingest`], committed only if `fence` still holds (checked in the same
    /// transaction; else [`StoreError::Fenced`](crate::StoreError::Fenced) and nothing is written).
    async fn ingest_fenced(&self, items: &[IngestItem], fence: Option<&Fence>, now_ms: i64) -> Result<IngestOutcome>;
    /// [`AlertStore::ingest_fenced`] of a page together with its items that failed
    /// ([`AlertStore::quarantine`]), in one transaction: the quarantined items are durable
    /// exactly when the page is, so the cursor may move past both. Returns the ingest outcome
    /// and how many quarantined items were new.
    async fn ingest_page(
        &self,
        items: &[IngestItem],
        quarantined: &[QuarantineItem],
        fence: Option<&Fence>,
        now_ms: i64,
    ) -> Result<(IngestOutcome, usize)>;

    async fn get_alert(&self, tenant: &str, source: &str, alert_id: &str) -> Result<Option<StoredAlert>>;
    /// Stored state of several alerts of one tenant and source (missing ones are absent). The
    /// raw JSON is not loaded (`record.raw` is empty): this is the poller's hot path.
    async fn get_alerts(&self, tenant: &str, source: &str, ids: &[String]) -> Result<Vec<StoredAlert>>;
    /// The alert whose page SIGNL4 acknowledged with `signl4_event_id`.
    async fn find_alert_by_signl4_event(&self, tenant: &str, signl4_event_id: &str) -> Result<Option<StoredAlert>>;
    /// Paged rows of `source` whose SIGNL4 alert is still live (open, acknowledged, grouped
    /// into another page), most recently changed first, at most `limit`, with their raw JSON
    /// (the Sentinel source re-reads their portal comments).
    async fn live_pages(&self, tenant: &str, source: &str, limit: i64) -> Result<Vec<StoredAlert>>;
    /// Paged alerts of a Graph incident.
    async fn incident_alerts(&self, tenant: &str, incident_id: &str) -> Result<Vec<StoredAlert>>;
    /// Applies sync bookkeeping to one alert.
    async fn update_alert(&self, key: &AlertKey, update: &AlertUpdate, now_ms: i64) -> Result<()>;

    /// Records a SIGNL4 event once (by its id) together with the alert update and the jobs
    /// it causes, in one transaction. Returns false (and writes nothing) for a repeat delivery.
    async fn record_inbound(
        &self,
        event: &InboundEvent,
        update: Option<(&AlertKey, &AlertUpdate)>,
        jobs: &[NewJob],
        now_ms: i64,
    ) -> Result<bool>;

    /// Quarantines items whose processing failed, in one transaction, fenced like
    /// [`AlertStore::ingest_fenced`]: a new item is stored with its audit records; one seen
    /// again (same tenant, source and item id) gets its latest raw JSON and reason, `last_seen`
    /// and one more attempt, and any pending retry is cleared. Returns how many were new.
    async fn quarantine(&self, items: &[QuarantineItem], fence: Option<&Fence>, now_ms: i64) -> Result<usize>;
    /// Up to `limit` quarantined items of `tenant` and `source` an operator asked to re-run,
    /// oldest first.
    async fn quarantine_retries(&self, tenant: &str, source: &str, limit: i64) -> Result<Vec<Quarantined>>;
    /// Asks for the quarantined item `id` to be re-run by its source (`jobs retry
    /// quarantine:<id>`). False when there is no such item.
    async fn retry_quarantined(&self, id: i64) -> Result<bool>;
    /// [`AlertStore::retry_quarantined`] for every item, or only those of `tenant`. Returns how many.
    async fn retry_all_quarantined(&self, tenant: Option<&str>) -> Result<u64>;
    /// Forgets a re-run item that was processed this time. False (and it stays) when the
    /// re-run failed again ([`AlertStore::quarantine`] cleared its retry) or it is gone.
    async fn release_quarantined(&self, id: i64) -> Result<bool>;
}

/// The transactional outbox: jobs, their leases, fenced completion, retries and pauses.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Creates (or coalesces) jobs in one transaction; returns how many were created or re-armed.
    async fn enqueue(&self, jobs: &[NewJob], now_ms: i64) -> Result<usize>;

    /// Leases up to `limit` due jobs to `owner` until `now + lease`, oldest due first.
    /// Jobs whose lease expired (their worker died) are due again.
    async fn claim_jobs(&self, owner: &str, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>>;
    /// [`Outbox::claim_jobs`], but only jobs of tenants whose lease `{lease_prefix}{tenant}`
    /// ([`Coordination::try_lease`]) `owner` holds now: with replicas, the replica polling a
    /// tenant also does its upstream calls, so the tenant's request budget is not multiplied.
    async fn claim_leased_jobs(
        &self,
        owner: &str,
        lease_prefix: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Job>>;

    /// Marks a job done if `owner` holds the lease and the payload is still revision `rev`.
    /// If the job was coalesced with newer work meanwhile, it is released to run again
    /// instead. Returns true only when the job is now done.
    async fn complete_job(&self, id: i64, owner: &str, rev: i64, result: &str, now_ms: i64) -> Result<bool> {
        self.complete_job_with(id, owner, rev, result, &FollowUp::default(), now_ms).await
    }
    /// [`Outbox::complete_job`], and — only if the job is now done — the follow-up's alert
    /// update and jobs, in the same transaction.
    async fn complete_job_with(
        &self,
        id: i64,
        owner: &str,
        rev: i64,
        result: &str,
        follow: &FollowUp,
        now_ms: i64,
    ) -> Result<bool>;
    /// Records that `owner` is about to send the job's effect (attempt `attempt_id`), before
    /// sending. Fenced: false (send nothing) when `owner` no longer holds a live lease on the
    /// job. The record survives a crash and retries; a later claim sees it as
    /// [`Job::attempt`] — the job is in doubt. Cleared by completion, burial, re-arming and
    /// [`Outbox::end_attempt`].
    async fn begin_attempt(&self, id: i64, owner: &str, attempt_id: &str, now_ms: i64) -> Result<bool>;
    /// The attempt ended without its effect (the upstream answered and refused): the job is
    /// no longer in doubt.
    async fn end_attempt(&self, id: i64, owner: &str, now_ms: i64) -> Result<bool>;
    /// Extends the leases `owner` holds on `ids` (still running) to `until_ms`; a lease that
    /// already expired is not revived (another worker may have the job). Returns how many
    /// were extended.
    async fn extend_leases(&self, ids: &[i64], owner: &str, until_ms: i64, now_ms: i64) -> Result<u64>;
    /// Releases a job for another attempt at `next_attempt_ms`.
    async fn retry_job(&self, id: i64, owner: &str, next_attempt_ms: i64, error: &str, now_ms: i64) -> Result<bool>;
    /// Moves a job to the dead-letter state.
    async fn bury_job(&self, id: i64, owner: &str, error: &str, now_ms: i64) -> Result<bool>;
    /// Parks one job this worker holds (the team it pages rejected its secret) until
    /// [`Outbox::unpause_all`]; false when the lease was lost.
    async fn pause_job(&self, id: i64, owner: &str, error: &str, now_ms: i64) -> Result<bool>;
    /// Parks every pending job of `tenant` and `kind` (e.g. SIGNL4 rejected the team secret)
    /// until [`Outbox::unpause_all`] (called at start-up, after the operator fixed the config).
    async fn pause_jobs(&self, tenant: &str, kind: &str, error: &str, now_ms: i64) -> Result<u64>;
    async fn unpause_all(&self, now_ms: i64) -> Result<u64>;
    /// Makes every pending job of `tenant` and `kind` that is not leased wait until at least
    /// `until_ms` (the request budget they all draw on allows nothing sooner). Returns how many
    /// moved.
    async fn defer_jobs(&self, tenant: &str, kind: &str, until_ms: i64, now_ms: i64) -> Result<u64>;
    /// Makes every leased job claimable now and frees the polling leases
    /// ([`Coordination::try_lease`]). Only for start-up of a single-instance backend, where
    /// every lease belongs to a process that died. Returns the number of jobs that were
    /// in flight (their effect may or may not have happened).
    async fn release_leases(&self, now_ms: i64) -> Result<u64>;
    /// When the next pending, unpaused job becomes due (to sleep until then).
    async fn next_due_ms(&self) -> Result<Option<i64>>;

    /// Redrives the dead job with `key` (`signl4-sentinel jobs retry KEY`): back to pending,
    /// due at `now_ms`, attempts reset, its dead-letter horizon counted from now. Only a dead
    /// job changes — safe while runners work, since a pending (or leased, or parked) job and
    /// a done one are never touched. Its last error and any in-doubt attempt are kept.
    /// Returns false (nothing changed) when no dead job has that key.
    async fn redrive_job(&self, key: &str, now_ms: i64) -> Result<bool>;
    /// [`Outbox::redrive_job`] for every dead job, or only those of `tenant`. Returns how many.
    async fn redrive_dead(&self, tenant: Option<&str>, now_ms: i64) -> Result<u64>;

    /// Stores `SIGNL4_CL` records, each once (a record id already stored is skipped), and arms
    /// the upload job (`s4s_core::jobs::audit_upload`) of each tenant that got a new one, in
    /// one transaction. [`AlertStore::ingest`], [`AlertStore::record_inbound`] and
    /// [`Outbox::complete_job_with`] do the same with the records they carry. Returns how many
    /// were new.
    async fn record_audit(&self, records: &[AuditRecord], now_ms: i64) -> Result<usize>;
    /// Up to `limit` unsent records of `tenant`, oldest first.
    async fn unsent_audit(&self, tenant: &str, limit: i64) -> Result<Vec<StoredAudit>>;
    /// How many records of `tenant` are unsent.
    async fn unsent_audit_count(&self, tenant: &str) -> Result<i64>;
    /// Marks records sent (after the service answered 204), and forgets records sent before
    /// `forget_before_ms`. Returns how many were marked.
    async fn mark_audit_sent(&self, ids: &[i64], now_ms: i64, forget_before_ms: i64) -> Result<u64>;
}

/// Coordination between processes: poll cursors and named leases.
#[async_trait]
pub trait Coordination: Send + Sync + 'static {
    async fn get_cursor(&self, tenant: &str, source: &str) -> Result<Option<String>>;
    async fn set_cursor(&self, tenant: &str, source: &str, value: &str, now_ms: i64) -> Result<()> {
        self.set_cursor_fenced(tenant, source, value, None, now_ms).await
    }
    /// [`Coordination::set_cursor`], only if `fence` still holds (same transaction).
    async fn set_cursor_fenced(
        &self,
        tenant: &str,
        source: &str,
        value: &str,
        fence: Option<&Fence>,
        now_ms: i64,
    ) -> Result<()>;

    /// Takes or renews the named lease (e.g. "who polls tenant T") for `owner` until
    /// `now + ttl`. Succeeds when the lease is free, expired, or already `owner`'s. Lets
    /// several replicas share a database while only one polls each source.
    async fn try_lease(&self, name: &str, owner: &str, now_ms: i64, ttl_ms: i64) -> Result<bool> {
        Ok(self.acquire_lease(name, owner, now_ms, ttl_ms).await?.is_some())
    }
    /// [`Coordination::try_lease`], returning the lease's generation when held: it changes
    /// whenever the owner does, so writes fenced with it ([`Fence`]) fail after a takeover.
    async fn acquire_lease(&self, name: &str, owner: &str, now_ms: i64, ttl_ms: i64) -> Result<Option<i64>>;

    /// True if only one process can use this store at a time (then start-up may release
    /// leases).
    fn single_instance(&self) -> bool;
}

/// Health and introspection: backend name, liveness, job counts and listings.
#[async_trait]
pub trait Inspection: Send + Sync + 'static {
    /// Backend name for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Cheap liveness check of the database.
    async fn ping(&self) -> Result<()>;

    async fn job_counts(&self) -> Result<JobCounts>;
    async fn list_jobs(&self, state: JobState, limit: i64) -> Result<Vec<Job>>;

    /// The job with `key`, in any state (`signl4-sentinel jobs show KEY`).
    async fn get_job(&self, key: &str) -> Result<Option<Job>>;
    /// `(kind, created_ms)` of the oldest pending job of each kind that has one (parked
    /// ones included), by kind: the queue-age gauge.
    async fn oldest_pending_jobs(&self) -> Result<Vec<(String, i64)>>;
    /// Up to `limit` jobs of `kind` in any state, newest (by `created_ms`) first: the status
    /// page's recent pages.
    async fn recent_jobs(&self, kind: &str, limit: i64) -> Result<Vec<Job>>;
    /// The queue by kind (jobs not done), by kind: pending, parked, dead, oldest pending.
    async fn queue_by_kind(&self) -> Result<Vec<KindQueue>>;
    /// Every stored poll cursor, by tenant and source.
    async fn list_cursors(&self) -> Result<Vec<CursorRow>>;

    /// Up to `limit` quarantined items, most recently seen first (`jobs`, the status page).
    async fn quarantined(&self, limit: i64) -> Result<Vec<Quarantined>>;
    /// The quarantined item `id` (`jobs show quarantine:<id>`).
    async fn get_quarantined(&self, id: i64) -> Result<Option<Quarantined>>;
    /// How many items are quarantined, by tenant and source (self-monitoring, `/readyz`).
    async fn quarantine_counts(&self) -> Result<Vec<(String, String, i64)>>;
}

/// The whole storage contract; every backend passes the conformance suite. Implemented for
/// every type that implements the four parts, so `Arc<dyn Store>` offers all of them.
pub trait Store: AlertStore + Outbox + Coordination + Inspection {}

impl<T: AlertStore + Outbox + Coordination + Inspection> Store for T {}

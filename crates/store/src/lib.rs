//! Durable state for signl4-sentinel behind one trait, [`Store`].
//!
//! What is stored:
//! - **alerts**: the last version (`lastUpdateDateTime`) and raw JSON of every alert seen, and
//!   whether it has been paged. `(tenant, source, alert_id)` is unique; the version makes
//!   re-reads idempotent.
//! - **jobs**: the transactional outbox. An alert and the page job it causes are written in
//!   the same transaction ([`Store::ingest`]). Workers claim jobs with a lease, and finish them
//!   with a fenced update (only the lease owner can complete, retry or bury a job).
//! - **cursors**: one high-water mark per tenant and source, advanced only after what it
//!   covers is stored.
//!
//! Timestamps are milliseconds since the Unix epoch and are passed in by the caller, so the
//! conformance suite ([`conformance`]) is deterministic and needs no sleeps.

use async_trait::async_trait;

pub mod conformance;
mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "another process is using the SQLite database {0}; run one instance per SQLite file, or use PostgreSQL (storage.backend = \"postgres\") for several replicas"
    )]
    Locked(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One version of an alert as read from the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub tenant: String,
    pub source: String,
    pub alert_id: String,
    /// Normalised `lastUpdateDateTime`; equal versions are duplicates.
    pub version: String,
    pub status: String,
    pub severity: String,
    /// Graph incident id (alerts_v2 `incidentId`), for the incident roll-up.
    pub incident_id: Option<String>,
    pub raw: String,
}

/// Merges a pending job's payload with a newer one (coalescing).
pub type Merge = fn(old: &str, new: &str) -> String;

/// A job to create in the outbox.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant: String,
    pub kind: String,
    /// Idempotency key: a second job with the same key is never created.
    pub key: String,
    pub payload: String,
    /// `None`: a job with this key is created once, ever. `Some(merge)`: a coalescing job —
    /// if one with this key is pending, its payload becomes `merge(old, new)`; if it is done or
    /// dead, it is re-armed with the new payload. Either way its `rev` increases, so a worker
    /// that is running the old revision does not mark it done ([`Store::complete_job`]).
    pub coalesce: Option<Merge>,
}

impl NewJob {
    pub fn once(tenant: &str, kind: &str, key: String, payload: String) -> NewJob {
        NewJob { tenant: tenant.into(), kind: kind.into(), key, payload, coalesce: None }
    }
    pub fn coalescing(tenant: &str, kind: &str, key: String, payload: String, merge: Merge) -> NewJob {
        NewJob { tenant: tenant.into(), kind: kind.into(), key, payload, coalesce: Some(merge) }
    }
}

/// Identifies an alert row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertKey {
    pub tenant: String,
    pub source: String,
    pub alert_id: String,
}

/// Sync bookkeeping on an alert row; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertUpdate {
    /// Where the SIGNL4 alert stands (`s4s_core::sync::Signl4State`).
    pub signl4_state: Option<String>,
    /// The status the connector itself last wrote to Graph (echo suppression).
    pub written_status: Option<String>,
    /// SIGNL4's `eventId` of the page (fallback correlation).
    pub signl4_event_id: Option<String>,
    /// Mark the alert as paged without a page job of its own (a Sentinel incident whose
    /// alerts are paged one by one).
    pub paged: Option<bool>,
}

/// What a finished job records and causes, committed together with its completion.
#[derive(Debug, Clone, Default)]
pub struct FollowUp {
    pub update: Option<(AlertKey, AlertUpdate)>,
    pub jobs: Vec<NewJob>,
}

/// A SIGNL4 outbound-webhook event, recorded once by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    pub event_id: String,
    pub tenant: String,
    pub meaning: String,
}

/// An alert version and, if it should page, the page job.
#[derive(Debug, Clone)]
pub struct IngestItem {
    pub alert: AlertRecord,
    /// Created only if the alert has never been paged before (then `signl4_state` = open).
    pub page: Option<NewJob>,
    /// Further jobs this version causes (e.g. close the SIGNL4 alert), created in the same
    /// transaction.
    pub jobs: Vec<NewJob>,
    /// Sync bookkeeping to apply in the same transaction.
    pub update: AlertUpdate,
}

impl IngestItem {
    pub fn new(alert: AlertRecord, page: Option<NewJob>) -> IngestItem {
        IngestItem { alert, page, jobs: Vec::new(), update: AlertUpdate::default() }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub jobs_created: usize,
}

impl IngestOutcome {
    pub fn add(&mut self, o: IngestOutcome) {
        self.new += o.new;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.jobs_created += o.jobs_created;
    }
}

/// A stored alert with its paging and sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub record: AlertRecord,
    pub paged: bool,
    pub signl4_state: String,
    pub written_status: Option<String>,
    pub signl4_event_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
    fn parse(s: &str) -> Result<JobState> {
        match s {
            "pending" => Ok(JobState::Pending),
            "done" => Ok(JobState::Done),
            "dead" => Ok(JobState::Dead),
            other => Err(StoreError::Corrupt(format!("unknown job state {other}"))),
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub tenant: String,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub state: JobState,
    /// Attempts started so far, including the current one after a claim.
    pub attempts: i64,
    pub created_ms: i64,
    pub next_attempt_ms: i64,
    pub lease_owner: Option<String>,
    pub lease_until_ms: Option<i64>,
    pub last_error: Option<String>,
    pub result: Option<String>,
    pub paused: bool,
    /// Revision of the payload; bumped when a coalescing job is updated or re-armed.
    pub rev: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub paused: i64,
    pub done: i64,
    pub dead: i64,
}

/// The storage contract. Every backend passes [`conformance`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Backend name for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Cheap liveness check of the database.
    async fn ping(&self) -> Result<()>;

    /// Stores alert versions and creates their page jobs, all in one transaction.
    /// Re-ingesting the same version is a no-op; a page job is created at most once per alert.
    async fn ingest(&self, items: &[IngestItem], now_ms: i64) -> Result<IngestOutcome>;

    async fn get_alert(&self, tenant: &str, source: &str, alert_id: &str) -> Result<Option<StoredAlert>>;
    /// Stored state of several alerts of one tenant and source (missing ones are absent). The
    /// raw JSON is not loaded (`record.raw` is empty): this is the poller's hot path.
    async fn get_alerts(&self, tenant: &str, source: &str, ids: &[String]) -> Result<Vec<StoredAlert>>;
    /// The alert whose page SIGNL4 acknowledged with `signl4_event_id`.
    async fn find_alert_by_signl4_event(&self, tenant: &str, signl4_event_id: &str) -> Result<Option<StoredAlert>>;
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
    /// Creates (or coalesces) jobs in one transaction; returns how many were created or re-armed.
    async fn enqueue(&self, jobs: &[NewJob], now_ms: i64) -> Result<usize>;

    async fn get_cursor(&self, tenant: &str, source: &str) -> Result<Option<String>>;
    async fn set_cursor(&self, tenant: &str, source: &str, value: &str, now_ms: i64) -> Result<()>;

    /// Leases up to `limit` due jobs to `owner` until `now + lease`, oldest due first.
    /// Jobs whose lease expired (their worker died) are due again.
    async fn claim_jobs(&self, owner: &str, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>>;

    /// Marks a job done if `owner` holds the lease and the payload is still revision `rev`.
    /// If the job was coalesced with newer work meanwhile, it is released to run again
    /// instead. Returns true only when the job is now done.
    async fn complete_job(&self, id: i64, owner: &str, rev: i64, result: &str, now_ms: i64) -> Result<bool> {
        self.complete_job_with(id, owner, rev, result, &FollowUp::default(), now_ms).await
    }
    /// [`Store::complete_job`], and — only if the job is now done — the follow-up's alert
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
    /// Releases a job for another attempt at `next_attempt_ms`.
    async fn retry_job(&self, id: i64, owner: &str, next_attempt_ms: i64, error: &str, now_ms: i64) -> Result<bool>;
    /// Moves a job to the dead-letter state.
    async fn bury_job(&self, id: i64, owner: &str, error: &str, now_ms: i64) -> Result<bool>;
    /// Parks every pending job of `tenant` and `kind` (e.g. SIGNL4 rejected the team secret)
    /// until [`Store::unpause_all`] (called at start-up, after the operator fixed the config).
    async fn pause_jobs(&self, tenant: &str, kind: &str, error: &str, now_ms: i64) -> Result<u64>;
    async fn unpause_all(&self, now_ms: i64) -> Result<u64>;
    /// Makes every leased job claimable now and frees the polling leases ([`Store::try_lease`]).
    /// Only for start-up of a single-instance backend, where every lease belongs to a process
    /// that died. Returns the number of jobs that were
    /// in flight (their effect may or may not have happened).
    async fn release_leases(&self, now_ms: i64) -> Result<u64>;
    /// True if only one process can use this store at a time (then start-up may release
    /// leases).
    fn single_instance(&self) -> bool;

    /// Takes or renews the named lease (e.g. "who polls tenant T") for `owner` until
    /// `now + ttl`. Succeeds when the lease is free, expired, or already `owner`'s. Lets
    /// several replicas share a database while only one polls each source.
    async fn try_lease(&self, name: &str, owner: &str, now_ms: i64, ttl_ms: i64) -> Result<bool>;

    async fn job_counts(&self) -> Result<JobCounts>;
    async fn list_jobs(&self, state: JobState, limit: i64) -> Result<Vec<Job>>;
    /// When the next pending, unpaused job becomes due (to sleep until then).
    async fn next_due_ms(&self) -> Result<Option<i64>>;
}

//! The data types the store traits read and write, and the store's error type.

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
    /// A fenced write was refused: its lease was taken over (or expired) since it was granted.
    #[error("lease {0} is no longer held by this replica (taken over or expired); the write was not committed")]
    Fenced(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

// The records the store reads and writes are plain data owned by the pure core.
pub use s4s_core::records::*;

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
    pub(crate) fn parse(s: &str) -> Result<JobState> {
        match s {
            "pending" => Ok(JobState::Pending),
            "done" => Ok(JobState::Done),
            "dead" => Ok(JobState::Dead),
            other => Err(StoreError::Corrupt(format!("unknown job state {other}"))),
        }
    }
}

/// A `SIGNL4_CL` record waiting for its upload (`Outbox::unsent_audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAudit {
    /// Insertion order.
    pub id: i64,
    pub tenant: String,
    pub record_id: String,
    /// The row as the stream takes it (`AuditRecord::row_text`).
    pub row: String,
    pub created_ms: i64,
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
    /// An attempt that began sending its effect and was never seen to end: when a claimed job
    /// carries one, the previous attempt's outcome is unknown (the process died, or the
    /// request timed out after it was sent) — the job is *in doubt*.
    pub attempt: Option<Attempt>,
    /// When the row last changed (for a done job: when it was completed).
    pub updated_ms: i64,
}

/// A recorded delivery attempt ([`Outbox::begin_attempt`](crate::traits::Outbox::begin_attempt)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub id: String,
    pub started_ms: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub paused: i64,
    pub done: i64,
    pub dead: i64,
}

/// The jobs of one kind that are not done ([`Inspection::queue_by_kind`](crate::traits::Inspection::queue_by_kind)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindQueue {
    pub kind: String,
    /// Waiting to run, due or not, running ones (leased) included.
    pub pending: i64,
    /// Parked (SIGNL4 rejected the team secret).
    pub parked: i64,
    pub dead: i64,
    /// When the oldest pending or parked job was queued; `None` when there is none.
    pub oldest_pending_ms: Option<i64>,
}

/// A stored poll cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorRow {
    pub tenant: String,
    pub source: String,
    pub value: String,
    pub updated_ms: i64,
}

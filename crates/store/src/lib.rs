//! Durable state for signl4-sentinel: the store traits, their types and two backends.
//!
//! [`Store`] is split by concern into [`AlertStore`], [`Outbox`], [`Coordination`] and
//! [`Inspection`].
//!
//! What is stored:
//! - **alerts**: the last version (`lastUpdateDateTime`) and raw JSON of every alert seen, and
//!   whether it has been paged. `(tenant, source, alert_id)` is unique; the version makes
//!   re-reads idempotent.
//! - **jobs**: the transactional outbox. An alert and the page job it causes are written in
//!   the same transaction ([`AlertStore::ingest`]). Workers claim jobs with a lease, and finish
//!   them with a fenced update (only the lease owner can complete, retry or bury a job).
//! - **cursors**: one high-water mark per tenant and source, advanced only after what it
//!   covers is stored.
//! - **quarantine**: items whose processing failed (a panic included), with their raw JSON
//!   and the reason, so the rest of their page is stored and the cursor moves on; an operator
//!   re-runs them after an upgrade ([`AlertStore::retry_quarantined`]).
//!
//! Timestamps are milliseconds since the Unix epoch and are passed in by the caller, so the
//! conformance suite (module `conformance`, behind the `conformance` feature) is deterministic
//! and needs no sleeps.
//!
//! Callers bring the methods into scope with `use s4s_store::prelude::*;`.

#[cfg(feature = "conformance")]
pub mod conformance;
mod postgres;
mod shared;
mod sqlite;
mod traits;
mod types;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use traits::{AlertStore, Coordination, Inspection, Outbox, Store};
pub use types::{
    AlertKey, AlertRecord, AlertUpdate, Attempt, AuditRecord, CursorRow, Fence, FollowUp, InboundEvent, IngestItem,
    IngestOutcome, Job, JobCounts, JobState, KindQueue, Merge, NewJob, QuarantineItem, Quarantined, Result, StoreError,
    StoredAlert, StoredAudit,
};

/// The store traits, for `use s4s_store::prelude::*;`.
pub mod prelude {
    pub use crate::traits::{AlertStore, Coordination, Inspection, Outbox, Store};
}

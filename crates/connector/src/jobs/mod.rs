//! Outbox jobs: the job trait (kind, typed payload, `run` → outcome), the registry and one
//! file per kind; [`runner`] claims, runs and finishes them.

pub mod annotate;
pub mod audit;
pub mod deliver;
pub mod enrich;
pub mod graph_sync;
pub mod incident_sync;
pub mod page;
pub mod runner;
pub mod sentinel_page;
pub mod sentinel_sync;
pub mod signl4;
pub mod signl4_status;
pub mod summary;
pub mod verify;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use s4s_core::jobs::JobKind;
use s4s_store::{FollowUp, Job, Store, StoreError};
use serde::de::DeserializeOwned;

use crate::clients::http::UpstreamError;
use crate::tenant::TenantContext;

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// Our own database: always worth retrying.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl JobError {
    pub fn is_transient(&self) -> bool {
        match self {
            JobError::Upstream(e) => e.is_transient(),
            JobError::Store(_) => true,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JobError::Upstream(e) => e.retry_after(),
            JobError::Store(_) => None,
        }
    }
}

/// How a job attempt ended.
#[allow(
    clippy::large_enum_variant,
    reason = "one value per job attempt, moved once to the runner; boxing the follow-up would touch every job kind"
)]
pub enum Outcome {
    Done(String),
    /// Done, with bookkeeping and follow-up jobs committed together with the completion.
    DoneWith(String, FollowUp),
    /// Not attempted now (local rate limit); try again after the delay.
    Defer(Duration),
    /// Nothing went wrong, but the job has more to do later (e.g. an event still being
    /// processed): run this job again after the delay, with no failure counted.
    Later(Duration),
    Failed(JobError),
    /// Stored payload unusable: dead-letter it.
    Broken(String),
    /// Nothing was done and nothing is to be recorded: this worker lost the job's lease
    /// (another worker may run it now).
    Abandoned(String),
    /// Not attempted (or refused) for a reason that needs an operator: the job waits, paused,
    /// until a restart (e.g. SIGNL4 rejects the team secret, [`signl4`]).
    Park {
        reason: String,
    },
}

impl<E: Into<JobError>> From<E> for Outcome {
    fn from(e: E) -> Outcome {
        match e.into() {
            // Not sent: the request budget says when; no failure, no backoff.
            JobError::Upstream(UpstreamError::Held { wait, .. }) => Outcome::Defer(wait),
            e => Outcome::Failed(e),
        }
    }
}

/// What a job sees while it runs.
pub struct JobContext<'a> {
    pub store: &'a Arc<dyn Store>,
    pub tenant: &'a TenantContext,
    pub job: &'a Job,
}

/// One kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    const KIND: JobKind;
    type Payload: DeserializeOwned + Send;

    async fn run(&self, cx: &JobContext<'_>, payload: Self::Payload) -> Outcome;
}

/// A job handler with its payload decoding erased, for the registry.
#[async_trait]
trait ErasedJob: Send + Sync {
    async fn run_raw(&self, cx: &JobContext<'_>) -> Outcome;
}

#[async_trait]
impl<J: JobHandler> ErasedJob for J {
    async fn run_raw(&self, cx: &JobContext<'_>) -> Outcome {
        match serde_json::from_str::<J::Payload>(&cx.job.payload) {
            Ok(p) => self.run(cx, p).await,
            Err(e) => Outcome::Broken(format!("stored {} payload is unreadable: {e}", J::KIND.as_str())),
        }
    }
}

/// The job kinds this process runs (filled by `app.rs`), by stored name.
#[derive(Default)]
pub struct Registry {
    handlers: HashMap<&'static str, (JobKind, Box<dyn ErasedJob>)>,
}

impl Registry {
    pub fn with<J: JobHandler>(mut self, handler: J) -> Registry {
        self.handlers.insert(J::KIND.as_str(), (J::KIND, Box::new(handler)));
        self
    }

    /// The kind stored as `name`, if this process runs it.
    pub fn kind(&self, name: &str) -> Option<JobKind> {
        self.handlers.get(name).map(|(k, _)| *k)
    }

    pub async fn run(&self, cx: &JobContext<'_>) -> Outcome {
        match self.handlers.get(cx.job.kind.as_str()) {
            Some((_, h)) => h.run_raw(cx).await,
            None => Outcome::Broken(format!("unknown job kind {} (written by a newer version?)", cx.job.kind)),
        }
    }
}

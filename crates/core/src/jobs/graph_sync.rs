//! Job kind `graph-sync`: write a SIGNL4 response back to a Graph alert ([`AlertSync`]).

use super::json;
use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::sync::{self, AlertSync};

pub const KIND: JobKind = JobKind::new("graph-sync", Priority::WriteBack, false, "write-backs to Graph alerts");

/// Coalescing Graph alert write-back.
pub fn graph_sync(tenant: &str, external_id: &str, intent: &AlertSync) -> NewJob {
    NewJob::coalescing(tenant, KIND, format!("sync:{external_id}"), json(intent), sync::merge_json::<AlertSync>)
}

//! Job kind `sentinel-enrich`: add late rule-query results to a Sentinel incident as a comment
//! ([`SentinelPageJob`]).

use super::sentinel_page::SentinelPageJob;
use super::{json, once};
use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;

pub const KIND: JobKind =
    JobKind::new("sentinel-enrich", Priority::Housekeeping, false, "late query results for Sentinel incidents");

/// Adds late rule-query results to the incident of a Sentinel page.
pub fn sentinel_enrich(tenant: &str, external_id: &str, payload: &SentinelPageJob) -> NewJob {
    once(tenant, KIND, format!("enrich:{external_id}"), json(payload))
}

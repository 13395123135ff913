//! Job kind `incident-sync`: make a Graph incident follow its alerts: status, owner, tag
//! ([`IncidentSync`]).

use super::{json, once};
use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::sync::{self, IncidentSync};

pub const KIND: JobKind = JobKind::new("incident-sync", Priority::Housekeeping, false, "Graph incident roll-ups");

/// Coalescing Graph incident roll-up.
pub fn incident_sync(tenant: &str, intent: &IncidentSync) -> NewJob {
    NewJob::coalescing(
        tenant,
        KIND,
        format!("incident:{tenant}:{}", intent.incident_id),
        json(intent),
        sync::merge_json::<IncidentSync>,
    )
}

/// Once-only tag of a Graph incident after its first page (separate from the roll-up).
pub fn incident_tag(tenant: &str, incident: &str, tag: &str) -> NewJob {
    let intent = IncidentSync { incident_id: incident.to_string(), tag: Some(tag.to_string()), ..Default::default() };
    once(tenant, KIND, format!("tag:{tenant}:{incident}"), json(&intent))
}

//! The outbox job kinds, one file per kind: its [`JobKind`] facts (`KIND`), its typed payload
//! and its constructors (kind, idempotency key, payload and, for coalescing kinds, the merge),
//! so no job is ever built from loose strings.

pub mod annotate;
pub mod audit;
pub mod graph_sync;
pub mod incident_sync;
pub mod page;
pub mod sentinel_enrich;
pub mod sentinel_page;
pub mod sentinel_sync;
pub mod signl4_status;
pub mod summary;
pub mod verify;

use serde::Serialize;
use serde_json::{Map, Value};

pub use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::route::DEFAULT_ROUTE;

pub use annotate::{AnnotateJob, annotate};
pub use audit::audit_upload;
pub use graph_sync::graph_sync;
pub use incident_sync::{incident_sync, incident_tag};
pub use page::{PageJob, fallback_page, page, route_page};
pub use sentinel_enrich::sentinel_enrich;
pub use sentinel_page::{SentinelPageJob, sentinel_page};
pub use sentinel_sync::{SentinelSyncJob, sentinel_sync};
pub use signl4_status::{signl4_status, signl4_status_routes, take_route};
pub use verify::{VerifyJob, verify};

/// The write-back of a SIGNL4 response to the alert row's own source (`WriteBack::of` its stored
/// source): a Graph alert's `graph-sync` or a Sentinel incident's `sentinel-sync`.
pub fn write_back(
    tenant: &str,
    to: &crate::source::WriteBack,
    external_id: &str,
    intent: &crate::sync::AlertSync,
) -> NewJob {
    match to {
        crate::source::WriteBack::Sentinel { workspace } => {
            sentinel_sync(tenant, workspace, external_id, intent.clone(), false)
        }
        crate::source::WriteBack::Graph => graph_sync(tenant, external_id, intent),
    }
}

/// Every kind of outbox job this version knows.
pub const ALL: [JobKind; 11] = [
    page::KIND,
    signl4_status::KIND,
    graph_sync::KIND,
    incident_sync::KIND,
    sentinel_page::KIND,
    sentinel_sync::KIND,
    sentinel_enrich::KIND,
    verify::KIND,
    summary::KIND,
    annotate::KIND,
    audit::KIND,
];

/// The kind stored as `name`; `None` for a kind of a newer version.
pub fn parse(name: &str) -> Option<JobKind> {
    ALL.into_iter().find(|k| k.as_str() == name)
}

/// The hidden field of a stored SIGNL4 body naming the route (team) it goes to (removed
/// before sending): the SIGNL4 status jobs' payload, and page jobs queued by earlier
/// versions. Absent = the tenant's own team.
pub const ROUTE_FIELD: &str = "__s4s_route";

fn json<T: Serialize>(v: &T) -> String {
    // Serialising these plain structs cannot fail; an empty payload would be buried, not sent.
    serde_json::to_string(v).unwrap_or_default()
}

fn once(tenant: &str, kind: JobKind, key: String, payload: String) -> NewJob {
    NewJob::once(tenant, kind, key, payload)
}

/// Job keys of an alert paged to several routes: the first route keeps the plain key (as
/// before routes existed), the others get `@route`.
fn route_key(key: String, route: &str, first: bool) -> String {
    if first { key } else { format!("{key}@{route}") }
}

/// A route as payloads store it: none for the default route.
fn stored_route(route: &str) -> Option<String> {
    (route != DEFAULT_ROUTE).then(|| route.to_string())
}

fn mark_route(body: &mut Map<String, Value>, route: &str) {
    if route != DEFAULT_ROUTE {
        body.insert(ROUTE_FIELD.into(), Value::from(route));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_keep_their_stored_names() {
        for k in ALL {
            assert_eq!(parse(k.as_str()), Some(k));
        }
        assert_eq!(parse("newer-kind"), None);
        assert_eq!(page::KIND.as_str(), "page");
        assert!(sentinel_page::KIND.sends_to_signl4() && !graph_sync::KIND.sends_to_signl4());
    }
}

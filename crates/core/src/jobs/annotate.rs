//! Job kind `annotate`: add a text to a SIGNL4 alert through the REST API (an alert grouped
//! into the page of its incident).

use serde::{Deserialize, Serialize};

use super::{json, once, stored_route};
use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;

pub const KIND: JobKind = JobKind::new("annotate", Priority::WriteBack, false, "notes added to SIGNL4 incident pages");

/// Payload of an annotation: `text` added to the SIGNL4 alert paged as `external_id` in the
/// team of `route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotateJob {
    pub external_id: String,
    #[serde(default)]
    pub route: Option<String>,
    pub text: String,
}

/// Adds `text` to the SIGNL4 alert of `external_id`, once per `what` (e.g. the grouped alert's id).
pub fn annotate(tenant: &str, external_id: &str, route: &str, what: &str, text: String) -> NewJob {
    let payload = AnnotateJob { external_id: external_id.to_string(), route: stored_route(route), text };
    once(tenant, KIND, format!("annotate:{external_id}:{what}@{route}"), json(&payload))
}

//! Job kind `sentinel-page`: page a Sentinel incident or alert ([`SentinelPageJob`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{json, once, route_key};
use crate::budget::Priority;
use crate::ids::job_key;
use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::route::DEFAULT_ROUTE;

pub const KIND: JobKind = JobKind::new("sentinel-page", Priority::Poll, true, "Sentinel pages to SIGNL4");

/// Payload of a Sentinel page (and of its late enrichment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentinelPageJob {
    pub workspace: String,
    pub incident: Value,
    pub alerts: Vec<Value>,
    /// Per-alert mode: the alert this page is for.
    #[serde(default)]
    pub alert: Option<Value>,
    /// The route it pages (`routing::select`); none = the default route.
    #[serde(default)]
    pub route: Option<String>,
    /// 0, or the reopening this page is for (a new SIGNL4 alert, marked reopened).
    #[serde(default)]
    pub episode: i64,
}

/// Pages a Sentinel incident (or one of its alerts) to the payload's route; `first`: the
/// first (or only) route it pages.
pub fn sentinel_page(tenant: &str, external_id: &str, payload: &SentinelPageJob, first: bool) -> NewJob {
    let route = payload.route.as_deref().unwrap_or(DEFAULT_ROUTE);
    once(tenant, KIND, route_key(job_key::page(external_id), route, first), json(payload))
}

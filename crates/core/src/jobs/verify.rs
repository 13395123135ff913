//! Job kind `verify`: follow a page's SIGNL4 event until SIGNL4 says whether anybody was
//! paged ([`VerifyJob`]).

use serde::{Deserialize, Serialize};

use super::page::PageJob;
use super::{json, once};
use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;

// Verification draws on SIGNL4's REST budget, which in-doubt pages' look-ups and the REST
// poller need first; during a storm it lags rather than crowds them out.
pub const KIND: JobKind = JobKind::new("verify", Priority::Housekeeping, false, "delivery checks (was anybody paged?)");

/// Payload of a delivery verification: the page's event and what to send if it reached nobody.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyJob {
    pub external_id: String,
    pub event_id: String,
    /// The page (for a fallback page); absent for a fallback page itself. Jobs queued by
    /// earlier versions hold the bare SIGNL4 body here ([`PageJob`] reads both).
    #[serde(default)]
    pub page: Option<PageJob>,
    /// The page being verified was the fallback (no second fallback).
    #[serde(default)]
    pub fallback: bool,
    /// The route (team) the page went to; none = the tenant's own team.
    #[serde(default)]
    pub route: Option<String>,
}

/// Follows a page's event (first look a few seconds after the page).
pub fn verify(tenant: &str, payload: &VerifyJob) -> NewJob {
    let mut key = format!("verify:{}", payload.external_id);
    if payload.fallback {
        key.push_str(":fallback");
    }
    if let Some(r) = &payload.route {
        key = format!("{key}@{r}");
    }
    once(tenant, KIND, key, json(payload))
}

//! Job kind `summary`: page the summary of a team's alerts held back by its storm budget in
//! one window, or the digest of a route's quiet window, when the window ends
//! ([`StormSummary`]).

use super::page::PageJob;
use crate::budget::Priority;
use crate::config::Signl4Options;
use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::storm::{self, StormSummary};

pub const KIND: JobKind = JobKind::new("summary", Priority::Poll, true, "storm summaries");

fn coalescing(tenant: &str, key: String, s: &StormSummary) -> NewJob {
    NewJob::coalescing(tenant, KIND, key, super::json(s), storm::merge)
}

/// The coalescing summary job for one held page.
pub fn summary_job(tenant: &str, route: &str, window: (i64, i64), title: &str, external_id: &str) -> NewJob {
    let s = StormSummary::of_one(route, window, None, title, external_id);
    coalescing(tenant, storm::summary_key(route, window.0), &s)
}

/// The coalescing digest job of a route's quiet window ending at `end_ms`, for one held page.
pub fn digest_job(
    tenant: &str,
    route: &str,
    now_ms: i64,
    end_ms: i64,
    label: &str,
    title: &str,
    external_id: &str,
) -> NewJob {
    let s = StormSummary::of_one(route, (now_ms, end_ms), Some(label), title, external_id);
    coalescing(tenant, format!("digest:{route}:{end_ms}"), &s)
}

/// The page of a summary (or digest) to its route.
pub fn page_of(tenant: &str, s: &StormSummary, opts: &Signl4Options) -> PageJob {
    let route = s.route.as_deref().unwrap_or(crate::route::DEFAULT_ROUTE);
    PageJob::new(storm::summary_page(tenant, s, opts)).to(route)
}

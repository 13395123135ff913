//! Job: page the summary of the alerts a team's storm budget held back in one window, once the
//! window has ended ("37 more alerts in the last 5 min: 30 × Suspicious sign-in, …") — or the
//! digest of a route's quiet hours / maintenance window when it ends.

use async_trait::async_trait;
use s4s_core::jobs::{self, JobKind};
use s4s_core::storm::StormSummary;

use crate::clock::now_ms;
use crate::jobs::deliver::{self, Delivered};
use crate::jobs::{JobContext, JobHandler, Outcome, signl4};
use crate::telemetry;

/// How long after its window a summary waits for holds still being committed.
const GRACE_MS: i64 = 3_000;

pub struct SummaryJob;

#[async_trait]
impl JobHandler for SummaryJob {
    const KIND: JobKind = jobs::summary::KIND;
    type Payload = StormSummary;

    async fn run(&self, cx: &JobContext<'_>, s: StormSummary) -> Outcome {
        let now = now_ms();
        let due = s.end_ms + GRACE_MS;
        if now < due {
            // Alerts held later in the window are merged into this job meanwhile; the grace
            // lets holds decided just before the end commit first (a hold merged while this job
            // runs would make it run again with the whole window, counting it twice).
            return Outcome::Later(std::time::Duration::from_millis((due - now) as u64));
        }
        let tenant = cx.tenant;
        let route = s.route.clone().unwrap_or_else(|| s4s_core::route::DEFAULT_ROUTE.to_string());
        if let Some(parked) = signl4::parked(cx, &route) {
            return parked;
        }
        let page = jobs::summary::page_of(&tenant.cfg.name, &s, &tenant.team(&route).opts);
        match deliver::page(cx, &page, true).await {
            Ok(done) => {
                if let Delivered::Sent { .. } = &done {
                    if s.quiet.is_none() {
                        metrics::counter!(telemetry::STORM_SUMMARIES, "tenant" => tenant.cfg.name.clone(), "team" => route.clone())
                            .increment(1);
                    }
                    tracing::info!(tenant = %tenant.cfg.name, route = %route, held = s.count, quiet = s.quiet.as_deref().unwrap_or("-"), "summary of held alerts paged");
                }
                Outcome::Done(done.result())
            }
            Err(outcome) => outcome,
        }
    }
}

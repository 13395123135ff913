//! The SIGNL4 team gate of the jobs that POST to the webhook (pages, summaries, status
//! changes): while SIGNL4 rejects a team's secret (404) its jobs park without a request, one
//! probe every few minutes (`tenant::limits::Signl4Breaker`); the rejection itself parks the
//! job and is said once per team, loudly. A tenant's other teams keep paging.

use s4s_core::route::DEFAULT_ROUTE;

use crate::clients::http::UpstreamError;
use crate::jobs::{JobContext, Outcome};

/// `Some(Outcome::Park)` while SIGNL4 rejects the secret of the team `route` pages and no
/// probe is due: nothing is sent.
pub fn parked(cx: &JobContext<'_>, route: &str) -> Option<Outcome> {
    let tenant = cx.tenant;
    if !tenant.breaker.any_rejected() {
        return None;
    }
    let team = &tenant.team(route).route;
    tenant
        .breaker
        .should_park(team)
        .then(|| Outcome::Park { reason: tenant.status().signl4_rejected.unwrap_or_default() })
}

/// The outcome of a failed SIGNL4 webhook request for a job paging `route`: a rejected team
/// secret opens the team's breaker and parks the job; any other failure as usual.
pub fn failed(cx: &JobContext<'_>, route: &str, e: UpstreamError) -> Outcome {
    if !e.is_signl4_rejection() {
        return e.into();
    }
    let tenant = cx.tenant;
    let name = tenant.cfg.name.as_str();
    metrics::counter!(crate::telemetry::DELIVERY_FAILURES, "tenant" => name.to_string(), "kind" => "rejected")
        .increment(1);
    let team = tenant.team(route).route.clone();
    let msg = if team == DEFAULT_ROUTE { e.to_string() } else { format!("route {team}: {e}") };
    let key = s4s_core::config::team_secret_key(&team);
    if tenant.breaker.rejected(&tenant.health, name, &team, &msg) {
        tracing::error!(tenant = %name, route = %team, error = %msg, "SIGNL4 REJECTED THE TEAM SECRET: pages to this team are parked (nothing is lost; the tenant's other teams keep paging). Fix {key} and restart signl4-sentinel to send them.");
    }
    Outcome::Park { reason: msg }
}

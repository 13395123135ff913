//! Telemetry in one place: logging set-up and the name of every metric the connector exports.

use tracing_subscriber::EnvFilter;

/// `format`: "text" or "json". `RUST_LOG` overrides `default_level`.
pub fn init(format: &str, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn,hyper=warn,reqwest=warn")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| RedactingStderr);
    let _ = if format == "json" { builder.json().try_init() } else { builder.with_target(false).try_init() };
}

/// The message of a caught panic (a poll cycle or a job attempt), for logs and health.
pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Standard error, with every configured secret scrubbed from each log line
/// ([`crate::clients::http::redact`]) at every level, whatever a library logs.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes one event per call.
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(crate::clients::http::redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Alert versions stored, by result (new / updated / unchanged).
pub const ALERTS_INGESTED: &str = "s4s_alerts_ingested_total";
/// Alerts Graph returned without id or lastUpdateDateTime.
pub const ALERTS_MALFORMED: &str = "s4s_alerts_malformed_total";
/// Failed job attempts by kind (transient / permanent / rejected).
pub const DELIVERY_FAILURES: &str = "s4s_delivery_failures_total";
/// PATCHes and comments written to Graph.
pub const GRAPH_WRITES: &str = "s4s_graph_writes_total";
/// SIGNL4 events received, by result.
pub const INBOUND_EVENTS: &str = "s4s_inbound_events_total";
/// SIGNL4 webhook requests rejected (token / malformed).
pub const INBOUND_REJECTED: &str = "s4s_inbound_rejected_total";
/// Jobs moved to dead letters.
pub const JOBS_DEAD: &str = "s4s_jobs_dead_total";
/// Jobs completed, by kind.
pub const JOBS_DONE: &str = "s4s_jobs_done_total";
/// Page jobs queued.
pub const PAGE_JOBS_CREATED: &str = "s4s_page_jobs_created_total";
/// Page jobs found in doubt after a crash or timeout, by how they were resolved: `found`
/// (SIGNL4 had it; not sent again), `resent` (SIGNL4 did not have it), `resent_marked` (no
/// API key to ask: sent again marked as a possible repeat).
pub const IN_DOUBT_PAGES: &str = "s4s_in_doubt_pages_total";
/// Pages SIGNL4 accepted that reached nobody, by reason (`filtered`, `suppressed`,
/// `discarded`, `no_rule_applied`, `nobody_on_duty`, `nobody_notified`, `error`).
pub const PAGES_NOT_DELIVERED: &str = "s4s_pages_not_delivered_total";
/// Pages SIGNL4 accepted.
pub const PAGES_SENT: &str = "s4s_pages_sent_total";
/// Failed poll cycles.
pub const POLL_ERRORS: &str = "s4s_poll_errors_total";
/// Sentinel incident PUTs answered 409 (re-read and re-applied).
pub const SENTINEL_CONFLICTS: &str = "s4s_sentinel_conflicts_total";
/// Sentinel incident updates and comments written.
pub const SENTINEL_WRITES: &str = "s4s_sentinel_writes_total";
/// Failed SIGNL4 REST polls.
pub const SIGNL4_REST_ERRORS: &str = "s4s_signl4_rest_errors_total";
/// SIGNL4 alerts closed / acknowledged after a portal change.
pub const SIGNL4_STATUS_SENT: &str = "s4s_signl4_status_sent_total";
/// Entra token requests.
pub const TOKEN_REQUESTS: &str = "s4s_token_requests_total";
/// Requests to Microsoft APIs, by service.
pub const UPSTREAM_REQUESTS: &str = "s4s_upstream_requests_total";
/// 429 answers from upstreams (Microsoft APIs and SIGNL4), by service.
pub const UPSTREAM_THROTTLED: &str = "s4s_upstream_throttled_total";
/// Outbox jobs by state (pending / paused / dead).
pub const JOBS: &str = "s4s_jobs";
/// Unix time of the tenant's last successful poll.
pub const LAST_SUCCESSFUL_POLL: &str = "s4s_last_successful_poll_timestamp_seconds";
/// 1 while SIGNL4 rejects the tenant's team secret.
pub const SIGNL4_TEAM_REJECTED: &str = "s4s_signl4_team_rejected";
/// Duration of one job attempt, by kind.
pub const JOB_SECONDS: &str = "s4s_job_seconds";
/// Duration of one poll cycle.
pub const POLL_DURATION: &str = "s4s_poll_duration_seconds";
/// Duration of one SIGNL4 webhook request.
pub const SIGNL4_REQUEST_SECONDS: &str = "s4s_signl4_request_seconds";
/// Time a request waited for its tenant's request budget, by service and priority.
pub const BUDGET_WAIT_SECONDS: &str = "s4s_budget_wait_seconds";
/// Job attempts rescheduled because the request budget allowed them only later.
pub const BUDGET_DEFERRALS: &str = "s4s_budget_deferrals_total";
/// Use of the request budget's share (0–1), by service and tenant (or SIGNL4 team).
pub const BUDGET_USE: &str = "s4s_budget_use_ratio";
/// The current poll interval chosen by adaptive polling, by tenant.
pub const POLL_INTERVAL: &str = "s4s_poll_interval_seconds";
/// Late-visible alerts found by the re-read behind the cursor, by tenant.
pub const LATE_ALERTS: &str = "s4s_late_alerts_total";
/// Pages held back by a team's storm budget (counted into a summary page), by tenant and team.
pub const PAGES_HELD: &str = "s4s_pages_held_total";
/// Pages sent through the high-severity lane after the storm budget was spent, by tenant and team.
pub const PAGES_HIGH_LANE: &str = "s4s_pages_high_lane_total";
/// Storm summary pages sent, by tenant and team.
pub const STORM_SUMMARIES: &str = "s4s_storm_summaries_total";
/// Pages held by a route's quiet hours or maintenance window (listed in its digest), by tenant and route.
pub const PAGES_QUIET: &str = "s4s_pages_quiet_held_total";

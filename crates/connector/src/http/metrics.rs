//! `/metrics`: the Prometheus exporter (installed once per process, every metric described,
//! buckets for the histograms), the series every tenant starts with, and the gauges read from
//! the database at each scrape (jobs by state, queue age by kind).

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use s4s_core::jobs;
use s4s_core::signl4::rest::NotDelivered;
use s4s_store::JobCounts;

use crate::http::ServerState;
use crate::telemetry::{self, MetricType};
use crate::tenant::TenantContext;

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global metrics recorder once per process.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(telemetry::TIME_TO_PAGE.into()), telemetry::TIME_TO_PAGE_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(telemetry::TIME_TO_ACK.into()),
                        telemetry::TIME_TO_ACK_BUCKETS,
                    )
                });
            match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => {
                    describe_all();
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// `# HELP` for every metric of [`telemetry::METRICS`].
fn describe_all() {
    for m in telemetry::METRICS {
        match m.kind {
            MetricType::Counter => metrics::describe_counter!(m.name, m.help),
            MetricType::Gauge => metrics::describe_gauge!(m.name, m.help),
            MetricType::Histogram | MetricType::Summary => {
                metrics::describe_histogram!(m.name, metrics::Unit::Seconds, m.help)
            }
        }
    }
}

/// Every reason a verified page can reach nobody (a new reason fails to compile here).
fn not_delivered_reasons() -> [NotDelivered; 7] {
    use NotDelivered::*;
    let all = [Filtered, Suppressed, Discarded, NoRuleApplied, NobodyOnDuty, NobodyNotified, Error];
    for r in all {
        match r {
            Filtered | Suppressed | Discarded | NoRuleApplied | NobodyOnDuty | NobodyNotified | Error => {}
        }
    }
    all
}

/// The series alert rules watch, at zero for every configured tenant (and each of its
/// upstreams) from the start: `increase()` then sees the first event, and the rules and
/// dashboards find their series before anything went wrong. "Last successful poll" starts at
/// 0 (none yet).
pub fn init_series(tenants: &[Arc<TenantContext>]) {
    use s4s_core::budget::Priority;
    metrics::counter!(telemetry::SENTINEL_CONFLICTS).increment(0);
    crate::buildinfo::publish();
    for what in ["raised", "cleared"] {
        metrics::counter!(telemetry::OPS_PAGES, "what" => what).increment(0);
    }
    metrics::gauge!(telemetry::OPS_CONDITIONS).set(0.0);
    // The services whose answers carry links (next links); the others appear when they refuse one.
    for service in ["Graph", "Azure Resource Manager"] {
        metrics::counter!(telemetry::FOREIGN_LINKS, "service" => service).increment(0);
    }
    for reason in ["token", "malformed", "team", "overloaded"] {
        metrics::counter!(telemetry::INBOUND_REJECTED, "reason" => reason).increment(0);
    }
    for t in tenants {
        let tenant = t.cfg.name.clone();
        for name in [
            telemetry::PAGES_SENT,
            telemetry::ALERTS_GROUPED,
            telemetry::JOBS_DEAD,
            telemetry::POLL_ERRORS,
            telemetry::SIGNL4_REST_ERRORS,
            telemetry::ALERTS_MALFORMED,
            telemetry::LATE_ALERTS,
            telemetry::SENTINEL_WRITES,
        ] {
            metrics::counter!(name, "tenant" => tenant.clone()).increment(0);
        }
        crate::sources::quarantine::init_series(&t.cfg);
        // Storm budget and quiet hours, per team and per route.
        for team in &t.clients.teams {
            for name in [telemetry::PAGES_HELD, telemetry::PAGES_HIGH_LANE, telemetry::STORM_SUMMARIES] {
                metrics::counter!(name, "tenant" => tenant.clone(), "team" => team.route.clone()).increment(0);
            }
        }
        let routes = std::iter::once(&t.cfg.default_route).chain(&t.cfg.routes);
        for r in routes {
            metrics::counter!(telemetry::PAGES_QUIET, "tenant" => tenant.clone(), "route" => r.name.clone())
                .increment(0);
        }
        for status in ["resolved", "acknowledged"] {
            metrics::counter!(telemetry::SIGNL4_STATUS_SENT, "tenant" => tenant.clone(), "status" => status)
                .increment(0);
        }
        for status in ["sent", "dropped"] {
            metrics::counter!(telemetry::AUDIT_RECORDS, "tenant" => tenant.clone(), "status" => status).increment(0);
        }
        for kind in ["transient", "permanent", "rejected"] {
            metrics::counter!(telemetry::DELIVERY_FAILURES, "tenant" => tenant.clone(), "kind" => kind).increment(0);
        }
        for outcome in ["found", "resent", "resent_marked"] {
            metrics::counter!(telemetry::IN_DOUBT_PAGES, "tenant" => tenant.clone(), "outcome" => outcome).increment(0);
        }
        for reason in not_delivered_reasons() {
            metrics::counter!(telemetry::PAGES_NOT_DELIVERED, "tenant" => tenant.clone(), "reason" => reason.as_str())
                .increment(0);
        }
        // Histograms registered without a sample are exported with a count of 0.
        for kind in [jobs::page::KIND, jobs::sentinel_page::KIND] {
            let _ = metrics::histogram!(telemetry::TIME_TO_PAGE, "tenant" => tenant.clone(), "kind" => kind.as_str());
        }
        let _ = metrics::histogram!(telemetry::TIME_TO_ACK, "tenant" => tenant.clone());
        metrics::gauge!(telemetry::SIGNL4_TEAM_REJECTED, "tenant" => tenant.clone()).set(0.0);
        metrics::gauge!(telemetry::LAST_SUCCESSFUL_POLL, "tenant" => tenant.clone()).set(0.0);
        let s = &t.sched;
        let services = [&s.graph, &s.log_analytics, &s.logs_ingestion, &s.signl4, &s.signl4_rest]
            .into_iter()
            .chain(s.arm.values())
            .map(|sch| sch.service);
        for service in services {
            metrics::counter!(telemetry::UPSTREAM_THROTTLED, "service" => service).increment(0);
            for p in [Priority::Poll, Priority::WriteBack, Priority::Housekeeping] {
                metrics::counter!(telemetry::BUDGET_DEFERRALS, "service" => service, "priority" => p.as_str())
                    .increment(0);
                let _ =
                    metrics::histogram!(telemetry::BUDGET_WAIT_SECONDS, "service" => service, "priority" => p.as_str());
            }
        }
    }
}

pub fn publish_job_counts(c: &JobCounts) {
    metrics::gauge!(telemetry::JOBS, "state" => "pending").set(c.pending as f64);
    metrics::gauge!(telemetry::JOBS, "state" => "paused").set(c.paused as f64);
    metrics::gauge!(telemetry::JOBS, "state" => "dead").set(c.dead as f64);
}

/// [`telemetry::QUEUE_AGE`] of every job kind from `(kind, oldest created_ms)`: 0 for kinds
/// with nothing pending, so a drained queue reads 0 rather than its last age. Unknown kinds
/// (rows of a newer version) are left out: labels stay bounded.
pub fn publish_queue_age(oldest: &[(String, i64)], now_ms: i64) {
    for kind in jobs::ALL {
        let age_ms = oldest.iter().find(|(k, _)| k == kind.as_str()).map(|(_, c)| (now_ms - c).max(0)).unwrap_or(0);
        metrics::gauge!(telemetry::QUEUE_AGE, "kind" => kind.as_str()).set(age_ms as f64 / 1000.0);
    }
}

/// `/metrics`; off loopback only with `Authorization: Bearer` and the metrics or admin token
/// (`401` without, nothing read from the database).
pub async fn metrics(State(s): State<ServerState>, parts: axum::http::request::Parts) -> Response {
    if !s.probes.may_read(crate::http::serve::peer(&parts), &parts.headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            "off loopback, /metrics needs Authorization: Bearer with server.metrics_token or server.admin_token\n",
        )
            .into_response();
    }
    if let Ok(c) = s.store.job_counts().await {
        publish_job_counts(&c);
    }
    if let Ok(oldest) = s.store.oldest_pending_jobs().await {
        publish_queue_age(&oldest, crate::clock::now_ms());
    }
    match metrics_handle() {
        Some(h) => (StatusCode::OK, [("content-type", "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable\n").into_response(),
    }
}

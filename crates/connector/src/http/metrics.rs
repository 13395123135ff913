//! `/metrics`: the Prometheus exporter (installed once per process) and the job gauges.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use s4s_store::JobCounts;

use crate::http::ServerState;
use crate::telemetry;

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global metrics recorder once per process.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .clone()
}

pub fn publish_job_counts(c: &JobCounts) {
    metrics::gauge!(telemetry::JOBS, "state" => "pending").set(c.pending as f64);
    metrics::gauge!(telemetry::JOBS, "state" => "paused").set(c.paused as f64);
    metrics::gauge!(telemetry::JOBS, "state" => "dead").set(c.dead as f64);
}

pub async fn metrics(State(s): State<ServerState>) -> Response {
    if let Ok(c) = s.store.job_counts().await {
        publish_job_counts(&c);
    }
    match metrics_handle() {
        Some(h) => (StatusCode::OK, [("content-type", "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable\n").into_response(),
    }
}

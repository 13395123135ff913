//! The connector's HTTP server: `/healthz` (liveness), `/readyz` (database reachable, every
//! tenant polling and accepted by SIGNL4) and `/metrics` (Prometheus).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use s4s_store::Store;
use serde_json::json;

use crate::runtime::TenantRuntime;

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

#[derive(Clone)]
pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub tenants: Vec<Arc<TenantRuntime>>,
    /// Wakes the delivery workers when new jobs were recorded.
    pub wake: Arc<tokio::sync::Notify>,
}

pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/signl4/{token}",
            axum::routing::post(crate::inbound::receive)
                .layer(axum::extract::DefaultBodyLimit::max(crate::inbound::MAX_BODY)),
        )
        .with_state(state)
}

async fn readyz(State(s): State<ServerState>) -> Response {
    let db = s.store.ping().await;
    let counts = s.store.job_counts().await.ok();
    let mut ready = db.is_ok();
    let mut tenants = BTreeMap::new();
    for t in &s.tenants {
        let st = t.status();
        let ok = st.signl4_rejected.is_none() && st.consecutive_poll_failures < 3 && st.signl4_api_error.is_none();
        ready &= ok;
        tenants.insert(t.cfg.name.clone(), json!({"ready": ok, "status": st}));
    }
    if let Some(c) = counts {
        metrics::gauge!("s4s_jobs", "state" => "pending").set(c.pending as f64);
        metrics::gauge!("s4s_jobs", "state" => "paused").set(c.paused as f64);
        metrics::gauge!("s4s_jobs", "state" => "dead").set(c.dead as f64);
    }
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": {"backend": s.store.backend(), "ok": db.is_ok(), "error": db.err().map(|e| e.to_string())},
        "jobs": counts.map(|c| json!({"pending": c.pending, "paused": c.paused, "done": c.done, "dead": c.dead})),
        "tenants": tenants,
    });
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, axum::Json(body)).into_response()
}

async fn metrics(State(s): State<ServerState>) -> Response {
    if let Ok(c) = s.store.job_counts().await {
        metrics::gauge!("s4s_jobs", "state" => "pending").set(c.pending as f64);
        metrics::gauge!("s4s_jobs", "state" => "paused").set(c.paused as f64);
        metrics::gauge!("s4s_jobs", "state" => "dead").set(c.dead as f64);
    }
    match metrics_handle() {
        Some(h) => (StatusCode::OK, [("content-type", "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable\n").into_response(),
    }
}

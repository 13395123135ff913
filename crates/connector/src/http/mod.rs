//! The connector's HTTP server: `/healthz`, `/readyz` ([`health`]), `/metrics` ([`metrics`]),
//! plus the routes that sources bring (the SIGNL4 webhook receiver), merged by `app.rs`.

pub mod health;
pub mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use s4s_store::Store;

use crate::tenant::TenantContext;

#[derive(Clone)]
pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub tenants: Vec<Arc<TenantContext>>,
    /// Self-monitoring conditions present now.
    pub conditions: Arc<crate::selfmon::Board>,
}

/// The operator routes; `extra` are routes of push sources.
pub fn router(state: ServerState, extra: Router) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
        .merge(extra)
}

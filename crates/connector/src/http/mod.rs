//! The connector's HTTP server: `/healthz`, `/readyz` ([`health`]), `/metrics` ([`metrics`]),
//! the operator's status page `/` ([`status`]), plus the routes that sources bring (the SIGNL4
//! webhook receiver), merged by `app.rs`, served by [`serve`] (timeouts, limits, the peer
//! address as `ConnectInfo`).

pub mod health;
pub mod metrics;
pub mod serve;
pub mod status;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use s4s_store::Store;
use tokio::sync::Notify;

use crate::tenant::TenantContext;

#[derive(Clone)]
pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub tenants: Vec<Arc<TenantContext>>,
    /// Self-monitoring conditions present now.
    pub conditions: Arc<crate::selfmon::Board>,
    /// The status page's admin token, session and CSRF token.
    pub auth: Arc<status::StatusAuth>,
    /// Wakes the job runner (a dead letter redriven from the status page goes at once).
    pub wake: Arc<Notify>,
    /// Who may read `/readyz`'s details and `/metrics`; what readiness means.
    pub probes: Arc<health::Probes>,
}

/// The operator routes; `extra` are routes of push sources.
pub fn router(state: ServerState, extra: Router) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(status::routes())
        .with_state(state)
        .merge(extra)
}

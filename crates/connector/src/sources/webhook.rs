//! Push source: the receiver for SIGNL4 outbound webhooks, `POST /signl4/{token}`.
//!
//! SIGNL4 does not sign its requests (`signl4.md` §3.1), so each team's URL carries a long
//! secret token, compared in constant time; a wrong token gets a bare 404. An event is
//! answered 2xx only after it is durably recorded together with the jobs it causes (same
//! outbox as paging); repeated deliveries of the same event id change nothing. Events for
//! alerts we did not create are acknowledged and ignored.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use s4s_core::signl4_event;
use s4s_store::Store;
use secrecy::ExposeSecret;
use tokio::sync::Notify;

use crate::sources::events;
use crate::telemetry;
use crate::tenant::TenantContext;

/// What the receiver needs.
#[derive(Clone)]
pub struct WebhookState {
    pub store: Arc<dyn Store>,
    pub tenants: Vec<Arc<TenantContext>>,
    /// Wakes the job runner when new jobs were recorded.
    pub wake: Arc<Notify>,
}

/// The receiver's routes.
pub fn routes(state: WebhookState) -> Router {
    Router::new()
        .route("/signl4/{token}", axum::routing::post(receive).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)))
        .with_state(state)
}

/// Largest accepted webhook body. SIGNL4 events are well under 4 KiB.
pub const MAX_BODY: usize = 64 * 1024;

fn find_tenant<'a>(tenants: &'a [Arc<TenantContext>], token: &str) -> Option<&'a Arc<TenantContext>> {
    // Compare against every tenant (no early exit), hashing both sides first so neither a
    // token's content nor its length shows in the timing (`s4s_core::ct`).
    let mut found = None;
    // Each team has its own outbound webhook: the tenant's own and each route's own team.
    for t in tenants {
        for team in &t.clients.teams {
            if let Some(secret) = &team.opts.inbound_token
                && s4s_core::ct::secret_eq(token.as_bytes(), secret.expose_secret().as_bytes())
            {
                found = Some(t);
            }
        }
    }
    found
}

async fn receive(State(s): State<WebhookState>, Path(token): Path<String>, body: Bytes) -> Response {
    let Some(rt) = find_tenant(&s.tenants, &token) else {
        metrics::counter!(telemetry::INBOUND_REJECTED, "reason" => "token").increment(1);
        return StatusCode::NOT_FOUND.into_response();
    };
    let event = match signl4_event::parse(&body) {
        Ok(e) => e,
        Err(e) => {
            metrics::counter!(telemetry::INBOUND_REJECTED, "reason" => "malformed").increment(1);
            tracing::warn!(tenant = %rt.cfg.name, error = %e, "malformed SIGNL4 webhook rejected");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    match events::record_webhook(s.store.as_ref(), rt, &event, &body).await {
        Ok(rec) => {
            metrics::counter!(telemetry::INBOUND_EVENTS, "tenant" => rt.cfg.name.clone(), "result" => rec.label())
                .increment(1);
            s.wake.notify_one();
            (StatusCode::OK, "ok\n").into_response()
        }
        Err(e) => {
            // Not recorded: make SIGNL4 (or the REST poller) deliver it again.
            tracing::error!(tenant = %rt.cfg.name, error = %e, "cannot record a SIGNL4 event");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}

//! Push source: the receiver for SIGNL4 outbound webhooks, `POST /signl4/{token}`.
//!
//! SIGNL4 does not sign its requests (`signl4.md` §3.1), so each team's URL carries a long
//! secret token, compared in constant time; a wrong token gets a bare 404. A token acts only
//! for its team: an event for an alert that was not paged to that team (nor moved into it by
//! an escalation, `signl4.md` §2.4) gets `403` and changes nothing. An event is
//! answered 2xx only after it is durably recorded together with the jobs it causes (same
//! outbox as paging); repeated deliveries of the same event id change nothing. Events for
//! alerts we did not create are acknowledged and ignored.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use s4s_core::scope::Grant;
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
    /// Requests handled at once (`server.webhook_concurrency`); one more is answered `503`.
    pub concurrency: usize,
}

/// What an overloaded receiver tells SIGNL4: try again in this many seconds.
pub const RETRY_AFTER_S: u64 = 5;

/// The receiver's routes. At most `concurrency` requests are handled at once; one more is
/// answered `503` with `Retry-After` at once (SIGNL4 delivers it again) instead of queueing.
pub fn routes(state: WebhookState) -> Router {
    let limit = tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
        .load_shed()
        .concurrency_limit(state.concurrency.max(1));
    let receive: axum::routing::MethodRouter<WebhookState> =
        axum::routing::post(receive).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY));
    Router::new().route("/signl4/{token}", receive.layer(limit)).with_state(state)
}

async fn overloaded(_: tower::BoxError) -> Response {
    metrics::counter!(telemetry::INBOUND_REJECTED, "reason" => "overloaded").increment(1);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, RETRY_AFTER_S.to_string())],
        "busy, try again\n",
    )
        .into_response()
}

/// Largest accepted webhook body. SIGNL4 events are well under 4 KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// The tenant and the teams whose `inbound_token` the presented token is (the tenant's own
/// team's token also covers its route teams without a token of their own:
/// [`events::grant`]). Every configured token is compared (no early exit) in constant time.
pub(crate) fn find_teams<'a>(
    tenants: &'a [Arc<TenantContext>],
    token: &str,
) -> Option<(&'a Arc<TenantContext>, Grant)> {
    let mut found = None;
    for t in tenants {
        let held: Vec<bool> =
            t.clients
                .teams
                .iter()
                .map(|team| {
                    team.opts.inbound_token.as_ref().is_some_and(|secret| {
                        s4s_core::ct::secret_eq(token.as_bytes(), secret.expose_secret().as_bytes())
                    })
                })
                .collect();
        if found.is_none() && held.iter().any(|h| *h) {
            let has_own = |i: usize| t.clients.teams.get(i).is_some_and(|team| team.opts.inbound_token.is_some());
            let g = events::grant(t, |i| held.get(i).copied().unwrap_or(false), has_own);
            found = Some((t, g));
        }
    }
    found
}

async fn receive(State(s): State<WebhookState>, Path(token): Path<String>, body: Bytes) -> Response {
    let Some((tenant, grant)) = find_teams(&s.tenants, &token) else {
        metrics::counter!(telemetry::INBOUND_REJECTED, "reason" => "token").increment(1);
        return StatusCode::NOT_FOUND.into_response();
    };
    let event = match s4s_core::signl4::event::parse(&body) {
        Ok(e) => e,
        Err(e) => {
            metrics::counter!(telemetry::INBOUND_REJECTED, "reason" => "malformed").increment(1);
            tracing::warn!(tenant = %tenant.cfg.name, error = %e, "malformed SIGNL4 webhook rejected");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    match events::record_webhook(s.store.as_ref(), tenant, &grant, &event, &body).await {
        Ok(events::Recorded::Refused) => {
            metrics::counter!(telemetry::INBOUND_REJECTED, "reason" => "team").increment(1);
            (StatusCode::FORBIDDEN, "this team's URL may not act on that alert\n").into_response()
        }
        Ok(rec) => {
            metrics::counter!(telemetry::INBOUND_EVENTS, "tenant" => tenant.cfg.name.clone(), "result" => rec.label())
                .increment(1);
            s.wake.notify_one();
            (StatusCode::OK, "ok\n").into_response()
        }
        Err(e) => {
            // Not recorded: make SIGNL4 (or the REST poller) deliver it again.
            tracing::error!(tenant = %tenant.cfg.name, error = %e, "cannot record a SIGNL4 event");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}

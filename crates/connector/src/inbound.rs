//! Receiver for SIGNL4 outbound webhooks: `POST /signl4/{token}`.
//!
//! SIGNL4 does not sign its requests (`signl4.md` §3.1), so each team's URL carries a long
//! secret token, compared in constant time; a wrong token gets a bare 404. An event is
//! answered 2xx only after it is durably recorded together with the jobs it causes (same
//! outbox as paging); repeated deliveries of the same event id change nothing. Events for
//! alerts we did not create are acknowledged and ignored.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use s4s_core::keys;
use s4s_core::signl4_event::{self, Event, Meaning};
use s4s_core::sync::{self, Signl4State};
use s4s_store::{AlertKey, AlertUpdate, InboundEvent, NewJob, Store, StoredAlert};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::delivery::now_ms;
use crate::runtime::{JOB_GRAPH_SYNC, TenantRuntime};
use crate::server::ServerState;

/// Largest accepted webhook body. SIGNL4 events are well under 4 KiB.
pub const MAX_BODY: usize = 64 * 1024;

fn find_tenant<'a>(tenants: &'a [Arc<TenantRuntime>], token: &str) -> Option<&'a Arc<TenantRuntime>> {
    // Compare against every tenant (no early exit) so timing reveals nothing.
    let mut found = None;
    for t in tenants {
        if let Some(secret) = &t.cfg.signl4.inbound_token
            && bool::from(secret.expose_secret().as_bytes().ct_eq(token.as_bytes()))
        {
            found = Some(t);
        }
    }
    found
}

pub async fn receive(State(s): State<ServerState>, Path(token): Path<String>, body: Bytes) -> Response {
    let Some(rt) = find_tenant(&s.tenants, &token) else {
        metrics::counter!("s4s_inbound_rejected_total", "reason" => "token").increment(1);
        return StatusCode::NOT_FOUND.into_response();
    };
    let event = match signl4_event::parse(&body) {
        Ok(e) => e,
        Err(e) => {
            metrics::counter!("s4s_inbound_rejected_total", "reason" => "malformed").increment(1);
            tracing::warn!(tenant = %rt.cfg.name, error = %e, "malformed SIGNL4 webhook rejected");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    match handle(&s.store, rt, &event).await {
        Ok(note) => {
            metrics::counter!("s4s_inbound_events_total", "tenant" => rt.cfg.name.clone(), "result" => note)
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

async fn correlate(
    store: &Arc<dyn Store>,
    rt: &TenantRuntime,
    event: &Event,
) -> Result<Option<StoredAlert>, s4s_store::StoreError> {
    if let Some((tenant, source, id)) = event.external_id().and_then(keys::parse_external_id) {
        if tenant != rt.cfg.name {
            return Ok(None);
        }
        if let Some(a) = store.get_alert(tenant, source, id).await? {
            return Ok(Some(a));
        }
    }
    match event.signl4_event_id() {
        Some(ev) => store.find_alert_by_signl4_event(&rt.cfg.name, ev).await,
        None => Ok(None),
    }
}

/// Records one event and its effects. Returns a short label for metrics and logs.
pub async fn handle(
    store: &Arc<dyn Store>,
    rt: &TenantRuntime,
    event: &Event,
) -> Result<&'static str, s4s_store::StoreError> {
    let meaning = event.meaning();
    if let Meaning::Ignore(why) = meaning {
        tracing::debug!(tenant = %rt.cfg.name, event_type = event.event_type, why, "SIGNL4 event ignored");
        return Ok("ignored");
    }
    if !rt.cfg.sync.enabled {
        return Ok("sync-disabled");
    }
    let Some(alert) = correlate(store, rt, event).await? else {
        tracing::debug!(tenant = %rt.cfg.name, external_id = event.external_id().unwrap_or("-"), "SIGNL4 event for an alert this connector did not create; ignored");
        return Ok("unknown-alert");
    };
    let state = Signl4State::parse(&alert.signl4_state);
    let r = &alert.record;
    // Keyed by the change, not the delivery: repeats and the REST fallback dedupe on it.
    let change = event.change_key();
    let decision = sync::on_event(
        &meaning,
        event.who(),
        &change,
        state,
        &r.alert_id,
        r.incident_id.as_deref(),
        &rt.cfg.sync.options,
    );
    let ext = keys::external_id(&r.tenant, &r.source, &r.alert_id);
    let workspace = s4s_core::sentinel::workspace_of(&r.source);
    let jobs: Vec<NewJob> = decision
        .sync
        .iter()
        .map(|s| match workspace {
            Some(ws) => crate::sentinel::sync_job(&rt.cfg.name, ws, &ext, s.clone(), false),
            None => NewJob::coalescing(
                &rt.cfg.name,
                JOB_GRAPH_SYNC,
                format!("sync:{ext}"),
                serde_json::to_string(s).unwrap_or_default(),
                sync::merge_alert_sync_json,
            ),
        })
        .collect();
    let key = AlertKey { tenant: r.tenant.clone(), source: r.source.clone(), alert_id: r.alert_id.clone() };
    let update = AlertUpdate { signl4_state: decision.new_state.map(|s| s.as_str().to_string()), ..Default::default() };
    let recorded = store
        .record_inbound(
            &InboundEvent {
                event_id: format!("{}:{change}", rt.cfg.name),
                tenant: rt.cfg.name.clone(),
                meaning: decision.note.to_string(),
            },
            Some((&key, &update)),
            &jobs,
            now_ms(),
        )
        .await?;
    if !recorded {
        tracing::debug!(tenant = %rt.cfg.name, event_id = %event.id, "repeated SIGNL4 delivery ignored");
        return Ok("duplicate");
    }
    tracing::info!(tenant = %rt.cfg.name, alert = %r.alert_id, what = decision.note, by = event.who().unwrap_or("-"), "SIGNL4 event recorded");
    Ok(decision.note)
}

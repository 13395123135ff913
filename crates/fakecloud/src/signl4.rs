//! Fake SIGNL4 inbound webhook (`signl4.md` §1): `POST /webhook/{teamSecret}` with any JSON,
//! `X-S4-*` control parameters, 201 + `eventId`, 400 / 404 / 429, `X-RateLimit-*` headers on
//! every answer, acknowledge / resolve by external id.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::common::{fault, json_response, uuidish};
use crate::outbound::Action;
use crate::state::{ReceivedEvent, Service, Signl4Alert, State};

fn s4_error(status: StatusCode, code: u32, details: &str) -> Response {
    json_response(
        status,
        json!({"requestId": uuidish(), "code": code, "details": details, "message": "Error raising event."}),
    )
}

pub async fn webhook(AxState(state): AxState<Arc<State>>, Path(secret): Path<String>, body: String) -> Response {
    state.lock().count("signl4.webhook");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let now = Instant::now();
    let mut st = state.lock();
    if !st.teams.contains_key(&secret) {
        // SIGNL4 echoes the unknown team secret in full (`signl4.md` §1.6), so whoever logs
        // this body logs the secret: the connector must scrub it.
        return s4_error(StatusCode::NOT_FOUND, 3004, &format!("An event source with ID {secret} was not found."));
    }
    // Rate limits and `X-RateLimit-*` headers (§1.7) are applied by `crate::throttle`.
    let parsed: Result<Value, _> = serde_json::from_str(&body);
    let Ok(Value::Object(obj)) = parsed else {
        return s4_error(
            StatusCode::BAD_REQUEST,
            400,
            "The request body is not valid JSON or does not match the content type.",
        );
    };
    let ext = obj.get("X-S4-ExternalID").and_then(Value::as_str).map(str::to_string);
    let status = match obj.get("X-S4-Status").and_then(Value::as_str) {
        None | Some("") => "new".to_string(),
        Some(s) => s.to_ascii_lowercase(),
    };
    st.event_seq += 1;
    let event_id = format!("{}_{}", 2_518_783_235_949_759_942u64 + st.event_seq, uuidish());
    let seq = st.event_seq;
    let Some(team) = st.teams.get_mut(&secret) else {
        return s4_error(StatusCode::NOT_FOUND, 3004, "team vanished");
    };
    let mut follow_up: Vec<(Option<u64>, Action)> = Vec::new();
    let mut changed_key = None;
    match (status.as_str(), &ext) {
        ("new", _) => {
            let key = ext.clone().unwrap_or_else(|| event_id.clone());
            team.alerts.insert(
                key.clone(),
                Signl4Alert {
                    external_id: key.clone(),
                    status: "new".into(),
                    event_id: event_id.clone(),
                    alert_id: format!("{}_{}", 2_518_981_069_381_242_800u64 + seq, uuidish()),
                    title: obj.get("Title").and_then(Value::as_str).unwrap_or("").to_string(),
                    notes: Vec::new(),
                    acknowledged_by: None,
                    closed_by: None,
                    modified: Some(now),
                    modified_unix_ms: crate::common::now().unix_timestamp() * 1000,
                },
            );
            if let Some(out) = &team.outbound {
                follow_up.push((Some(0), Action::Created));
                if let Some(plan) = &out.responders {
                    follow_up.push((plan.ack_after_ms, Action::Acknowledge(Some(plan.user.clone()))));
                    follow_up
                        .push((plan.annotate_after_ms, Action::Annotate(Some(plan.user.clone()), plan.note.clone())));
                    follow_up.push((plan.close_after_ms, Action::Close(Some(plan.user.clone()))));
                }
            }
            changed_key = Some(key);
        }
        // Only alerts initially triggered with that external id change (§1.4). A change made
        // through the webhook is reported by outbound webhooks like any other, with no user.
        ("acknowledged" | "resolved", Some(e))
            if team.alerts.get(e).is_some_and(|a| a.status != status && a.status != "resolved") =>
        {
            follow_up
                .push((Some(0), if status == "resolved" { Action::Close(None) } else { Action::Acknowledge(None) }));
            changed_key = Some(e.clone());
        }
        _ => {}
    }
    team.received.push(ReceivedEvent {
        event_id: event_id.clone(),
        external_id: ext,
        status,
        body: Value::Object(obj),
        at: Some(now),
    });
    drop(st);
    if let Some(key) = changed_key {
        for (delay, action) in follow_up {
            if let Some(ms) = delay {
                crate::outbound::schedule(state.clone(), secret.clone(), key.clone(), action, ms);
            }
        }
    }
    json_response(StatusCode::CREATED, json!({"eventId": event_id}))
}

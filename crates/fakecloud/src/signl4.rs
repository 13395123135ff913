//! Fake SIGNL4 inbound webhook (`signl4.md` §1): `POST /webhook/{teamSecret}` with any JSON,
//! `X-S4-*` control parameters, 201 + `eventId` (§1.6), 400 / 404 / 429, `X-RateLimit-*`
//! headers on every answer (§1.7, applied by `crate::throttle`), acknowledge / resolve by
//! external id (§1.4).
//!
//! Every accepted request becomes a [`Signl4Event`] that `GET /api/v2/events/{eventId}`
//! reports (§2.4). A 201 does not mean that anybody was paged: the event is `processing`
//! (status 1) for [`crate::Settings::event_processing_ms`], then settles as the team's
//! [`Delivery`] says:
//!
//! | `X-S4-Status`            | delivery                                         | event status     | alert                              |
//! |--------------------------|--------------------------------------------------|------------------|------------------------------------|
//! | `new` (absent, empty)    | `signled`                                        | 2 signled        | created, delivery status 6         |
//! | `new`                    | `nobody_on_duty` / `nobody_notified`             | 2 signled        | created, delivery status 30 / 31   |
//! | `new`                    | `filtered` / `suppressed` / `discarded` / `no_rule_applied` | 3 / 7 / 5 / 8 | none             |
//! | `acknowledged`           | an open alert with that external id              | 6 acknowledged   | acknowledged                       |
//! | `resolved`               | an alert with that external id, not closed       | 4 resolved       | closed                             |
//! | anything else / no alert |                                                  | 5 discarded      | unchanged                          |
//!
//! Outbound events (§3) and virtual responders follow only a processed event that created or
//! changed an alert; responders act only on alerts delivered to somebody (`signled`).
//!
//! A second `new` with the same `X-S4-ExternalID` makes a second alert (the notes do not say
//! that SIGNL4 deduplicates, §2.4); the older one moves to [`crate::state::Team::replaced_alerts`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::common::{fault, json_response, uuidish};
use crate::outbound::Action;
use crate::state::{EventStatus, PendingEvent, ReceivedEvent, Service, Signl4Alert, Signl4Event, State, Team};

fn s4_error(status: StatusCode, code: u32, details: &str) -> Response {
    json_response(
        status,
        json!({"requestId": uuidish(), "code": code, "details": details, "message": "Error raising event."}),
    )
}

fn wall_ms() -> i64 {
    crate::common::now().unix_timestamp() * 1000
}

/// The first string value among `names` (case-insensitive keys), §1.3.
fn field(obj: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).and_then(|(_, v)| v.as_str()).map(str::to_string)
    })
}

/// Follow-up actions of a processed event: (delay in ms, action) on the alert with that
/// external id.
type FollowUp = Option<(String, Vec<(u64, Action)>)>;

/// Processes one accepted event: creates or changes the alert, settles the event's status.
fn process(team: &mut Team, p: PendingEvent) -> FollowUp {
    let now_ms = wall_ms();
    let mut follow_up: Vec<(u64, Action)> = Vec::new();
    let mut changed_key = None;
    let mut targets = Vec::new();
    let mut acked = Vec::new();
    let mut closed = Vec::new();
    let delivery = team.delivery;
    let status = match (p.x_s4_status.as_str(), &p.external_id) {
        ("new", _) if !delivery.creates_alert() => delivery.event_status(),
        ("new", _) => {
            let key = p.external_id.clone().unwrap_or_else(|| p.event_id.clone());
            let alert = Signl4Alert {
                external_id: key.clone(),
                sent_external_id: p.external_id.clone(),
                status: "new".into(),
                event_id: p.event_id.clone(),
                alert_id: format!("{}_{}", 2_518_981_069_381_242_800u64 + p.seq, uuidish()),
                title: p.title.clone(),
                text: p.text.clone(),
                notes: Vec::new(),
                acknowledged_by: None,
                acknowledgements: Vec::new(),
                closed_by: None,
                created_unix_ms: now_ms,
                acknowledged_unix_ms: None,
                closed_unix_ms: None,
                delivery_status: delivery.alert_delivery_status(),
                modified: Some(p.at),
                modified_unix_ms: now_ms,
            };
            targets.push(alert.alert_id.clone());
            if let Some(old) = team.alerts.insert(key.clone(), alert) {
                team.replaced_alerts.push(old);
            }
            if let Some(out) = &team.outbound {
                follow_up.push((0, Action::Created));
                if let Some(plan) = out.responders.as_ref().filter(|_| delivery.responders_act()) {
                    let u = plan.user.clone();
                    let mut add = |d: Option<u64>, a: Action| {
                        if let Some(ms) = d {
                            follow_up.push((ms, a));
                        }
                    };
                    add(plan.ack_after_ms, Action::Acknowledge(Some(u.clone())));
                    add(plan.annotate_after_ms, Action::Annotate(Some(u.clone()), plan.note.clone()));
                    add(plan.close_after_ms, Action::Close(Some(u)));
                }
            }
            changed_key = Some(key);
            delivery.event_status()
        }
        // Only alerts initially triggered with that external id change (§1.4). A change made
        // through the webhook is reported by outbound webhooks like any other, with no user.
        ("acknowledged" | "resolved", Some(e)) if team.alerts.get(e).is_some_and(|a| a.status != "resolved") => {
            let a = &team.alerts[e];
            let resolve = p.x_s4_status == "resolved";
            if a.status != p.x_s4_status {
                follow_up.push((0, if resolve { Action::Close(None) } else { Action::Acknowledge(None) }));
                changed_key = Some(e.clone());
            }
            if resolve {
                closed.push(a.alert_id.clone());
                EventStatus::Resolved
            } else {
                acked.push(a.alert_id.clone());
                EventStatus::Acknowledged
            }
        }
        // Any other status, or no open alert with that external id (BLOG2020, §1.4).
        _ => EventStatus::Discarded,
    };
    if let Some(ev) = team.events.iter_mut().rev().find(|e| e.event_id == p.event_id) {
        ev.status = status;
        ev.targets = targets;
        ev.acknowledged_alerts = acked;
        ev.closed_alerts = closed;
        ev.modified_unix_ms = now_ms;
    }
    changed_key.map(|k| (k, follow_up))
}

fn run_follow_up(state: &Arc<State>, secret: &str, f: FollowUp) {
    if let Some((key, actions)) = f {
        crate::outbound::schedule_in_order(state.clone(), secret.to_string(), key, actions);
    }
}

/// Processes the team's pending events that are due, oldest first (so that a `resolved`
/// never overtakes the `new` it refers to).
async fn settle_due(state: Arc<State>, secret: String) {
    let follow_ups: Vec<FollowUp> = {
        let mut st = state.lock();
        let Some(team) = st.teams.get_mut(&secret) else { return };
        let now = tokio::time::Instant::now();
        let mut out = Vec::new();
        while team.pending.front().is_some_and(|p| p.due <= now) {
            if let Some(p) = team.pending.pop_front() {
                out.push(process(team, p));
            }
        }
        out
    };
    for f in follow_ups {
        run_follow_up(&state, &secret, f);
    }
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
    // Stored exactly as sent.
    let ext = obj.get("X-S4-ExternalID").and_then(Value::as_str).map(str::to_string);
    let status = match obj.get("X-S4-Status").and_then(Value::as_str) {
        None | Some("") => "new".to_string(),
        Some(s) => s.to_ascii_lowercase(),
    };
    let title = field(&obj, &["Title", "Subject"]).unwrap_or_default();
    let text = field(&obj, &["Message", "Body", "Text"]).unwrap_or_default();
    st.event_seq += 1;
    let event_id = format!("{}_{}", 2_518_783_235_949_759_942u64 + st.event_seq, uuidish());
    let seq = st.event_seq;
    let processing = Duration::from_millis(st.settings.event_processing_ms);
    let Some(team) = st.teams.get_mut(&secret) else {
        return s4_error(StatusCode::NOT_FOUND, 3004, "team vanished");
    };
    let ms = wall_ms();
    team.events.push(Signl4Event {
        event_id: event_id.clone(),
        external_id: ext.clone(),
        x_s4_status: status.clone(),
        status: EventStatus::Processing,
        targets: Vec::new(),
        acknowledged_alerts: Vec::new(),
        closed_alerts: Vec::new(),
        title: title.clone(),
        text: text.clone(),
        created_unix_ms: ms,
        modified_unix_ms: ms,
    });
    team.received.push(ReceivedEvent {
        event_id: event_id.clone(),
        external_id: ext.clone(),
        status: status.clone(),
        body: Value::Object(obj),
        at: Some(now),
    });
    let pending = PendingEvent {
        seq,
        event_id: event_id.clone(),
        external_id: ext,
        x_s4_status: status,
        title,
        text,
        at: now,
        due: tokio::time::Instant::now() + processing,
    };
    if processing.is_zero() && team.pending.is_empty() {
        let f = process(team, pending);
        drop(st);
        run_follow_up(&state, &secret, f);
    } else {
        team.pending.push_back(pending);
        drop(st);
        let (state, secret) = (state.clone(), secret.clone());
        tokio::spawn(async move {
            tokio::time::sleep(processing).await;
            settle_due(state, secret).await;
        });
    }
    json_response(StatusCode::CREATED, json!({"eventId": event_id}))
}

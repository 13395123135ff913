//! Fake SIGNL4 outbound webhooks (`signl4.md` §3) and virtual responders.
//!
//! When a team has an outbound URL, every change of one of its alerts is POSTed there in the
//! documented shapes (200 created, 201 status changed with `statusCode` 2 / 4, 202 escalated,
//! 203 annotated). Deliveries are retried on failure and, with `duplicate_probability`,
//! repeated with the same `id`, as the real service may do.
//!
//! Every user who acts (and the user of a responder plan) becomes one of the team's users
//! that `GET /api/v2/users` lists (`signl4.md` §2.2), so that a client can resolve the bare
//! user ids of V2 alerts (§2.4).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{graph_ts, now, uuidish};
use crate::state::{Responder, State};

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Event 200 for a new alert.
    Created,
    Acknowledge(Option<Responder>),
    Annotate(Option<Responder>, String),
    Close(Option<Responder>),
    Escalate,
}

pub fn schedule(state: Arc<State>, team: String, external_id: String, action: Action, delay_ms: u64) {
    tokio::spawn(async move {
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        apply(&state, &team, &external_id, action).await;
    });
}

/// Performs `actions` (each after its delay from now) on one alert in order, in one task: a
/// responder cannot close before acknowledging, however late a loaded machine wakes the timers.
pub fn schedule_in_order(state: Arc<State>, team: String, external_id: String, mut actions: Vec<(u64, Action)>) {
    actions.sort_by_key(|(ms, _)| *ms);
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for (ms, action) in actions {
            if ms > 0 {
                tokio::time::sleep_until(start + Duration::from_millis(ms)).await;
            }
            apply(&state, &team, &external_id, action).await;
        }
    });
}

/// The SIGNL4 subscription of every fake team (`subscription.id`, `subscriptionId`).
pub(crate) const SUBSCRIPTION: &str = "0acf8014-22f2-4503-88d7-f7d05b46744f";

/// Performs a responder action on a SIGNL4 alert and emits the outbound event. Returns the
/// event's `id`, or None when the action does not apply (unknown alert, already closed).
pub async fn apply(state: &Arc<State>, team: &str, external_id: &str, action: Action) -> Option<String> {
    let (event, url, dup) = {
        let mut st = state.lock();
        let t = st.teams.get_mut(team)?;
        let actor = match &action {
            Action::Acknowledge(u) | Action::Close(u) | Action::Annotate(u, _) => u.clone(),
            Action::Created | Action::Escalate => None,
        };
        let a = t.alerts.get_mut(external_id)?;
        let now_ms = now().unix_timestamp() * 1000;
        let (event_type, status_code, user, annotation) = match &action {
            Action::Created => (200, 1, None, None),
            Action::Acknowledge(u) => {
                if a.status == "resolved" {
                    return None;
                }
                a.status = "acknowledged".into();
                if a.acknowledged_by.is_none() {
                    a.acknowledged_by = u.clone();
                }
                a.acknowledged_unix_ms.get_or_insert(now_ms);
                if let Some(u) = u
                    && !a.acknowledgements.contains(&u.id)
                {
                    a.acknowledgements.push(u.id.clone());
                }
                (201, 2, u.clone(), None)
            }
            Action::Close(u) => {
                if a.status == "resolved" && u.is_some() {
                    return None;
                }
                a.status = "resolved".into();
                a.closed_by = u.clone();
                a.closed_unix_ms = Some(now_ms);
                (201, 4, u.clone(), None)
            }
            Action::Annotate(u, text) => {
                let note = crate::state::Note {
                    id: format!("{}_{}", 2_518_783_235_661_483_318u64, uuidish()),
                    text: text.clone(),
                    user: u.clone(),
                    unix_ms: now_ms,
                };
                let id = note.id.clone();
                a.notes.push(note);
                (203, 0, u.clone(), Some((id, text.clone())))
            }
            Action::Escalate => (202, 1, None, None),
        };
        a.modified = Some(Instant::now());
        a.modified_unix_ms = now_ms;
        let id = uuidish();
        let mut ev = json!({
            "eventType": event_type,
            "eventRaisedUtc": graph_ts(now()),
            "subscription": {"id": SUBSCRIPTION},
            "alert": {
                "statusCode": status_code,
                "eventId": a.event_id,
                "externalEventId": a.external_id,
                "id": a.alert_id,
            },
            "id": id,
        });
        if let Some(u) = user {
            ev["user"] = json!({"username": u.username, "mailaddress": u.mailaddress, "id": u.id});
            if status_code == 2 {
                ev["alert"]["acknowledgedUserIds"] = json!([u.id]);
            }
        } else if event_type == 202 {
            ev["team"] = json!({"id": t.team_id});
        }
        if let Some((note_id, text)) = annotation {
            ev["annotation"] = json!({"message": text, "id": note_id});
        }
        if let Some(u) = &actor {
            t.remember_user(u);
        }
        t.outbound_log.push(ev.clone());
        let out = t.outbound.clone();
        (ev, out.as_ref().map(|o| o.url.clone()), out.map(|o| o.duplicate_probability).unwrap_or(0.0))
    };
    let id = event["id"].as_str().unwrap_or("").to_string();
    if let Some(url) = url {
        state.lock().count("signl4.outbound");
        deliver(&url, &event).await;
        if dup > 0.0 && rand::random::<f64>() < dup {
            state.lock().count("signl4.outbound.duplicate");
            deliver(&url, &event).await;
        }
    }
    Some(id)
}

async fn deliver(url: &str, event: &Value) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    for attempt in 0..6u32 {
        match client.post(url).json(event).send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => return,
            _ => tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await,
        }
    }
}

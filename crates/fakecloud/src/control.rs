//! Control API (`/_control/...`) for tests, benchmarks and `emulator` users: inject alerts
//! and faults, change settings (`PUT /_control/settings` with a whole [`Settings`]; fields
//! left out take their defaults, e.g. `"rest_shape": "v1"`, `"event_processing_ms": 500`), choose what SIGNL4 makes of a team's events
//! (`PUT /_control/teams/{secret}/delivery`), read what SIGNL4 received. Not part of any real
//! service.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::json_response;
use crate::graph::{insert_alert, modify_alert};
use crate::limits::Limits;
use crate::reqlog::Api;
use crate::state::{App, Delivery, Fault, Settings, State};

#[derive(Deserialize)]
pub struct NewTenant {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

pub fn default_roles() -> Vec<String> {
    ["SecurityAlert.ReadWrite.All", "SecurityIncident.ReadWrite.All"].iter().map(|s| s.to_string()).collect()
}

pub fn add_tenant(state: &State, t: NewTenant) {
    let mut st = state.lock();
    let tenant = st.tenants.entry(t.tenant_id).or_default();
    tenant.apps.insert(
        t.client_id.clone(),
        App { client_id: t.client_id, client_secret: t.client_secret, roles: t.roles.unwrap_or_else(default_roles) },
    );
}

pub async fn post_tenant(AxState(state): AxState<Arc<State>>, axum::Json(t): axum::Json<NewTenant>) -> Response {
    add_tenant(&state, t);
    json_response(StatusCode::CREATED, json!({"ok": true}))
}

pub async fn post_alerts(
    AxState(state): AxState<Arc<State>>,
    Path(tenant): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let items = match body {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut st = state.lock();
    let mut out = Vec::new();
    for a in items {
        match insert_alert(&mut st, &tenant, a) {
            Ok(v) => out.push(v),
            Err(e) => return json_response(StatusCode::BAD_REQUEST, json!({"error": e})),
        }
    }
    json_response(StatusCode::CREATED, Value::Array(out))
}

pub async fn patch_alert(
    AxState(state): AxState<Arc<State>>,
    Path((tenant, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Value::Object(changes) = body else {
        return json_response(StatusCode::BAD_REQUEST, json!({"error": "expected an object"}));
    };
    let mut st = state.lock();
    match modify_alert(&mut st, &tenant, &id, &changes) {
        Some(v) => json_response(StatusCode::OK, v),
        None => json_response(StatusCode::NOT_FOUND, json!({"error": "no such alert"})),
    }
}

pub async fn get_alerts(AxState(state): AxState<Arc<State>>, Path(tenant): Path<String>) -> Response {
    let st = state.lock();
    let list = st.tenants.get(&tenant).map(|t| t.alerts.clone()).unwrap_or_default();
    json_response(StatusCode::OK, Value::Array(list))
}

#[derive(Deserialize)]
pub struct NewTeam {
    pub secret: String,
}

/// Creates a team (with a team id) if it does not exist.
pub fn add_team(st: &mut crate::state::Inner, secret: &str) {
    let t = st.teams.entry(secret.into()).or_default();
    if t.team_id.is_empty() {
        // Distinct per secret, stable across runs.
        let h = secret.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        t.team_id = format!("0e8979f7-0c6a-472d-8918-{:012x}", h & 0xffff_ffff_ffff);
    }
}

pub async fn post_team(AxState(state): AxState<Arc<State>>, axum::Json(t): axum::Json<NewTeam>) -> Response {
    add_team(&mut state.lock(), &t.secret);
    json_response(StatusCode::CREATED, json!({"ok": true}))
}

pub async fn get_team_events(AxState(state): AxState<Arc<State>>, Path(secret): Path<String>) -> Response {
    let st = state.lock();
    match st.teams.get(&secret) {
        Some(t) => json_response(StatusCode::OK, serde_json::to_value(&t.received).unwrap_or(Value::Null)),
        None => json_response(StatusCode::NOT_FOUND, json!({"error": "no such team"})),
    }
}

pub async fn get_team_alerts(AxState(state): AxState<Arc<State>>, Path(secret): Path<String>) -> Response {
    let st = state.lock();
    match st.teams.get(&secret) {
        Some(t) => json_response(
            StatusCode::OK,
            serde_json::to_value(t.alerts.values().collect::<Vec<_>>()).unwrap_or(Value::Null),
        ),
        None => json_response(StatusCode::NOT_FOUND, json!({"error": "no such team"})),
    }
}

pub async fn post_fault(AxState(state): AxState<Arc<State>>, axum::Json(f): axum::Json<Fault>) -> Response {
    state.lock().faults.push(f);
    json_response(StatusCode::CREATED, json!({"ok": true}))
}

pub async fn delete_faults(AxState(state): AxState<Arc<State>>) -> Response {
    state.lock().faults.clear();
    json_response(StatusCode::OK, json!({"ok": true}))
}

#[derive(Deserialize)]
pub struct NextLink {
    pub url: String,
}

/// `PUT /_control/next_link/{service}` (`graph` or `arm`): every listing answer names `url`
/// as its next page.
pub async fn put_next_link(
    AxState(state): AxState<Arc<State>>,
    Path(service): Path<crate::state::Service>,
    axum::Json(l): axum::Json<NextLink>,
) -> Response {
    state.lock().next_link_overrides.insert(service, l.url);
    json_response(StatusCode::OK, json!({"ok": true}))
}

pub async fn delete_next_link(
    AxState(state): AxState<Arc<State>>,
    Path(service): Path<crate::state::Service>,
) -> Response {
    state.lock().next_link_overrides.remove(&service);
    json_response(StatusCode::OK, json!({"ok": true}))
}

pub async fn get_settings(AxState(state): AxState<Arc<State>>) -> Response {
    json_response(StatusCode::OK, serde_json::to_value(&state.lock().settings).unwrap_or(Value::Null))
}

pub async fn put_settings(AxState(state): AxState<Arc<State>>, axum::Json(mut s): axum::Json<Settings>) -> Response {
    s.reconcile_incoming();
    state.lock().settings = s;
    json_response(StatusCode::OK, json!({"ok": true}))
}

pub async fn get_stats(AxState(state): AxState<Arc<State>>) -> Response {
    json_response(StatusCode::OK, serde_json::to_value(&state.lock().requests).unwrap_or(Value::Null))
}

/// `GET /_control/dcrs/{dcr}/streams/{stream}`: the rows the stream received, in order.
pub async fn get_ingested_rows(
    AxState(state): AxState<Arc<State>>,
    Path((dcr, stream)): Path<(String, String)>,
) -> Response {
    let st = state.lock();
    let Some(d) = st.dcrs.get(&dcr) else {
        return json_response(StatusCode::NOT_FOUND, json!({"error": format!("unknown data collection rule {dcr}")}));
    };
    let rows: Vec<Value> = d.rows.iter().filter(|(s, _)| *s == stream).map(|(_, r)| r.clone()).collect();
    json_response(StatusCode::OK, json!({"rows": rows}))
}

pub async fn expire_tokens(AxState(state): AxState<Arc<State>>) -> Response {
    crate::expire_all_tokens(&state);
    json_response(StatusCode::OK, json!({"ok": true}))
}

#[derive(Deserialize)]
pub struct NewIncident {
    pub incident: Value,
    #[serde(default)]
    pub alerts: Vec<Value>,
}

pub async fn post_incident(
    AxState(state): AxState<Arc<State>>,
    Path(ws): Path<String>,
    axum::Json(b): axum::Json<NewIncident>,
) -> Response {
    match crate::sentinel::insert_incident(&mut state.lock(), &ws, b.incident, b.alerts) {
        Ok(v) => json_response(StatusCode::CREATED, v),
        Err(e) => json_response(StatusCode::BAD_REQUEST, json!({"error": e})),
    }
}

pub async fn patch_incident(
    AxState(state): AxState<Arc<State>>,
    Path((ws, name)): Path<(String, String)>,
    axum::Json(changes): axum::Json<Value>,
) -> Response {
    match crate::sentinel::modify_incident(&mut state.lock(), &ws, &name, &changes) {
        Some(v) => json_response(StatusCode::OK, v),
        None => json_response(StatusCode::NOT_FOUND, json!({"error": "no such workspace or incident"})),
    }
}

pub async fn put_outbound(
    AxState(state): AxState<Arc<State>>,
    Path(secret): Path<String>,
    axum::Json(o): axum::Json<crate::state::Outbound>,
) -> Response {
    match state.lock().teams.get_mut(&secret) {
        Some(t) => {
            if let Some(p) = &o.responders {
                t.remember_user(&p.user);
            }
            t.outbound = Some(o);
            json_response(StatusCode::OK, json!({"ok": true}))
        }
        None => json_response(StatusCode::NOT_FOUND, json!({"error": "no such team"})),
    }
}

/// `PUT /_control/teams/{secret}/delivery` with `{"outcome": "signled" | "filtered" |
/// "suppressed" | "discarded" | "no_rule_applied" | "nobody_on_duty" | "nobody_notified"}`:
/// what SIGNL4 makes of the team's next `new` events (see [`Delivery`]).
pub async fn put_delivery(
    AxState(state): AxState<Arc<State>>,
    Path(secret): Path<String>,
    axum::Json(b): axum::Json<Value>,
) -> Response {
    let Some(outcome) = b.get("outcome").cloned().and_then(|v| serde_json::from_value::<Delivery>(v).ok()) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "use {\"outcome\": \"signled\" | \"filtered\" | \"suppressed\" | \"discarded\" | \"no_rule_applied\" | \"nobody_on_duty\" | \"nobody_notified\"}"}),
        );
    };
    match state.lock().teams.get_mut(&secret) {
        Some(t) => {
            t.delivery = outcome;
            json_response(StatusCode::OK, json!({"ok": true, "outcome": outcome}))
        }
        None => json_response(StatusCode::NOT_FOUND, json!({"error": "no such team"})),
    }
}

/// `GET /_control/teams/{secret}/signl4_events`: the events SIGNL4 made of the team's
/// webhook requests, with their status.
pub async fn get_team_signl4_events(AxState(state): AxState<Arc<State>>, Path(secret): Path<String>) -> Response {
    let st = state.lock();
    match st.teams.get(&secret) {
        Some(t) => json_response(StatusCode::OK, serde_json::to_value(&t.events).unwrap_or(Value::Null)),
        None => json_response(StatusCode::NOT_FOUND, json!({"error": "no such team"})),
    }
}

#[derive(Deserialize, Default)]
pub struct ActionBody {
    #[serde(default)]
    pub user: Option<crate::state::Responder>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /_control/teams/{secret}/alerts/{external_id}/{acknowledge|close|annotate|escalate}`:
/// a responder acts on the phone; the outbound event is delivered before the answer.
pub async fn post_action(
    AxState(state): AxState<Arc<State>>,
    Path((secret, ext, action)): Path<(String, String, String)>,
    body: Option<axum::Json<ActionBody>>,
) -> Response {
    let b = body.map(|axum::Json(b)| b).unwrap_or_default();
    let user = b.user.or_else(|| Some(crate::state::Responder::default()));
    let a = match action.as_str() {
        "acknowledge" => crate::outbound::Action::Acknowledge(user),
        "close" => crate::outbound::Action::Close(user),
        "annotate" => crate::outbound::Action::Annotate(user, b.note.unwrap_or_else(|| "note".into())),
        "escalate" => crate::outbound::Action::Escalate,
        _ => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "use acknowledge, close, annotate or escalate"}),
            );
        }
    };
    match crate::outbound::apply(&state, &secret, &ext, a).await {
        Some(id) => json_response(StatusCode::OK, json!({"eventId": id})),
        None => json_response(
            StatusCode::CONFLICT,
            json!({"error": "no such alert, or the action does not apply (already closed)"}),
        ),
    }
}

pub async fn get_limits(AxState(state): AxState<Arc<State>>) -> Response {
    json_response(StatusCode::OK, serde_json::to_value(&state.lock().settings.limits).unwrap_or(Value::Null))
}

/// `PUT /_control/limits` with a [`Limits`] object, or `"documented"`, `"documented_free_plan"`
/// or `"off"`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum LimitsBody {
    Preset(String),
    Limits(Box<Limits>),
}

pub async fn put_limits(AxState(state): AxState<Arc<State>>, axum::Json(b): axum::Json<LimitsBody>) -> Response {
    let limits = match b {
        LimitsBody::Limits(l) => *l,
        LimitsBody::Preset(p) => match p.as_str() {
            "documented" => Limits::documented(),
            "documented_free_plan" => Limits::documented_free_plan(),
            "off" => Limits::off(),
            _ => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "use a Limits object, \"documented\", \"documented_free_plan\" or \"off\""}),
                );
            }
        },
    };
    let mut st = state.lock();
    st.settings.limits = limits;
    st.settings.mirror_limits();
    json_response(StatusCode::OK, serde_json::to_value(&st.settings.limits).unwrap_or(Value::Null))
}

#[derive(Deserialize)]
pub struct RequestsQuery {
    pub service: Option<String>,
    pub tenant: Option<String>,
}

/// `GET /_control/requests?service=graph[&tenant=…]`: the request log (all services when
/// `service` is absent), by arrival.
pub async fn get_requests(
    AxState(state): AxState<Arc<State>>,
    axum::extract::Query(q): axum::extract::Query<RequestsQuery>,
) -> Response {
    let api = match q.service.as_deref().map(Api::parse) {
        None => None,
        Some(Some(a)) => Some(a),
        Some(None) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "service is one of entra, graph, arm, log_analytics, signl4_webhook, signl4_rest"}),
            );
        }
    };
    let st = state.lock();
    let mut list: Vec<&crate::reqlog::RequestRecord> = st
        .log
        .records
        .iter()
        .filter(|r| api.is_none_or(|a| r.api == a))
        .filter(|r| q.tenant.as_ref().is_none_or(|t| r.tenant.as_ref() == Some(t)))
        .collect();
    list.sort_by_key(|r| r.seq);
    json_response(StatusCode::OK, serde_json::to_value(list).unwrap_or(Value::Null))
}

pub async fn delete_requests(AxState(state): AxState<Arc<State>>) -> Response {
    state.lock().log.records.clear();
    json_response(StatusCode::OK, json!({"ok": true}))
}

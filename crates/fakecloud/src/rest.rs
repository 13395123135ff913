//! Fake SIGNL4 REST API subset (`signl4.md` §2), authenticated with `X-S4-Api-Key` (a key
//! belongs to one team; an unknown key is 401). Rate-limited per team by `crate::throttle`
//! (§1.7: REST endpoints 150 requests / 15 s and 36,000 / h on a commercial plan; the notes
//! exempt only raising events, so reading an event counts as REST).
//!
//! | route                                   | answer                                                       |
//! |-----------------------------------------|--------------------------------------------------------------|
//! | `POST /api/v2/alerts/paged?maxResults=` | `{results, hasMore, continuationToken}`, 204 when none (§2.2–§2.4) |
//! | `GET /api/v2/alerts/{alertId}`          | one alert, 404                                               |
//! | `GET /api/v2/alerts/{id}/annotations`   | `[{id, text, user, userId, timestamp}]`                      |
//! | `POST /api/v2/alerts/{id}/annotate`     | `{text, type, userId}` → 200 `{id, teamId, text, type, timestamp}`; 400 without text; emits outbound 203 (§2.4; whether the real service emits it for API annotations is not documented, so the connector must ignore its own) |
//! | `GET /api/v2/users`                     | `[V2.UserDetails]`: `{id, mail, name, dutyInfos[{teamId, userId, dutyMode}]}` (§2.2) |
//! | `GET /api/v2/users/{userId}`            | one user (by id or mail address), 404                        |
//! | `GET /api/webhooks?teamId=`             | V1 `[WebhookInfo]`: the team's outbound webhook registration, if any (§2.3) |
//! | `GET /api/v2/events/{eventId}`          | `V2.EventDetails` `{id, eventStatus, targets[{alertId, teamId}], creationTime, …}`, 404 (§2.4) |
//!
//! Alerts come in the shape [`crate::Settings::rest_shape`] chooses:
//!
//! - [`RestShape::V2`] (default), `V2.AlertInfo` of SIGNL4's certified Power Platform connector
//!   (§2.4): `status {statusCode, alertDeliveryStatus {statusCode, userDeliveryStatus[]}}`,
//!   `externalId`, `history {created, acknowledgedAt, acknowledgements[], closedAt, closedBy}`.
//!   As in that swagger, `acknowledgements` is a list of user ids and `closedBy` a user id:
//!   no name, no mail address; a client resolves them with `GET /v2/users`.
//! - [`RestShape::V1`], the V1 swagger's names (§2.3) as this fake served them before:
//!   numeric `status`, `externalEventId`, `parameters[]`, and `history.acknowledgedBy` /
//!   `closedBy` as `{id, username, mailaddress}` objects.
//!
//! The paged filter takes both spellings: `externalId` (a **prefix** match — the notes do not
//! say whether SIGNL4 matches exactly, so a client must compare the returned `externalId`
//! itself), `teamIds[]` / `teamId` / `teamid`, `alertIds[]`, `alertStatusCodes` /
//! `statusCodes` (bit mask of 1 new, 2 acknowledged, 4 closed), `modifiedSince` / `modSince`,
//! `minCreated` / `minCreationDate`, `maxCreated` / `maxCreationDate`, and
//! `continuationToken.nextRowKey`. `maxResults` is clamped to 1..100.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::common::{fault, json_response, uuidish};
use crate::outbound::SUBSCRIPTION;
use crate::state::{Delivery, Inner, Responder, RestShape, Service, Signl4Alert, Signl4Event, State, Team};

fn iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::common::graph_ts(t)
}

fn parse_ms(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn user_json(u: &Option<Responder>) -> Value {
    match u {
        Some(u) => json!({"id": u.id, "username": u.username, "mailaddress": u.mailaddress}),
        None => Value::Null,
    }
}

/// `AlertStatusCodes`: 1 new, 2 acknowledged, 4 closed.
fn status_code(a: &Signl4Alert) -> u64 {
    match a.status.as_str() {
        "acknowledged" => 2,
        "resolved" => 4,
        _ => 1,
    }
}

/// The team's default category (stable per team).
fn category_id(team: &Team) -> String {
    let tail = team.team_id.rsplit('-').next().unwrap_or("");
    format!("5c7e3b1a-2d4f-4c6e-9a8b-{tail:0>12}")
}

/// V1 swagger names (`signl4.md` §2.3), unchanged from the fake's first REST subset.
fn alert_v1(team: &Team, a: &Signl4Alert) -> Value {
    json!({
        "id": a.alert_id,
        "eventId": a.event_id,
        "teamId": team.team_id,
        "title": a.title,
        "status": status_code(a),
        "lastModified": iso(a.modified_unix_ms),
        "externalEventId": a.external_id,
        "parameters": [{"name": "X-S4-ExternalID", "value": a.external_id, "type": 0}],
        "history": {"acknowledgedBy": user_json(&a.acknowledged_by), "closedBy": user_json(&a.closed_by)},
    })
}

/// `V2.AlertInfo` (`signl4.md` §2.4).
fn alert_v2(team: &Team, a: &Signl4Alert) -> Value {
    json!({
        "id": a.alert_id,
        "eventId": a.event_id,
        "externalId": a.sent_external_id,
        "teamId": team.team_id,
        "subscriptionId": SUBSCRIPTION,
        "title": a.title,
        "text": a.text,
        "severity": 0,
        "status": {
            "statusCode": status_code(a),
            "alertDeliveryStatus": {"alertId": a.alert_id, "statusCode": a.delivery_status, "userDeliveryStatus": []},
        },
        "history": {
            "created": iso(a.created_unix_ms),
            "acknowledgedAt": a.acknowledged_unix_ms.map(iso),
            "acknowledgements": a.acknowledgements,
            "closedAt": a.closed_unix_ms.map(iso),
            "closedBy": a.closed_by.as_ref().map(|u| u.id.clone()),
        },
        "lastModified": iso(a.modified_unix_ms),
        "requiredAcknowledgements": 1,
        // V2.AlertFlags: 2 = HasAnnotations.
        "flags": if a.notes.is_empty() { 0 } else { 2 },
        "categoryId": category_id(team),
    })
}

fn alert_json(shape: RestShape, team: &Team, a: &Signl4Alert) -> Value {
    match shape {
        RestShape::V2 => alert_v2(team, a),
        RestShape::V1 => alert_v1(team, a),
    }
}

/// `V2.UserDetails` (`signl4.md` §2.2: `mail`, `id`, `dutyInfos[].dutyMode` 0 none, 1
/// primary, 100 manager). With [`Delivery::NobodyOnDuty`] nobody is on duty.
fn user_v2(team: &Team, u: &Responder) -> Value {
    let duty = if team.delivery == Delivery::NobodyOnDuty { 0 } else { 1 };
    json!({
        "id": u.id,
        "mail": u.mailaddress,
        "name": u.username,
        "subscriptionId": SUBSCRIPTION,
        "isDeactivated": false,
        "isInvite": false,
        "dutyInfos": [{"teamId": team.team_id, "userId": u.id, "dutyMode": duty, "overdue": false, "onDutyTime": 0, "lastChange": null}],
    })
}

/// `V2.EventDetails` (`signl4.md` §2.4).
fn event_json(team: &Team, e: &Signl4Event) -> Value {
    let targets: Vec<Value> = e
        .targets
        .iter()
        .map(|id| {
            json!({"alertId": id, "teamId": team.team_id, "eventId": e.event_id, "eventTargetStatus": e.status.code(),
                   "creationTime": iso(e.modified_unix_ms), "lastModified": iso(e.modified_unix_ms)})
        })
        .collect();
    json!({
        "id": e.event_id,
        "eventStatus": e.status.code(),
        "externalId": e.external_id,
        "title": e.title,
        "text": e.text,
        "severity": 0,
        // V2.EventSourceTypes: 2 = WebHook.
        "eventSourceType": 2,
        "eventSourceTeamId": team.team_id,
        "creationTime": iso(e.created_unix_ms),
        "lastModified": iso(e.modified_unix_ms),
        "targets": targets,
        "acknowledgedAlerts": e.acknowledged_alerts,
        "closedAlerts": e.closed_alerts,
    })
}

fn authorized<'a>(st: &'a Inner, headers: &HeaderMap) -> Option<(&'a String, &'a Team)> {
    let key = headers.get("x-s4-api-key").and_then(|v| v.to_str().ok())?;
    st.teams.iter().find(|(_, t)| t.api_keys.iter().any(|k| k == key))
}

fn unauthorized() -> Response {
    json_response(StatusCode::UNAUTHORIZED, json!({"code": 401, "message": "Unauthorized", "requestId": uuidish()}))
}

fn not_found(message: &str) -> Response {
    json_response(StatusCode::NOT_FOUND, json!({"code": 404, "message": message, "requestId": uuidish()}))
}

/// A filter field by any of `names`, case-insensitively.
fn get<'a>(filter: &'a Value, names: &[&str]) -> Option<&'a Value> {
    let obj = filter.as_object()?;
    names.iter().find_map(|n| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v))
}

fn get_str<'a>(filter: &'a Value, names: &[&str]) -> Option<&'a str> {
    get(filter, names).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn get_strs(filter: &Value, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        match get(filter, &[n]) {
            Some(Value::Array(a)) => out.extend(a.iter().filter_map(Value::as_str).map(str::to_string)),
            Some(Value::String(s)) if !s.is_empty() => out.push(s.clone()),
            _ => {}
        }
    }
    out
}

pub async fn alerts_paged(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: String,
) -> Response {
    state.lock().count("signl4.rest.paged");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let st = state.lock();
    let Some((_, team)) = authorized(&st, &headers) else { return unauthorized() };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let max = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("maxResults"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let filter: Value = serde_json::from_str(&body).unwrap_or(json!({}));
    let since_ms = get_str(&filter, &["modifiedSince", "modSince"]).and_then(parse_ms).unwrap_or(0);
    let min_created = get_str(&filter, &["minCreated", "minCreationDate"]).and_then(parse_ms);
    let max_created = get_str(&filter, &["maxCreated", "maxCreationDate"]).and_then(parse_ms);
    let ext = get_str(&filter, &["externalId"]);
    let team_ids = get_strs(&filter, &["teamIds", "teamId"]);
    let alert_ids = get_strs(&filter, &["alertIds"]);
    let mask = get(&filter, &["alertStatusCodes", "statusCodes"]).and_then(Value::as_u64).unwrap_or(0);
    let skip = filter
        .pointer("/continuationToken/nextRowKey")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let team_ok = team_ids.is_empty() || team_ids.contains(&team.team_id);
    let mut all: Vec<&Signl4Alert> = team
        .alerts
        .values()
        .chain(team.replaced_alerts.iter())
        .filter(|_| team_ok)
        .filter(|a| a.modified_unix_ms >= since_ms)
        .filter(|a| min_created.is_none_or(|m| a.created_unix_ms >= m))
        .filter(|a| max_created.is_none_or(|m| a.created_unix_ms <= m))
        .filter(|a| ext.is_none_or(|x| a.sent_external_id.as_deref().is_some_and(|e| e.starts_with(x))))
        .filter(|a| alert_ids.is_empty() || alert_ids.contains(&a.alert_id))
        .filter(|a| mask == 0 || status_code(a) & mask != 0)
        .collect();
    all.sort_by_key(|a| (a.modified_unix_ms, a.alert_id.clone()));
    if all.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let shape = st.settings.rest_shape;
    let page: Vec<Value> = all.iter().skip(skip).take(max).map(|a| alert_json(shape, team, a)).collect();
    let has_more = skip + max < all.len();
    json_response(
        StatusCode::OK,
        json!({
            "results": page,
            "hasMore": has_more,
            "continuationToken": if has_more { json!({"nextPartitionKey": "", "nextRowKey": (skip + max).to_string(), "nextTableName": ""}) } else { Value::Null },
        }),
    )
}

/// `GET /api/v2/alerts/{alertId}`.
pub async fn get_alert(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(alert_id): Path<String>,
) -> Response {
    state.lock().count("signl4.rest.alert");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let st = state.lock();
    let Some((_, team)) = authorized(&st, &headers) else { return unauthorized() };
    match team.alert_by_id(&alert_id) {
        Some(a) => json_response(StatusCode::OK, alert_json(st.settings.rest_shape, team, a)),
        None => not_found("Alert not found"),
    }
}

pub async fn annotations(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(alert_id): Path<String>,
) -> Response {
    state.lock().count("signl4.rest.annotations");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let st = state.lock();
    let Some((_, team)) = authorized(&st, &headers) else { return unauthorized() };
    let Some(a) = team.alert_by_id(&alert_id) else {
        return not_found("Alert not found");
    };
    let list: Vec<Value> = a
        .notes
        .iter()
        .map(|n| json!({"id": n.id, "text": n.text, "user": user_json(&n.user), "userId": n.user.as_ref().map(|u| u.id.clone()), "timestamp": iso(n.unix_ms)}))
        .collect();
    json_response(StatusCode::OK, Value::Array(list))
}

/// `POST /api/v2/alerts/{id}/annotate` (`signl4.md` §2.4): adds a text annotation.
pub async fn annotate(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(alert_id): Path<String>,
    body: Option<axum::Json<Value>>,
) -> Response {
    state.lock().count("signl4.rest.annotate");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let text = body.and_then(|axum::Json(b)| b.get("text").and_then(Value::as_str).map(str::to_string));
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"code": 400, "message": "text is required", "requestId": uuidish()}),
        );
    };
    let (secret, external_id, team_id) = {
        let st = state.lock();
        let Some((secret, team)) = authorized(&st, &headers) else { return unauthorized() };
        let Some(a) = team.alert_by_id(&alert_id) else {
            return not_found("Alert not found");
        };
        (secret.clone(), a.external_id.clone(), team.team_id.clone())
    };
    if crate::outbound::apply(&state, &secret, &external_id, crate::outbound::Action::Annotate(None, text.clone()))
        .await
        .is_none()
    {
        return not_found("Alert not found");
    }
    let note_id = {
        let st = state.lock();
        st.teams
            .get(&secret)
            .and_then(|t| t.alerts.get(&external_id))
            .and_then(|a| a.notes.last())
            .map(|n| n.id.clone())
    };
    json_response(
        StatusCode::OK,
        json!({"id": note_id, "teamId": team_id, "text": text, "type": 1, "timestamp": iso(crate::common::now().unix_timestamp() * 1000)}),
    )
}

/// `GET /api/v2/users`: every user of the API key's team.
pub async fn users(AxState(state): AxState<Arc<State>>, headers: HeaderMap) -> Response {
    state.lock().count("signl4.rest.users");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let st = state.lock();
    let Some((_, team)) = authorized(&st, &headers) else { return unauthorized() };
    let list: Vec<Value> = team.all_users().iter().map(|u| user_v2(team, u)).collect();
    json_response(StatusCode::OK, Value::Array(list))
}

/// `GET /api/webhooks?teamId=`: the team's outbound webhooks as the V1 swagger lists them
/// (§2.3, `WebhookInfo {id, name, externalAddress, enabled, teamId, subscriptionId}`; the
/// notes document no V2 listing). The registration is what [`crate::FakeCloud::set_outbound`]
/// set; `teamId` other than the key's team lists nothing.
pub async fn webhooks(AxState(state): AxState<Arc<State>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    state.lock().count("signl4.rest.webhooks");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let st = state.lock();
    let Some((_, team)) = authorized(&st, &headers) else { return unauthorized() };
    let wanted = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("teamId"))
        .map(|(_, v)| v.into_owned());
    let list: Vec<Value> = match (&team.outbound, wanted) {
        (Some(_), Some(t)) if t != team.team_id => Vec::new(),
        (Some(o), _) => vec![json!({
            "id": format!("wh-{}", team.team_id),
            "name": "signl4-sentinel",
            "externalAddress": o.url,
            "enabled": true,
            "teamId": team.team_id,
            "subscriptionId": SUBSCRIPTION,
        })],
        (None, _) => Vec::new(),
    };
    json_response(StatusCode::OK, Value::Array(list))
}

/// `GET /api/v2/users/{userId}`: by id, or by mail address (as V1 allows, §2.3).
pub async fn user(AxState(state): AxState<Arc<State>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    state.lock().count("signl4.rest.user");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let st = state.lock();
    let Some((_, team)) = authorized(&st, &headers) else { return unauthorized() };
    match team.all_users().iter().find(|u| u.id == id || u.mailaddress.eq_ignore_ascii_case(&id)) {
        Some(u) => json_response(StatusCode::OK, user_v2(team, u)),
        None => not_found("User not found"),
    }
}

/// `GET /api/v2/events/{eventId}`: what became of an accepted webhook event.
pub async fn event(AxState(state): AxState<Arc<State>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    state.lock().count("signl4.rest.event");
    if let Some(r) = fault(&state, Service::Signl4).await {
        return r;
    }
    let st = state.lock();
    let Some((_, team)) = authorized(&st, &headers) else { return unauthorized() };
    match team.events.iter().find(|e| e.event_id == id) {
        Some(e) => json_response(StatusCode::OK, event_json(team, e)),
        None => not_found("Event not found"),
    }
}

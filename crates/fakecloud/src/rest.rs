//! Fake SIGNL4 REST API subset used by the connector's polling fallback (`signl4.md` §2):
//! `X-S4-Api-Key` authentication, `POST /api/v2/alerts/paged` (alerts modified since, with
//! `hasMore` + continuation token, 204 when empty) and `GET /api/v2/alerts/{id}/annotations`.
//!
//! The real V2 schemas are only partly documented; this fake follows the V1 swagger's
//! `AlertInfo` / `AlertFilterPublic` names, and the connector's parser accepts both spellings
//! where the sources disagree.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::common::{fault, json_response, uuidish};
use crate::state::{Service, Signl4Alert, State, Team};

fn iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::common::graph_ts(t)
}

fn user_json(u: &Option<crate::state::Responder>) -> Value {
    match u {
        Some(u) => json!({"id": u.id, "username": u.username, "mailaddress": u.mailaddress}),
        None => Value::Null,
    }
}

fn alert_info(team: &Team, a: &Signl4Alert) -> Value {
    let status = match a.status.as_str() {
        "acknowledged" => 2,
        "resolved" => 4,
        _ => 1,
    };
    json!({
        "id": a.alert_id,
        "eventId": a.event_id,
        "teamId": team.team_id,
        "title": a.title,
        "status": status,
        "lastModified": iso(a.modified_unix_ms),
        "externalEventId": a.external_id,
        "parameters": [{"name": "X-S4-ExternalID", "value": a.external_id, "type": 0}],
        "history": {"acknowledgedBy": user_json(&a.acknowledged_by), "closedBy": user_json(&a.closed_by)},
    })
}

fn authorized<'a>(st: &'a crate::state::Inner, headers: &HeaderMap) -> Option<(&'a String, &'a Team)> {
    let key = headers.get("x-s4-api-key").and_then(|v| v.to_str().ok())?;
    st.teams.iter().find(|(_, t)| t.api_keys.iter().any(|k| k == key))
}

fn unauthorized() -> Response {
    json_response(StatusCode::UNAUTHORIZED, json!({"code": 401, "message": "Unauthorized", "requestId": uuidish()}))
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
    let since_ms = filter
        .get("modifiedSince")
        .and_then(Value::as_str)
        .and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0);
    let skip = filter
        .pointer("/continuationToken/nextRowKey")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let mut all: Vec<&Signl4Alert> = team.alerts.values().filter(|a| a.modified_unix_ms >= since_ms).collect();
    all.sort_by_key(|a| (a.modified_unix_ms, a.alert_id.clone()));
    if all.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let page: Vec<Value> = all.iter().skip(skip).take(max).map(|a| alert_info(team, a)).collect();
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
    let Some(a) = team.alerts.values().find(|a| a.alert_id == alert_id) else {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"code": 404, "message": "Alert not found", "requestId": uuidish()}),
        );
    };
    let list: Vec<Value> = a
        .notes
        .iter()
        .map(|n| json!({"id": n.id, "text": n.text, "user": user_json(&n.user), "userId": n.user.as_ref().map(|u| u.id.clone()), "timestamp": iso(n.unix_ms)}))
        .collect();
    json_response(StatusCode::OK, Value::Array(list))
}

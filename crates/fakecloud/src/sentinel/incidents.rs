//! The fake Sentinel incidents API (ARM `Microsoft.SecurityInsights`, `microsoft-apis.md` §3):
//! incidents as an analytics rule creates them and a person edits them in the portal, and the
//! list / get / PUT / alerts / comments handlers.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{WsPath, cloud_error, param, params, prologue};
use crate::common::{graph_ts, json_response, now, uuidish};
use crate::odata;
use crate::state::{Inner, State, Workspace};

const FILTERABLE: &[&str] = &[
    "properties/lastModifiedTimeUtc",
    "properties/createdTimeUtc",
    "properties/status",
    "properties/severity",
    "properties/incidentNumber",
    "properties/classification",
];

fn arm_ts(t: OffsetDateTime) -> String {
    graph_ts(t)
}

fn next_ts(ws: &mut Workspace) -> OffsetDateTime {
    let mut ts = now();
    ts = ts.replace_nanosecond(ts.nanosecond() / 100 * 100).unwrap_or(ts);
    if let Some(last) = ws.last_ts
        && ts <= last
    {
        ts = last + time::Duration::nanoseconds(100);
    }
    ws.last_ts = Some(ts);
    ts
}

fn new_etag() -> String {
    format!("\"{}\"", uuidish())
}

fn base_id(ws: &Workspace) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}/providers/Microsoft.SecurityInsights",
        ws.subscription, ws.resource_group, ws.name
    )
}

/// Creates an incident as Sentinel would (from an analytics rule), with its alerts.
pub fn insert_incident(
    inner: &mut Inner,
    workspace: &str,
    partial: Value,
    alerts: Vec<Value>,
) -> Result<Value, String> {
    let ws = inner.workspaces.get_mut(workspace).ok_or_else(|| format!("unknown workspace {workspace}"))?;
    let ts = arm_ts(next_ts(ws));
    ws.next_number += 1;
    let number = ws.next_number;
    let name = partial.get("name").and_then(Value::as_str).map(str::to_string).unwrap_or_else(uuidish);
    let mut props = partial.get("properties").cloned().unwrap_or_else(|| json!({}));
    let p = props.as_object_mut().ok_or("properties must be an object")?;
    let defaults = [
        ("title", json!("Suspicious activity")),
        ("description", json!("")),
        ("severity", json!("Medium")),
        ("status", json!("New")),
        (
            "owner",
            json!({"objectId": null, "email": null, "assignedTo": null, "userPrincipalName": null, "ownerType": "Unknown"}),
        ),
        ("labels", json!([])),
        ("classification", Value::Null),
        ("createdTimeUtc", json!(ts)),
        ("firstActivityTimeUtc", json!(ts)),
        ("lastActivityTimeUtc", json!(ts)),
        ("providerName", json!("Azure Sentinel")),
        ("relatedAnalyticRuleIds", json!([])),
    ];
    for (k, v) in defaults {
        p.entry(k.to_string()).or_insert(v);
    }
    p.insert("lastModifiedTimeUtc".into(), json!(ts));
    p.insert("incidentNumber".into(), json!(number));
    // A Defender-synced incident carries its XDR id here (and providerName "Microsoft XDR").
    p.entry("providerIncidentId".to_string()).or_insert(json!(number.to_string()));
    let id = format!("{}/incidents/{name}", base_id(ws));
    p.insert(
        "incidentUrl".into(),
        json!(format!("https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident{id}")),
    );
    let products: Vec<Value> = alerts.iter().filter_map(|a| a.pointer("/properties/productName").cloned()).collect();
    p.insert(
        "additionalData".into(),
        json!({"alertsCount": alerts.len(), "bookmarksCount": 0, "commentsCount": 0, "alertProductNames": products, "tactics": []}),
    );
    let inc = json!({"id": id, "name": name, "type": "Microsoft.SecurityInsights/incidents", "etag": new_etag(), "properties": props});
    let mut full_alerts = Vec::new();
    for mut a in alerts {
        let sys =
            a.pointer("/properties/systemAlertId").and_then(Value::as_str).map(str::to_string).unwrap_or_else(uuidish);
        if let Some(o) = a.as_object_mut() {
            o.insert("id".into(), json!(format!("{}/Entities/{sys}", base_id(ws))));
            o.insert("name".into(), json!(sys));
            o.insert("type".into(), json!("Microsoft.SecurityInsights/Entities"));
            o.insert("kind".into(), json!("SecurityAlert"));
            if let Some(pp) = o.get_mut("properties").and_then(Value::as_object_mut) {
                pp.insert("systemAlertId".into(), json!(sys));
                pp.entry("status").or_insert(json!("New"));
                pp.entry("timeGenerated").or_insert(json!(ts));
                // Scheduled-rule alerts are also in the SecurityAlert table with
                // ExtendedProperties as a JSON string (§4.6).
                if let Some(ad) = pp.get("additionalData").filter(|ad| ad.get("Query").is_some()) {
                    ws.security_alerts.insert(sys.clone(), ad.to_string());
                }
            }
        }
        full_alerts.push(a);
    }
    ws.alerts.insert(name.clone(), full_alerts);
    ws.incidents.insert(name, inc.clone());
    Ok(inc)
}

/// A person (portal) changes incident properties: new etag and lastModifiedTimeUtc.
pub fn modify_incident(inner: &mut Inner, workspace: &str, name: &str, changes: &Value) -> Option<Value> {
    let ws = inner.workspaces.get_mut(workspace)?;
    let ts = arm_ts(next_ts(ws));
    let inc = ws.incidents.get_mut(name)?;
    if let (Some(p), Some(c)) = (inc.get_mut("properties").and_then(Value::as_object_mut), changes.as_object()) {
        for (k, v) in c {
            p.insert(k.clone(), v.clone());
        }
        p.insert("lastModifiedTimeUtc".into(), json!(ts));
    }
    inc["etag"] = json!(new_etag());
    Some(inc.clone())
}

/// An analyst comments on an incident in the portal: a comment by a person (not the app),
/// `commentsCount` raised. Whether the service bumps the incident's `lastModifiedTimeUtc` for a
/// comment is not documented (`microsoft-apis.md` §3.3 lists it read-only); the fake does, as
/// a Defender-portal incident update would, so a poller by `lastModifiedTimeUtc` sees it.
/// `bump`: whether the comment moves the incident's `lastModifiedTimeUtc` and etag. The
/// reference notes do not say (`microsoft-apis.md` §3); the fake can do either, and the
/// connector must find the comment both ways.
pub fn add_portal_comment(
    inner: &mut Inner,
    workspace: &str,
    name: &str,
    author: &str,
    message: &str,
    bump: bool,
) -> Option<Value> {
    let ws = inner.workspaces.get_mut(workspace)?;
    if !ws.incidents.contains_key(name) {
        return None;
    }
    let ts = arm_ts(next_ts(ws));
    let base = base_id(ws);
    let cid = uuidish();
    let c = json!({
        "id": format!("{base}/incidents/{name}/comments/{cid}"), "name": cid, "type": "Microsoft.SecurityInsights/incidents/comments",
        "etag": uuidish(),
        "properties": {"message": message, "createdTimeUtc": ts, "lastModifiedTimeUtc": ts,
                       "author": {"objectId": "00000000-0000-0000-0000-00000000b0b0", "name": author, "userPrincipalName": null, "email": null}},
    });
    let list = ws.comments.entry(name.to_string()).or_default();
    list.insert(cid, c.clone());
    let n = list.len();
    let inc = ws.incidents.get_mut(name)?;
    inc["properties"]["additionalData"]["commentsCount"] = json!(n);
    if bump {
        inc["properties"]["lastModifiedTimeUtc"] = json!(ts);
        inc["etag"] = json!(new_etag());
    }
    Some(c)
}

pub async fn list_incidents(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(path): Path<WsPath>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q);
    let key = match prologue(&state, &headers, &path, &p, "arm.incidents.list").await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let filter = match param(&p, "$filter").map(|f| odata::parse(f, FILTERABLE)) {
        None => None,
        Some(Ok(e)) => Some(e),
        Some(Err(m)) => return cloud_error(StatusCode::BAD_REQUEST, "BadRequest", &m),
    };
    let top = match param(&p, "$top").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        _ => return cloud_error(StatusCode::BAD_REQUEST, "BadRequest", "$top must be between 1 and 1000."),
    };
    let skip = param(&p, "$skipToken").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    let st = state.lock();
    let Some(ws) = st.workspaces.get(&key) else {
        return cloud_error(StatusCode::NOT_FOUND, "ResourceNotFound", "workspace");
    };
    let mut all: Vec<&Value> =
        ws.incidents.values().filter(|i| filter.as_ref().is_none_or(|f| odata::eval(f, i))).collect();
    all.sort_by(|a, b| {
        let ca = a.pointer("/properties/createdTimeUtc").and_then(Value::as_str).unwrap_or("");
        let cb = b.pointer("/properties/createdTimeUtc").and_then(Value::as_str).unwrap_or("");
        cb.cmp(ca)
    });
    let page: Vec<Value> = all.iter().skip(skip).take(top).map(|v| (*v).clone()).collect();
    let mut body = json!({"value": page});
    if skip + top < all.len() {
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        let (sub, rg, name) = &path;
        let mut u = url::Url::parse(&format!(
            "http://{host}/arm/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}/providers/Microsoft.SecurityInsights/incidents"
        ))
        .expect("valid URL");
        {
            let mut qp = u.query_pairs_mut();
            for (k, v) in &p {
                if !k.eq_ignore_ascii_case("$skipToken") {
                    qp.append_pair(k, v);
                }
            }
            qp.append_pair("$skipToken", &(skip + top).to_string());
        }
        body["nextLink"] = json!(u.to_string());
    }
    json_response(StatusCode::OK, body)
}

pub async fn get_incident(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path((sub, rg, name, id)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q);
    let key = match prologue(&state, &headers, &(sub, rg, name), &p, "arm.incidents.get").await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let st = state.lock();
    match st.workspaces.get(&key).and_then(|w| w.incidents.get(&id)) {
        Some(i) => json_response(StatusCode::OK, i.clone()),
        None => cloud_error(StatusCode::NOT_FOUND, "NotFound", &format!("Incident {id} not found")),
    }
}

/// Valid classification → classification reasons (§3.3).
pub fn reason_ok(classification: &str, reason: Option<&str>) -> bool {
    match classification {
        "TruePositive" => reason == Some("SuspiciousActivity"),
        "BenignPositive" => reason == Some("SuspiciousButExpected"),
        "FalsePositive" => matches!(reason, Some("IncorrectAlertLogic") | Some("InaccurateData")),
        "Undetermined" => reason.is_none(),
        _ => false,
    }
}

pub async fn put_incident(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path((sub, rg, name, id)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
    body: String,
) -> Response {
    let p = params(q);
    let key = match prologue(&state, &headers, &(sub, rg, name), &p, "arm.incidents.put").await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request content was invalid and could not be deserialized.",
        );
    };
    let Some(props) = body.get("properties").and_then(Value::as_object).cloned() else {
        return cloud_error(StatusCode::BAD_REQUEST, "BadRequest", "The 'properties' field is required.");
    };
    for req in ["title", "severity", "status"] {
        if props.get(req).and_then(Value::as_str).is_none_or(str::is_empty) {
            return cloud_error(StatusCode::BAD_REQUEST, "BadRequest", &format!("The {req} field is required."));
        }
    }
    let status = props.get("status").and_then(Value::as_str).unwrap_or("");
    if !["New", "Active", "Closed"].contains(&status) {
        return cloud_error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Invalid status '{status}'."));
    }
    let classification = props.get("classification").and_then(Value::as_str);
    let reason = props.get("classificationReason").and_then(Value::as_str);
    if status == "Closed" {
        let Some(c) = classification else {
            return cloud_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "To update incident status as 'closed', request must include classification.",
            );
        };
        if matches!(c, "TruePositive" | "BenignPositive") && reason.is_none() {
            return cloud_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("classification '{c}' must have classificationReason."),
            );
        }
        if !reason_ok(c, reason) {
            return cloud_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("classificationReason '{}' is not valid for classification '{c}'.", reason.unwrap_or("")),
            );
        }
    }
    if let Some(labels) = props.get("labels").and_then(Value::as_array)
        && labels.iter().any(|l| l.get("labelName").and_then(Value::as_str).is_none_or(str::is_empty))
    {
        return cloud_error(StatusCode::BAD_REQUEST, "BadRequest", "labelName is required for every label.");
    }
    let mut st = state.lock();
    // A person's edit landing between the connector's GET and this PUT.
    let edits: Vec<(String, Value)> = {
        let Some(ws) = st.workspaces.get_mut(&key) else {
            return cloud_error(StatusCode::NOT_FOUND, "ResourceNotFound", "workspace");
        };
        let (mine, rest): (Vec<_>, Vec<_>) = ws.interleaved_edits.drain(..).partition(|(i, _)| i == &id);
        ws.interleaved_edits = rest;
        mine
    };
    for (_, changes) in edits {
        modify_incident(&mut st, &key, &id, &changes);
    }
    let Some(ws) = st.workspaces.get_mut(&key) else {
        return cloud_error(StatusCode::NOT_FOUND, "ResourceNotFound", "workspace");
    };
    let ts = arm_ts(next_ts(ws));
    let created = !ws.incidents.contains_key(&id);
    if let (Some(cur), Some(sent)) = (ws.incidents.get(&id), body.get("etag").and_then(Value::as_str))
        && cur.get("etag").and_then(Value::as_str) != Some(sent)
    {
        st.count("arm.incidents.conflict");
        return json_response(
            StatusCode::CONFLICT,
            json!({"error": {"code": "Conflict", "message": format!("Newer version of resource '{id}' exists. Data was not saved")}, "debugInfo": format!("clientRequestId: {}", uuidish())}),
        );
    }
    let Some(ws) = st.workspaces.get_mut(&key) else {
        return cloud_error(StatusCode::NOT_FOUND, "ResourceNotFound", "workspace");
    };
    let base = base_id(ws);
    let mut merged: Map<String, Value> =
        ws.incidents.get(&id).and_then(|i| i.get("properties")).and_then(Value::as_object).cloned().unwrap_or_default();
    // Full replacement of writable properties; read-only ones stay.
    const READ_ONLY: &[&str] = &[
        "createdTimeUtc",
        "lastModifiedTimeUtc",
        "incidentNumber",
        "incidentUrl",
        "providerName",
        "providerIncidentId",
        "relatedAnalyticRuleIds",
        "additionalData",
    ];
    for k in [
        "description",
        "owner",
        "labels",
        "classification",
        "classificationReason",
        "classificationComment",
        "firstActivityTimeUtc",
        "lastActivityTimeUtc",
    ] {
        merged.remove(k);
    }
    for (k, v) in props {
        if !READ_ONLY.contains(&k.as_str()) {
            merged.insert(k, v);
        }
    }
    if let Some(o) = merged.get_mut("owner").and_then(Value::as_object_mut) {
        let who = o.get("email").or_else(|| o.get("userPrincipalName")).cloned();
        if let Some(w) = who.filter(|w| w.is_string()) {
            o.entry("assignedTo".to_string()).or_insert(w);
            o.insert("ownerType".into(), json!("User"));
        }
    }
    merged.insert("lastModifiedTimeUtc".into(), json!(ts));
    if created {
        ws.next_number += 1;
        merged.insert("createdTimeUtc".into(), json!(ts));
        merged.insert("incidentNumber".into(), json!(ws.next_number));
    }
    let inc = json!({"id": format!("{base}/incidents/{id}"), "name": id, "type": "Microsoft.SecurityInsights/incidents", "etag": new_etag(), "properties": merged});
    ws.incidents.insert(id, inc.clone());
    (if created { StatusCode::CREATED } else { StatusCode::OK }, axum::Json(inc)).into_response()
}

pub async fn list_alerts(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path((sub, rg, name, id)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q);
    let key = match prologue(&state, &headers, &(sub, rg, name), &p, "arm.incidents.alerts").await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let st = state.lock();
    let Some(ws) = st.workspaces.get(&key) else {
        return cloud_error(StatusCode::NOT_FOUND, "ResourceNotFound", "workspace");
    };
    if !ws.incidents.contains_key(&id) {
        return cloud_error(StatusCode::NOT_FOUND, "NotFound", &format!("Incident {id} not found"));
    }
    json_response(StatusCode::OK, json!({"value": ws.alerts.get(&id).cloned().unwrap_or_default()}))
}

pub async fn put_comment(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path((sub, rg, name, id, cid)): Path<(String, String, String, String, String)>,
    RawQuery(q): RawQuery,
    body: String,
) -> Response {
    let p = params(q);
    let key = match prologue(&state, &headers, &(sub, rg, name), &p, "arm.comments.put").await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let message = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/properties/message").and_then(Value::as_str).map(str::to_string));
    let Some(message) = message.filter(|m| !m.is_empty()) else {
        return cloud_error(StatusCode::BAD_REQUEST, "BadRequest", "The message field is required.");
    };
    let mut st = state.lock();
    let Some(ws) = st.workspaces.get_mut(&key) else {
        return cloud_error(StatusCode::NOT_FOUND, "ResourceNotFound", "workspace");
    };
    if !ws.incidents.contains_key(&id) {
        return cloud_error(StatusCode::NOT_FOUND, "NotFound", &format!("Incident {id} not found"));
    }
    let ts = arm_ts(next_ts(ws));
    let base = base_id(ws);
    let list = ws.comments.entry(id.clone()).or_default();
    let created = !list.contains_key(&cid);
    let created_ts = list.get(&cid).and_then(|c| c.pointer("/properties/createdTimeUtc").cloned()).unwrap_or(json!(ts));
    let c = json!({
        "id": format!("{base}/incidents/{id}/comments/{cid}"), "name": cid, "type": "Microsoft.SecurityInsights/incidents/comments",
        "etag": uuidish(),
        "properties": {"message": message, "createdTimeUtc": created_ts, "lastModifiedTimeUtc": ts,
                       "author": {"objectId": "00000000-0000-0000-0000-0000000a4401", "name": "signl4-sentinel", "userPrincipalName": null, "email": null}},
    });
    list.insert(cid, c.clone());
    let n = list.len();
    if let Some(inc) = ws.incidents.get_mut(&id) {
        inc["properties"]["additionalData"]["commentsCount"] = json!(n);
    }
    (if created { StatusCode::CREATED } else { StatusCode::OK }, axum::Json(c)).into_response()
}

pub async fn list_comments(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path((sub, rg, name, id)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q);
    let key = match prologue(&state, &headers, &(sub, rg, name), &p, "arm.comments.list").await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let st = state.lock();
    let list: Vec<Value> = st
        .workspaces
        .get(&key)
        .and_then(|w| w.comments.get(&id))
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    json_response(StatusCode::OK, json!({"value": list}))
}

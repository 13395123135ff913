//! Fake Microsoft Graph Security API: alerts_v2 list / get / PATCH / comments
//! (`microsoft-apis.md` §2.2–§2.8, §7.2).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::common::{fault, graph_error, graph_ts, json_response, now};
use crate::odata;
use crate::state::{Inner, Service, State, Tenant};

/// Properties documented as filterable on alerts_v2.
pub const ALERT_FILTERABLE: &[&str] = &[
    "assignedTo",
    "classification",
    "determination",
    "createdDateTime",
    "lastUpdateDateTime",
    "severity",
    "serviceSource",
    "status",
];

/// `serviceSource` members after `unknownFutureValue` (evolvable; masked without the
/// `Prefer: include-unknown-enum-members` header).
const EVOLVABLE_SERVICE_SOURCES: &[&str] = &[
    "microsoftDefenderForCloud",
    "microsoftSentinel",
    "microsoftInsiderRiskManagement",
    "microsoftThreatIntelligence",
    "microsoftSecurityForAI",
];
const EVOLVABLE_DETECTION_SOURCES: &[&str] = &[
    "microsoftDefenderForCloud",
    "microsoftDefenderForIoT",
    "microsoftDefenderForServers",
    "microsoftDefenderForStorage",
    "microsoftDefenderForDNS",
    "microsoftDefenderForDatabases",
    "microsoftDefenderForContainers",
    "microsoftDefenderForNetwork",
    "microsoftDefenderForAppService",
    "microsoftDefenderForKeyVault",
    "microsoftDefenderForResourceManager",
    "microsoftDefenderForApiManagement",
    "microsoftSentinel",
    "nrtAlerts",
    "scheduledAlerts",
    "microsoftDefenderThreatIntelligenceAnalytics",
    "builtInMl",
];

/// Next strictly increasing `lastUpdateDateTime` for a tenant (one tick = 100 ns apart).
pub fn next_ts(t: &mut Tenant) -> OffsetDateTime {
    let mut ts = now();
    // Graph keeps 100 ns precision.
    ts = ts.replace_nanosecond(ts.nanosecond() / 100 * 100).unwrap_or(ts);
    if let Some(last) = t.last_ts
        && ts <= last
    {
        ts = last + time::Duration::nanoseconds(100);
    }
    t.last_ts = Some(ts);
    ts
}

/// Inserts an alert as a security product would: fills what the caller left out.
pub fn insert_alert(inner: &mut Inner, tenant_id: &str, partial: Value) -> Result<Value, String> {
    let Value::Object(mut a) = partial else {
        return Err("an alert must be a JSON object".into());
    };
    let t = inner.tenants.get_mut(tenant_id).ok_or_else(|| format!("unknown tenant {tenant_id}"))?;
    t.next_alert_seq += 1;
    let ts = next_ts(t);
    let seq = t.next_alert_seq;
    let id = match a.get("id").and_then(Value::as_str) {
        Some(id) => id.to_string(),
        None => format!("da{}_{}", 638_000_000_000_000_000u64 + seq, -(seq as i64) * 7919),
    };
    if t.alert_index.contains_key(&id) {
        return Err(format!("alert {id} already exists"));
    }
    let tsv = Value::String(graph_ts(ts));
    let defaults = [
        ("@odata.type", json!("#microsoft.graph.security.alert")),
        ("id", json!(id)),
        ("providerAlertId", json!(id)),
        ("status", json!("new")),
        ("severity", json!("medium")),
        ("classification", json!("unknown")),
        ("determination", json!("unknown")),
        ("serviceSource", json!("microsoftDefenderForEndpoint")),
        ("detectionSource", json!("microsoftDefenderForEndpoint")),
        ("tenantId", json!(tenant_id)),
        ("title", json!("Suspicious activity")),
        ("description", json!("")),
        ("recommendedActions", json!("")),
        ("assignedTo", Value::Null),
        ("alertWebUrl", json!(format!("https://security.microsoft.com/alerts/{id}?tid={tenant_id}"))),
        ("createdDateTime", tsv.clone()),
        ("lastUpdateDateTime", tsv.clone()),
        ("firstActivityDateTime", tsv.clone()),
        ("lastActivityDateTime", tsv),
        ("resolvedDateTime", Value::Null),
        ("mitreTechniques", json!([])),
        ("comments", json!([])),
        ("evidence", json!([])),
        ("systemTags", json!([])),
    ];
    for (k, v) in defaults {
        a.entry(k.to_string()).or_insert(v);
    }
    if let Some(inc) = a.get("incidentId").and_then(Value::as_str).map(str::to_string) {
        a.entry("incidentWebUrl".to_string())
            .or_insert(json!(format!("https://security.microsoft.com/incidents/{inc}?tid={tenant_id}")));
        // Defender creates the incident with its first alert.
        if !t.incidents.contains_key(&inc) {
            let ts = graph_ts(ts);
            t.incidents.insert(
                inc.clone(),
                json!({
                    "@odata.type": "#microsoft.graph.security.incident",
                    "id": inc, "tenantId": tenant_id,
                    "displayName": a.get("title").cloned().unwrap_or(json!("Incident")),
                    "status": "active", "severity": a.get("severity").cloned().unwrap_or(json!("medium")),
                    "assignedTo": null, "classification": "unknown", "determination": "unknown",
                    "customTags": [], "systemTags": [], "comments": [], "redirectIncidentId": null,
                    "incidentWebUrl": format!("https://security.microsoft.com/incidents/{inc}?tid={tenant_id}"),
                    "createdDateTime": ts, "lastUpdateDateTime": ts, "lastModifiedBy": "Microsoft 365 Defender",
                }),
            );
        }
    }
    // A caller may backdate an alert (to test the lookback window); otherwise the insert
    // time is its lastUpdateDateTime.
    let v = Value::Object(a);
    t.alert_index.insert(id.clone(), t.alerts.len());
    t.alerts.push(v.clone());
    t.visible_at.insert(id, Instant::now());
    Ok(v)
}

/// Applies a change to an alert as the portal or an API caller would, bumping
/// `lastUpdateDateTime`.
pub fn modify_alert(inner: &mut Inner, tenant_id: &str, id: &str, changes: &Map<String, Value>) -> Option<Value> {
    let t = inner.tenants.get_mut(tenant_id)?;
    let idx = *t.alert_index.get(id)?;
    let ts = next_ts(t);
    let a = t.alerts[idx].as_object_mut()?;
    for (k, v) in changes {
        a.insert(k.clone(), v.clone());
    }
    if a.get("status").and_then(Value::as_str) == Some("resolved") && a.get("resolvedDateTime") == Some(&Value::Null) {
        a.insert("resolvedDateTime".into(), Value::String(graph_ts(ts)));
    }
    a.insert("lastUpdateDateTime".into(), Value::String(graph_ts(ts)));
    Some(t.alerts[idx].clone())
}

fn mask(mut a: Value, include_unknown: bool) -> Value {
    if include_unknown {
        return a;
    }
    if let Some(o) = a.as_object_mut() {
        for (key, list) in
            [("serviceSource", EVOLVABLE_SERVICE_SOURCES), ("detectionSource", EVOLVABLE_DETECTION_SOURCES)]
        {
            if let Some(Value::String(s)) = o.get(key)
                && list.contains(&s.as_str())
            {
                o.insert(key.into(), json!("unknownFutureValue"));
            }
        }
    }
    a
}

fn wants_unknown_members(h: &HeaderMap) -> bool {
    h.get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("include-unknown-enum-members")))
}

pub(crate) struct Caller {
    pub tenant: String,
}

/// Bearer-token check, audience check, throttling and permission check.
pub(crate) fn authorize(
    state: &State,
    headers: &HeaderMap,
    write: bool,
    roles_read: &[&str],
    roles_write: &[&str],
) -> Result<Caller, Response> {
    let unauthorized = |msg: &str| graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", msg);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("Access token is empty."))?;
    let st = state.lock();
    let info = st.tokens.get(token).cloned().ok_or_else(|| unauthorized("IDX14100: JWT is not well formed."))?;
    if Instant::now() >= info.expires {
        return Err(unauthorized("Lifetime validation failed, the token is expired."));
    }
    let aud = info.audience.to_ascii_lowercase();
    if !(aud.contains("graph.microsoft") || aud.contains("microsoftgraph")) {
        return Err(unauthorized("Invalid audience."));
    }
    // Throttling (§2.8) is applied by `crate::throttle` before the handler runs.
    let app_roles = st
        .tenants
        .get(&info.tenant)
        .and_then(|t| t.apps.get(&info.client_id))
        .map(|a| a.roles.clone())
        .unwrap_or_default();
    let needed = if write { roles_write } else { roles_read };
    if !needed.iter().any(|r| app_roles.iter().any(|a| a == r)) {
        return Err(graph_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "Missing role permissions on the request. API requires one of '{}'. Roles on the request '{}'.",
                needed.join(", "),
                app_roles.join(", ")
            ),
        ));
    }
    Ok(Caller { tenant: info.tenant })
}

/// Properties documented as filterable on incidents (§2.6).
pub const INCIDENT_FILTERABLE: &[&str] =
    &["assignedTo", "classification", "createdDateTime", "determination", "lastUpdateDateTime", "severity", "status"];
const INCIDENT_READ: &[&str] = &["SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"];
const INCIDENT_WRITE: &[&str] = &["SecurityIncident.ReadWrite.All"];
const ALERT_READ: &[&str] = &["SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"];
const ALERT_WRITE: &[&str] = &["SecurityAlert.ReadWrite.All"];

/// Counts the request, applies a pending fault, then checks token, throttle and roles.
async fn enter(
    state: &Arc<State>,
    headers: &HeaderMap,
    route: &str,
    write: bool,
    roles_read: &[&str],
    roles_write: &[&str],
) -> Result<Caller, Response> {
    state.lock().count(route);
    if let Some(r) = fault(state, Service::Graph).await {
        return Err(r);
    }
    authorize(state, headers, write, roles_read, roles_write)
}

/// The `comment` of a comment POST body (§2.5).
fn comment_text(body: &str) -> Result<String, Response> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("comment").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| graph_error(StatusCode::BAD_REQUEST, "BadRequest", "The request body must contain 'comment'."))
}

/// "The most recent alerts are displayed at the top of the list" (§2.3); incidents alike.
fn newest_first(items: &mut [&Value]) {
    items.sort_by(|a, b| {
        let ca = a.get("createdDateTime").and_then(Value::as_str).unwrap_or("");
        let cb = b.get("createdDateTime").and_then(Value::as_str).unwrap_or("");
        cb.cmp(ca)
    });
}

/// Absolute `@odata.nextLink` carrying the same query with the next `$skip`.
fn next_link(headers: &HeaderMap, collection: &str, params: &[(String, String)], top: usize, skip: usize) -> String {
    let mut next = url::Url::parse(&format!("{}/v1.0/security/{collection}", host_base(headers))).expect("valid base");
    {
        let mut qp = next.query_pairs_mut();
        for (k, v) in params {
            if !k.eq_ignore_ascii_case("$skip") && !k.eq_ignore_ascii_case("$top") {
                qp.append_pair(k, v);
            }
        }
        qp.append_pair("$top", &top.to_string());
        qp.append_pair("$skip", &skip.to_string());
    }
    next.to_string()
}

fn host_base(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}/graph")
}

pub async fn list_alerts(AxState(state): AxState<Arc<State>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let caller = match enter(&state, &headers, "graph.alerts.list", false, ALERT_READ, ALERT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |k: &str| params.iter().find(|(p, _)| p.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
    let filter = match get("$filter").map(|f| odata::parse(&f, ALERT_FILTERABLE)) {
        None => None,
        Some(Ok(e)) => Some(e),
        Some(Err(msg)) => return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &msg),
    };
    let st = state.lock();
    let parse_num = |k: &str| -> Result<Option<usize>, Response> {
        match get(k) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
                graph_error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Invalid value '{v}' for {k}"))
            }),
        }
    };
    let top = match parse_num("$top") {
        Ok(t) => t.unwrap_or(st.settings.graph_default_page).clamp(1, st.settings.graph_max_page),
        Err(r) => return r,
    };
    let skip = match parse_num("$skip") {
        Ok(s) => s.unwrap_or(0),
        Err(r) => return r,
    };
    let Some(t) = st.tenants.get(&caller.tenant) else {
        return json_response(StatusCode::OK, json!({"value": []}));
    };
    // "The most recent alerts are displayed at the top of the list" (§2.3).
    let mut matching: Vec<&Value> =
        t.alerts.iter().rev().filter(|a| filter.as_ref().is_none_or(|f| odata::eval(f, a))).collect();
    newest_first(&mut matching);
    let include = wants_unknown_members(&headers);
    let page: Vec<Value> = matching.iter().skip(skip).take(top).map(|a| mask((*a).clone(), include)).collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!("https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2"));
    if get("$count").as_deref() == Some("true") {
        body.insert("@odata.count".into(), json!(matching.len()));
    }
    if skip + top < matching.len() {
        body.insert("@odata.nextLink".into(), json!(next_link(&headers, "alerts_v2", &params, top, skip + top)));
    }
    body.insert("value".into(), Value::Array(page));
    json_response(StatusCode::OK, Value::Object(body))
}

pub async fn get_alert(AxState(state): AxState<Arc<State>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let caller = match enter(&state, &headers, "graph.alerts.get", false, ALERT_READ, ALERT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let st = state.lock();
    let found = st.tenants.get(&caller.tenant).and_then(|t| t.alert_index.get(&id).map(|i| t.alerts[*i].clone()));
    match found {
        Some(a) => json_response(StatusCode::OK, mask(a, wants_unknown_members(&headers))),
        None => graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("Alert {id} was not found")),
    }
}

fn camel(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

pub async fn patch_alert(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let caller = match enter(&state, &headers, "graph.alerts.patch", true, ALERT_READ, ALERT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(Value::Object(patch)) = serde_json::from_str::<Value>(&body) else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid request body: expected a JSON object.");
    };
    let mut changes = Map::new();
    for (k, v) in patch {
        let key = camel(&k);
        if !["status", "classification", "determination", "assignedTo"].contains(&key.as_str()) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Property '{k}' is read-only or does not exist on microsoft.graph.security.alert."),
            );
        }
        // The docs' own samples mix casing; accept both and store camelCase (§2.6).
        let v = match v {
            Value::String(s) if key != "assignedTo" => Value::String(camel(&s)),
            v => v,
        };
        changes.insert(key, v);
    }
    let mut st = state.lock();
    match modify_alert(&mut st, &caller.tenant, &id, &changes) {
        Some(a) => json_response(StatusCode::OK, mask(a, wants_unknown_members(&headers))),
        None => graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("Alert {id} was not found")),
    }
}

pub async fn post_comment(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let caller = match enter(&state, &headers, "graph.alerts.comment", true, ALERT_READ, ALERT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let comment = match comment_text(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut st = state.lock();
    let Some(t) = st.tenants.get_mut(&caller.tenant) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "tenant");
    };
    let Some(&idx) = t.alert_index.get(&id) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("Alert {id} was not found"));
    };
    let ts = next_ts(t);
    let a = &mut t.alerts[idx];
    let entry =
        json!({"comment": comment, "createdByDisplayName": "signl4-sentinel (app)", "createdDateTime": graph_ts(ts)});
    if let Some(Value::Array(list)) = a.get_mut("comments") {
        list.push(entry);
    } else {
        a["comments"] = json!([entry]);
    }
    a["lastUpdateDateTime"] = json!(graph_ts(ts));
    let list = a["comments"].clone();
    json_response(
        StatusCode::OK,
        json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2('{id}')/comments"), "value": list}),
    )
}

/// Changes an incident as the portal or an API caller would. Resolving an incident resolves
/// its alerts, as in the Defender portal.
pub fn modify_incident(inner: &mut Inner, tenant_id: &str, id: &str, changes: &Map<String, Value>) -> Option<Value> {
    let t = inner.tenants.get_mut(tenant_id)?;
    let ts = next_ts(t);
    let inc = t.incidents.get_mut(id)?;
    let o = inc.as_object_mut()?;
    for (k, v) in changes {
        o.insert(k.clone(), v.clone());
    }
    o.insert("lastUpdateDateTime".into(), json!(graph_ts(ts)));
    let out = inc.clone();
    if changes.get("status").and_then(Value::as_str) == Some("resolved") {
        let ids: Vec<String> = t
            .alerts
            .iter()
            .filter(|a| {
                a.get("incidentId").and_then(Value::as_str) == Some(id)
                    && a.get("status").and_then(Value::as_str) != Some("resolved")
            })
            .filter_map(|a| a.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        let mut m = Map::new();
        m.insert("status".into(), json!("resolved"));
        for a in ids {
            modify_alert(inner, tenant_id, &a, &m);
        }
    }
    Some(out)
}

fn with_alerts(t: &Tenant, mut inc: Value, include: bool) -> Value {
    let id = inc.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let alerts: Vec<Value> = t
        .alerts
        .iter()
        .filter(|a| a.get("incidentId").and_then(Value::as_str) == Some(id.as_str()))
        .map(|a| mask(a.clone(), include))
        .collect();
    inc["alerts"] = Value::Array(alerts);
    inc
}

fn wants_expand_alerts(params: &[(String, String)]) -> bool {
    params.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("$expand") && v.split(',').any(|x| x.trim().eq_ignore_ascii_case("alerts"))
    })
}

pub async fn list_incidents(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let caller = match enter(&state, &headers, "graph.incidents.list", false, INCIDENT_READ, INCIDENT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |k: &str| params.iter().find(|(p, _)| p.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
    let filter = match get("$filter").map(|f| odata::parse(&f, INCIDENT_FILTERABLE)) {
        None => None,
        Some(Ok(e)) => Some(e),
        Some(Err(msg)) => return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &msg),
    };
    let st = state.lock();
    let top = get("$top")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(st.settings.graph_default_page)
        .clamp(1, st.settings.graph_max_page);
    let skip = get("$skip").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let Some(t) = st.tenants.get(&caller.tenant) else {
        return json_response(StatusCode::OK, json!({"value": []}));
    };
    let mut matching: Vec<&Value> =
        t.incidents.values().filter(|i| filter.as_ref().is_none_or(|f| odata::eval(f, i))).collect();
    newest_first(&mut matching);
    let include = wants_unknown_members(&headers);
    let expand = wants_expand_alerts(&params);
    let page: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(top)
        .map(|i| if expand { with_alerts(t, (*i).clone(), include) } else { (*i).clone() })
        .collect();
    let mut body = Map::new();
    if skip + top < matching.len() {
        body.insert("@odata.nextLink".into(), json!(next_link(&headers, "incidents", &params, top, skip + top)));
    }
    body.insert("value".into(), Value::Array(page));
    json_response(StatusCode::OK, Value::Object(body))
}

pub async fn get_incident(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let caller = match enter(&state, &headers, "graph.incidents.get", false, INCIDENT_READ, INCIDENT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let st = state.lock();
    let Some(t) = st.tenants.get(&caller.tenant) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "tenant");
    };
    match t.incidents.get(&id) {
        Some(i) if wants_expand_alerts(&params) => {
            json_response(StatusCode::OK, with_alerts(t, i.clone(), wants_unknown_members(&headers)))
        }
        Some(i) => json_response(StatusCode::OK, i.clone()),
        None => graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("Incident {id} was not found")),
    }
}

pub async fn patch_incident(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let caller = match enter(&state, &headers, "graph.incidents.patch", true, INCIDENT_READ, INCIDENT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(Value::Object(patch)) = serde_json::from_str::<Value>(&body) else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid request body: expected a JSON object.");
    };
    let mut changes = Map::new();
    for (k, v) in patch {
        let key = camel(&k);
        if !["status", "classification", "determination", "assignedTo", "customTags", "resolvingComment"]
            .contains(&key.as_str())
        {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Property '{k}' is read-only or does not exist on microsoft.graph.security.incident."),
            );
        }
        if key == "customTags" && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "customTags must be an array of strings.");
        }
        let v = match v {
            Value::String(s) if key != "assignedTo" && key != "resolvingComment" => Value::String(camel(&s)),
            v => v,
        };
        changes.insert(key, v);
    }
    let mut st = state.lock();
    match modify_incident(&mut st, &caller.tenant, &id, &changes) {
        Some(i) => json_response(StatusCode::OK, i),
        None => graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("Incident {id} was not found")),
    }
}

pub async fn post_incident_comment(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let caller = match enter(&state, &headers, "graph.incidents.comment", true, INCIDENT_READ, INCIDENT_WRITE).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let comment = match comment_text(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut st = state.lock();
    let Some(t) = st.tenants.get_mut(&caller.tenant) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "tenant");
    };
    let ts = next_ts(t);
    let Some(inc) = t.incidents.get_mut(&id) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("Incident {id} was not found"));
    };
    let entry =
        json!({"comment": comment, "createdByDisplayName": "signl4-sentinel (app)", "createdDateTime": graph_ts(ts)});
    if let Some(Value::Array(list)) = inc.get_mut("comments") {
        list.push(entry);
    }
    inc["lastUpdateDateTime"] = json!(graph_ts(ts));
    json_response(StatusCode::OK, json!({"value": inc["comments"].clone()}))
}

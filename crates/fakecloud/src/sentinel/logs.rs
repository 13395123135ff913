//! The fake Log Analytics query API (`microsoft-apis.md` §4): `POST /v1/workspaces/{id}/query`,
//! canned tables keyed by query text, `SecurityAlert` lookups by SystemAlertId, `print`
//! queries, `PartialError`, 400 `BadArgumentError`, 403 `InsufficientAccessError`.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::cloud_error;
use super::roles::{READ_ROLES, authorize};
use crate::common::{fault, json_response};
use crate::state::{Service, State};

/// `POST /v1/workspaces/{workspaceId}/query`.
pub async fn la_query(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Path(wsid): Path<String>,
    body: String,
) -> Response {
    state.lock().count("loganalytics.query");
    if let Some(r) = fault(&state, Service::LogAnalytics).await {
        return r;
    }
    let key = {
        let st = state.lock();
        let Some(ws) = st.workspaces.values().find(|w| w.workspace_id.eq_ignore_ascii_case(&wsid)) else {
            return cloud_error(
                StatusCode::NOT_FOUND,
                "PathNotFoundError",
                &format!("The requested path does not exist: workspace {wsid}"),
            );
        };
        let caller = match authorize(&st, &headers, ws, "loganalytics") {
            Ok(c) => c,
            Err(r) => return r,
        };
        if !ws.roles_of(&caller.client_id).iter().any(|r| READ_ROLES.contains(&r.as_str())) {
            // §4.5, verbatim message.
            return cloud_error(
                StatusCode::FORBIDDEN,
                "InsufficientAccessError",
                "The provided credentials have insufficient access to perform the requested operation",
            );
        }
        ws.name.clone()
    };
    if body.trim().is_empty() {
        // Documented quirk (§4.5): a missing body gives 200 with an empty body.
        return StatusCode::OK.into_response();
    }
    let Some(query) = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("query").and_then(Value::as_str).map(str::to_string))
    else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "The request had some invalid properties", "code": "BadArgumentError", "innererror": {"code": "SyntaxError", "message": "query is required"}}}),
        );
    };
    let st = state.lock();
    let Some(ws) = st.workspaces.get(&key) else { return StatusCode::NOT_FOUND.into_response() };
    if let Some(rest) = query.trim_start().strip_prefix("print ") {
        // `print name = value`: one row, whatever the workspace holds (a cheap access test).
        let (name, value) = rest.split_once('=').map(|(n, v)| (n.trim(), v.trim())).unwrap_or(("print_0", rest.trim()));
        return json_response(
            StatusCode::OK,
            json!({"tables": [{"name": "PrimaryResult", "columns": [{"name": name, "type": "string"}], "rows": [[value]]}]}),
        );
    }
    if query.trim_start().starts_with("SecurityAlert") {
        let rows: Vec<Value> = ws
            .security_alerts
            .iter()
            .filter(|(id, _)| query.contains(id.as_str()))
            .map(|(id, ext)| json!([id, ext]))
            .collect();
        return json_response(
            StatusCode::OK,
            json!({"tables": [{"name": "PrimaryResult", "columns": [{"name": "SystemAlertId", "type": "string"}, {"name": "ExtendedProperties", "type": "string"}], "rows": rows}]}),
        );
    }
    match ws.queries.iter().find(|(needle, _)| query.contains(needle.as_str())) {
        Some((_, resp)) if resp.get("status").and_then(Value::as_u64) == Some(400) => json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "The request had some invalid properties", "code": "BadArgumentError", "innererror": {"code": "SemanticError", "message": "Failed to resolve table or column expression"}}}),
        ),
        Some((_, resp)) => json_response(StatusCode::OK, resp.clone()),
        None => json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "The request had some invalid properties", "code": "BadArgumentError", "innererror": {"code": "SemanticError", "message": "Failed to resolve table or column expression named in the query"}}}),
        ),
    }
}

//! Fake Microsoft Sentinel (ARM `Microsoft.SecurityInsights`, `microsoft-apis.md` §3) and Log
//! Analytics query API (§4).
//!
//! ARM: `api-version` required (400 `MissingApiVersionParameter`), incidents list with
//! `$filter` on `properties/…` paths, `$top` ≤ 1000, `nextLink` with `$skipToken`; GET; full
//! PUT with required `title`/`severity`/`status`, close needs a classification and the
//! documented classification-reason pairs, body `etag` compared (409 `Conflict` "Newer version
//! of resource … exists"), new etag and `lastModifiedTimeUtc` on every write; POST
//! `…/alerts` (no paging); comments with client-chosen ids (PUT 201, then 200).
//! Log Analytics: `POST /v1/workspaces/{id}/query`, canned tables keyed by query text,
//! `SecurityAlert` lookups by SystemAlertId, `print` queries, `PartialError`, 400
//! `BadArgumentError`, 204.
//!
//! Incidents and their handlers: `incidents.rs`; Log Analytics: `logs.rs`; the token and role
//! checks: `roles.rs`; here, what every ARM request goes through first ([`API_VERSIONS`],
//! the prologue).
//!
//! Role assignments (§3.6 RBAC): each app holds roles on the workspace
//! ([`crate::state::Workspace::roles_of`]; by default *Microsoft Sentinel Responder* and *Log Analytics
//! Reader*, what `deploy/register-app.sh` assigns; [`crate::FakeCloud::set_workspace_roles`]
//! replaces them). Reads need a reader role, incident and comment PUTs a responder role, a
//! query a role that may read the workspace's data; otherwise ARM answers 403
//! `AuthorizationFailed` and Log Analytics 403 `InsufficientAccessError` (§4.5).

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::common::{fault, json_response};
use crate::state::{Service, State};

mod incidents;
mod logs;
mod roles;

pub use incidents::{
    add_portal_comment, get_incident, insert_incident, list_alerts, list_comments, list_incidents, modify_incident,
    put_comment, put_incident, reason_ok,
};
pub use logs::la_query;
use roles::{Access, authorize, check_role};

pub const API_VERSIONS: &[&str] =
    &["2025-12-01", "2025-09-01", "2025-06-01", "2025-03-01", "2024-09-01", "2024-03-01", "2023-11-01", "2023-02-01"];

fn cloud_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, json!({"error": {"code": code, "message": message}}))
}

fn params(q: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn param<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(x, _)| x.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str())
}

fn check_api_version(p: &[(String, String)]) -> Result<(), Response> {
    match param(p, "api-version") {
        None => Err(cloud_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(v) if !API_VERSIONS.contains(&v) => Err(cloud_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!("The api-version '{v}' is invalid. The supported versions are '{}'.", API_VERSIONS.join(",")),
        )),
        Some(_) => Ok(()),
    }
}

type WsPath = (String, String, String);

/// Finds the workspace and checks the call (fault, api-version, token). Returns the
/// workspace's map key.
async fn prologue(
    state: &Arc<State>,
    headers: &HeaderMap,
    path: &WsPath,
    q: &[(String, String)],
    route: &str,
) -> Result<String, Response> {
    state.lock().count(route);
    if let Some(r) = fault(state, Service::Arm).await {
        return Err(r);
    }
    check_api_version(q)?;
    let (sub, rg, name) = path;
    let key = {
        let st = state.lock();
        let ws = st
            .workspaces
            .values()
            .find(|w| w.subscription.eq_ignore_ascii_case(sub) && w.resource_group.eq_ignore_ascii_case(rg) && w.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| cloud_error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The Resource 'Microsoft.OperationalInsights/workspaces/{name}' under resource group '{rg}' was not found.")))?;
        let caller = authorize(&st, headers, ws, "management")?;
        check_role(ws, &caller.client_id, Access::of_route(route))?;
        ws.name.clone()
    };
    Ok(key)
}

//! Who may call the fake Sentinel and Log Analytics: the bearer token's checks (audience,
//! tenant, expiry) and the Azure roles an app holds on the workspace (`microsoft-apis.md` §3.6).

use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::cloud_error;
use crate::state::{Inner, Workspace};

pub(super) struct ArmCaller {
    pub(super) client_id: String,
}

/// Roles that may read incidents, comments and alerts (`Microsoft.SecurityInsights/*/read`).
pub(super) const READ_ROLES: &[&str] = &[
    "Microsoft Sentinel Reader",
    "Microsoft Sentinel Responder",
    "Microsoft Sentinel Contributor",
    "Log Analytics Reader",
    "Log Analytics Contributor",
    "Reader",
    "Contributor",
    "Owner",
];
/// Roles that may update incidents and write comments (§3.6: Responder or Contributor).
const WRITE_ROLES: &[&str] =
    &["Microsoft Sentinel Responder", "Microsoft Sentinel Contributor", "Contributor", "Owner"];

/// What a request does, for the role check.
#[derive(Clone, Copy)]
pub(super) enum Access {
    Read,
    Write,
}

impl Access {
    pub(super) fn of_route(route: &str) -> Access {
        if route.ends_with(".put") { Access::Write } else { Access::Read }
    }

    fn action(self) -> &'static str {
        match self {
            Access::Read => "Microsoft.SecurityInsights/incidents/read",
            Access::Write => "Microsoft.SecurityInsights/incidents/write",
        }
    }

    fn roles(self) -> &'static [&'static str] {
        match self {
            Access::Read => READ_ROLES,
            Access::Write => WRITE_ROLES,
        }
    }
}

/// 403 `AuthorizationFailed` (CloudError, §3.6) unless the app holds a role for `access`. The
/// message is worded as ARM words it (the notes name only the code): client, action, scope.
pub(super) fn check_role(ws: &Workspace, client_id: &str, access: Access) -> Result<(), Response> {
    let held = ws.roles_of(client_id);
    if held.iter().any(|r| access.roles().contains(&r.as_str())) {
        return Ok(());
    }
    Err(cloud_error(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        &format!(
            "The client '{client_id}' with object id '{client_id}' does not have authorization to perform action '{}' over scope '{}/providers/Microsoft.SecurityInsights' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            access.action(),
            workspace_resource_id(ws)
        ),
    ))
}

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}`.
fn workspace_resource_id(ws: &Workspace) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}",
        ws.subscription, ws.resource_group, ws.name
    )
}

/// Checks the bearer token; the caller holds the state lock (`st`).
pub(super) fn authorize(
    st: &Inner,
    headers: &HeaderMap,
    ws: &Workspace,
    audience: &str,
) -> Result<ArmCaller, Response> {
    let token =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(
            || {
                cloud_error(
                    StatusCode::UNAUTHORIZED,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                )
            },
        )?;
    let info = st.tokens.get(token).cloned().ok_or_else(|| {
        cloud_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "The access token is invalid.")
    })?;
    if Instant::now() >= info.expires {
        return Err(cloud_error(
            StatusCode::UNAUTHORIZED,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        ));
    }
    if !info.audience.to_ascii_lowercase().contains(audience) {
        return Err(cloud_error(
            StatusCode::FORBIDDEN,
            "InvalidAuthenticationTokenAudience",
            &format!("The access token has been obtained for wrong audience or resource '{}'.", info.audience),
        ));
    }
    if info.tenant != ws.tenant {
        return Err(cloud_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenTenant",
            "The access token is from the wrong issuer.",
        ));
    }
    Ok(ArmCaller { client_id: info.client_id })
}

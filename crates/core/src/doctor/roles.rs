//! The roles a configuration needs: Microsoft Graph application roles (`microsoft-apis.md`
//! §2.1) and Azure roles on a Sentinel workspace (§3.6, §4.5, §5.2), with the commands that grant them.

use super::{Ctx, Verdict};
use crate::config::{Credential, SentinelConfig, TenantConfig};

// --- Microsoft Graph application roles (`microsoft-apis.md` §2.1) ---------------------------

/// The Microsoft Graph application's id (`az ad app permission add --api`).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Application permissions and their app role ids (§2.1; `SecurityAlert.Read.All`'s id is
/// not in the notes).
pub const GRAPH_ROLE_IDS: &[(&str, &str)] = &[
    ("SecurityAlert.ReadWrite.All", "ed4fca05-be46-441f-9803-1873825f8fdb"),
    ("SecurityIncident.Read.All", "45cc0394-e837-488b-a098-1918f48d186c"),
    ("SecurityIncident.ReadWrite.All", "34bf0e97-1971-4929-b999-9e2442d941d7"),
];

/// One Graph application role the configuration needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNeed {
    /// The role to grant.
    pub role: &'static str,
    /// Roles that satisfy the need as well (a ReadWrite role covers its Read role).
    pub also: &'static [&'static str],
    /// What uses it.
    pub why: &'static str,
}

impl GraphNeed {
    pub fn met_by(&self, roles: &[String]) -> bool {
        roles.iter().any(|r| r == self.role || self.also.contains(&r.as_str()))
    }
}

/// The Graph roles a tenant's configuration needs: reading alerts (read only), and with
/// two-way sync writing them back and following their incidents (§2.1: PATCH and comments
/// need the ReadWrite roles; incidents resolved in the portal close the SIGNL4 alert, and the
/// incident's status, owner and tag follow its alerts).
pub fn graph_needs(t: &TenantConfig) -> Vec<GraphNeed> {
    if !t.graph() {
        return Vec::new();
    }
    if !t.sync.enabled {
        return vec![GraphNeed {
            role: "SecurityAlert.Read.All",
            also: &["SecurityAlert.ReadWrite.All"],
            why: "read alerts (sync disabled: read only)",
        }];
    }
    vec![
        GraphNeed { role: "SecurityAlert.ReadWrite.All", also: &[], why: "read alerts, write-back (status, comments)" },
        GraphNeed {
            role: "SecurityIncident.ReadWrite.All",
            also: &[],
            why: "incidents: portal resolves close the page; status, owner and tag follow the alerts",
        },
    ]
}

/// How to grant Graph application permissions (portal, `az`, or the deployment kit).
pub fn graph_permission_fix(cx: &Ctx<'_>, roles: &[&str]) -> String {
    let app = cx.app();
    if matches!(cx.tenant.credential, Credential::ManagedIdentity(_)) {
        // A managed identity has no API permissions page: its Graph app roles are assigned
        // to its service principal (what the deployment kit does).
        return format!(
            "assign the Microsoft Graph app role{} {} to {app}'s service principal: deploy/register-app.sh \
             --managed-identity <its object id> (or Register-Signl4Sentinel.ps1), or POST \
             /servicePrincipals/<its object id>/appRoleAssignments in Microsoft Graph",
            if roles.len() == 1 { "" } else { "s" },
            roles.join(", ")
        );
    }
    let mut fix = format!(
        "grant {app} the Microsoft Graph application permission{} {} with admin consent: Entra ID → App registrations → \
         {app} → API permissions → Add a permission → Microsoft Graph → Application permissions, then \"Grant admin \
         consent\" (or run deploy/register-app.sh)",
        if roles.len() == 1 { "" } else { "s" },
        roles.join(", ")
    );
    let ids: Vec<String> = roles
        .iter()
        .filter_map(|r| GRAPH_ROLE_IDS.iter().find(|(n, _)| n == r).map(|(_, id)| format!("{id}=Role")))
        .collect();
    if !ids.is_empty() && !cx.tenant.client_id.is_empty() {
        let id = &cx.tenant.client_id;
        fix.push_str(&format!(
            "\naz ad app permission add --id {id} --api {GRAPH_APP_ID} --api-permissions {}\naz ad app permission admin-consent --id {id}",
            ids.join(" ")
        ));
    }
    fix
}

/// The Graph token's `roles` claim against [`graph_needs`].
pub fn roles_verdict(cx: &Ctx<'_>, roles: &[String]) -> Verdict {
    let needs = graph_needs(cx.tenant);
    if needs.is_empty() {
        return Verdict::skipped("graph = false: Graph alerts are not read");
    }
    let carries = if roles.is_empty() { "no roles".to_string() } else { roles.join(", ") };
    let missing: Vec<&GraphNeed> = needs.iter().filter(|n| !n.met_by(roles)).collect();
    if missing.is_empty() {
        let used: Vec<String> = needs.iter().map(|n| n.role.to_string()).collect();
        return Verdict::ok(format!("the token carries {carries}; needed: {}", used.join(", ")));
    }
    let what: Vec<String> = missing.iter().map(|n| format!("{} ({})", n.role, n.why)).collect();
    Verdict::failed(
        format!("missing {}; the token carries {carries}", what.join(", ")),
        graph_permission_fix(cx, &missing.iter().map(|n| n.role).collect::<Vec<_>>()),
    )
}

// --- Azure roles (`microsoft-apis.md` §3.6, §4.5, §5.2) --------------------------------------

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}`.
pub fn workspace_scope(ws: &SentinelConfig) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}",
        ws.subscription_id, ws.resource_group, ws.workspace_name
    )
}

/// The Sentinel role the configuration needs: Responder to write incidents back (§3.6),
/// Reader when sync is off.
pub fn sentinel_role(t: &TenantConfig) -> &'static str {
    if t.sync.enabled { "Microsoft Sentinel Responder" } else { "Microsoft Sentinel Reader" }
}

pub fn az_role_assignment(cx: &Ctx<'_>, role: &str, scope: &str) -> String {
    format!("az role assignment create {} --role \"{role}\" --scope {scope}", cx.assignee())
}

/// Log Analytics is used for rule-query enrichment only.
pub fn uses_log_analytics(ws: &SentinelConfig) -> bool {
    ws.enrichment_enabled && ws.enrichment_rows > 0 && ws.workspace_id.is_some()
}

//! `doctor`'s verdicts (pure): which Graph application roles and Azure roles a configuration
//! needs, what each live check's answer means (ok / failed / skipped, with the fix: the
//! missing permission, the `az` command, the configuration key), and the report as text or
//! JSON with its exit code. The live checks themselves are `connector/src/doctor.rs`.

use serde::Serialize;

use crate::config::{Credential, SentinelConfig, TenantConfig};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    /// Not used by this configuration, or not checkable (said why in the detail).
    Skipped,
}

impl Status {
    /// `✔` / `✘` / `–`.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✔",
            Status::Failed => "✘",
            Status::Skipped => "–",
        }
    }
}

/// What a check found, and for a failure how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Verdict {
    pub fn ok(detail: impl Into<String>) -> Verdict {
        Verdict { status: Status::Ok, detail: detail.into(), fix: None }
    }

    pub fn failed(detail: impl Into<String>, fix: impl Into<String>) -> Verdict {
        Verdict { status: Status::Failed, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn skipped(detail: impl Into<String>) -> Verdict {
        Verdict { status: Status::Skipped, detail: detail.into(), fix: None }
    }
}

/// One line of the report (`--json`: `{tenant, check, status, detail, fix}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub tenant: String,
    pub check: String,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn new(tenant: &str, check: impl Into<String>, v: Verdict) -> Check {
        Check { tenant: tenant.to_string(), check: check.into(), status: v.status, detail: v.detail, fix: v.fix }
    }
}

/// What a tenant's checks need to word their fixes: the configuration, its key
/// (`tenant[0]`) and who to assign roles to.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub tenant: &'a TenantConfig,
    /// The tenant's configuration key, e.g. `tenant[0]`.
    pub prefix: &'a str,
    /// The service principal's object id (`oid` of a token), for an identity without a
    /// client id (system-assigned managed identity).
    pub object_id: Option<&'a str>,
}

impl Ctx<'_> {
    /// `--assignee <client id>` (or the object id of a system-assigned identity).
    pub fn assignee(&self) -> String {
        if !self.tenant.client_id.is_empty() {
            format!("--assignee {}", self.tenant.client_id)
        } else if let Some(oid) = self.object_id {
            format!("--assignee-object-id {oid} --assignee-principal-type ServicePrincipal")
        } else {
            "--assignee-object-id <the managed identity's principal id> --assignee-principal-type ServicePrincipal"
                .into()
        }
    }

    fn key(&self, field: &str) -> String {
        format!("{}.{field}", self.prefix)
    }

    fn app(&self) -> String {
        if self.tenant.client_id.is_empty() { "the managed identity".into() } else { self.tenant.client_id.clone() }
    }
}

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

// --- Failures of live checks -----------------------------------------------------------------

/// What a live check asked.
#[derive(Debug, Clone, Copy)]
pub enum Probe<'a> {
    /// An access token for a resource (`scope`).
    Token {
        resource: &'a str,
        scope: &'a str,
    },
    GraphAlerts,
    GraphIncidents,
    /// `GET …/incidents?$top=1` of workspace number `index`.
    SentinelIncidents {
        ws: &'a SentinelConfig,
        index: usize,
    },
    /// A `print` query on workspace number `index`.
    LogAnalytics {
        ws: &'a SentinelConfig,
        index: usize,
    },
    /// The Logs Ingestion dry call (`POST []`).
    Dcr {
        dcr: &'a str,
        stream: &'a str,
    },
    /// The team secret (`key`: its configuration key).
    TeamSecret {
        key: &'a str,
    },
    /// The team's API key (`key`: its configuration key).
    ApiKey {
        key: &'a str,
    },
}

/// A failed request: its HTTP status (None: no answer) and the (redacted) error message.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    pub status: Option<u16>,
    pub message: &'a str,
}

fn transient(f: &Failure<'_>) -> Option<String> {
    match f.status {
        None => Some(
            "no answer: check the endpoint URL, DNS, proxy and firewall (outbound HTTPS), then run doctor again".into(),
        ),
        Some(429) => Some("throttled: run doctor again in a minute (the service's Retry-After)".into()),
        Some(s) if s >= 500 => Some("the service had a problem: run doctor again later".into()),
        _ => None,
    }
}

/// The verdict for a failed live check, with its fix.
pub fn failure_verdict(cx: &Ctx<'_>, probe: Probe<'_>, f: Failure<'_>) -> Verdict {
    let msg = f.message;
    let status = f.status.map(|s| format!("HTTP {s}: ")).unwrap_or_default();
    let detail = format!("{status}{msg}");
    if let Some(fix) = transient(&f) {
        return Verdict::failed(detail, fix);
    }
    let has = |code: &str| msg.contains(code);
    let fix = match probe {
        Probe::Token { resource, scope } => token_fix(cx, resource, scope, msg),
        Probe::GraphAlerts | Probe::GraphIncidents if f.status == Some(403) => {
            let role = match probe {
                Probe::GraphIncidents => "SecurityIncident.ReadWrite.All",
                _ if cx.tenant.sync.enabled => "SecurityAlert.ReadWrite.All",
                _ => "SecurityAlert.Read.All",
            };
            graph_permission_fix(cx, &[role])
        }
        Probe::GraphAlerts | Probe::GraphIncidents => format!(
            "check {} and {} (the token must be for the Graph of the same cloud)",
            cx.key("cloud"),
            cx.key("endpoints.graph")
        ),
        Probe::SentinelIncidents { ws, index } => {
            let k = |f: &str| cx.key(&format!("sentinel[{index}].{f}"));
            match f.status {
                Some(403) if has("AuthorizationFailed") => format!(
                    "assign {} the \"{}\" role on workspace {} (role assignments can take a few minutes to apply):\n{}",
                    cx.app(),
                    sentinel_role(cx.tenant),
                    ws.workspace_name,
                    az_role_assignment(cx, sentinel_role(cx.tenant), &workspace_scope(ws))
                ),
                Some(401 | 403) if has("Audience") => {
                    format!(
                        "the token is for another audience: check {} and {}",
                        cx.key("cloud"),
                        cx.key("endpoints.arm")
                    )
                }
                Some(401) if has("Tenant") => format!(
                    "subscription {} belongs to another tenant: check {} and {}",
                    ws.subscription_id,
                    cx.key("tenant_id"),
                    k("subscription_id")
                ),
                Some(404) => format!(
                    "no such workspace: check {}, {} and {} (the workspace's Overview page in the Azure portal)",
                    k("subscription_id"),
                    k("resource_group"),
                    k("workspace_name")
                ),
                Some(400) if has("ApiVersion") => format!("use a supported {}, e.g. \"2025-12-01\"", k("api_version")),
                _ => format!("check the keys of {}.sentinel[{index}] (workspace {})", cx.prefix, ws.workspace_name),
            }
        }
        Probe::LogAnalytics { ws, index } => {
            let k = |f: &str| cx.key(&format!("sentinel[{index}].{f}"));
            match f.status {
                Some(403) if has("InsufficientAccess") || has("Authorization") => format!(
                    "assign {} the \"Log Analytics Reader\" role on workspace {} (up to 60 minutes to apply), or turn enrichment off ({} = false):\n{}",
                    cx.app(),
                    ws.workspace_name,
                    k("enrichment.enabled"),
                    az_role_assignment(cx, "Log Analytics Reader", &workspace_scope(ws))
                ),
                Some(404) => format!(
                    "check {} (the Log Analytics workspace ID, a GUID: the workspace's Overview page)",
                    k("workspace_id")
                ),
                Some(401 | 403) => format!(
                    "the token was refused: check {} and {}",
                    cx.key("cloud"),
                    cx.key("endpoints.log_analytics")
                ),
                _ => format!("check {}", k("workspace_id")),
            }
        }
        Probe::Dcr { dcr, stream } => match f.status {
            Some(403) => format!(
                "assign {} the \"Monitoring Metrics Publisher\" role on the data collection rule {dcr} (up to 30 minutes to apply; deploy/bicep/main.bicep assigns it):\n\
                 az role assignment create {} --role \"Monitoring Metrics Publisher\" --scope $(az monitor data-collection rule list --query \"[?immutableId=='{dcr}'].id\" -o tsv)",
                cx.app(),
                cx.assignee()
            ),
            Some(404) => format!("no data collection rule {dcr}: check {}", cx.key("audit.dcr_immutable_id")),
            Some(400) => format!("the rule does not accept stream {stream}: check {}", cx.key("audit.stream")),
            Some(401) => format!("the token was refused: check {} and {}", cx.key("cloud"), cx.key("audit.endpoint")),
            _ => format!("check [{}]", cx.key("audit")),
        },
        Probe::TeamSecret { key } => match f.status {
            Some(404) => format!(
                "SIGNL4 does not know this team secret: set {key} to the team's secret (SIGNL4 → Teams → your team → Secret) or an integration secret"
            ),
            _ => format!("check {key} and {}", cx.key("endpoints.signl4_webhook")),
        },
        Probe::ApiKey { key } => match f.status {
            Some(401 | 403) => {
                format!("SIGNL4 refused the API key: set {key} to a valid key (SIGNL4 → Integrations → API Keys)")
            }
            _ => format!("check {key} and {}", cx.key("endpoints.signl4_api")),
        },
    };
    Verdict::failed(detail, fix)
}

/// The `[ops]` team's secret (self-monitoring pages go straight to its webhook) failed.
pub fn ops_secret_verdict(f: Failure<'_>) -> Verdict {
    let detail = format!("{}{}", f.status.map(|s| format!("HTTP {s}: ")).unwrap_or_default(), f.message);
    if let Some(fix) = transient(&f) {
        return Verdict::failed(detail, fix);
    }
    let fix = match f.status {
        Some(404) => "SIGNL4 does not know this team secret: set ops.team_secret to the secret of the team that \
                      should hear about the connector itself (SIGNL4 → Teams → that team → Secret)"
            .to_string(),
        _ => "check ops.team_secret and ops.webhook".to_string(),
    };
    Verdict::failed(detail, fix)
}

/// Entra ID refused a token: the fix by AADSTS code (`microsoft-apis.md` §1.3).
fn token_fix(cx: &Ctx<'_>, resource: &str, scope: &str, msg: &str) -> String {
    let code: String =
        msg.split("AADSTS").nth(1).map(|s| s.chars().take_while(|c| c.is_ascii_digit()).collect()).unwrap_or_default();
    let app = cx.app();
    match code.as_str() {
        "7000215" => format!(
            "set {} to the client secret's Value (App registrations → {app} → Certificates & secrets)",
            cx.key("client_secret")
        ),
        "7000222" => format!(
            "the client secret expired: create a new one (App registrations → {app} → Certificates & secrets) and update {}",
            cx.key("client_secret")
        ),
        "700016" => format!(
            "check {} and {}: the app must be registered (or consented) in tenant {}",
            cx.key("client_id"),
            cx.key("tenant_id"),
            cx.tenant.tenant_id
        ),
        "90002" | "900023" => format!("check {} and {}", cx.key("tenant_id"), cx.key("cloud")),
        "65001" => "an administrator must grant admin consent for the app's API permissions".into(),
        "70011" | "1002012" => {
            format!("Entra ID rejected the scope {scope}: check {} and [{}]", cx.key("cloud"), cx.key("endpoints"))
        }
        "700027" => "upload the certificate (its public part) under App registrations → Certificates & secrets → Certificates".into(),
        "70021" | "700211" | "700212" | "700213" => {
            "add a federated credential matching the cluster's OIDC issuer, namespace and service account (docs → Credentials)".into()
        }
        "700024" => "the assertion is outside its valid time range: check this machine's clock and the projected token".into(),
        _ => format!(
            "check the credential of {} ({}; docs → Credentials): a token for {resource} is needed",
            cx.tenant.name,
            cx.key("credential")
        ),
    }
}

// --- SIGNL4 outbound webhooks (`signl4.md` §2.3, §3.1) ---------------------------------------

/// The registered outbound webhooks' (name, address, enabled) from a V1 `GET /webhooks`
/// answer (`[WebhookInfo {id, name, externalAddress, enabled, …}]`); V2's registration names
/// the address `extUrl` (§2.4), so both are read. None: not a list of webhooks.
pub fn outbound_webhooks(v: &serde_json::Value) -> Option<Vec<(String, String, bool)>> {
    use serde_json::Value;
    let list = match v {
        Value::Array(a) => a,
        Value::Object(o) => {
            ["items", "value", "results", "webhooks"].iter().find_map(|k| o.get(*k).and_then(Value::as_array))?
        }
        _ => return None,
    };
    Some(
        list.iter()
            .filter_map(|w| {
                let addr = ["externalAddress", "extUrl", "url", "address"]
                    .iter()
                    .find_map(|k| w.get(*k).and_then(Value::as_str))?;
                let name = w.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                let enabled = w.get("enabled").and_then(Value::as_bool).unwrap_or(true);
                Some((name, addr.to_string(), enabled))
            })
            .collect(),
    )
}

/// Whether an outbound webhook points at this connector: its path ends in
/// `/signl4/{inbound_token}` (the receiver's route; the public host is not configured).
pub fn outbound_verdict(list: &[(String, String, bool)], inbound_token: &str, token_key: &str) -> Verdict {
    let suffix = format!("/signl4/{inbound_token}");
    let ours = |addr: &str| addr.split(['?', '#']).next().unwrap_or("").trim_end_matches('/').ends_with(&suffix);
    let matching: Vec<&(String, String, bool)> = list.iter().filter(|(_, a, _)| ours(a)).collect();
    let register = format!(
        "in SIGNL4 add Integrations → Gallery → \"Webhook (Outbound)\" with the URL https://<this connector>/signl4/<{token_key}> \
         (or POST /webhooks, signl4.md §2.3); without it acknowledgements arrive only by REST polling (api_key), or remove {token_key}"
    );
    match matching.iter().find(|(_, _, enabled)| *enabled) {
        Some((name, _, _)) => Verdict::ok(format!(
            "outbound webhook \"{name}\" points at this connector (…/signl4/<{token_key}>); {} webhook(s) registered",
            list.len()
        )),
        None if !matching.is_empty() => Verdict::failed(
            format!("outbound webhook \"{}\" points at this connector but is disabled", matching[0].0),
            "enable it in SIGNL4 (Integrations), or POST /webhooks/{id}/enable (signl4.md §2.3)",
        ),
        None => Verdict::failed(
            format!("none of the {} registered outbound webhook(s) points at …/signl4/<{token_key}>", list.len()),
            register,
        ),
    }
}

// --- The report ------------------------------------------------------------------------------

/// One line per check (`✔`/`✘`/`–`, check, detail), the fix indented below a failure, tenants
/// as headings, and a summary line.
pub fn render_text(checks: &[Check]) -> String {
    let mut out = String::new();
    let mut tenant: Option<&str> = None;
    for c in checks {
        if tenant != Some(c.tenant.as_str()) {
            if tenant.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("tenant {}\n", c.tenant));
            tenant = Some(&c.tenant);
        }
        out.push_str(&format!("  {} {}: {}\n", c.status.mark(), c.check, c.detail));
        if let (Status::Failed, Some(fix)) = (c.status, &c.fix) {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix: " } else { "     " };
                out.push_str(&format!("      {lead}{line}\n"));
            }
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let (ok, failed, skipped) = (count(Status::Ok), count(Status::Failed), count(Status::Skipped));
    out.push_str(&format!(
        "\n{}: {ok} ok, {failed} failed, {skipped} skipped\n",
        if failed == 0 { "everything this configuration uses works" } else { "not ready" }
    ));
    out
}

/// The checks as a JSON array of `{tenant, check, status, detail, fix}`.
pub fn render_json(checks: &[Check]) -> String {
    serde_json::to_string_pretty(checks).unwrap_or_else(|_| "[]".into())
}

/// 0 when nothing failed, 1 otherwise (2, a configuration error, is decided before).
pub fn exit_code(checks: &[Check]) -> u8 {
    if checks.iter().any(|c| c.status == Status::Failed) { 1 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, load};

    /// No environment variables, no files.
    struct NoEnv;

    impl Env for NoEnv {
        fn var(&self, _: &str) -> Option<String> {
            None
        }
        fn vars(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn read_file(&self, path: &str) -> Result<String, String> {
            Err(format!("{path}: no files in tests"))
        }
    }

    fn tenant(extra: &str) -> TenantConfig {
        let text =
            crate::config::example().replace("[tenant.sync]\nenabled = true", &format!("[tenant.sync]\n{extra}"));
        let c = load(&text, &NoEnv).expect("example loads");
        c.tenants.into_iter().next().expect("a tenant")
    }

    fn cx(t: &TenantConfig) -> Ctx<'_> {
        Ctx { tenant: t, prefix: "tenant[0]", object_id: None }
    }

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn two_way_sync_needs_both_readwrite_roles_read_only_needs_alert_read() {
        let t = tenant("enabled = true");
        let names: Vec<&str> = graph_needs(&t).iter().map(|n| n.role).collect();
        assert_eq!(names, ["SecurityAlert.ReadWrite.All", "SecurityIncident.ReadWrite.All"]);
        let ro = tenant("enabled = false");
        let needs = graph_needs(&ro);
        assert_eq!(needs.len(), 1);
        assert!(needs[0].met_by(&roles(&["SecurityAlert.ReadWrite.All"])));
        assert!(needs[0].met_by(&roles(&["SecurityAlert.Read.All"])));
        assert!(!needs[0].met_by(&roles(&["SecurityIncident.Read.All"])));
        assert_eq!(sentinel_role(&ro), "Microsoft Sentinel Reader");
        assert_eq!(sentinel_role(&t), "Microsoft Sentinel Responder");
    }

    #[test]
    fn a_missing_role_is_named_with_portal_and_az_fixes() {
        let t = tenant("enabled = true");
        let v = roles_verdict(&cx(&t), &roles(&["SecurityAlert.ReadWrite.All"]));
        assert_eq!(v.status, Status::Failed);
        assert!(v.detail.contains("missing SecurityIncident.ReadWrite.All"), "{}", v.detail);
        assert!(v.detail.contains("carries SecurityAlert.ReadWrite.All"), "{}", v.detail);
        let fix = v.fix.unwrap();
        assert!(fix.contains("Grant admin consent"), "{fix}");
        assert!(
            fix.contains(&format!(
                "az ad app permission add --id {} --api {GRAPH_APP_ID} --api-permissions 34bf0e97-1971-4929-b999-9e2442d941d7=Role",
                t.client_id
            )),
            "{fix}"
        );
        assert!(fix.contains("az ad app permission admin-consent"), "{fix}");
        let ok = roles_verdict(&cx(&t), &roles(&["SecurityAlert.ReadWrite.All", "SecurityIncident.ReadWrite.All"]));
        assert_eq!(ok.status, Status::Ok);
        let none = roles_verdict(&cx(&t), &[]);
        assert!(none.detail.contains("carries no roles"), "{}", none.detail);
    }

    #[test]
    fn no_arm_role_gives_the_az_role_assignment_command() {
        let t = tenant("enabled = true");
        let ws = t.sentinel()[0];
        let v = failure_verdict(
            &cx(&t),
            Probe::SentinelIncidents { ws, index: 0 },
            Failure { status: Some(403), message: "AuthorizationFailed: The client 'x' does not have authorization" },
        );
        assert_eq!(v.status, Status::Failed);
        assert!(v.detail.starts_with("HTTP 403: AuthorizationFailed"), "{}", v.detail);
        let fix = v.fix.unwrap();
        assert!(
            fix.contains(&format!(
                "az role assignment create --assignee {} --role \"Microsoft Sentinel Responder\" --scope /subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}",
                t.client_id, ws.subscription_id, ws.resource_group, ws.workspace_name
            )),
            "{fix}"
        );
        // A system-assigned identity is named by the token's object id.
        let mut mi = t.clone();
        mi.client_id.clear();
        let c = Ctx { tenant: &mi, prefix: "tenant[0]", object_id: Some("oid-1") };
        assert!(az_role_assignment(&c, "Reader", "/s").contains("--assignee-object-id oid-1"));
        // … and gets its Graph app roles on its service principal, not through API permissions.
        mi.credential = Credential::ManagedIdentity(crate::config::ManagedIdentity {
            client_id: None,
            source: crate::config::ManagedIdentitySource::Imds {
                endpoint: url::Url::parse("http://169.254.169.254").unwrap(),
            },
        });
        let c = Ctx { tenant: &mi, prefix: "tenant[0]", object_id: Some("oid-1") };
        let fix = graph_permission_fix(&c, &["SecurityIncident.ReadWrite.All"]);
        assert!(fix.contains("--managed-identity") && !fix.contains("az ad app permission"), "{fix}");
    }

    #[test]
    fn statuses_map_to_the_key_to_fix() {
        let t = tenant("enabled = true");
        let ws = t.sentinel()[0];
        let c = cx(&t);
        let fix = |p: Probe<'_>, status: Option<u16>, message: &str| {
            failure_verdict(&c, p, Failure { status, message }).fix.unwrap()
        };
        assert!(
            fix(Probe::SentinelIncidents { ws, index: 0 }, Some(404), "ResourceNotFound")
                .contains("tenant[0].sentinel[0].workspace_name")
        );
        assert!(
            fix(Probe::LogAnalytics { ws, index: 0 }, Some(403), "InsufficientAccessError: …")
                .contains("--role \"Log Analytics Reader\"")
        );
        assert!(
            fix(Probe::LogAnalytics { ws, index: 0 }, Some(404), "PathNotFoundError")
                .contains("tenant[0].sentinel[0].workspace_id")
        );
        assert!(fix(Probe::GraphIncidents, Some(403), "Forbidden").contains("SecurityIncident.ReadWrite.All"));
        assert!(
            fix(Probe::TeamSecret { key: "tenant[0].signl4.team_secret" }, Some(404), "x")
                .contains("tenant[0].signl4.team_secret")
        );
        assert!(fix(Probe::ApiKey { key: "tenant[0].signl4.api_key" }, Some(401), "x").contains("API Keys"));
        assert!(
            fix(Probe::Dcr { dcr: "dcr-1", stream: "Custom-SIGNL4_CL" }, Some(403), "x")
                .contains("Monitoring Metrics Publisher")
        );
        assert!(
            fix(Probe::Dcr { dcr: "dcr-1", stream: "Custom-SIGNL4_CL" }, Some(404), "x")
                .contains("audit.dcr_immutable_id")
        );
        assert!(fix(Probe::GraphAlerts, Some(429), "TooManyRequests").contains("again"));
        assert!(fix(Probe::GraphAlerts, None, "network error").contains("firewall"));
        assert!(
            ops_secret_verdict(Failure { status: Some(404), message: "x" }).fix.unwrap().contains("ops.team_secret")
        );
        assert!(ops_secret_verdict(Failure { status: None, message: "x" }).fix.unwrap().contains("firewall"));
        let token = Probe::Token { resource: "Microsoft Graph", scope: "https://graph.microsoft.com/.default" };
        assert!(
            fix(token, Some(401), "invalid_client: AADSTS7000215: Invalid client secret provided.")
                .contains("tenant[0].client_secret")
        );
        assert!(fix(token, Some(400), "AADSTS700016: Application not found").contains("tenant[0].client_id"));
    }

    #[test]
    fn outbound_webhooks_are_matched_by_the_inbound_token_path() {
        let v = serde_json::json!([
            {"id": "1", "name": "other", "externalAddress": "https://x.example/hook", "enabled": true},
            {"id": "2", "name": "s4s", "externalAddress": "https://s4s.example:8443/signl4/tok-123/", "enabled": true},
        ]);
        let list = outbound_webhooks(&v).unwrap();
        assert_eq!(list.len(), 2);
        let ok = outbound_verdict(&list, "tok-123", "tenant[0].signl4.inbound_token");
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        assert!(!ok.detail.contains("tok-123"), "the token is a secret: {}", ok.detail);
        let none = outbound_verdict(&list, "tok-999", "tenant[0].signl4.inbound_token");
        assert_eq!(none.status, Status::Failed);
        assert!(none.fix.unwrap().contains("Webhook (Outbound)"));
        // V2's `extUrl`, a wrapped list, and a disabled registration.
        let v2 =
            serde_json::json!({"items": [{"name": "s4s", "extUrl": "https://h/signl4/tok-123", "enabled": false}]});
        let d = outbound_verdict(&outbound_webhooks(&v2).unwrap(), "tok-123", "k");
        assert_eq!(d.status, Status::Failed);
        assert!(d.detail.contains("disabled"));
        assert!(outbound_webhooks(&serde_json::json!("nope")).is_none());
    }

    #[test]
    fn the_report_marks_each_line_indents_fixes_and_decides_the_exit_code() {
        let checks = vec![
            Check::new("contoso", "Graph token", Verdict::ok("issued")),
            Check::new("contoso", "Graph roles", Verdict::failed("missing X", "grant X\naz ad app permission add …")),
            Check::new("contoso", "Logs Ingestion (DCR)", Verdict::skipped("not configured")),
        ];
        let text = render_text(&checks);
        assert!(text.contains("tenant contoso\n  ✔ Graph token: issued\n  ✘ Graph roles: missing X\n      fix: grant X\n           az ad app"), "{text}");
        assert!(text.contains("  – Logs Ingestion (DCR): not configured"), "{text}");
        assert!(text.contains("not ready: 1 ok, 1 failed, 1 skipped"), "{text}");
        assert_eq!(exit_code(&checks), 1);
        assert_eq!(exit_code(&checks[..1]), 0);
        assert_eq!(exit_code(&[checks[0].clone(), checks[2].clone()]), 0);
        let json: serde_json::Value = serde_json::from_str(&render_json(&checks)).unwrap();
        assert_eq!(json[1]["status"], "failed");
        assert_eq!(json[2]["status"], "skipped");
        assert_eq!(json[0]["fix"], serde_json::Value::Null);
        assert_eq!(json[1]["tenant"], "contoso");
    }
}

//! Failures of live checks: an HTTP status, an AADSTS code or an ARM error code → the verdict
//! and its fix (the missing permission, the `az` command, the configuration key).

use super::roles::{az_role_assignment, graph_permission_fix, sentinel_role, workspace_scope};
use super::{Ctx, Verdict};
use crate::config::{KEY_OPS_TEAM_SECRET, KEY_OPS_WEBHOOK, SentinelConfig};

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
        Some(404) => format!(
            "SIGNL4 does not know this team secret: set {KEY_OPS_TEAM_SECRET} to the secret of the team that \
             should hear about the connector itself (SIGNL4 → Teams → that team → Secret)"
        ),
        _ => format!("check {KEY_OPS_TEAM_SECRET} and {KEY_OPS_WEBHOOK}"),
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

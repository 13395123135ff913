//! Tests of `doctor`'s verdicts, fixes and report.

use super::*;
use crate::config::{Credential, Env, load};

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
    let text = crate::config::example().replace("[tenant.sync]\nenabled = true", &format!("[tenant.sync]\n{extra}"));
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
        fix(Probe::Dcr { dcr: "dcr-1", stream: "Custom-SIGNL4_CL" }, Some(404), "x").contains("audit.dcr_immutable_id")
    );
    assert!(fix(Probe::GraphAlerts, Some(429), "TooManyRequests").contains("again"));
    assert!(fix(Probe::GraphAlerts, None, "network error").contains("firewall"));
    assert!(ops_secret_verdict(Failure { status: Some(404), message: "x" }).fix.unwrap().contains("ops.team_secret"));
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
    let v2 = serde_json::json!({"items": [{"name": "s4s", "extUrl": "https://h/signl4/tok-123", "enabled": false}]});
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

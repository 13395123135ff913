//! `signl4-sentinel doctor` against the fake cloud: a tenant whose app lacks
//! `SecurityIncident.ReadWrite.All` and holds no role on the Sentinel workspace fails with both
//! named and their fixes (exit 1); the fully permitted fake passes (exit 0) without paging
//! anybody; `--json` parses. A module of the `cli` test binary (one binary less to build).

use std::path::Path;
use std::process::Output;

use crate::common::*;
use s4s_fakecloud::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION, DEFAULT_WORKSPACE, Outbound,
};
use serde_json::Value;

const API_KEY: &str = "s4s-doctor-api-key-51d2c8";

async fn doctor(config: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
        .arg("doctor")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .await
        .expect("run signl4-sentinel doctor")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_no_secret(out: &str) {
    for s in [TEAM, API_KEY, DEFAULT_CLIENT_SECRET, INBOUND_TOKEN] {
        assert!(!out.contains(s), "doctor shows the secret {s}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_a_missing_graph_role_and_a_missing_workspace_role_with_their_fixes() {
    let h = Harness::new().await;
    h.fake.set_roles(TENANT, DEFAULT_CLIENT_ID, &["SecurityAlert.ReadWrite.All"]);
    h.fake.set_workspace_roles(DEFAULT_WORKSPACE, DEFAULT_CLIENT_ID, &[]);
    let f = h.write_config(&h.config());

    let out = doctor(&f, &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("✘ Graph application roles: missing SecurityIncident.ReadWrite.All"), "{text}");
    assert!(
        text.contains(&format!(
            "az ad app permission add --id {DEFAULT_CLIENT_ID} --api 00000003-0000-0000-c000-000000000000 --api-permissions 34bf0e97-1971-4929-b999-9e2442d941d7=Role"
        )),
        "{text}"
    );
    assert!(text.contains("✘ Graph incidents read: HTTP 403"), "{text}");
    assert!(text.contains("✔ Graph alerts read"), "{text}");
    assert!(text.contains("✘ Sentinel workspace soc: incidents read: HTTP 403: AuthorizationFailed"), "{text}");
    let scope = format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{DEFAULT_RESOURCE_GROUP}/providers/Microsoft.OperationalInsights/workspaces/{DEFAULT_WORKSPACE}"
    );
    assert!(
        text.contains(&format!(
            "az role assignment create --assignee {DEFAULT_CLIENT_ID} --role \"Microsoft Sentinel Responder\" --scope {scope}"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("--role \"Log Analytics Reader\" --scope {scope}")), "{text}");
    assert!(text.contains("✔ SIGNL4 team secret"), "{text}");
    assert!(text.contains("not ready:"), "{text}");
    assert_no_secret(&text);

    let out = doctor(&f, &["--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).expect("--json prints a JSON array");
    let failed: Vec<&str> =
        checks.iter().filter(|c| c["status"] == "failed").filter_map(|c| c["check"].as_str()).collect();
    for name in ["Graph application roles", "Graph incidents read", "Sentinel workspace soc: incidents read"] {
        assert!(failed.contains(&name), "{name} not failed: {failed:?}");
    }
    for c in &checks {
        assert_eq!(c["tenant"], "contoso");
        assert!(["ok", "failed", "skipped"].contains(&c["status"].as_str().unwrap_or("")), "{c}");
        assert_eq!(c["status"] == "failed", c["fix"].is_string(), "a fix exactly for each failure: {c}");
    }
    assert_no_secret(&stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_against_the_full_fake_and_pages_nobody() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, API_KEY);
    // The registration SIGNL4 lists (nothing is delivered to it: doctor changes no alert).
    h.fake.set_outbound(
        TEAM,
        Some(Outbound {
            url: format!("https://s4s.contoso.example/signl4/{INBOUND_TOKEN}"),
            responders: None,
            duplicate_probability: 0.0,
        }),
    );
    let ops_webhook = format!("{}/signl4/webhook", h.fake.url());
    let f = h.write_config(
        &h.config()
            .tenant(|t| t.signl4.api_key = Some(API_KEY.into()))
            .ops([("team_secret", TEAM), ("webhook", ops_webhook.as_str())]),
    );

    let out = doctor(&f, &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains('✘'), "{text}");
    for line in [
        "✔ Graph application roles",
        "✔ Sentinel workspace soc: incidents read",
        "✔ Sentinel workspace soc: Log Analytics query",
        "✔ SIGNL4 team secret",
        "✔ SIGNL4 API key",
        "✔ SIGNL4 outbound webhook",
        "tenant [ops]\n  ✔ SIGNL4 team secret (self-monitoring)",
        "– Logs Ingestion (audit DCR): not configured",
        "everything this configuration uses works",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert_no_secret(&text);
    // The secret checks (the tenant's team, and the same team as [ops]) paged nobody: only
    // `resolved` events, no SIGNL4 alert.
    assert!(h.fake.signl4_alerts(TEAM).is_empty(), "doctor created a SIGNL4 alert");
    let received = h.fake.received(TEAM);
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|e| e.status == "resolved"), "{received:?}");

    // Without the registration the webhook check fails and says how to register it.
    h.fake.set_outbound(TEAM, None);
    let out = doctor(&f, &["--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    let hook = checks.iter().find(|c| c["check"] == "SIGNL4 outbound webhook").expect("the webhook check");
    assert_eq!(hook["status"], "failed", "{hook}");
    assert!(hook["fix"].as_str().unwrap_or("").contains("Webhook (Outbound)"), "{hook}");

    // An invalid configuration is exit 2.
    let out = doctor(Path::new("/nonexistent/s4s.toml"), &[]).await;
    assert_eq!(out.status.code(), Some(2));
}

/// The Logs Ingestion dry call (`dcr_check`, for `[tenant.audit]`): an empty array to the rule's
/// stream through the tenant's scheduler; 204 → ok, 403 → *Monitoring Metrics Publisher*, 404 →
/// the rule id. Against a stand-in endpoint answering as `microsoft-apis.md` §5.2 documents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dcr_dry_call_needs_the_publisher_role() {
    use axum::extract::Path as P;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    async fn upload(P((dcr, stream)): P<(String, String)>, body: String) -> axum::response::Response {
        let err = |status: StatusCode, code: &str| {
            (
                status,
                [("x-ms-error-code", code.to_string())],
                format!(r#"{{"error":{{"code":"{code}","message":"…"}}}}"#),
            )
                .into_response()
        };
        match (dcr.as_str(), stream.as_str(), body.as_str()) {
            ("dcr-ok", "Custom-SIGNL4_CL", "[]") => StatusCode::NO_CONTENT.into_response(),
            ("dcr-denied", _, _) => err(StatusCode::FORBIDDEN, "OperationFailed"),
            _ => err(StatusCode::NOT_FOUND, "NotFound"),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/dataCollectionRules/{dcr}/streams/{stream}", axum::routing::post(upload));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let h = Harness::new().await;
    let cfg = h.config().build();
    let t = signl4_sentinel::tenant::TenantContext::new(
        cfg.tenants[0].clone(),
        &cfg.delivery,
        "doctor",
        &Default::default(),
    );
    let cx = s4s_core::doctor::Ctx { tenant: &t.cfg, prefix: "tenant[0]", object_id: None };
    let check = |dcr: &'static str| {
        let (t, cx, endpoint) = (&t, &cx, endpoint.clone());
        async move { signl4_sentinel::doctor::dcr_check(t, cx, &endpoint, dcr, "Custom-SIGNL4_CL").await }
    };
    let ok = check("dcr-ok").await;
    assert_eq!(ok.status, s4s_core::doctor::Status::Ok, "{ok:?}");
    let denied = check("dcr-denied").await;
    assert_eq!(denied.status, s4s_core::doctor::Status::Failed);
    assert!(denied.fix.unwrap().contains("\"Monitoring Metrics Publisher\""));
    let unknown = check("dcr-nope").await;
    assert!(unknown.fix.unwrap().contains("tenant[0].audit.dcr_immutable_id"));
}

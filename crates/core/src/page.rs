//! Graph alert → SIGNL4 inbound-webhook payload.
//!
//! SIGNL4 takes any JSON object: `Title` and `Message` become the alert title and text,
//! `X-S4-*` keys are control parameters, every other key is shown as an alert parameter
//! (`signl4.md` §1.3, §1.4). The message is written for a phone screen: what, how bad, where,
//! what to do, where to click.

use serde_json::{Map, Value};

use crate::alert::GraphAlert;
use crate::config::Signl4Options;
use crate::ids;

/// SIGNL4 documents no size limit for the message; we keep it well below what mobile
/// notifications display comfortably and note any truncation.
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// Entities listed per kind before "+N more".
pub const MAX_LIST: usize = 8;

/// A page ready to POST to `{signl4_webhook}/{teamSecret}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub external_id: String,
    pub body: Map<String, Value>,
}

fn list(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(MAX_LIST).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if items.len() > MAX_LIST {
        s.push_str(&format!(" (+{} more)", items.len() - MAX_LIST));
    }
    s
}

/// Truncates to `max` characters on a char boundary, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let marker = "… [truncated]";
    let keep = max.saturating_sub(marker.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(marker);
    out
}

/// Builds the page for a Graph alert.
pub fn graph_alert_page(tenant: &str, alert: &GraphAlert, opts: &Signl4Options) -> Page {
    let external_id = ids::external_id(tenant, ids::SOURCE_GRAPH_ALERT, &alert.id);
    let product = alert.product();
    let sev = alert.severity.label();

    let mut msg = String::new();
    msg.push_str(&format!("{sev} severity · {product}\n"));
    if let Some(c) = &alert.category {
        msg.push_str(&format!("Category: {c}\n"));
    }
    if !alert.description.is_empty() {
        msg.push_str(&format!("\n{}\n", alert.description.trim()));
    }
    let ev = &alert.evidence;
    if !ev.is_empty() {
        msg.push_str("\nEvidence:\n");
        for (label, items) in [
            ("Devices", &ev.devices),
            ("Users", &ev.users),
            ("IPs", &ev.ips),
            ("Files", &ev.files),
            ("Processes", &ev.processes),
            ("URLs", &ev.urls),
            ("Mail", &ev.mailboxes),
            ("Cloud", &ev.cloud_resources),
        ] {
            if !items.is_empty() {
                msg.push_str(&format!("• {label}: {}\n", list(items)));
            }
        }
        if ev.other > 0 {
            msg.push_str(&format!("• {} other evidence item(s)\n", ev.other));
        }
    }
    if !alert.mitre_techniques.is_empty() {
        msg.push_str(&format!("\nMITRE ATT&CK: {}\n", list(&alert.mitre_techniques)));
    }
    if !alert.recommended_actions.is_empty() {
        msg.push_str(&format!("\nRecommended actions:\n{}\n", alert.recommended_actions.trim()));
    }
    if let Some(u) = &alert.alert_web_url {
        msg.push_str(&format!("\nAlert: {u}\n"));
    }
    if let Some(u) = &alert.incident_web_url {
        msg.push_str(&format!("Incident: {u}\n"));
    }
    let msg = truncate(msg.trim_end(), MAX_MESSAGE_CHARS);

    let mut body = Map::new();
    let mut put = |k: &str, v: String| {
        if !v.is_empty() {
            body.insert(k.to_string(), Value::String(v));
        }
    };
    put("Title", truncate(&format!("[{sev}] {}", alert.title), 250));
    put("Message", msg);
    put("X-S4-ExternalID", external_id.clone());
    put("X-S4-Status", "new".into());
    put("X-S4-SourceSystem", opts.source_system.clone());
    if let Some(s) = &opts.service {
        put("X-S4-Service", s.clone());
    }
    if let Some(s) = opts.scenario_for(&alert.severity) {
        put("X-S4-AlertingScenario", s.to_string());
    }
    put("Severity", sev.clone());
    put("Product", product);
    put("Status", alert.status.as_str().to_string());
    put("Alert ID", alert.id.clone());
    put("Incident ID", alert.incident_id.clone().unwrap_or_default());
    put("Tenant", tenant.to_string());
    put("Detection source", alert.detection_source.clone());
    put("MITRE techniques", alert.mitre_techniques.join(", "));
    put("Devices", list(&ev.devices));
    put("Users", list(&ev.users));
    put("IPs", list(&ev.ips));
    put("Alert link", alert.alert_web_url.clone().unwrap_or_default());
    put("Incident link", alert.incident_web_url.clone().unwrap_or_default());
    Page { external_id, body }
}

/// Payload that closes the SIGNL4 alert previously raised with `external_id`.
pub fn resolve_payload(external_id: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("X-S4-ExternalID".into(), Value::String(external_id.into()));
    m.insert("X-S4-Status".into(), Value::String("resolved".into()));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::GraphAlert;
    use secrecy::SecretString;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn opts() -> Signl4Options {
        let mut scenario = BTreeMap::new();
        scenario.insert("high".to_string(), "emergency".to_string());
        Signl4Options {
            team_secret: SecretString::from("t"),
            service: Some("Security".into()),
            source_system: "signl4-sentinel".into(),
            scenario,
            inbound_token: None,
            api_key: None,
            api_poll_interval: std::time::Duration::from_secs(30),
            team_id: None,
        }
    }

    fn mde_alert() -> GraphAlert {
        GraphAlert::from_json(json!({
            "id": "da638_1", "lastUpdateDateTime": "2026-11-28T10:00:00Z",
            "title": "'Mimikatz' credential theft tool was detected",
            "severity": "high", "status": "new", "category": "CredentialAccess",
            "serviceSource": "microsoftDefenderForEndpoint", "detectionSource": "antivirus",
            "productName": "Microsoft Defender for Endpoint",
            "incidentId": "42",
            "description": "A credential theft tool was found on the device.",
            "recommendedActions": "Isolate the device.",
            "alertWebUrl": "https://security.microsoft.com/alerts/da638_1",
            "incidentWebUrl": "https://security.microsoft.com/incidents/42",
            "mitreTechniques": ["T1003", "T1003.001"],
            "evidence": [
                {"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "ws-042"},
                {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"userPrincipalName": "jdoe@contoso.com"}},
                {"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": {"fileName": "mimikatz.exe"}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn page_carries_everything_a_responder_needs() {
        let p = graph_alert_page("contoso", &mde_alert(), &opts());
        let b = &p.body;
        assert_eq!(p.external_id, "s4s:contoso:graph-alert:da638_1");
        assert_eq!(b["Title"], "[High] 'Mimikatz' credential theft tool was detected");
        assert_eq!(b["X-S4-ExternalID"], "s4s:contoso:graph-alert:da638_1");
        assert_eq!(b["X-S4-Status"], "new");
        assert_eq!(b["X-S4-Service"], "Security");
        assert_eq!(b["X-S4-SourceSystem"], "signl4-sentinel");
        assert_eq!(b["X-S4-AlertingScenario"], "emergency");
        assert_eq!(b["Devices"], "ws-042");
        assert_eq!(b["MITRE techniques"], "T1003, T1003.001");
        let m = b["Message"].as_str().unwrap();
        for needle in [
            "High severity · Microsoft Defender for Endpoint",
            "credential theft tool was found",
            "• Devices: ws-042",
            "• Users: jdoe@contoso.com",
            "• Files: mimikatz.exe",
            "MITRE ATT&CK: T1003, T1003.001",
            "Recommended actions:\nIsolate the device.",
            "Alert: https://security.microsoft.com/alerts/da638_1",
            "Incident: https://security.microsoft.com/incidents/42",
        ] {
            assert!(m.contains(needle), "missing {needle:?} in {m}");
        }
    }

    #[test]
    fn no_scenario_or_service_when_not_configured_and_no_empty_parameters() {
        let mut o = opts();
        o.service = None;
        let a =
            GraphAlert::from_json(json!({"id": "x", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "low"}))
                .unwrap();
        let p = graph_alert_page("t", &a, &o);
        assert!(!p.body.contains_key("X-S4-Service"));
        assert!(!p.body.contains_key("X-S4-AlertingScenario"));
        assert!(!p.body.contains_key("Devices"));
        assert!(p.body.values().all(|v| v.as_str().is_some_and(|s| !s.is_empty())));
    }

    #[test]
    fn long_text_is_truncated_visibly() {
        let a = GraphAlert::from_json(json!({"id": "x", "lastUpdateDateTime": "2026-11-28T10:00:00Z",
            "description": "é".repeat(10_000)}))
        .unwrap();
        let p = graph_alert_page("t", &a, &opts());
        let m = p.body["Message"].as_str().unwrap();
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS);
        assert!(m.ends_with("[truncated]"));
    }

    #[test]
    fn long_entity_lists_are_capped() {
        let items: Vec<String> = (0..12).map(|i| format!("h{i}")).collect();
        assert_eq!(list(&items), "h0, h1, h2, h3, h4, h5, h6, h7 (+4 more)");
    }

    #[test]
    fn resolve_payload_uses_the_same_external_id() {
        let p = resolve_payload("s4s:t:graph-alert:1");
        assert_eq!(Value::Object(p), json!({"X-S4-ExternalID": "s4s:t:graph-alert:1", "X-S4-Status": "resolved"}));
    }
}

#[cfg(test)]
mod properties {
    use crate::alert::GraphAlert;
    use crate::alert::properties::json_value;
    use proptest::prelude::*;

    proptest! {
        /// Whatever Microsoft sends, building the page of a parsed alert never panics.
        #[test]
        fn arbitrary_alerts_always_make_a_page(v in json_value()) {
            if let Ok(a) = GraphAlert::from_json(v) {
                    let opts = crate::config::Signl4Options {
                        team_secret: secrecy::SecretString::from("t"),
                        service: None,
                        source_system: "s".into(),
                        scenario: Default::default(),
                        inbound_token: None,
                        api_key: None,
                        api_poll_interval: std::time::Duration::from_secs(30),
                        team_id: None,
                    };
                    let p = crate::page::graph_alert_page("t", &a, &opts);
                    prop_assert_eq!(p.external_id, crate::ids::external_id("t", "graph-alert", &a.id));
            }
        }
    }
}

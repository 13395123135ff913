//! The page for a Microsoft Graph security alert ([`graph_alert_page`]).

use super::common::{Page, Params, list};
use crate::alert::GraphAlert;
use crate::config::Signl4Options;
use crate::ids;

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

    let mut p = Params::page(&external_id, &alert.severity, &alert.title, &msg, opts);
    p.put("Product", product);
    p.put("Status", alert.status.as_str().to_string());
    p.put("Alert ID", alert.id.clone());
    p.put("Incident ID", alert.incident_id.clone().unwrap_or_default());
    p.put("Tenant", tenant.to_string());
    p.put("Detection source", alert.detection_source.clone());
    p.put("MITRE techniques", alert.mitre_techniques.join(", "));
    p.put("Devices", list(&ev.devices));
    p.put("Users", list(&ev.users));
    p.put("IPs", list(&ev.ips));
    p.put("Alert link", alert.alert_web_url.clone().unwrap_or_default());
    p.put("Incident link", alert.incident_web_url.clone().unwrap_or_default());
    p.into_page(external_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signl4::payload::common::{MAX_MESSAGE_CHARS, test_options as opts};
    use serde_json::json;

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
                    plan: crate::budget::Signl4Plan::Commercial,
                    storm: crate::config::StormPolicy::default(),
                    group: crate::config::GroupBy::Alert,
                    quiet: None,
                    verify: true,
                    fallback: Default::default(),
                };
                let p = super::graph_alert_page("t", &a, &opts);
                prop_assert_eq!(p.external_id, crate::ids::external_id("t", "graph-alert", &a.id));
            }
        }
    }
}

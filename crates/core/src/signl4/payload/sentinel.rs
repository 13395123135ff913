//! The pages for Microsoft Sentinel: one per incident ([`incident_page`]) or one per alert ([`alert_page`]).

use serde_json::Value;

use super::common::{MAX_LIST, MAX_MESSAGE_CHARS, Page, Params, list, title, truncate};
use crate::config::{SentinelConfig, Signl4Options};
use crate::sentinel::model::{Enrichment, Incident, SentinelAlert, alert_source, source};

/// One page for a Sentinel incident with its alerts (default mode).
pub fn incident_page(
    tenant: &str,
    ws: &SentinelConfig,
    inc: &Incident,
    alerts: &[SentinelAlert],
    enrichment: &Enrichment,
    opts: &Signl4Options,
) -> Page {
    let external_id = crate::ids::external_id(tenant, &source(&ws.name), &inc.name);
    let sev = inc.severity.label();
    let number = inc.number.as_deref().map(|n| format!("#{n} ")).unwrap_or_default();
    let mut msg = format!("{sev} severity · Microsoft Sentinel incident {number}· workspace {}\n", ws.workspace_name);
    msg.push_str(&format!("Owner: {}\n", inc.owner.as_deref().unwrap_or("unassigned")));
    if !inc.description.is_empty() {
        msg.push_str(&format!("\n{}\n", inc.description.trim()));
    }
    if !alerts.is_empty() {
        msg.push_str(&format!("\nAlerts ({}):\n", alerts.len()));
        for a in alerts.iter().take(MAX_LIST) {
            let entity = a.compromised_entity.as_deref().map(|e| format!(" — {e}")).unwrap_or_default();
            msg.push_str(&format!("• [{}] {} ({}){entity}\n", a.severity.label(), a.name, a.product));
        }
        if alerts.len() > MAX_LIST {
            msg.push_str(&format!("• +{} more\n", alerts.len() - MAX_LIST));
        }
        let mut tactics: Vec<String> = Vec::new();
        for t in alerts.iter().flat_map(|a| a.tactics.iter().chain(a.techniques.iter())) {
            if !tactics.contains(t) {
                tactics.push(t.clone());
            }
        }
        if !tactics.is_empty() {
            msg.push_str(&format!("\nMITRE ATT&CK: {}\n", list(&tactics)));
        }
    }
    match enrichment {
        Enrichment::Results(r) => msg.push_str(&format!("\nRule query results:\n{r}\n")),
        Enrichment::Pending => {
            msg.push_str("\nRule query results: still running; they will be added to the incident as a comment.\n")
        }
        Enrichment::Failed(e) => msg.push_str(&format!("\nRule query results unavailable: {e}\n")),
        Enrichment::None => {}
    }
    if let Some(u) = inc.portal_link() {
        msg.push_str(&format!("\nIncident: {u}\n"));
    }
    let mut p = Params::page(&external_id, &inc.severity, &format!("{number}{}", inc.title), &msg, opts);
    p.put("Product", "Microsoft Sentinel".into());
    p.put("Incident number", inc.number.clone().unwrap_or_default());
    p.put("Incident ID", inc.name.clone());
    p.put("Workspace", ws.workspace_name.clone());
    p.put("Tenant", tenant.to_string());
    p.put("Alerts", alerts.len().to_string());
    p.put("Incident link", inc.portal_link().unwrap_or_default());
    p.put("Azure portal link", inc.azure_portal_link().unwrap_or_default());
    p.into_page(external_id)
}

/// One page for a single alert of an incident (`page_per = "alert"`): the incident page with
/// the alert's title, id and description first.
pub fn alert_page(
    tenant: &str,
    ws: &SentinelConfig,
    inc: &Incident,
    alert: &SentinelAlert,
    enrichment: &Enrichment,
    opts: &Signl4Options,
) -> Page {
    let mut p = incident_page(tenant, ws, inc, std::slice::from_ref(alert), enrichment, opts);
    let external_id = crate::ids::external_id(tenant, &alert_source(&ws.name), &alert.system_alert_id);
    let sev = alert.severity.label();
    let mut head = format!(
        "{sev} severity · {} · Sentinel incident {}\n",
        alert.product,
        inc.number.as_deref().map(|n| format!("#{n}")).unwrap_or_else(|| inc.name.clone())
    );
    if !alert.description.is_empty() {
        head.push_str(&format!("\n{}\n", alert.description.trim()));
    }
    if !alert.remediation.is_empty() {
        head.push_str(&format!("\nRecommended actions:\n{}\n", alert.remediation.join("\n")));
    }
    let rest = p.body.get("Message").and_then(Value::as_str).unwrap_or("").to_string();
    p.body.insert("Message".into(), Value::String(truncate(&format!("{head}\n{rest}"), MAX_MESSAGE_CHARS)));
    p.body.insert("Title".into(), Value::String(title(&sev, &alert.name)));
    p.body.insert("X-S4-ExternalID".into(), Value::String(external_id.clone()));
    p.body.insert("Alert ID".into(), Value::String(alert.system_alert_id.clone()));
    p.external_id = external_id;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentinel::model::tests::{INCIDENT, ws};
    use crate::signl4::payload::common::test_options;
    use serde_json::json;

    /// The documented incident, still `New`.
    fn new_incident() -> Incident {
        let mut raw: Value = serde_json::from_str(INCIDENT).unwrap();
        raw["properties"]["status"] = json!("New");
        Incident::from_json(raw).unwrap()
    }

    #[test]
    fn incident_page_is_readable() {
        let inc = new_incident();
        let alert = SentinelAlert::from_json(json!({"properties": {"systemAlertId": "a1", "alertDisplayName": "Brute force", "productName": "Azure Sentinel", "severity": "High", "compromisedEntity": "megan@contoso.com", "tactics": ["CredentialAccess"]}})).unwrap();
        let opts = test_options();
        let p = incident_page("contoso", &ws(), &inc, &[alert], &Enrichment::Results("1. User=alice".into()), &opts);
        assert_eq!(p.external_id, "s4s:contoso:sentinel.prod:73e01a99-5cd7-4139-a149-9f2736ff2ab5");
        assert_eq!(p.body["Title"], "[High] #3177 My incident");
        let m = p.body["Message"].as_str().unwrap();
        for needle in [
            "Microsoft Sentinel incident #3177",
            "Owner: john doe",
            "• [High] Brute force (Azure Sentinel) — megan@contoso.com",
            "MITRE ATT&CK: CredentialAccess",
            "Rule query results:\n1. User=alice",
            "Incident: https://portal.azure.com",
        ] {
            assert!(m.contains(needle), "missing {needle:?} in {m}");
        }
    }

    #[test]
    fn onboarded_incidents_link_to_the_defender_portal() {
        let mut raw: Value = serde_json::from_str(INCIDENT).unwrap();
        raw["properties"]["providerName"] = json!("Microsoft XDR");
        raw["properties"]["providerIncidentId"] = json!("4711");
        let inc = Incident::from_json(raw.clone()).unwrap();
        let p = incident_page("contoso", &ws(), &inc, &[], &Enrichment::None, &test_options());
        assert_eq!(p.body["Incident link"], "https://security.microsoft.com/incidents/4711");
        assert!(p.body["Azure portal link"].as_str().unwrap().starts_with("https://portal.azure.com"));
        assert!(
            p.body["Message"].as_str().unwrap().contains("Incident: https://security.microsoft.com/incidents/4711")
        );
        // The service's own Defender link wins.
        raw["properties"]["additionalData"]["providerIncidentUrl"] =
            json!("https://security.microsoft.com/incidents/4711?tid=t1");
        let inc = Incident::from_json(raw).unwrap();
        assert_eq!(inc.portal_link().as_deref(), Some("https://security.microsoft.com/incidents/4711?tid=t1"));
        // Not onboarded: the incident's own link, no second one.
        let p = incident_page("contoso", &ws(), &new_incident(), &[], &Enrichment::None, &test_options());
        assert!(p.body["Incident link"].as_str().unwrap().starts_with("https://portal.azure.com"));
        assert!(!p.body.contains_key("Azure portal link"));
    }

    #[test]
    fn alert_page_leads_with_the_alert_and_keeps_the_incident_context() {
        let inc = new_incident();
        let alert = SentinelAlert::from_json(json!({"properties": {"systemAlertId": "a1", "alertDisplayName": "Brute force", "productName": "Azure Sentinel", "severity": "Medium", "description": "Many failed sign-ins.", "remediationSteps": ["Reset the password."]}})).unwrap();
        let p = alert_page("contoso", &ws(), &inc, &alert, &Enrichment::None, &test_options());
        assert_eq!(p.external_id, "s4s:contoso:sentinel-alert.prod:a1");
        assert_eq!(p.body["X-S4-ExternalID"], "s4s:contoso:sentinel-alert.prod:a1");
        assert_eq!(p.body["Title"], "[Medium] Brute force");
        assert_eq!(p.body["Alert ID"], "a1");
        assert_eq!(p.body["Incident ID"], "73e01a99-5cd7-4139-a149-9f2736ff2ab5");
        let m = p.body["Message"].as_str().unwrap();
        assert!(
            m.starts_with("Medium severity · Azure Sentinel · Sentinel incident #3177\n\nMany failed sign-ins.\n"),
            "{m}"
        );
        assert!(m.contains("Recommended actions:\nReset the password."));
        assert!(m.contains("High severity · Microsoft Sentinel incident #3177"), "the incident part follows: {m}");
    }
}

//! The Sentinel model: incidents, alerts (ARM, `microsoft-apis.md` §3), rule queries (§4.6), incident PUTs, comment ids.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::alert::{AlertStatus, Severity};
use crate::config::SentinelConfig;
use crate::sync::AlertSync;
use crate::text::truncate;
use crate::timefmt;

/// Store source for a workspace's incidents (`sentinel.<workspace name>`).
/// The Microsoft Defender portal hosts (commercial and GCC, GCC High, DoD).
pub const DEFENDER_HOSTS: [&str; 3] = ["security.microsoft.com", "security.microsoft.us", "security.apps.mil"];

/// `link` parsed, when it is an `https` link to a Defender portal host (exactly, or a
/// subdomain of one: compared on the parsed host, never as a text prefix).
pub fn defender_url(link: &str) -> Option<url::Url> {
    let u = url::Url::parse(link).ok()?;
    let host = u.host_str()?;
    (u.scheme() == "https" && DEFENDER_HOSTS.iter().any(|d| crate::origin::host_is_or_under(host, d))).then_some(u)
}

pub fn source(workspace: &str) -> String {
    crate::source::SourceId::SentinelIncident(workspace.into()).to_string()
}

/// Store source for a workspace's alerts in per-alert mode.
pub fn alert_source(workspace: &str) -> String {
    crate::source::SourceId::SentinelAlert(workspace.into()).to_string()
}

fn s(v: &Value, ptr: &str) -> Option<String> {
    match v.pointer(ptr) {
        Some(Value::String(x)) if !x.is_empty() => Some(x.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A Sentinel incident as listed / read from ARM.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Resource name (GUID).
    pub name: String,
    pub number: Option<String>,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    /// `New`, `Active`, `Closed` (or unknown).
    pub status: String,
    pub owner: Option<String>,
    pub url: Option<String>,
    /// The Defender XDR (= Graph security) incident this Sentinel incident mirrors, for a
    /// workspace onboarded to the Defender portal: [`Incident::xdr_incident_id`].
    pub xdr_id: Option<String>,
    pub last_modified: OffsetDateTime,
    pub raw: Value,
}

impl Incident {
    pub fn from_json(raw: Value) -> Option<Incident> {
        let name = s(&raw, "/name")?;
        let last_modified = s(&raw, "/properties/lastModifiedTimeUtc").and_then(|t| timefmt::parse(&t))?;
        Some(Incident {
            number: s(&raw, "/properties/incidentNumber"),
            title: s(&raw, "/properties/title").unwrap_or_else(|| "(untitled incident)".into()),
            description: s(&raw, "/properties/description").unwrap_or_default(),
            severity: Severity::parse(&s(&raw, "/properties/severity").unwrap_or_default()),
            status: s(&raw, "/properties/status").unwrap_or_default(),
            owner: s(&raw, "/properties/owner/assignedTo")
                .or_else(|| s(&raw, "/properties/owner/email"))
                .or_else(|| s(&raw, "/properties/owner/userPrincipalName")),
            url: s(&raw, "/properties/incidentUrl"),
            xdr_id: Incident::xdr_incident_id(&raw),
            name,
            last_modified,
            raw,
        })
    }

    /// The Graph / Defender XDR incident id of a Defender-synced Sentinel incident:
    /// `providerIncidentId` when `providerName` names Defender ("Microsoft XDR", "Microsoft 365
    /// Defender", `microsoft-apis.md` §3.3), else the id in a Defender-portal
    /// `additionalData.providerIncidentUrl` (`…/incidents/{id}`). The exact mapping is an open
    /// point (§8), so both readings are accepted; a Sentinel-native incident ("Azure Sentinel",
    /// whose `providerIncidentId` is its own number) has none.
    pub fn xdr_incident_id(raw: &Value) -> Option<String> {
        let p = raw.get("properties")?;
        let provider = s(p, "/providerName").unwrap_or_default().to_ascii_lowercase();
        if (provider.contains("xdr") || provider.contains("defender"))
            && let Some(id) = s(p, "/providerIncidentId").filter(|i| !i.trim().is_empty())
        {
            return Some(id.trim().to_string());
        }
        let url = s(p, "/additionalData/providerIncidentUrl")?;
        let u = defender_url(&url)?;
        let mut seg = u.path_segments()?.skip_while(|x| !x.eq_ignore_ascii_case("incidents")).skip(1);
        seg.next()
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .map(str::to_string)
    }

    /// The link a responder should open: the Defender portal when the incident is there
    /// (`additionalData.providerIncidentUrl`, or a Defender XDR incident id with
    /// `providerName` "Microsoft XDR" / "Microsoft 365 Defender"), else `incidentUrl`. The
    /// Azure portal experience of Sentinel retires on 2027-03-31 (`microsoft-apis.md` §8a).
    pub fn portal_link(&self) -> Option<String> {
        let p = self.raw.get("properties");
        // Links from the service are checked on their parsed host, exactly or as a subdomain
        // (`security.microsoft.evil.com` is not Defender's); anything else is not linked.
        if let Some(u) =
            p.and_then(|p| s(p, "/additionalData/providerIncidentUrl")).filter(|u| defender_url(u).is_some())
        {
            return Some(u);
        }
        if let Some(u) = self.url.as_ref().filter(|u| defender_url(u).is_some()) {
            return Some(u.clone());
        }
        let provider = p.and_then(|p| s(p, "/providerName")).unwrap_or_default().to_ascii_lowercase();
        if (provider.contains("xdr") || provider.contains("365 defender"))
            && let Some(id) = p.and_then(|p| s(p, "/providerIncidentId"))
        {
            // National clouds have their own Defender host: keep theirs when the URL shows it.
            let us =
                self.url.as_deref().and_then(|u| url::Url::parse(u).ok()).is_some_and(|u| {
                    u.host_str().is_some_and(|h| crate::origin::host_is_or_under(h, "portal.azure.us"))
                });
            let host = if us { "security.microsoft.us" } else { "security.microsoft.com" };
            let mut link = url::Url::parse(&format!("https://{host}/incidents")).ok()?;
            link.path_segments_mut().ok()?.push(id.trim());
            return Some(link.to_string());
        }
        self.url.clone().filter(|u| url::Url::parse(u).is_ok_and(|u| u.scheme() == "https"))
    }

    /// The Azure portal link when the page links to the Defender portal instead (until the
    /// Azure portal experience retires).
    pub fn azure_portal_link(&self) -> Option<String> {
        self.url.clone().filter(|u| self.portal_link().as_deref() != Some(u.as_str()))
    }

    /// The incident status in Graph-alert terms, for the shared portal-change decision.
    pub fn as_alert_status(&self) -> AlertStatus {
        sentinel_status(&self.status)
    }

    pub fn version(&self) -> String {
        timefmt::odata(self.last_modified)
    }
}

pub fn sentinel_status(s: &str) -> AlertStatus {
    match s {
        "New" => AlertStatus::New,
        "Active" => AlertStatus::InProgress,
        "Closed" => AlertStatus::Resolved,
        other => AlertStatus::Other(other.to_string()),
    }
}

/// A SecurityAlert entity of an incident (`POST …/incidents/{id}/alerts`).
#[derive(Debug, Clone, PartialEq)]
pub struct SentinelAlert {
    pub system_alert_id: String,
    pub name: String,
    pub product: String,
    pub severity: Severity,
    pub description: String,
    pub compromised_entity: Option<String>,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub remediation: Vec<String>,
    pub additional_data: Value,
    pub raw: Value,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

impl SentinelAlert {
    pub fn from_json(raw: Value) -> Option<SentinelAlert> {
        let p = raw.get("properties")?;
        Some(SentinelAlert {
            system_alert_id: s(p, "/systemAlertId").or_else(|| s(&raw, "/name"))?,
            name: s(p, "/alertDisplayName")
                .or_else(|| s(p, "/friendlyName"))
                .unwrap_or_else(|| "(unnamed alert)".into()),
            product: s(p, "/productName").unwrap_or_else(|| "Microsoft Sentinel".into()),
            severity: Severity::parse(&s(p, "/severity").unwrap_or_default()),
            description: s(p, "/description").unwrap_or_default(),
            compromised_entity: s(p, "/compromisedEntity"),
            tactics: strings(p.get("tactics")),
            techniques: strings(p.get("techniques")),
            remediation: strings(p.get("remediationSteps")),
            additional_data: p.get("additionalData").cloned().unwrap_or(Value::Null),
            raw,
        })
    }
}

/// The analytics rule's query and window, from an alert's `additionalData` or the
/// `SecurityAlert.ExtendedProperties` JSON string (§4.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleQuery {
    pub query: String,
    /// `start/end` as ISO 8601, for the query API's `timespan`.
    pub timespan: Option<String>,
    /// `Search Query Results Overall Count`, when the rule recorded it.
    pub overall_count: Option<u64>,
}

/// Parses `"2023-07-24 15:23:59Z"` (space, not `T`) and ISO forms.
pub fn parse_rule_time(s: &str) -> Option<OffsetDateTime> {
    timefmt::parse(&s.trim().replacen(' ', "T", 1))
}

pub fn rule_query(extended: &Value) -> Option<RuleQuery> {
    // ExtendedProperties may arrive as a JSON-encoded string.
    let owned;
    let v = match extended {
        Value::String(text) => {
            owned = serde_json::from_str::<Value>(text).ok()?;
            &owned
        }
        other => other,
    };
    let query = v.get("Query").and_then(Value::as_str).filter(|q| !q.trim().is_empty())?.to_string();
    let t = |k: &str| v.get(k).and_then(Value::as_str).and_then(parse_rule_time);
    let timespan = match (t("Query Start Time UTC"), t("Query End Time UTC")) {
        (Some(a), Some(b)) => Some(format!("{}/{}", timefmt::odata(a), timefmt::odata(b))),
        _ => None,
    };
    let overall_count = v.get("Search Query Results Overall Count").and_then(|c| match c {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    });
    Some(RuleQuery { query, timespan, overall_count })
}

/// What enrichment produced for a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrichment {
    /// Not a scheduled / NRT rule alert, or enrichment disabled.
    None,
    Results(String),
    /// The time budget ran out; results follow as an incident comment.
    Pending,
    Failed(String),
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "∅".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders the first `max_rows` rows of a Log Analytics response readably. `partial` is the
/// `PartialError` message, if the service flagged one.
pub fn render_results(resp: &Value, max_rows: usize, overall: Option<u64>) -> String {
    let Some(table) = resp.get("tables").and_then(Value::as_array).and_then(|t| t.first()) else {
        return "no results".into();
    };
    let cols: Vec<String> = table
        .get("columns")
        .and_then(Value::as_array)
        .map(|c| c.iter().map(|x| x.get("name").and_then(Value::as_str).unwrap_or("?").to_string()).collect())
        .unwrap_or_default();
    let rows = table.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = String::new();
    for (i, row) in rows.iter().take(max_rows).enumerate() {
        let cells: Vec<String> = row
            .as_array()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(j, c)| {
                        format!("{}={}", cols.get(j).map(String::as_str).unwrap_or("?"), truncate(&cell(c), 120))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!("{}. {}\n", i + 1, cells.join(", ")));
    }
    let total = overall.unwrap_or(rows.len() as u64).max(rows.len() as u64);
    if rows.is_empty() {
        out.push_str("query returned no rows\n");
    } else if (rows.len().min(max_rows) as u64) < total {
        out.push_str(&format!("(showing {} of {} rows)\n", rows.len().min(max_rows), total));
    }
    if let Some(e) = resp.get("error").filter(|e| !e.is_null()) {
        let code = e.get("code").and_then(Value::as_str).unwrap_or("error");
        let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
        out.push_str(&format!("⚠ partial results ({code}: {msg})\n"));
    }
    out.trim_end().to_string()
}

/// A stable GUID-shaped id derived from text: client-chosen comment ids make retries
/// idempotent (a second PUT of the same id updates, never duplicates).
pub fn comment_id(text: &str) -> String {
    // Two FNV-1a 64-bit hashes with different offsets → 128 bits.
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let a = fnv(0xcbf2_9ce4_8422_2325);
    let b = fnv(0x8422_2325_cbf2_9ce4);
    let h = format!("{a:016x}{b:016x}");
    // `h` is 32 ASCII hex digits: every range below is in bounds and on a char boundary.
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or_default();
    format!("{}-{}-4{}-8{}-{}", part(0..8), part(8..12), part(13..16), part(17..20), part(20..32))
}

/// Read-modify-write: the PUT body that applies `intent` to the incident as read (`current`,
/// with its etag), or None when nothing changes. Everything else in the incident — owner set
/// by people, labels, description — is carried over unchanged.
pub fn incident_put(current: &Value, intent: &AlertSync, ws: &SentinelConfig, label: Option<&str>) -> Option<Value> {
    let mut props = current.get("properties").cloned().unwrap_or_else(|| json!({}));
    let p = props.as_object_mut()?;
    let mut changed = false;
    let cur_status = p.get("status").and_then(Value::as_str).unwrap_or("New").to_string();
    match intent.status.as_deref() {
        Some("inProgress") if cur_status == "New" => {
            p.insert("status".into(), json!("Active"));
            changed = true;
        }
        Some("resolved") if cur_status != "Closed" => {
            p.insert("status".into(), json!("Closed"));
            p.insert("classification".into(), json!(ws.close_classification));
            match &ws.close_classification_reason {
                Some(r) => p.insert("classificationReason".into(), json!(r)),
                None => p.remove("classificationReason"),
            };
            if let Some(c) = intent.comments.iter().rev().find(|c| c.text.starts_with("Closed in SIGNL4")) {
                p.insert("classificationComment".into(), json!(c.text));
            }
            changed = true;
        }
        _ => {}
    }
    if let Some(owner) = &intent.assigned_to {
        let unassigned = p
            .get("owner")
            .map(|o| {
                ["assignedTo", "email", "userPrincipalName", "objectId"]
                    .iter()
                    .all(|k| o.get(*k).is_none_or(Value::is_null))
            })
            .unwrap_or(true);
        if unassigned
            && (p.get("status").and_then(Value::as_str) != Some("Closed")
                || intent.status.as_deref() == Some("resolved"))
        {
            p.insert(
                "owner".into(),
                json!({"email": owner, "userPrincipalName": owner, "assignedTo": owner, "ownerType": "User"}),
            );
            changed = true;
        }
    }
    if let Some(l) = label {
        let labels = p.entry("labels").or_insert_with(|| json!([]));
        if let Some(arr) = labels.as_array_mut()
            && !arr
                .iter()
                .any(|x| x.get("labelName").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(l)))
        {
            arr.push(json!({"labelName": l, "labelType": "User"}));
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    // Read-only properties are ignored by the service; the etag makes the write conditional.
    Some(json!({"etag": current.get("etag").cloned().unwrap_or(Value::Null), "properties": props}))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sync::SyncComment;

    #[test]
    fn defender_links_are_matched_on_the_exact_host_or_a_dotted_suffix() {
        for ok in [
            "https://security.microsoft.com/incidents/1",
            "https://SECURITY.microsoft.com/incidents/1",
            "https://security.microsoft.us/incidents/1",
            "https://eu.security.microsoft.com/incidents/1",
        ] {
            assert!(defender_url(ok).is_some(), "{ok}");
        }
        for bad in [
            "https://security.microsoft.evil.com/incidents/1",
            "https://security.microsoft.com.evil.com/incidents/1",
            "https://evilsecurity.microsoft.com/incidents/1",
            "https://evil.com/security.microsoft.com/incidents/1",
            "https://security.microsoft.com@evil.com/incidents/1",
            "http://security.microsoft.com/incidents/1",
            "javascript:alert('security.microsoft.com')",
        ] {
            assert!(defender_url(bad).is_none(), "{bad}");
        }
        let inc = |add: Value, url: &str| {
            Incident::from_json(json!({"name": "n", "properties": {"additionalData": add, "incidentUrl": url,
                "lastModifiedTimeUtc": "2026-11-28T10:00:00Z"}}))
            .unwrap()
        };
        let azure = "https://portal.azure.com/#asset/x";
        // A provider link on a look-alike host is not used; the incident's own link is.
        let i = inc(json!({"providerIncidentUrl": "https://security.microsoft.evil.com/incidents/7"}), azure);
        assert_eq!(i.portal_link().as_deref(), Some(azure));
        assert_eq!(Incident::xdr_incident_id(&i.raw), None);
        let i = inc(json!({"providerIncidentUrl": "https://security.microsoft.com/incidents/7"}), azure);
        assert_eq!(i.portal_link().as_deref(), Some("https://security.microsoft.com/incidents/7"));
        // An incident link that is not https is not linked at all.
        let i = inc(json!({}), "javascript:alert(1)");
        assert_eq!(i.portal_link(), None);
    }

    pub(crate) fn ws() -> SentinelConfig {
        SentinelConfig {
            name: "prod".into(),
            subscription_id: "s".into(),
            resource_group: "rg".into(),
            workspace_name: "soc-ws".into(),
            workspace_id: Some("w".into()),
            api_version: "2025-12-01".into(),
            statuses: vec!["New".into()],
            min_severity: Severity::Low,
            page_per: crate::config::PagePer::Incident,
            close_classification: "TruePositive".into(),
            close_classification_reason: Some("SuspiciousActivity".into()),
            label: Some("SIGNL4".into()),
            enrichment_enabled: true,
            enrichment_rows: 2,
            enrichment_budget: std::time::Duration::from_secs(10),
            comment_recheck: std::time::Duration::from_secs(300),
        }
    }

    /// Verbatim response of the 2025-12-01 spec example (§3.5).
    pub(crate) const INCIDENT: &str = r#"{
      "id": "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5",
      "name": "73e01a99-5cd7-4139-a149-9f2736ff2ab5",
      "type": "Microsoft.SecurityInsights/incidents",
      "etag": "\"0300bf09-0000-0000-0000-5c37296e0001\"",
      "properties": {
        "lastModifiedTimeUtc": "2019-01-01T13:15:30Z",
        "createdTimeUtc": "2019-01-01T13:15:30Z",
        "lastActivityTimeUtc": "2019-01-01T13:05:30Z",
        "firstActivityTimeUtc": "2019-01-01T13:00:30Z",
        "description": "This is a demo incident",
        "title": "My incident",
        "owner": {
          "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
          "email": "john.doe@contoso.com",
          "userPrincipalName": "john@contoso.com",
          "assignedTo": "john doe"
        },
        "severity": "High",
        "classification": "FalsePositive",
        "classificationComment": "Not a malicious activity",
        "classificationReason": "IncorrectAlertLogic",
        "status": "Closed",
        "incidentUrl": "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5",
        "incidentNumber": 3177,
        "labels": [],
        "providerName": "Azure Sentinel",
        "providerIncidentId": "3177",
        "relatedAnalyticRuleIds": [],
        "additionalData": {
          "alertsCount": 0,
          "bookmarksCount": 0,
          "commentsCount": 3,
          "alertProductNames": [],
          "tactics": []
        }
      }
    }"#;

    /// Verbatim ExtendedProperties cell (§4.6).
    const EXTENDED: &str = r#"{"Query Period":"05:00:00","Trigger Operator":"GreaterThan","Trigger Threshold":"0","Correlation Id":"5ebca6d9-f72d-45b5-b9e3-118c6a8d56c8","Search Query Results Overall Count":"12","Data Sources":"[\"swimlaneazuresentinel\"]","Query":"// The query_now parameter represents the time (in UTC) at which the scheduled analytics rule ran to produce this alert.\nset query_now = datetime(2023-07-24T20:23:59.1070000Z);\nunion AzureActivity","Query Start Time UTC":"2023-07-24 15:23:59Z","Query End Time UTC":"2023-07-24 20:24:00Z","Analytic Rule Ids":"[\"8a0d8e78-58a9-4d66-af3a-b054778b4aa2\"]","Event Grouping":"SingleAlert","Analytic Rule Name":"Sentinel Test alert","ProcessedBySentinel":"True","Alert generation status":"Full alert created"}"#;

    #[test]
    fn parses_the_documented_incident() {
        let i = Incident::from_json(serde_json::from_str(INCIDENT).unwrap()).unwrap();
        assert_eq!(i.name, "73e01a99-5cd7-4139-a149-9f2736ff2ab5");
        assert_eq!(i.number.as_deref(), Some("3177"));
        assert_eq!(i.severity, Severity::High);
        assert_eq!(i.owner.as_deref(), Some("john doe"));
        assert_eq!(i.as_alert_status(), AlertStatus::Resolved);
    }

    #[test]
    fn rule_query_from_extended_properties_string() {
        let q = rule_query(&Value::String(EXTENDED.into())).unwrap();
        assert!(q.query.ends_with("union AzureActivity"));
        assert_eq!(q.timespan.as_deref(), Some("2023-07-24T15:23:59.0000000Z/2023-07-24T20:24:00.0000000Z"));
        assert_eq!(q.overall_count, Some(12));
        assert!(rule_query(&json!({"Query Period": "05:00:00"})).is_none());
        assert!(rule_query(&json!("not json")).is_none());
    }

    #[test]
    fn results_are_capped_and_partial_errors_flagged() {
        let resp = json!({"tables": [{"name": "PrimaryResult", "columns": [{"name": "User", "type": "string"}, {"name": "Failures", "type": "long"}],
            "rows": [["alice", 31], ["bob", 25], ["carol", null]]}],
            "error": {"code": "PartialError", "message": "query result truncated"}});
        let r = render_results(&resp, 2, Some(12));
        assert_eq!(
            r,
            "1. User=alice, Failures=31\n2. User=bob, Failures=25\n(showing 2 of 12 rows)\n⚠ partial results (PartialError: query result truncated)"
        );
        assert_eq!(
            render_results(&json!({"tables": [{"columns": [], "rows": []}]}), 5, None),
            "query returned no rows"
        );
    }

    #[test]
    fn read_modify_write_keeps_what_people_set() {
        let mut cur: Value = serde_json::from_str(INCIDENT).unwrap();
        cur["properties"]["status"] = json!("New");
        cur["properties"]["labels"] = json!([{"labelName": "VIP", "labelType": "User"}]);
        let ack = AlertSync {
            alert_id: "x".into(),
            status: Some("inProgress".into()),
            assigned_to: Some("rene@contoso.com".into()),
            ..Default::default()
        };
        let put = incident_put(&cur, &ack, &ws(), Some("SIGNL4")).unwrap();
        assert_eq!(put["etag"], cur["etag"]);
        assert_eq!(put["properties"]["status"], "Active");
        assert_eq!(put["properties"]["owner"]["assignedTo"], "john doe", "an owner set by a person is kept");
        assert_eq!(
            put["properties"]["labels"],
            json!([{"labelName": "VIP", "labelType": "User"}, {"labelName": "SIGNL4", "labelType": "User"}])
        );
        assert_eq!(put["properties"]["description"], "This is a demo incident");
        let close = AlertSync {
            status: Some("resolved".into()),
            comments: vec![SyncComment::new("close:1", "Closed in SIGNL4 by rene.".into())],
            ..ack.clone()
        };
        let put = incident_put(&cur, &close, &ws(), None).unwrap();
        assert_eq!(put["properties"]["status"], "Closed");
        assert_eq!(put["properties"]["classification"], "TruePositive");
        assert_eq!(put["properties"]["classificationReason"], "SuspiciousActivity");
        // Nothing to do → no write.
        let mut done = cur.clone();
        done["properties"]["status"] = json!("Active");
        done["properties"]["labels"] = json!([{"labelName": "signl4"}]);
        assert!(incident_put(&done, &ack, &ws(), Some("SIGNL4")).is_none());
        // Unassigned → the responder becomes the owner.
        let mut free = cur.clone();
        free["properties"]["owner"] =
            json!({"objectId": null, "email": null, "assignedTo": null, "userPrincipalName": null});
        let put = incident_put(&free, &ack, &ws(), None).unwrap();
        assert_eq!(put["properties"]["owner"]["email"], "rene@contoso.com");
    }

    #[test]
    fn comment_ids_are_stable_guids() {
        let a = comment_id("[SIGNL4 note:n1]");
        assert_eq!(a, comment_id("[SIGNL4 note:n1]"));
        assert_ne!(a, comment_id("[SIGNL4 note:n2]"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.get(14..15), Some("4"));
    }
}

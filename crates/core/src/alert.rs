//! The Graph Security `alert` (alerts_v2) resource, read leniently.
//!
//! Facts: `../shared/reference/microsoft-apis.md` §2.2. Microsoft adds enum members and
//! properties over time ("evolvable enums"), so only `id` and `lastUpdateDateTime` are
//! required; every other field is optional, unknown enum values are kept as strings, and the
//! raw JSON is kept verbatim so nothing is lost.

use serde_json::Value;
use time::OffsetDateTime;

use crate::timefmt;

/// Alert severity. Unknown or future values are kept, never rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    /// `unknown`, `unknownFutureValue` or a value this version does not know.
    Other(String),
}

impl Default for Severity {
    /// Unknown (ranks as high: never filtered out by a minimum).
    fn default() -> Severity {
        Severity::Other(String::new())
    }
}

impl Severity {
    pub fn parse(s: &str) -> Severity {
        match s.to_ascii_lowercase().as_str() {
            "informational" => Severity::Informational,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            _ => Severity::Other(s.to_string()),
        }
    }

    /// Rank for threshold comparisons. Unknown severities rank as `high`: an alert whose
    /// severity we cannot read must never be silently filtered out.
    pub fn rank(&self) -> u8 {
        match self {
            Severity::Informational => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High | Severity::Other(_) => 3,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Severity::Informational => "Informational".into(),
            Severity::Low => "Low".into(),
            Severity::Medium => "Medium".into(),
            Severity::High => "High".into(),
            Severity::Other(s) if s.is_empty() => "Unknown".into(),
            Severity::Other(s) => s.clone(),
        }
    }

    /// Lower-case key used in configuration (`scenario.high = "emergency"`).
    pub fn key(&self) -> &str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Other(_) => "unknown",
        }
    }
}

/// Alert status (`alertStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertStatus {
    New,
    InProgress,
    Resolved,
    Other(String),
}

impl AlertStatus {
    pub fn parse(s: &str) -> AlertStatus {
        match s.to_ascii_lowercase().as_str() {
            "new" => AlertStatus::New,
            "inprogress" => AlertStatus::InProgress,
            "resolved" => AlertStatus::Resolved,
            _ => AlertStatus::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::InProgress => "inProgress",
            AlertStatus::Resolved => "resolved",
            AlertStatus::Other(s) => s,
        }
    }
}

/// What the evidence of an alert names, deduplicated and in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceSummary {
    pub devices: Vec<String>,
    pub users: Vec<String>,
    pub ips: Vec<String>,
    pub files: Vec<String>,
    pub processes: Vec<String>,
    pub urls: Vec<String>,
    pub mailboxes: Vec<String>,
    pub cloud_resources: Vec<String>,
    /// Evidence items of types this version does not summarise.
    pub other: usize,
}

impl EvidenceSummary {
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
            && self.users.is_empty()
            && self.ips.is_empty()
            && self.files.is_empty()
            && self.processes.is_empty()
            && self.urls.is_empty()
            && self.mailboxes.is_empty()
            && self.cloud_resources.is_empty()
            && self.other == 0
    }
}

/// A Graph Security alert, with the raw JSON kept alongside the fields we use.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphAlert {
    pub id: String,
    pub title: String,
    pub description: String,
    pub recommended_actions: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub service_source: String,
    pub detection_source: String,
    pub product_name: Option<String>,
    pub category: Option<String>,
    pub incident_id: Option<String>,
    pub alert_web_url: Option<String>,
    pub incident_web_url: Option<String>,
    pub mitre_techniques: Vec<String>,
    pub assigned_to: Option<String>,
    pub tenant_id: Option<String>,
    pub created: Option<OffsetDateTime>,
    pub last_update: OffsetDateTime,
    pub evidence: EvidenceSummary,
    pub raw: Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlertParseError {
    #[error("alert is not a JSON object")]
    NotAnObject,
    #[error("alert has no string `id`")]
    MissingId,
    #[error("alert {id} has no valid `lastUpdateDateTime`")]
    MissingLastUpdate { id: String },
}

fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn push_unique(list: &mut Vec<String>, value: Option<String>) {
    if let Some(v) = value {
        let v = v.trim().to_string();
        if !v.is_empty() && !list.contains(&v) {
            list.push(v);
        }
    }
}

fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |acc, k| acc.get(k))
}

fn path_s(v: &Value, keys: &[&str]) -> Option<String> {
    path(v, keys).and_then(|x| x.as_str()).map(str::to_string).filter(|x| !x.is_empty())
}

/// Summarises `evidence[]` (polymorphic via `@odata.type`).
pub fn summarize_evidence(evidence: Option<&Value>) -> EvidenceSummary {
    let mut sum = EvidenceSummary::default();
    let Some(Value::Array(items)) = evidence else {
        return sum;
    };
    for item in items {
        let ty =
            item.get("@odata.type").and_then(|t| t.as_str()).unwrap_or("").rsplit('.').next().unwrap_or("").to_string();
        match ty.as_str() {
            "deviceEvidence" => push_unique(
                &mut sum.devices,
                s(item, "deviceDnsName").or_else(|| s(item, "hostName")).or_else(|| s(item, "mdeDeviceId")),
            ),
            "userEvidence" => push_unique(
                &mut sum.users,
                path_s(item, &["userAccount", "userPrincipalName"])
                    .or_else(|| path_s(item, &["userAccount", "accountName"]))
                    .or_else(|| path_s(item, &["userAccount", "displayName"])),
            ),
            "ipEvidence" => push_unique(&mut sum.ips, s(item, "ipAddress")),
            "fileEvidence" => push_unique(
                &mut sum.files,
                path_s(item, &["fileDetails", "fileName"]).map(|name| match path_s(item, &["fileDetails", "sha256"]) {
                    Some(h) => format!("{name} (sha256 {h})"),
                    None => name,
                }),
            ),
            "processEvidence" => push_unique(
                &mut sum.processes,
                path_s(item, &["imageFile", "fileName"]).map(|name| match s(item, "processCommandLine") {
                    Some(cmd) => format!("{name}: {cmd}"),
                    None => name,
                }),
            ),
            "urlEvidence" => push_unique(&mut sum.urls, s(item, "url")),
            "mailboxEvidence" => {
                push_unique(&mut sum.mailboxes, s(item, "primaryAddress").or_else(|| s(item, "displayName")))
            }
            "analyzedMessageEvidence" => {
                push_unique(&mut sum.mailboxes, s(item, "subject").map(|subj| format!("message \"{subj}\"")))
            }
            "azureResourceEvidence" | "cloudApplicationEvidence" | "oauthApplicationEvidence" => push_unique(
                &mut sum.cloud_resources,
                s(item, "resourceName").or_else(|| s(item, "displayName")).or_else(|| s(item, "resourceId")),
            ),
            _ => sum.other += 1,
        }
    }
    sum
}

impl GraphAlert {
    /// Parses one element of `value[]` from `GET /security/alerts_v2`.
    pub fn from_json(raw: Value) -> Result<GraphAlert, AlertParseError> {
        if !raw.is_object() {
            return Err(AlertParseError::NotAnObject);
        }
        let id = s(&raw, "id").ok_or(AlertParseError::MissingId)?;
        let last_update = s(&raw, "lastUpdateDateTime")
            .and_then(|t| timefmt::parse(&t))
            .ok_or_else(|| AlertParseError::MissingLastUpdate { id: id.clone() })?;
        let mitre = match raw.get("mitreTechniques") {
            Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        Ok(GraphAlert {
            title: s(&raw, "title").unwrap_or_else(|| "(untitled alert)".into()),
            description: s(&raw, "description").unwrap_or_default(),
            recommended_actions: s(&raw, "recommendedActions").unwrap_or_default(),
            severity: Severity::parse(&s(&raw, "severity").unwrap_or_default()),
            status: AlertStatus::parse(&s(&raw, "status").unwrap_or_default()),
            service_source: s(&raw, "serviceSource").unwrap_or_else(|| "unknown".into()),
            detection_source: s(&raw, "detectionSource").unwrap_or_else(|| "unknown".into()),
            product_name: s(&raw, "productName"),
            category: s(&raw, "category"),
            incident_id: s(&raw, "incidentId"),
            alert_web_url: s(&raw, "alertWebUrl"),
            incident_web_url: s(&raw, "incidentWebUrl"),
            mitre_techniques: mitre,
            assigned_to: s(&raw, "assignedTo"),
            tenant_id: s(&raw, "tenantId"),
            created: s(&raw, "createdDateTime").and_then(|t| timefmt::parse(&t)),
            last_update,
            evidence: summarize_evidence(raw.get("evidence")),
            id,
            raw,
        })
    }

    /// Human product name: `productName` when present, else derived from `serviceSource`.
    pub fn product(&self) -> String {
        if let Some(p) = &self.product_name {
            return p.clone();
        }
        service_source_label(&self.service_source)
    }

    /// The normalised `lastUpdateDateTime`, used in the dedup key.
    pub fn version(&self) -> String {
        timefmt::odata(self.last_update)
    }
}

/// Display name for a `serviceSource` value (`microsoft-apis.md` §2.2).
pub fn service_source_label(source: &str) -> String {
    match source {
        "microsoftDefenderForEndpoint" => "Microsoft Defender for Endpoint",
        "microsoftDefenderForIdentity" => "Microsoft Defender for Identity",
        "microsoftDefenderForCloudApps" => "Microsoft Defender for Cloud Apps",
        "microsoftDefenderForOffice365" => "Microsoft Defender for Office 365",
        "microsoft365Defender" => "Microsoft Defender XDR",
        "azureAdIdentityProtection" => "Microsoft Entra ID Protection",
        "microsoftAppGovernance" => "App governance",
        "dataLossPrevention" => "Microsoft Purview Data Loss Prevention",
        "microsoftDefenderForCloud" => "Microsoft Defender for Cloud",
        "microsoftSentinel" => "Microsoft Sentinel",
        "microsoftInsiderRiskManagement" => "Microsoft Purview Insider Risk Management",
        "microsoftThreatIntelligence" => "Microsoft Defender Threat Intelligence",
        "microsoftSecurityForAI" => "Microsoft Security for AI",
        "unknownFutureValue" => "Microsoft security product (unknownFutureValue)",
        other => return other.to_string(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Verbatim from `microsoft-apis.md` §2.3 ("Example 2: Get all alerts from Microsoft Sentinel").
    pub const SENTINEL_EXAMPLE: &str = r##"{
      "@odata.type": "#microsoft.graph.security.alert",
      "id": "da637878227677560813_-334257894",
      "providerAlertId": "da637878227677560813_-334257894",
      "incidentId": "33",
      "status": "new",
      "severity": "high",
      "classification": "unknown",
      "determination": "unknown",
      "serviceSource": "microsoftSentinel",
      "detectionSource": "scheduledAlerts",
      "detectorId": "a1b2c3d4-e5f6-47a8-b9c0-d1e2f3a4b5c6",
      "tenantId": "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
      "title": "Suspicious sign-in activity detected",
      "description": "Multiple failed sign-in attempts followed by a successful sign-in detected from an unusual location.",
      "recommendedActions": "Review the user's recent activity and verify the legitimacy of the sign-in.",
      "category": "CredentialAccess",
      "assignedTo": null,
      "alertWebUrl": "https://security.microsoft.com/alerts/da637878227677560813_-334257894?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
      "incidentWebUrl": "https://security.microsoft.com/incidents/33?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
      "actorDisplayName": null,
      "threatDisplayName": null,
      "threatFamilyName": null,
      "mitreTechniques": [
        "T1110"
      ],
      "createdDateTime": "2026-05-05T08:30:00.0000000Z",
      "lastUpdateDateTime": "2026-05-05T09:15:00.0000000Z",
      "resolvedDateTime": null,
      "firstActivityDateTime": "2026-05-05T07:00:00.000Z",
      "lastActivityDateTime": "2026-05-05T08:25:00.000Z",
      "comments": [],
      "evidence": [],
      "systemTags": []
    }"##;

    #[test]
    fn parses_the_documented_sentinel_alert() {
        let a = GraphAlert::from_json(serde_json::from_str(SENTINEL_EXAMPLE).unwrap()).unwrap();
        assert_eq!(a.id, "da637878227677560813_-334257894");
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.status, AlertStatus::New);
        assert_eq!(a.incident_id.as_deref(), Some("33"));
        assert_eq!(a.mitre_techniques, vec!["T1110"]);
        assert_eq!(a.product(), "Microsoft Sentinel");
        assert_eq!(a.assigned_to, None);
        assert_eq!(a.version(), "2026-05-05T09:15:00.0000000Z");
        assert!(a.evidence.is_empty());
    }

    #[test]
    fn unknown_enums_and_extra_fields_are_kept_not_rejected() {
        let raw = json!({
            "id": "x1", "lastUpdateDateTime": "2026-01-01T00:00:00Z",
            "severity": "catastrophic", "status": "awaitingAction",
            "serviceSource": "unknownFutureValue", "brandNewField": {"a": 1}
        });
        let a = GraphAlert::from_json(raw.clone()).unwrap();
        assert_eq!(a.severity, Severity::Other("catastrophic".into()));
        assert_eq!(a.severity.rank(), 3, "unknown severity must never be filtered out");
        assert_eq!(a.status, AlertStatus::Other("awaitingAction".into()));
        assert_eq!(a.raw, raw);
        assert_eq!(a.title, "(untitled alert)");
    }

    #[test]
    fn rejects_alerts_without_identity_or_version() {
        assert_eq!(GraphAlert::from_json(json!([])), Err(AlertParseError::NotAnObject));
        assert_eq!(
            GraphAlert::from_json(json!({"lastUpdateDateTime": "2026-01-01T00:00:00Z"})),
            Err(AlertParseError::MissingId)
        );
        assert!(matches!(
            GraphAlert::from_json(json!({"id": "a", "lastUpdateDateTime": "soon"})),
            Err(AlertParseError::MissingLastUpdate { .. })
        ));
    }

    #[test]
    fn summarises_polymorphic_evidence() {
        let ev = json!([
            {"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "ws-042.contoso.local"},
            {"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "ws-042.contoso.local"},
            {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "jdoe", "userPrincipalName": "jdoe@contoso.com"}},
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.7"},
            {"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": {"fileName": "evil.exe", "sha256": "abc"}},
            {"@odata.type": "#microsoft.graph.security.processEvidence", "imageFile": {"fileName": "powershell.exe"}, "processCommandLine": "powershell -enc AAA"},
            {"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "http://bad.example"},
            {"@odata.type": "#microsoft.graph.security.somethingNew"},
            "not even an object"
        ]);
        let s = summarize_evidence(Some(&ev));
        assert_eq!(s.devices, vec!["ws-042.contoso.local"]);
        assert_eq!(s.users, vec!["jdoe@contoso.com"]);
        assert_eq!(s.ips, vec!["203.0.113.7"]);
        assert_eq!(s.files, vec!["evil.exe (sha256 abc)"]);
        assert_eq!(s.processes, vec!["powershell.exe: powershell -enc AAA"]);
        assert_eq!(s.urls, vec!["http://bad.example"]);
        assert_eq!(s.other, 2);
    }
}

#[cfg(test)]
pub(crate) mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary JSON shaped like alerts (also used by the page builder's properties).
    pub(crate) fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::String),
            Just(Value::String("2026-11-28T10:00:00.1234567Z".into())),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("id".to_string()),
                            Just("lastUpdateDateTime".to_string()),
                            Just("severity".to_string()),
                            Just("evidence".to_string()),
                            Just("mitreTechniques".to_string()),
                            Just("@odata.type".to_string()),
                            Just("userAccount".to_string()),
                            Just("title".to_string()),
                            "[a-z]{1,8}"
                        ],
                        inner
                    ),
                    0..8
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever Microsoft sends, parsing never panics, and a parsed alert always keeps its
        /// raw JSON.
        #[test]
        fn arbitrary_json_never_panics(v in json_value()) {
            if let Ok(a) = GraphAlert::from_json(v.clone()) {
                prop_assert_eq!(&a.raw, &v);
            }
        }
    }
}

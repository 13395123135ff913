//! Realistic alerts, as Defender, Entra ID Protection and Sentinel produce them, for `demo`,
//! tests and benchmarks. Shapes follow `microsoft-apis.md` §2.2–§2.3.

use serde_json::{Value, json};

/// Defender for Endpoint: credential-theft malware on a workstation.
pub fn mde_malware(incident: &str) -> Value {
    json!({
        "title": "'Mimikatz' credential theft tool was detected on ws-042",
        "severity": "high",
        "category": "CredentialAccess",
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "antivirus",
        "productName": "Microsoft Defender for Endpoint",
        "incidentId": incident,
        "description": "A known credential theft tool was detected and quarantined. The tool can dump credentials from LSASS memory.",
        "recommendedActions": "1. Isolate the device.\n2. Reset the passwords of accounts that signed in to the device.\n3. Run a full antivirus scan.",
        "mitreTechniques": ["T1003", "T1003.001"],
        "threatDisplayName": "HackTool:Win32/Mimikatz",
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "ws-042.contoso.local", "osPlatform": "Windows11", "riskScore": "high", "roles": [], "verdict": "malicious", "remediationStatus": "remediated"},
            {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "jdoe", "domainName": "CONTOSO", "userPrincipalName": "jdoe@contoso.com"}, "roles": [], "verdict": "suspicious"},
            {"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": {"fileName": "mimikatz.exe", "filePath": "C:\\Users\\jdoe\\Downloads", "sha256": "92804faaab2175dc501d73e814663058c78c0a042675a8937266357bcfb96c50"}, "roles": [], "verdict": "malicious"},
            {"@odata.type": "#microsoft.graph.security.processEvidence", "imageFile": {"fileName": "powershell.exe"}, "processCommandLine": "powershell.exe -ep bypass -f invoke-mimikatz.ps1", "roles": [], "verdict": "suspicious"}
        ]
    })
}

/// Entra ID Protection: sign-in from an anonymous IP address.
pub fn entra_risky_signin(incident: &str) -> Value {
    json!({
        "title": "Anonymous IP address sign-in for adele.vance@contoso.com",
        "severity": "medium",
        "category": "InitialAccess",
        "serviceSource": "azureAdIdentityProtection",
        "detectionSource": "azureAdIdentityProtection",
        "productName": "Microsoft Entra ID Protection",
        "incidentId": incident,
        "description": "Sign-in from an anonymous IP address (for example Tor browser or an anonymizer VPN).",
        "recommendedActions": "Confirm with the user whether the sign-in was theirs; if not, revoke sessions and reset the password.",
        "mitreTechniques": ["T1078"],
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "adele.vance", "userPrincipalName": "adele.vance@contoso.com"}, "roles": [], "verdict": "suspicious"},
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "185.220.101.42", "countryLetterCode": "DE", "roles": [], "verdict": "suspicious"}
        ]
    })
}

/// Sentinel scheduled analytics rule (needs `Prefer: include-unknown-enum-members` to show
/// `microsoftSentinel` / `scheduledAlerts`).
pub fn sentinel_scheduled(incident: &str) -> Value {
    json!({
        "title": "Brute force attack against Azure Portal",
        "severity": "high",
        "category": "CredentialAccess",
        "serviceSource": "microsoftSentinel",
        "detectionSource": "scheduledAlerts",
        "detectorId": "28b42356-45af-40a6-a0b4-a554cdfd5d8a",
        "incidentId": incident,
        "description": "Identifies evidence of brute force activity against the Azure Portal by highlighting multiple authentication failures followed by a successful login.",
        "recommendedActions": "Review the sign-in logs of the targeted account and block the source IP addresses.",
        "mitreTechniques": ["T1110"],
        "additionalData": {
            "Query": "SigninLogs | where ResultType != 0 | summarize Failures = count() by UserPrincipalName, IPAddress | where Failures > 20",
            "Query Period": "1.00:00:00",
            "Query Start Time UTC": "2026-11-27 10:00:00Z",
            "Query End Time UTC": "2026-11-28 10:00:00Z",
            "Search Query Results Overall Count": "3"
        },
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "megan.bowen", "userPrincipalName": "megan.bowen@contoso.com"}, "roles": [], "verdict": "suspicious"},
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.77", "roles": [], "verdict": "malicious"},
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.78", "roles": [], "verdict": "malicious"}
        ]
    })
}

/// Defender for Office 365: a phishing mail that was clicked.
pub fn mdo_phishing(incident: &str) -> Value {
    json!({
        "title": "A potentially malicious URL click was detected",
        "severity": "high",
        "category": "InitialAccess",
        "serviceSource": "microsoftDefenderForOffice365",
        "detectionSource": "microsoftDefenderForOffice365",
        "productName": "Microsoft Defender for Office 365",
        "incidentId": incident,
        "description": "A user clicked a URL in an email that was later identified as phishing.",
        "recommendedActions": "Reset the user's password and review mailbox rules.",
        "mitreTechniques": ["T1566.002"],
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "primaryAddress": "lee.gu@contoso.com", "displayName": "Lee Gu", "roles": [], "verdict": "suspicious"},
            {"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "http://login-micros0ft.example/verify", "roles": [], "verdict": "malicious"},
            {"@odata.type": "#microsoft.graph.security.analyzedMessageEvidence", "subject": "Action required: verify your account", "roles": [], "verdict": "malicious"}
        ]
    })
}

/// A low-severity Defender for Cloud recommendation-style alert (filtered out by a
/// `medium` threshold).
pub fn mdc_low(incident: &str) -> Value {
    json!({
        "title": "Suspicious process executed in a container",
        "severity": "low",
        "category": "Execution",
        "serviceSource": "microsoftDefenderForCloud",
        "detectionSource": "microsoftDefenderForContainers",
        "incidentId": incident,
        "description": "A process rarely seen in this container image was executed.",
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.azureResourceEvidence", "resourceName": "aks-prod-01", "resourceId": "/subscriptions/0000/resourceGroups/prod/providers/Microsoft.ContainerService/managedClusters/aks-prod-01", "roles": [], "verdict": "suspicious"}
        ]
    })
}

/// The demo's rotating cast of alerts.
/// Makes an alert for a given incident id.
pub type AlertMaker = fn(&str) -> Value;

pub fn catalogue() -> Vec<(&'static str, AlertMaker)> {
    vec![
        ("Defender for Endpoint malware", mde_malware),
        ("Entra ID Protection risky sign-in", entra_risky_signin),
        ("Sentinel scheduled rule", sentinel_scheduled),
        ("Defender for Office 365 phishing click", mdo_phishing),
        ("Defender for Cloud container alert", mdc_low),
    ]
}

/// A compact synthetic alert for load tests.
pub fn synthetic(i: u64) -> Value {
    let sev = ["low", "medium", "high"][(i % 3) as usize];
    json!({
        "title": format!("Synthetic alert #{i}"),
        "severity": sev,
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "antivirus",
        "incidentId": format!("{}", 1000 + i / 4),
        "description": "Load-test alert.",
        "mitreTechniques": ["T1059"],
        "evidence": [{"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": format!("host-{}.contoso.local", i % 50)}]
    })
}

/// A Sentinel incident from the "Brute force attack against Azure Portal" scheduled rule, with
/// its alert (rule query and window in `additionalData`, §4.6) — for the ARM fake.
pub fn sentinel_incident(title_suffix: &str) -> (Value, Vec<Value>) {
    let incident = json!({"properties": {
        "title": format!("Brute force attack against Azure Portal{title_suffix}"),
        "description": "Identifies evidence of brute force activity against the Azure Portal by highlighting multiple authentication failures followed by a successful login.",
        "severity": "High",
        "status": "New",
    }});
    let alert = json!({"properties": {
        "alertDisplayName": "Brute force attack against Azure Portal",
        "productName": "Azure Sentinel",
        "productComponentName": "Scheduled Alerts",
        "severity": "High",
        "description": "Multiple failed sign-ins followed by a success from the same IP.",
        "compromisedEntity": "megan.bowen@contoso.com",
        "tactics": ["CredentialAccess"],
        "techniques": ["T1110"],
        "remediationSteps": ["Reset the user's password.", "Block the source IPs."],
        "vendorName": "Microsoft",
        "additionalData": {
            "Query": "// The query_now parameter represents the time (in UTC) at which the scheduled analytics rule ran to produce this alert.\nset query_now = datetime(2026-11-28T10:00:00.0000000Z);\nSigninLogs | where ResultType != 0 | summarize Failures = count() by UserPrincipalName, IPAddress | where Failures > 20",
            "Query Period": "1.00:00:00",
            "Query Start Time UTC": "2026-11-27 10:00:00Z",
            "Query End Time UTC": "2026-11-28 10:00:01Z",
            "Search Query Results Overall Count": "3",
            "Analytic Rule Ids": "[\"28b42356-45af-40a6-a0b4-a554cdfd5d8a\"]",
            "Analytic Rule Name": "Brute force attack against Azure Portal",
            "Event Grouping": "SingleAlert"
        }
    }});
    (incident, vec![alert])
}

/// What Log Analytics returns for the brute-force rule's query.
pub fn brute_force_results() -> Value {
    json!({"tables": [{"name": "PrimaryResult",
        "columns": [{"name": "UserPrincipalName", "type": "string"}, {"name": "IPAddress", "type": "string"}, {"name": "Failures", "type": "long"}],
        "rows": [["megan.bowen@contoso.com", "203.0.113.77", 57], ["megan.bowen@contoso.com", "203.0.113.78", 31], ["lee.gu@contoso.com", "203.0.113.77", 22]]}]})
}

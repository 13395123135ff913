//! Which alerts page the team.

use crate::alert::{AlertStatus, GraphAlert, Severity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertFilter {
    /// Alerts below this severity do not page. Unknown severities always pass.
    pub min_severity: Severity,
    /// When non-empty, only these `serviceSource` values page.
    pub include_service_sources: Vec<String>,
    /// These `serviceSource` values never page.
    pub exclude_service_sources: Vec<String>,
    /// Statuses that page (`new` by default): an alert already being worked in the portal
    /// does not wake anybody.
    pub statuses: Vec<String>,
}

impl Default for AlertFilter {
    fn default() -> Self {
        AlertFilter {
            min_severity: Severity::Low,
            include_service_sources: Vec::new(),
            exclude_service_sources: Vec::new(),
            statuses: vec!["new".into()],
        }
    }
}

/// Why an alert does not page (for debug logs and counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Severity,
    ServiceSource,
    Status,
}

impl AlertFilter {
    pub fn check(&self, a: &GraphAlert) -> Result<(), Skip> {
        if a.severity.rank() < self.min_severity.rank() {
            return Err(Skip::Severity);
        }
        let src = a.service_source.as_str();
        if !self.include_service_sources.is_empty()
            && !self.include_service_sources.iter().any(|s| s.eq_ignore_ascii_case(src))
        {
            return Err(Skip::ServiceSource);
        }
        if self.exclude_service_sources.iter().any(|s| s.eq_ignore_ascii_case(src)) {
            return Err(Skip::ServiceSource);
        }
        let status = match &a.status {
            AlertStatus::Other(_) => "new", // unknown status: treat as open, never drop silently
            s => s.as_str(),
        };
        if !self.statuses.iter().any(|s| s.eq_ignore_ascii_case(status)) {
            return Err(Skip::Status);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(sev: &str, src: &str, status: &str) -> GraphAlert {
        GraphAlert::from_json(json!({"id": "a", "lastUpdateDateTime": "2026-01-01T00:00:00Z",
            "severity": sev, "serviceSource": src, "status": status}))
        .unwrap()
    }

    #[test]
    fn severity_threshold() {
        let f = AlertFilter { min_severity: Severity::Medium, ..Default::default() };
        assert_eq!(f.check(&alert("low", "x", "new")), Err(Skip::Severity));
        assert_eq!(f.check(&alert("informational", "x", "new")), Err(Skip::Severity));
        assert_eq!(f.check(&alert("medium", "x", "new")), Ok(()));
        assert_eq!(f.check(&alert("high", "x", "new")), Ok(()));
        assert_eq!(f.check(&alert("unknownFutureValue", "x", "new")), Ok(()));
    }

    #[test]
    fn service_sources_include_and_exclude() {
        let f = AlertFilter { include_service_sources: vec!["microsoftSentinel".into()], ..Default::default() };
        assert_eq!(f.check(&alert("high", "microsoftSentinel", "new")), Ok(()));
        assert_eq!(f.check(&alert("high", "microsoftDefenderForEndpoint", "new")), Err(Skip::ServiceSource));
        let f = AlertFilter { exclude_service_sources: vec!["dataLossPrevention".into()], ..Default::default() };
        assert_eq!(f.check(&alert("high", "dataLossPrevention", "new")), Err(Skip::ServiceSource));
        assert_eq!(f.check(&alert("high", "microsoftSentinel", "new")), Ok(()));
    }

    #[test]
    fn statuses() {
        let f = AlertFilter::default();
        assert_eq!(f.check(&alert("high", "x", "resolved")), Err(Skip::Status));
        assert_eq!(f.check(&alert("high", "x", "inProgress")), Err(Skip::Status));
        assert_eq!(f.check(&alert("high", "x", "awaitingAction")), Ok(()));
        let f = AlertFilter { statuses: vec!["new".into(), "inProgress".into()], ..Default::default() };
        assert_eq!(f.check(&alert("high", "x", "inProgress")), Ok(()));
    }
}

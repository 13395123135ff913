//! A tenant's `[[tenant.sentinel]]` workspaces: incident selection, paging unit, close classification and enrichment.

use std::time::Duration;

use serde::Deserialize;

use super::error::{ConfigError, err};
use super::values::{check_name, duration, opt_bool, opt_list, opt_u64, tag_or_signl4};
use crate::alert::Severity;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSentinel {
    name: String,
    subscription_id: String,
    resource_group: String,
    workspace_name: String,
    workspace_id: Option<String>,
    api_version: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    statuses: Option<Vec<String>>,
    min_severity: Option<String>,
    page_per: Option<String>,
    close_classification: Option<String>,
    close_classification_reason: Option<String>,
    label: Option<String>,
    comment_recheck: Option<String>,
    #[serde(default)]
    enrichment: RawEnrichment,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnrichment {
    #[serde(default, deserialize_with = "opt_bool")]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_u64")]
    rows: Option<u64>,
    budget: Option<String>,
}

/// Whether a Sentinel workspace pages once per incident or once per alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePer {
    Incident,
    Alert,
}

/// A Sentinel workspace (`microsoft-apis.md` §3, §4).
#[derive(Debug, Clone)]
pub struct SentinelConfig {
    /// Short name used in keys, logs and SIGNL4 external ids; never change it.
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub workspace_name: String,
    /// Log Analytics workspace id (GUID), for rule-query enrichment.
    pub workspace_id: Option<String>,
    pub api_version: String,
    /// Incident statuses that page (`New`, `Active`).
    pub statuses: Vec<String>,
    /// `Informational`, `Low`, `Medium`, `High`.
    pub min_severity: Severity,
    pub page_per: PagePer,
    pub close_classification: String,
    pub close_classification_reason: Option<String>,
    /// Label added to paged incidents (`SecurityIncident | where Labels contains "SIGNL4"`).
    pub label: Option<String>,
    pub enrichment_enabled: bool,
    pub enrichment_rows: usize,
    pub enrichment_budget: Duration,
    /// How often the portal comments of incidents whose SIGNL4 alert is still open are read
    /// again even when the incident's `lastModifiedTimeUtc` did not move (whether a comment
    /// moves it is not documented); zero = only when the incident changed.
    pub comment_recheck: Duration,
}

/// Sentinel classification → the classification reasons it accepts (`microsoft-apis.md`
/// §3.3; the service rejects other pairs).
pub const CLASSIFICATION_REASONS: [(&str, &[&str]); 4] = [
    ("TruePositive", &["SuspiciousActivity"]),
    ("BenignPositive", &["SuspiciousButExpected"]),
    ("FalsePositive", &["IncorrectAlertLogic", "InaccurateData"]),
    ("Undetermined", &[]),
];

/// Checks a classification / reason pair; on error returns the list of valid pairs.
pub fn check_classification(classification: &str, reason: Option<&str>) -> Result<(), String> {
    let valid = || {
        CLASSIFICATION_REASONS
            .iter()
            .map(|(c, rs)| if rs.is_empty() { format!("{c} (no reason)") } else { format!("{c} → {}", rs.join(" | ")) })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((_, reasons)) = CLASSIFICATION_REASONS.iter().find(|(c, _)| *c == classification) else {
        return Err(valid());
    };
    match reason {
        None if reasons.is_empty() => Ok(()),
        Some(r) if reasons.contains(&r) => Ok(()),
        _ => Err(valid()),
    }
}

/// Validates the workspaces `<prefix>.sentinel[j]` of a tenant (`prefix` is the tenant's key,
/// e.g. `tenant[0]`).
pub(super) fn from_raw(prefix: &str, raw: Vec<RawSentinel>) -> Result<Vec<SentinelConfig>, ConfigError> {
    let mut sentinel: Vec<SentinelConfig> = Vec::new();
    for (j, w) in raw.into_iter().enumerate() {
        let sk = |f: &str| format!("{prefix}.sentinel[{j}].{f}");
        check_name(sk("name"), &w.name, "workspace", sentinel.iter().any(|x| x.name == w.name))?;
        for (f, v) in [
            ("subscription_id", &w.subscription_id),
            ("resource_group", &w.resource_group),
            ("workspace_name", &w.workspace_name),
        ] {
            if v.trim().is_empty() {
                return Err(err(sk(f), "is empty", "copy it from the workspace's Overview page in the Azure portal"));
            }
        }
        let statuses = w.statuses.unwrap_or_else(|| vec!["New".into()]);
        for st in &statuses {
            if !["New", "Active"].contains(&st.as_str()) {
                return Err(err(sk("statuses"), format!("unknown status \"{st}\""), "use \"New\" and/or \"Active\""));
            }
        }
        let min_severity = match w.min_severity.as_deref().map(str::to_ascii_lowercase).as_deref().unwrap_or("low") {
            s @ ("informational" | "low" | "medium" | "high") => Severity::parse(s),
            other => {
                return Err(err(
                    sk("min_severity"),
                    format!("unknown severity \"{other}\""),
                    "use Informational, Low, Medium or High",
                ));
            }
        };
        let page_per = match w.page_per.as_deref().unwrap_or("incident") {
            "incident" => PagePer::Incident,
            "alert" => PagePer::Alert,
            other => {
                return Err(err(sk("page_per"), format!("unknown value \"{other}\""), "use \"incident\" or \"alert\""));
            }
        };
        let close_classification = w.close_classification.unwrap_or_else(|| "Undetermined".into());
        if let Err(valid) = check_classification(&close_classification, w.close_classification_reason.as_deref()) {
            return Err(err(
                sk("close_classification"),
                format!(
                    "\"{close_classification}\" with reason {:?} is not a valid pair",
                    w.close_classification_reason.as_deref().unwrap_or("(none)")
                ),
                format!("use one of: {valid}"),
            ));
        }
        let rows = match w.enrichment.rows {
            None => 10,
            Some(n @ 0..=100) => n as usize,
            Some(n) => return Err(err(sk("enrichment.rows"), format!("{n} is too many"), "use 0 to 100")),
        };
        sentinel.push(SentinelConfig {
            name: w.name,
            subscription_id: w.subscription_id,
            resource_group: w.resource_group,
            workspace_name: w.workspace_name,
            workspace_id: w.workspace_id.filter(|s| !s.is_empty()),
            api_version: w.api_version.unwrap_or_else(|| "2025-12-01".into()),
            statuses,
            min_severity,
            page_per,
            close_classification,
            close_classification_reason: w.close_classification_reason,
            label: tag_or_signl4(w.label),
            enrichment_enabled: w.enrichment.enabled.unwrap_or(true),
            enrichment_rows: rows,
            enrichment_budget: duration(
                &sk("enrichment.budget"),
                w.enrichment.budget.as_ref(),
                Duration::from_secs(10),
                Duration::from_millis(10),
            )?,
            comment_recheck: duration(
                &sk("comment_recheck"),
                w.comment_recheck.as_ref(),
                Duration::from_secs(300),
                Duration::ZERO,
            )?,
        });
    }
    Ok(sentinel)
}

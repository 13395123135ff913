//! A tenant's `[tenant.sync]` section: two-way sync with Graph, and the Graph classification and determination values.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::{ConfigError, err};
use super::values::{opt_bool, tag_or_signl4};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    #[serde(default, deserialize_with = "opt_bool")]
    enabled: Option<bool>,
    close_classification: Option<String>,
    close_determination: Option<String>,
    incident_tag: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    ack_on_in_progress: Option<bool>,
    #[serde(default)]
    user_map: BTreeMap<String, String>,
}

/// Two-way sync settings of a tenant.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Write SIGNL4 acknowledgements, closes and notes back to Graph.
    pub enabled: bool,
    pub options: crate::sync::SyncOptions,
    /// Tag added to the Graph incident's `customTags` when its first alert is paged.
    pub incident_tag: Option<String>,
    /// Acknowledge the SIGNL4 alert when an analyst moves the alert to inProgress.
    pub ack_on_in_progress: bool,
}

/// Graph alert `classification` values (`microsoft-apis.md` §2.2).
pub const CLASSIFICATIONS: [&str; 4] = ["unknown", "falsePositive", "truePositive", "informationalExpectedActivity"];
/// Graph alert `determination` values (member table of §2.2).
pub const DETERMINATIONS: [&str; 15] = [
    "unknown",
    "apt",
    "malware",
    "securityPersonnel",
    "securityTesting",
    "unwantedSoftware",
    "other",
    "multiStagedAttack",
    "compromisedAccount",
    "phishing",
    "maliciousUserActivity",
    "notMalicious",
    "notEnoughDataToValidate",
    "confirmedActivity",
    "lineOfBusinessApplication",
];

impl SyncConfig {
    /// Validates `<prefix>.sync` (`prefix` is the tenant's key, e.g. `tenant[0]`).
    pub(super) fn from_raw(prefix: &str, rs: RawSync) -> Result<SyncConfig, ConfigError> {
        let k = |field: &str| format!("{prefix}.{field}");
        if let Some(c) = &rs.close_classification
            && !CLASSIFICATIONS.contains(&c.as_str())
        {
            return Err(err(
                k("sync.close_classification"),
                format!("unknown classification \"{c}\""),
                format!("use one of {}", CLASSIFICATIONS.join(", ")),
            ));
        }
        if let Some(d) = &rs.close_determination {
            if !DETERMINATIONS.contains(&d.as_str()) {
                return Err(err(
                    k("sync.close_determination"),
                    format!("unknown determination \"{d}\""),
                    format!("use one of {}", DETERMINATIONS.join(", ")),
                ));
            }
            if rs.close_classification.is_none() {
                return Err(err(
                    k("sync.close_determination"),
                    "is set without sync.close_classification",
                    "set close_classification too (Graph expects a determination only with a classification)",
                ));
            }
        }
        Ok(SyncConfig {
            enabled: rs.enabled.unwrap_or(true),
            options: crate::sync::SyncOptions {
                close_classification: rs.close_classification,
                close_determination: rs.close_determination,
                user_map: rs.user_map.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
            },
            incident_tag: tag_or_signl4(rs.incident_tag),
            ack_on_in_progress: rs.ack_on_in_progress.unwrap_or(false),
        })
    }
}

//! The Graph writes queued for Microsoft: [`AlertSync`], [`IncidentSync`] and their [`SyncComment`]s.

use serde::{Deserialize, Serialize};

/// A comment to write, with the ref that makes it recognisable (idempotent retries, never
/// copied back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncComment {
    pub r#ref: String,
    pub text: String,
}

impl SyncComment {
    /// `change` is the event's change key (`ack:…`, `close:…`, `note:…`), so the same change
    /// seen twice (webhook and REST polling) yields the same comment.
    pub fn new(change: &str, text: String) -> SyncComment {
        let r#ref = format!("[SIGNL4 {change}]");
        SyncComment { text: format!("{text} {}", r#ref), r#ref }
    }
}

/// The Graph write one or more SIGNL4 events ask for (payload of a `graph-sync` job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AlertSync {
    pub alert_id: String,
    #[serde(default)]
    pub incident_id: Option<String>,
    /// `inProgress` or `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    #[serde(default)]
    pub classification: Option<String>,
    #[serde(default)]
    pub determination: Option<String>,
    #[serde(default)]
    pub comments: Vec<SyncComment>,
}

/// The Graph write an incident asks for (payload of an `incident-sync` job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IncidentSync {
    pub incident_id: String,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    #[serde(default)]
    pub classification: Option<String>,
    #[serde(default)]
    pub determination: Option<String>,
}

/// How far a Graph status is along `new` → `inProgress` → `resolved` (a close is final).
pub(super) fn status_rank(s: Option<&str>) -> u8 {
    match s {
        Some("resolved") => 2,
        Some("inProgress") => 1,
        _ => 0,
    }
}

//! Job kind `sentinel-sync`: write a SIGNL4 response back to a Sentinel incident
//! ([`SentinelSyncJob`]).

use serde::{Deserialize, Serialize};

use super::json;
use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::sync::{self, AlertSync};

pub const KIND: JobKind =
    JobKind::new("sentinel-sync", Priority::WriteBack, false, "write-backs to Sentinel incidents");

/// Payload of a Sentinel write-back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentinelSyncJob {
    pub workspace: String,
    pub sync: AlertSync,
    /// Also (re)apply the configured label.
    #[serde(default)]
    pub label: bool,
}

impl sync::Coalesce for SentinelSyncJob {
    fn merge(self, newer: Self) -> Self {
        SentinelSyncJob {
            workspace: newer.workspace,
            sync: self.sync.merge(newer.sync),
            label: self.label || newer.label,
        }
    }
}

/// Coalescing Sentinel incident write-back.
pub fn sentinel_sync(tenant: &str, workspace: &str, external_id: &str, intent: AlertSync, label: bool) -> NewJob {
    let payload = SentinelSyncJob { workspace: workspace.to_string(), sync: intent, label };
    NewJob::coalescing(
        tenant,
        KIND,
        format!("ssync:{external_id}"),
        json(&payload),
        sync::merge_json::<SentinelSyncJob>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_sync_jobs_coalesce() {
        let a = sentinel_sync("t", "ws", "e", AlertSync { alert_id: "1".into(), ..Default::default() }, true);
        let b = sentinel_sync("t", "ws", "e", AlertSync { alert_id: "1".into(), ..Default::default() }, false);
        let merged: SentinelSyncJob = serde_json::from_str(&(a.coalesce.unwrap())(&a.payload, &b.payload)).unwrap();
        assert!(merged.label, "a label asked for once stays asked for");
        assert_eq!(a.key, "ssync:e");
    }
}

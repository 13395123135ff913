//! Coalescing of pending writes: [`AlertSync`] / [`IncidentSync`] merge and the outbox's JSON merge functions.

use serde::{Deserialize, Serialize};

use super::intent::{AlertSync, IncidentSync, status_rank};

/// Takes the newer value when it is set.
fn newest<T>(old: &mut Option<T>, newer: Option<T>) {
    if newer.is_some() {
        *old = newer;
    }
}

impl AlertSync {
    /// Coalesces a newer intent into a pending one: the furthest status wins (a close is
    /// final), the latest owner wins, comments keep their order without duplicates.
    pub fn merge(mut self, newer: AlertSync) -> AlertSync {
        if status_rank(newer.status.as_deref()) >= status_rank(self.status.as_deref()) && newer.status.is_some() {
            self.status = newer.status;
            newest(&mut self.classification, newer.classification);
            newest(&mut self.determination, newer.determination);
        }
        newest(&mut self.assigned_to, newer.assigned_to);
        newest(&mut self.incident_id, newer.incident_id);
        for c in newer.comments {
            if !self.comments.iter().any(|x| x.r#ref == c.r#ref) {
                self.comments.push(c);
            }
        }
        self
    }
}

impl IncidentSync {
    pub fn merge(mut self, newer: IncidentSync) -> IncidentSync {
        newest(&mut self.tag, newer.tag);
        if newer.status.is_some() {
            // The roll-up is recomputed from all alerts each time: the newest is right.
            self.status = newer.status;
            self.classification = newer.classification;
            self.determination = newer.determination;
        }
        newest(&mut self.assigned_to, newer.assigned_to);
        self
    }
}

/// An intent that coalesces with a newer one.
pub trait Coalesce: Sized + Serialize + for<'de> Deserialize<'de> {
    fn merge(self, newer: Self) -> Self;
}

impl Coalesce for AlertSync {
    fn merge(self, newer: Self) -> Self {
        AlertSync::merge(self, newer)
    }
}

impl Coalesce for IncidentSync {
    fn merge(self, newer: Self) -> Self {
        IncidentSync::merge(self, newer)
    }
}

/// Merge function for the store's coalescing outbox over JSON payloads of `T`; an unreadable
/// old payload is replaced by the new one.
pub fn merge_json<T: Coalesce>(old: &str, new: &str) -> String {
    match (serde_json::from_str::<T>(old), serde_json::from_str::<T>(new)) {
        (Ok(o), Ok(n)) => serde_json::to_string(&o.merge(n)).unwrap_or_else(|_| new.to_string()),
        _ => new.to_string(),
    }
}

/// [`merge_json`] for [`AlertSync`] payloads.
pub fn merge_alert_sync_json(old: &str, new: &str) -> String {
    merge_json::<AlertSync>(old, new)
}

/// [`merge_json`] for [`IncidentSync`] payloads.
pub fn merge_incident_sync_json(old: &str, new: &str) -> String {
    merge_json::<IncidentSync>(old, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Meaning;
    use crate::sync::inbound::test_sync;
    use crate::sync::state::Signl4State;

    #[test]
    fn coalescing_sends_the_final_status_once_with_comments_in_order() {
        let ack = test_sync(Meaning::Acknowledged, "e1", Signl4State::Open);
        let note = test_sync(Meaning::Annotated("x".into()), "e2", Signl4State::Acknowledged);
        let close = test_sync(Meaning::Closed, "e3", Signl4State::Acknowledged);
        let merged = ack.clone().merge(note.clone()).merge(close.clone());
        assert_eq!(merged.status.as_deref(), Some("resolved"));
        assert_eq!(merged.assigned_to.as_deref(), Some("rene"));
        assert_eq!(
            merged.comments.iter().map(|c| c.r#ref.as_str()).collect::<Vec<_>>(),
            vec!["[SIGNL4 e1]", "[SIGNL4 e2]", "[SIGNL4 e3]"]
        );
        // A late ack never downgrades a close; a repeated event adds no comment.
        let again = merged.clone().merge(ack.clone());
        assert_eq!(again.status.as_deref(), Some("resolved"));
        assert_eq!(again.comments.len(), 3);
        // JSON round trip as the store does it.
        let j = merge_alert_sync_json(&serde_json::to_string(&ack).unwrap(), &serde_json::to_string(&close).unwrap());
        let m: AlertSync = serde_json::from_str(&j).unwrap();
        assert_eq!(m.status.as_deref(), Some("resolved"));
        assert_eq!(m.comments.len(), 2);
    }
}

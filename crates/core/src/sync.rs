//! The two-way sync state machine, pure.
//!
//! - [`on_event`]: a SIGNL4 event (ack / close / note / escalation) → the new SIGNL4 state of
//!   the alert and the Graph write it asks for ([`AlertSync`]), with echo suppression.
//! - [`AlertSync::merge`]: coalescing of pending writes (ack then close during an outage →
//!   one `resolved` write, comments in order).
//! - [`alert_plan`]: desired state + the alert as Graph has it now → the minimal PATCH and the
//!   comments not yet posted (comment refs make retries idempotent).
//! - [`portal_change`]: an alert changed in the portal → close / acknowledge in SIGNL4, unless
//!   it is the echo of our own write.
//! - [`incident_rollup`] and [`incident_plan`]: the incident follows when all its tracked alerts
//!   did; tags and existing assignment are preserved.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::alert::AlertStatus;
use crate::signl4_event::Meaning;

/// Where the SIGNL4 alert of a paged alert stands, as far as we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signl4State {
    /// Not paged (yet).
    None,
    Open,
    Acknowledged,
    Closed,
    /// We acknowledged it in SIGNL4 because the portal moved the alert to inProgress.
    AcknowledgedByPortal,
    /// We closed it in SIGNL4 because the portal resolved the alert.
    ClosedByPortal,
}

impl Signl4State {
    pub fn as_str(self) -> &'static str {
        match self {
            Signl4State::None => "none",
            Signl4State::Open => "open",
            Signl4State::Acknowledged => "acknowledged",
            Signl4State::Closed => "closed",
            Signl4State::AcknowledgedByPortal => "acknowledged_by_portal",
            Signl4State::ClosedByPortal => "closed_by_portal",
        }
    }

    pub fn parse(s: &str) -> Signl4State {
        match s {
            "open" => Signl4State::Open,
            "acknowledged" => Signl4State::Acknowledged,
            "closed" => Signl4State::Closed,
            "acknowledged_by_portal" => Signl4State::AcknowledgedByPortal,
            "closed_by_portal" => Signl4State::ClosedByPortal,
            _ => Signl4State::None,
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Signl4State::Closed | Signl4State::ClosedByPortal)
    }

    pub fn is_acknowledged_or_closed(self) -> bool {
        !matches!(self, Signl4State::None | Signl4State::Open)
    }
}

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

fn status_rank(s: Option<&str>) -> u8 {
    match s {
        Some("resolved") => 2,
        Some("inProgress") => 1,
        _ => 0,
    }
}

impl AlertSync {
    /// Coalesces a newer intent into a pending one: the furthest status wins (a close is
    /// final), the latest owner wins, comments keep their order without duplicates.
    pub fn merge(mut self, newer: AlertSync) -> AlertSync {
        if status_rank(newer.status.as_deref()) >= status_rank(self.status.as_deref()) && newer.status.is_some() {
            self.status = newer.status;
            if newer.classification.is_some() {
                self.classification = newer.classification;
            }
            if newer.determination.is_some() {
                self.determination = newer.determination;
            }
        }
        if newer.assigned_to.is_some() {
            self.assigned_to = newer.assigned_to;
        }
        if newer.incident_id.is_some() {
            self.incident_id = newer.incident_id;
        }
        for c in newer.comments {
            if !self.comments.iter().any(|x| x.r#ref == c.r#ref) {
                self.comments.push(c);
            }
        }
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

/// Options for writes back to Microsoft.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Graph `classification` set when a SIGNL4 close resolves the alert (none = leave).
    pub close_classification: Option<String>,
    pub close_determination: Option<String>,
    /// SIGNL4 user (e-mail or name, lower-case) → UPN for `assignedTo`.
    pub user_map: std::collections::BTreeMap<String, String>,
}

impl SyncOptions {
    pub fn owner_for(&self, who: &str) -> String {
        self.user_map.get(&who.to_ascii_lowercase()).cloned().unwrap_or_else(|| who.to_string())
    }
}

/// The outcome of an inbound SIGNL4 event for one of our alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundDecision {
    pub new_state: Option<Signl4State>,
    pub sync: Option<AlertSync>,
    pub note: &'static str,
}

/// Decides what an event means for an alert currently in `state`. `event_id` is the event's
/// change key ([`crate::signl4_event::Event::change_key`]).
pub fn on_event(
    meaning: &Meaning,
    who: Option<&str>,
    event_id: &str,
    state: Signl4State,
    alert_id: &str,
    incident_id: Option<&str>,
    opts: &SyncOptions,
) -> InboundDecision {
    let by = who.unwrap_or("a SIGNL4 user");
    let base = AlertSync {
        alert_id: alert_id.to_string(),
        incident_id: incident_id.map(str::to_string),
        ..Default::default()
    };
    let none = |note| InboundDecision { new_state: None, sync: None, note };
    match meaning {
        Meaning::Ignore(why) => none(why),
        Meaning::Acknowledged => {
            if state == Signl4State::AcknowledgedByPortal {
                return InboundDecision {
                    new_state: Some(Signl4State::Acknowledged),
                    sync: None,
                    note: "echo of our own acknowledgement",
                };
            }
            if state.is_closed() {
                return none("acknowledgement after close (out of order)");
            }
            InboundDecision {
                new_state: Some(Signl4State::Acknowledged),
                sync: Some(AlertSync {
                    status: Some("inProgress".into()),
                    assigned_to: who.map(|w| opts.owner_for(w)),
                    comments: vec![SyncComment::new(event_id, format!("Acknowledged in SIGNL4 by {by}."))],
                    ..base
                }),
                note: "acknowledged",
            }
        }
        Meaning::Closed => {
            if state == Signl4State::ClosedByPortal {
                return InboundDecision {
                    new_state: Some(Signl4State::ClosedByPortal),
                    sync: None,
                    note: "echo of our own close",
                };
            }
            InboundDecision {
                new_state: Some(Signl4State::Closed),
                sync: Some(AlertSync {
                    status: Some("resolved".into()),
                    assigned_to: who.map(|w| opts.owner_for(w)),
                    classification: opts.close_classification.clone(),
                    determination: opts.close_determination.clone(),
                    comments: vec![SyncComment::new(event_id, format!("Closed in SIGNL4 by {by}."))],
                    ..base
                }),
                note: "closed",
            }
        }
        Meaning::Annotated(text) => InboundDecision {
            new_state: None,
            sync: Some(AlertSync {
                comments: vec![SyncComment::new(event_id, format!("SIGNL4 note from {by}: {text}"))],
                ..base
            }),
            note: "annotated",
        },
        Meaning::Escalated => InboundDecision {
            new_state: None,
            sync: Some(AlertSync {
                comments: vec![SyncComment::new(event_id, "Escalated in SIGNL4: nobody acknowledged in time.".into())],
                ..base
            }),
            note: "escalated",
        },
    }
}

/// The Graph requests that bring an alert to the desired state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertPlan {
    pub patch: Option<Map<String, Value>>,
    pub comments: Vec<String>,
}

/// Compares the desired state with the alert as Graph has it now (`GET alerts_v2/{id}`).
/// Never reopens a resolved alert; skips writes that are already true; skips comments whose
/// ref is already present.
pub fn alert_plan(sync: &AlertSync, current: &Value) -> AlertPlan {
    let cur_status = current.get("status").and_then(Value::as_str).unwrap_or("");
    let cur_owner = current.get("assignedTo").and_then(Value::as_str).unwrap_or("");
    let mut patch = Map::new();
    if let Some(want) = &sync.status {
        let regress = status_rank(Some(cur_status)) > status_rank(Some(want));
        if !regress && !cur_status.eq_ignore_ascii_case(want) {
            patch.insert("status".into(), json!(want));
            if want == "resolved" {
                if let Some(c) = &sync.classification {
                    patch.insert("classification".into(), json!(c));
                }
                if let Some(d) = &sync.determination {
                    patch.insert("determination".into(), json!(d));
                }
            }
        } else if want == "resolved" && cur_status.eq_ignore_ascii_case("resolved") {
            // Resolved meanwhile without a verdict (its incident was resolved and Graph
            // cascaded only the status): add ours, but never replace one a person chose.
            for (field, ours) in [("classification", &sync.classification), ("determination", &sync.determination)] {
                let cur = current.get(field).and_then(Value::as_str).unwrap_or("unknown");
                if let Some(v) = ours
                    && (cur.is_empty() || cur == "unknown")
                    && v != cur
                {
                    patch.insert(field.into(), json!(v));
                }
            }
        }
    }
    if let Some(owner) = &sync.assigned_to
        && !owner.eq_ignore_ascii_case(cur_owner)
        && cur_status != "resolved"
    {
        patch.insert("assignedTo".into(), json!(owner));
    }
    let existing: Vec<&str> = current
        .get("comments")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|c| c.get("comment").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let comments = sync
        .comments
        .iter()
        .filter(|c| !existing.iter().any(|e| e.contains(&c.r#ref)))
        .map(|c| c.text.clone())
        .collect();
    AlertPlan { patch: (!patch.is_empty()).then_some(patch), comments }
}

/// What to do in SIGNL4 when polling sees a paged alert change in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalAction {
    Resolve,
    Acknowledge,
}

/// `written` is the last status the connector itself wrote to this alert: seeing it come
/// back is an echo, not a portal change.
pub fn portal_change(
    state: Signl4State,
    written: Option<&str>,
    new_status: &AlertStatus,
    ack_on_in_progress: bool,
) -> Option<PortalAction> {
    if state == Signl4State::None || state.is_closed() {
        return None;
    }
    match new_status {
        AlertStatus::Resolved if written != Some("resolved") => Some(PortalAction::Resolve),
        AlertStatus::InProgress
            if ack_on_in_progress && state == Signl4State::Open && written != Some("inProgress") =>
        {
            Some(PortalAction::Acknowledge)
        }
        _ => None,
    }
}

/// An incident resolved or redirected (merged into another) by someone else closes the
/// SIGNL4 alerts of its tracked alerts that are still open — unless we resolved it ourselves.
pub fn incident_closes_alert(incident_status: &str, state: Signl4State, written: Option<&str>) -> bool {
    matches!(incident_status, "resolved" | "redirected")
        && state != Signl4State::None
        && !state.is_closed()
        && written != Some("resolved")
}

/// The status an incident should follow, given the SIGNL4 states of all its tracked (paged)
/// alerts: `resolved` when all are closed, `inProgress` when all are at least acknowledged.
pub fn incident_rollup(states: &[Signl4State]) -> Option<&'static str> {
    if states.is_empty() {
        return None;
    }
    if states.iter().all(|s| s.is_closed()) {
        Some("resolved")
    } else if states.iter().all(|s| s.is_acknowledged_or_closed()) {
        Some("inProgress")
    } else {
        None
    }
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

impl IncidentSync {
    pub fn merge(mut self, newer: IncidentSync) -> IncidentSync {
        if newer.tag.is_some() {
            self.tag = newer.tag;
        }
        if newer.status.is_some() {
            // The roll-up is recomputed from all alerts each time: the newest is right.
            self.status = newer.status;
            self.classification = newer.classification;
            self.determination = newer.determination;
        }
        if newer.assigned_to.is_some() {
            self.assigned_to = newer.assigned_to;
        }
        self
    }
}

/// [`merge_json`] for [`IncidentSync`] payloads.
pub fn merge_incident_sync_json(old: &str, new: &str) -> String {
    merge_json::<IncidentSync>(old, new)
}

/// Desired incident state + the incident as Graph has it → the PATCH body, if any. Existing
/// tags are kept (the tag is added to them); an existing assignment is never replaced; a
/// resolved or redirected incident is never reopened.
pub fn incident_plan(sync: &IncidentSync, current: &Value) -> Option<Map<String, Value>> {
    let mut patch = Map::new();
    if let Some(tag) = &sync.tag {
        let mut tags: Vec<Value> = current.get("customTags").and_then(Value::as_array).cloned().unwrap_or_default();
        if !tags.iter().any(|t| t.as_str().is_some_and(|s| s.eq_ignore_ascii_case(tag))) {
            tags.push(json!(tag));
            patch.insert("customTags".into(), Value::Array(tags));
        }
    }
    let cur_status = current.get("status").and_then(Value::as_str).unwrap_or("");
    let final_state = matches!(cur_status, "resolved" | "redirected");
    if let Some(want) = &sync.status
        && !final_state
        && !cur_status.eq_ignore_ascii_case(want)
    {
        patch.insert("status".into(), json!(want));
        if want == "resolved" {
            if let Some(c) = &sync.classification {
                patch.insert("classification".into(), json!(c));
            }
            if let Some(d) = &sync.determination {
                patch.insert("determination".into(), json!(d));
            }
        }
    }
    let cur_owner = current.get("assignedTo").and_then(Value::as_str).unwrap_or("");
    if let Some(owner) = &sync.assigned_to
        && cur_owner.is_empty()
        && !final_state
    {
        patch.insert("assignedTo".into(), json!(owner));
    }
    (!patch.is_empty()).then_some(patch)
}

#[cfg(test)]
mod cascade_tests {
    use super::*;

    #[test]
    fn a_close_still_adds_its_classification_when_the_incident_resolved_the_alert_first() {
        let sync = AlertSync {
            alert_id: "a".into(),
            status: Some("resolved".into()),
            classification: Some("truePositive".into()),
            ..Default::default()
        };
        let cascaded = json!({"status": "resolved", "classification": "unknown", "determination": "unknown"});
        let plan = alert_plan(&sync, &cascaded);
        assert_eq!(plan.patch, Some(serde_json::from_value(json!({"classification": "truePositive"})).unwrap()));
        let by_a_person = json!({"status": "resolved", "classification": "falsePositive"});
        assert_eq!(alert_plan(&sync, &by_a_person).patch, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SyncOptions {
        let mut user_map = std::collections::BTreeMap::new();
        user_map.insert("rene@signl4.com".into(), "rene@contoso.com".into());
        SyncOptions { close_classification: Some("truePositive".into()), close_determination: None, user_map }
    }

    #[test]
    fn ack_close_note_decisions() {
        let d = on_event(
            &Meaning::Acknowledged,
            Some("Rene@signl4.com"),
            "e1",
            Signl4State::Open,
            "a1",
            Some("42"),
            &opts(),
        );
        assert_eq!(d.new_state, Some(Signl4State::Acknowledged));
        let s = d.sync.unwrap();
        assert_eq!(s.status.as_deref(), Some("inProgress"));
        assert_eq!(s.assigned_to.as_deref(), Some("rene@contoso.com"), "mapped to the UPN");
        assert_eq!(s.comments[0].text, "Acknowledged in SIGNL4 by Rene@signl4.com. [SIGNL4 e1]");
        assert_eq!(s.incident_id.as_deref(), Some("42"));

        let d = on_event(&Meaning::Closed, None, "e2", Signl4State::Acknowledged, "a1", None, &opts());
        let s = d.sync.unwrap();
        assert_eq!((s.status.as_deref(), s.classification.as_deref()), (Some("resolved"), Some("truePositive")));
        assert!(s.comments[0].text.starts_with("Closed in SIGNL4 by a SIGNL4 user."));

        let d = on_event(
            &Meaning::Annotated("on my way".into()),
            Some("rene"),
            "e3",
            Signl4State::Acknowledged,
            "a1",
            None,
            &opts(),
        );
        assert_eq!(d.new_state, None);
        assert_eq!(d.sync.unwrap().comments[0].text, "SIGNL4 note from rene: on my way [SIGNL4 e3]");
    }

    #[test]
    fn echoes_and_out_of_order_events_write_nothing() {
        let d = on_event(&Meaning::Closed, None, "e", Signl4State::ClosedByPortal, "a", None, &opts());
        assert!(d.sync.is_none());
        let d = on_event(&Meaning::Acknowledged, None, "e", Signl4State::AcknowledgedByPortal, "a", None, &opts());
        assert!(d.sync.is_none());
        assert_eq!(d.new_state, Some(Signl4State::Acknowledged));
        let d = on_event(&Meaning::Acknowledged, None, "e", Signl4State::Closed, "a", None, &opts());
        assert!(d.sync.is_none() && d.new_state.is_none());
        let d = on_event(&Meaning::Ignore("test event"), None, "e", Signl4State::Open, "a", None, &opts());
        assert!(d.sync.is_none());
    }

    #[test]
    fn coalescing_sends_the_final_status_once_with_comments_in_order() {
        let ack =
            on_event(&Meaning::Acknowledged, Some("rene"), "e1", Signl4State::Open, "a", None, &SyncOptions::default())
                .sync
                .unwrap();
        let note = on_event(
            &Meaning::Annotated("x".into()),
            Some("rene"),
            "e2",
            Signl4State::Acknowledged,
            "a",
            None,
            &SyncOptions::default(),
        )
        .sync
        .unwrap();
        let close = on_event(
            &Meaning::Closed,
            Some("rene"),
            "e3",
            Signl4State::Acknowledged,
            "a",
            None,
            &SyncOptions::default(),
        )
        .sync
        .unwrap();
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

    #[test]
    fn plans_are_minimal_and_idempotent() {
        let ack =
            on_event(&Meaning::Acknowledged, Some("rene"), "e1", Signl4State::Open, "a", None, &SyncOptions::default())
                .sync
                .unwrap();
        let fresh = json!({"status": "new", "assignedTo": null, "comments": []});
        let p = alert_plan(&ack, &fresh);
        assert_eq!(Value::Object(p.patch.unwrap()), json!({"status": "inProgress", "assignedTo": "rene"}));
        assert_eq!(p.comments.len(), 1);
        // After a partial success (PATCH done, comment posted), a retry writes nothing.
        let done =
            json!({"status": "inProgress", "assignedTo": "rene", "comments": [{"comment": ack.comments[0].text}]});
        assert_eq!(alert_plan(&ack, &done), AlertPlan::default());
        // An alert resolved in the portal is not reopened by a late ack, nor reassigned.
        let resolved = json!({"status": "resolved", "assignedTo": "analyst@contoso.com", "comments": []});
        let p = alert_plan(&ack, &resolved);
        assert!(p.patch.is_none());
        assert_eq!(p.comments.len(), 1, "the comment still documents who acknowledged");
    }

    #[test]
    fn portal_changes_versus_our_own_echo() {
        use AlertStatus::*;
        assert_eq!(portal_change(Signl4State::Open, None, &Resolved, false), Some(PortalAction::Resolve));
        assert_eq!(
            portal_change(Signl4State::Acknowledged, Some("inProgress"), &Resolved, false),
            Some(PortalAction::Resolve)
        );
        assert_eq!(
            portal_change(Signl4State::Closed, Some("resolved"), &Resolved, false),
            None,
            "our own close coming back"
        );
        assert_eq!(portal_change(Signl4State::Open, Some("resolved"), &Resolved, false), None);
        assert_eq!(portal_change(Signl4State::ClosedByPortal, None, &Resolved, false), None, "already closed");
        assert_eq!(portal_change(Signl4State::None, None, &Resolved, false), None, "never paged");
        assert_eq!(portal_change(Signl4State::Open, None, &InProgress, false), None);
        assert_eq!(portal_change(Signl4State::Open, None, &InProgress, true), Some(PortalAction::Acknowledge));
        assert_eq!(portal_change(Signl4State::Open, Some("inProgress"), &InProgress, true), None);
        assert_eq!(portal_change(Signl4State::Acknowledged, None, &InProgress, true), None);
    }

    #[test]
    fn incidents_closed_or_redirected_elsewhere_close_open_signl4_alerts() {
        assert!(incident_closes_alert("redirected", Signl4State::Open, None));
        assert!(incident_closes_alert("resolved", Signl4State::Acknowledged, Some("inProgress")));
        assert!(!incident_closes_alert("resolved", Signl4State::Closed, Some("resolved")));
        assert!(!incident_closes_alert("active", Signl4State::Open, None));
        assert!(!incident_closes_alert("resolved", Signl4State::None, None));
        assert!(!incident_closes_alert("resolved", Signl4State::Open, Some("resolved")));
    }

    #[test]
    fn incident_rollup_waits_for_the_last_alert() {
        use Signl4State::{Acknowledged, Closed, ClosedByPortal, Open};
        assert_eq!(incident_rollup(&[Acknowledged, Open]), Option::None);
        assert_eq!(incident_rollup(&[Acknowledged, Closed]), Some("inProgress"));
        assert_eq!(incident_rollup(&[Closed, ClosedByPortal]), Some("resolved"));
        assert_eq!(incident_rollup(&[]), Option::None);
    }

    #[test]
    fn incident_plan_preserves_tags_and_owner() {
        let s = IncidentSync {
            incident_id: "1".into(),
            tag: Some("SIGNL4".into()),
            status: Some("inProgress".into()),
            assigned_to: Some("rene".into()),
            ..Default::default()
        };
        let cur = json!({"status": "active", "customTags": ["Finance"], "assignedTo": "owner@contoso.com"});
        assert_eq!(
            Value::Object(incident_plan(&s, &cur).unwrap()),
            json!({"customTags": ["Finance", "SIGNL4"], "status": "inProgress"})
        );
        let cur = json!({"status": "inProgress", "customTags": ["signl4"], "assignedTo": null});
        assert_eq!(Value::Object(incident_plan(&s, &cur).unwrap()), json!({"assignedTo": "rene"}));
        let cur = json!({"status": "redirected", "customTags": ["SIGNL4"]});
        assert_eq!(incident_plan(&s, &cur), None);
    }
}

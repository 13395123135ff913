//! Write-back plans: desired state + the alert or incident as Graph has it → the minimal PATCH and comments.

use serde_json::{Map, Value, json};

use super::intent::{AlertSync, IncidentSync, status_rank};
use super::state::Signl4State;

/// The Graph requests that bring an alert to the desired state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertPlan {
    pub patch: Option<Map<String, Value>>,
    pub comments: Vec<String>,
}

/// A string field of the resource as Graph has it (`""` when absent or null).
fn field<'a>(current: &'a Value, key: &str) -> &'a str {
    current.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Sets `status`; a resolve also carries the classification and determination asked for.
fn set_status(patch: &mut Map<String, Value>, want: &str, classification: Option<&str>, determination: Option<&str>) {
    patch.insert("status".into(), json!(want));
    if want == "resolved" {
        if let Some(c) = classification {
            patch.insert("classification".into(), json!(c));
        }
        if let Some(d) = determination {
            patch.insert("determination".into(), json!(d));
        }
    }
}

/// Compares the desired state with the alert as Graph has it now (`GET alerts_v2/{id}`).
/// Never reopens a resolved alert; skips writes that are already true; skips comments whose
/// ref is already present.
pub fn alert_plan(sync: &AlertSync, current: &Value) -> AlertPlan {
    let cur_status = field(current, "status");
    let cur_owner = field(current, "assignedTo");
    let mut patch = Map::new();
    if let Some(want) = &sync.status {
        let regress = status_rank(Some(cur_status)) > status_rank(Some(want));
        if !regress && !cur_status.eq_ignore_ascii_case(want) {
            set_status(&mut patch, want, sync.classification.as_deref(), sync.determination.as_deref());
        } else if want == "resolved" && cur_status.eq_ignore_ascii_case("resolved") {
            // Resolved meanwhile without a verdict (its incident was resolved and Graph
            // cascaded only the status): add ours, but never replace one a person chose.
            for (key, ours) in [("classification", &sync.classification), ("determination", &sync.determination)] {
                let cur = field(current, key);
                if let Some(v) = ours
                    && (cur.is_empty() || cur == "unknown")
                    && v != cur
                {
                    patch.insert(key.into(), json!(v));
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

/// The status an incident should follow, given the SIGNL4 states of all its tracked (paged)
/// alerts: `resolved` when all are closed, `inProgress` when all are at least acknowledged.
/// Alerts held back by a storm budget were never paged, so nobody can act on them, and an
/// alert grouped into its incident's page follows that page: neither holds the incident back.
pub fn incident_rollup(states: &[Signl4State]) -> Option<&'static str> {
    let states: Vec<Signl4State> =
        states.iter().copied().filter(|s| !matches!(s, Signl4State::Held | Signl4State::Grouped)).collect();
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
    let cur_status = field(current, "status");
    let final_state = matches!(cur_status, "resolved" | "redirected");
    if let Some(want) = &sync.status
        && !final_state
        && !cur_status.eq_ignore_ascii_case(want)
    {
        set_status(&mut patch, want, sync.classification.as_deref(), sync.determination.as_deref());
    }
    if let Some(owner) = &sync.assigned_to
        && field(current, "assignedTo").is_empty()
        && !final_state
    {
        patch.insert("assignedTo".into(), json!(owner));
    }
    (!patch.is_empty()).then_some(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Meaning;
    use crate::sync::inbound::test_sync;

    #[test]
    fn plans_are_minimal_and_idempotent() {
        let ack = test_sync(Meaning::Acknowledged, "e1", Signl4State::Open);
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

//! Inbound SIGNL4 events → decisions: the new SIGNL4 state and the Graph write asked for ([`on_event`]).

use super::intent::{AlertSync, SyncComment};
use super::state::Signl4State;

/// What a SIGNL4 event means for the sync (`signl4::event::Event::meaning`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    Acknowledged,
    Closed,
    Escalated,
    Annotated(String),
    /// Test, duty, "created" (our own page) and other events: accepted and ignored.
    Ignore(&'static str),
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
/// change key ([`crate::signl4::event::Event::change_key`]).
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
    let echo = |state, note| InboundDecision { new_state: Some(state), sync: None, note };
    match meaning {
        Meaning::Ignore(why) => none(why),
        Meaning::Acknowledged => {
            if state == Signl4State::AcknowledgedByPortal {
                return echo(Signl4State::Acknowledged, "echo of our own acknowledgement");
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
                return echo(Signl4State::ClosedByPortal, "echo of our own close");
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

/// The write that `meaning`, by "rene" with default options, asks for on alert `a` (tests of
/// the other sync parts start from it).
#[cfg(test)]
pub(super) fn test_sync(meaning: Meaning, change: &str, state: Signl4State) -> AlertSync {
    on_event(&meaning, Some("rene"), change, state, "a", None, &SyncOptions::default()).sync.unwrap()
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
}

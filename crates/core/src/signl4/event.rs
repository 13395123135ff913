//! SIGNL4 outbound-webhook events (`signl4.md` §3), parsed tolerantly.
//!
//! SIGNL4 does not sign its requests, may deliver an event more than once (dedupe on the
//! top-level `id`), sends `eventRaisedUtc` with 0–7 fractional digits, and may omit `user`,
//! `team` or `annotation` or send them as `null`. Unknown fields are ignored.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::rest::{RestAlert, user_from};
use super::user::User;
use crate::sync::Meaning;
use crate::timefmt;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EventAlert {
    #[serde(default)]
    pub status_code: Option<i64>,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub external_event_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct Annotation {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// The team an event names (`team.id`: after an escalation, the team the alert is in now,
/// `signl4.md` §2.4, §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct TeamRef {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    id: Option<Value>,
    event_type: Option<Value>,
    #[serde(default)]
    event_raised_utc: Option<String>,
    #[serde(default)]
    alert: Option<EventAlert>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    annotation: Option<Annotation>,
    /// Kept as any JSON: a `team` of an unexpected shape is ignored, not an error.
    #[serde(default)]
    team: Option<Value>,
}

/// A parsed outbound-webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Top-level `id`: unique per notification, the dedup key.
    pub id: String,
    pub event_type: i64,
    pub raised: Option<OffsetDateTime>,
    pub alert: Option<EventAlert>,
    pub user: Option<User>,
    pub annotation: Option<Annotation>,
    /// The team the event names, if any (escalations, duty events).
    pub team: Option<TeamRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a SIGNL4 event: {0}")]
    Shape(String),
    #[error("event has no `id`")]
    MissingId,
    #[error("event has no numeric `eventType`")]
    MissingType,
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses one webhook body.
pub fn parse(body: &[u8]) -> Result<Event, EventError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
    if !v.is_object() {
        return Err(EventError::Shape("expected a JSON object".into()));
    }
    let raw: RawEvent = serde_json::from_value(v).map_err(|e| EventError::Shape(e.to_string()))?;
    let id = raw.id.as_ref().and_then(as_string).ok_or(EventError::MissingId)?;
    let event_type = match raw.event_type {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or(EventError::MissingType)?;
    Ok(Event {
        id,
        event_type,
        raised: raw.event_raised_utc.as_deref().and_then(timefmt::parse),
        alert: raw.alert,
        user: raw.user,
        annotation: raw.annotation,
        team: raw.team.and_then(|t| serde_json::from_value::<TeamRef>(t).ok()),
    })
}

/// How every annotation the connector itself adds to a SIGNL4 alert starts, so that its echo
/// (an outbound `203`, or the REST poller) is not written back as a responder's note.
pub const OWN_ANNOTATION: &str = "[signl4-sentinel] ";

impl Event {
    pub fn meaning(&self) -> Meaning {
        let status = self.alert.as_ref().and_then(|a| a.status_code);
        match self.event_type {
            201 => match status {
                Some(2) => Meaning::Acknowledged,
                Some(4) => Meaning::Closed,
                _ => Meaning::Ignore("status change to a status we do not sync"),
            },
            202 => Meaning::Escalated,
            203 => match self.annotation.as_ref().and_then(|a| a.message.clone()).filter(|m| !m.trim().is_empty()) {
                // Our own annotation (a grouped alert added to its incident's page) coming back.
                Some(m) if m.trim_start().starts_with(OWN_ANNOTATION.trim_end()) => {
                    Meaning::Ignore("the connector's own annotation")
                }
                Some(m) => Meaning::Annotated(m),
                None => Meaning::Ignore("annotation without text"),
            },
            200 => Meaning::Ignore("alert created (our own page)"),
            1 => Meaning::Ignore("test event"),
            300..=303 => Meaning::Ignore("duty event"),
            _ => Meaning::Ignore("unknown event type"),
        }
    }

    /// The external id we sent (`X-S4-ExternalID`), if any.
    pub fn external_id(&self) -> Option<&str> {
        self.alert.as_ref()?.external_event_id.as_deref().filter(|s| !s.is_empty())
    }

    /// SIGNL4's event id of the page (fallback correlation).
    pub fn signl4_event_id(&self) -> Option<&str> {
        self.alert.as_ref()?.event_id.as_deref().filter(|s| !s.is_empty())
    }

    /// The SIGNL4 team id the event names (`team.id`), if any.
    pub fn team_id(&self) -> Option<&str> {
        self.team.as_ref()?.id.as_deref().filter(|s| !s.is_empty())
    }

    pub fn who(&self) -> Option<&str> {
        self.user.as_ref().and_then(User::display)
    }

    /// A key for the *change* this event reports, the same whichever way it reaches us (this
    /// webhook, a repeated delivery, or the REST polling fallback): `ack:{alert}`,
    /// `close:{alert}`, `note:{annotation}`. Falls back to the event id.
    pub fn change_key(&self) -> String {
        let alert_id = self.alert.as_ref().and_then(|a| a.id.as_deref()).filter(|s| !s.is_empty());
        match (self.meaning(), alert_id) {
            (Meaning::Acknowledged, Some(a)) => format!("ack:{a}"),
            (Meaning::Closed, Some(a)) => format!("close:{a}"),
            (Meaning::Annotated(_), _) => {
                match self.annotation.as_ref().and_then(|n| n.id.as_deref()).filter(|s| !s.is_empty()) {
                    Some(n) => format!("note:{n}"),
                    None => format!("event:{}", self.id),
                }
            }
            _ => format!("event:{}", self.id),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// REST polling fallback: SIGNL4 alerts read through the REST API become the same events.
// ---------------------------------------------------------------------------------------------

fn str_at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str)).filter(|s| !s.is_empty())
}

/// Events for the status of one alert read through the REST API (V1 or V2 shape, see
/// [`crate::signl4::rest`]): an acknowledgement (when acknowledged, or closed after an
/// acknowledgement) and a close. Their change keys equal the webhook's, so a change seen both
/// ways has one effect. Resolve user ids first ([`RestAlert::resolve_users`]).
pub fn events_from_rest_alert(alert: &RestAlert) -> Vec<Event> {
    let base = EventAlert {
        status_code: None,
        event_id: alert.event_id.clone(),
        external_event_id: alert.external_id.clone(),
        id: Some(alert.id.clone()),
    };
    let ev = |status: i64, user: Option<User>| Event {
        id: format!("rest:{}:{status}", alert.id),
        event_type: 201,
        raised: alert.last_modified,
        alert: Some(EventAlert { status_code: Some(status), ..base.clone() }),
        user,
        annotation: None,
        team: None,
    };
    match alert.status {
        Some(2) => vec![ev(2, alert.acknowledged_by.clone())],
        Some(4) => {
            let mut out = Vec::new();
            if alert.acknowledged_by.is_some() {
                out.push(ev(2, alert.acknowledged_by.clone()));
            }
            out.push(ev(4, alert.closed_by.clone()));
            out
        }
        _ => Vec::new(),
    }
}

/// Events for the annotations of one alert read through the REST API (`[{id, text, user |
/// userId, timestamp}]`, or `{results: [...]}`); user ids are resolved through `users`.
pub fn events_from_rest_annotations(
    alert: &RestAlert,
    annotations: &Value,
    users: &std::collections::HashMap<String, User>,
) -> Vec<Event> {
    let list = annotations.as_array().or_else(|| annotations.get("results").and_then(Value::as_array));
    list.into_iter()
        .flatten()
        .filter_map(|n| {
            let text = str_at(n, &["text", "message"])?;
            let id = str_at(n, &["id"])?;
            let mut user = user_from(n.get("user")).or_else(|| user_from(n.get("userId")));
            if let Some(u) = user.as_mut().filter(|u| u.mailaddress.is_none())
                && let Some(known) = u.id.as_ref().and_then(|i| users.get(i))
            {
                u.mailaddress = known.mailaddress.clone();
            }
            Some(Event {
                id: format!("rest:{id}"),
                event_type: 203,
                raised: str_at(n, &["timestamp"]).and_then(timefmt::parse),
                alert: Some(EventAlert {
                    status_code: Some(0),
                    event_id: alert.event_id.clone(),
                    external_event_id: alert.external_id.clone(),
                    id: Some(alert.id.clone()),
                }),
                user,
                annotation: Some(Annotation { message: Some(text.to_string()), id: Some(id.to_string()) }),
                team: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_alerts_become_the_same_changes_as_webhooks() {
        use std::collections::HashMap;
        let v1 = serde_json::json!({
            "id": "2518981069381242800_2ab1b5e0-f1b7-4c3e-9adf-6c157eeb4685", "eventId": "e1", "status": 4,
            "parameters": [{"name": "X-S4-ExternalID", "value": "s4s:t:graph-alert:1"}],
            "history": {"acknowledgedBy": {"mailaddress": "rene@signl4.com"}, "closedBy": {"username": "Rene"}}
        });
        let alert = RestAlert::from_json(&v1).unwrap();
        let evs = events_from_rest_alert(&alert);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].meaning(), Meaning::Acknowledged);
        assert_eq!(evs[0].who(), Some("rene@signl4.com"));
        assert_eq!(evs[1].meaning(), Meaning::Closed);
        assert_eq!(evs[1].external_id(), Some("s4s:t:graph-alert:1"));
        let webhook = parse(ACK.as_bytes()).unwrap();
        assert_eq!(evs[0].change_key(), webhook.change_key(), "same change, same key");
        // V2: nested status, acknowledgements by user id, resolved to the e-mail.
        let v2 = serde_json::json!({
            "id": "2518981069381242800_2ab1b5e0-f1b7-4c3e-9adf-6c157eeb4685", "externalId": "s4s:t:graph-alert:1",
            "status": {"statusCode": 2}, "history": {"acknowledgements": [{"userId": "u1"}]}
        });
        let mut a2 = RestAlert::from_json(&v2).unwrap();
        let users: HashMap<String, User> =
            [("u1".to_string(), User { mailaddress: Some("rene@signl4.com".into()), ..Default::default() })].into();
        a2.resolve_users(&users);
        let evs2 = events_from_rest_alert(&a2);
        assert_eq!((evs2.len(), evs2[0].who()), (1, Some("rene@signl4.com")));
        assert_eq!(evs2[0].change_key(), webhook.change_key());
        let new = RestAlert::from_json(&serde_json::json!({"id": "a", "status": {"statusCode": 1}})).unwrap();
        assert!(events_from_rest_alert(&new).is_empty());
        let notes = serde_json::json!([{"id": "n1", "text": "on it", "userId": "u1"}, {"id": "n2"}]);
        let evs = events_from_rest_annotations(&alert, &notes, &users);
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].meaning(), Meaning::Annotated("on it".into()));
        assert_eq!(evs[0].change_key(), "note:n1");
        assert_eq!(evs[0].who(), Some("rene@signl4.com"));
    }

    // Verbatim from `signl4.md` §3.3.
    const ACK: &str = r#"{
      "eventType": 201,
      "eventRaisedUtc": "2017-09-01T08:11:37.4815663Z",
      "subscription": { "id": "0acf8014-22f2-4503-88d7-f7d05b46744f" },
      "user": { "username": "Rene", "mailaddress": "rene@signl4.com", "id": "f0bd5063-9588-51cf-b3d9-94e5647dedc5" },
      "alert": {
        "statusCode": 2,
        "eventId": "2518783235949759942_fbc7b4a4-badd-47b8-9e1d-702fb6a1a0b2",
        "externalEventId": "Content you passed in the X-S4-ExternalID parameter",
        "acknowledgedUserIds": [ "f0bd5063-9588-51cf-b3d9-94e5647dedc5" ],
        "id": "2518981069381242800_2ab1b5e0-f1b7-4c3e-9adf-6c157eeb4685"
      },
      "id": "dd209a2d-e037-41ee-b37d-f605cc0a39fb"
    }"#;

    const ESCALATED: &str = r#"{
      "eventType": 202,
      "eventRaisedUtc": "2020-01-10T12:27:19Z",
      "subscription": { "id": "b8fdd850-e2ad-45ff-924d-9c332a063200" },
      "team": { "id": "0e8979f7-0c6a-472d-8918-ecfd339252f8" },
      "alert": {
        "statusCode": 1,
        "eventId": "2518236416806594587_0e67b746-6c88-4ddf-8872-99690b0457d9",
        "externalEventId": "INC091210",
        "acknowledgedUserIds": [],
        "id": "2518236416804564453_12ea0f6f-948c-43d0-9034-f9565d7b6bd2"
      },
      "id": "27283793-47c8-4da2-9767-d37be224338d"
    }"#;

    const ANNOTATED: &str = r#"{
      "eventType": 203,
      "eventRaisedUtc": "2018-04-17T15:00:32Z",
      "subscription": { "id": "1578ebd9-0a27-44ab-bc8e-52cd7d32e81d" },
      "user": { "username": "Rene", "mailaddress": "rene@signl4.com", "id": "f0bd5063-9588-51cf-b3d9-94e5647dedc5" },
      "alert": {
        "statusCode": 0,
        "eventId": "2518783235949759942_fbc7b4a4-badd-47b8-9e1d-702fb6a1a0b2",
        "externalEventId": "Content you passed in the X-S4-ExternalID parameter",
        "id": "2518783235958846071_4e2dfab2-4717-42bc-8d37-8682402309c2"
      },
      "annotation": { "message": "OK, I'll take care about it.", "id": "2518783235661483318_99ebffe0-1b90-40ef-990a-fbd842484761" },
      "id": "141c0f88-7831-4d5e-b055-f6e83c269770"
    }"#;

    #[test]
    fn documented_payloads() {
        let e = parse(ACK.as_bytes()).unwrap();
        assert_eq!(e.id, "dd209a2d-e037-41ee-b37d-f605cc0a39fb");
        assert_eq!(e.meaning(), Meaning::Acknowledged);
        assert_eq!(e.who(), Some("rene@signl4.com"));
        assert_eq!(e.external_id(), Some("Content you passed in the X-S4-ExternalID parameter"));
        assert_eq!(e.raised.unwrap().nanosecond(), 481_566_300);
        let closed = parse(ACK.replace("\"statusCode\": 2", "\"statusCode\": 4").as_bytes()).unwrap();
        assert_eq!(closed.meaning(), Meaning::Closed);
        let esc = parse(ESCALATED.as_bytes()).unwrap();
        assert_eq!(esc.meaning(), Meaning::Escalated);
        assert_eq!(esc.who(), None);
        assert_eq!(esc.team_id(), Some("0e8979f7-0c6a-472d-8918-ecfd339252f8"));
        assert_eq!(parse(ACK.as_bytes()).unwrap().team_id(), None);
        let ann = parse(ANNOTATED.as_bytes()).unwrap();
        assert_eq!(ann.meaning(), Meaning::Annotated("OK, I'll take care about it.".into()));
    }

    #[test]
    fn change_keys_are_the_same_for_every_delivery_path() {
        let a = parse(ACK.as_bytes()).unwrap();
        assert_eq!(a.change_key(), "ack:2518981069381242800_2ab1b5e0-f1b7-4c3e-9adf-6c157eeb4685");
        let again =
            parse(ACK.replace("dd209a2d-e037-41ee-b37d-f605cc0a39fb", "another-delivery-id").as_bytes()).unwrap();
        assert_eq!(a.change_key(), again.change_key());
        let n = parse(ANNOTATED.as_bytes()).unwrap();
        assert_eq!(n.change_key(), "note:2518783235661483318_99ebffe0-1b90-40ef-990a-fbd842484761");
        let no_alert_id = parse(br#"{"eventType":201,"id":"e9","alert":{"statusCode":4}}"#).unwrap();
        assert_eq!(no_alert_id.change_key(), "event:e9");
    }

    #[test]
    fn tolerant_of_nulls_missing_parts_and_extra_fields() {
        let e = parse(br#"{"eventType":203,"id":"x","user":null,"team":null,"annotation":null,"alert":{"statusCode":0,"externalEventId":"e","newThing":[1]},"extra":true}"#).unwrap();
        assert_eq!(e.meaning(), Meaning::Ignore("annotation without text"));
        assert_eq!(e.who(), None);
        let duty =
            parse(br#"{"eventType":300,"eventRaisedUtc":"2017-09-01T09:16:17.3717355Z","team":{"id":"f1"},"id":"f5"}"#)
                .unwrap();
        assert_eq!(duty.meaning(), Meaning::Ignore("duty event"));
        assert_eq!(parse(br#"{"eventType":1,"id":"t"}"#).unwrap().meaning(), Meaning::Ignore("test event"));
        let num_id = parse(br#"{"eventType":"201","id":12,"alert":{"statusCode":2}}"#).unwrap();
        assert_eq!(num_id.id, "12");
        let odd_team = parse(br#"{"eventType":202,"id":"x","team":"t1","alert":{"statusCode":1}}"#).unwrap();
        assert_eq!((odd_team.meaning(), odd_team.team_id()), (Meaning::Escalated, None));
        let user_only_name =
            parse(br#"{"eventType":201,"id":"x","user":{"username":"Rene"},"alert":{"statusCode":2}}"#).unwrap();
        assert_eq!(user_only_name.who(), Some("Rene"));
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert!(matches!(parse(b"not json"), Err(EventError::NotJson(_))));
        assert!(matches!(parse(b"[1,2]"), Err(EventError::Shape(_))));
        assert_eq!(parse(br#"{"eventType":201}"#), Err(EventError::MissingId));
        assert_eq!(parse(br#"{"id":"x"}"#), Err(EventError::MissingType));
        assert!(matches!(parse(br#"{"id":"x","eventType":201,"alert":"oops"}"#), Err(EventError::Shape(_))));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Arbitrary bytes never panic the parser.
            #[test]
            fn arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = parse(&body);
            }

            /// Arbitrary field values in the documented shape never panic, and a parsed event
            /// always has a meaning.
            #[test]
            fn arbitrary_fields(
                ty in prop_oneof![Just(1i64), Just(200), Just(201), Just(202), Just(203), Just(300), any::<i64>()],
                status in proptest::option::of(any::<i64>()),
                ts in "[0-9T:.Z-]{0,30}",
                msg in proptest::option::of(".{0,40}"),
                user in proptest::option::of(("[a-z]{0,8}", proptest::option::of("[a-z@.]{0,12}"))),
            ) {
                let body = serde_json::json!({
                    "eventType": ty, "id": "id1", "eventRaisedUtc": ts,
                    "alert": {"statusCode": status, "externalEventId": "s4s:t:graph-alert:1"},
                    "annotation": msg.map(|m| serde_json::json!({"message": m})),
                    "user": user.map(|(u, m)| serde_json::json!({"username": u, "mailaddress": m})),
                });
                let e = parse(body.to_string().as_bytes()).unwrap();
                let _ = e.meaning();
                prop_assert_eq!(e.external_id(), Some("s4s:t:graph-alert:1"));
            }
        }
    }
}

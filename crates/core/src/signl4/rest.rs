//! SIGNL4 REST API objects (`signl4.md` §2.3 V1, §2.4 V2), read tolerantly: an alert in either
//! shape becomes one [`RestAlert`], an event's status becomes a delivery [`Verdict`].
//!
//! V1 has `status` as a number and user objects in `history.acknowledgedBy` / `closedBy`; V2
//! nests `status.statusCode`, lists `history.acknowledgements[]` and `history.closedBy` with a
//! user id only (resolved to an e-mail through `GET /v2/users`). Which one the live API answers
//! is uncertain (§2.4: "medium that today's live API matches it exactly"), so both are read;
//! unknown fields and values never fail.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::user::User;
use crate::timefmt;

fn str_at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str)).filter(|s| !s.is_empty())
}

/// A number, a numeric string, or an object with `statusCode` / `code`.
fn code(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => code(o.get("statusCode").or_else(|| o.get("code"))),
        _ => None,
    }
}

/// A user as the REST API shows it: an object (V1: `username`, `mailaddress`, `id`; V2: `mail`,
/// `userId`), or a bare id string (V2 acknowledgements).
pub fn user_from(v: Option<&Value>) -> Option<User> {
    let v = v?;
    if let Some(s) = v.as_str() {
        return (!s.is_empty()).then(|| User { id: Some(s.to_string()), ..Default::default() });
    }
    if !v.is_object() {
        return None;
    }
    if let Some(inner) = v.get("user").filter(|u| u.is_object()) {
        return user_from(Some(inner));
    }
    let u = User {
        username: str_at(v, &["username", "userName", "displayName", "name"]).map(str::to_string),
        mailaddress: str_at(v, &["mailaddress", "mailAddress", "mail", "email"]).map(str::to_string),
        id: str_at(v, &["id", "userId", "uid"]).map(str::to_string),
    };
    (u != User::default()).then_some(u)
}

/// One SIGNL4 alert read through the REST API, whichever shape it came in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestAlert {
    pub id: String,
    pub event_id: Option<String>,
    /// `X-S4-ExternalID` as sent: `externalId` (V2), `externalEventId`, or `parameters[]`.
    pub external_id: Option<String>,
    /// `AlertStatusCodes`: 1 new, 2 acknowledged, 4 closed (§2.3).
    pub status: Option<i64>,
    pub acknowledged_by: Option<User>,
    pub closed_by: Option<User>,
    /// `alertDeliveryStatus.statusCode`: 30 nobody on duty, 31 nobody notified (§2.4).
    pub delivery_status: Option<i64>,
    pub last_modified: Option<OffsetDateTime>,
    /// `history.created` (V2) / `created`.
    pub created: Option<OffsetDateTime>,
}

/// The external id of a REST alert: `externalId`, `externalEventId`, or the `X-S4-ExternalID`
/// entry of `parameters[]`.
pub fn external_id(alert: &Value) -> Option<String> {
    if let Some(s) = str_at(alert, &["externalId", "externalEventId", "externalID"]) {
        return Some(s.to_string());
    }
    alert.get("parameters")?.as_array()?.iter().find_map(|p| {
        let name = p.get("name").and_then(Value::as_str)?;
        name.eq_ignore_ascii_case("X-S4-ExternalID")
            .then(|| p.get("value").and_then(Value::as_str).map(str::to_string))
            .flatten()
    })
}

fn status_of(alert: &Value) -> Option<i64> {
    let v = alert.get("status").or_else(|| alert.get("statusCode"))?;
    match v {
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "acknowledged" | "confirmed" => Some(2),
            "closed" | "resolved" => Some(4),
            "new" | "open" => Some(1),
            other => other.parse().ok(),
        },
        other => code(Some(other)),
    }
}

impl RestAlert {
    /// Reads a V1 or V2 alert; None without an `id`.
    pub fn from_json(alert: &Value) -> Option<RestAlert> {
        let id = str_at(alert, &["id", "alertId"])?.to_string();
        let history = alert.get("history").unwrap_or(&Value::Null);
        // V2: `acknowledgements[]` (ids or objects); V1: `acknowledgedBy`, and the swagger's
        // `acknowledgedgements[]` (sic). The first acknowledgement is who took it.
        let acks = ["acknowledgements", "acknowledgedgements"]
            .iter()
            .find_map(|k| history.get(*k).and_then(Value::as_array))
            .and_then(|a| a.iter().find_map(|x| user_from(Some(x))));
        let acknowledged_by =
            acks.or_else(|| user_from(history.get("acknowledgedBy").or_else(|| alert.get("acknowledgedBy"))));
        let closed_by = user_from(history.get("closedBy").or_else(|| alert.get("closedBy")));
        let delivery_status = alert
            .get("status")
            .and_then(|s| s.get("alertDeliveryStatus"))
            .or_else(|| alert.get("alertDeliveryStatus"))
            .and_then(|d| code(Some(d)));
        Some(RestAlert {
            id,
            event_id: str_at(alert, &["eventId"]).map(str::to_string),
            external_id: external_id(alert),
            status: status_of(alert),
            acknowledged_by,
            closed_by,
            delivery_status,
            last_modified: str_at(alert, &["lastModified", "modified"]).and_then(timefmt::parse),
            created: str_at(history, &["created"]).or_else(|| str_at(alert, &["created"])).and_then(timefmt::parse),
        })
    }

    /// Replaces users known only by id with what `GET /v2/users` said about them (e-mail
    /// first); an id without a match stays as it is (shown as the id).
    pub fn resolve_users(&mut self, users: &HashMap<String, User>) {
        for u in [&mut self.acknowledged_by, &mut self.closed_by].into_iter().flatten() {
            if u.mailaddress.is_none()
                && let Some(known) = u.id.as_ref().and_then(|id| users.get(id))
            {
                u.mailaddress = known.mailaddress.clone().or(u.mailaddress.take());
                u.username = u.username.take().or(known.username.clone());
            }
        }
    }

    /// Users referred to by id only (to look up).
    pub fn unresolved_user_ids(&self) -> Vec<String> {
        [&self.acknowledged_by, &self.closed_by]
            .into_iter()
            .flatten()
            .filter(|u| u.mailaddress.is_none())
            .filter_map(|u| u.id.clone())
            .collect()
    }
}

/// `GET /v2/users` → users by id (`mail`, `id`; V1 `mailaddress`). Accepts an array or
/// `{results|value: [...]}`.
pub fn users_by_id(body: &Value) -> HashMap<String, User> {
    let list = body.as_array().or_else(|| body.get("results").or_else(|| body.get("value")).and_then(Value::as_array));
    let mut out = HashMap::new();
    for v in list.into_iter().flatten() {
        let Some(mut u) = user_from(Some(v)) else { continue };
        if u.username.is_none() {
            let first = str_at(v, &["firstName"]).unwrap_or("");
            let last = str_at(v, &["lastName"]).unwrap_or("");
            let name = format!("{first} {last}").trim().to_string();
            u.username = (!name.is_empty()).then_some(name);
        }
        if let Some(id) = u.id.clone() {
            out.insert(id, u);
        }
    }
    out
}

/// Alerts of a `POST /v2/alerts/paged` answer whose external id is exactly `external_id`
/// (the filter may match prefixes, §2.4: compare it ourselves).
pub fn exact_matches(page: &Value, external_id: &str) -> Vec<RestAlert> {
    let list = page.get("results").and_then(Value::as_array).or_else(|| page.as_array());
    list.into_iter()
        .flatten()
        .filter_map(RestAlert::from_json)
        .filter(|a| a.external_id.as_deref() == Some(external_id))
        .collect()
}

/// Why a page reached nobody (`signl4.md` §2.4 event and delivery status codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDelivered {
    Filtered,
    Suppressed,
    Discarded,
    NoRuleApplied,
    NobodyOnDuty,
    NobodyNotified,
    Error,
}

impl NotDelivered {
    /// Stable label for metrics and `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotDelivered::Filtered => "filtered",
            NotDelivered::Suppressed => "suppressed",
            NotDelivered::Discarded => "discarded",
            NotDelivered::NoRuleApplied => "no_rule_applied",
            NotDelivered::NobodyOnDuty => "nobody_on_duty",
            NotDelivered::NobodyNotified => "nobody_notified",
            NotDelivered::Error => "error",
        }
    }

    /// Plain words for a comment on the Graph alert / Sentinel incident.
    pub fn describe(self) -> &'static str {
        match self {
            NotDelivered::Filtered => "the event was filtered by the team's settings",
            NotDelivered::Suppressed => "the event was suppressed (an alerting pattern or maintenance time)",
            NotDelivered::Discarded => "SIGNL4 discarded the event",
            NotDelivered::NoRuleApplied => "no rule of the team applied to the event",
            NotDelivered::NobodyOnDuty => "nobody is on duty in the team",
            NotDelivered::NobodyNotified => "nobody in the team was notified",
            NotDelivered::Error => "SIGNL4 reported an error processing the event",
        }
    }
}

/// What following a page's event told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not settled yet (0 none, 1 processing): look again later.
    Pending,
    /// Signled (2): the target alerts are to be checked for their delivery status.
    Signled {
        alert_ids: Vec<String>,
    },
    /// Somebody got it (4 resolved, 6 acknowledged: a person acted).
    Delivered,
    NotDelivered(NotDelivered),
    /// A status code this version does not know: treated as delivered, logged.
    Unknown(i64),
}

/// `GET /v2/events/{eventId}` → what happened to the event. `eventStatus` may be a number, a
/// string or `{statusCode}`; 9 (multiple target status) is read from `targets[]`.
pub fn event_verdict(event: &Value) -> Verdict {
    let targets: Vec<&Value> =
        event.get("targets").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let alert_ids: Vec<String> =
        targets.iter().filter_map(|t| str_at(t, &["alertId", "id"]).map(str::to_string)).collect();
    let status = code(event.get("eventStatus").or_else(|| event.get("status")).or_else(|| event.get("statusCode")));
    match status {
        None | Some(0) | Some(1) => Verdict::Pending,
        Some(2) => Verdict::Signled { alert_ids },
        Some(3) => Verdict::NotDelivered(NotDelivered::Filtered),
        Some(4) | Some(6) => Verdict::Delivered,
        Some(5) => Verdict::NotDelivered(NotDelivered::Discarded),
        Some(7) => Verdict::NotDelivered(NotDelivered::Suppressed),
        Some(8) => Verdict::NotDelivered(NotDelivered::NoRuleApplied),
        Some(9) => {
            // Several targets: delivered if any target got through.
            let each: Vec<Verdict> = targets
                .iter()
                .map(|t| {
                    match code(t.get("eventTargetStatus").or_else(|| t.get("eventStatus")).or_else(|| t.get("status")))
                    {
                        Some(2) | Some(4) | Some(6) => Verdict::Delivered,
                        Some(0) | Some(1) | None => Verdict::Pending,
                        Some(c) => event_verdict(&serde_json::json!({ "eventStatus": c })),
                    }
                })
                .collect();
            if each.contains(&Verdict::Delivered) {
                Verdict::Signled { alert_ids }
            } else if each.contains(&Verdict::Pending) {
                Verdict::Pending
            } else {
                each.into_iter().next().unwrap_or(Verdict::Pending)
            }
        }
        Some(1000) => Verdict::NotDelivered(NotDelivered::Error),
        Some(c) => Verdict::Unknown(c),
    }
}

/// A target alert's delivery status (§2.4: 30 nobody on duty, 31 nobody notified).
pub fn alert_delivery(alert: &RestAlert) -> Option<NotDelivered> {
    match alert.delivery_status {
        Some(30) => Some(NotDelivered::NobodyOnDuty),
        Some(31) => Some(NotDelivered::NobodyNotified),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v2_closed() -> Value {
        json!({
            "id": "a1", "eventId": "e1", "externalId": "s4s:t1:graph-alert:x",
            "status": {"statusCode": 4, "alertDeliveryStatus": {"statusCode": 2, "userDeliveryStatus": []}},
            "history": {"created": "2026-12-01T10:00:00Z", "acknowledgedAt": "2026-12-01T10:01:00Z",
                        "acknowledgements": [{"userId": "u1", "timestamp": "2026-12-01T10:01:00Z"}],
                        "closedAt": "2026-12-01T10:02:00Z", "closedBy": {"userId": "u2"}},
            "lastModified": "2026-12-01T10:02:00.1234567Z", "someNewField": {"x": 1}
        })
    }

    #[test]
    fn v2_and_v1_shapes_read_the_same() {
        let a = RestAlert::from_json(&v2_closed()).unwrap();
        assert_eq!(a.status, Some(4));
        assert_eq!(a.external_id.as_deref(), Some("s4s:t1:graph-alert:x"));
        assert_eq!(a.acknowledged_by.as_ref().and_then(|u| u.id.as_deref()), Some("u1"));
        assert_eq!(a.closed_by.as_ref().and_then(|u| u.id.as_deref()), Some("u2"));
        assert_eq!(a.unresolved_user_ids(), vec!["u1".to_string(), "u2".to_string()]);
        assert!(a.last_modified.is_some());

        let v1 = json!({
            "id": "a1", "eventId": "e1", "status": 4, "externalEventId": "s4s:t1:graph-alert:x",
            "history": {"acknowledgedBy": {"id": "u1", "username": "Rene", "mailaddress": "rene@x"},
                        "closedBy": {"id": "u2", "mailaddress": "ann@x"}},
        });
        let b = RestAlert::from_json(&v1).unwrap();
        assert_eq!((b.status, b.external_id.clone()), (Some(4), a.external_id.clone()));
        assert_eq!(b.acknowledged_by.as_ref().and_then(User::display), Some("rene@x"));
        assert!(b.unresolved_user_ids().is_empty());
        // Swagger V1's spelling, ids as strings, statuses as names.
        let odd = json!({"id": "a", "status": "Acknowledged", "history": {"acknowledgedgements": ["u9"]}});
        let c = RestAlert::from_json(&odd).unwrap();
        assert_eq!((c.status, c.acknowledged_by.and_then(|u| u.id)), (Some(2), Some("u9".into())));
        assert!(RestAlert::from_json(&json!({"status": 4})).is_none());
        assert!(RestAlert::from_json(&json!([1, 2])).is_none());
    }

    #[test]
    fn user_ids_resolve_to_mail_and_fall_back_to_the_id() {
        let users = users_by_id(&json!([
            {"id": "u1", "mail": "rene@signl4.com", "firstName": "Rene", "lastName": "S"},
            {"id": "u3"}, {"mail": "no-id@x"}, 7
        ]));
        assert_eq!(users.len(), 2);
        let mut a = RestAlert::from_json(&v2_closed()).unwrap();
        a.resolve_users(&users);
        assert_eq!(a.acknowledged_by.as_ref().and_then(User::display), Some("rene@signl4.com"));
        assert_eq!(a.closed_by.as_ref().and_then(User::display), Some("u2"), "unknown id stays the id");
        assert_eq!(users_by_id(&json!({"results": [{"id": "u", "mailaddress": "m@x"}]})).len(), 1);
        assert!(users_by_id(&json!("nope")).is_empty());
    }

    #[test]
    fn lookups_by_external_id_compare_exactly() {
        let page = json!({"results": [
            {"id": "1", "externalId": "s4s:t1:graph-alert:x"},
            {"id": "2", "externalId": "s4s:t1:graph-alert:x2"},
            {"id": "3", "parameters": [{"name": "X-S4-ExternalID", "value": "s4s:t1:graph-alert:x"}]}
        ], "hasMore": false});
        let ids: Vec<String> = exact_matches(&page, "s4s:t1:graph-alert:x").into_iter().map(|a| a.id).collect();
        assert_eq!(ids, vec!["1", "3"]);
        assert!(exact_matches(&json!({}), "x").is_empty());
    }

    #[test]
    fn event_statuses_become_verdicts() {
        let v = |s: Value| event_verdict(&json!({"eventStatus": s, "targets": [{"alertId": "a1"}]}));
        assert_eq!(v(json!(1)), Verdict::Pending);
        assert_eq!(v(json!(0)), Verdict::Pending);
        assert_eq!(v(json!(2)), Verdict::Signled { alert_ids: vec!["a1".into()] });
        assert_eq!(v(json!({"statusCode": 3})), Verdict::NotDelivered(NotDelivered::Filtered));
        assert_eq!(v(json!("5")), Verdict::NotDelivered(NotDelivered::Discarded));
        assert_eq!(v(json!(7)), Verdict::NotDelivered(NotDelivered::Suppressed));
        assert_eq!(v(json!(8)), Verdict::NotDelivered(NotDelivered::NoRuleApplied));
        assert_eq!(v(json!(6)), Verdict::Delivered);
        assert_eq!(v(json!(1000)), Verdict::NotDelivered(NotDelivered::Error));
        assert_eq!(v(json!(42)), Verdict::Unknown(42));
        assert_eq!(event_verdict(&json!({})), Verdict::Pending);
        let multi = json!({"eventStatus": 9, "targets": [{"alertId": "a", "eventTargetStatus": 3}, {"alertId": "b", "eventTargetStatus": 2}]});
        assert!(matches!(event_verdict(&multi), Verdict::Signled { .. }));
        let none = json!({"eventStatus": 9, "targets": [{"eventStatus": 3}, {"eventStatus": 7}]});
        assert_eq!(event_verdict(&none), Verdict::NotDelivered(NotDelivered::Filtered));
        let mut a = RestAlert::from_json(
            &json!({"id": "a", "status": {"statusCode": 1, "alertDeliveryStatus": {"statusCode": 30}}}),
        )
        .unwrap();
        assert_eq!(alert_delivery(&a), Some(NotDelivered::NobodyOnDuty));
        a.delivery_status = Some(31);
        assert_eq!(alert_delivery(&a), Some(NotDelivered::NobodyNotified));
        a.delivery_status = Some(2);
        assert_eq!(alert_delivery(&a), None);
    }
}

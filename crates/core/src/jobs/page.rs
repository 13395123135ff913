//! Job kind `page`: page a Graph alert (or, built at run time, a Sentinel page or a summary)
//! with its SIGNL4 webhook body and the delivery facts decided at ingest ([`PageJob`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ROUTE_FIELD, json, once, route_key, stored_route};
use crate::budget::Priority;
use crate::ids::job_key;
use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::route::DEFAULT_ROUTE;

pub const KIND: JobKind = JobKind::new("page", Priority::Poll, true, "pages to SIGNL4");

/// The hidden field of a page body that sent it to the fallback team, in page jobs queued by
/// earlier versions.
const LEGACY_FALLBACK_TEAM_FIELD: &str = "__s4s_fallback_team";
/// The title prefix of a fallback page.
const NOT_DELIVERED: &str = "[not delivered: ";

/// Payload of a page: the SIGNL4 webhook body to send and what delivery needs to know about
/// it. Decodes from this shape and from a bare SIGNL4 body with hidden `__s4s_*` fields (a
/// job queued by an earlier version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageJob {
    /// The SIGNL4 alert's external id (`X-S4-ExternalID`).
    pub external_id: String,
    /// The route (team) it pages; none = the tenant's own team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The alert's severity as paged (quiet hours and storm budgets ask about it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub severity: String,
    /// The Graph incident the alert belongs to (its tag follows the first page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// The fallback of a page that reached nobody (no second fallback, no look-up by
    /// external id: it would find the first page).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fallback: bool,
    /// It goes to the route's fallback team (`signl4.fallback = "team"`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fallback_team: bool,
    /// The SIGNL4 webhook body, sent as it is.
    pub body: Map<String, Value>,
}

/// One pass over the stored JSON (as the bare body of earlier versions was read): an object
/// with a `body` object and an `external_id` is this shape, anything else an earlier version's
/// bare body. (A `serde(untagged)` enum would buffer and re-read every page.)
impl<'de> Deserialize<'de> for PageJob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PageJob, D::Error> {
        let mut m = Map::<String, Value>::deserialize(d)?;
        let typed =
            matches!(m.get("body"), Some(Value::Object(_))) && m.get("external_id").is_some_and(Value::is_string);
        if !typed {
            return Ok(PageJob::new(m));
        }
        let take_text = |m: &mut Map<String, Value>, k: &str| match m.remove(k) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let take_flag = |m: &mut Map<String, Value>, k: &str| matches!(m.remove(k), Some(Value::Bool(true)));
        let body = match m.remove("body") {
            Some(Value::Object(b)) => b,
            _ => Map::new(),
        };
        Ok(PageJob {
            external_id: take_text(&mut m, "external_id").unwrap_or_default(),
            route: take_text(&mut m, "route").filter(|r| !r.is_empty() && r != DEFAULT_ROUTE),
            severity: take_text(&mut m, "severity").unwrap_or_default(),
            incident: take_text(&mut m, "incident"),
            fallback: take_flag(&mut m, "fallback"),
            fallback_team: take_flag(&mut m, "fallback_team"),
            body,
        })
    }
}

fn text(body: &Map<String, Value>, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_string)
}

impl PageJob {
    /// The page of a SIGNL4 body to the default route: its external id, severity and
    /// incident are taken from the body as it is built. Hidden fields of an earlier version's
    /// stored body (route, fallback team) are taken out into their typed places.
    pub fn new(mut body: Map<String, Value>) -> PageJob {
        let route = match body.remove(ROUTE_FIELD) {
            Some(Value::String(r)) => stored_route(&r).filter(|r| !r.is_empty()),
            _ => None,
        };
        let fallback_team = body.remove(LEGACY_FALLBACK_TEAM_FIELD).is_some();
        let fallback = fallback_team || text(&body, "Title").is_some_and(|t| t.starts_with(NOT_DELIVERED));
        PageJob {
            external_id: text(&body, "X-S4-ExternalID").unwrap_or_default(),
            route,
            severity: text(&body, "Severity").unwrap_or_default(),
            incident: text(&body, "Incident ID"),
            fallback,
            fallback_team,
            body,
        }
    }

    /// The same page to `route`.
    pub fn to(mut self, route: &str) -> PageJob {
        self.route = stored_route(route);
        self
    }

    /// The route (team) it pages (`default` for the tenant's own).
    pub fn route(&self) -> &str {
        self.route.as_deref().unwrap_or(DEFAULT_ROUTE)
    }

    /// The page's title ("" without one).
    pub fn title(&self) -> &str {
        self.body.get("Title").and_then(Value::as_str).unwrap_or("")
    }
}

/// Pages a Graph alert with the SIGNL4 webhook `body`.
pub fn page(tenant: &str, external_id: &str, body: Map<String, Value>) -> NewJob {
    once(tenant, KIND, job_key::page(external_id), json(&PageJob::new(body)))
}

/// Pages `body` to `route`; `first`: the first (or only) route the alert pages.
pub fn route_page(tenant: &str, external_id: &str, body: Map<String, Value>, route: &str, first: bool) -> NewJob {
    let page = PageJob::new(body).to(route);
    once(tenant, KIND, route_key(job_key::page(external_id), route, first), json(&page))
}

/// The fallback page of a page that reached nobody: `page` with the emergency scenario, or
/// to the fallback team.
pub fn fallback_page(tenant: &str, mut page: PageJob, to_other_team: bool, why: &str) -> NewJob {
    page.fallback = true;
    page.fallback_team = to_other_team;
    if !to_other_team {
        page.body.insert("X-S4-AlertingScenario".into(), Value::from("emergency"));
    }
    if let Some(Value::String(t)) = page.body.get_mut("Title") {
        *t = format!("{NOT_DELIVERED}{why}] {t}");
    }
    let key = match &page.route {
        Some(r) => format!("page-fallback:{}@{r}", page.external_id),
        None => format!("page-fallback:{}", page.external_id),
    };
    once(tenant, KIND, key, json(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Map<String, Value> {
        let v = serde_json::json!({
            "Title": "[High] Ransomware", "X-S4-ExternalID": "s4s:t:graph-alert:a",
            "Severity": "High", "Incident ID": "42",
        });
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_route_of_a_page_is_typed() {
        let to_identity = route_page("t", "s4s:t:graph-alert:a", body(), "identity", true);
        let p: PageJob = serde_json::from_str(&to_identity.payload).unwrap();
        assert_eq!((p.route(), p.severity.as_str(), p.incident.as_deref()), ("identity", "High", Some("42")));
        assert_eq!(p.body, body(), "the body is sent as built");
        let plain: PageJob = serde_json::from_str(&page("t", "s4s:t:graph-alert:a", body()).payload).unwrap();
        assert_eq!(plain.route(), DEFAULT_ROUTE);
        assert_eq!(plain.external_id, "s4s:t:graph-alert:a");
    }

    #[test]
    fn a_page_queued_by_an_earlier_version_still_runs() {
        let mut old = body();
        old.insert(ROUTE_FIELD.into(), "soc-high".into());
        let p: PageJob = serde_json::from_str(&Value::Object(old).to_string()).unwrap();
        assert_eq!(p.route(), "soc-high");
        assert_eq!(p.body, body(), "the hidden field is not sent");
        assert!(!p.fallback && !p.fallback_team);
        let mut old_fallback = body();
        old_fallback.insert(LEGACY_FALLBACK_TEAM_FIELD.into(), Value::Bool(true));
        let f: PageJob = serde_json::from_str(&Value::Object(old_fallback).to_string()).unwrap();
        assert!(f.fallback && f.fallback_team && !f.body.contains_key(LEGACY_FALLBACK_TEAM_FIELD));
        let mut old_emergency = body();
        old_emergency.insert("Title".into(), "[not delivered: no one on duty] [High] Ransomware".into());
        let e: PageJob = serde_json::from_str(&Value::Object(old_emergency).to_string()).unwrap();
        assert!(e.fallback && !e.fallback_team);
    }

    #[test]
    fn a_fallback_page_says_so_in_its_payload() {
        let first = PageJob::new(body()).to("identity");
        let team = fallback_page("t", first.clone(), true, "no one on duty");
        assert_eq!(team.key, "page-fallback:s4s:t:graph-alert:a@identity");
        let p: PageJob = serde_json::from_str(&team.payload).unwrap();
        assert!(p.fallback && p.fallback_team);
        assert!(!p.body.contains_key("X-S4-AlertingScenario"));
        let same = fallback_page("t", first.to(DEFAULT_ROUTE), false, "no one on duty");
        let p: PageJob = serde_json::from_str(&same.payload).unwrap();
        assert!(p.fallback && !p.fallback_team);
        assert_eq!(p.body["X-S4-AlertingScenario"], "emergency");
        assert_eq!(p.title(), "[not delivered: no one on duty] [High] Ransomware");
        assert_eq!(same.key, "page-fallback:s4s:t:graph-alert:a");
    }
}

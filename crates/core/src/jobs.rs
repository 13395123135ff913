//! The outbox job kinds, their typed payloads and constructors (kind, idempotency key,
//! payload and, for coalescing kinds, the merge), so no job is ever built from loose strings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::job_key;
use crate::records::NewJob;
use crate::route::DEFAULT_ROUTE;
use crate::sync::{self, AlertSync, IncidentSync};

/// Every kind of outbox job. The stored names never change (rows outlive versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Page a Graph alert (payload: the SIGNL4 webhook body).
    Page,
    /// Close or acknowledge a SIGNL4 alert after a change in the portal (payload: body).
    Signl4Status,
    /// Write a SIGNL4 response back to a Graph alert ([`AlertSync`]).
    GraphSync,
    /// Make a Graph incident follow its alerts: status, owner, tag ([`IncidentSync`]).
    IncidentSync,
    /// Page a Sentinel incident or alert ([`SentinelPageJob`]).
    SentinelPage,
    /// Write a SIGNL4 response back to a Sentinel incident ([`SentinelSyncJob`]).
    SentinelSync,
    /// Add late rule-query results to a Sentinel incident as a comment ([`SentinelPageJob`]).
    SentinelEnrich,
    /// Follow a page's SIGNL4 event until SIGNL4 says whether anybody was paged ([`VerifyJob`]).
    Verify,
    /// Page the summary of a team's alerts held back by its storm budget in one window,
    /// when the window ends ([`crate::storm::StormSummary`]).
    Summary,
    /// Add a text to a SIGNL4 alert through the REST API ([`AnnotateJob`]): an alert grouped
    /// into the page of its incident.
    Annotate,
    /// Upload the tenant's unsent `SIGNL4_CL` audit records (`crate::audit`) through the
    /// Logs Ingestion API: one coalescing job per tenant, armed with every record.
    Audit,
}

impl JobKind {
    pub const ALL: [JobKind; 11] = [
        JobKind::Page,
        JobKind::Signl4Status,
        JobKind::GraphSync,
        JobKind::IncidentSync,
        JobKind::SentinelPage,
        JobKind::SentinelSync,
        JobKind::SentinelEnrich,
        JobKind::Verify,
        JobKind::Summary,
        JobKind::Annotate,
        JobKind::Audit,
    ];

    /// Its priority at the upstream's request budget (`budget.rs`): pages first, then
    /// write-backs of responder actions, then housekeeping.
    pub fn priority(self) -> crate::budget::Priority {
        use crate::budget::Priority;
        match self {
            JobKind::Page | JobKind::SentinelPage | JobKind::Signl4Status | JobKind::Summary => Priority::Poll,
            JobKind::GraphSync | JobKind::SentinelSync | JobKind::Annotate => Priority::WriteBack,
            // Verification draws on SIGNL4's REST budget, which in-doubt pages' look-ups and
            // the REST poller need first; during a storm it lags rather than crowds them out.
            JobKind::IncidentSync | JobKind::SentinelEnrich | JobKind::Verify | JobKind::Audit => {
                Priority::Housekeeping
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Page => "page",
            JobKind::Signl4Status => "signl4-status",
            JobKind::GraphSync => "graph-sync",
            JobKind::IncidentSync => "incident-sync",
            JobKind::SentinelPage => "sentinel-page",
            JobKind::SentinelSync => "sentinel-sync",
            JobKind::SentinelEnrich => "sentinel-enrich",
            JobKind::Verify => "verify",
            JobKind::Summary => "summary",
            JobKind::Annotate => "annotate",
            JobKind::Audit => "audit",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Jobs that POST to the SIGNL4 webhook (parked together when SIGNL4 rejects the team secret).
    pub fn sends_to_signl4(self) -> bool {
        matches!(self, JobKind::Page | JobKind::Signl4Status | JobKind::SentinelPage | JobKind::Summary)
    }
}

/// Payload of a Sentinel page (and of its late enrichment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentinelPageJob {
    pub workspace: String,
    pub incident: Value,
    pub alerts: Vec<Value>,
    /// Per-alert mode: the alert this page is for.
    #[serde(default)]
    pub alert: Option<Value>,
    /// The route it pages (`routing::select`); none = the default route.
    #[serde(default)]
    pub route: Option<String>,
    /// 0, or the reopening this page is for (a new SIGNL4 alert, marked reopened).
    #[serde(default)]
    pub episode: i64,
}

/// Payload of an annotation: `text` added to the SIGNL4 alert paged as `external_id` in the
/// team of `route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotateJob {
    pub external_id: String,
    #[serde(default)]
    pub route: Option<String>,
    pub text: String,
}

/// Adds `text` to the SIGNL4 alert of `external_id`, once per `what` (e.g. the grouped alert's id).
pub fn annotate(tenant: &str, external_id: &str, route: &str, what: &str, text: String) -> NewJob {
    let payload = AnnotateJob {
        external_id: external_id.to_string(),
        route: (route != DEFAULT_ROUTE).then(|| route.to_string()),
        text,
    };
    once(tenant, JobKind::Annotate, format!("annotate:{external_id}:{what}@{route}"), json(&payload))
}

/// Payload of a delivery verification: the page's event and what to send if it reached nobody.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyJob {
    pub external_id: String,
    pub event_id: String,
    /// The page's SIGNL4 body (for a fallback page); absent for a fallback page itself.
    #[serde(default)]
    pub page: Option<Map<String, Value>>,
    /// The page being verified was the fallback (no second fallback).
    #[serde(default)]
    pub fallback: bool,
    /// The route (team) the page went to; none = the tenant's own team.
    #[serde(default)]
    pub route: Option<String>,
}

/// The hidden field of a page body that sends it to the tenant's fallback team (removed
/// before sending).
pub const FALLBACK_TEAM_FIELD: &str = "__s4s_fallback_team";

/// Follows a page's event (first look a few seconds after the page).
pub fn verify(tenant: &str, payload: &VerifyJob) -> NewJob {
    let mut key = if payload.fallback {
        format!("{}:fallback", job_key::verify(&payload.external_id))
    } else {
        job_key::verify(&payload.external_id)
    };
    if let Some(r) = &payload.route {
        key = format!("{key}@{r}");
    }
    once(tenant, JobKind::Verify, key, json(payload))
}

/// The fallback page of a page that reached nobody: `body` with the emergency scenario, or
/// marked for the fallback team.
pub fn fallback_page(
    tenant: &str,
    external_id: &str,
    route: Option<&str>,
    mut body: Map<String, Value>,
    to_other_team: bool,
    why: &str,
) -> NewJob {
    if to_other_team {
        body.insert(FALLBACK_TEAM_FIELD.into(), Value::Bool(true));
    } else {
        body.insert("X-S4-AlertingScenario".into(), Value::from("emergency"));
    }
    if let Some(Value::String(t)) = body.get_mut("Title") {
        *t = format!("[not delivered: {why}] {t}");
    }
    let key = match route {
        Some(r) => format!("{}@{r}", job_key::fallback_page(external_id)),
        None => job_key::fallback_page(external_id),
    };
    once(tenant, JobKind::Page, key, Value::Object(body).to_string())
}

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

fn json<T: Serialize>(v: &T) -> String {
    // Serialising these plain structs cannot fail; an empty payload would be buried, not sent.
    serde_json::to_string(v).unwrap_or_default()
}

fn once(tenant: &str, kind: JobKind, key: String, payload: String) -> NewJob {
    NewJob::once(tenant, kind.as_str(), key, payload)
}

/// Pages a Graph alert with the SIGNL4 webhook `body`.
pub fn page(tenant: &str, external_id: &str, body: Map<String, Value>) -> NewJob {
    once(tenant, JobKind::Page, job_key::page(external_id), Value::Object(body).to_string())
}

/// The hidden field of a SIGNL4 body naming the route (team) it goes to; removed before
/// sending. Absent = the tenant's own team.
pub const ROUTE_FIELD: &str = "__s4s_route";

/// The route a stored SIGNL4 body goes to (taking the marker out).
pub fn take_route(body: &mut Map<String, Value>) -> String {
    match body.remove(ROUTE_FIELD) {
        Some(Value::String(r)) if !r.is_empty() => r,
        _ => DEFAULT_ROUTE.to_string(),
    }
}

fn mark_route(body: &mut Map<String, Value>, route: &str) {
    if route != DEFAULT_ROUTE {
        body.insert(ROUTE_FIELD.into(), Value::from(route));
    }
}

/// The route (team) a job that sends to SIGNL4 pages, read from its stored payload without
/// taking anything out: the runner parks the jobs of a team whose secret SIGNL4 rejected and
/// lets the other teams' jobs go on. Unreadable payloads and other kinds: the default route.
pub fn route_of(kind: JobKind, payload: &str) -> String {
    let field = match kind {
        JobKind::Page | JobKind::Signl4Status => ROUTE_FIELD,
        JobKind::SentinelPage | JobKind::Summary => "route",
        _ => return DEFAULT_ROUTE.to_string(),
    };
    match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(m)) => match m.get(field) {
            Some(Value::String(r)) if !r.is_empty() => r.clone(),
            _ => DEFAULT_ROUTE.to_string(),
        },
        _ => DEFAULT_ROUTE.to_string(),
    }
}

/// Job keys of an alert paged to several routes: the first route keeps the plain key (as
/// before routes existed), the others get `@route`.
fn route_key(key: String, route: &str, first: bool) -> String {
    if first { key } else { format!("{key}@{route}") }
}

/// Pages `body` to `route`; `first`: the first (or only) route the alert pages.
pub fn route_page(tenant: &str, external_id: &str, mut body: Map<String, Value>, route: &str, first: bool) -> NewJob {
    mark_route(&mut body, route);
    once(tenant, JobKind::Page, route_key(job_key::page(external_id), route, first), Value::Object(body).to_string())
}

/// Sets a SIGNL4 alert to `status` (`resolved` / `acknowledged`) by its external id.
pub fn signl4_status(tenant: &str, external_id: &str, status: &str) -> NewJob {
    let body = crate::signl4::payload::status_payload(external_id, status);
    once(tenant, JobKind::Signl4Status, job_key::signl4_status(status, external_id), Value::Object(body).to_string())
}

/// The status change for every team the alert paged (`routes`, empty = the default route).
pub fn signl4_status_routes(tenant: &str, external_id: &str, status: &str, routes: &[String]) -> Vec<NewJob> {
    if routes.is_empty() {
        return vec![signl4_status(tenant, external_id, status)];
    }
    routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut body = crate::signl4::payload::status_payload(external_id, status);
            mark_route(&mut body, r);
            let key = route_key(job_key::signl4_status(status, external_id), r, i == 0);
            once(tenant, JobKind::Signl4Status, key, Value::Object(body).to_string())
        })
        .collect()
}

/// The tenant's audit upload (`audit:{tenant}`): coalescing, so records added while it runs
/// make it run again; its payload carries nothing (the records are in their own table).
pub fn audit_upload(tenant: &str) -> NewJob {
    NewJob::coalescing(tenant, JobKind::Audit.as_str(), job_key::audit(tenant), "{}".into(), |_, _| "{}".into())
}

/// Coalescing Graph alert write-back.
pub fn graph_sync(tenant: &str, external_id: &str, intent: &AlertSync) -> NewJob {
    NewJob::coalescing(
        tenant,
        JobKind::GraphSync.as_str(),
        job_key::alert_sync(external_id),
        json(intent),
        sync::merge_json::<AlertSync>,
    )
}

/// Coalescing Graph incident roll-up.
pub fn incident_sync(tenant: &str, intent: &IncidentSync) -> NewJob {
    NewJob::coalescing(
        tenant,
        JobKind::IncidentSync.as_str(),
        job_key::incident(tenant, &intent.incident_id),
        json(intent),
        sync::merge_json::<IncidentSync>,
    )
}

/// Once-only tag of a Graph incident after its first page (separate from the roll-up).
pub fn incident_tag(tenant: &str, incident: &str, tag: &str) -> NewJob {
    let intent = IncidentSync { incident_id: incident.to_string(), tag: Some(tag.to_string()), ..Default::default() };
    once(tenant, JobKind::IncidentSync, job_key::incident_tag(tenant, incident), json(&intent))
}

/// Pages a Sentinel incident (or one of its alerts) to the payload's route; `first`: the
/// first (or only) route it pages.
pub fn sentinel_page(tenant: &str, external_id: &str, payload: &SentinelPageJob, first: bool) -> NewJob {
    let route = payload.route.as_deref().unwrap_or(DEFAULT_ROUTE);
    once(tenant, JobKind::SentinelPage, route_key(job_key::page(external_id), route, first), json(payload))
}

/// Adds late rule-query results to the incident of a Sentinel page.
pub fn sentinel_enrich(tenant: &str, external_id: &str, payload: &SentinelPageJob) -> NewJob {
    once(tenant, JobKind::SentinelEnrich, job_key::enrich(external_id), json(payload))
}

/// Coalescing Sentinel incident write-back.
pub fn sentinel_sync(tenant: &str, workspace: &str, external_id: &str, intent: AlertSync, label: bool) -> NewJob {
    let payload = SentinelSyncJob { workspace: workspace.to_string(), sync: intent, label };
    NewJob::coalescing(
        tenant,
        JobKind::SentinelSync.as_str(),
        job_key::sentinel_sync(external_id),
        json(&payload),
        sync::merge_json::<SentinelSyncJob>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_keep_their_stored_names() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(JobKind::parse("newer-kind"), None);
        assert_eq!(JobKind::Page.as_str(), "page");
        assert!(JobKind::SentinelPage.sends_to_signl4() && !JobKind::GraphSync.sends_to_signl4());
    }

    #[test]
    fn the_route_of_a_job_is_read_from_each_kinds_payload() {
        let mut body = Map::new();
        body.insert("Title".into(), "x".into());
        let to_identity = route_page("t", "s4s:t:graph-alert:a", body.clone(), "identity", true);
        assert_eq!(route_of(JobKind::Page, &to_identity.payload), "identity");
        assert_eq!(route_of(JobKind::Page, &page("t", "s4s:t:graph-alert:a", body).payload), DEFAULT_ROUTE);
        let status = signl4_status_routes("t", "s4s:t:graph-alert:a", "resolved", &["endpoint".into()]);
        assert_eq!(route_of(JobKind::Signl4Status, &status[0].payload), "endpoint");
        assert_eq!(route_of(JobKind::SentinelPage, r#"{"route":"ws-team","workspace":"w"}"#), "ws-team");
        assert_eq!(route_of(JobKind::Summary, r#"{"route":null}"#), DEFAULT_ROUTE);
        assert_eq!(route_of(JobKind::Page, "not json"), DEFAULT_ROUTE);
        assert_eq!(route_of(JobKind::GraphSync, r#"{"__s4s_route":"x"}"#), DEFAULT_ROUTE);
    }

    #[test]
    fn status_jobs_carry_the_external_id_and_status() {
        let j = signl4_status("contoso", "s4s:contoso:graph-alert:a1", "resolved");
        assert_eq!(j.key, "s4status:resolved:s4s:contoso:graph-alert:a1");
        let body: Value = serde_json::from_str(&j.payload).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"X-S4-ExternalID": "s4s:contoso:graph-alert:a1", "X-S4-Status": "resolved"})
        );
    }

    #[test]
    fn sentinel_sync_jobs_coalesce() {
        let a = sentinel_sync("t", "ws", "e", AlertSync { alert_id: "1".into(), ..Default::default() }, true);
        let b = sentinel_sync("t", "ws", "e", AlertSync { alert_id: "1".into(), ..Default::default() }, false);
        let merged: SentinelSyncJob = serde_json::from_str(&(a.coalesce.unwrap())(&a.payload, &b.payload)).unwrap();
        assert!(merged.label, "a label asked for once stays asked for");
        assert_eq!(a.key, "ssync:e");
    }
}

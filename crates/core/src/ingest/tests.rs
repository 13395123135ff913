//! Tests of the ingest decisions.

use super::*;
use crate::alert::GraphAlert;
use crate::config::GroupBy;
use crate::config::{ProcessEnv, load};
use crate::records::AlertRecord;
use crate::route::DEFAULT_ROUTE;
use crate::sentinel::{self as model, Incident};
use serde_json::Value;
use serde_json::json;

fn tenant() -> TenantConfig {
    load(crate::config::example(), &ProcessEnv).unwrap().tenants.remove(0)
}

#[test]
fn paging_alerts_carry_a_page_job_keyed_by_external_id() {
    let t = tenant();
    let a = GraphAlert::from_json(
        json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "high", "status": "new"}),
    )
    .unwrap();
    let item = graph_alert(&t, &a, None);
    assert_eq!(item.alert.version, "2026-11-28T10:00:00.0000000Z");
    let job = item.page.unwrap();
    assert_eq!(job.key, "page:s4s:contoso:graph-alert:a1");
    let body = serde_json::from_str::<jobs::PageJob>(&job.payload).unwrap().body;
    assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a1");
    assert_eq!(body["X-S4-AlertingScenario"], "multi_ack");
}

fn stored(state: &str, written: Option<&str>) -> StoredAlert {
    StoredAlert {
        record: AlertRecord {
            tenant: "contoso".into(),
            source: "graph-alert".into(),
            alert_id: "a1".into(),
            version: "old".into(),
            status: "new".into(),
            severity: "high".into(),
            incident_id: None,
            raw: "{}".into(),
        },
        paged: true,
        signl4_state: state.into(),
        written_status: written.map(str::to_string),
        signl4_event_id: None,
        routes: vec![],
        episode: 0,
        grouped_into: None,
        acknowledged_by: None,
        acknowledged_ms: None,
    }
}

#[test]
fn a_portal_resolve_closes_the_signl4_alert_but_our_own_echo_does_not() {
    let t = tenant();
    let a = GraphAlert::from_json(
        json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T11:00:00Z", "severity": "high", "status": "resolved"}),
    )
    .unwrap();
    let item = graph_alert(&t, &a, Some(&stored("acknowledged", Some("inProgress"))));
    assert_eq!(item.jobs.len(), 1);
    assert_eq!(item.jobs[0].key, "s4status:resolved:s4s:contoso:graph-alert:a1");
    let body: serde_json::Value = serde_json::from_str(&item.jobs[0].payload).unwrap();
    assert_eq!(body, json!({"X-S4-ExternalID": "s4s:contoso:graph-alert:a1", "X-S4-Status": "resolved"}));
    assert_eq!(item.update.signl4_state.as_deref(), Some("closed_by_portal"));
    // We resolved it ourselves (SIGNL4 close → Graph): no echo back to SIGNL4.
    assert!(graph_alert(&t, &a, Some(&stored("closed", Some("resolved")))).jobs.is_empty());
    // Same version seen again (overlap re-read): nothing.
    let mut same = stored("open", None);
    same.record.version = a.version();
    assert!(graph_alert(&t, &a, Some(&same)).jobs.is_empty());
}

#[test]
fn filtered_alerts_are_stored_without_a_page() {
    let t = tenant();
    let a = GraphAlert::from_json(
        json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "informational"}),
    )
    .unwrap();
    let item = graph_alert(&t, &a, None);
    assert!(item.page.is_none());
    assert_eq!(item.alert.severity, "informational");
}

#[test]
fn a_closed_incident_closes_only_alerts_still_open_in_signl4() {
    let open = stored("open", None);
    let ours = stored("closed", Some("resolved"));
    let items = incident_closes("contoso", "resolved", &[open, ours]);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].jobs[0].key, "s4status:resolved:s4s:contoso:graph-alert:a1");
    assert_eq!(items[0].update.signl4_state.as_deref(), Some("closed_by_portal"));
}

#[test]
fn sentinel_incidents_page_once_per_incident_and_unchanged_rereads_write_nothing() {
    let cfg = tenant();
    let ws = cfg.sentinel()[0].clone();
    let inc = Incident::from_json(json!({
        "name": "inc-1",
        "properties": {"title": "t", "severity": "High", "status": "New", "incidentNumber": 7,
                        "lastModifiedTimeUtc": "2026-11-28T10:00:00Z"}
    }))
    .unwrap();
    assert!(sentinel_needs_alerts(&ws, &inc, None));
    let items = sentinel_incident(&cfg, &ws, &inc, None, Some(vec![]), &[], None);
    assert_eq!(items.len(), 1);
    assert!(items[0].page.as_ref().unwrap().key.starts_with("page:s4s:contoso:sentinel."));
    let mut prior = stored("open", None);
    prior.record.version = inc.version();
    assert!(!sentinel_needs_alerts(&ws, &inc, Some(&prior)));
    assert!(sentinel_incident(&cfg, &ws, &inc, Some(&prior), None, &[], None).is_empty());
}

fn xdr_incident(name: &str, xdr: &str) -> Incident {
    Incident::from_json(json!({
        "name": name,
        "properties": {"title": "Multi-stage incident", "severity": "High", "status": "New", "incidentNumber": 9,
                       "providerName": "Microsoft XDR", "providerIncidentId": xdr,
                       "lastModifiedTimeUtc": "2026-11-28T10:00:00Z"}
    }))
    .unwrap()
}

#[test]
fn the_xdr_id_of_a_sentinel_incident_is_read_from_the_provider_or_its_defender_link() {
    let p = |props: Value| Incident::xdr_incident_id(&json!({"properties": props}));
    assert_eq!(p(json!({"providerName": "Microsoft XDR", "providerIncidentId": "2972"})).as_deref(), Some("2972"));
    assert_eq!(p(json!({"providerName": "Microsoft 365 Defender", "providerIncidentId": "15"})).as_deref(), Some("15"));
    // Sentinel's own incidents number themselves: not a Graph incident id.
    assert_eq!(p(json!({"providerName": "Azure Sentinel", "providerIncidentId": "3177"})), None);
    let url = json!({"providerName": "Azure Sentinel", "additionalData":
            {"providerIncidentUrl": "https://security.microsoft.com/incidents/88?tid=72f988bf"}});
    assert_eq!(p(url).as_deref(), Some("88"));
    let elsewhere = json!({"additionalData": {"providerIncidentUrl": "https://example.com/incidents/88"}});
    assert_eq!(p(elsewhere), None);
}

#[test]
fn a_defender_incident_seen_through_graph_and_sentinel_pages_once_whichever_comes_first() {
    let mut t = tenant();
    t.default_route.signl4.api_key = Some(secrecy::SecretString::from("key-0123456789"));
    let ws = t.sentinel()[0].clone();
    let alert = |id: &str, sev: &str| {
        GraphAlert::from_json(json!({"id": id, "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": sev,
                "status": "new", "incidentId": "2972", "title": "Suspicious sign-in"}))
        .unwrap()
    };
    // Graph first: its alert paged; the Sentinel incident finds that page and joins it.
    let mut graph_row = stored("open", None);
    graph_row.record.incident_id = Some("2972".into());
    let twin = Twin::find("contoso", &model::source(&ws.name), &[graph_row]).unwrap();
    assert_eq!(twin.leader, "s4s:contoso:graph-alert:a1");
    let inc = xdr_incident("inc-1", "2972");
    assert_eq!(sentinel_twin_of(&t, &ws, &inc, None), Some("2972"));
    let items = sentinel_incident(&t, &ws, &inc, None, Some(vec![]), &[], Some(&twin));
    assert_eq!(items.len(), 1);
    let it = &items[0];
    assert!(it.page.is_none() && it.more_pages.is_empty(), "no second page");
    assert_eq!(it.alert.incident_id.as_deref(), Some("2972"));
    assert_eq!(it.update.signl4_state.as_deref(), Some("grouped"));
    assert_eq!(it.update.grouped_into.as_deref(), Some("s4s:contoso:graph-alert:a1"));
    assert_eq!(it.jobs.len(), 1, "an annotation on the Graph page");
    let note: Value = serde_json::from_str(&it.jobs[0].payload).unwrap();
    assert!(note["text"].as_str().unwrap().contains("Also in Microsoft Sentinel (soc) as incident #9"), "{note}");
    // Sentinel first: its incident row (stored under the XDR id) is the twin of the alerts.
    let mut sentinel_row = stored("open", None);
    sentinel_row.record.source = model::source(&ws.name);
    sentinel_row.record.alert_id = "inc-1".into();
    sentinel_row.record.incident_id = Some("2972".into());
    let mut book = GroupBook::default();
    book.add_twin("contoso", "2972", &[sentinel_row]);
    let item = graph_alert_grouped(&t, &alert("a1", "high"), None, &mut book);
    assert!(item.page.is_none(), "the incident already paged through Sentinel");
    assert_eq!(item.update.grouped_into.as_deref(), Some("s4s:contoso:sentinel.soc:inc-1"));
    assert_eq!(item.update.paged, Some(true));
    assert_eq!(item.jobs[0].key, "annotate:s4s:contoso:sentinel.soc:inc-1:a1@default");
    // An alert of another incident pages as always.
    let other = GraphAlert::from_json(json!({"id": "a9", "lastUpdateDateTime": "2026-11-28T10:00:00Z",
            "severity": "high", "status": "new", "incidentId": "1"}))
    .unwrap();
    assert!(graph_alert_grouped(&t, &other, None, &mut book).page.is_some());
    // A Sentinel-native incident has no twin to look for.
    let native = Incident::from_json(json!({"name": "inc-2", "properties": {"title": "t", "severity": "High",
            "status": "New", "providerName": "Azure Sentinel", "providerIncidentId": "4",
            "lastModifiedTimeUtc": "2026-11-28T10:00:00Z"}}))
    .unwrap();
    assert_eq!(sentinel_twin_of(&t, &ws, &native, None), None);
}

#[test]
fn a_routed_alert_pages_each_team_once_and_a_portal_resolve_closes_it_in_each() {
    let text = crate::config::example().replace(
            "[tenant.sync]",
            "[[tenant.route]]\nname = \"endpoint\"\nteam_secret = \"team-endpoint\"\ncontinue = true\n[tenant.route.match]\nproduct = [\"microsoftDefenderForEndpoint\"]\n\n[[tenant.route]]\nname = \"high\"\nteam_secret = \"team-high\"\n[tenant.route.match]\nmin_severity = \"high\"\n\n[tenant.sync]",
        );
    let t = load(&text, &ProcessEnv).unwrap().tenants.remove(0);
    let a = GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "high",
            "status": "new", "serviceSource": "microsoftDefenderForEndpoint"}))
    .unwrap();
    let item = graph_alert(&t, &a, None);
    let page = item.page.as_ref().unwrap();
    assert_eq!(page.key, "page:s4s:contoso:graph-alert:a1");
    let body: jobs::PageJob = serde_json::from_str(&page.payload).unwrap();
    assert_eq!(body.route(), "endpoint");
    assert_eq!(item.more_pages.len(), 1);
    assert_eq!(item.more_pages[0].key, "page:s4s:contoso:graph-alert:a1@high");
    assert_eq!(item.update.routes.as_deref(), Some("endpoint,high"));
    // Resolved in the portal: both teams' SIGNL4 alerts close.
    let resolved = GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T11:00:00Z",
            "severity": "high", "status": "resolved", "serviceSource": "microsoftDefenderForEndpoint"}))
    .unwrap();
    let mut prior = stored("open", None);
    prior.routes = vec!["endpoint".into(), "high".into()];
    let item = graph_alert(&t, &resolved, Some(&prior));
    let keys: Vec<&str> = item.jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(
        keys,
        ["s4status:resolved:s4s:contoso:graph-alert:a1", "s4status:resolved:s4s:contoso:graph-alert:a1@high"]
    );
    let second: serde_json::Value = serde_json::from_str(&item.jobs[1].payload).unwrap();
    assert_eq!(second[jobs::ROUTE_FIELD], "high");
    // Paged before routes existed (no routes recorded): the tenant's own team, as before.
    let item = graph_alert(&t, &resolved, Some(&stored("open", None)));
    let body: serde_json::Value = serde_json::from_str(&item.jobs[0].payload).unwrap();
    assert!(body.get(jobs::ROUTE_FIELD).is_none());
}

#[test]
fn a_reopened_alert_pages_once_more_marked_and_its_next_resolve_closes_the_new_signl4_alert() {
    let t = tenant();
    let v = |at: &str, status: &str| {
        GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": at, "severity": "high", "status": status}))
            .unwrap()
    };
    // Closed in SIGNL4, written back as resolved; now set back to new in the portal.
    let mut prior = stored("closed", Some("resolved"));
    prior.record.status = "resolved".into();
    let item = graph_alert(&t, &v("2026-11-28T12:00:00Z", "new"), Some(&prior));
    assert!(item.page.is_none(), "not the first page");
    assert_eq!(item.jobs.len(), 1);
    assert_eq!(item.jobs[0].key, "page:s4s:contoso:graph-alert:a1~reopen1");
    let body = serde_json::from_str::<jobs::PageJob>(&item.jobs[0].payload).unwrap().body;
    assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a1~reopen1");
    assert!(body["Title"].as_str().unwrap().starts_with("[Reopened] "));
    assert!(body["Reopened"].as_str().unwrap().contains("reopened once"));
    assert_eq!(item.update.episode, Some(1));
    assert_eq!(item.update.signl4_state.as_deref(), Some("open"));
    // The reopened version seen again: nothing (its stored status is open now).
    let mut now = stored("open", Some("reopened"));
    now.record.status = "new".into();
    now.episode = 1;
    assert!(graph_alert(&t, &v("2026-11-28T12:00:00Z", "new"), Some(&now)).jobs.is_empty());
    // Resolved in the portal again: the reopened SIGNL4 alert closes.
    let item = graph_alert(&t, &v("2026-11-28T13:00:00Z", "resolved"), Some(&now));
    assert_eq!(item.jobs[0].key, "s4status:resolved:s4s:contoso:graph-alert:a1~reopen1");
    // Our own write coming back is not a reopening.
    let mut ours = stored("acknowledged", Some("inProgress"));
    ours.record.status = "resolved".into();
    assert!(graph_alert(&t, &v("2026-11-28T14:00:00Z", "inProgress"), Some(&ours)).jobs.is_empty());
    // External ids of episodes parse back to the alert.
    let e = crate::ids::ExternalId::parse("s4s:contoso:graph-alert:a1~reopen1").unwrap();
    assert_eq!((e.id.as_str(), e.episode), ("a1", 1));
}

fn incident_alert(id: &str, sev: &str) -> GraphAlert {
    GraphAlert::from_json(json!({"id": id, "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": sev,
            "status": "new", "incidentId": "77", "title": format!("Alert {id}"), "serviceSource": "microsoftDefenderForEndpoint",
            "evidence": [{"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "ws-1"}]}))
        .unwrap()
}

/// As the store would return the row after ingesting `item`.
fn as_stored(item: &IngestItem) -> StoredAlert {
    let mut s = stored(item.update.signl4_state.as_deref().unwrap_or("open"), None);
    s.record = item.alert.clone();
    s.routes = item.update.routes.clone().map(|r| r.split(',').map(str::to_string).collect()).unwrap_or_default();
    s.grouped_into = item.update.grouped_into.clone();
    s
}

#[test]
fn a_portal_comment_becomes_one_annotation_in_each_team_with_an_api_key() {
    let mut t = tenant();
    let mut prior = stored("open", None);
    prior.record.version = "2026-12-01T10:00:00.0000000Z".into();
    let a = |comments: Value| {
        GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": "2026-12-01T10:05:00Z", "severity": "high",
                "status": "new", "comments": comments}))
        .unwrap()
    };
    let human = json!([{"comment": "Isolated the device", "createdByDisplayName": "Megan Bowen", "createdDateTime": "2026-12-01T10:04:00Z"},
            {"comment": "Acknowledged in SIGNL4 by rene. [SIGNL4 ack:1]", "createdDateTime": "2026-12-01T10:03:00Z"}]);
    assert!(graph_alert(&t, &a(human.clone()), Some(&prior)).jobs.is_empty(), "no API key: nothing to annotate with");
    t.default_route.signl4.api_key = Some(secrecy::SecretString::from("k"));
    let item = graph_alert(&t, &a(human.clone()), Some(&prior));
    assert_eq!(item.jobs.len(), 1, "{:?}", item.jobs);
    let job: crate::jobs::AnnotateJob = serde_json::from_str(&item.jobs[0].payload).unwrap();
    assert_eq!(job.external_id, "s4s:contoso:graph-alert:a1");
    assert_eq!(job.text, "[signl4-sentinel] Portal comment by Megan Bowen: Isolated the device");
    // Read again (a later version, same comment): the same job key, so it is created once.
    let mut later = a(human);
    later.last_update += time::Duration::minutes(1);
    assert_eq!(graph_alert(&t, &later, Some(&prior)).jobs[0].key, item.jobs[0].key);
    // A grouped alert's comment goes to its incident's page; a held alert's nowhere.
    prior.signl4_state = "grouped".into();
    prior.grouped_into = Some("s4s:contoso:graph-alert:leader".into());
    let item = graph_alert(&t, &a(json!([{"comment": "x", "createdDateTime": "2026-12-01T10:04:00Z"}])), Some(&prior));
    let job: crate::jobs::AnnotateJob = serde_json::from_str(&item.jobs[0].payload).unwrap();
    assert_eq!(job.external_id, "s4s:contoso:graph-alert:leader");
    prior.signl4_state = "held".into();
    assert!(
        graph_alert(&t, &a(json!([{"comment": "x", "createdDateTime": "2026-12-01T10:04:00Z"}])), Some(&prior))
            .jobs
            .is_empty()
    );
}

#[test]
fn one_page_per_incident_the_rest_annotated_or_paged_when_severity_rises() {
    let mut t = tenant();
    t.default_route.signl4.group = GroupBy::Incident;
    t.signl4.group = GroupBy::Incident;
    // Without an API key: the first alert pages, a later one of lower or equal severity is
    // grouped, one that raises the severity pages on its own.
    let mut book = GroupBook::default();
    let first = graph_alert_grouped(&t, &incident_alert("a1", "medium"), None, &mut book);
    let body = serde_json::from_str::<jobs::PageJob>(&first.page.as_ref().unwrap().payload).unwrap().body;
    assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a1");
    assert!(body["Grouping"].as_str().unwrap().contains("incident 77"));
    assert_eq!(first.update.grouped_into.as_deref(), Some("s4s:contoso:graph-alert:a1"));
    let second = graph_alert_grouped(&t, &incident_alert("a2", "low"), None, &mut book);
    assert!(second.page.is_none() && second.jobs.is_empty());
    assert_eq!(second.update.paged, Some(true));
    assert_eq!(second.update.signl4_state.as_deref(), Some("grouped"));
    assert_eq!(second.update.grouped_into.as_deref(), Some("s4s:contoso:graph-alert:a1"));
    let worse = graph_alert_grouped(&t, &incident_alert("a3", "high"), None, &mut book);
    let body = serde_json::from_str::<jobs::PageJob>(&worse.page.as_ref().unwrap().payload).unwrap().body;
    assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a3");
    assert!(body["Incident severity rose"].as_str().unwrap().starts_with("to High"));
    let again = graph_alert_grouped(&t, &incident_alert("a4", "high"), None, &mut book);
    assert!(again.page.is_none(), "the severity rises once per level");

    // What the store knows after a restart gives the same answer.
    let mut fresh = GroupBook::default();
    fresh.add_stored("contoso", &[as_stored(&first), as_stored(&second), as_stored(&worse)]);
    assert_eq!(
        fresh.get("77", DEFAULT_ROUTE).map(|g| (g.leader.as_str(), g.max_rank)),
        Some(("s4s:contoso:graph-alert:a1", 3))
    );
    assert!(graph_alert_grouped(&t, &incident_alert("a5", "high"), None, &mut fresh).page.is_none());

    // Another incident, or an alert without one, pages as always.
    let mut other = incident_alert("b1", "low");
    other.incident_id = Some("78".into());
    assert!(graph_alert_grouped(&t, &other, None, &mut book).page.is_some());
    let mut lone = incident_alert("c1", "low");
    lone.incident_id = None;
    assert!(graph_alert_grouped(&t, &lone, None, &mut book).page.is_some());

    // With an API key: later alerts become annotations on the first alert's page, once each.
    t.default_route.signl4.api_key = Some(secrecy::SecretString::from("k"));
    let mut book = GroupBook::default();
    let _ = graph_alert_grouped(&t, &incident_alert("a1", "medium"), None, &mut book);
    let added = graph_alert_grouped(&t, &incident_alert("a2", "high"), None, &mut book);
    assert!(added.page.is_none());
    let job = &added.jobs[0];
    assert_eq!(job.kind, "annotate");
    assert_eq!(job.key, "annotate:s4s:contoso:graph-alert:a1:a2@default");
    let a: crate::jobs::AnnotateJob = serde_json::from_str(&job.payload).unwrap();
    assert_eq!(a.external_id, "s4s:contoso:graph-alert:a1");
    assert!(
        a.text.starts_with(
            "[signl4-sentinel] Also in incident 77: [High] Alert a2 (microsoftDefenderForEndpoint) on ws-1"
        ),
        "{}",
        a.text
    );
    assert!(a.text.contains("severity rose to High"));
}

#[test]
fn a_panicking_decision_is_an_error_text() {
    assert_eq!(guarded(|| 2 + 2), Ok(4));
    let e = guarded(|| -> usize { panic!("byte index 5 is not a char boundary") }).unwrap_err();
    assert_eq!(e, "internal error (panic): byte index 5 is not a char boundary");
    let n = 7;
    let e = guarded(|| -> usize { panic!("formatted {n}") }).unwrap_err();
    assert!(e.ends_with("formatted 7"));
}

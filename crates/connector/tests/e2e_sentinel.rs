//! Microsoft Sentinel incidents through the Azure REST API, end to end over real HTTP against
//! the fake ARM and Log Analytics.

mod common;

use std::time::Duration;

use common::*;
use s4s_core::config::PagePer;
use s4s_fakecloud::{Action, DEFAULT_WORKSPACE as WS, Fault, FaultKind, Responder, Service, scenarios};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

fn sext(inc: &Value) -> String {
    s4s_core::ids::external_id("contoso", "sentinel.soc", inc["name"].as_str().unwrap())
}

fn incident(h: &Harness, inc: &Value) -> Value {
    h.fake.sentinel_incident(WS, inc["name"].as_str().unwrap()).unwrap()
}

fn message(h: &Harness, ext: &str) -> String {
    h.fake
        .received(TEAM)
        .into_iter()
        .find(|e| e.external_id.as_deref() == Some(ext) && e.status == "new")
        .and_then(|e| e.body.get("Message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

fn labels(inc: &Value) -> Vec<String> {
    inc["properties"]["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["labelName"].as_str().map(str::to_string))
        .collect()
}

fn rene() -> Option<Responder> {
    Some(Responder::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_paged_once_with_rule_query_results_and_labelled() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("paged", T, async || h.pages().contains_key(&sext(&inc))).await;
    let m = message(&h, &sext(&inc));
    for needle in [
        "Microsoft Sentinel incident #1",
        "• [High] Brute force attack against Azure Portal (Azure Sentinel) — megan.bowen@contoso.com",
        "Rule query results:\n1. UserPrincipalName=megan.bowen@contoso.com, IPAddress=203.0.113.77, Failures=57",
        "3. UserPrincipalName=lee.gu@contoso.com",
        "MITRE ATT&CK: CredentialAccess, T1110",
    ] {
        assert!(m.contains(needle), "missing {needle:?} in\n{m}");
    }
    wait_for("label SIGNL4", T, async || labels(&incident(&h, &inc)).contains(&"SIGNL4".to_string())).await;
    h.polls(3).await;
    assert_eq!(h.pages().get(&sext(&inc)), Some(&1));
    // The label write does not page again, and the Graph copy of Sentinel alerts is not paged.
    assert_eq!(h.pages().len(), 1);
    assert_eq!(h.fake.requests().get("loganalytics.query").copied(), Some(1));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_editing_between_read_and_write_loses_nothing() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("paged and labelled", T, async || labels(&incident(&h, &inc)).contains(&"SIGNL4".to_string())).await;
    let name = inc["name"].as_str().unwrap();
    // An analyst assigns herself, adds a label and edits the description while our
    // acknowledgement is being written: our PUT carries a stale etag → 409 → re-read.
    h.fake.interleave_sentinel_edit(
        WS,
        name,
        json!({"owner": {"email": "alex@contoso.com", "assignedTo": "Alex Wilber", "userPrincipalName": "alex@contoso.com", "ownerType": "User"},
               "labels": [{"labelName": "SIGNL4", "labelType": "User"}, {"labelName": "VIP", "labelType": "User"}],
               "description": "Edited by Alex"}),
    );
    h.fake.signl4_action(TEAM, &sext(&inc), Action::Acknowledge(rene())).await.unwrap();
    wait_for("Active", T, async || incident(&h, &inc)["properties"]["status"] == "Active").await;
    let p = incident(&h, &inc)["properties"].clone();
    assert_eq!(p["owner"]["assignedTo"], "Alex Wilber", "the analyst's owner survives");
    assert_eq!(p["description"], "Edited by Alex");
    assert_eq!(labels(&incident(&h, &inc)), vec!["SIGNL4", "VIP"]);
    assert!(h.fake.requests().get("arm.incidents.conflict").copied().unwrap_or(0) >= 1, "the 409 path was exercised");
    wait_for("ack comment", T, async || h.fake.sentinel_comments(WS, name).len() == 1).await;
    assert!(
        h.fake.sentinel_comments(WS, name)[0]["properties"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Acknowledged in SIGNL4 by rene@signl4.com.")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_uses_each_valid_classification_pair() {
    let pairs: [(&str, Option<&str>); 5] = [
        ("TruePositive", Some("SuspiciousActivity")),
        ("BenignPositive", Some("SuspiciousButExpected")),
        ("FalsePositive", Some("IncorrectAlertLogic")),
        ("FalsePositive", Some("InaccurateData")),
        ("Undetermined", None),
    ];
    for (class, reason) in pairs {
        let h = Harness::new().await;
        let cfg = h.config().sentinel(|s| {
            s.close_classification = class.into();
            s.close_classification_reason = reason.map(str::to_string);
        });
        let app = h.start_connected(&cfg, 0.0, None).await;
        let (i, a) = scenarios::sentinel_incident("");
        let inc = h.fake.add_sentinel_incident(WS, i, a);
        wait_for("paged", T, async || h.pages().contains_key(&sext(&inc))).await;
        h.fake.signl4_action(TEAM, &sext(&inc), Action::Close(rene())).await.unwrap();
        wait_for("Closed", T, async || incident(&h, &inc)["properties"]["status"] == "Closed").await;
        let p = incident(&h, &inc)["properties"].clone();
        assert_eq!(p["classification"], class);
        assert_eq!(p["classificationReason"].as_str(), reason, "{class}");
        assert_eq!(p["owner"]["email"], "rene@signl4.com", "an unassigned incident gets the responder as owner");
        wait_for("close comment", T, async || h.fake.sentinel_comments(WS, inc["name"].as_str().unwrap()).len() == 1)
            .await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrichment_that_misses_its_budget_follows_as_a_comment() {
    let h = Harness::new().await;
    h.fake.inject(Fault { service: Service::LogAnalytics, kind: FaultKind::Latency { ms: 1500 }, count: 1 });
    let app =
        h.start_connected(&h.config().sentinel(|s| s.enrichment.budget = Duration::from_millis(200)), 0.0, None).await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("paged", T, async || h.pages().contains_key(&sext(&inc))).await;
    let m = message(&h, &sext(&inc));
    assert!(m.contains("Rule query results: still running"), "{m}");
    let name = inc["name"].as_str().unwrap();
    wait_for("results comment", T, async || {
        h.fake
            .sentinel_comments(WS, name)
            .iter()
            .any(|c| c["properties"]["message"].as_str().unwrap_or("").contains("Failures=57"))
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_and_failed_queries_never_block_the_page() {
    let h = Harness::new().await;
    h.fake.add_query_result(
        WS,
        "PartialRule",
        json!({"tables": [{"name": "PrimaryResult", "columns": [{"name": "Host", "type": "string"}], "rows": [["ws-1"], ["ws-2"]]}],
               "error": {"code": "PartialError", "message": "Query result set has exceeded the internal record count limit", "details": []}}),
    );
    h.fake.add_query_result(WS, "BrokenRule", json!({"status": 400}));
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let mk = |needle: &str, title: &str| {
        let (mut i, mut a) = scenarios::sentinel_incident(title);
        a[0]["properties"]["additionalData"]["Query"] = json!(format!("{needle} | take 100"));
        i["properties"]["severity"] = json!("Medium");
        (i, a)
    };
    let (i1, a1) = mk("PartialRule", " (partial)");
    let (i2, a2) = mk("BrokenRule", " (broken)");
    let p = h.fake.add_sentinel_incident(WS, i1, a1);
    let b = h.fake.add_sentinel_incident(WS, i2, a2);
    wait_for("both paged", T, async || h.pages().contains_key(&sext(&p)) && h.pages().contains_key(&sext(&b))).await;
    let mp = message(&h, &sext(&p));
    assert!(mp.contains("1. Host=ws-1") && mp.contains("⚠ partial results (PartialError"), "{mp}");
    let mb = message(&h, &sext(&b));
    assert!(mb.contains("Rule query results unavailable: Log Analytics: HTTP 400"), "{mb}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_closed_in_the_portal_closes_signl4_without_echo() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("paged and labelled", T, async || labels(&incident(&h, &inc)).contains(&"SIGNL4".to_string())).await;
    h.fake.update_sentinel_incident(
        WS,
        inc["name"].as_str().unwrap(),
        json!({"status": "Closed", "classification": "FalsePositive", "classificationReason": "InaccurateData"}),
    );
    wait_for("SIGNL4 closed", T, async || h.fake.signl4_alerts(TEAM)[&sext(&inc)].status == "resolved").await;
    wait_for("SIGNL4 reported it", T, async || {
        h.fake.outbound_events(TEAM).iter().any(|e| e["alert"]["statusCode"] == 4)
    })
    .await;
    h.polls(3).await;
    assert!(h.fake.sentinel_comments(WS, inc["name"].as_str().unwrap()).is_empty(), "echo became a comment");
    assert_eq!(
        incident(&h, &inc)["properties"]["classification"],
        "FalsePositive",
        "the analyst's classification is kept"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_alert_mode_pages_each_alert_and_the_incident_follows_the_last() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config().sentinel(|s| s.page_per = PagePer::Alert), 0.0, None).await;
    let (i, mut a) = scenarios::sentinel_incident("");
    let mut second = a[0].clone();
    second["properties"]["alertDisplayName"] = json!("Successful sign-in after brute force");
    a.push(second);
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("two pages", T, async || h.pages().len() == 2).await;
    let exts: Vec<String> = h.pages().keys().cloned().collect();
    assert!(exts.iter().all(|e| e.starts_with("s4s:contoso:sentinel-alert.soc:")), "{exts:?}");
    h.fake.signl4_action(TEAM, &exts[0], Action::Acknowledge(rene())).await.unwrap();
    wait_for("first ack comment", T, async || h.fake.sentinel_comments(WS, inc["name"].as_str().unwrap()).len() == 1)
        .await;
    assert_eq!(incident(&h, &inc)["properties"]["status"], "New", "waits for the last alert");
    h.fake.signl4_action(TEAM, &exts[1], Action::Acknowledge(rene())).await.unwrap();
    wait_for("Active", T, async || incident(&h, &inc)["properties"]["status"] == "Active").await;
    h.fake.signl4_action(TEAM, &exts[0], Action::Close(rene())).await.unwrap();
    h.fake.signl4_action(TEAM, &exts[1], Action::Close(rene())).await.unwrap();
    wait_for("Closed", T, async || incident(&h, &inc)["properties"]["status"] == "Closed").await;
    h.polls(2).await;
    assert_eq!(h.pages().len(), 2);
    // An analyst reopens the incident: it pages once more, as one page marked reopened.
    let name = inc["name"].as_str().unwrap();
    h.fake.update_sentinel_incident(WS, name, json!({"status": "Active"}));
    let reopened = format!("{}~reopen1", sext(&inc));
    wait_for("paged again", T, async || h.pages().contains_key(&reopened)).await;
    h.polls(3).await;
    assert_eq!(h.pages().len(), 3, "one page for the reopening: {:?}", h.pages());
    let e = h.fake.received(TEAM).into_iter().find(|e| e.external_id.as_deref() == Some(&reopened)).unwrap();
    assert!(e.body["Title"].as_str().unwrap().starts_with("[Reopened] "), "{}", e.body["Title"]);
    // Closed in the portal again: that SIGNL4 alert closes.
    h.fake.update_sentinel_incident(
        WS,
        name,
        json!({"status": "Closed", "classification": "FalsePositive", "classificationReason": "InaccurateData"}),
    );
    wait_for("reopened SIGNL4 alert closed", T, async || {
        h.fake.signl4_alerts(TEAM).get(&reopened).is_some_and(|x| x.status == "resolved")
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_only_tenants_and_api_errors() {
    let h = Harness::new().await;
    // Graph off: a Graph alert does not page; Sentinel incidents do.
    let app = h.start_connected(&h.config().tenant(|t| t.graph = Some(false)), 0.0, None).await;
    let g = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("Sentinel paged", T, async || h.pages().contains_key(&sext(&inc))).await;
    assert!(!h.pages().contains_key(&ext(&g)));
    assert_eq!(h.graph_lists(), 0, "Graph is not polled");
    app.stop().await;

    // A wrong api-version is reported with the service's message.
    let app = h.start_connected(&h.config().sentinel(|s| s.api_version = "2019-01-01".into()), 0.0, None).await;
    wait_for("poll error", T, async || {
        let v: Value = reqwest::get(format!("http://{}/readyz", app.addr)).await.unwrap().json().await.unwrap();
        v["tenants"]["contoso"]["status"]["last_poll_error"]
            .as_str()
            .is_some_and(|e| e.contains("InvalidApiVersionParameter"))
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_query_comes_from_the_security_alert_table_when_additional_data_lacks_it() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let (i, mut a) = scenarios::sentinel_incident(" (NRT)");
    a[0]["properties"]["additionalData"] = json!({"AlertMessageEnqueueTime": "2026-11-28T10:00:00Z"});
    a[0]["properties"]["productComponentName"] = json!("NRT Alerts");
    a[0]["properties"]["systemAlertId"] = json!("baa8a239-6fde-4ab7-a093-d09f7b75c58c");
    h.fake.add_security_alert(
        WS,
        "baa8a239-6fde-4ab7-a093-d09f7b75c58c",
        r#"{"Query":"SigninLogs | where ResultType != 0","Query Start Time UTC":"2026-11-28 09:00:00Z","Query End Time UTC":"2026-11-28 10:00:00Z","Search Query Results Overall Count":"3"}"#,
    );
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("paged", T, async || h.pages().contains_key(&sext(&inc))).await;
    let m = message(&h, &sext(&inc));
    assert!(m.contains("Rule query results:\n1. UserPrincipalName=megan.bowen@contoso.com"), "{m}");
    assert_eq!(
        h.fake.requests().get("loganalytics.query").copied(),
        Some(2),
        "one lookup in SecurityAlert, one re-run"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_incidents_is_read_across_next_links() {
    let h = Harness::new().await;
    let mut incs = Vec::new();
    for n in 0..7 {
        let (i, a) = scenarios::sentinel_incident(&format!(" {n}"));
        incs.push(h.fake.add_sentinel_incident(WS, i, a));
    }
    let app = h.start_connected(&h.config().tenant(|t| t.page_size = Some(3)), 0.0, None).await;
    wait_for("all 7 paged", T, async || incs.iter().all(|i| h.pages().contains_key(&sext(i)))).await;
    assert!(h.fake.requests().get("arm.incidents.list").copied().unwrap_or(0) >= 3, "followed nextLink");
    h.polls(2).await;
    assert!(incs.iter().all(|i| h.pages().get(&sext(i)) == Some(&1)));
    app.stop().await;
}

/// A workspace onboarded to the Defender portal: its incidents are Defender XDR incidents that
/// Graph reports too (`providerName` "Microsoft XDR", `providerIncidentId` = the Graph
/// incident id). Whichever source sees an incident first pages it; the other joins that page
/// (an annotation), and acknowledging it acts on both the Graph alert and the Sentinel incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_defender_incident_seen_through_graph_and_sentinel_pages_once() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, "test-api-key");
    let cfg = h.config().tenant(|t| {
        t.signl4.api_key = Some("test-api-key".into());
        t.signl4.api_poll_interval = Some(Duration::from_millis(200));
    });
    let app = h.start_connected(&cfg, 0.0, None).await;
    let graph_alert = |xdr: &str| {
        let (_, make) = scenarios::catalogue()[0];
        let mut a = make(&format!("twin-{xdr}"));
        a["incidentId"] = json!(xdr);
        a["serviceSource"] = json!("microsoftDefenderForEndpoint");
        a
    };
    let xdr_incident = |xdr: &str| {
        let (mut i, a) = scenarios::sentinel_incident(&format!(" (XDR {xdr})"));
        i["properties"]["providerName"] = json!("Microsoft XDR");
        i["properties"]["providerIncidentId"] = json!(xdr);
        i["properties"]["additionalData"] =
            json!({"providerIncidentUrl": format!("https://security.microsoft.com/incidents/{xdr}")});
        (i, a)
    };
    // Graph first.
    let a1 = h.fake.add_alert(TENANT, graph_alert("2972"));
    wait_for("the Graph alert paged", T, async || h.pages().contains_key(&ext(&a1))).await;
    let (i, a) = xdr_incident("2972");
    let s1 = h.fake.add_sentinel_incident(WS, i, a);
    let joined = |leader: &str, what: &str| {
        h.fake.signl4_alerts(TEAM).get(leader).is_some_and(|x| x.notes.iter().any(|n| n.text.contains(what)))
    };
    wait_for("the Sentinel incident joined the Graph page", T, async || {
        joined(&ext(&a1), "Also in Microsoft Sentinel (soc) as incident")
    })
    .await;
    // Sentinel first.
    let (i, a) = xdr_incident("3001");
    let s2 = h.fake.add_sentinel_incident(WS, i, a);
    wait_for("the Sentinel incident paged", T, async || h.pages().contains_key(&sext(&s2))).await;
    let a2 = h.fake.add_alert(TENANT, graph_alert("3001"));
    wait_for("the Graph alert joined the Sentinel page", T, async || joined(&sext(&s2), "Also in incident 3001")).await;
    h.polls(3).await;
    let pages = h.pages();
    assert_eq!(pages.len(), 2, "one page per incident: {pages:?}");
    assert!(!pages.contains_key(&sext(&s1)) && !pages.contains_key(&ext(&a2)), "{pages:?}");

    // One acknowledgement acts on both views of each incident.
    for leader in [ext(&a1), sext(&s2)] {
        h.fake.signl4_action(TEAM, &leader, Action::Acknowledge(rene())).await.unwrap();
    }
    wait_for("both Graph alerts in progress", T, async || {
        [&a1, &a2].iter().all(|a| h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap()["status"] == "inProgress")
    })
    .await;
    wait_for("both Sentinel incidents active", T, async || {
        [&s1, &s2].iter().all(|s| incident(&h, s)["properties"]["status"] == "Active")
    })
    .await;
    app.stop().await;
}

/// An analyst's comment on a paged incident reaches the phone once, as an annotation; the
/// connector's own comments (the acknowledgement written back) do not, and the annotation is
/// not echoed back as a comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_comment_on_an_incident_becomes_one_annotation() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, "test-api-key");
    let cfg = h.config().tenant(|t| {
        t.signl4.api_key = Some("test-api-key".into());
        t.signl4.api_poll_interval = Some(Duration::from_millis(200));
    });
    let app = h.start_connected(&cfg, 0.0, None).await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    let name = inc["name"].as_str().unwrap();
    wait_for("paged", T, async || h.pages().contains_key(&sext(&inc))).await;
    h.fake.signl4_action(TEAM, &sext(&inc), Action::Acknowledge(rene())).await.unwrap();
    wait_for("ack written back", T, async || !h.fake.sentinel_comments(WS, name).is_empty()).await;
    h.fake.add_sentinel_portal_comment(WS, name, "Megan Bowen", "Blocked 203.0.113.77 at the firewall").unwrap();
    let notes = || h.fake.signl4_alerts(TEAM).get(&sext(&inc)).map(|x| x.notes.clone()).unwrap_or_default();
    wait_for("annotation", T, async || {
        notes().iter().any(|n| n.text.contains("Portal comment by Megan Bowen: Blocked"))
    })
    .await;
    h.polls(3).await;
    let ours: Vec<String> =
        notes().iter().filter(|n| n.text.starts_with("[signl4-sentinel]")).map(|n| n.text.clone()).collect();
    assert_eq!(ours.len(), 1, "one annotation, none for our own comments: {ours:?}");
    let comments = h.fake.sentinel_comments(WS, name);
    let texts: Vec<&str> = comments.iter().filter_map(|c| c["properties"]["message"].as_str()).collect();
    assert!(!texts.iter().any(|t| t.contains("Portal comment by")), "annotation echoed: {texts:?}");
    app.stop().await;
}

/// Whether a portal comment moves the incident's `lastModifiedTimeUtc` is not documented: when
/// it does not (the incident is not listed as changed), the comment recheck still finds it,
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_comment_that_does_not_change_the_incident_is_found_by_the_recheck() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, "test-api-key");
    let cfg = h
        .config()
        .tenant(|t| {
            t.signl4.api_key = Some("test-api-key".into());
            t.signl4.api_poll_interval = Some(Duration::from_millis(200));
        })
        .sentinel(|w| w.comment_recheck = Some(Duration::from_secs(1)));
    let app = h.start_connected(&cfg, 0.0, None).await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    let name = inc["name"].as_str().unwrap();
    wait_for("paged", T, async || h.pages().contains_key(&sext(&inc))).await;
    h.polls(2).await;
    h.fake.add_sentinel_portal_comment_unlisted(WS, name, "Megan Bowen", "Isolated the host").unwrap();
    let notes = || h.fake.signl4_alerts(TEAM).get(&sext(&inc)).map(|x| x.notes.clone()).unwrap_or_default();
    wait_for("annotation", T, async || {
        notes().iter().any(|n| n.text.contains("Portal comment by Megan Bowen: Isolated"))
    })
    .await;
    // Rechecks go on while the SIGNL4 alert is open: the comment is still added once.
    let reads = |h: &Harness| h.fake.requests().get("arm.comments.list").copied().unwrap_or(0);
    let before = reads(&h);
    wait_for("two more rechecks", T, async || reads(&h) >= before + 2).await;
    let ours = notes().iter().filter(|n| n.text.contains("Portal comment by")).count();
    assert_eq!(ours, 1, "{:?}", notes());
    app.stop().await;
}

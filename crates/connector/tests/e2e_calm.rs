//! Calm under a storm: a team's storm budget, its summary page and the high-severity lane,
//! end to end against the fake cloud.

mod common;

use std::time::{Duration, Instant};

use common::*;
use s4s_fakecloud::{Action, Responder, scenarios};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

fn misfire(i: u64) -> Value {
    let mut a = scenarios::synthetic(i);
    a["severity"] = json!("medium");
    a["title"] = json!(if i.is_multiple_of(5) { "Mass download" } else { "Suspicious sign-in" });
    a
}

fn storm(budget: i64, window: &str, high_lane: i64) -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("budget".into(), toml::Value::Integer(budget));
    t.insert("window".into(), toml::Value::String(window.into()));
    t.insert("high_lane".into(), toml::Value::Integer(high_lane));
    t
}

fn is_summary(ext: &str) -> bool {
    ext.contains(":storm-summary:")
}

/// A misfiring rule: 500 alerts on one team → at most the budget of pages per window plus one
/// summary per window; a high-severity alert in the middle still pages at once; paged + held
/// adds up to 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misfiring_rule_pages_the_budget_then_one_summary_and_high_severity_still_pages() {
    let h = Harness::new().await;
    let cfg = h.config().tenant(|t| t.signl4.storm = Some(storm(20, "10s", 2)));
    let mut alerts = h.fake.add_alerts(TENANT, (0..250).map(misfire));
    let app = h.start(&cfg).await;
    let alert_pages = || h.pages().keys().filter(|k| !is_summary(k)).count();
    wait_for("the budget's 20 pages", T, async || alert_pages() >= 20).await;

    // The budget is spent: a new high-severity alert still pages within a poll + 5 s.
    let mut high = scenarios::mde_malware("high-1");
    high["severity"] = json!("high");
    let high = h.fake.add_alert(TENANT, high);
    let added = Instant::now();
    wait_for("the high-severity alert paged", T, async || h.pages().contains_key(&ext(&high))).await;
    let took = added.elapsed();
    assert!(took < Duration::from_millis(250) + Duration::from_secs(5), "high severity took {took:?}");
    alerts.push(high);
    alerts.extend(h.fake.add_alerts(TENANT, (250..499).map(misfire)));
    assert_eq!(alerts.len(), 500);

    // One summary per window once the window has ended, counting every held alert.
    let summaries = || {
        h.fake
            .received(TEAM)
            .into_iter()
            .filter(|e| e.external_id.as_deref().is_some_and(is_summary))
            .collect::<Vec<_>>()
    };
    let held_total = || {
        summaries()
            .iter()
            .map(|e| e.body["Held alerts"].as_str().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0))
            .sum::<usize>()
    };
    wait_for("every alert paged or summarised", Duration::from_secs(60), async || alert_pages() + held_total() == 500)
        .await;
    h.polls(2).await;
    let pages = h.pages();
    let s = summaries();
    let windows = s.len();
    assert!(windows >= 1);
    for e in &s {
        assert_eq!(pages[e.external_id.as_deref().unwrap()], 1, "a summary is sent once");
    }
    let paged = alerts.iter().filter(|a| pages.contains_key(&ext(a))).count();
    for a in &alerts {
        assert!(pages.get(&ext(a)).copied().unwrap_or(0) <= 1, "alert {} paged twice", a["id"]);
    }
    assert_eq!(paged + held_total(), 500, "every alert is paged or held and summarised");
    assert!(paged <= (20 + 2) * windows, "{paged} pages in {windows} window(s)");
    eprintln!("paged {paged}, held {}, windows {windows}, high-severity page after {took:?}", held_total());
    assert!(held_total() >= 400, "held {}", held_total());
    let first = &s[0].body;
    let msg = first["Message"].as_str().unwrap();
    assert!(msg.contains("more alerts in the last 10 s: "), "{msg}");
    assert!(msg.contains("× Suspicious sign-in") && msg.contains("× Mass download"), "{msg}");
    assert!(first["Title"].as_str().unwrap().starts_with("[Storm] "), "{first}");
    app.stop().await;
}

/// How many of `alerts` the store marks held back (by the storm budget).
async fn held(app: &signl4_sentinel::app::App, alerts: &[Value]) -> usize {
    let ids: Vec<String> = alerts.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    let rows = app.store.get_alerts("contoso", "graph-alert", &ids).await.unwrap();
    rows.iter().filter(|r| r.signl4_state == "held").count()
}

/// A restart in the middle of a storm does not grant a second budget in the same window: the
/// window's count is kept in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_storm_keeps_counting_in_the_same_window() {
    let h = Harness::new().await;
    let cfg = h.config().tenant(|t| t.signl4.storm = Some(storm(5, "10m", 0)));
    let first = h.fake.add_alerts(TENANT, (0..8).map(misfire));
    let app = h.start(&cfg).await;
    wait_for("the budget's 5 pages and 3 held", T, async || held(&app, &first).await == 3 && h.pages().len() == 5)
        .await;
    app.stop().await;

    let app = h.start(&cfg).await;
    let more = h.fake.add_alerts(TENANT, (8..12).map(misfire));
    wait_for("the 4 new alerts held in the same window", T, async || held(&app, &more).await == 4).await;
    let pages = h.pages();
    assert_eq!(pages.len(), 5, "no second budget after the restart: {pages:?}");
    for a in first.iter().chain(&more) {
        assert!(pages.get(&ext(a)).copied().unwrap_or(0) <= 1);
    }
    app.stop().await;
}

fn incident_alert(i: u64, severity: &str) -> Value {
    let mut a = scenarios::synthetic(i);
    a["incidentId"] = json!("4711");
    a["severity"] = json!(severity);
    a["title"] = json!(format!("Lateral movement step {i}"));
    a
}

fn grouped(api_key: bool) -> impl FnOnce(&mut TenantSpec) {
    move |t| {
        t.signl4.group = Some("incident".into());
        if api_key {
            t.signl4.api_key = Some("test-api-key".into());
            t.signl4.api_poll_interval = Some(Duration::from_millis(200));
        }
    }
}

fn graph_alert(h: &Harness, a: &Value) -> Value {
    h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap()
}

/// One incident whose 40 alerts arrive in waves → one SIGNL4 alert with the other 39 as
/// annotations; acknowledging and closing it acts on all 40 in Graph; our annotations are not
/// echoed back as notes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_incident_with_40_alerts_pages_once_and_its_ack_and_close_act_on_all_40() {
    // Graph's 150 requests a minute would make 80 write-backs (3 requests each) take over two
    // minutes: this test is about the fan-out, `e2e_limits` about the budget.
    let h = Harness::launch(|s| s.graph_requests_per_minute = 3000).await.unwrap();
    h.fake.add_api_key(TEAM, "test-api-key");
    let cfg = h.config().tenant(grouped(true)).tenant(|t| t.limits.graph_requests_per_minute = Some(3000));
    let app = h.start_connected(&cfg, 0.0, None).await;
    let mut alerts = h.fake.add_alerts(TENANT, (0..10).map(|i| incident_alert(i, "medium")));
    wait_for("the incident paged", T, async || !h.pages().is_empty()).await;
    for wave in 1..4u64 {
        alerts.extend(h.fake.add_alerts(TENANT, (wave * 10..wave * 10 + 10).map(|i| incident_alert(i, "medium"))));
        h.polls(1).await;
    }
    let leader = {
        let pages = h.pages();
        assert_eq!(pages.len(), 1, "one page for the incident: {pages:?}");
        pages.keys().next().unwrap().clone()
    };
    let own = |n: &s4s_fakecloud::Note| n.text.starts_with("[signl4-sentinel] Also in incident 4711: ");
    wait_for("39 annotations", T, async || {
        h.fake.signl4_alerts(TEAM).get(&leader).is_some_and(|a| a.notes.iter().filter(|n| own(n)).count() == 39)
    })
    .await;

    h.fake.signl4_action(TEAM, &leader, Action::Acknowledge(Some(Responder::default()))).await.unwrap();
    wait_for("all 40 in progress in Graph", T, async || {
        alerts.iter().all(|a| graph_alert(&h, a)["status"] == "inProgress")
    })
    .await;
    h.fake.signl4_action(TEAM, &leader, Action::Close(Some(Responder::default()))).await.unwrap();
    wait_for("all 40 resolved in Graph", T, async || alerts.iter().all(|a| graph_alert(&h, a)["status"] == "resolved"))
        .await;
    h.polls(3).await;
    let notes = &h.fake.signl4_alerts(TEAM)[&leader].notes;
    assert_eq!(notes.iter().filter(|n| own(n)).count(), 39, "each grouped alert annotated once");
    for a in &alerts {
        let g = graph_alert(&h, a);
        let comments: Vec<&str> =
            g["comments"].as_array().unwrap().iter().filter_map(|c| c["comment"].as_str()).collect();
        assert!(!comments.iter().any(|c| c.contains("Also in incident")), "our annotation echoed: {comments:?}");
        assert_eq!(comments.iter().filter(|c| c.starts_with("Acknowledged in SIGNL4")).count(), 1, "{comments:?}");
    }
    assert_eq!(h.pages().len(), 1);
    app.stop().await;
}

/// Without an API key: later alerts of the incident do not page — except one that raises the
/// incident's severity, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_api_key_only_a_rise_in_severity_pages_again() {
    let h = Harness::new().await;
    let app = h.start(&h.config().tenant(grouped(false))).await;
    let first = h.fake.add_alerts(TENANT, (0..5).map(|i| incident_alert(i, "medium")));
    wait_for("the incident paged", T, async || h.pages().len() == 1).await;
    let worse = h.fake.add_alert(TENANT, incident_alert(5, "high"));
    wait_for("the rise paged", T, async || h.pages().contains_key(&ext(&worse))).await;
    h.fake.add_alerts(TENANT, (6..9).map(|i| incident_alert(i, "high")));
    h.polls(3).await;
    let pages = h.pages();
    assert_eq!(pages.len(), 2, "{pages:?}");
    let rise = h.fake.received(TEAM).into_iter().find(|e| e.external_id.as_deref() == Some(&ext(&worse))).unwrap();
    assert!(rise.body["Incident severity rose"].as_str().unwrap().starts_with("to High"), "{}", rise.body);
    assert!(pages.contains_key(&ext(&first[0])));
    app.stop().await;
}

/// A maintenance window (the same path as quiet hours): alerts in it are recorded and not
/// paged, a high-severity alert pages through, and when the window ends one digest lists what
/// was held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_window_holds_alerts_then_one_digest_and_high_severity_pages_through() {
    let h = Harness::new().await;
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let mut window = toml::Table::new();
    window.insert("start".into(), toml::Value::String(fmt(now - time::Duration::minutes(1))));
    window.insert("end".into(), toml::Value::String(fmt(now + time::Duration::seconds(8))));
    window.insert("reason".into(), toml::Value::String("firewall upgrade".into()));
    let mut quiet = toml::Table::new();
    quiet.insert("maintenance".into(), toml::Value::Array(vec![toml::Value::Table(window)]));
    let app = h.start(&h.config().tenant(|t| t.signl4.quiet = Some(quiet))).await;
    let held = h.fake.add_alerts(TENANT, (0..5).map(misfire));
    let mut high = scenarios::mde_malware("urgent");
    high["severity"] = json!("high");
    let high = h.fake.add_alert(TENANT, high);
    wait_for("the high-severity alert paged", T, async || h.pages().contains_key(&ext(&high))).await;
    let digest = || {
        h.fake
            .received(TEAM)
            .into_iter()
            .find(|e| e.external_id.as_deref().is_some_and(|x| x.contains(":quiet-digest:")))
    };
    wait_for("the digest when the window ends", T, async || digest().is_some()).await;
    h.polls(2).await;
    let d = digest().unwrap();
    assert_eq!(d.body["Held alerts"], "5", "{}", d.body);
    assert!(
        d.body["Title"]
            .as_str()
            .unwrap()
            .starts_with("[Quiet hours] 5 alerts held during maintenance: firewall upgrade"),
        "{}",
        d.body
    );
    assert!(d.body["Message"].as_str().unwrap().contains("4 × Suspicious sign-in, 1 × Mass download"), "{}", d.body);
    let pages = h.pages();
    assert!(held.iter().all(|a| !pages.contains_key(&ext(a))), "held alerts did not page");
    assert_eq!(pages.len(), 2, "the high-severity alert and the digest: {pages:?}");
    app.stop().await;
}

//! Calm under a storm: a team's storm budget, its summary page and the high-severity lane,
//! end to end against the fake cloud.

mod common;

use std::time::{Duration, Instant};

use common::*;
use s4s_fakecloud::scenarios;
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

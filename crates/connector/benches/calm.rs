//! Benchmark of the calm features at the documented API limits: a storm of 10,000 Graph alerts
//! in 50 incidents arriving within 60 s (5 of them high severity) with one page per incident (`group = "incident"`,
//! no API key) and the default storm budget (20 pages per 5 minutes, high-severity lane of 5).
//! The release binary runs against the fake cloud throttling at the documented limits (Graph
//! 150 / min per app and tenant, SIGNL4's commercial plan with blocking).
//!
//! Measures pages sent (alert pages and storm summaries), 429s, the time to the first page,
//! the time until every alert is accounted for (paged, grouped into its incident's page, or
//! held by the budget — read from the connector's `/metrics`), the time to the summary page,
//! and the ratio of alerts to pages. Takes about 6 minutes (the summary waits for the end of the
//! 5-minute window). Run with `cargo bench -p signl4-sentinel --bench calm`; results go to
//! BENCHMARKS.md.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use s4s_fakecloud::{Api, DEFAULT_TEAM_SECRET, DEFAULT_TENANT_ID, scenarios};
use serde_json::json;

mod common;
use common::*;

const ALERTS: u64 = 10_000;
const INCIDENTS: u64 = 50;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18_081)
}

/// The sum of every series of `name` in a Prometheus text exposition.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("signl4-sentinel: a 10,000-alert storm in 50 incidents, one page per incident, default storm budget\n");
    let h = Harness::new().await;
    let port = free_port();
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    let cfg = h.example().listen(listen).tenant(|t| {
        t.signl4.group = Some("incident".into());
        // The product's defaults (the test kit turns the budget off for its burst tests).
        t.signl4.storm = None;
    });
    let path = h.write_config(&cfg);
    let mut child = spawn_run(Path::new(env!("CARGO_BIN_EXE_signl4-sentinel")), &path, "warn", Stdio::null());
    wait_for_every("first poll", Duration::from_secs(30), Duration::from_millis(5), async || {
        h.requests("graph.alerts.list") >= 1
    })
    .await;
    let pid = child.id().unwrap_or(0);
    let http = reqwest::Client::new();
    let scrape = async || {
        let r = http.get(format!("http://{listen}/metrics")).send().await.ok()?;
        r.text().await.ok()
    };

    let alert = |i: u64| {
        let inc = i % INCIDENTS;
        let mut a = scenarios::synthetic(i);
        a["incidentId"] = json!(format!("{}", 5000 + inc));
        a["severity"] = json!(if inc < 5 { "high" } else { "medium" });
        a["title"] =
            json!(["Suspicious sign-in", "Mass download", "Malware detected", "Lateral movement"][(i % 4) as usize]);
        a
    };
    // The storm arrives within 60 s: 60 waves of ~167 alerts, one a second.
    let t0 = Instant::now();
    let per_wave = ALERTS.div_ceil(60);
    let storm = async {
        for w in 0..60 {
            let range = (w * per_wave)..((w + 1) * per_wave).min(ALERTS);
            h.fake.add_alerts(DEFAULT_TENANT_ID, range.map(alert));
            tokio::time::sleep_until((t0 + Duration::from_secs(w + 1)).into()).await;
        }
    };
    let first_page = async {
        wait_for_every("first page", Duration::from_secs(120), Duration::from_millis(5), async || {
            !h.pages().is_empty()
        })
        .await;
        t0.elapsed()
    };
    let ((), first) = tokio::join!(storm, first_page);
    let mut accounted_at = None;
    let mut last = (0.0, 0.0, 0.0);
    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    let summary_at = loop {
        if let Some(text) = scrape().await {
            let (paged, grouped, held) = (
                metric(&text, "s4s_pages_sent_total"),
                metric(&text, "s4s_alerts_grouped_total"),
                metric(&text, "s4s_pages_held_total"),
            );
            last = (paged, grouped, held);
            if accounted_at.is_none() && (paged + grouped + held) as u64 >= ALERTS {
                accounted_at = Some(t0.elapsed());
            }
            if accounted_at.is_some() && metric(&text, "s4s_storm_summaries_total") >= 1.0 {
                break Some(t0.elapsed());
            }
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let received = h.fake.received(DEFAULT_TEAM_SECRET);
    let new: Vec<_> = received.iter().filter(|e| e.status == "new").collect();
    let summaries = new.iter().filter(|e| e.body["Title"].as_str().is_some_and(|t| t.starts_with("[Storm]"))).count();
    let dups: usize = h.pages().values().map(|c| c.saturating_sub(1)).sum();
    let (paged, grouped, held) = last;
    println!("pages SIGNL4 received: {} ({} alert pages, {summaries} storm summary)", new.len(), new.len() - summaries);
    println!(
        "  of the {ALERTS} alerts: {paged} paged, {grouped} grouped into their incident's page, {held} held by the budget"
    );
    println!("  ratio: {:.0} alerts per page", ALERTS as f64 / new.len().max(1) as f64);
    println!("  first page after {} ms", first.as_millis());
    match accounted_at {
        Some(t) => println!("  every alert accounted for after {:.1} s", t.as_secs_f64()),
        None => println!("  NOT every alert accounted for within 15 min: {paged} + {grouped} + {held}"),
    }
    match summary_at {
        Some(t) => println!("  storm summary page after {:.1} s (the window is 5 min)", t.as_secs_f64()),
        None => println!("  no storm summary within 15 min"),
    }
    println!(
        "  429s: SIGNL4 {}, Graph {}; duplicate pages {dups}; Graph requests {}; peak RSS {} KiB",
        h.fake.throttled_count(Api::Signl4Webhook),
        h.fake.throttled_count(Api::Graph),
        h.fake.request_log(Api::Graph).len(),
        proc_status_kb(pid, "VmHWM:")
    );
    let _ = child.kill().await;
}

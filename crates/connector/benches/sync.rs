//! Benchmark: sync-back latency (SIGNL4 webhook delivered → Graph write visible) and Graph
//! requests per alert lifecycle (page, acknowledge, one note, close), with the release binary
//! against the fake cloud (in this process) over loopback.
//! Run with `cargo bench -p signl4-sentinel --bench sync`; results go to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use s4s_fakecloud::{
    Action, DEFAULT_TEAM_SECRET as TEAM, DEFAULT_TENANT_ID as TENANT, FakeCloud, Responder, scenarios,
};
use serde_json::Value;

mod common;
use common::pct;

fn ext(id: &str) -> String {
    format!("s4s:contoso:graph-alert:{id}")
}

fn writes(fc: &FakeCloud) -> BTreeMap<String, u64> {
    fc.requests().into_iter().filter(|(k, _)| k.starts_with("graph.") && !k.ends_with(".list")).collect()
}

/// Waits for a condition, polling every 0.5 ms (these measure single changes end to end).
async fn until(what: &str, f: impl AsyncFnMut() -> bool) {
    common::wait_for_every(what, Duration::from_secs(30), Duration::from_micros(500), f).await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Measure the connector, not the throttles: 200 lifecycles exceed Graph's 150 requests/min.
    let common::Run { h, mut child } = common::start(
        |s| *s = s4s_fakecloud::Settings::unthrottled(),
        |c| c.listen(SocketAddr::from(([127, 0, 0, 1], 18089))).unthrottled(),
        "graph.alerts.list",
    )
    .await;
    let fc = &h.fake;

    // Lifecycle cost: one alert alone in its incident.
    let a = fc.add_alert(TENANT, scenarios::mde_malware("5000"));
    let id = a["id"].as_str().unwrap().to_string();
    until("step 2", async || fc.pages_by_external_id(TEAM).contains_key(&ext(&id))).await;
    until("step 3", async || {
        fc.incident(TENANT, "5000").is_some_and(|i| i["customTags"].as_array().is_some_and(|t| !t.is_empty()))
    })
    .await;
    let after_page = writes(fc);
    let user = Some(Responder::default());
    fc.signl4_action(TEAM, &ext(&id), Action::Acknowledge(user.clone())).await.unwrap();
    until("step 4", async || fc.incident(TENANT, "5000").is_some_and(|i| i["status"] == "inProgress")).await;
    let after_ack = writes(fc);
    fc.signl4_action(TEAM, &ext(&id), Action::Annotate(user.clone(), "note".into())).await.unwrap();
    until("step 5", async || fc.alert(TENANT, &id).is_some_and(|g| g["comments"].as_array().map(Vec::len) == Some(2)))
        .await;
    let after_note = writes(fc);
    fc.signl4_action(TEAM, &ext(&id), Action::Close(user.clone())).await.unwrap();
    until("step 6", async || fc.incident(TENANT, "5000").is_some_and(|i| i["status"] == "resolved")).await;
    let after_close = writes(fc);
    let diff = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>| -> String {
        b.iter()
            .filter_map(|(k, v)| {
                let d = v - a.get(k).copied().unwrap_or(0);
                (d > 0).then(|| format!("{k} {d}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    println!("Graph requests per alert lifecycle (polls excluded):");
    println!("  page:        {} ({})", total(&after_page), diff(&BTreeMap::new(), &after_page));
    println!("  acknowledge: {} ({})", total(&after_ack) - total(&after_page), diff(&after_page, &after_ack));
    println!("  one note:    {} ({})", total(&after_note) - total(&after_ack), diff(&after_ack, &after_note));
    println!("  close:       {} ({})", total(&after_close) - total(&after_note), diff(&after_note, &after_close));

    // Latency: acknowledgement delivered → alert inProgress with the comment in Graph.
    let n = 200;
    let alerts: Vec<Value> = fc.add_alerts(TENANT, (0..n).map(|i| scenarios::synthetic(10_000 + i)));
    until("step 7", async || {
        alerts.iter().all(|a| fc.pages_by_external_id(TEAM).contains_key(&ext(a["id"].as_str().unwrap())))
    })
    .await;
    let mut lat = Vec::new();
    for a in &alerts {
        let id = a["id"].as_str().unwrap().to_string();
        let t0 = Instant::now();
        fc.signl4_action(TEAM, &ext(&id), Action::Acknowledge(user.clone())).await.unwrap();
        until("step 8", async || {
            fc.alert(TENANT, &id)
                .is_some_and(|g| g["status"] == "inProgress" && g["comments"].as_array().map(Vec::len) == Some(1))
        })
        .await;
        lat.push(t0.elapsed());
    }
    lat.sort();
    println!("sync-back latency ({n} acknowledgements, one at a time; webhook POST → Graph PATCH + comment done):");
    println!(
        "  p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms   (target p99 ≤ 250 ms)",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );
    child.kill().await.ok();
}

//! Benchmark: Sentinel time-to-page with and without rule-query enrichment, and ARM / Log
//! Analytics requests per incident lifecycle, with the release binary against the fake cloud.
//! Run with `cargo bench -p signl4-sentinel --bench sentinel`; results go to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use s4s_fakecloud::{Action, DEFAULT_TEAM_SECRET as TEAM, DEFAULT_WORKSPACE as WS, FakeCloud, Responder, scenarios};

mod common;
use common::pct;

/// Waits for a condition, polling every 0.5 ms (these measure single changes end to end).
async fn until(what: &str, f: impl AsyncFnMut() -> bool) {
    common::wait_for_every(what, Duration::from_secs(30), Duration::from_micros(500), f).await
}

fn arm(fc: &FakeCloud) -> BTreeMap<String, u64> {
    fc.requests()
        .into_iter()
        .filter(|(k, _)| (k.starts_with("arm.") && k != "arm.incidents.list") || k.starts_with("loganalytics"))
        .collect()
}

async fn run(enrich: bool, port: u16) -> (Vec<Duration>, Option<[BTreeMap<String, u64>; 5]>) {
    let common::Run { h, mut child } = common::start(
        |s| *s = s4s_fakecloud::Settings::unthrottled(),
        |c| {
            c.listen(SocketAddr::from(([127, 0, 0, 1], port))).sentinel(|w| w.enrichment.enabled = enrich).unthrottled()
        },
        "arm.incidents.list",
    )
    .await;
    let fc = &h.fake;
    let mut lat = Vec::new();
    for n in 0..20 {
        let (i, a) = scenarios::sentinel_incident(&format!(" #{n}"));
        let t0 = Instant::now();
        let inc = fc.add_sentinel_incident(WS, i, a);
        let ext = format!("s4s:contoso:sentinel.soc:{}", inc["name"].as_str().unwrap());
        until("paged", async || fc.pages_by_external_id(TEAM).contains_key(&ext)).await;
        lat.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(100 + (n * 37 % 400))).await;
    }
    lat.sort();
    let mut counts = None;
    if enrich {
        // One lifecycle: page (+ label), acknowledge, one note, close.
        let before = arm(fc);
        let (i, a) = scenarios::sentinel_incident(" lifecycle");
        let inc = fc.add_sentinel_incident(WS, i, a);
        let name = inc["name"].as_str().unwrap().to_string();
        let ext = format!("s4s:contoso:sentinel.soc:{name}");
        until("labelled", async || {
            fc.sentinel_incident(WS, &name)
                .is_some_and(|i| i["properties"]["labels"].as_array().is_some_and(|l| !l.is_empty()))
        })
        .await;
        let paged = arm(fc);
        let u = Some(Responder::default());
        fc.signl4_action(TEAM, &ext, Action::Acknowledge(u.clone())).await.unwrap();
        until("ack", async || fc.sentinel_comments(WS, &name).len() == 1).await;
        let acked = arm(fc);
        fc.signl4_action(TEAM, &ext, Action::Annotate(u.clone(), "note".into())).await.unwrap();
        until("note", async || fc.sentinel_comments(WS, &name).len() == 2).await;
        let noted = arm(fc);
        fc.signl4_action(TEAM, &ext, Action::Close(u.clone())).await.unwrap();
        until("close", async || fc.sentinel_comments(WS, &name).len() == 3).await;
        let closed = arm(fc);
        counts = Some([before, paged, acked, noted, closed]);
    }
    child.kill().await.ok();
    (lat, counts)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    for (enrich, port) in [(false, 18091u16), (true, 18092)] {
        let (lat, counts) = run(enrich, port).await;
        println!(
            "time to page, Sentinel incident, enrichment {}: p50 {} ms  p99 {} ms  max {} ms (poll interval 1 s, 20 incidents)",
            if enrich { "on " } else { "off" },
            pct(&lat, 0.5).as_millis(),
            pct(&lat, 0.99).as_millis(),
            lat.last().unwrap().as_millis()
        );
        if let Some([b, p, a, n, c]) = counts {
            let diff = |x: &BTreeMap<String, u64>, y: &BTreeMap<String, u64>| -> String {
                let total: u64 = y.iter().map(|(k, v)| v - x.get(k).copied().unwrap_or(0)).sum();
                let parts: Vec<String> = y
                    .iter()
                    .filter_map(|(k, v)| {
                        let d = v - x.get(k).copied().unwrap_or(0);
                        (d > 0).then(|| format!("{k} {d}"))
                    })
                    .collect();
                format!("{total} ({})", parts.join(", "))
            };
            println!("ARM / Log Analytics requests per incident lifecycle (incident list polls excluded):");
            println!("  page + label: {}", diff(&b, &p));
            println!("  acknowledge:  {}", diff(&p, &a));
            println!("  one note:     {}", diff(&a, &n));
            println!("  close:        {}", diff(&n, &c));
        }
    }
}

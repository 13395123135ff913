//! Benchmark: the release binary against the fake cloud (in this process) over loopback.
//!
//! Measures time-to-page (alert visible in Graph → SIGNL4 received it), the drain time of a
//! 10,000-alert burst, Graph requests per alert, and the connector's idle and loaded RSS.
//! Run with `cargo bench -p signl4-sentinel --bench paging`; results go to BENCHMARKS.md.

use std::time::{Duration, Instant};

use s4s_fakecloud::{DEFAULT_TEAM_SECRET, DEFAULT_TENANT_ID, scenarios};

mod common;
use common::{Run, pct};

/// Waits for a condition, polling every 5 ms (cheap next to the connector under test).
async fn wait(what: &str, timeout: Duration, f: impl AsyncFnMut() -> bool) {
    common::wait_for_every(what, timeout, Duration::from_millis(5), f).await
}

/// The connector binary (poll interval 1 s, `concurrency` deliveries), after its first
/// (empty) sweep.
async fn start(concurrency: usize, signl4_throttle: bool) -> Run {
    common::start(
        |s| {
            // Graph's 150 requests/min is off: at a 1 s poll interval the polls and incident
            // tagging alone would exceed it, and this measures the connector, not the throttle.
            s.graph_requests_per_minute = 0;
            if !signl4_throttle {
                s.signl4_events_per_15s = 0;
                s.signl4_events_per_minute = 0;
            }
        },
        // The connector's own budgets too: this measures its speed, not SIGNL4's limits
        // (`benches/limits.rs` measures at the documented limits).
        |c| c.concurrency(concurrency).unthrottled(),
        "graph.alerts.list",
    )
    .await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes --bench; ignore arguments.
    println!("signl4-sentinel benchmark (release binary, fake cloud over loopback)\n");

    // 1. Time to page, alerts arriving at random moments, poll interval 1 s.
    let run = start(4, true).await;
    let pid = run.child.id().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = common::proc_status_kb(pid, "VmRSS:");
    let n = 60usize;
    let mut expected = 0;
    for i in 0..n {
        let (_, make) = scenarios::catalogue()[i % 5];
        let a = run.h.fake.add_alert(DEFAULT_TENANT_ID, make(&format!("{i}")));
        // Sentinel alerts are read from the workspace, not paged via Graph.
        if a["serviceSource"] != "microsoftSentinel" {
            expected += 1;
        }
        let jitter = 100 + (rand_u64() % 400);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
    let f = &run.h.fake;
    wait("all paged", Duration::from_secs(30), async || f.pages_by_external_id(DEFAULT_TEAM_SECRET).len() == expected)
        .await;
    let mut lat = f.page_latencies(DEFAULT_TEAM_SECRET);
    lat.sort();
    println!("time to page ({expected} alerts, poll interval 1 s, alerts 100–500 ms apart):");
    println!(
        "  p50 {:>6} ms   p99 {:>6} ms   max {:>6} ms   (target p99 ≤ 1250 ms)",
        pct(&lat, 0.5).as_millis(),
        pct(&lat, 0.99).as_millis(),
        lat.last().copied().unwrap_or_default().as_millis()
    );
    println!("  idle RSS {} KiB (target ≤ 30 MiB)", idle_rss);
    drop(run);

    // 2. A 10,000-alert burst, SIGNL4 not throttling.
    for concurrency in [4usize, 16] {
        let run = start(concurrency, false).await;
        let pid = run.child.id().unwrap_or(0);
        let f = &run.h.fake;
        let before = f.requests();
        let t0 = Instant::now();
        f.add_alerts(DEFAULT_TENANT_ID, (0..10_000).map(scenarios::synthetic));
        wait("burst drained", Duration::from_secs(180), async || {
            f.pages_by_external_id(DEFAULT_TEAM_SECRET).len() == 10_000
        })
        .await;
        let drain = t0.elapsed();
        let after = f.requests();
        let graph = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter().filter(|(k, _)| k.starts_with("graph.")).map(|(_, v)| *v).sum::<u64>()
        };
        let graph_reqs = graph(&after) - graph(&before);
        let dups: usize = f.pages_by_external_id(DEFAULT_TEAM_SECRET).values().map(|c| c - 1).sum();
        let peak = common::proc_status_kb(pid, "VmHWM:");
        println!("10,000-alert burst, delivery.concurrency = {concurrency}:");
        println!(
            "  drained in {:.2} s ({:.0} pages/s; target ≤ 20 s)   duplicates {dups}",
            drain.as_secs_f64(),
            10_000.0 / drain.as_secs_f64()
        );
        println!(
            "  Graph requests during the burst {graph_reqs} ({:.4} per alert, page_size 500, includes idle polls)",
            graph_reqs as f64 / 10_000.0
        );
        println!("  peak RSS {peak} KiB");
        drop(run);
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    h.finish()
}

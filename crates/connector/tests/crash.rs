//! Crash tests: the real binary is SIGKILLed again and again while it pages a burst.
//!
//! Every delivery attempt is recorded before it is sent; a page found mid-attempt after a
//! crash is *in doubt*. With the team's SIGNL4 API key the connector looks the alert up by its
//! external id instead of paging again: **0 missing, 0 duplicates**. Without a key it pages
//! again, marked as a possible repeat: every duplicate SIGNL4 receives must carry the mark.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use s4s_fakecloud::scenarios;
use s4s_store::Inspection as _;
use serde_json::Value;

const CONCURRENCY: usize = 4;

/// The connector binary, its log appended to `log`.
fn spawn(config: &Path, log: &Path) -> tokio::process::Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    spawn_run(Path::new(env!("CARGO_BIN_EXE_signl4-sentinel")), config, "info", Stdio::from(log))
}

struct Run {
    kills: usize,
    duplicates: usize,
    /// Duplicates whose later copy is not marked as a possible repeat.
    unmarked_duplicates: usize,
    /// Pages marked as a possible repeat (some were not duplicates: the first never arrived).
    marked: usize,
    /// In-doubt page jobs resolved by finding the alert in SIGNL4 / by sending it after all.
    found: usize,
    resent: usize,
}

/// Pages `n` alerts (SIGNL4 at its documented limits) while killing the binary `kills` times
/// at spread-out moments; then lets it finish and checks every alert was paged.
async fn burst_with_kills(n: u32, kills: u32, api_key: bool) -> Run {
    let h = Harness::new().await;
    if api_key {
        h.fake.add_api_key(TEAM, "crash-test-api-key");
    }
    // Some SIGNL4 latency widens the in-flight window so kills land mid-delivery.
    h.fake.inject(s4s_fakecloud::Fault {
        service: s4s_fakecloud::Service::Signl4,
        kind: s4s_fakecloud::FaultKind::Latency { ms: 5 },
        count: 1_000_000,
    });
    let alerts = h.fake.add_alerts(TENANT, (0..n as u64).map(scenarios::synthetic));
    let cfg = h.config().concurrency(CONCURRENCY).tenant(|t| {
        if api_key {
            t.signl4.api_key = Some("crash-test-api-key".into());
        }
    });
    let cfg_path = h.write_config(&cfg);
    let log = h.dir.path().join("s4s.log");
    let fail = |why: String| -> ! {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        panic!("{why}; log tail:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    };

    // One kill during the first sweep, then one each time the distinct pages cross the next
    // mark, a random 0–400 ms later (so kills land at random points of a delivery).
    let mut done_kills = 0usize;
    let mut child = spawn(&cfg_path, &log);
    wait_for("first Graph request", Duration::from_secs(30), async || h.graph_lists() >= 1).await;
    child.kill().await.expect("SIGKILL");
    done_kills += 1;
    for i in 1..kills {
        let mark = (i * n / kills) as usize;
        child = spawn(&cfg_path, &log);
        if !holds_within(Duration::from_secs(90), POLL, async || h.pages().len() >= mark).await {
            fail(format!("{} of {n} paged before kill {i} (mark {mark})", h.pages().len()));
        }
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 400)).await;
        child.kill().await.expect("SIGKILL");
        done_kills += 1;
    }
    let mut child = spawn(&cfg_path, &log);
    if !holds_within(Duration::from_secs(240), POLL, async || h.pages().len() >= n as usize).await {
        fail(format!("only {} of {n} paged", h.pages().len()));
    }
    // In-doubt pages wait a few seconds for SIGNL4 to settle before looking: let every page
    // job finish (incident tags, housekeeping, may still wait for the Graph budget).
    let store = s4s_store::SqliteStore::inspect(&h.db()).await.expect("read the database");
    let pages_pending = async || {
        store
            .list_jobs(s4s_store::JobState::Pending, 100_000)
            .await
            .map(|j| j.iter().filter(|j| j.kind == "page").count())
    };
    if !holds_within(Duration::from_secs(60), POLL, async || pages_pending().await.is_ok_and(|n| n == 0)).await {
        let left: Vec<String> = store
            .list_jobs(s4s_store::JobState::Pending, 100_000)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|j| j.kind == "page")
            .map(|j| {
                format!(
                    "{} attempts={} next={} lease={:?} attempt={:?} error={:?}",
                    j.key, j.attempts, j.next_attempt_ms, j.lease_until_ms, j.attempt, j.last_error
                )
            })
            .collect();
        fail(format!("page jobs still pending: {left:#?}"));
    }
    child.kill().await.expect("SIGKILL");
    let done = store.list_jobs(s4s_store::JobState::Done, 100_000).await.expect("jobs");
    let result_says = |what: &str| {
        done.iter().filter(|j| j.kind == "page" && j.result.as_deref().is_some_and(|r| r.contains(what))).count()
    };
    let (found, resent) = (result_says("\"inDoubt\":\"found\""), result_says("\"inDoubt\":\"resent"));

    let pages = h.pages();
    for a in &alerts {
        assert!(pages.get(&ext(a)).copied().unwrap_or(0) >= 1, "alert {} was never paged", a["id"]);
    }
    assert_eq!(pages.len(), n as usize, "pages for unknown alerts");
    let duplicates: usize = pages.values().map(|c| c - 1).sum();
    let title =
        |e: &s4s_fakecloud::ReceivedEvent| e.body.get("Title").and_then(Value::as_str).unwrap_or("").to_string();
    let mut seen = std::collections::HashSet::new();
    let (mut unmarked_duplicates, mut marked) = (0, 0);
    for e in h.fake.received(TEAM).iter().filter(|e| e.status == "new") {
        let is_marked = title(e).ends_with(" (possible repeat)") && e.body.get("Possible repeat").is_some();
        marked += usize::from(is_marked);
        let first = seen.insert(e.external_id.clone());
        if !first && !is_marked {
            unmarked_duplicates += 1;
        }
    }
    Run { kills: done_kills, duplicates, unmarked_duplicates, marked, found, resent }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_20_times_during_a_1000_alert_burst_with_an_api_key_pages_each_alert_exactly_once() {
    let r = burst_with_kills(1000, 21, true).await;
    eprintln!(
        "crash test (API key): {} SIGKILLs, 1000 alerts, {} duplicate page(s), {} marked; in doubt: {} found in SIGNL4, {} sent after all",
        r.kills, r.duplicates, r.marked, r.found, r.resent
    );
    assert!(r.kills >= 20);
    assert_eq!(r.duplicates, 0, "in-doubt pages must be looked up, not sent again");
    assert_eq!(r.marked, 0, "with an API key nothing needs the possible-repeat mark");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_without_an_api_key_marks_every_repeat() {
    let r = burst_with_kills(300, 10, false).await;
    eprintln!(
        "crash test (no API key): {} SIGKILLs, 300 alerts, {} duplicate page(s), {} page(s) marked as a possible repeat",
        r.kills, r.duplicates, r.marked
    );
    // A page sent again marked can itself be cut by the next kill and be sent (marked) once more.
    assert!(r.marked >= r.resent, "every job that resent marked shows it in SIGNL4");
    assert_eq!(r.unmarked_duplicates, 0, "every duplicate must be marked as a possible repeat");
    assert!(r.marked >= r.duplicates);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_stops_within_the_deadline_with_nothing_in_doubt() {
    let h = Harness::new().await;
    h.fake.inject(s4s_fakecloud::Fault {
        service: s4s_fakecloud::Service::Signl4,
        kind: s4s_fakecloud::FaultKind::Latency { ms: 20 },
        count: 1_000_000,
    });
    let n = 300usize;
    let alerts = h.fake.add_alerts(TENANT, (0..n as u64).map(scenarios::synthetic));
    // No API key: an in-doubt page would be sent again marked, so a clean stop shows as none.
    let cfg_path = h.write_config(&h.config().concurrency(CONCURRENCY));
    let log = h.dir.path().join("s4s.log");
    let deadline = Duration::from_secs(20); // delivery.shutdown_timeout's default
    for mark in [50usize, 150, 250] {
        let mut child = spawn(&cfg_path, &log);
        assert!(
            holds_within(Duration::from_secs(90), POLL, async || h.pages().len() >= mark).await,
            "{} of {n} paged before the stop at {mark}",
            h.pages().len()
        );
        let pid = child.id().expect("running") as i32;
        let asked = std::time::Instant::now();
        let status = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(deadline + Duration::from_secs(5), child.wait()).await;
        let took = asked.elapsed();
        let exit = exit.expect("exits within the shutdown deadline").expect("wait");
        assert!(exit.success(), "a clean stop exits 0, got {exit:?}");
        eprintln!("SIGTERM at {mark} pages: exited in {} ms", took.as_millis());
        assert!(took < deadline, "took {took:?}");
        // Nothing is in doubt after a graceful stop.
        let store = s4s_store::SqliteStore::inspect(&h.db()).await.expect("database");
        let pending = store.list_jobs(s4s_store::JobState::Pending, 100_000).await.expect("jobs");
        let in_doubt: Vec<&str> = pending.iter().filter(|j| j.attempt.is_some()).map(|j| j.key.as_str()).collect();
        assert!(in_doubt.is_empty(), "in doubt after a graceful stop: {in_doubt:?}");
        assert!(pending.iter().all(|j| j.lease_owner.is_none()), "a graceful stop releases its leases");
    }
    let mut child = spawn(&cfg_path, &log);
    assert!(holds_within(Duration::from_secs(120), POLL, async || h.pages().len() >= n).await);
    child.kill().await.expect("SIGKILL");
    assert_paged_exactly_once(&h, &alerts);
    let marked = h
        .fake
        .received(TEAM)
        .iter()
        .filter(|e| e.body.get("Title").and_then(Value::as_str).is_some_and(|t| t.ends_with(" (possible repeat)")))
        .count();
    assert_eq!(marked, 0, "nothing was in doubt, so nothing is marked as a possible repeat");
}

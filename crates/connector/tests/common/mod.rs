//! Shared harness for end-to-end tests: a fake cloud on loopback, a configuration pointing
//! at it, and helpers that wait for conditions with a deadline (never fixed sleeps).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use s4s_core::config::{self, Config};
use s4s_fakecloud::{DEFAULT_TEAM_SECRET, DEFAULT_TENANT_ID, FakeCloud};
use serde_json::Value;

pub const TENANT: &str = DEFAULT_TENANT_ID;
pub const TEAM: &str = DEFAULT_TEAM_SECRET;

pub struct Env;
impl config::Env for Env {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn vars(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    fn read_file(&self, _: &str) -> Result<String, String> {
        Err("no files in tests".into())
    }
}

/// The example configuration pointed at `fake` with a fast poll interval, plus
/// `(from, to)` text replacements.
pub fn config_text(fake_url: &str, db: &Path, replace: &[(&str, &str)]) -> String {
    let mut text = signl4_sentinel::demo::example_for(fake_url, db, "250ms")
        .replace("initial_backoff = \"1s\"", "initial_backoff = \"50ms\"")
        .replace("max_backoff = \"5m\"", "max_backoff = \"500ms\"");
    for (from, to) in replace {
        assert!(text.contains(from), "config_text: {from:?} not found in the example");
        text = text.replace(from, to);
    }
    text
}

pub fn config(fake_url: &str, db: &Path, replace: &[(&str, &str)]) -> Config {
    config::load(&config_text(fake_url, db, replace), &Env).expect("test config is valid")
}

pub struct Harness {
    pub fake: FakeCloud,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// A seeded fake cloud. Graph throttling is raised so tests that are not about
    /// throttling are not slowed by it (the throttle test restores the real 150/min).
    pub async fn new() -> Harness {
        let fake = FakeCloud::start_local().await.expect("fake cloud starts");
        fake.seed_defaults();
        fake.configure(|s| {
            s.graph_requests_per_minute = 100_000;
            s.signl4_events_per_15s = 0;
            s.signl4_events_per_minute = 0;
        });
        Harness { fake, dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("s4s.db")
    }

    pub fn config(&self, replace: &[(&str, &str)]) -> Config {
        config(&self.fake.url(), &self.db(), replace)
    }

    pub fn pages(&self) -> std::collections::BTreeMap<String, usize> {
        self.fake.pages_by_external_id(TEAM)
    }

    pub fn graph_lists(&self) -> u64 {
        self.fake.requests().get("graph.alerts.list").copied().unwrap_or(0)
    }

    /// Waits until the connector has polled Graph `n` more times.
    pub async fn polls(&self, n: u64) {
        let start = self.graph_lists();
        wait_for("connector polls", Duration::from_secs(20), || self.graph_lists() >= start + n).await;
    }
}

pub fn ext(alert: &Value) -> String {
    s4s_core::keys::external_id("contoso", "graph-alert", alert["id"].as_str().expect("alert id"))
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that every alert in `alerts` was paged exactly once and nothing else was paged.
pub fn assert_paged_exactly_once(h: &Harness, alerts: &[Value]) {
    let pages = h.pages();
    for a in alerts {
        assert_eq!(pages.get(&ext(a)).copied(), Some(1), "alert {} paged {:?} times", a["id"], pages.get(&ext(a)));
    }
    assert_eq!(pages.len(), alerts.len(), "unexpected extra pages");
}

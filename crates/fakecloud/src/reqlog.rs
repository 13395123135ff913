//! The request log: every request to a fake service with its timing, tenant and answer.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use tokio::time::Instant;

/// Which fake API a logged request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Entra,
    Graph,
    Arm,
    LogAnalytics,
    Signl4Webhook,
    Signl4Rest,
    /// Azure Monitor Logs Ingestion (`SIGNL4_CL`).
    LogsIngestion,
}

impl Api {
    /// Parses `graph`, `arm`, `log_analytics` (or `loganalytics`), `signl4_webhook` (or
    /// `signl4`), `signl4_rest`, `entra`.
    pub fn parse(s: &str) -> Option<Api> {
        Some(match s.to_ascii_lowercase().as_str() {
            "entra" => Api::Entra,
            "graph" => Api::Graph,
            "arm" | "sentinel" => Api::Arm,
            "log_analytics" | "loganalytics" => Api::LogAnalytics,
            "signl4_webhook" | "signl4" | "webhook" => Api::Signl4Webhook,
            "signl4_rest" | "rest" => Api::Signl4Rest,
            "logs_ingestion" | "logsingestion" | "ingestion" => Api::LogsIngestion,
            _ => return None,
        })
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// One request as the fake saw it. Times are monotonic (`tokio::time`, so paused test time
/// applies), as offsets from the fake's start; `wall_unix_ms` is wall-clock time.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Arrival order.
    pub seq: u64,
    pub api: Api,
    /// Arrival.
    #[serde(serialize_with = "secs", rename = "at_secs")]
    pub at: Duration,
    /// When the answer was ready.
    #[serde(serialize_with = "secs", rename = "answered_secs")]
    pub answered: Duration,
    pub wall_unix_ms: i64,
    /// Entra tenant (from the path or the token) or SIGNL4 team id (from the secret or the
    /// API key); `None` when the request could not be attributed.
    pub tenant: Option<String>,
    /// App (client id) of the token, when there is one.
    pub client_id: Option<String>,
    pub method: String,
    /// Path and query; a webhook's team secret is replaced by `<team-secret>`.
    pub path: String,
    pub status: u16,
    /// The `Retry-After` header sent, if any.
    #[serde(serialize_with = "opt_secs", rename = "retry_after_secs")]
    pub retry_after: Option<Duration>,
    /// For a 429: when the fake would accept a request again (arrival of the 429 +
    /// `Retry-After`, or the end of a SIGNL4 block, or when the window frees up when no
    /// `Retry-After` is sent). Offset from the fake's start.
    #[serde(serialize_with = "opt_secs", rename = "retry_at_secs")]
    pub retry_at: Option<Duration>,
    /// Which limit refused it (`graph 150/60s`, `signl4 blocked`, …) when the fake's limits did.
    pub throttled_by: Option<String>,
}

/// Oldest records are dropped past this many (long `emulator` runs).
pub const CAPACITY: usize = 200_000;

#[derive(Debug)]
pub struct RequestLog {
    pub start: Instant,
    pub seq: u64,
    pub records: VecDeque<RequestRecord>,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog { start: Instant::now(), seq: 0, records: VecDeque::new() }
    }
}

impl RequestLog {
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn since_start(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.start)
    }

    pub fn push(&mut self, r: RequestRecord) {
        if self.records.len() >= CAPACITY {
            self.records.pop_front();
        }
        self.records.push_back(r);
    }

    /// Records of `api`, by arrival.
    pub fn of(&self, api: Api) -> Vec<RequestRecord> {
        let mut v: Vec<RequestRecord> = self.records.iter().filter(|r| r.api == api).cloned().collect();
        v.sort_by_key(|r| r.seq);
        v
    }
}

fn of_tenant(records: Vec<RequestRecord>, tenant: &str) -> Vec<RequestRecord> {
    records.into_iter().filter(|r| r.tenant.as_deref() == Some(tenant)).collect()
}

/// The largest number of `tenant`'s requests (any answer) that arrived within one interval
/// `[t, t + window)`.
pub fn max_in_window(records: Vec<RequestRecord>, tenant: &str, window: Duration) -> usize {
    let mut at: Vec<Duration> = of_tenant(records, tenant).iter().map(|r| r.at).collect();
    at.sort();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..at.len() {
        while at[hi] - at[lo] >= window {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

/// `tenant`'s requests that arrived after a 429 was answered and before its retry time
/// (`retry_at`). Requests already in flight when the 429 went out can show up here too.
pub fn during_retry_after(records: Vec<RequestRecord>, tenant: &str) -> Vec<RequestRecord> {
    let mine = of_tenant(records, tenant);
    let waits: Vec<(Duration, Duration)> =
        mine.iter().filter(|r| r.status == 429).filter_map(|r| r.retry_at.map(|until| (r.answered, until))).collect();
    mine.into_iter().filter(|r| waits.iter().any(|(from, until)| r.at > *from && r.at < *until)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at_ms: u64, status: u16, retry_ms: Option<u64>) -> RequestRecord {
        RequestRecord {
            seq: at_ms,
            api: Api::Graph,
            at: Duration::from_millis(at_ms),
            answered: Duration::from_millis(at_ms),
            wall_unix_ms: 0,
            tenant: Some("t".into()),
            client_id: None,
            method: "GET".into(),
            path: "/".into(),
            status,
            retry_after: retry_ms.map(Duration::from_millis),
            retry_at: retry_ms.map(|r| Duration::from_millis(at_ms + r)),
            throttled_by: None,
        }
    }

    #[test]
    fn windows_and_retry_after_violations_are_found() {
        let rs = vec![rec(0, 200, None), rec(500, 429, Some(1000)), rec(900, 200, None), rec(1500, 200, None)];
        assert_eq!(max_in_window(rs.clone(), "t", Duration::from_millis(1000)), 3);
        assert_eq!(max_in_window(rs.clone(), "t", Duration::from_millis(500)), 2);
        assert_eq!(max_in_window(rs.clone(), "other", Duration::from_secs(1)), 0);
        let bad = during_retry_after(rs, "t");
        assert_eq!(bad.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![900]);
    }
}

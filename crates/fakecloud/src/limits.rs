//! Rate limits of the real services as configuration (`Limits`), the limiter primitives and the
//! limiter state per key (`Limiter`; the front door, `throttle.rs`, applies them).
//!
//! Sources: `microsoft-apis.md` §2.8 (Graph), §3.6 (ARM), §4.4 (Log Analytics) and
//! `signl4.md` §1.7 (SIGNL4). [`Limits::documented`] is what the notes give;
//! [`Limits::off`] turns every limit off.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// At most `requests` in any sliding window of `per_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub requests: u32,
    pub per_secs: f64,
}

impl Window {
    pub fn new(requests: u32, per: Duration) -> Window {
        Window { requests, per_secs: per.as_secs_f64() }
    }

    pub fn per(&self) -> Duration {
        Duration::from_secs_f64(self.per_secs.max(0.0))
    }
}

/// A token bucket: `size` tokens, refilled at `refill_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub size: f64,
    pub refill_per_sec: f64,
}

/// ARM's token buckets (`microsoft-apis.md` §3.6): per subscription and service principal
/// and operation type; the subscription as a whole gets `subscription_factor` × each bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmLimits {
    pub reads: Bucket,
    pub writes: Bucket,
    pub deletes: Bucket,
    pub subscription_factor: f64,
}

/// Every limit the fake enforces. An empty list / `None` is "no limit".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Graph `/security` per app per tenant (§2.8: 150 requests per minute).
    pub graph: Vec<Window>,
    /// Graph per app across all tenants (§2.8: 130,000 requests per 10 s).
    pub graph_global: Vec<Window>,
    /// Per Entra tenant, windows that replace `graph` for that tenant (a test throttling one
    /// tenant hard while another is not).
    pub graph_tenants: std::collections::BTreeMap<String, Vec<Window>>,
    /// SIGNL4 inbound events (webhook) per team (§1.7; the notes say "per subscription/
    /// account": one fake team is one subscription).
    pub signl4_events: Vec<Window>,
    /// Erroneous webhook requests (wrong secret, invalid payload) per secret (§1.7: 10/min).
    pub signl4_erroneous: Vec<Window>,
    /// SIGNL4 REST endpoints other than `/api/v2/events`, per team (§1.7).
    pub signl4_rest: Vec<Window>,
    /// ARM token buckets (§3.6).
    pub arm: Option<ArmLimits>,
    /// Log Analytics query API per Entra principal (§4.4: 200 requests per 30 s).
    pub log_analytics: Vec<Window>,
    /// Logs Ingestion API per data collection rule (§5.2: 12,000 requests per minute).
    pub logs_ingestion: Vec<Window>,
    /// Logs Ingestion: largest request body, compressed or uncompressed (§5.2: 1 MB per call).
    pub logs_ingestion_max_bytes: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::documented()
    }
}

fn w(requests: u32, secs: u64) -> Window {
    Window::new(requests, Duration::from_secs(secs))
}

impl Limits {
    /// The real services' numbers, SIGNL4 on a commercial plan.
    pub fn documented() -> Limits {
        Limits {
            graph: vec![w(150, 60)],
            graph_global: vec![w(130_000, 10)],
            graph_tenants: Default::default(),
            signl4_events: vec![w(150, 15), w(600, 60), w(36_000, 3600), w(864_000, 86_400)],
            signl4_erroneous: vec![w(10, 60)],
            signl4_rest: vec![w(150, 15), w(36_000, 3600)],
            arm: Some(ArmLimits {
                reads: Bucket { size: 250.0, refill_per_sec: 25.0 },
                writes: Bucket { size: 200.0, refill_per_sec: 10.0 },
                deletes: Bucket { size: 200.0, refill_per_sec: 10.0 },
                subscription_factor: 15.0,
            }),
            log_analytics: vec![w(200, 30)],
            logs_ingestion: vec![w(12_000, 60)],
            logs_ingestion_max_bytes: Some(1024 * 1024),
        }
    }

    /// The documented numbers with SIGNL4 on the free plan (§1.7).
    pub fn documented_free_plan() -> Limits {
        Limits {
            signl4_events: vec![w(10, 15), w(240, 60), w(1200, 3600), w(4800, 86_400)],
            signl4_rest: vec![w(10, 15), w(1200, 3600)],
            ..Limits::documented()
        }
    }

    /// No limit anywhere.
    pub fn off() -> Limits {
        Limits {
            graph: Vec::new(),
            graph_global: Vec::new(),
            graph_tenants: Default::default(),
            signl4_events: Vec::new(),
            signl4_erroneous: Vec::new(),
            signl4_rest: Vec::new(),
            arm: None,
            log_analytics: Vec::new(),
            logs_ingestion: Vec::new(),
            logs_ingestion_max_bytes: None,
        }
    }

    /// Replaces the Graph per-app-per-tenant limit (e.g. 4 requests per 10 s in tests).
    pub fn with_graph(mut self, requests: u32, per: Duration) -> Limits {
        self.graph = vec![Window::new(requests, per)];
        self
    }

    /// Replaces the Graph limit of one Entra tenant only.
    pub fn with_graph_for(mut self, tenant: &str, requests: u32, per: Duration) -> Limits {
        self.graph_tenants.insert(tenant.to_string(), vec![Window::new(requests, per)]);
        self
    }

    /// Replaces the SIGNL4 event limits by one window.
    pub fn with_signl4_events(mut self, requests: u32, per: Duration) -> Limits {
        self.signl4_events = vec![Window::new(requests, per)];
        self
    }
}

/// The requests of one window with `per` (seconds) of `list`, or 0 when absent.
pub(crate) fn window_requests(list: &[Window], per_secs: f64) -> u32 {
    list.iter().find(|w| (w.per_secs - per_secs).abs() < 1e-9).map(|w| w.requests).unwrap_or(0)
}

/// Sets the window of length `per_secs` to `requests` (0 removes it).
pub(crate) fn set_window(list: &mut Vec<Window>, per_secs: f64, requests: u32) {
    list.retain(|w| (w.per_secs - per_secs).abs() >= 1e-9);
    if requests > 0 {
        list.push(Window { requests, per_secs });
        list.sort_by(|a, b| a.per_secs.total_cmp(&b.per_secs));
    }
}

/// Accepted requests of one key (team, app, …), oldest first, for sliding windows.
#[derive(Debug, Default, Clone)]
pub struct Hits {
    hits: VecDeque<Instant>,
}

/// How a set of windows stands for one key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowState {
    pub limit: u32,
    pub remaining: u32,
    /// When the next slot of that window frees up.
    pub reset: Instant,
    pub per: Duration,
}

impl Hits {
    fn in_window(&self, now: Instant, per: Duration) -> usize {
        match now.checked_sub(per) {
            // Requests at exactly `now - per` have left the window.
            Some(start) => self.hits.len() - self.hits.partition_point(|t| *t <= start),
            None => self.hits.len(),
        }
    }

    /// When a request would be accepted by window `w` again (now if it would be now).
    fn free_at(&self, now: Instant, w: &Window) -> Instant {
        let per = w.per();
        let n = self.in_window(now, per);
        if n < w.requests as usize {
            return now;
        }
        // The (n - limit + 1)-th oldest request in the window has to leave it.
        let first = self.hits.len() - n;
        self.hits[first + (n - w.requests as usize)] + per
    }

    /// `Err(when the request would be accepted, the window that refused)` if any window is
    /// full; nothing is recorded.
    pub fn check(&mut self, now: Instant, windows: &[Window]) -> Result<(), (Instant, Window)> {
        self.prune(now, windows);
        let mut refused: Option<(Instant, Window)> = None;
        for w in windows.iter().filter(|w| w.requests > 0 && w.per_secs > 0.0) {
            let at = self.free_at(now, w);
            if at > now && refused.is_none_or(|(r, _)| at > r) {
                refused = Some((at, *w));
            }
        }
        refused.map_or(Ok(()), Err)
    }

    pub fn record(&mut self, now: Instant) {
        self.hits.push_back(now);
    }

    /// [`Hits::check`], then records the request if it is accepted.
    pub fn admit(&mut self, now: Instant, windows: &[Window]) -> Result<(), (Instant, Window)> {
        self.check(now, windows)?;
        self.record(now);
        Ok(())
    }

    /// Forgets one recorded request (it turned out not to count).
    pub fn forget(&mut self, at: Instant) {
        if let Some(i) = self.hits.iter().rposition(|t| *t == at) {
            self.hits.remove(i);
        }
    }

    fn prune(&mut self, now: Instant, windows: &[Window]) {
        let longest = windows.iter().map(Window::per).max().unwrap_or_default();
        if let Some(start) = now.checked_sub(longest) {
            while self.hits.front().is_some_and(|t| *t <= start) {
                self.hits.pop_front();
            }
        }
    }

    /// The most constraining window: least remaining, then the shortest.
    pub fn tightest(&self, now: Instant, windows: &[Window]) -> Option<WindowState> {
        windows
            .iter()
            .filter(|w| w.requests > 0 && w.per_secs > 0.0)
            .map(|w| {
                let per = w.per();
                let n = self.in_window(now, per);
                let remaining = (w.requests as usize).saturating_sub(n) as u32;
                let first = self.hits.len() - n;
                let reset = self.hits.get(first).map(|t| *t + per).unwrap_or(now + per);
                WindowState { limit: w.requests, remaining, reset, per }
            })
            .min_by(|a, b| a.remaining.cmp(&b.remaining).then(a.per.cmp(&b.per)))
    }
}

/// Sliding windows plus SIGNL4-style blocking (`signl4.md` §1.7).
#[derive(Debug, Default, Clone)]
pub struct Blocking {
    pub hits: Hits,
    /// Receiving is blocked until then, by a window of this limit.
    pub blocked: Option<(Instant, u32)>,
}

impl Blocking {
    /// `Err((blocked until, limit))` while blocked or when this request exceeds a window.
    ///
    /// §1.7: "When a limit is exceeded, receiving is blocked for the same period (e.g. limit
    /// hit within 15 s → blocked 15 s)." Whether the block lasts a full period from the
    /// excess or only the rest of a fixed window is not said; the stricter reading is taken:
    /// blocked for the whole period of the exceeded window, counted from the refused request.
    pub fn admit(&mut self, now: Instant, windows: &[Window]) -> Result<(), (Instant, u32)> {
        if let Some((until, limit)) = self.blocked {
            if now < until {
                return Err((until, limit));
            }
            self.blocked = None;
        }
        match self.hits.admit(now, windows) {
            Ok(()) => Ok(()),
            Err((_, w)) => {
                let until = now + w.per();
                self.blocked = Some((until, w.requests));
                Err((until, w.requests))
            }
        }
    }
}

/// State of one token bucket.
#[derive(Debug, Clone, Copy)]
pub struct BucketState {
    tokens: f64,
    at: Instant,
}

impl BucketState {
    pub fn full(b: &Bucket, now: Instant) -> BucketState {
        BucketState { tokens: b.size, at: now }
    }

    fn refill(&mut self, b: &Bucket, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * b.refill_per_sec).min(b.size);
        self.at = now;
    }

    /// Tokens left (after refilling up to `now`), without taking one.
    pub fn level(&mut self, b: &Bucket, now: Instant) -> f64 {
        self.refill(b, now);
        self.tokens
    }

    /// How long until one token is available (zero if one is).
    pub fn wait(&mut self, b: &Bucket, now: Instant) -> Duration {
        self.refill(b, now);
        if self.tokens >= 1.0 || b.refill_per_sec <= 0.0 {
            if self.tokens >= 1.0 {
                return Duration::ZERO;
            }
            return Duration::from_secs(3600);
        }
        Duration::from_secs_f64((1.0 - self.tokens) / b.refill_per_sec)
    }

    pub fn take(&mut self) {
        self.tokens -= 1.0;
    }
}

/// Limiter state, by key.
#[derive(Debug, Default)]
pub struct Limiter {
    /// Graph per (tenant, client id).
    pub graph: HashMap<(String, String), Hits>,
    /// Graph per client id across tenants.
    pub graph_global: HashMap<String, Hits>,
    /// SIGNL4 events per team secret.
    pub signl4: HashMap<String, Blocking>,
    /// Erroneous webhook requests per secret (known or not).
    pub signl4_errors: HashMap<String, Blocking>,
    /// SIGNL4 REST per team secret.
    pub signl4_rest: HashMap<String, Blocking>,
    /// ARM per (subscription, principal, kind) and per (subscription, kind).
    pub arm: HashMap<(String, String, ArmKind), BucketState>,
    pub arm_subscription: HashMap<(String, ArmKind), BucketState>,
    /// Log Analytics per (tenant, client id).
    pub log_analytics: HashMap<(String, String), Hits>,
    /// Logs Ingestion per data collection rule.
    pub logs_ingestion: HashMap<String, Hits>,
}

/// ARM operation types with separate buckets (`microsoft-apis.md` §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArmKind {
    Reads,
    Writes,
    Deletes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_frees_when_the_oldest_request_leaves() {
        let t0 = Instant::now();
        let ws = [w(2, 10)];
        let mut h = Hits::default();
        assert!(h.admit(t0, &ws).is_ok());
        assert!(h.admit(t0 + Duration::from_secs(4), &ws).is_ok());
        let (at, _) = h.admit(t0 + Duration::from_secs(5), &ws).unwrap_err();
        assert_eq!(at, t0 + Duration::from_secs(10));
        assert!(h.admit(t0 + Duration::from_secs(10), &ws).is_ok());
    }

    #[test]
    fn a_token_bucket_refills_at_its_rate() {
        let b = Bucket { size: 2.0, refill_per_sec: 4.0 };
        let t0 = Instant::now();
        let mut s = BucketState::full(&b, t0);
        s.take();
        s.take();
        assert_eq!(s.wait(&b, t0), Duration::from_millis(250));
        assert_eq!(s.wait(&b, t0 + Duration::from_millis(250)), Duration::ZERO);
    }
}

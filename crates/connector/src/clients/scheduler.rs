//! The request scheduler: one per tenant and upstream (Graph; ARM per subscription; Log
//! Analytics; SIGNL4 per team), which every request of the connector goes through.
//!
//! It wraps a pure [`Budget`] (`s4s_core::budget`: documented limits, the share kept free,
//! priorities, holds) and adds time and waiting. Who is asking comes from the task: pollers
//! and job runners wrap their work in [`as_caller`] with a [`Caller`] (priority and how long
//! it may wait). Callers that may not wait that long (outbox jobs) get
//! [`UpstreamError::Held`] and are rescheduled for when the budget allows, instead of holding
//! a worker slot.
//!
//! After every response the client calls [`Scheduler::observe`]: a `429`'s `Retry-After`
//! (fractional, `microsoft-apis.md` §2.8), an exhausted `X-RateLimit-Remaining` with its
//! `X-RateLimit-Reset` (`signl4.md` §1.7) or a `503` with `Retry-After` holds **every**
//! request of that tenant and upstream until it has passed; `x-ms-ratelimit-remaining-*`
//! (§3.6) caps the ARM bucket.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use s4s_core::budget::{Budget, BudgetSpec, Priority};
use s4s_core::retry::{header_count, parse_retry_after, rate_limit_wait, reset_in};
use tokio::time::Instant;

use crate::clients::http::UpstreamError;
use crate::telemetry;

/// Who is sending: its priority, and how long it may wait for the budget (`None`: as long
/// as it takes).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub priority: Priority,
    pub max_wait: Option<Duration>,
}

impl Caller {
    /// A poller: waits as long as the budget needs.
    pub const fn poller(priority: Priority) -> Caller {
        Caller { priority, max_wait: None }
    }

    /// An outbox job: waits briefly (pages: SIGNL4 pacing; write-backs: a moment), otherwise
    /// is rescheduled. Housekeeping never waits in a worker slot, so it cannot hold up pages.
    pub const fn job(priority: Priority) -> Caller {
        let max_wait = match priority {
            Priority::Poll => JOB_MAX_WAIT,
            Priority::WriteBack => Duration::from_millis(500),
            Priority::Housekeeping => Duration::ZERO,
        };
        Caller { priority, max_wait: Some(max_wait) }
    }
}

/// The longest a page job waits for the budget inside one attempt; longer waits free the
/// worker and reschedule the job.
pub const JOB_MAX_WAIT: Duration = Duration::from_secs(2);

tokio::task_local! {
    static CALLER: Caller;
}

/// Runs `f` as `caller`: every request it makes is scheduled with that priority.
pub async fn as_caller<F: Future>(caller: Caller, f: F) -> F::Output {
    CALLER.scope(caller, f).await
}

fn current_caller() -> Caller {
    CALLER.try_with(|c| *c).unwrap_or(Caller::poller(Priority::Poll))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The scheduler of one tenant at one upstream.
pub struct Scheduler {
    /// Upstream name for errors and metrics (`Graph`, `SIGNL4`, …).
    pub service: &'static str,
    /// Tenant (or SIGNL4 team) label for metrics.
    pub label: String,
    budget: Mutex<Budget>,
    epoch: Instant,
}

impl Scheduler {
    pub fn new(service: &'static str, label: &str, spec: &BudgetSpec) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            service,
            label: label.to_string(),
            budget: Mutex::new(Budget::new(spec, 0)),
            epoch: Instant::now(),
        })
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Waits until the current caller may send one request, and takes it from the budget.
    pub async fn acquire(&self) -> Result<(), UpstreamError> {
        let caller = current_caller();
        let started = Instant::now();
        let mut waited = false;
        loop {
            let wait = match lock(&self.budget).try_take(self.now(), caller.priority) {
                Ok(()) => {
                    if waited {
                        metrics::histogram!(telemetry::BUDGET_WAIT_SECONDS, "service" => self.service, "priority" => caller.priority.as_str())
                            .record(started.elapsed().as_secs_f64());
                    }
                    return Ok(());
                }
                Err(ms) => Duration::from_millis(ms),
            };
            if let Some(max) = caller.max_wait
                && started.elapsed() + wait > max
            {
                metrics::counter!(telemetry::BUDGET_DEFERRALS, "service" => self.service, "priority" => caller.priority.as_str())
                    .increment(1);
                return Err(UpstreamError::Held { service: self.service, wait });
            }
            waited = true;
            // A little jitter so that waiters released together do not arrive together.
            let jitter = Duration::from_millis(rand::random::<u64>() % 20);
            tokio::time::sleep(wait + jitter).await;
        }
    }

    /// Learns from a response: holds everybody after a `429` (or a `503` with `Retry-After`)
    /// until the server's time has passed, and believes the server's remaining counts.
    pub fn observe(&self, status: u16, headers: &HeaderMap) {
        let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
        let now_wall = time::OffsetDateTime::now_utc();
        let now = self.now();
        let retry_after = h("retry-after").and_then(|v| parse_retry_after(v, now_wall));
        let reset_wait = rate_limit_wait(h("x-ratelimit-remaining"), h("x-ratelimit-reset"), now_wall.unix_timestamp());
        let mut b = lock(&self.budget);
        match status {
            429 => {
                metrics::counter!(telemetry::UPSTREAM_THROTTLED, "service" => self.service).increment(1);
                match retry_after.or(reset_wait) {
                    Some(wait) => b.hold_for(now, wait),
                    None => {
                        b.throttled_without_hint(now);
                    }
                }
                tracing::debug!(service = self.service, tenant = %self.label, held_ms = b.held_until_ms().saturating_sub(now), "throttled: every request of this tenant and upstream waits");
            }
            503 if retry_after.is_some() => {
                if let Some(wait) = retry_after {
                    b.hold_for(now, wait);
                }
            }
            200..=299 => {
                b.succeeded();
                // The server's own count (after a restart we do not know what we sent before):
                // wait for the reset rather than draw a 429 and SIGNL4's blocking window. Every
                // number goes through the one header parser (`s4s_core::retry`): garbage is
                // absent, holds are capped at `MAX_HOLD`.
                let num = |k: &str| h(k).and_then(header_count);
                let reset = h("x-ratelimit-reset").and_then(|v| reset_in(v, now_wall.unix_timestamp()));
                if let (Some(limit), Some(remaining), Some(reset)) =
                    (num("x-ratelimit-limit"), num("x-ratelimit-remaining"), reset)
                {
                    b.server_window(now, limit, remaining, reset);
                } else if let Some(wait) = reset_wait {
                    b.hold_for(now, wait);
                }
                let remaining =
                    ["x-ms-ratelimit-remaining-subscription-reads", "x-ms-ratelimit-remaining-subscription-writes"]
                        .iter()
                        .filter_map(|k| num(k))
                        .fold(f64::INFINITY, f64::min);
                if remaining.is_finite() {
                    b.server_remaining(now, remaining);
                }
            }
            _ => {}
        }
        metrics::gauge!(telemetry::BUDGET_USE, "service" => self.service, "tenant" => self.label.clone())
            .set(b.usage(now));
    }

    /// The fullest window's use of the share (0.0 – 1.0).
    pub fn usage(&self) -> f64 {
        lock(&self.budget).usage(self.now())
    }

    /// True while a server's `Retry-After` (or reset) holds every request.
    pub fn held(&self) -> bool {
        lock(&self.budget).held_until_ms() > self.now()
    }
}

/// Schedulers shared by tenants of one process: SIGNL4 limits are per account (team), so
/// two tenants paging the same team share one budget.
#[derive(Default)]
pub struct SharedSchedulers {
    signl4: Mutex<HashMap<u64, Arc<Scheduler>>>,
}

impl SharedSchedulers {
    /// The scheduler of one SIGNL4 team (by its webhook URL and secret, hashed in memory
    /// only), made on first use.
    pub fn signl4(
        &self,
        service: &'static str,
        base: &str,
        secret: &str,
        tenant: &str,
        spec: &BudgetSpec,
    ) -> Arc<Scheduler> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (service, base, secret).hash(&mut h);
        lock(&self.signl4).entry(h.finish()).or_insert_with(|| Scheduler::new(service, tenant, spec)).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_every_caller_until_retry_after() {
        let s = Scheduler::new("Graph", "t", &BudgetSpec::graph(0.8));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2.128"));
        s.observe(429, &h);
        assert!(s.held());
        // A job may not wait that long: it is told to come back later.
        let err =
            as_caller(Caller { priority: Priority::WriteBack, max_wait: Some(Duration::from_secs(1)) }, s.acquire())
                .await
                .unwrap_err();
        assert!(matches!(err, UpstreamError::Held { wait, .. } if wait >= Duration::from_millis(2000)), "{err:?}");
        // A poller waits, and goes only after the Retry-After.
        let t0 = Instant::now();
        as_caller(Caller::poller(Priority::Poll), s.acquire()).await.unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(2128), "{:?}", t0.elapsed());
        assert!(!s.held());
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_rate_limit_on_success_waits_for_the_reset() {
        let s =
            Scheduler::new("SIGNL4", "team", &BudgetSpec::signl4_events(s4s_core::budget::Signl4Plan::Commercial, 0.8));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = time::OffsetDateTime::now_utc().unix_timestamp() + 3;
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&reset.to_string()).unwrap());
        s.observe(201, &h);
        assert!(s.held());
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_headers_never_panic_nor_hold_past_the_cap() {
        let s = Scheduler::new("Graph", "t", &BudgetSpec::arm(0.8));
        for (k, v) in [
            ("retry-after", "NaN"),
            ("retry-after", "inf"),
            ("retry-after", "-5"),
            ("retry-after", "1e300"),
            ("x-ratelimit-reset", "NaN"),
            ("x-ratelimit-reset", "1e300"),
            ("x-ms-ratelimit-remaining-subscription-reads", "-inf"),
            ("x-ms-ratelimit-remaining-subscription-reads", "NaN"),
        ] {
            for status in [200, 429, 503] {
                let mut h = HeaderMap::new();
                h.insert(k, HeaderValue::from_static(v));
                h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
                h.insert("x-ratelimit-limit", HeaderValue::from_static("NaN"));
                s.observe(status, &h);
            }
        }
        // Held by `1e300` at most for the cap; a poller gets through after it.
        let t0 = Instant::now();
        as_caller(Caller::poller(Priority::Poll), s.acquire()).await.unwrap();
        assert!(t0.elapsed() <= s4s_core::retry::MAX_HOLD + Duration::from_secs(1), "{:?}", t0.elapsed());
    }

    #[test]
    fn tenants_paging_one_team_share_its_budget() {
        let shared = SharedSchedulers::default();
        let spec = BudgetSpec::signl4_events(s4s_core::budget::Signl4Plan::Commercial, 0.8);
        let a = shared.signl4("SIGNL4", "http://x", "secret", "a", &spec);
        let b = shared.signl4("SIGNL4", "http://x", "secret", "b", &spec);
        let c = shared.signl4("SIGNL4", "http://x", "other", "c", &spec);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}

//! Small per-tenant limiters: the SIGNL4 rejection breaker, the incident-housekeeping budget
//! and the overlap re-read timer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tenant::health::Health;

/// Graph incident updates (tag, roll-up) allowed per minute and tenant: well under Graph's
/// 150 requests/min (`microsoft-apis.md` §2.8), so polling and alert write-backs keep room.
pub const INCIDENT_JOBS_PER_MINUTE: u32 = 30;

/// While SIGNL4 rejects the team secret, one page is let through this often to notice a
/// fix made on the SIGNL4 side; all others are parked without a request.
pub const REJECTED_PROBE_INTERVAL: Duration = Duration::from_secs(300);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens when SIGNL4 rejects the team secret; lets one probe through every few minutes.
#[derive(Default)]
pub struct Signl4Breaker {
    rejected_at: Mutex<Option<Instant>>,
}

impl Signl4Breaker {
    /// True while SIGNL4 rejects the team secret and no probe is due: park without sending.
    pub fn should_park(&self) -> bool {
        let mut at = lock(&self.rejected_at);
        match *at {
            Some(t) if t.elapsed() < REJECTED_PROBE_INTERVAL => true,
            Some(_) => {
                // Let this one through as a probe; park the rest until it answers.
                *at = Some(Instant::now());
                false
            }
            None => false,
        }
    }

    /// Records that SIGNL4 rejected the team secret; returns true the first time.
    pub fn rejected(&self, health: &Health, tenant: &str, msg: &str) -> bool {
        *lock(&self.rejected_at) = Some(Instant::now());
        let first = health.with(|s| {
            let first = s.signl4_rejected.is_none();
            s.signl4_rejected = Some(msg.to_string());
            first
        });
        metrics::gauge!(crate::telemetry::SIGNL4_TEAM_REJECTED, "tenant" => tenant.to_string()).set(1.0);
        first
    }

    /// A page went through: the breaker closes.
    pub fn page_sent(&self, health: &Health, tenant: &str) {
        *lock(&self.rejected_at) = None;
        health.with(|s| {
            s.pages_sent += 1;
            if s.signl4_rejected.take().is_some() {
                metrics::gauge!(crate::telemetry::SIGNL4_TEAM_REJECTED, "tenant" => tenant.to_string()).set(0.0);
            }
        });
    }
}

/// A fixed-window budget: `limit` units per `window`.
pub struct WindowBudget {
    limit: u32,
    window: Duration,
    state: Mutex<(Instant, u32)>,
}

impl WindowBudget {
    pub fn new(limit: u32, window: Duration) -> WindowBudget {
        WindowBudget { limit, window, state: Mutex::new((Instant::now(), 0)) }
    }

    /// Takes one unit, or says how long to wait (with up to 1 s of jitter).
    pub fn take(&self) -> Result<(), Duration> {
        let mut b = lock(&self.state);
        if b.0.elapsed() >= self.window {
            *b = (Instant::now(), 0);
        }
        if b.1 >= self.limit {
            return Err(self.window.saturating_sub(b.0.elapsed()) + Duration::from_millis(rand::random::<u64>() % 1000));
        }
        b.1 += 1;
        Ok(())
    }
}

/// When each source last re-read its overlap window.
pub struct OverlapTimer {
    overlap: Duration,
    interval: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl OverlapTimer {
    pub fn new(overlap: Duration, interval: Duration) -> OverlapTimer {
        OverlapTimer { overlap, interval, last: Mutex::default() }
    }

    /// The overlap to apply to `source`'s cursor on this sweep: the configured overlap once
    /// every `overlap_interval` (and on the first sweep after start), zero otherwise. Re-reading
    /// the window catches alerts that become visible late; doing it on every poll would re-list
    /// every recent alert each time (see BENCHMARKS.md).
    pub fn overlap_for(&self, source: &str) -> Duration {
        let mut m = lock(&self.last);
        let due = m.get(source).is_none_or(|t| t.elapsed() >= self.interval);
        if due {
            m.insert(source.to_string(), Instant::now());
            self.overlap
        } else {
            Duration::ZERO
        }
    }
}

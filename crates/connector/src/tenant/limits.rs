//! Small per-tenant limiters: the SIGNL4 rejection breaker and the overlap re-read timer
//! (request budgets are in `scheduler.rs`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tenant::health::Health;

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

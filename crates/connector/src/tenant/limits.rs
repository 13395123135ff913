//! Small per-tenant limiters: the SIGNL4 rejection breaker and the overlap re-read timer
//! (request budgets are in `clients/scheduler.rs`).

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

/// Opens per SIGNL4 team when SIGNL4 rejects that team's secret; lets one probe through every
/// few minutes. A tenant routing to several teams keeps paging the others (their secrets work).
#[derive(Default)]
pub struct Signl4Breaker {
    /// Rejected teams (by the route that names the team): since when the last probe went, and
    /// SIGNL4's answer.
    rejected: Mutex<HashMap<String, (Instant, String)>>,
}

impl Signl4Breaker {
    /// True while SIGNL4 rejects `team`'s secret and no probe is due: park without sending.
    pub fn should_park(&self, team: &str) -> bool {
        let mut m = lock(&self.rejected);
        match m.get_mut(team) {
            Some((t, _)) if t.elapsed() < REJECTED_PROBE_INTERVAL => true,
            Some((t, _)) => {
                // Let this one through as a probe; park the rest until it answers.
                *t = Instant::now();
                false
            }
            None => false,
        }
    }

    /// True while SIGNL4 rejects any of the tenant's teams (cheap: the SIGNL4 gate of the
    /// paging jobs, `jobs::signl4`, asks before it looks up a job's team).
    pub fn any_rejected(&self) -> bool {
        !lock(&self.rejected).is_empty()
    }

    /// Records that SIGNL4 rejected `team`'s secret; returns true the first time for that team.
    pub fn rejected(&self, health: &Health, tenant: &str, team: &str, msg: &str) -> bool {
        let mut m = lock(&self.rejected);
        let first = m.insert(team.to_string(), (Instant::now(), msg.to_string())).is_none();
        publish(&m, health, tenant);
        first
    }

    /// A page to `team` went through: its breaker closes.
    pub fn page_sent(&self, health: &Health, tenant: &str, team: &str) {
        let mut m = lock(&self.rejected);
        let was = m.remove(team).is_some();
        health.with(|s| s.pages_sent += 1);
        if was {
            publish(&m, health, tenant);
        }
    }
}

/// `/readyz`, the status page and self-monitoring show every rejected team's answer.
fn publish(m: &HashMap<String, (Instant, String)>, health: &Health, tenant: &str) {
    let mut msgs: Vec<&str> = m.values().map(|(_, msg)| msg.as_str()).collect();
    msgs.sort_unstable();
    health.with(|s| s.signl4_rejected = (!msgs.is_empty()).then(|| msgs.join("; ")));
    metrics::gauge!(crate::telemetry::SIGNL4_TEAM_REJECTED, "tenant" => tenant.to_string()).set(if m.is_empty() {
        0.0
    } else {
        1.0
    });
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

#[cfg(test)]
mod breaker_tests {
    use super::*;

    #[test]
    fn a_rejected_team_parks_alone_and_closes_when_a_page_goes_through() {
        let (b, h) = (Signl4Breaker::default(), Health::new("contoso"));
        assert!(!b.should_park("default"));
        assert!(b.rejected(&h, "contoso", "identity", "route identity: SIGNL4: HTTP 404"));
        assert!(!b.rejected(&h, "contoso", "identity", "route identity: SIGNL4: HTTP 404"), "reported once");
        assert!(b.should_park("identity"));
        assert!(!b.should_park("default"), "the tenant's other teams keep paging");
        b.rejected(&h, "contoso", "default", "SIGNL4: HTTP 404");
        assert_eq!(h.snapshot().signl4_rejected.as_deref(), Some("SIGNL4: HTTP 404; route identity: SIGNL4: HTTP 404"));
        b.page_sent(&h, "contoso", "default");
        assert_eq!(h.snapshot().signl4_rejected.as_deref(), Some("route identity: SIGNL4: HTTP 404"));
        b.page_sent(&h, "contoso", "identity");
        assert_eq!(h.snapshot().signl4_rejected, None);
        assert_eq!(h.snapshot().pages_sent, 2);
    }
}

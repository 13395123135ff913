//! Helpers shared by the benchmark harnesses.

#![allow(dead_code)]

use std::time::{Duration, Instant};

/// The `p` quantile of sorted durations (nearest rank).
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

/// Polls `f` every `every` until it holds; panics with `what` after `timeout`.
pub async fn until(what: &str, timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timeout: {what}");
        tokio::time::sleep(every).await;
    }
}

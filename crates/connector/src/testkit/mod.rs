//! Test kit for end-to-end tests, the crash test, benchmarks and `demo` (dev use only: built with
//! the `demo` feature, and for the unit tests).
//!
//! - [`ConfigBuilder`] renders a configuration from typed fields (defaults: the example file
//!   pointed at a fake cloud) and loads it through `s4s_core::config::load`;
//! - [`Harness`] starts a seeded [`s4s_fakecloud::FakeCloud`] with a temporary directory, and
//!   the connector in-process ([`Harness::start`]) or as the real binary ([`spawn_run`]);
//! - [`wait_for`] waits for an async condition with a deadline and names what it waited for
//!   when the deadline passes. It polls the condition; it never sleeps as synchronisation.

mod config;
mod harness;
mod requests;

use std::time::{Duration, Instant};

pub use config::{
    ConfigBuilder, DeliverySpec, EndpointsSpec, EnrichmentSpec, FilterSpec, INBOUND_TOKEN, LimitsSpec, SentinelSpec,
    Signl4Spec, Storage, SyncSpec, TenantSpec,
};
pub use harness::{Harness, TEAM, TENANT, postgres_schema_url, spawn_run};
pub use requests::arbitrary_request;

/// How often [`wait_for`] checks its condition.
pub const POLL: Duration = Duration::from_millis(20);

/// Waits until `condition` holds, checking every [`POLL`]; panics naming `what` once
/// `deadline` (from now) has passed.
pub async fn wait_for(what: &str, deadline: Duration, condition: impl AsyncFnMut() -> bool) {
    wait_for_every(what, deadline, POLL, condition).await
}

/// [`wait_for`] checking every `every` (benchmarks measuring latency check more often).
pub async fn wait_for_every(what: &str, deadline: Duration, every: Duration, condition: impl AsyncFnMut() -> bool) {
    if !holds_within(deadline, every, condition).await {
        panic!("timed out after {deadline:?} waiting for: {what}");
    }
}

/// Whether `condition` holds before `deadline` (from now) has passed, checking every `every`
/// and once more at the deadline. For callers that report a timeout themselves.
pub async fn holds_within(deadline: Duration, every: Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if condition().await {
            return true;
        }
        let now = Instant::now();
        if now >= end {
            return false;
        }
        tokio::time::sleep(every.min(end - now)).await;
    }
}

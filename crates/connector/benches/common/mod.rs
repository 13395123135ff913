//! Helpers shared by the benchmark harnesses: the release binary against an in-process fake cloud.

#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use s4s_fakecloud::Settings;
pub use signl4_sentinel::testkit::*;

/// A numeric field (KiB) of `/proc/<pid>/status`, e.g. `VmRSS:` or `VmHWM:`; 0 if absent.
pub fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The `p` quantile of sorted durations (nearest rank).
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

/// A fake cloud and the connector binary running against it.
pub struct Run {
    pub h: Harness,
    pub child: tokio::process::Child,
}

/// Starts a fake cloud with `settings`, then the connector binary with the example
/// configuration pointed at it (poll interval 1 s) as changed by `cfg`. When the
/// configuration names a fixed `server.listen` port, the fake SIGNL4 posts its outbound
/// webhooks there. Returns once the connector has sent two `first_poll` requests (its first
/// sweep is done and the cursor established).
pub async fn start(
    settings: impl FnOnce(&mut Settings),
    cfg: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    first_poll: &str,
) -> Run {
    let h = Harness::launch(settings).await.unwrap();
    let cfg = cfg(h.example().poll_interval(Duration::from_secs(1)));
    let path = h.write_config(&cfg);
    let child = spawn_run(Path::new(env!("CARGO_BIN_EXE_signl4-sentinel")), &path, "warn", Stdio::null());
    if cfg.listen.port() != 0 {
        h.connect_outbound(cfg.listen, 0.0, None);
    }
    wait_for_every("first poll", Duration::from_secs(30), Duration::from_millis(5), async || {
        h.requests(first_poll) >= 2
    })
    .await;
    Run { h, child }
}

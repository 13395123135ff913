//! The one pull driver: per tenant and lease, hold the polling lease (renewed on its own
//! schedule, however long a throttled sweep takes), then for each source read every change
//! since its cursor (minus the overlap; the lookback window on first start), page by page,
//! storing each page with the jobs it causes, and advance the cursor only after everything it
//! covers is stored. Progress is committed page by page (the sweep's start and next link), so
//! a sweep cut short — crash, lost lease, throttling — resumes where it stopped; a crash
//! re-reads at most one page, and the store drops versions it already has, so nothing pages
//! twice. After the sweep, a cheap re-read of the last seconds behind the cursor finds alerts
//! that became visible late. The interval adapts to the request budget: fast while it is
//! mostly free, slower under load or throttling (`s4s_core::budget::adaptive_interval`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use s4s_core::budget::{Priority, adaptive_interval};
use s4s_core::timefmt;
use s4s_store::{Fence, Store};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use crate::clients::http::UpstreamError;
use crate::clients::scheduler::{Caller, Scheduler, as_caller};
use crate::clock::now_ms;
use crate::sources::{PullSource, Stored};
use crate::telemetry;
use crate::tenant::TenantContext;

/// The host a refused link named, when `e` is the origin policy's refusal.
fn foreign_host(e: &anyhow::Error) -> Option<String> {
    e.downcast_ref::<UpstreamError>().and_then(UpstreamError::foreign_host).map(str::to_string)
}

/// Which health record a poller reports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reports {
    /// Microsoft Graph / Sentinel polling (`last_poll_*`).
    Microsoft,
    /// The SIGNL4 REST fallback (`signl4_api_error`).
    Signl4Api,
}

/// A sweep's committed progress: where it started, the next page's link and the newest
/// change stored so far. Kept under the cursor's name + `~sweep` until the sweep completes.
#[derive(Debug, Serialize, Deserialize)]
struct SweepProgress {
    since: String,
    next: String,
    newest: Option<String>,
}

pub struct Poller {
    /// Lease name (one replica polls each tenant and lease).
    pub lease: String,
    /// The slowest interval (under load or throttling); also sets the lease's lifetime.
    pub poll_interval: Duration,
    /// The fastest interval, while the budgets below are mostly free (= `poll_interval`: fixed).
    pub min_poll_interval: Duration,
    /// The request budgets this poller's sources draw on.
    pub budgets: Vec<Arc<Scheduler>>,
    pub reports: Reports,
    pub tenant: Arc<TenantContext>,
    pub sources: Vec<Box<dyn PullSource>>,
    pub store: Arc<dyn Store>,
    pub wake: Arc<Notify>,
    /// Sources known to have no interrupted sweep (saves a read per sweep; a stale entry only
    /// means a sweep starts at the cursor instead of resuming).
    pub no_progress: std::sync::Mutex<std::collections::HashSet<String>>,
    /// When each source last re-read its late window.
    pub last_reread: std::sync::Mutex<HashMap<String, tokio::time::Instant>>,
    /// The polling lease's fence for this cycle's writes (None: single instance).
    pub fence: std::sync::Mutex<Option<Fence>>,
}

impl Poller {
    fn fence(&self) -> Option<Fence> {
        self.fence.lock().map(|f| f.clone()).unwrap_or(None)
    }

    /// Takes or renews the lease and keeps its fence for this cycle's writes.
    async fn hold(&self, ttl: Duration) -> bool {
        let held = self.tenant.hold_lease(self.store.as_ref(), &self.lease, ttl).await;
        if let Ok(mut f) = self.fence.lock() {
            *f = held.clone().flatten();
        }
        held.is_some()
    }

    fn progress_key(name: &str) -> String {
        format!("{name}~sweep")
    }

    /// Forgets a sweep's committed progress (fenced like every write of the cycle).
    async fn drop_progress(&self, name: &str, progress_key: &str) -> anyhow::Result<()> {
        self.store.set_cursor_fenced(&self.tenant.cfg.name, progress_key, "", self.fence().as_ref(), now_ms()).await?;
        if let Ok(mut s) = self.no_progress.lock() {
            s.insert(name.to_string());
        }
        Ok(())
    }

    /// One sweep of one source; `interval` is the current poll interval (the late re-read
    /// covers it on top of the late window).
    pub async fn sweep(&self, src: &dyn PullSource, interval: Duration) -> anyhow::Result<(Stored, bool)> {
        let t = &self.tenant.cfg;
        let name = src.cursor();
        let now = OffsetDateTime::now_utc();
        let stored = self.store.get_cursor(&t.name, &name).await?;
        let first_run = stored.is_none();
        let cursor = match stored.as_deref().and_then(timefmt::parse) {
            Some(c) => c,
            None => {
                if let Some(bad) = &stored {
                    tracing::warn!(tenant = %t.name, source = %name, cursor = %bad, "stored cursor is unreadable; reading the lookback window again");
                }
                now - t.lookback
            }
        };
        let progress_key = Self::progress_key(&name);
        let known_none = self.no_progress.lock().is_ok_and(|s| s.contains(&name));
        let progress = if known_none {
            None
        } else {
            self.store
                .get_cursor(&t.name, &progress_key)
                .await?
                .filter(|v| !v.is_empty())
                .and_then(|v| serde_json::from_str::<SweepProgress>(&v).ok())
        };
        let mut since = cursor - src.overlap();
        let mut total = Stored { newest: Some(cursor), ..Default::default() };
        let mut page = None;
        let resuming = progress.is_some();
        if let Some(p) = progress {
            // An earlier sweep stopped part-way: continue from its next page.
            match src.next_page(&p.next).await {
                Ok(pg) => {
                    tracing::info!(tenant = %t.name, source = %name, "resuming an interrupted sweep where it stopped");
                    since = timefmt::parse(&p.since).unwrap_or(since);
                    total.newest = total.newest.max(p.newest.as_deref().and_then(timefmt::parse));
                    page = Some(pg);
                }
                Err(e) if e.downcast_ref::<UpstreamError>().is_some_and(UpstreamError::is_transient) => return Err(e),
                Err(e) if foreign_host(&e).is_some() => {
                    // A link stored by an older version (or tampered with) that names another
                    // origin: refused before anything was sent; the progress is dropped and
                    // the sweep starts again from the cursor.
                    tracing::warn!(tenant = %t.name, source = %name, host = %foreign_host(&e).unwrap_or_default(), "the stored sweep link names another host; not followed, sweep progress dropped");
                    self.drop_progress(&name, &progress_key).await?;
                }
                Err(e) => {
                    tracing::warn!(tenant = %t.name, source = %name, error = %format!("{e:#}"), "cannot resume the interrupted sweep; starting it again");
                }
            }
        } else if first_run {
            tracing::info!(tenant = %t.name, source = %name, since = %timefmt::odata(since), "first start: reading the lookback window");
        }
        let mut page = match page {
            Some(p) => p,
            None => src.first_page(since).await?,
        };
        let mut pages = 0usize;
        loop {
            pages += 1;
            let fence = self.fence();
            let o = src.store_page(self.store.as_ref(), fence.as_ref(), std::mem::take(&mut page.items)).await?;
            total.add(o);
            if o.queued > 0 {
                self.wake.notify_one();
            }
            match page.next.take() {
                Some(next) => {
                    // Commit the progress: a sweep cut short resumes from here.
                    let p = SweepProgress {
                        since: timefmt::odata(since),
                        next: next.clone(),
                        newest: total.newest.map(timefmt::odata),
                    };
                    self.store
                        .set_cursor_fenced(
                            &t.name,
                            &progress_key,
                            &serde_json::to_string(&p)?,
                            self.fence().as_ref(),
                            now_ms(),
                        )
                        .await?;
                    if let Ok(mut s) = self.no_progress.lock() {
                        s.remove(&name);
                    }
                    if first_run || pages.is_multiple_of(5) {
                        tracing::info!(tenant = %t.name, source = %name, pages, read = total.read, queued = total.queued, "reading backlog…");
                    }
                    page = match src.next_page(&next).await {
                        Ok(p) => p,
                        Err(e) if foreign_host(&e).is_some() => {
                            // A next link to another origin (refused, nothing sent there): this
                            // sweep ends with a permanent error naming the host, its progress
                            // is dropped, and the next poll sweeps again from the cursor (which
                            // has not moved), so nothing it covers is lost.
                            self.drop_progress(&name, &progress_key).await?;
                            return Err(e.context(format!(
                                "{}: the sweep stopped at a next link to another host; its progress was dropped and the next poll starts again from the cursor",
                                src.describe()
                            )));
                        }
                        Err(e) => return Err(e),
                    };
                }
                None => break,
            }
        }
        // Everything up to `newest` is stored: only now may the cursor move.
        let newest = total.newest.unwrap_or(cursor);
        if newest > cursor || first_run {
            self.store
                .set_cursor_fenced(&t.name, &name, &timefmt::odata(newest), self.fence().as_ref(), now_ms())
                .await?;
        }
        if pages > 1 || resuming {
            self.store.set_cursor_fenced(&t.name, &progress_key, "", self.fence().as_ref(), now_ms()).await?;
        }
        if let Ok(mut s) = self.no_progress.lock() {
            s.insert(name.clone());
        }
        // Late-visible items: changed within the last late window (+ one interval) but behind
        // what this sweep read. Cheap: ids and versions only, writes only for new versions.
        let late = src.late_window();
        // Often enough to find a late alert within a few seconds, not on every fast poll.
        let due = self.last_reread.lock().ok().is_none_or(|m| m.get(&name).is_none_or(|t| t.elapsed() >= late / 10));
        if !late.is_zero() && !first_run && due {
            if let Ok(mut m) = self.last_reread.lock() {
                m.insert(name.clone(), tokio::time::Instant::now());
            }
            let from = now - late - interval;
            if from < since {
                let mut o = src.reread(self.store.as_ref(), self.fence().as_ref(), from, since).await?;
                o.newest = None;
                if o.queued > 0 {
                    metrics::counter!(telemetry::LATE_ALERTS, "tenant" => t.name.clone()).increment(o.new as u64);
                    tracing::info!(tenant = %t.name, source = %name, new = o.new, "found late-visible alerts behind the cursor");
                    self.wake.notify_one();
                }
                total.add(o);
            }
        }
        if !first_run {
            let queued = src.recheck(self.store.as_ref()).await?;
            if queued > 0 {
                total.queued += queued;
                self.wake.notify_one();
            }
        }
        Ok((total, first_run))
    }

    /// One cycle over every source due (`min_interval`), each at its priority.
    async fn cycle(
        &self,
        last: &mut HashMap<usize, tokio::time::Instant>,
        interval: Duration,
    ) -> anyhow::Result<(Stored, bool)> {
        let mut total = Stored::default();
        let mut first = false;
        let mut refused: Option<anyhow::Error> = None;
        for (i, src) in self.sources.iter().enumerate() {
            let min = src.min_interval();
            if !min.is_zero() && last.get(&i).is_some_and(|t| t.elapsed() < min) {
                continue;
            }
            last.insert(i, tokio::time::Instant::now());
            // Reading new alerts waits as long as the budget needs; lower-priority sweeps wait
            // at most one interval and otherwise yield the cycle (they come back next time),
            // so they never hold up polling.
            let caller = match src.priority() {
                Priority::Poll => Caller::poller(Priority::Poll),
                p => Caller { priority: p, max_wait: Some(interval.max(Duration::from_secs(1))) },
            };
            match as_caller(caller, self.sweep(src.as_ref(), interval)).await {
                Ok((s, f)) => {
                    total.add(s);
                    first |= f;
                }
                Err(e) if e.downcast_ref::<UpstreamError>().is_some_and(UpstreamError::is_held) => {
                    tracing::debug!(tenant = %self.tenant.cfg.name, source = %src.describe(), "sweep yields to higher-priority work (request budget)");
                    last.remove(&i);
                }
                Err(e) if src.optional() => {
                    tracing::warn!(tenant = %self.tenant.cfg.name, error = %format!("{e:#}"), "reading {} failed (retried every poll)", src.describe())
                }
                // A foreign next link ends that source's sweep only: the other sources of the
                // cycle still run (a hostile Graph page must not stop Sentinel polling too);
                // the cycle then reports the refusal.
                Err(e) if foreign_host(&e).is_some() => {
                    tracing::error!(tenant = %self.tenant.cfg.name, error = %format!("{e:#}"), "a next link named another host; nothing was sent there");
                    refused.get_or_insert(e);
                }
                Err(e) => return Err(e.context(src.describe())),
            }
        }
        match refused {
            Some(e) => Err(e),
            None => Ok((total, first)),
        }
    }

    fn report(&self, result: anyhow::Result<(Stored, bool)>, took: Duration) {
        let tenant = &self.tenant;
        let t = &tenant.cfg;
        if let Err(e) = &result
            && let Some(s4s_store::StoreError::Fenced(lease)) = e.downcast_ref::<s4s_store::StoreError>()
        {
            // Not a failure of the upstream: another replica took the lease over mid-cycle, and
            // this replica's writes for it were refused (nothing half-written).
            tracing::warn!(tenant = %t.name, lease = %lease, "lost the polling lease during a cycle; its writes were refused, the new holder polls");
            return;
        }
        match (self.reports, result) {
            (Reports::Microsoft, Ok((r, first_run))) => {
                metrics::histogram!(telemetry::POLL_DURATION, "tenant" => t.name.clone()).record(took.as_secs_f64());
                tenant.health.poll_succeeded();
                if first_run || r.queued > 0 || r.new > 0 {
                    tracing::info!(tenant = %t.name, read = r.read, new = r.new, updated = r.updated, queued = r.queued, "poll done");
                } else {
                    tracing::debug!(tenant = %t.name, read = r.read, "poll done, nothing new");
                }
            }
            (Reports::Microsoft, Err(e)) => {
                metrics::counter!(telemetry::POLL_ERRORS, "tenant" => t.name.clone()).increment(1);
                let msg = format!("{e:#}");
                if tenant.health.poll_failed(&msg) {
                    tracing::error!(tenant = %t.name, error = %msg, "polling Microsoft Graph failed; will retry every poll interval");
                } else {
                    tracing::debug!(tenant = %t.name, error = %msg, "polling still failing");
                }
            }
            (Reports::Signl4Api, Ok((r, _))) => {
                if r.queued > 0 {
                    tracing::info!(tenant = %t.name, events = r.queued, "SIGNL4 REST poll found changes");
                }
                tenant.health.set_signl4_api_error(None);
            }
            (Reports::Signl4Api, Err(e)) => {
                let msg = format!("{e:#}");
                metrics::counter!(telemetry::SIGNL4_REST_ERRORS, "tenant" => t.name.clone()).increment(1);
                if tenant.status().signl4_api_error.as_deref() != Some(msg.as_str()) {
                    tracing::error!(tenant = %t.name, error = %msg, "polling the SIGNL4 REST API failed; retrying every api_poll_interval");
                }
                tenant.health.set_signl4_api_error(Some(msg));
            }
        }
    }

    /// The next interval: fast while every budget is mostly free, slower as they fill, the
    /// slowest while an upstream holds us off.
    fn next_interval(&self) -> Duration {
        let usage = self.budgets.iter().map(|b| b.usage()).fold(0.0, f64::max);
        let held = self.budgets.iter().any(|b| b.held());
        let next = adaptive_interval(self.min_poll_interval, self.poll_interval, usage, held);
        if self.reports == Reports::Microsoft {
            metrics::gauge!(telemetry::POLL_INTERVAL, "tenant" => self.tenant.cfg.name.clone()).set(next.as_secs_f64());
        }
        next
    }

    /// Renews the lease every third of its lifetime; returns only when it was lost.
    async fn keep_lease(&self, ttl: Duration) {
        loop {
            tokio::time::sleep(ttl / 3).await;
            if !self.hold(ttl).await {
                return;
            }
        }
    }

    /// Polls until `shutdown` fires. A sweep interrupted by shutdown is safe: cursors move
    /// only after what they cover is stored.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let ttl = (self.poll_interval * 3).max(Duration::from_secs(2));
        let mut interval = self.min_poll_interval.min(self.poll_interval).max(Duration::from_millis(50));
        let mut last = HashMap::new();
        loop {
            let started = tokio::time::Instant::now();
            // One replica polls each tenant; the others take over when its lease lapses.
            if self.hold(ttl).await {
                let timer = std::time::Instant::now();
                let result = tokio::select! {
                    // A bug in a source must not end this tenant's polling for good: a panic is
                    // reported as a failed cycle and the next one runs.
                    r = std::panic::AssertUnwindSafe(self.cycle(&mut last, interval)).catch_unwind() => {
                        Some(r.unwrap_or_else(|p| Err(anyhow::anyhow!("internal error: the poll cycle panicked: {}", telemetry::panic_text(&p)))))
                    }
                    _ = self.keep_lease(ttl) => None,
                    _ = shutdown.changed() => return,
                };
                match result {
                    Some(r) => self.report(r, timer.elapsed()),
                    None => {
                        tracing::warn!(tenant = %self.tenant.cfg.name, lease = %self.lease, "lost the polling lease during a sweep; its progress is kept for the next holder")
                    }
                }
            }
            interval = self.next_interval().max(Duration::from_millis(50));
            if self.reports == Reports::Microsoft {
                let left = (started + interval).saturating_duration_since(tokio::time::Instant::now());
                self.tenant.health.set_next_poll(now_ms() + left.as_millis() as i64, interval);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(started + interval) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

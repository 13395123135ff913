//! The one pull driver: per tenant and lease, every interval, hold the polling lease, then for
//! each source read every change since its cursor (minus the overlap; the lookback window on
//! first start), page by page, storing each page with the jobs it causes, and advance the
//! cursor only after everything it covers is stored. A crash mid-sweep re-reads from the old
//! cursor; the store drops versions it already has, so nothing pages twice.

use std::sync::Arc;
use std::time::Duration;

use s4s_core::timefmt;
use s4s_store::Store;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use crate::clock::now_ms;
use crate::sources::{PullSource, Stored};
use crate::telemetry;
use crate::tenant::TenantContext;

/// Which health record a poller reports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reports {
    /// Microsoft Graph / Sentinel polling (`last_poll_*`).
    Microsoft,
    /// The SIGNL4 REST fallback (`signl4_api_error`).
    Signl4Api,
}

pub struct Poller {
    /// Lease name (one replica polls each tenant and lease).
    pub lease: &'static str,
    pub interval: Duration,
    pub reports: Reports,
    pub tenant: Arc<TenantContext>,
    pub sources: Vec<Box<dyn PullSource>>,
    pub store: Arc<dyn Store>,
    pub wake: Arc<Notify>,
}

impl Poller {
    /// One sweep of one source.
    pub async fn sweep(&self, src: &dyn PullSource) -> anyhow::Result<(Stored, bool)> {
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
        let since = cursor - src.overlap();
        if first_run {
            tracing::info!(tenant = %t.name, source = %name, since = %timefmt::odata(since), "first start: reading the lookback window");
        }
        let mut total = Stored { newest: Some(cursor), ..Default::default() };
        let mut page = src.first_page(since).await?;
        let mut pages = 0usize;
        loop {
            pages += 1;
            let o = src.store_page(self.store.as_ref(), std::mem::take(&mut page.items)).await?;
            total.add(o);
            if o.queued > 0 {
                self.wake.notify_one();
            }
            match page.next.take() {
                Some(next) => {
                    if first_run || pages.is_multiple_of(5) {
                        tracing::info!(tenant = %t.name, source = %name, pages, read = total.read, queued = total.queued, "reading backlog…");
                    }
                    page = src.next_page(&next).await?;
                }
                None => break,
            }
        }
        // Everything up to `newest` is stored: only now may the cursor move.
        let newest = total.newest.unwrap_or(cursor);
        if newest > cursor || first_run {
            self.store.set_cursor(&t.name, &name, &timefmt::odata(newest), now_ms()).await?;
        }
        Ok((total, first_run))
    }

    /// One cycle over every source.
    async fn cycle(&self) -> anyhow::Result<(Stored, bool)> {
        let mut total = Stored::default();
        let mut first = false;
        for src in &self.sources {
            match self.sweep(src.as_ref()).await {
                Ok((s, f)) => {
                    total.add(s);
                    first |= f;
                }
                Err(e) if src.optional() => {
                    tracing::warn!(tenant = %self.tenant.cfg.name, error = %format!("{e:#}"), "reading {} failed (retried every poll)", src.describe())
                }
                Err(e) => return Err(e.context(src.describe())),
            }
        }
        Ok((total, first))
    }

    fn report(&self, result: anyhow::Result<(Stored, bool)>, took: Duration) {
        let rt = &self.tenant;
        let t = &rt.cfg;
        match (self.reports, result) {
            (Reports::Microsoft, Ok((r, first_run))) => {
                metrics::histogram!(telemetry::POLL_DURATION, "tenant" => t.name.clone()).record(took.as_secs_f64());
                rt.health.poll_succeeded();
                if first_run || r.queued > 0 || r.new > 0 {
                    tracing::info!(tenant = %t.name, read = r.read, new = r.new, updated = r.updated, queued = r.queued, "poll done");
                } else {
                    tracing::debug!(tenant = %t.name, read = r.read, "poll done, nothing new");
                }
            }
            (Reports::Microsoft, Err(e)) => {
                metrics::counter!(telemetry::POLL_ERRORS, "tenant" => t.name.clone()).increment(1);
                let msg = format!("{e:#}");
                if rt.health.poll_failed(&msg) {
                    tracing::error!(tenant = %t.name, error = %msg, "polling Microsoft Graph failed; will retry every poll interval");
                } else {
                    tracing::debug!(tenant = %t.name, error = %msg, "polling still failing");
                }
            }
            (Reports::Signl4Api, Ok((r, _))) => {
                if r.queued > 0 {
                    tracing::info!(tenant = %t.name, events = r.queued, "SIGNL4 REST poll found changes");
                }
                rt.health.set_signl4_api_error(None);
            }
            (Reports::Signl4Api, Err(e)) => {
                let msg = format!("{e:#}");
                metrics::counter!(telemetry::SIGNL4_REST_ERRORS, "tenant" => t.name.clone()).increment(1);
                if rt.status().signl4_api_error.as_deref() != Some(msg.as_str()) {
                    tracing::error!(tenant = %t.name, error = %msg, "polling the SIGNL4 REST API failed; retrying every api_poll_interval");
                }
                rt.health.set_signl4_api_error(Some(msg));
            }
        }
    }

    /// Polls until `shutdown` fires. A sweep interrupted by shutdown is safe: cursors move
    /// only after what they cover is stored.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let interval = self.interval.max(Duration::from_millis(50));
        loop {
            let started = tokio::time::Instant::now();
            // One replica polls each tenant; the others take over when its lease lapses.
            if self.tenant.hold_lease(self.store.as_ref(), self.lease, self.interval * 3).await {
                let timer = std::time::Instant::now();
                let result = tokio::select! {
                    r = self.cycle() => r,
                    _ = shutdown.changed() => return,
                };
                self.report(result, timer.elapsed());
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

//! Reading alerts: one sweep per tenant and poll interval.
//!
//! A sweep reads every alert changed since the stored cursor (minus a small overlap for
//! clock skew), follows `@odata.nextLink` verbatim, stores each page together with the page
//! jobs it causes (one transaction per page), and only then advances the cursor to the
//! newest `lastUpdateDateTime` it stored. A crash mid-sweep re-reads from the old cursor;
//! the store drops versions it already has, so nothing pages twice.

use std::sync::Arc;
use std::time::Duration;

use s4s_core::alert::GraphAlert;
use s4s_core::config::TenantConfig;
use s4s_core::{keys, page, timefmt};
use s4s_store::{AlertRecord, IngestItem, IngestOutcome, NewJob, Store};
use time::OffsetDateTime;

use crate::runtime::{JOB_PAGE, TenantRuntime};

/// Pure: what to store for one alert version, and whether it pages.
pub fn ingest_item(tenant: &TenantConfig, alert: &GraphAlert) -> IngestItem {
    let pages = tenant.filter.check(alert).is_ok();
    let record = AlertRecord {
        tenant: tenant.name.clone(),
        source: keys::SOURCE_GRAPH_ALERT.into(),
        alert_id: alert.id.clone(),
        version: alert.version(),
        status: alert.status.as_str().to_string(),
        severity: alert.severity.key().to_string(),
        raw: alert.raw.to_string(),
    };
    let page = pages.then(|| {
        let p = page::graph_alert_page(&tenant.name, alert, &tenant.signl4);
        NewJob {
            tenant: tenant.name.clone(),
            kind: JOB_PAGE.into(),
            key: keys::page_job_key(&p.external_id),
            payload: serde_json::Value::Object(p.body).to_string(),
        }
    });
    IngestItem { alert: record, page }
}

#[derive(Debug, Default, Clone)]
pub struct SweepReport {
    pub pages_read: usize,
    pub alerts_read: usize,
    pub malformed: usize,
    pub outcome: IngestOutcome,
    pub first_run: bool,
}

/// One sweep for one tenant. `on_page` is called after each stored page (wakes delivery).
pub async fn sweep(
    rt: &TenantRuntime,
    store: &Arc<dyn Store>,
    on_page: &(dyn Fn(&SweepReport) + Send + Sync),
) -> anyhow::Result<SweepReport> {
    let t = &rt.cfg;
    let source = keys::SOURCE_GRAPH_ALERT;
    let now = OffsetDateTime::now_utc();
    let stored = store.get_cursor(&t.name, source).await?;
    let mut report = SweepReport { first_run: stored.is_none(), ..Default::default() };
    let cursor = match stored.as_deref().and_then(timefmt::parse) {
        Some(c) => c,
        None => {
            if let Some(bad) = &stored {
                tracing::warn!(tenant = %t.name, cursor = %bad, "stored cursor is unreadable; reading the lookback window again");
            }
            now - t.lookback
        }
    };
    let since = cursor - t.overlap;
    if report.first_run {
        tracing::info!(tenant = %t.name, since = %timefmt::odata(since), "first start: reading alerts of the lookback window");
    }
    let mut newest = cursor;
    let mut url = rt.graph.alerts_since_url(since, t.page_size);
    loop {
        let page = rt.graph.alerts_page(&url).await?;
        report.pages_read += 1;
        let mut items = Vec::with_capacity(page.value.len());
        for raw in page.value {
            match GraphAlert::from_json(raw) {
                Ok(a) => {
                    if a.last_update > newest {
                        newest = a.last_update;
                    }
                    items.push(ingest_item(t, &a));
                }
                Err(e) => {
                    report.malformed += 1;
                    metrics::counter!("s4s_alerts_malformed_total", "tenant" => t.name.clone()).increment(1);
                    tracing::warn!(tenant = %t.name, error = %e, "skipping an alert Graph returned without id or lastUpdateDateTime");
                }
            }
        }
        // Graph lists the most recent first; page the oldest of a batch first.
        items.sort_by(|a, b| a.alert.version.cmp(&b.alert.version));
        report.alerts_read += items.len();
        let o = store.ingest(&items, timefmt::millis(OffsetDateTime::now_utc())).await?;
        report.outcome.add(o);
        for (result, n) in [("new", o.new), ("updated", o.updated), ("unchanged", o.unchanged)] {
            metrics::counter!("s4s_alerts_ingested_total", "tenant" => t.name.clone(), "result" => result)
                .increment(n as u64);
        }
        metrics::counter!("s4s_page_jobs_created_total", "tenant" => t.name.clone()).increment(o.jobs_created as u64);
        on_page(&report);
        match page.next_link {
            Some(next) => {
                if report.first_run || report.pages_read.is_multiple_of(5) {
                    tracing::info!(tenant = %t.name, pages = report.pages_read, alerts = report.alerts_read, queued = report.outcome.jobs_created, "reading backlog…");
                }
                url = next;
            }
            None => break,
        }
    }
    // Everything up to `newest` is stored: only now may the cursor move.
    if newest > cursor || stored.is_none() {
        store.set_cursor(&t.name, source, &timefmt::odata(newest), timefmt::millis(OffsetDateTime::now_utc())).await?;
    }
    Ok(report)
}

/// Polls a tenant until `shutdown` fires.
pub async fn run(
    rt: Arc<TenantRuntime>,
    store: Arc<dyn Store>,
    wake: Arc<tokio::sync::Notify>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let t = rt.cfg.clone();
    loop {
        let started = tokio::time::Instant::now();
        let wake2 = wake.clone();
        let on_page = move |r: &SweepReport| {
            if r.outcome.jobs_created > 0 {
                wake2.notify_one();
            }
        };
        let timer = std::time::Instant::now();
        match sweep(&rt, &store, &on_page).await {
            Ok(r) => {
                metrics::histogram!("s4s_poll_duration_seconds", "tenant" => t.name.clone())
                    .record(timer.elapsed().as_secs_f64());
                rt.poll_succeeded();
                if r.first_run || r.outcome.jobs_created > 0 || r.outcome.new > 0 {
                    tracing::info!(tenant = %t.name, read = r.alerts_read, new = r.outcome.new, updated = r.outcome.updated, pages_queued = r.outcome.jobs_created, "poll done");
                } else {
                    tracing::debug!(tenant = %t.name, read = r.alerts_read, "poll done, nothing new");
                }
            }
            Err(e) => {
                metrics::counter!("s4s_poll_errors_total", "tenant" => t.name.clone()).increment(1);
                let msg = format!("{e:#}");
                if rt.poll_failed(&msg) {
                    tracing::error!(tenant = %t.name, error = %msg, "polling Microsoft Graph failed; will retry every poll interval");
                } else {
                    tracing::debug!(tenant = %t.name, error = %msg, "polling still failing");
                }
            }
        }
        let next = started + t.poll_interval.max(Duration::from_millis(50));
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s4s_core::config::{ProcessEnv, load};
    use serde_json::json;

    fn tenant() -> TenantConfig {
        load(s4s_core::config::example(), &ProcessEnv).unwrap().tenants.remove(0)
    }

    #[test]
    fn paging_alerts_carry_a_page_job_keyed_by_external_id() {
        let t = tenant();
        let a = GraphAlert::from_json(
            json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "high", "status": "new"}),
        )
        .unwrap();
        let item = ingest_item(&t, &a);
        assert_eq!(item.alert.version, "2026-11-28T10:00:00.0000000Z");
        let job = item.page.unwrap();
        assert_eq!(job.key, "page:s4s:contoso:graph-alert:a1");
        let body: serde_json::Value = serde_json::from_str(&job.payload).unwrap();
        assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a1");
        assert_eq!(body["X-S4-AlertingScenario"], "multi_ack");
    }

    #[test]
    fn filtered_alerts_are_stored_without_a_page() {
        let t = tenant();
        let a = GraphAlert::from_json(
            json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "informational"}),
        )
        .unwrap();
        let item = ingest_item(&t, &a);
        assert!(item.page.is_none());
        assert_eq!(item.alert.severity, "informational");
    }
}

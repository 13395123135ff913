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
use s4s_core::sync::{self, PortalAction, Signl4State};
use s4s_core::{keys, page, timefmt};
use s4s_store::{AlertRecord, IngestItem, IngestOutcome, NewJob, Store, StoredAlert};
use time::OffsetDateTime;

use crate::runtime::{JOB_PAGE, JOB_SIGNL4_STATUS, TenantRuntime};

/// Pure: what to store for one alert version, whether it pages, and — for an alert paged
/// before (`prior`) — whether a change made in the portal must reach SIGNL4.
pub fn ingest_item(tenant: &TenantConfig, alert: &GraphAlert, prior: Option<&StoredAlert>) -> IngestItem {
    // Already paged: never again (and no need to build the page).
    let pages = !prior.is_some_and(|p| p.paged) && tenant.filter.check(alert).is_ok();
    let record = AlertRecord {
        tenant: tenant.name.clone(),
        source: keys::SOURCE_GRAPH_ALERT.into(),
        alert_id: alert.id.clone(),
        version: alert.version(),
        status: alert.status.as_str().to_string(),
        severity: alert.severity.key().to_string(),
        incident_id: alert.incident_id.clone(),
        raw: alert.raw.to_string(),
    };
    let page = pages.then(|| {
        let p = page::graph_alert_page(&tenant.name, alert, &tenant.signl4);
        NewJob::once(
            &tenant.name,
            JOB_PAGE,
            keys::page_job_key(&p.external_id),
            serde_json::Value::Object(p.body).to_string(),
        )
    });
    let mut item = IngestItem::new(record, page);
    if let Some(prior) = prior.filter(|p| p.paged && p.record.version != item.alert.version) {
        let state = Signl4State::parse(&prior.signl4_state);
        let action =
            sync::portal_change(state, prior.written_status.as_deref(), &alert.status, tenant.sync.ack_on_in_progress);
        if let Some(action) = action {
            let ext = keys::external_id(&tenant.name, keys::SOURCE_GRAPH_ALERT, &alert.id);
            let (status, new_state) = match action {
                PortalAction::Resolve => ("resolved", Signl4State::ClosedByPortal),
                PortalAction::Acknowledge => ("acknowledged", Signl4State::AcknowledgedByPortal),
            };
            item.jobs.push(signl4_status_job(&tenant.name, &ext, status));
            item.update.signl4_state = Some(new_state.as_str().into());
        }
    }
    item
}

/// True when `item` would change nothing in the store: same version, nothing to page that
/// was not paged, no jobs, no bookkeeping.
pub fn unchanged(prior: Option<&StoredAlert>, item: &IngestItem) -> bool {
    prior.is_some_and(|p| {
        p.record.version == item.alert.version
            && (item.page.is_none() || p.paged)
            && item.jobs.is_empty()
            && item.update == s4s_store::AlertUpdate::default()
    })
}

/// A job that sets a SIGNL4 alert to `status` (`resolved` / `acknowledged`) by external id.
pub fn signl4_status_job(tenant: &str, external_id: &str, status: &str) -> NewJob {
    let mut body = page::resolve_payload(external_id);
    body.insert("X-S4-Status".into(), serde_json::Value::String(status.into()));
    NewJob::once(
        tenant,
        JOB_SIGNL4_STATUS,
        format!("s4status:{status}:{external_id}"),
        serde_json::Value::Object(body).to_string(),
    )
}

/// Reads incidents changed since the incident cursor; an incident resolved or redirected by
/// someone else closes the SIGNL4 alerts of its tracked alerts. Returns the jobs queued.
pub async fn incident_sweep(rt: &TenantRuntime, store: &Arc<dyn Store>) -> anyhow::Result<usize> {
    let t = &rt.cfg;
    let source = keys::SOURCE_GRAPH_INCIDENT;
    let now = OffsetDateTime::now_utc();
    let stored = store.get_cursor(&t.name, source).await?;
    let cursor = stored.as_deref().and_then(timefmt::parse).unwrap_or(now - t.lookback);
    let mut newest = cursor;
    let mut url = rt.graph.incidents_since_url(cursor - rt.overlap_for(source), t.page_size);
    let mut queued = 0;
    loop {
        let v = rt.graph.get_json(&url).await?;
        for inc in v.get("value").and_then(|x| x.as_array()).into_iter().flatten() {
            if let Some(ts) = inc.get("lastUpdateDateTime").and_then(|x| x.as_str()).and_then(timefmt::parse)
                && ts > newest
            {
                newest = ts;
            }
            let (Some(id), Some(status)) =
                (inc.get("id").and_then(|x| x.as_str()), inc.get("status").and_then(|x| x.as_str()))
            else {
                continue;
            };
            if !matches!(status, "resolved" | "redirected") {
                continue;
            }
            for a in store.incident_alerts(&t.name, id).await? {
                let state = Signl4State::parse(&a.signl4_state);
                if !sync::incident_closes_alert(status, state, a.written_status.as_deref()) {
                    continue;
                }
                let ext = keys::external_id(&t.name, &a.record.source, &a.record.alert_id);
                let n = store
                    .enqueue(
                        &[signl4_status_job(&t.name, &ext, "resolved")],
                        timefmt::millis(OffsetDateTime::now_utc()),
                    )
                    .await?;
                let key = s4s_store::AlertKey {
                    tenant: t.name.clone(),
                    source: a.record.source.clone(),
                    alert_id: a.record.alert_id.clone(),
                };
                let u = s4s_store::AlertUpdate {
                    signl4_state: Some(Signl4State::ClosedByPortal.as_str().into()),
                    ..Default::default()
                };
                store.update_alert(&key, &u, timefmt::millis(OffsetDateTime::now_utc())).await?;
                tracing::info!(tenant = %t.name, incident = %id, alert = %a.record.alert_id, incident_status = %status, "incident closed in the portal: closing the SIGNL4 alert");
                queued += n;
            }
        }
        match v.get("@odata.nextLink").and_then(|x| x.as_str()) {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    if newest > cursor || stored.is_none() {
        store.set_cursor(&t.name, source, &timefmt::odata(newest), timefmt::millis(OffsetDateTime::now_utc())).await?;
    }
    Ok(queued)
}

#[derive(Debug, Default, Clone)]
pub struct SweepReport {
    pub pages_read: usize,
    pub alerts_read: usize,
    pub malformed: usize,
    pub outcome: IngestOutcome,
    pub first_run: bool,
    /// Portal changes queued for SIGNL4 (close / acknowledge).
    pub portal_changes: usize,
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
    let since = cursor - rt.overlap_for(source);
    if report.first_run {
        tracing::info!(tenant = %t.name, since = %timefmt::odata(since), "first start: reading alerts of the lookback window");
    }
    let mut newest = cursor;
    let mut url = rt.graph.alerts_since_url(since, t.page_size);
    loop {
        let page = rt.graph.alerts_page(&url).await?;
        report.pages_read += 1;
        let mut parsed = Vec::with_capacity(page.value.len());
        for raw in page.value {
            match GraphAlert::from_json(raw) {
                Ok(a) => parsed.push(a),
                Err(e) => {
                    report.malformed += 1;
                    metrics::counter!("s4s_alerts_malformed_total", "tenant" => t.name.clone()).increment(1);
                    tracing::warn!(tenant = %t.name, error = %e, "skipping an alert Graph returned without id or lastUpdateDateTime");
                }
            }
        }
        // What we knew of these alerts before (paged? SIGNL4 state? our own last write?).
        let ids: Vec<String> = parsed.iter().map(|a| a.id.clone()).collect();
        let prior: std::collections::HashMap<String, StoredAlert> = store
            .get_alerts(&t.name, source, &ids)
            .await?
            .into_iter()
            .map(|a| (a.record.alert_id.clone(), a))
            .collect();
        let mut items = Vec::with_capacity(parsed.len());
        for a in &parsed {
            if a.last_update > newest {
                newest = a.last_update;
            }
            let p = prior.get(&a.id);
            let item = ingest_item(t, a, p);
            // A version we already stored that asks for nothing new (the overlap re-read)
            // needs no write transaction at all.
            if unchanged(p, &item) {
                report.outcome.unchanged += 1;
                continue;
            }
            report.portal_changes += item.jobs.len();
            items.push(item);
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
    if t.sync.enabled {
        // Optional: without SecurityIncident.Read.All paging still works.
        match incident_sweep(rt, store).await {
            Ok(n) => {
                report.portal_changes += n;
                on_page(&report);
            }
            Err(e) => {
                tracing::warn!(tenant = %t.name, error = %format!("{e:#}"), "reading Graph incidents failed (portal closes of incidents are not mirrored until it works)")
            }
        }
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
        // One replica polls each tenant; the others take over when its lease lapses.
        if !rt.hold_lease(store.as_ref(), "poll", t.poll_interval * 3).await {
            tokio::select! {
                _ = tokio::time::sleep_until(started + t.poll_interval.max(Duration::from_millis(50))) => {}
                _ = shutdown.changed() => return,
            }
            continue;
        }
        let wake2 = wake.clone();
        let on_page = move |r: &SweepReport| {
            if r.outcome.jobs_created > 0 || r.portal_changes > 0 {
                wake2.notify_one();
            }
        };
        let timer = std::time::Instant::now();
        // A sweep interrupted by shutdown is safe: the cursor moves only at its end.
        let cycle = async {
            let mut r = if rt.cfg.graph { sweep(&rt, &store, &on_page).await? } else { SweepReport::default() };
            for ws in &rt.sentinel {
                let (read, queued) = crate::sentinel::sweep(
                    &rt.cfg,
                    ws,
                    &store,
                    rt.overlap_for(&s4s_core::sentinel::source(&ws.cfg.name)),
                )
                .await
                .map_err(|e| e.context(format!("Sentinel workspace {}", ws.cfg.name)))?;
                r.alerts_read += read;
                r.portal_changes += queued;
                if queued > 0 {
                    on_page(&r);
                    wake.notify_one();
                }
            }
            anyhow::Ok(r)
        };
        let result = tokio::select! {
            r = cycle => r,
            _ = shutdown.changed() => return,
        };
        match result {
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
        let item = ingest_item(&t, &a, None);
        assert_eq!(item.alert.version, "2026-11-28T10:00:00.0000000Z");
        let job = item.page.unwrap();
        assert_eq!(job.key, "page:s4s:contoso:graph-alert:a1");
        let body: serde_json::Value = serde_json::from_str(&job.payload).unwrap();
        assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a1");
        assert_eq!(body["X-S4-AlertingScenario"], "multi_ack");
    }

    fn stored(state: &str, written: Option<&str>) -> StoredAlert {
        StoredAlert {
            record: AlertRecord {
                tenant: "contoso".into(),
                source: "graph-alert".into(),
                alert_id: "a1".into(),
                version: "old".into(),
                status: "new".into(),
                severity: "high".into(),
                incident_id: None,
                raw: "{}".into(),
            },
            paged: true,
            signl4_state: state.into(),
            written_status: written.map(str::to_string),
            signl4_event_id: None,
        }
    }

    #[test]
    fn a_portal_resolve_closes_the_signl4_alert_but_our_own_echo_does_not() {
        let t = tenant();
        let a = GraphAlert::from_json(
            json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T11:00:00Z", "severity": "high", "status": "resolved"}),
        )
        .unwrap();
        let item = ingest_item(&t, &a, Some(&stored("acknowledged", Some("inProgress"))));
        assert_eq!(item.jobs.len(), 1);
        assert_eq!(item.jobs[0].key, "s4status:resolved:s4s:contoso:graph-alert:a1");
        let body: serde_json::Value = serde_json::from_str(&item.jobs[0].payload).unwrap();
        assert_eq!(body, json!({"X-S4-ExternalID": "s4s:contoso:graph-alert:a1", "X-S4-Status": "resolved"}));
        assert_eq!(item.update.signl4_state.as_deref(), Some("closed_by_portal"));
        // We resolved it ourselves (SIGNL4 close → Graph): no echo back to SIGNL4.
        assert!(ingest_item(&t, &a, Some(&stored("closed", Some("resolved")))).jobs.is_empty());
        // Same version seen again (overlap re-read): nothing.
        let mut same = stored("open", None);
        same.record.version = a.version();
        assert!(ingest_item(&t, &a, Some(&same)).jobs.is_empty());
    }

    #[test]
    fn filtered_alerts_are_stored_without_a_page() {
        let t = tenant();
        let a = GraphAlert::from_json(
            json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "informational"}),
        )
        .unwrap();
        let item = ingest_item(&t, &a, None);
        assert!(item.page.is_none());
        assert_eq!(item.alert.severity, "informational");
    }
}

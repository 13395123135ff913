//! The ingest decision for Sentinel incidents: which reads a plan needs, what to store, its
//! page (per incident) or its alerts' pages (per alert), twins, reopenings and portal changes.

use serde_json::Value;

use super::{Twin, incident_closes, portal_item, reopen_item, route_named, route_names, unchanged};
use crate::config::{PagePer, SentinelConfig, TenantConfig};
use crate::ids;
use crate::jobs::{self, SentinelPageJob};
use crate::records::{AlertRecord, IngestItem, StoredAlert};
use crate::route::DEFAULT_ROUTE;
use crate::routing::{self, Facts};
use crate::sentinel::{self as model, Incident, SentinelAlert};
use crate::sync::{self, Signl4State};

/// Whether a Sentinel incident pages (status and severity filters).
pub fn incident_pages(ws: &SentinelConfig, inc: &Incident) -> bool {
    ws.statuses.iter().any(|s| s.eq_ignore_ascii_case(&inc.status)) && inc.severity.rank() >= ws.min_severity.rank()
}

/// Before planning a Sentinel incident: does the plan need the incident's alerts from ARM?
pub fn sentinel_needs_alerts(ws: &SentinelConfig, inc: &Incident, prior: Option<&StoredAlert>) -> bool {
    (!prior.is_some_and(|p| p.paged) && incident_pages(ws, inc)) || sentinel_reopened(ws, inc, prior)
}

/// A paged incident closed earlier and now open again, set so by someone else, at a severity
/// that pages: it pages again, once per reopening — as one page for the incident in per-alert
/// mode too (its alerts were answered; the incident is what came back). An incident that
/// joined its Graph twin's page leaves reopening to the Graph alerts.
pub fn sentinel_reopened(ws: &SentinelConfig, inc: &Incident, prior: Option<&StoredAlert>) -> bool {
    prior.is_some_and(|p| {
        p.paged
            && p.record.version != inc.version()
            && p.state() != Signl4State::Grouped
            && inc.severity.rank() >= ws.min_severity.rank()
            && sync::reopened(
                &model::sentinel_status(&p.record.status),
                &inc.as_alert_status(),
                p.written_status.as_deref(),
            )
    })
}

/// Before planning: does the plan need the alerts tracked for this incident (per-alert mode,
/// incident closed in the portal)?
pub fn sentinel_needs_tracked(ws: &SentinelConfig, inc: &Incident, prior: Option<&StoredAlert>) -> bool {
    ws.page_per == PagePer::Alert
        && inc.status == "Closed"
        && prior.is_some_and(|p| p.paged && p.record.version != inc.version())
}

/// Before planning: may a paged incident have gained comments since the stored version (a new
/// version that has comments), so that its comments must be read ([`sentinel_portal_comments`]
/// keeps those created after the stored version)? The stored row's raw JSON is not read back
/// in bulk, so the count is not compared; an absent count is read as "maybe".
pub fn sentinel_comments_changed(inc: &Incident, prior: Option<&StoredAlert>) -> bool {
    let count = inc.raw.pointer("/properties/additionalData/commentsCount").map(|c| c.as_i64().unwrap_or(1));
    prior.is_some_and(|p| {
        p.paged
            && p.record.version != inc.version()
            && !matches!(p.state(), Signl4State::Held | Signl4State::None)
            && count.is_none_or(|c| c > 0)
    })
}

/// Comments added in the portal to a paged Sentinel incident since the stored version become
/// annotations on its SIGNL4 alert — in each team it paged that has an API key, once per
/// comment: the incident's page (or the page it joined), or in per-alert mode each alert's
/// page (`members`: the incident's stored alert rows).
pub fn sentinel_portal_comments(
    tenant: &TenantConfig,
    ws: &SentinelConfig,
    inc: &Incident,
    prior: &StoredAlert,
    comments: &[Value],
    members: &[StoredAlert],
) -> Vec<crate::records::NewJob> {
    let Some(since) = crate::timefmt::parse(&prior.record.version).map(crate::timefmt::millis) else {
        return Vec::new();
    };
    let new = crate::comments::new_sentinel_comments(comments, since);
    let source = model::source(&ws.name);
    // (external id of the page, its routes)
    let mut pages: Vec<(String, Vec<String>)> = Vec::new();
    match (prior.state(), &prior.grouped_into) {
        (Signl4State::Grouped, Some(leader)) => pages.push((leader.clone(), prior.routes.clone())),
        _ if ws.page_per == PagePer::Alert && prior.episode == 0 => {
            for m in members.iter().filter(|m| m.paged && !matches!(m.state(), Signl4State::Held | Signl4State::None)) {
                let ext = ids::episode_external_id(&tenant.name, &m.record.source, &m.record.alert_id, m.episode);
                pages.push((ext, m.routes.clone()));
            }
        }
        _ => pages
            .push((ids::episode_external_id(&tenant.name, &source, &inc.name, prior.episode), prior.routes.clone())),
    }
    let mut jobs = Vec::new();
    for (ext, routes) in pages {
        let routes = if routes.is_empty() { vec![DEFAULT_ROUTE.to_string()] } else { routes };
        for r in routes.iter().filter(|r| route_named(tenant, r).signl4.api_key.is_some()) {
            for c in &new {
                let what = format!("{}:{}", inc.name, crate::comments::key(c));
                jobs.push(jobs::annotate(&tenant.name, &ext, r, &what, crate::comments::annotation(c)));
            }
        }
    }
    jobs
}

/// Before planning: the Defender XDR incident whose stored Graph rows may hold this incident's
/// twin page ([`Twin::find`]), when the incident would page now.
pub fn sentinel_twin_of<'a>(
    tenant: &TenantConfig,
    ws: &SentinelConfig,
    inc: &'a Incident,
    prior: Option<&StoredAlert>,
) -> Option<&'a str> {
    let first = !prior.is_some_and(|p| p.paged) && incident_pages(ws, inc);
    inc.xdr_id.as_deref().filter(|_| tenant.graph() && first)
}

/// The annotation that adds a Sentinel incident to the page its Graph twin made.
pub fn twin_annotation(ws: &SentinelConfig, inc: &Incident) -> String {
    let number = inc.number.as_deref().map(|n| format!(" #{n}")).unwrap_or_default();
    let mut t = format!(
        "{}Also in Microsoft Sentinel ({}) as incident{number}: [{}] {}",
        crate::signl4::event::OWN_ANNOTATION,
        ws.name,
        inc.severity.label(),
        inc.title
    );
    if let Some(u) = inc.portal_link() {
        t.push_str(&format!(". {u}"));
    }
    t
}

/// What to store for one Sentinel incident version: its row, its page (per incident) or its
/// alerts' rows and pages (per alert), and SIGNL4 closes for a close made in the portal.
/// `alerts`: the incident's alerts when [`sentinel_needs_alerts`]; `tracked`: the stored
/// alerts of the incident when [`sentinel_needs_tracked`]; `twin`: the page its Graph twin
/// made ([`sentinel_twin_of`], [`Twin::find`]) — then it does not page again but joins that
/// page. Items that change nothing are left out.
pub fn sentinel_incident(
    tenant: &TenantConfig,
    ws: &SentinelConfig,
    inc: &Incident,
    prior: Option<&StoredAlert>,
    alerts: Option<Vec<Value>>,
    tracked: &[StoredAlert],
    twin: Option<&Twin>,
) -> Vec<IngestItem> {
    let source = model::source(&ws.name);
    let record = AlertRecord {
        tenant: tenant.name.clone(),
        source: source.clone(),
        alert_id: inc.name.clone(),
        version: inc.version(),
        status: inc.status.clone(),
        severity: inc.severity.key().to_string(),
        // A Defender-synced incident is stored under its XDR id, so the Graph alerts of the
        // same incident find it (and it finds them): one page for both.
        incident_id: inc.xdr_id.clone(),
        raw: inc.raw.to_string(),
    };
    let mut items = Vec::new();
    let mut item = IngestItem::new(record, None);
    let ext = ids::external_id(&tenant.name, &source, &inc.name);
    let reopen_alerts = alerts.clone().filter(|_| sentinel_reopened(ws, inc, prior));
    let first = !prior.is_some_and(|p| p.paged) && incident_pages(ws, inc);
    if let Some(tw) = twin.filter(|_| first) {
        // Already paged through Graph: joins that page (an annotation where the team has an
        // API key); acknowledging or closing it there acts on this incident too.
        let text = twin_annotation(ws, inc);
        for r in tw.routes.iter().filter(|r| route_named(tenant, r).signl4.api_key.is_some()) {
            item.jobs.push(jobs::annotate(
                &tenant.name,
                &tw.leader,
                r,
                &format!("sentinel:{}", inc.name),
                text.clone(),
            ));
        }
        item.update.paged = Some(true);
        item.update.routes = Some(tw.routes.join(","));
        item.update.signl4_state = Some(Signl4State::Grouped.as_str().into());
        item.update.grouped_into = Some(tw.leader.clone());
        items.push(item);
        return items;
    }
    if let Some(alerts) = alerts.filter(|_| first) {
        let parsed: Vec<SentinelAlert> = alerts.iter().cloned().filter_map(SentinelAlert::from_json).collect();
        match ws.page_per {
            PagePer::Incident => {
                let targets =
                    routing::select(&tenant.routes, tenant.unrouted(), &Facts::sentinel(&ws.name, inc, &parsed, None));
                for (i, r) in targets.iter().enumerate() {
                    let job = SentinelPageJob {
                        workspace: ws.name.clone(),
                        incident: inc.raw.clone(),
                        alerts: alerts.clone(),
                        alert: None,
                        route: (!r.is_default()).then(|| r.name.clone()),
                        episode: 0,
                    };
                    let j = jobs::sentinel_page(&tenant.name, &ext, &job, i == 0);
                    if i == 0 {
                        item.page = Some(j);
                    } else {
                        item.more_pages.push(j);
                    }
                }
                if !targets.is_empty() {
                    item.update.routes = Some(route_names(&targets));
                }
            }
            PagePer::Alert => {
                // The incident row is marked paged; each alert gets its own row and page.
                item.update.paged = Some(true);
                for (a, sa) in alerts.iter().filter_map(|a| SentinelAlert::from_json(a.clone()).map(|sa| (a, sa))) {
                    let asrc = model::alert_source(&ws.name);
                    let aext = ids::external_id(&tenant.name, &asrc, &sa.system_alert_id);
                    let targets = routing::select(
                        &tenant.routes,
                        tenant.unrouted(),
                        &Facts::sentinel(&ws.name, inc, &parsed, Some(&sa)),
                    );
                    let rec = AlertRecord {
                        tenant: tenant.name.clone(),
                        source: asrc,
                        alert_id: sa.system_alert_id.clone(),
                        version: inc.version(),
                        status: "New".into(),
                        severity: sa.severity.key().to_string(),
                        incident_id: Some(inc.name.clone()),
                        raw: a.to_string(),
                    };
                    let mut pages = targets.iter().enumerate().map(|(i, r)| {
                        let job = SentinelPageJob {
                            workspace: ws.name.clone(),
                            incident: inc.raw.clone(),
                            alerts: alerts.clone(),
                            alert: Some(a.clone()),
                            route: (!r.is_default()).then(|| r.name.clone()),
                            episode: 0,
                        };
                        jobs::sentinel_page(&tenant.name, &aext, &job, i == 0)
                    });
                    let mut it = IngestItem::new(rec, pages.next());
                    it.more_pages.extend(pages);
                    if !targets.is_empty() {
                        it.update.routes = Some(route_names(&targets));
                    }
                    items.push(it);
                }
            }
        }
    }
    // Closed in the portal (not by us) → close in SIGNL4.
    if let Some(p) = prior.filter(|p| p.paged && p.record.version != inc.version()) {
        if let Some(alerts) = reopen_alerts {
            // Reopened: paged again once per reopening, marked, as a new SIGNL4 alert.
            let parsed: Vec<SentinelAlert> = alerts.iter().cloned().filter_map(SentinelAlert::from_json).collect();
            let episode = p.episode + 1;
            let targets =
                routing::select(&tenant.routes, tenant.unrouted(), &Facts::sentinel(&ws.name, inc, &parsed, None));
            let eext = ids::episode_external_id(&tenant.name, &source, &inc.name, episode);
            for (i, r) in targets.iter().enumerate() {
                let job = SentinelPageJob {
                    workspace: ws.name.clone(),
                    incident: inc.raw.clone(),
                    alerts: alerts.clone(),
                    alert: None,
                    route: (!r.is_default()).then(|| r.name.clone()),
                    episode,
                };
                item.jobs.push(jobs::sentinel_page(&tenant.name, &eext, &job, i == 0));
            }
            if !targets.is_empty() {
                reopen_item(&mut item, episode, &targets);
            }
            items.push(item);
            return items;
        }
        let ext = ids::episode_external_id(&tenant.name, &source, &inc.name, p.episode);
        match ws.page_per {
            PagePer::Incident => {
                let action = sync::portal_change(
                    p.state(),
                    p.written_status.as_deref(),
                    &inc.as_alert_status(),
                    tenant.sync.ack_on_in_progress,
                );
                if let Some(action) = action {
                    portal_item(&mut item, &tenant.name, &ext, &p.routes, action);
                }
            }
            PagePer::Alert => {
                // Reopened before: the incident's own page follows the portal like per-incident.
                if p.episode > 0 {
                    let action = sync::portal_change(
                        p.state(),
                        p.written_status.as_deref(),
                        &inc.as_alert_status(),
                        tenant.sync.ack_on_in_progress,
                    );
                    if let Some(action) = action {
                        portal_item(&mut item, &tenant.name, &ext, &p.routes, action);
                    }
                }
                if inc.status == "Closed" {
                    items.extend(incident_closes(&tenant.name, "resolved", tracked));
                }
            }
        }
    }
    if !unchanged(prior, &item) {
        items.push(item);
    }
    items
}

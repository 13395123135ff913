//! The ingest decision: for each version read from a source, what to store, whether it pages,
//! and which SIGNL4 changes a portal edit causes. Pure; sources store what these return.

/// Runs one item's decision; a panic (a bug, or input no test foresaw) becomes an error text
/// instead of failing the whole page: the caller quarantines the item
/// ([`crate::records::QuarantineItem`]) and goes on with the rest. State `f` borrows mutably
/// (e.g. a [`GroupBook`]) may hold part of the item's changes after a panic; it only groups
/// later items of the same page.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        format!("internal error (panic): {msg}")
    })
}

use serde_json::Value;

use crate::alert::{AlertStatus, GraphAlert};
use std::collections::HashMap;

use crate::alert::Severity;
use crate::config::{GroupBy, PagePer, Route, SentinelConfig, TenantConfig};
use crate::filter::Skip;
use crate::ids::{self, SOURCE_GRAPH_ALERT};
use crate::jobs::{self, SentinelPageJob};
use crate::records::{AlertRecord, AlertUpdate, IngestItem, StoredAlert};
use crate::routing::{self, DEFAULT_ROUTE, Facts};
use crate::sentinel::{self as model, Incident, SentinelAlert};
use crate::signl4_payload;
use crate::sync::{self, PortalAction, Signl4State};

/// A change made in the portal that must reach SIGNL4: the status jobs (one per team the
/// alert paged, `routes`) and the state to record.
fn portal_item(item: &mut IngestItem, tenant: &str, external_id: &str, routes: &[String], action: PortalAction) {
    let (status, new_state) = match action {
        PortalAction::Resolve => ("resolved", Signl4State::ClosedByPortal),
        PortalAction::Acknowledge => ("acknowledged", Signl4State::AcknowledgedByPortal),
    };
    item.jobs.extend(jobs::signl4_status_routes(tenant, external_id, status, routes));
    item.update.signl4_state = Some(new_state.as_str().into());
}

/// The route names to record with a page (`AlertUpdate::routes`).
fn route_names(targets: &[&Route]) -> String {
    targets.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(",")
}

/// The incident pages already made (stored, or planned earlier in the same batch), per Graph
/// incident and route: the external id of the alert that paged for the incident (its leader)
/// and the highest severity paged in it so far (`group = "incident"`).
#[derive(Debug, Default, Clone)]
pub struct GroupBook {
    groups: HashMap<(String, String), Group>,
    twins: HashMap<String, Twin>,
}

/// The page the *other* source made for the same Defender XDR incident: a Sentinel incident
/// of a workspace onboarded to the Defender portal and its Graph security incident are one
/// incident seen twice, and page once (whichever source sees it first). `leader`: the external
/// id of that page; `routes`: the teams it went to; `max_rank`: the highest severity paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twin {
    pub leader: String,
    pub routes: Vec<String>,
    pub max_rank: u8,
}

impl Twin {
    /// The twin page among the stored rows of one XDR incident (`incident_alerts`), as seen
    /// by a source reading `from_source`: a paged row of the other kind of source — Graph
    /// alerts for a Sentinel incident, a Sentinel incident for a Graph alert. A row held back
    /// or grouped into another page does not lead; a grouped Graph alert points at its leader.
    pub fn find(tenant: &str, from_source: &str, stored: &[StoredAlert]) -> Option<Twin> {
        let from_sentinel = from_source.starts_with("sentinel");
        let mut twin: Option<Twin> = None;
        for a in stored.iter().filter(|a| a.paged) {
            let other = match from_sentinel {
                true => a.record.source == SOURCE_GRAPH_ALERT,
                false => a.record.source.starts_with("sentinel.") && a.record.source != from_source,
            };
            let state = a.state();
            if !other || matches!(state, Signl4State::Held | Signl4State::None) {
                continue;
            }
            let leader = match (&a.grouped_into, state) {
                (Some(l), _) => l.clone(),
                (None, Signl4State::Grouped) => continue,
                (None, _) => ids::external_id(tenant, &a.record.source, &a.record.alert_id),
            };
            let rank = Severity::parse(&a.record.severity).rank();
            let routes = if a.routes.is_empty() { vec![DEFAULT_ROUTE.to_string()] } else { a.routes.clone() };
            match &mut twin {
                Some(t) => t.max_rank = t.max_rank.max(rank),
                None => twin = Some(Twin { leader, routes, max_rank: rank }),
            }
        }
        twin
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub leader: String,
    pub max_rank: u8,
}

impl GroupBook {
    /// Learns the groups of stored alerts (a store's `incident_alerts`): a leader is grouped
    /// into its own page; every paged alert of the incident counts for its severity.
    pub fn add_stored(&mut self, tenant: &str, alerts: &[StoredAlert]) {
        let rank = |a: &StoredAlert| Severity::parse(&a.record.severity).rank();
        for a in alerts {
            let (Some(leader), Some(inc)) = (&a.grouped_into, &a.record.incident_id) else { continue };
            if *leader != ids::external_id(tenant, &a.record.source, &a.record.alert_id) {
                continue;
            }
            let routes = if a.routes.is_empty() { vec![DEFAULT_ROUTE.to_string()] } else { a.routes.clone() };
            for r in routes {
                let g = self.groups.entry((inc.clone(), r)).or_insert(Group { leader: leader.clone(), max_rank: 0 });
                g.max_rank = g.max_rank.max(rank(a));
            }
        }
        // The incident's severity so far: the highest of its alerts that paged or were grouped.
        for a in alerts.iter().filter(|a| a.paged) {
            let Some(inc) = &a.record.incident_id else { continue };
            for ((i, _), g) in self.groups.iter_mut() {
                if i == inc {
                    g.max_rank = g.max_rank.max(rank(a));
                }
            }
        }
    }

    pub fn get(&self, incident: &str, route: &str) -> Option<&Group> {
        self.groups.get(&(incident.to_string(), route.to_string()))
    }

    /// Learns the Sentinel twin page of a Graph incident from its stored rows.
    pub fn add_twin(&mut self, tenant: &str, incident: &str, stored: &[StoredAlert]) {
        if let Some(t) = Twin::find(tenant, SOURCE_GRAPH_ALERT, stored) {
            self.twins.insert(incident.to_string(), t);
        }
    }

    pub fn twin(&self, incident: &str) -> Option<&Twin> {
        self.twins.get(incident)
    }
}

/// Whether the tenant's Graph alerts can have a Sentinel twin (a workspace is configured).
pub fn may_have_twins(tenant: &TenantConfig) -> bool {
    tenant.graph && !tenant.sentinel.is_empty()
}

/// The route named `name` (the default route for any name it does not know).
fn route_named<'a>(tenant: &'a TenantConfig, name: &str) -> &'a Route {
    tenant.routes.iter().find(|x| x.name == name).unwrap_or(&tenant.default_route)
}

/// Whether any route of the tenant (its own team included) pages once per incident.
pub fn groups_incidents(tenant: &TenantConfig) -> bool {
    tenant.default_route.signl4.group == GroupBy::Incident
        || tenant.routes.iter().any(|r| r.signl4.group == GroupBy::Incident)
}

/// The annotation that adds a grouped alert to its incident's page.
pub fn grouped_annotation(alert: &GraphAlert, incident: &str, rose: bool) -> String {
    let mut t = format!(
        "{}Also in incident {incident}: [{}] {}",
        crate::signl4_event::OWN_ANNOTATION,
        alert.severity.label(),
        alert.title
    );
    let product = alert.product_name.clone().unwrap_or_else(|| alert.service_source.clone());
    if !product.is_empty() {
        t.push_str(&format!(" ({product})"));
    }
    let ev = &alert.evidence;
    let entities: Vec<&String> = ev.devices.iter().chain(&ev.users).chain(&ev.ips).take(3).collect();
    if !entities.is_empty() {
        t.push_str(&format!(" on {}", entities.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
    }
    if rose {
        t.push_str(&format!(" — the incident's severity rose to {}", alert.severity.label()));
    }
    if let Some(u) = &alert.alert_web_url {
        t.push_str(&format!(". {u}"));
    }
    t
}

/// What to store for one Graph alert version, whether it pages, and — for an alert paged
/// before (`prior`) — whether a change made in the portal must reach SIGNL4.
pub fn graph_alert(tenant: &TenantConfig, alert: &GraphAlert, prior: Option<&StoredAlert>) -> IngestItem {
    graph_alert_grouped(tenant, alert, prior, &mut GroupBook::default())
}

/// [`graph_alert`] for routes that page once per incident (`group = "incident"`): the first
/// alert of an incident pages and becomes its group's leader (in `groups`); a later one is
/// added to the leader's page — an annotation when the team has an API key, else a page of its
/// own only when it raises the incident's severity — and is marked grouped.
pub fn graph_alert_grouped(
    tenant: &TenantConfig,
    alert: &GraphAlert,
    prior: Option<&StoredAlert>,
    groups: &mut GroupBook,
) -> IngestItem {
    // Already paged: never again (and no need to build the page).
    let pages = !prior.is_some_and(|p| p.paged) && tenant.filter.check(alert).is_ok();
    let record = AlertRecord {
        tenant: tenant.name.clone(),
        source: SOURCE_GRAPH_ALERT.into(),
        alert_id: alert.id.clone(),
        version: alert.version(),
        status: alert.status.as_str().to_string(),
        severity: alert.severity.key().to_string(),
        incident_id: alert.incident_id.clone(),
        raw: alert.raw.to_string(),
    };
    let targets = if pages { routing::select(tenant, &Facts::graph(alert)) } else { Vec::new() };
    let own_ext = ids::external_id(&tenant.name, SOURCE_GRAPH_ALERT, &alert.id);
    let rank = alert.severity.rank();
    // The same incident already paged through its Sentinel twin: this alert joins that page.
    if pages
        && let Some(inc) = alert.incident_id.as_deref()
        && let Some(tw) = groups.twins.get_mut(inc)
    {
        let rose = rank > tw.max_rank;
        let annotated: Vec<&String> =
            tw.routes.iter().filter(|r| route_named(tenant, r).signl4.api_key.is_some()).collect();
        // Without an API key it can only page on its own, and does so when the incident got worse.
        if !(annotated.is_empty() && rose) {
            tw.max_rank = tw.max_rank.max(rank);
            let mut item = IngestItem::new(record, None);
            let text = grouped_annotation(alert, inc, rose);
            item.jobs
                .extend(annotated.iter().map(|r| jobs::annotate(&tenant.name, &tw.leader, r, &alert.id, text.clone())));
            item.update.routes = Some(tw.routes.join(","));
            item.update.paged = Some(true);
            item.update.signl4_state = Some(Signl4State::Grouped.as_str().into());
            item.update.grouped_into = Some(tw.leader.clone());
            return item;
        }
        tw.max_rank = rank;
    }
    let mut paged_on: Vec<&Route> = Vec::new();
    let mut grouped_on: Vec<&Route> = Vec::new();
    let mut page_jobs = Vec::new();
    let mut annotations = Vec::new();
    let mut grouped_into = None;
    for r in &targets {
        let mut p = signl4_payload::graph_alert_page(&tenant.name, alert, &r.signl4);
        if let (GroupBy::Incident, Some(inc)) = (r.signl4.group, alert.incident_id.as_deref()) {
            let key = (inc.to_string(), r.name.clone());
            match groups.groups.get_mut(&key) {
                Some(g) => {
                    let rose = rank > g.max_rank;
                    g.max_rank = g.max_rank.max(rank);
                    if r.signl4.api_key.is_some() {
                        let text = grouped_annotation(alert, inc, rose);
                        annotations.push(jobs::annotate(&tenant.name, &g.leader, &r.name, &alert.id, text));
                    } else if rose {
                        // No API key to add it to the incident's page: the incident got worse,
                        // so this alert pages on its own, once.
                        p.body.insert(
                            "Incident severity rose".into(),
                            Value::from(format!(
                                "to {}: earlier alerts of incident {inc} were paged as one",
                                alert.severity.label()
                            )),
                        );
                        page_jobs.push((p, *r));
                        paged_on.push(*r);
                        continue;
                    }
                    grouped_into.get_or_insert_with(|| g.leader.clone());
                    grouped_on.push(*r);
                    continue;
                }
                None => {
                    groups.groups.insert(key, Group { leader: own_ext.clone(), max_rank: rank });
                    grouped_into = Some(own_ext.clone());
                    p.body.insert(
                        "Grouping".into(),
                        Value::from(format!("one page for incident {inc}: its later alerts are added to this alert")),
                    );
                }
            }
        }
        page_jobs.push((p, *r));
        paged_on.push(*r);
    }
    let mut pages = page_jobs
        .into_iter()
        .enumerate()
        .map(|(i, (p, r))| jobs::route_page(&tenant.name, &p.external_id, p.body, &r.name, i == 0));
    let mut item = IngestItem::new(record, pages.next());
    item.more_pages.extend(pages);
    item.jobs.extend(annotations);
    if !paged_on.is_empty() {
        item.update.routes = Some(route_names(&paged_on));
    } else if !grouped_on.is_empty() {
        // Not paged on its own anywhere: it stands in its incident's page.
        item.update.routes = Some(route_names(&grouped_on));
        item.update.paged = Some(true);
        item.update.signl4_state = Some(Signl4State::Grouped.as_str().into());
    }
    item.update.grouped_into = grouped_into;
    if let Some(prior) = prior.filter(|p| p.paged && p.record.version != item.alert.version) {
        item.jobs.extend(portal_comments(tenant, alert, prior));
        let was = AlertStatus::parse(&prior.record.status);
        // Reopened: paged again, once per reopening, as a new SIGNL4 alert — if it would page
        // now (its status aside: a reopened alert may be set to in progress).
        let would_page = !matches!(tenant.filter.check(alert), Err(Skip::Severity | Skip::ServiceSource));
        if would_page && sync::reopened(&was, &alert.status, prior.written_status.as_deref()) {
            let episode = prior.episode + 1;
            let targets = routing::select(tenant, &Facts::graph(alert));
            for (i, r) in targets.iter().enumerate() {
                let p = signl4_payload::graph_alert_page(&tenant.name, alert, &r.signl4).reopened(episode);
                item.jobs.push(jobs::route_page(&tenant.name, &p.external_id, p.body, &r.name, i == 0));
            }
            if !targets.is_empty() {
                reopen_item(&mut item, episode, &targets);
            }
            return item;
        }
        let action = sync::portal_change(
            prior.state(),
            prior.written_status.as_deref(),
            &alert.status,
            tenant.sync.ack_on_in_progress,
        );
        if let Some(action) = action {
            let ext = ids::episode_external_id(&tenant.name, SOURCE_GRAPH_ALERT, &alert.id, prior.episode);
            portal_item(&mut item, &tenant.name, &ext, &prior.routes, action);
        }
    }
    item
}

/// Comments added in the portal since the version stored before (`prior`) become annotations
/// on the alert's SIGNL4 alert — in each team it paged that has an API key, once per comment;
/// a grouped alert's go to its incident's page.
fn portal_comments(tenant: &TenantConfig, alert: &GraphAlert, prior: &StoredAlert) -> Vec<crate::records::NewJob> {
    let state = prior.state();
    if matches!(state, Signl4State::Held | Signl4State::None) {
        return Vec::new();
    }
    let Some(since) = crate::timefmt::parse(&prior.record.version).map(crate::timefmt::millis) else {
        return Vec::new();
    };
    let new = crate::comments::new_comments(&alert.raw, since);
    if new.is_empty() {
        return Vec::new();
    }
    let ext = match (state, &prior.grouped_into) {
        (Signl4State::Grouped, Some(leader)) => leader.clone(),
        _ => ids::episode_external_id(&tenant.name, SOURCE_GRAPH_ALERT, &alert.id, prior.episode),
    };
    let routes = if prior.routes.is_empty() { vec![DEFAULT_ROUTE.to_string()] } else { prior.routes.clone() };
    let mut jobs = Vec::new();
    for r in &routes {
        let route = tenant.routes.iter().find(|x| x.name == *r).unwrap_or(&tenant.default_route);
        if route.signl4.api_key.is_none() {
            continue;
        }
        for c in &new {
            let what = format!("{}:{}", alert.id, crate::comments::key(c));
            jobs.push(jobs::annotate(&tenant.name, &ext, r, &what, crate::comments::annotation(c)));
        }
    }
    jobs
}

/// Bookkeeping of a reopening: the new episode, its routes, the SIGNL4 alert open again.
fn reopen_item(item: &mut IngestItem, episode: i64, targets: &[&Route]) {
    item.update.episode = Some(episode);
    item.update.routes = Some(route_names(targets));
    item.update.signl4_state = Some(Signl4State::Open.as_str().into());
    // What we wrote before the reopening is history: a later resolve in the portal is not an
    // echo of it (the store keeps a written status once set, so this marks "nothing since").
    item.update.written_status = Some("reopened".into());
}

/// True when `item` would change nothing in the store: same version, nothing to page that
/// was not paged, no jobs, no bookkeeping. Such re-reads need no write transaction.
pub fn unchanged(prior: Option<&StoredAlert>, item: &IngestItem) -> bool {
    prior.is_some_and(|p| {
        p.record.version == item.alert.version
            && (item.page.is_none() || p.paged)
            && item.jobs.is_empty()
            && item.update == AlertUpdate::default()
    })
}

/// An incident closed in the portal (`status` resolved / redirected) closes the SIGNL4 alerts
/// of its tracked alerts that are still open there and that we did not close ourselves.
pub fn incident_closes(tenant: &str, status: &str, tracked: &[StoredAlert]) -> Vec<IngestItem> {
    tracked
        .iter()
        .filter(|a| sync::incident_closes_alert(status, a.state(), a.written_status.as_deref()))
        // A reopened alert still open in the portal: the incident's resolution is older than
        // the reopening (the alert's own resolve, when it comes, closes it).
        .filter(|a| !(a.episode > 0 && matches!(a.record.status.as_str(), "new" | "inProgress")))
        .map(|a| {
            let ext = ids::episode_external_id(tenant, &a.record.source, &a.record.alert_id, a.episode);
            let mut it = IngestItem::new(a.record.clone(), None);
            portal_item(&mut it, tenant, &ext, &a.routes, PortalAction::Resolve);
            it
        })
        .collect()
}

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
    inc.xdr_id.as_deref().filter(|_| tenant.graph && first)
}

/// The annotation that adds a Sentinel incident to the page its Graph twin made.
pub fn twin_annotation(ws: &SentinelConfig, inc: &Incident) -> String {
    let number = inc.number.as_deref().map(|n| format!(" #{n}")).unwrap_or_default();
    let mut t = format!(
        "{}Also in Microsoft Sentinel ({}) as incident{number}: [{}] {}",
        crate::signl4_event::OWN_ANNOTATION,
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
                let targets = routing::select(tenant, &Facts::sentinel(&ws.name, inc, &parsed, None));
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
                    let targets = routing::select(tenant, &Facts::sentinel(&ws.name, inc, &parsed, Some(&sa)));
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
            let targets = routing::select(tenant, &Facts::sentinel(&ws.name, inc, &parsed, None));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProcessEnv, load};
    use serde_json::json;

    fn tenant() -> TenantConfig {
        load(crate::config::example(), &ProcessEnv).unwrap().tenants.remove(0)
    }

    #[test]
    fn paging_alerts_carry_a_page_job_keyed_by_external_id() {
        let t = tenant();
        let a = GraphAlert::from_json(
            json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "high", "status": "new"}),
        )
        .unwrap();
        let item = graph_alert(&t, &a, None);
        assert_eq!(item.alert.version, "2026-11-28T10:00:00.0000000Z");
        let job = item.page.unwrap();
        assert_eq!(job.key, "page:s4s:contoso:graph-alert:a1");
        let body = serde_json::from_str::<jobs::PageJob>(&job.payload).unwrap().body;
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
            routes: vec![],
            episode: 0,
            grouped_into: None,
            acknowledged_by: None,
            acknowledged_ms: None,
        }
    }

    #[test]
    fn a_portal_resolve_closes_the_signl4_alert_but_our_own_echo_does_not() {
        let t = tenant();
        let a = GraphAlert::from_json(
            json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T11:00:00Z", "severity": "high", "status": "resolved"}),
        )
        .unwrap();
        let item = graph_alert(&t, &a, Some(&stored("acknowledged", Some("inProgress"))));
        assert_eq!(item.jobs.len(), 1);
        assert_eq!(item.jobs[0].key, "s4status:resolved:s4s:contoso:graph-alert:a1");
        let body: serde_json::Value = serde_json::from_str(&item.jobs[0].payload).unwrap();
        assert_eq!(body, json!({"X-S4-ExternalID": "s4s:contoso:graph-alert:a1", "X-S4-Status": "resolved"}));
        assert_eq!(item.update.signl4_state.as_deref(), Some("closed_by_portal"));
        // We resolved it ourselves (SIGNL4 close → Graph): no echo back to SIGNL4.
        assert!(graph_alert(&t, &a, Some(&stored("closed", Some("resolved")))).jobs.is_empty());
        // Same version seen again (overlap re-read): nothing.
        let mut same = stored("open", None);
        same.record.version = a.version();
        assert!(graph_alert(&t, &a, Some(&same)).jobs.is_empty());
    }

    #[test]
    fn filtered_alerts_are_stored_without_a_page() {
        let t = tenant();
        let a = GraphAlert::from_json(
            json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "informational"}),
        )
        .unwrap();
        let item = graph_alert(&t, &a, None);
        assert!(item.page.is_none());
        assert_eq!(item.alert.severity, "informational");
    }

    #[test]
    fn a_closed_incident_closes_only_alerts_still_open_in_signl4() {
        let open = stored("open", None);
        let ours = stored("closed", Some("resolved"));
        let items = incident_closes("contoso", "resolved", &[open, ours]);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].jobs[0].key, "s4status:resolved:s4s:contoso:graph-alert:a1");
        assert_eq!(items[0].update.signl4_state.as_deref(), Some("closed_by_portal"));
    }

    #[test]
    fn sentinel_incidents_page_once_per_incident_and_unchanged_rereads_write_nothing() {
        let cfg = tenant();
        let ws = cfg.sentinel[0].clone();
        let inc = Incident::from_json(json!({
            "name": "inc-1",
            "properties": {"title": "t", "severity": "High", "status": "New", "incidentNumber": 7,
                            "lastModifiedTimeUtc": "2026-11-28T10:00:00Z"}
        }))
        .unwrap();
        assert!(sentinel_needs_alerts(&ws, &inc, None));
        let items = sentinel_incident(&cfg, &ws, &inc, None, Some(vec![]), &[], None);
        assert_eq!(items.len(), 1);
        assert!(items[0].page.as_ref().unwrap().key.starts_with("page:s4s:contoso:sentinel."));
        let mut prior = stored("open", None);
        prior.record.version = inc.version();
        assert!(!sentinel_needs_alerts(&ws, &inc, Some(&prior)));
        assert!(sentinel_incident(&cfg, &ws, &inc, Some(&prior), None, &[], None).is_empty());
    }

    fn xdr_incident(name: &str, xdr: &str) -> Incident {
        Incident::from_json(json!({
            "name": name,
            "properties": {"title": "Multi-stage incident", "severity": "High", "status": "New", "incidentNumber": 9,
                           "providerName": "Microsoft XDR", "providerIncidentId": xdr,
                           "lastModifiedTimeUtc": "2026-11-28T10:00:00Z"}
        }))
        .unwrap()
    }

    #[test]
    fn the_xdr_id_of_a_sentinel_incident_is_read_from_the_provider_or_its_defender_link() {
        let p = |props: Value| Incident::xdr_incident_id(&json!({"properties": props}));
        assert_eq!(p(json!({"providerName": "Microsoft XDR", "providerIncidentId": "2972"})).as_deref(), Some("2972"));
        assert_eq!(
            p(json!({"providerName": "Microsoft 365 Defender", "providerIncidentId": "15"})).as_deref(),
            Some("15")
        );
        // Sentinel's own incidents number themselves: not a Graph incident id.
        assert_eq!(p(json!({"providerName": "Azure Sentinel", "providerIncidentId": "3177"})), None);
        let url = json!({"providerName": "Azure Sentinel", "additionalData":
            {"providerIncidentUrl": "https://security.microsoft.com/incidents/88?tid=72f988bf"}});
        assert_eq!(p(url).as_deref(), Some("88"));
        let elsewhere = json!({"additionalData": {"providerIncidentUrl": "https://example.com/incidents/88"}});
        assert_eq!(p(elsewhere), None);
    }

    #[test]
    fn a_defender_incident_seen_through_graph_and_sentinel_pages_once_whichever_comes_first() {
        let mut t = tenant();
        t.default_route.signl4.api_key = Some(secrecy::SecretString::from("key-0123456789"));
        let ws = t.sentinel[0].clone();
        let alert = |id: &str, sev: &str| {
            GraphAlert::from_json(json!({"id": id, "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": sev,
                "status": "new", "incidentId": "2972", "title": "Suspicious sign-in"}))
            .unwrap()
        };
        // Graph first: its alert paged; the Sentinel incident finds that page and joins it.
        let mut graph_row = stored("open", None);
        graph_row.record.incident_id = Some("2972".into());
        let twin = Twin::find("contoso", &model::source(&ws.name), &[graph_row]).unwrap();
        assert_eq!(twin.leader, "s4s:contoso:graph-alert:a1");
        let inc = xdr_incident("inc-1", "2972");
        assert_eq!(sentinel_twin_of(&t, &ws, &inc, None), Some("2972"));
        let items = sentinel_incident(&t, &ws, &inc, None, Some(vec![]), &[], Some(&twin));
        assert_eq!(items.len(), 1);
        let it = &items[0];
        assert!(it.page.is_none() && it.more_pages.is_empty(), "no second page");
        assert_eq!(it.alert.incident_id.as_deref(), Some("2972"));
        assert_eq!(it.update.signl4_state.as_deref(), Some("grouped"));
        assert_eq!(it.update.grouped_into.as_deref(), Some("s4s:contoso:graph-alert:a1"));
        assert_eq!(it.jobs.len(), 1, "an annotation on the Graph page");
        let note: Value = serde_json::from_str(&it.jobs[0].payload).unwrap();
        assert!(note["text"].as_str().unwrap().contains("Also in Microsoft Sentinel (soc) as incident #9"), "{note}");
        // Sentinel first: its incident row (stored under the XDR id) is the twin of the alerts.
        let mut sentinel_row = stored("open", None);
        sentinel_row.record.source = model::source(&ws.name);
        sentinel_row.record.alert_id = "inc-1".into();
        sentinel_row.record.incident_id = Some("2972".into());
        let mut book = GroupBook::default();
        book.add_twin("contoso", "2972", &[sentinel_row]);
        let item = graph_alert_grouped(&t, &alert("a1", "high"), None, &mut book);
        assert!(item.page.is_none(), "the incident already paged through Sentinel");
        assert_eq!(item.update.grouped_into.as_deref(), Some("s4s:contoso:sentinel.soc:inc-1"));
        assert_eq!(item.update.paged, Some(true));
        assert_eq!(item.jobs[0].key, "annotate:s4s:contoso:sentinel.soc:inc-1:a1@default");
        // An alert of another incident pages as always.
        let other = GraphAlert::from_json(json!({"id": "a9", "lastUpdateDateTime": "2026-11-28T10:00:00Z",
            "severity": "high", "status": "new", "incidentId": "1"}))
        .unwrap();
        assert!(graph_alert_grouped(&t, &other, None, &mut book).page.is_some());
        // A Sentinel-native incident has no twin to look for.
        let native = Incident::from_json(json!({"name": "inc-2", "properties": {"title": "t", "severity": "High",
            "status": "New", "providerName": "Azure Sentinel", "providerIncidentId": "4",
            "lastModifiedTimeUtc": "2026-11-28T10:00:00Z"}}))
        .unwrap();
        assert_eq!(sentinel_twin_of(&t, &ws, &native, None), None);
    }

    #[test]
    fn a_routed_alert_pages_each_team_once_and_a_portal_resolve_closes_it_in_each() {
        let text = crate::config::example().replace(
            "[tenant.sync]",
            "[[tenant.route]]\nname = \"endpoint\"\nteam_secret = \"team-endpoint\"\ncontinue = true\n[tenant.route.match]\nproduct = [\"microsoftDefenderForEndpoint\"]\n\n[[tenant.route]]\nname = \"high\"\nteam_secret = \"team-high\"\n[tenant.route.match]\nmin_severity = \"high\"\n\n[tenant.sync]",
        );
        let t = load(&text, &ProcessEnv).unwrap().tenants.remove(0);
        let a =
            GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": "high",
            "status": "new", "serviceSource": "microsoftDefenderForEndpoint"}))
            .unwrap();
        let item = graph_alert(&t, &a, None);
        let page = item.page.as_ref().unwrap();
        assert_eq!(page.key, "page:s4s:contoso:graph-alert:a1");
        let body: jobs::PageJob = serde_json::from_str(&page.payload).unwrap();
        assert_eq!(body.route(), "endpoint");
        assert_eq!(item.more_pages.len(), 1);
        assert_eq!(item.more_pages[0].key, "page:s4s:contoso:graph-alert:a1@high");
        assert_eq!(item.update.routes.as_deref(), Some("endpoint,high"));
        // Resolved in the portal: both teams' SIGNL4 alerts close.
        let resolved = GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": "2026-11-28T11:00:00Z",
            "severity": "high", "status": "resolved", "serviceSource": "microsoftDefenderForEndpoint"}))
        .unwrap();
        let mut prior = stored("open", None);
        prior.routes = vec!["endpoint".into(), "high".into()];
        let item = graph_alert(&t, &resolved, Some(&prior));
        let keys: Vec<&str> = item.jobs.iter().map(|j| j.key.as_str()).collect();
        assert_eq!(
            keys,
            ["s4status:resolved:s4s:contoso:graph-alert:a1", "s4status:resolved:s4s:contoso:graph-alert:a1@high"]
        );
        let second: serde_json::Value = serde_json::from_str(&item.jobs[1].payload).unwrap();
        assert_eq!(second[jobs::ROUTE_FIELD], "high");
        // Paged before routes existed (no routes recorded): the tenant's own team, as before.
        let item = graph_alert(&t, &resolved, Some(&stored("open", None)));
        let body: serde_json::Value = serde_json::from_str(&item.jobs[0].payload).unwrap();
        assert!(body.get(jobs::ROUTE_FIELD).is_none());
    }

    #[test]
    fn a_reopened_alert_pages_once_more_marked_and_its_next_resolve_closes_the_new_signl4_alert() {
        let t = tenant();
        let v = |at: &str, status: &str| {
            GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": at, "severity": "high", "status": status}))
                .unwrap()
        };
        // Closed in SIGNL4, written back as resolved; now set back to new in the portal.
        let mut prior = stored("closed", Some("resolved"));
        prior.record.status = "resolved".into();
        let item = graph_alert(&t, &v("2026-11-28T12:00:00Z", "new"), Some(&prior));
        assert!(item.page.is_none(), "not the first page");
        assert_eq!(item.jobs.len(), 1);
        assert_eq!(item.jobs[0].key, "page:s4s:contoso:graph-alert:a1~reopen1");
        let body = serde_json::from_str::<jobs::PageJob>(&item.jobs[0].payload).unwrap().body;
        assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a1~reopen1");
        assert!(body["Title"].as_str().unwrap().starts_with("[Reopened] "));
        assert!(body["Reopened"].as_str().unwrap().contains("reopened once"));
        assert_eq!(item.update.episode, Some(1));
        assert_eq!(item.update.signl4_state.as_deref(), Some("open"));
        // The reopened version seen again: nothing (its stored status is open now).
        let mut now = stored("open", Some("reopened"));
        now.record.status = "new".into();
        now.episode = 1;
        assert!(graph_alert(&t, &v("2026-11-28T12:00:00Z", "new"), Some(&now)).jobs.is_empty());
        // Resolved in the portal again: the reopened SIGNL4 alert closes.
        let item = graph_alert(&t, &v("2026-11-28T13:00:00Z", "resolved"), Some(&now));
        assert_eq!(item.jobs[0].key, "s4status:resolved:s4s:contoso:graph-alert:a1~reopen1");
        // Our own write coming back is not a reopening.
        let mut ours = stored("acknowledged", Some("inProgress"));
        ours.record.status = "resolved".into();
        assert!(graph_alert(&t, &v("2026-11-28T14:00:00Z", "inProgress"), Some(&ours)).jobs.is_empty());
        // External ids of episodes parse back to the alert.
        let e = crate::ids::ExternalId::parse("s4s:contoso:graph-alert:a1~reopen1").unwrap();
        assert_eq!((e.id.as_str(), e.episode), ("a1", 1));
    }

    fn incident_alert(id: &str, sev: &str) -> GraphAlert {
        GraphAlert::from_json(json!({"id": id, "lastUpdateDateTime": "2026-11-28T10:00:00Z", "severity": sev,
            "status": "new", "incidentId": "77", "title": format!("Alert {id}"), "serviceSource": "microsoftDefenderForEndpoint",
            "evidence": [{"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "ws-1"}]}))
        .unwrap()
    }

    /// As the store would return the row after ingesting `item`.
    fn as_stored(item: &IngestItem) -> StoredAlert {
        let mut s = stored(item.update.signl4_state.as_deref().unwrap_or("open"), None);
        s.record = item.alert.clone();
        s.routes = item.update.routes.clone().map(|r| r.split(',').map(str::to_string).collect()).unwrap_or_default();
        s.grouped_into = item.update.grouped_into.clone();
        s
    }

    #[test]
    fn a_portal_comment_becomes_one_annotation_in_each_team_with_an_api_key() {
        let mut t = tenant();
        let mut prior = stored("open", None);
        prior.record.version = "2026-12-01T10:00:00.0000000Z".into();
        let a = |comments: Value| {
            GraphAlert::from_json(json!({"id": "a1", "lastUpdateDateTime": "2026-12-01T10:05:00Z", "severity": "high",
                "status": "new", "comments": comments}))
            .unwrap()
        };
        let human = json!([{"comment": "Isolated the device", "createdByDisplayName": "Megan Bowen", "createdDateTime": "2026-12-01T10:04:00Z"},
            {"comment": "Acknowledged in SIGNL4 by rene. [SIGNL4 ack:1]", "createdDateTime": "2026-12-01T10:03:00Z"}]);
        assert!(
            graph_alert(&t, &a(human.clone()), Some(&prior)).jobs.is_empty(),
            "no API key: nothing to annotate with"
        );
        t.default_route.signl4.api_key = Some(secrecy::SecretString::from("k"));
        let item = graph_alert(&t, &a(human.clone()), Some(&prior));
        assert_eq!(item.jobs.len(), 1, "{:?}", item.jobs);
        let job: crate::jobs::AnnotateJob = serde_json::from_str(&item.jobs[0].payload).unwrap();
        assert_eq!(job.external_id, "s4s:contoso:graph-alert:a1");
        assert_eq!(job.text, "[signl4-sentinel] Portal comment by Megan Bowen: Isolated the device");
        // Read again (a later version, same comment): the same job key, so it is created once.
        let mut later = a(human);
        later.last_update += time::Duration::minutes(1);
        assert_eq!(graph_alert(&t, &later, Some(&prior)).jobs[0].key, item.jobs[0].key);
        // A grouped alert's comment goes to its incident's page; a held alert's nowhere.
        prior.signl4_state = "grouped".into();
        prior.grouped_into = Some("s4s:contoso:graph-alert:leader".into());
        let item =
            graph_alert(&t, &a(json!([{"comment": "x", "createdDateTime": "2026-12-01T10:04:00Z"}])), Some(&prior));
        let job: crate::jobs::AnnotateJob = serde_json::from_str(&item.jobs[0].payload).unwrap();
        assert_eq!(job.external_id, "s4s:contoso:graph-alert:leader");
        prior.signl4_state = "held".into();
        assert!(
            graph_alert(&t, &a(json!([{"comment": "x", "createdDateTime": "2026-12-01T10:04:00Z"}])), Some(&prior))
                .jobs
                .is_empty()
        );
    }

    #[test]
    fn one_page_per_incident_the_rest_annotated_or_paged_when_severity_rises() {
        let mut t = tenant();
        t.default_route.signl4.group = GroupBy::Incident;
        t.signl4.group = GroupBy::Incident;
        // Without an API key: the first alert pages, a later one of lower or equal severity is
        // grouped, one that raises the severity pages on its own.
        let mut book = GroupBook::default();
        let first = graph_alert_grouped(&t, &incident_alert("a1", "medium"), None, &mut book);
        let body = serde_json::from_str::<jobs::PageJob>(&first.page.as_ref().unwrap().payload).unwrap().body;
        assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a1");
        assert!(body["Grouping"].as_str().unwrap().contains("incident 77"));
        assert_eq!(first.update.grouped_into.as_deref(), Some("s4s:contoso:graph-alert:a1"));
        let second = graph_alert_grouped(&t, &incident_alert("a2", "low"), None, &mut book);
        assert!(second.page.is_none() && second.jobs.is_empty());
        assert_eq!(second.update.paged, Some(true));
        assert_eq!(second.update.signl4_state.as_deref(), Some("grouped"));
        assert_eq!(second.update.grouped_into.as_deref(), Some("s4s:contoso:graph-alert:a1"));
        let worse = graph_alert_grouped(&t, &incident_alert("a3", "high"), None, &mut book);
        let body = serde_json::from_str::<jobs::PageJob>(&worse.page.as_ref().unwrap().payload).unwrap().body;
        assert_eq!(body["X-S4-ExternalID"], "s4s:contoso:graph-alert:a3");
        assert!(body["Incident severity rose"].as_str().unwrap().starts_with("to High"));
        let again = graph_alert_grouped(&t, &incident_alert("a4", "high"), None, &mut book);
        assert!(again.page.is_none(), "the severity rises once per level");

        // What the store knows after a restart gives the same answer.
        let mut fresh = GroupBook::default();
        fresh.add_stored("contoso", &[as_stored(&first), as_stored(&second), as_stored(&worse)]);
        assert_eq!(
            fresh.get("77", DEFAULT_ROUTE).map(|g| (g.leader.as_str(), g.max_rank)),
            Some(("s4s:contoso:graph-alert:a1", 3))
        );
        assert!(graph_alert_grouped(&t, &incident_alert("a5", "high"), None, &mut fresh).page.is_none());

        // Another incident, or an alert without one, pages as always.
        let mut other = incident_alert("b1", "low");
        other.incident_id = Some("78".into());
        assert!(graph_alert_grouped(&t, &other, None, &mut book).page.is_some());
        let mut lone = incident_alert("c1", "low");
        lone.incident_id = None;
        assert!(graph_alert_grouped(&t, &lone, None, &mut book).page.is_some());

        // With an API key: later alerts become annotations on the first alert's page, once each.
        t.default_route.signl4.api_key = Some(secrecy::SecretString::from("k"));
        let mut book = GroupBook::default();
        let _ = graph_alert_grouped(&t, &incident_alert("a1", "medium"), None, &mut book);
        let added = graph_alert_grouped(&t, &incident_alert("a2", "high"), None, &mut book);
        assert!(added.page.is_none());
        let job = &added.jobs[0];
        assert_eq!(job.kind, "annotate");
        assert_eq!(job.key, "annotate:s4s:contoso:graph-alert:a1:a2@default");
        let a: crate::jobs::AnnotateJob = serde_json::from_str(&job.payload).unwrap();
        assert_eq!(a.external_id, "s4s:contoso:graph-alert:a1");
        assert!(
            a.text.starts_with(
                "[signl4-sentinel] Also in incident 77: [High] Alert a2 (microsoftDefenderForEndpoint) on ws-1"
            ),
            "{}",
            a.text
        );
        assert!(a.text.contains("severity rose to High"));
    }

    #[test]
    fn a_panicking_decision_is_an_error_text() {
        assert_eq!(guarded(|| 2 + 2), Ok(4));
        let e = guarded(|| -> usize { panic!("byte index 5 is not a char boundary") }).unwrap_err();
        assert_eq!(e, "internal error (panic): byte index 5 is not a char boundary");
        let n = 7;
        let e = guarded(|| -> usize { panic!("formatted {n}") }).unwrap_err();
        assert!(e.ends_with("formatted 7"));
    }
}

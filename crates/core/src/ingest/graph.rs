//! The ingest decision for Graph alerts: what to store, whether and where it pages (grouped
//! per incident, or joining its Sentinel twin's page), reopenings and portal changes.

use serde_json::Value;

use super::group::Group;
use super::{GroupBook, grouped_annotation, portal_item, reopen_item, route_named, route_names};
use crate::alert::{AlertStatus, GraphAlert};
use crate::config::{GroupBy, Route, TenantConfig};
use crate::filter::Skip;
use crate::ids::{self, SOURCE_GRAPH_ALERT};
use crate::jobs;
use crate::records::{AlertRecord, IngestItem, StoredAlert};
use crate::route::DEFAULT_ROUTE;
use crate::routing::{self, Facts};
use crate::signl4::payload as signl4_payload;
use crate::sync::{self, Signl4State};

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
    let targets =
        if pages { routing::select(&tenant.routes, tenant.unrouted(), &Facts::graph(alert)) } else { Vec::new() };
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
            let targets = routing::select(&tenant.routes, tenant.unrouted(), &Facts::graph(alert));
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

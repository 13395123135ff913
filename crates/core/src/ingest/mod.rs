//! The ingest decision: for each version read from a source, what to store, whether it pages,
//! and which SIGNL4 changes a portal edit causes. Pure; sources store what these return.
//! One file per source ([`graph`], [`sentinel`]); incident grouping in [`group`], the page one
//! source made for the other's twin incident in [`twin`]; shared bookkeeping here.

mod graph;
mod group;
mod sentinel;
mod twin;

pub use graph::{graph_alert, graph_alert_grouped};
pub use group::{Group, GroupBook, grouped_annotation, groups_incidents, may_have_twins};
pub use sentinel::{
    incident_pages, sentinel_comments_changed, sentinel_incident, sentinel_needs_alerts, sentinel_needs_tracked,
    sentinel_portal_comments, sentinel_reopened, sentinel_twin_of, twin_annotation,
};
pub use twin::Twin;

use crate::config::{Route, TenantConfig};
use crate::ids;
use crate::jobs;
use crate::records::{AlertUpdate, IngestItem, StoredAlert};
use crate::sync::{self, PortalAction, Signl4State};

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

/// A change made in the portal that must reach SIGNL4: the status jobs (one per team the
/// alert paged, `routes`) and the state to record.
pub(crate) fn portal_item(
    item: &mut IngestItem,
    tenant: &str,
    external_id: &str,
    routes: &[String],
    action: PortalAction,
) {
    let (status, new_state) = match action {
        PortalAction::Resolve => ("resolved", Signl4State::ClosedByPortal),
        PortalAction::Acknowledge => ("acknowledged", Signl4State::AcknowledgedByPortal),
    };
    item.jobs.extend(jobs::signl4_status_routes(tenant, external_id, status, routes));
    item.update.signl4_state = Some(new_state.as_str().into());
}

/// The route names to record with a page (`AlertUpdate::routes`).
pub(crate) fn route_names(targets: &[&Route]) -> String {
    targets.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(",")
}

/// The route named `name` (the default route for any name it does not know).
pub(crate) fn route_named<'a>(tenant: &'a TenantConfig, name: &str) -> &'a Route {
    tenant.routes.iter().find(|x| x.name == name).unwrap_or(&tenant.default_route)
}

/// Bookkeeping of a reopening: the new episode, its routes, the SIGNL4 alert open again.
pub(crate) fn reopen_item(item: &mut IngestItem, episode: i64, targets: &[&Route]) {
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

#[cfg(test)]
mod tests;

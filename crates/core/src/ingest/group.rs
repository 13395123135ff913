//! Incident grouping of Graph alerts (`group = "incident"`): the pages already made per
//! incident and route, and the annotation that adds a later alert to its incident's page.

use std::collections::HashMap;

use super::Twin;
use crate::alert::{GraphAlert, Severity};
use crate::config::{GroupBy, TenantConfig};
use crate::ids::{self, SOURCE_GRAPH_ALERT};
use crate::records::StoredAlert;
use crate::route::DEFAULT_ROUTE;

/// The incident pages already made (stored, or planned earlier in the same batch), per Graph
/// incident and route: the external id of the alert that paged for the incident (its leader)
/// and the highest severity paged in it so far (`group = "incident"`).
#[derive(Debug, Default, Clone)]
pub struct GroupBook {
    pub(super) groups: HashMap<(String, String), Group>,
    pub(super) twins: HashMap<String, Twin>,
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
    tenant.graph() && !tenant.sentinel().is_empty()
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
        crate::signl4::event::OWN_ANNOTATION,
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

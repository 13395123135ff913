//! The page the other source made for the same Defender XDR incident (a Sentinel incident and
//! its Graph security incident page once, whichever source sees it first).

use crate::alert::Severity;
use crate::ids;
use crate::records::StoredAlert;
use crate::route::DEFAULT_ROUTE;
use crate::source::SourceId;
use crate::sync::Signl4State;

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
        let from = SourceId::parse(from_source).unwrap_or(SourceId::GraphAlert);
        let mut twin: Option<Twin> = None;
        for a in stored.iter().filter(|a| a.paged) {
            let other = SourceId::parse(&a.record.source).is_some_and(|s| s.twins(&from));
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

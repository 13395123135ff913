//! What a source is: its stored name (the `source` column and cursor name), parsed once into
//! [`SourceId`], and what follows from it — its kind, its write-back, its audit column, which
//! rows are incident pages and which sources twin each other.

use std::fmt;

/// Store source of Graph alerts.
pub const SOURCE_GRAPH_ALERT: &str = "graph-alert";
/// Cursor name of the Graph incident sweep.
pub const SOURCE_GRAPH_INCIDENT: &str = "graph-incident";
/// Cursor name of the SIGNL4 REST poller.
pub const SOURCE_SIGNL4_REST: &str = "signl4-rest";

/// Where a stored row or a cursor comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceId {
    GraphAlert,
    GraphIncident,
    /// A Sentinel workspace's incidents (`sentinel.<workspace>`).
    SentinelIncident(String),
    /// A Sentinel workspace's alerts in per-alert mode (`sentinel-alert.<workspace>`).
    SentinelAlert(String),
    Signl4Rest,
}

impl SourceId {
    /// Parses the stored form; `None` for anything this version does not know.
    pub fn parse(s: &str) -> Option<SourceId> {
        Some(match s {
            SOURCE_GRAPH_ALERT => SourceId::GraphAlert,
            SOURCE_GRAPH_INCIDENT => SourceId::GraphIncident,
            SOURCE_SIGNL4_REST => SourceId::Signl4Rest,
            _ => {
                if let Some(ws) = s.strip_prefix("sentinel.").filter(|w| !w.is_empty()) {
                    SourceId::SentinelIncident(ws.to_string())
                } else if let Some(ws) = s.strip_prefix("sentinel-alert.").filter(|w| !w.is_empty()) {
                    SourceId::SentinelAlert(ws.to_string())
                } else {
                    return None;
                }
            }
        })
    }

    /// The Sentinel workspace of a Sentinel source.
    pub fn workspace(&self) -> Option<&str> {
        match self {
            SourceId::SentinelIncident(w) | SourceId::SentinelAlert(w) => Some(w),
            _ => None,
        }
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceId::GraphAlert => f.write_str(SOURCE_GRAPH_ALERT),
            SourceId::GraphIncident => f.write_str(SOURCE_GRAPH_INCIDENT),
            SourceId::Signl4Rest => f.write_str(SOURCE_SIGNL4_REST),
            SourceId::SentinelIncident(w) => write!(f, "sentinel.{w}"),
            SourceId::SentinelAlert(w) => write!(f, "sentinel-alert.{w}"),
        }
    }
}

/// The family a source belongs to: which API it reads, which write-back follows its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Graph,
    Sentinel,
    Signl4,
}

/// Where a change answered in SIGNL4 is written back for a source's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteBack {
    /// The Graph alert (and its incident): `jobs::graph_sync`.
    Graph,
    /// The Sentinel workspace's incident or alert: `jobs::sentinel_sync`.
    Sentinel { workspace: String },
}

impl WriteBack {
    /// The write-back of a stored source name; a name this version does not know writes back
    /// through Graph.
    pub fn of(stored_source: &str) -> WriteBack {
        SourceId::parse(stored_source).map_or(WriteBack::Graph, |s| s.write_back())
    }
}

impl SourceId {
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceId::GraphAlert | SourceId::GraphIncident => SourceKind::Graph,
            SourceId::SentinelIncident(_) | SourceId::SentinelAlert(_) => SourceKind::Sentinel,
            SourceId::Signl4Rest => SourceKind::Signl4,
        }
    }

    /// Where SIGNL4 answers to this source's pages are written back.
    pub fn write_back(&self) -> WriteBack {
        match self.workspace() {
            Some(ws) => WriteBack::Sentinel { workspace: ws.to_string() },
            None => WriteBack::Graph,
        }
    }

    /// The audit trail's `Source` column: `sentinel` for a Sentinel source, else `graph`.
    pub fn audit_source(&self) -> &'static str {
        match self.kind() {
            SourceKind::Sentinel => "sentinel",
            SourceKind::Graph | SourceKind::Signl4 => "graph",
        }
    }

    /// Whether this source's rows are incidents themselves (a Sentinel incident page): the
    /// row's id is the incident, its `incident_id` the Defender XDR incident it mirrors.
    pub fn is_incident_page(&self) -> bool {
        matches!(self, SourceId::SentinelIncident(_))
    }

    /// Whether a paged row of this source may be the twin page of an item read from `from`:
    /// Graph alerts for a Sentinel source, another workspace's Sentinel incident for the rest.
    pub fn twins(&self, from: &SourceId) -> bool {
        match from.kind() {
            SourceKind::Sentinel => *self == SourceId::GraphAlert,
            SourceKind::Graph | SourceKind::Signl4 => self.is_incident_page() && self != from,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip() {
        for s in [
            SourceId::GraphAlert,
            SourceId::GraphIncident,
            SourceId::Signl4Rest,
            SourceId::SentinelIncident("ws".into()),
            SourceId::SentinelAlert("ws".into()),
        ] {
            assert_eq!(SourceId::parse(&s.to_string()), Some(s.clone()));
        }
        assert_eq!(SourceId::parse("sentinel."), None);
        assert_eq!(SourceId::parse("sentinel-alert.ws").unwrap().workspace(), Some("ws"));
    }

    #[test]
    fn sources_name_their_workspace() {
        let ws = |s: &str| SourceId::parse(s).and_then(|s| s.workspace().map(str::to_string));
        assert_eq!(ws(&crate::sentinel::source("soc")).as_deref(), Some("soc"));
        assert_eq!(ws(&crate::sentinel::alert_source("soc")).as_deref(), Some("soc"));
        assert_eq!(ws("graph-alert"), None);
    }

    #[test]
    fn the_kind_decides_write_back_audit_and_twins() {
        let inc = SourceId::SentinelIncident("soc".into());
        assert_eq!(WriteBack::of("sentinel-alert.soc"), WriteBack::Sentinel { workspace: "soc".into() });
        assert_eq!(WriteBack::of("graph-alert"), WriteBack::Graph);
        assert_eq!((inc.audit_source(), SourceId::GraphAlert.audit_source()), ("sentinel", "graph"));
        assert!(SourceId::GraphAlert.twins(&inc) && inc.twins(&SourceId::GraphAlert));
        assert!(!inc.twins(&inc) && !SourceId::SentinelAlert("soc".into()).twins(&SourceId::GraphAlert));
    }
}

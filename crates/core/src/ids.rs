//! Typed identifiers: SIGNL4 external ids and the idempotency keys of every job kind.
//!
//! The external id (`X-S4-ExternalID`) is how SIGNL4 correlates later acknowledge/resolve
//! requests and how its outbound webhooks point back at us (`alert.externalEventId`,
//! `signl4.md` §1.4, §3.1). It must be unique per tenant and alert and never change.

use std::fmt;

pub use crate::source::{SOURCE_GRAPH_ALERT, SOURCE_GRAPH_INCIDENT, SOURCE_SIGNL4_REST, SourceId};

/// `X-S4-ExternalID`: `s4s:{tenant}:{source}:{id}`, and `~reopen{n}` for the n-th reopening
/// of an alert (each a new SIGNL4 alert). Ids may contain `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId {
    pub tenant: String,
    /// The stored source name (see [`SourceId`]).
    pub source: String,
    pub id: String,
    /// 0, or the reopening this SIGNL4 alert is for.
    pub episode: i64,
}

/// The suffix of a reopened alert's external id.
pub const REOPEN_SUFFIX: &str = "~reopen";

impl ExternalId {
    pub fn new(tenant: &str, source: &str, id: &str) -> ExternalId {
        ExternalId { tenant: tenant.into(), source: source.into(), id: id.into(), episode: 0 }
    }

    pub fn with_episode(mut self, episode: i64) -> ExternalId {
        self.episode = episode.max(0);
        self
    }

    pub fn parse(s: &str) -> Option<ExternalId> {
        let (t, src, i) = parse_external_id(s)?;
        if let Some((id, n)) = i.rsplit_once(REOPEN_SUFFIX)
            && let Ok(n) = n.parse::<i64>()
            && n > 0
            && !id.is_empty()
        {
            return Some(ExternalId::new(t, src, id).with_episode(n));
        }
        Some(ExternalId::new(t, src, i))
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s4s:{}:{}:{}", self.tenant, self.source, self.id)?;
        if self.episode > 0 {
            write!(f, "{REOPEN_SUFFIX}{}", self.episode)?;
        }
        Ok(())
    }
}

/// The external id of an alert's `episode` (0 = its first page; n = its n-th reopening).
pub fn episode_external_id(tenant: &str, source: &str, alert_id: &str, episode: i64) -> String {
    ExternalId::new(tenant, source, alert_id).with_episode(episode).to_string()
}

/// `X-S4-ExternalID` as a string: `s4s:{tenant}:{source}:{alert id}`.
pub fn external_id(tenant: &str, source: &str, alert_id: &str) -> String {
    ExternalId::new(tenant, source, alert_id).to_string()
}

/// Parses an external id produced by [`external_id`] into (tenant, source, id).
pub fn parse_external_id(s: &str) -> Option<(&str, &str, &str)> {
    let rest = s.strip_prefix("s4s:")?;
    let (tenant, rest) = rest.split_once(':')?;
    let (source, id) = rest.split_once(':')?;
    if tenant.is_empty() || source.is_empty() || id.is_empty() {
        return None;
    }
    Some((tenant, source, id))
}

/// The idempotency key of an alert's page (unique in the jobs table), which ingest and the
/// webhook look up; every kind builds its other keys in its own file (`jobs/<kind>.rs`).
pub mod job_key {
    /// The page of an alert or incident: one page per alert, ever.
    pub fn page(external_id: &str) -> String {
        format!("page:{external_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_round_trip_even_with_colons() {
        let e = external_id("contoso", SOURCE_GRAPH_ALERT, "da6378_-33:42");
        assert_eq!(e, "s4s:contoso:graph-alert:da6378_-33:42");
        assert_eq!(parse_external_id(&e), Some(("contoso", "graph-alert", "da6378_-33:42")));
        assert_eq!(parse_external_id("INC091210"), None);
        assert_eq!(parse_external_id("s4s::x:y"), None);
        assert_eq!(ExternalId::parse(&e).unwrap().to_string(), e);
    }

    #[test]
    fn keys_differ_per_tenant() {
        assert_ne!(external_id("a", "s", "1"), external_id("b", "s", "1"));
        assert_eq!(job_key::page("e"), "page:e");
    }
}

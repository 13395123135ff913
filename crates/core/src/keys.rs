//! Stable identifiers: SIGNL4 external ids, dedup keys and idempotency keys.
//!
//! The external id (`X-S4-ExternalID`) is how SIGNL4 correlates later acknowledge/resolve
//! requests and how its outbound webhooks point back at us (`alert.externalEventId`,
//! `signl4.md` §1.4, §3.1). It must be unique per tenant and alert and never change.

/// Source of an alert.
pub const SOURCE_GRAPH_ALERT: &str = "graph-alert";
/// Cursor name of the Graph incident sweep.
pub const SOURCE_GRAPH_INCIDENT: &str = "graph-incident";

/// `X-S4-ExternalID` for a Graph alert: `s4s:{tenant}:{source}:{alert id}`.
pub fn external_id(tenant: &str, source: &str, alert_id: &str) -> String {
    format!("s4s:{tenant}:{source}:{alert_id}")
}

/// Parses an external id produced by [`external_id`]. Alert ids may contain `:`.
pub fn parse_external_id(s: &str) -> Option<(&str, &str, &str)> {
    let rest = s.strip_prefix("s4s:")?;
    let (tenant, rest) = rest.split_once(':')?;
    let (source, id) = rest.split_once(':')?;
    if tenant.is_empty() || source.is_empty() || id.is_empty() {
        return None;
    }
    Some((tenant, source, id))
}

/// Idempotency key of the job that pages an alert: one page per alert, ever.
pub fn page_job_key(external_id: &str) -> String {
    format!("page:{external_id}")
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
    }

    #[test]
    fn keys_differ_per_tenant() {
        assert_ne!(external_id("a", "s", "1"), external_id("b", "s", "1"));
        assert_eq!(page_job_key("e"), "page:e");
    }
}

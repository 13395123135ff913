//! Routing: which SIGNL4 team(s) an alert or incident pages. Pure; the [`Facts`] of an alert are
//! matched against the tenant's ordered routes (`[[tenant.route]]`, vocabulary in `route`),
//! first match wins unless a route says `continue`; nothing matched → the tenant's own team
//! (`[tenant.signl4]`, the default route) unless `signl4.unrouted = "drop"`.

use serde_json::Value;

use crate::alert::{GraphAlert, Severity};
use crate::config::Route;
use crate::route::{Glob, RouteMatch, SourceKind};
use crate::sentinel::{Incident, SentinelAlert};

/// What a route can match on, taken from a Graph alert or a Sentinel incident.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub source: Option<SourceKind>,
    pub workspace: Option<String>,
    pub severity: Severity,
    /// `serviceSource` and `productName` (Graph); the alerts' product names (Sentinel).
    pub products: Vec<String>,
    pub detection_sources: Vec<String>,
    /// Graph `category`; Sentinel tactics.
    pub categories: Vec<String>,
    pub techniques: Vec<String>,
    /// Graph `systemTags` / `customTags`; Sentinel labels.
    pub tags: Vec<String>,
    pub title: String,
    pub devices: Vec<String>,
    pub users: Vec<String>,
    pub ips: Vec<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

impl Facts {
    pub fn graph(a: &GraphAlert) -> Facts {
        let mut products = vec![a.service_source.clone()];
        products.extend(a.product_name.clone());
        let mut tags = strings(a.raw.get("systemTags"));
        tags.extend(strings(a.raw.get("customTags")));
        tags.extend(strings(a.raw.get("tags")));
        Facts {
            source: Some(SourceKind::Graph),
            workspace: None,
            severity: a.severity.clone(),
            products,
            detection_sources: vec![a.detection_source.clone()],
            categories: a.category.clone().into_iter().collect(),
            techniques: a.mitre_techniques.clone(),
            tags,
            title: a.title.clone(),
            devices: a.evidence.devices.clone(),
            users: a.evidence.users.clone(),
            ips: a.evidence.ips.clone(),
        }
    }

    /// A Sentinel incident with its alerts (`alert`: per-alert paging, the alert paged).
    pub fn sentinel(workspace: &str, inc: &Incident, alerts: &[SentinelAlert], alert: Option<&SentinelAlert>) -> Facts {
        let p = inc.raw.get("properties");
        let add = p.and_then(|p| p.get("additionalData"));
        let scope: Vec<&SentinelAlert> = match alert {
            Some(a) => vec![a],
            None => alerts.iter().collect(),
        };
        let mut products = if alert.is_none() { strings(add.and_then(|a| a.get("alertProductNames"))) } else { vec![] };
        let mut categories = if alert.is_none() { strings(add.and_then(|a| a.get("tactics"))) } else { vec![] };
        let mut techniques = if alert.is_none() { strings(add.and_then(|a| a.get("techniques"))) } else { vec![] };
        let mut entities = Vec::new();
        for a in &scope {
            products.push(a.product.clone());
            categories.extend(a.tactics.iter().cloned());
            techniques.extend(a.techniques.iter().cloned());
            entities.extend(a.compromised_entity.clone());
        }
        let tags = p
            .and_then(|p| p.get("labels"))
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|x| x.get("labelName").and_then(Value::as_str).map(str::to_string)).collect())
            .unwrap_or_default();
        let (severity, title) = match alert {
            Some(a) => (a.severity.clone(), a.name.clone()),
            None => (inc.severity.clone(), inc.title.clone()),
        };
        Facts {
            source: Some(SourceKind::Sentinel),
            workspace: Some(workspace.to_string()),
            severity,
            products,
            detection_sources: Vec::new(),
            categories,
            techniques,
            tags,
            title,
            // A compromised entity is a host or an account: it may match either.
            devices: entities.clone(),
            users: entities,
            ips: Vec::new(),
        }
    }
}

/// `t` is a sub-technique of `w` (`T1003.001` of `T1003`), compared ASCII-case-insensitively.
/// Techniques come from upstream: `split_at_checked` never cuts inside a character.
fn is_sub_technique(t: &str, w: &str) -> bool {
    t.split_at_checked(w.len()).is_some_and(|(head, rest)| head.eq_ignore_ascii_case(w) && rest.starts_with('.'))
}

fn any_eq(wanted: &[String], have: &[String]) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w)))
}

fn any_glob(wanted: &[Glob], have: &[String]) -> bool {
    wanted.is_empty() || wanted.iter().any(|g| have.iter().any(|h| g.matches(h)))
}

impl RouteMatch {
    /// Every condition of the route holds for `f` (the route vocabulary is in `route`; the
    /// matching is decided here).
    pub fn matches(&self, f: &Facts) -> bool {
        if self.source.is_some_and(|s| f.source != Some(s)) {
            return false;
        }
        if !self.workspaces.is_empty()
            && !f.workspace.as_deref().is_some_and(|w| self.workspaces.iter().any(|x| x.eq_ignore_ascii_case(w)))
        {
            return false;
        }
        // An unknown (future) severity passes a minimum, as in the tenant filter.
        if self.min_severity.as_ref().is_some_and(|m| f.severity.rank() < m.rank()) {
            return false;
        }
        if !self.severities.is_empty() && !self.severities.iter().any(|s| s.key() == f.severity.key()) {
            return false;
        }
        let techniques = self.techniques.is_empty()
            || self
                .techniques
                .iter()
                .any(|w| f.techniques.iter().any(|t| t.eq_ignore_ascii_case(w) || is_sub_technique(t, w)));
        techniques
            && any_eq(&self.products, &f.products)
            && any_eq(&self.detection_sources, &f.detection_sources)
            && any_eq(&self.categories, &f.categories)
            && any_eq(&self.tags, &f.tags)
            && self.title.as_ref().is_none_or(|r| r.is_match(&f.title))
            && any_glob(&self.devices, &f.devices)
            && any_glob(&self.users, &f.users)
            && any_glob(&self.ips, &f.ips)
    }
}

/// The routes (a tenant's `[[tenant.route]]`, in order) an alert with `facts` pages: the first
/// matching route, and the following ones while a matched route says `continue`; routes to a
/// team already chosen are skipped (one page per team). Nothing matched → `unrouted` (the
/// default route), or nothing when it is `None` (the tenant drops unrouted alerts).
pub fn select<'a>(routes: &'a [Route], unrouted: Option<&'a Route>, facts: &Facts) -> Vec<&'a Route> {
    let mut out: Vec<&Route> = Vec::new();
    for r in routes {
        if !r.matcher.matches(facts) {
            continue;
        }
        if !out.iter().any(|o| o.same_team(r)) {
            out.push(r);
        }
        if !r.cont {
            return out;
        }
    }
    if out.is_empty() {
        out.extend(unrouted);
    }
    out
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    #[test]
    fn globs() {
        assert!(Glob::new("ws-*").matches("WS-042"));
        assert!(Glob::new("*@contoso.com").matches("jdoe@Contoso.com"));
        assert!(!Glob::new("*@contoso.com").matches("jdoe@fabrikam.com"));
        assert!(Glob::new("10.*.*.1").matches("10.0.0.1"));
        assert!(!Glob::new("10.*.*.1").matches("10.0.0.2"));
        assert!(Glob::new("exact").matches("EXACT"));
        assert!(!Glob::new("exact").matches("exactly"));
        assert!(Glob::new("a*a").matches("aa"));
        assert!(!Glob::new("ab*ba").matches("aba"));
        assert!(Glob::new("*").matches(""));
    }

    #[test]
    fn conditions_all_hold_and_techniques_match_sub_techniques() {
        let f = Facts {
            source: Some(SourceKind::Graph),
            severity: Severity::High,
            products: vec!["microsoftDefenderForEndpoint".into()],
            techniques: vec!["T1003.001".into()],
            title: "Mimikatz detected".into(),
            devices: vec!["ws-042".into()],
            ..Default::default()
        };
        let m = RouteMatch {
            min_severity: Some(Severity::Medium),
            products: vec!["MicrosoftDefenderForEndpoint".into()],
            techniques: vec!["T1003".into()],
            title: Some(Regex::new("(?i)mimikatz").unwrap()),
            devices: vec![Glob::new("ws-*")],
            ..Default::default()
        };
        assert!(m.matches(&f));
        assert!(!RouteMatch { techniques: vec!["T100".into()], ..Default::default() }.matches(&f));
        assert!(!RouteMatch { source: Some(SourceKind::Sentinel), ..Default::default() }.matches(&f));
        assert!(!RouteMatch { severities: vec![Severity::Low], ..Default::default() }.matches(&f));
        assert!(
            !RouteMatch { min_severity: Some(Severity::High), ..m.clone() }
                .matches(&Facts { severity: Severity::Medium, ..f.clone() })
        );
        assert!(!RouteMatch { workspaces: vec!["soc".into()], ..Default::default() }.matches(&f));
        assert!(RouteMatch::default().matches(&Facts::default()));
    }

    /// Techniques from upstream are compared without cutting inside a character: `T100é`
    /// against `T1003` is no match and no panic.
    #[test]
    fn non_ascii_techniques_never_panic() {
        let m = RouteMatch { techniques: vec!["T1003".into()], ..Default::default() };
        for t in ["T100é", "T100É.001", "é", "T1003\u{301}", "T1003é", "", "\u{0}T1003"] {
            let f = Facts { techniques: vec![t.into()], ..Default::default() };
            assert!(!m.matches(&f), "{t:?} is not T1003");
        }
        let f = Facts { techniques: vec!["t1003.001".into()], ..Default::default() };
        assert!(m.matches(&f));
        let wide = RouteMatch { techniques: vec!["Té".into()], ..Default::default() };
        assert!(wide.matches(&Facts { techniques: vec!["té.1".into()], ..Default::default() }));
        assert!(!wide.matches(&Facts { techniques: vec!["T".into()], ..Default::default() }));
    }

    proptest::proptest! {
        /// Arbitrary unicode techniques against arbitrary route techniques never panic, and
        /// a technique always matches itself and its own sub-techniques.
        #[test]
        fn arbitrary_techniques_never_panic(wanted in "\\PC{0,8}", have in proptest::collection::vec("\\PC{0,10}", 0..4)) {
            let m = RouteMatch { techniques: vec![wanted.clone()], ..Default::default() };
            let _ = m.matches(&Facts { techniques: have, ..Default::default() });
            let itself = Facts { techniques: vec![wanted.clone()], ..Default::default() };
            let sub = Facts { techniques: vec![wanted.clone() + ".001"], ..Default::default() };
            proptest::prop_assert!(m.matches(&itself));
            proptest::prop_assert!(m.matches(&sub));
        }

        /// Arbitrary unicode globs against arbitrary values never panic; a glob without `*`
        /// matches its own text and `*` matches everything.
        #[test]
        fn arbitrary_globs_never_panic(pattern in "[a-zé*ß\\PC]{0,12}", value in "\\PC{0,16}") {
            let _ = Glob::new(&pattern).matches(&value);
            let plain = value.replace('*', "");
            let own = Glob::new(&plain).matches(&plain);
            let star = Glob::new("*").matches(&value);
            proptest::prop_assert!(own);
            proptest::prop_assert!(star);
        }
    }
}

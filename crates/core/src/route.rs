//! The route vocabulary the configuration is parsed into (`[[tenant.route]]`): the default
//! route's name, where an alert came from (`match.source`), `*` wildcard patterns and a route's
//! conditions ([`RouteMatch`]). Which routes an alert pages is decided in `routing`.

use regex::Regex;

use crate::alert::Severity;

/// Name of the default route (the tenant's `[tenant.signl4]` team).
pub const DEFAULT_ROUTE: &str = "default";

/// Where an alert came from (`match.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Graph,
    Sentinel,
}

impl SourceKind {
    pub fn parse(s: &str) -> Option<SourceKind> {
        match s {
            "graph" => Some(SourceKind::Graph),
            "sentinel" => Some(SourceKind::Sentinel),
            _ => None,
        }
    }
}

/// A `*` wildcard pattern, matched case-insensitively against the whole value.
#[derive(Debug, Clone)]
pub struct Glob(Vec<String>);

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob(pattern.to_lowercase().split('*').map(str::to_string).collect())
    }

    pub fn matches(&self, value: &str) -> bool {
        let v = value.to_lowercase();
        let [first, mids @ .., last] = self.0.as_slice() else {
            // No `*`: the whole value.
            return self.0.first().is_some_and(|p| v == *p);
        };
        // Prefix and suffix must not overlap ("ab*ba" does not match "aba").
        let Some(mut rest) = v.strip_prefix(first.as_str()).and_then(|r| r.strip_suffix(last.as_str())) else {
            return false;
        };
        for mid in mids {
            match rest.split_once(mid.as_str()) {
                Some((_, after)) => rest = after,
                None => return false,
            }
        }
        true
    }
}

/// A route's conditions: every condition given must hold (any value of a list may match);
/// no conditions = matches everything.
#[derive(Debug, Clone, Default)]
pub struct RouteMatch {
    pub source: Option<SourceKind>,
    pub workspaces: Vec<String>,
    pub min_severity: Option<Severity>,
    pub severities: Vec<Severity>,
    pub products: Vec<String>,
    pub detection_sources: Vec<String>,
    pub categories: Vec<String>,
    /// Technique ids; `T1003` also matches its sub-techniques (`T1003.001`).
    pub techniques: Vec<String>,
    pub tags: Vec<String>,
    pub title: Option<Regex>,
    pub devices: Vec<Glob>,
    pub users: Vec<Glob>,
    pub ips: Vec<Glob>,
}

//! A tenant's `[[tenant.route]]` sections: ordered rules sending alerts to SIGNL4 teams, each
//! with its conditions (`[tenant.route.match]`), its team (own team secret and optionally API
//! key and inbound token; none = the tenant's own team) and how its pages look.

use std::collections::BTreeMap;

use regex::Regex;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::env::Env;
use super::error::{ConfigError, err};
use super::signl4::{GroupBy, RawQuiet, RawSignl4, Signl4Options, check_scenarios};
use super::storm::RawStorm;
use super::values::{check_name, opt_bool, opt_list};
use crate::alert::Severity;
use crate::route::{DEFAULT_ROUTE, Glob, RouteMatch, SourceKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    name: String,
    team_secret: Option<String>,
    api_key: Option<String>,
    inbound_token: Option<String>,
    team_id: Option<String>,
    plan: Option<String>,
    verify: Option<bool>,
    fallback: Option<String>,
    fallback_team_secret: Option<String>,
    storm: Option<RawStorm>,
    group: Option<String>,
    quiet: Option<RawQuiet>,
    service: Option<String>,
    source_system: Option<String>,
    #[serde(default)]
    scenario: BTreeMap<String, String>,
    #[serde(rename = "continue", default, deserialize_with = "opt_bool")]
    cont: Option<bool>,
    #[serde(rename = "match", default)]
    matcher: RawMatch,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    source: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    workspace: Option<Vec<String>>,
    min_severity: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    severity: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    product: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    detection_source: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    category: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    mitre: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    tags: Option<Vec<String>>,
    title: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    device: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    user: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    ip: Option<Vec<String>>,
}

/// One route: its conditions, whether matching goes on after it, and the team and page
/// options it pages with.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub matcher: RouteMatch,
    /// `continue = true`: after paging this route's team, later routes are tried too.
    pub cont: bool,
    /// The team and how its pages look (team fields are the tenant's own unless the route
    /// names its own `team_secret`).
    pub signl4: Signl4Options,
    /// The route names its own team (`team_secret`), with its own clients.
    pub own_team: bool,
}

impl Route {
    /// The tenant's own team, `[tenant.signl4]`: where unmatched alerts go.
    pub fn default_route(signl4: &Signl4Options) -> Route {
        Route {
            name: DEFAULT_ROUTE.into(),
            matcher: RouteMatch::default(),
            cont: false,
            signl4: signl4.clone(),
            own_team: false,
        }
    }

    /// Both routes page the same SIGNL4 team (same team secret).
    pub fn same_team(&self, other: &Route) -> bool {
        self.signl4.team_secret.expose_secret() == other.signl4.team_secret.expose_secret()
    }

    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_ROUTE
    }
}

/// The configuration key of the team secret of `route` (`default`: the tenant's own team), as
/// messages name it.
pub fn team_secret_key(route: &str) -> String {
    if route == DEFAULT_ROUTE {
        super::signl4::KEY_TEAM_SECRET.to_string()
    } else {
        format!("the team_secret of [[tenant.route]] name = \"{route}\"")
    }
}

const SEVERITIES: &str = "use informational, low, medium or high";

fn severity(key: &str, s: &str) -> Result<Severity, ConfigError> {
    match s {
        "informational" | "low" | "medium" | "high" => Ok(Severity::parse(s)),
        other => Err(err(key, format!("unknown severity \"{other}\""), SEVERITIES)),
    }
}

fn matcher(prefix: &str, m: RawMatch) -> Result<RouteMatch, ConfigError> {
    let k = |field: &str| format!("{prefix}.match.{field}");
    let source = match m.source.as_deref() {
        None => None,
        Some(s) => Some(SourceKind::parse(s).ok_or_else(|| {
            err(
                k("source"),
                format!("unknown source \"{s}\""),
                "use \"graph\" (Graph Security alerts) or \"sentinel\" (Sentinel incidents)",
            )
        })?),
    };
    let title = match m.title.as_deref() {
        None => None,
        Some(t) => Some(Regex::new(t).map_err(|e| {
            let why = e.to_string().lines().last().unwrap_or("invalid").trim().to_string();
            err(
                k("title"),
                format!("is not a valid regular expression ({why})"),
                "use Rust regex syntax, e.g. \"(?i)sign-in\"; escape literal dots and brackets with a backslash",
            )
        })?),
    };
    let severities =
        m.severity.unwrap_or_default().iter().map(|s| severity(&k("severity"), s)).collect::<Result<Vec<_>, _>>()?;
    let min_severity = m.min_severity.as_deref().map(|s| severity(&k("min_severity"), s)).transpose()?;
    let globs = |v: Option<Vec<String>>| v.unwrap_or_default().iter().map(|p| Glob::new(p)).collect::<Vec<_>>();
    Ok(RouteMatch {
        source,
        workspaces: m.workspace.unwrap_or_default(),
        min_severity,
        severities,
        products: m.product.unwrap_or_default(),
        detection_sources: m.detection_source.unwrap_or_default(),
        categories: m.category.unwrap_or_default(),
        techniques: m.mitre.unwrap_or_default(),
        tags: m.tags.unwrap_or_default(),
        title,
        devices: globs(m.device),
        users: globs(m.user),
        ips: globs(m.ip),
    })
}

/// Validates `<prefix>.route[i]` against the tenant's own team `default`.
pub(super) fn from_raw(
    prefix: &str,
    raw: Vec<RawRoute>,
    default: &Signl4Options,
    env: &dyn Env,
) -> Result<Vec<Route>, ConfigError> {
    let mut routes: Vec<Route> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let rp = format!("{prefix}.route[{i}]");
        let k = |field: &str| format!("{rp}.{field}");
        if r.name == DEFAULT_ROUTE {
            return Err(err(
                k("name"),
                "\"default\" is the name of the tenant's own team ([tenant.signl4])",
                "give the route another name",
            ));
        }
        check_name(k("name"), &r.name, "route", routes.iter().any(|x| x.name == r.name))?;
        check_scenarios(&rp, &r.scenario)?;
        let own_team = r.team_secret.is_some();
        let mut signl4 = if own_team {
            let raw = RawSignl4 {
                team_secret: r.team_secret,
                api_key: r.api_key,
                inbound_token: r.inbound_token,
                team_id: r.team_id,
                plan: r.plan.clone(),
                verify: r.verify,
                fallback: r.fallback,
                fallback_team_secret: r.fallback_team_secret,
                storm: r.storm,
                ..Default::default()
            };
            let mut s = Signl4Options::parse_at(&rp, raw, env)?;
            if r.plan.is_none() {
                s.plan = default.plan;
            }
            s.api_poll_interval = default.api_poll_interval;
            s
        } else {
            for (field, set) in [
                ("api_key", r.api_key.is_some()),
                ("inbound_token", r.inbound_token.is_some()),
                ("team_id", r.team_id.is_some()),
                ("plan", r.plan.is_some()),
                ("verify", r.verify.is_some()),
                ("fallback", r.fallback.is_some()),
                ("fallback_team_secret", r.fallback_team_secret.is_some()),
                ("storm", r.storm.is_some()),
            ] {
                if set {
                    return Err(err(
                        k(field),
                        "is a team setting, but the route has no team_secret of its own",
                        format!(
                            "add {rp}.team_secret for the route's own SIGNL4 team, or set {field} in [tenant.signl4]"
                        ),
                    ));
                }
            }
            default.clone()
        };
        signl4.service = r.service.filter(|s| !s.is_empty()).or_else(|| default.service.clone());
        signl4.source_system = r.source_system.unwrap_or_else(|| default.source_system.clone());
        signl4.scenario = if r.scenario.is_empty() { default.scenario.clone() } else { r.scenario };
        signl4.group = GroupBy::parse_at(&k("group"), r.group.as_deref(), default.group)?;
        signl4.quiet = match r.quiet {
            Some(q) => Some(RawQuiet::parse_at(&rp, q)?),
            None => default.quiet.clone(),
        };
        let route =
            Route { matcher: matcher(&rp, r.matcher)?, cont: r.cont.unwrap_or(false), signl4, own_team, name: r.name };
        routes.push(route);
    }
    Ok(routes)
}

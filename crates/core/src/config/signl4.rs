//! A tenant's `[tenant.signl4]` section: team secret, alert headers, scenarios, inbound webhook and REST polling.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::env::Env;
use super::error::{ConfigError, err};
use super::storm::{RawStorm, StormPolicy};
use super::values::{duration, resolve_secret};
use crate::alert::Severity;
use crate::budget::Signl4Plan;
use crate::quiet::QuietHours;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignl4 {
    pub(super) team_secret: Option<String>,
    pub(super) service: Option<String>,
    pub(super) source_system: Option<String>,
    #[serde(default)]
    pub(super) scenario: BTreeMap<String, String>,
    pub(super) inbound_token: Option<String>,
    pub(super) api_key: Option<String>,
    pub(super) api_poll_interval: Option<String>,
    pub(super) team_id: Option<String>,
    pub(super) plan: Option<String>,
    pub(super) verify: Option<bool>,
    pub(super) fallback: Option<String>,
    pub(super) fallback_team_secret: Option<String>,
    /// What happens to an alert no route matched: `page` (the default route) or `drop`.
    pub(super) unrouted: Option<String>,
    pub(super) storm: Option<RawStorm>,
    /// `alert` (one page per alert) or `incident` (one page per Graph incident).
    pub(super) group: Option<String>,
    pub(super) quiet: Option<RawQuiet>,
}

/// `[tenant.signl4.quiet]` (or a route's `[tenant.route.quiet]`).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuiet {
    time_zone: Option<String>,
    #[serde(default)]
    hours: Vec<String>,
    #[serde(default)]
    days: Vec<String>,
    #[serde(default)]
    maintenance: Vec<RawMaintenance>,
    action: Option<String>,
    lower_scenario: Option<String>,
    high_severity_pages: Option<bool>,
    high_severity: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawMaintenance {
    start: String,
    end: String,
    reason: Option<String>,
}

impl RawQuiet {
    pub(super) fn parse_at(at: &str, raw: RawQuiet) -> Result<QuietHours, ConfigError> {
        use crate::quiet::{QuietAction, Window, parse_range, parse_weekday};
        let k = |f: &str| format!("{at}.quiet.{f}");
        let tz_name = raw.time_zone.unwrap_or_else(|| "UTC".into());
        let tz = jiff::tz::TimeZone::get(&tz_name).map_err(|_| {
            err(
                k("time_zone"),
                format!("unknown time zone \"{tz_name}\""),
                "use an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"",
            )
        })?;
        let mut days = Vec::new();
        for d in &raw.days {
            days.push(parse_weekday(d).ok_or_else(|| {
                err(k("days"), format!("unknown day \"{d}\""), "use mon, tue, wed, thu, fri, sat, sun")
            })?);
        }
        let mut windows = Vec::new();
        for h in &raw.hours {
            let (from, to) = parse_range(h).ok_or_else(|| {
                err(
                    k("hours"),
                    format!("invalid range \"{h}\""),
                    "use \"HH:MM-HH:MM\" in the time zone, e.g. \"22:00-06:00\" (across midnight is fine)",
                )
            })?;
            let on = if raw.days.is_empty() { String::new() } else { format!(" on {}", raw.days.join(", ")) };
            windows.push(Window::Daily {
                days: days.clone(),
                from,
                to,
                tz: tz.clone(),
                label: format!("quiet hours {h} {tz_name}{on}"),
            });
        }
        if !raw.days.is_empty() && raw.hours.is_empty() {
            return Err(err(k("days"), "is set without hours", "add hours = [\"22:00-06:00\"] or remove days"));
        }
        for (i, m) in raw.maintenance.iter().enumerate() {
            let key = format!("{at}.quiet.maintenance[{i}]");
            let ts = |f: &str, v: &str| {
                v.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| {
                    err(
                        format!("{key}.{f}"),
                        format!("invalid time \"{v}\""),
                        "use RFC 3339 with an offset, e.g. \"2026-12-24T18:00:00+01:00\"",
                    )
                })
            };
            let (start_ms, end_ms) = (ts("start", &m.start)?, ts("end", &m.end)?);
            if end_ms <= start_ms {
                return Err(err(format!("{key}.end"), "is not after start", "set end later than start"));
            }
            let label =
                m.reason.clone().map(|r| format!("maintenance: {r}")).unwrap_or_else(|| "maintenance window".into());
            windows.push(Window::Once { start_ms, end_ms, label });
        }
        let action = match (raw.action.as_deref().unwrap_or("hold"), raw.lower_scenario) {
            ("hold", None) => QuietAction::Hold,
            ("lower", Some(s)) if SCENARIOS.contains(&s.as_str()) => QuietAction::Lower(s),
            ("lower", Some(s)) => {
                return Err(err(
                    k("lower_scenario"),
                    format!("unknown scenario \"{s}\""),
                    "use single_ack, multi_ack or emergency",
                ));
            }
            ("lower", None) => {
                return Err(err(
                    k("lower_scenario"),
                    "is required with action = \"lower\"",
                    "add lower_scenario = \"single_ack\"",
                ));
            }
            ("hold", Some(_)) => {
                return Err(err(
                    k("lower_scenario"),
                    "is only used with action = \"lower\"",
                    "set action = \"lower\" or remove lower_scenario",
                ));
            }
            (other, _) => {
                return Err(err(
                    k("action"),
                    format!("unknown action \"{other}\""),
                    "use \"hold\" (record, digest at the end) or \"lower\" (page with lower_scenario)",
                ));
            }
        };
        let high_severity = match raw.high_severity.as_deref() {
            None => Severity::High,
            Some(s @ ("informational" | "low" | "medium" | "high")) => Severity::parse(s),
            Some(other) => {
                return Err(err(
                    k("high_severity"),
                    format!("unknown severity \"{other}\""),
                    "use informational, low, medium or high",
                ));
            }
        };
        if windows.is_empty() {
            return Err(err(
                k("hours"),
                "no window: neither hours nor maintenance is set",
                "add hours = [\"22:00-06:00\"] or a [[...quiet.maintenance]] window",
            ));
        }
        Ok(QuietHours { windows, action, high_pages: raw.high_severity_pages.unwrap_or(true), high_severity })
    }
}

/// How a route pages the alerts of one Graph incident.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupBy {
    /// One page per alert (the default).
    #[default]
    Alert,
    /// The first alert of an incident pages; later ones are added to that page (annotations
    /// with an API key, else a follow-up page only when the incident's severity rises).
    Incident,
}

impl GroupBy {
    pub(super) fn parse_at(key: &str, v: Option<&str>, default: GroupBy) -> Result<GroupBy, ConfigError> {
        match v {
            None => Ok(default),
            Some("alert") => Ok(GroupBy::Alert),
            Some("incident") => Ok(GroupBy::Incident),
            Some(other) => Err(err(
                key,
                format!("unknown grouping \"{other}\""),
                "use \"alert\" (one page per alert) or \"incident\" (one page per Graph incident; later alerts are added to it)",
            )),
        }
    }
}

/// What to do when SIGNL4 reports that a page reached nobody (`signl4.md` §2.4).
#[derive(Debug, Clone, Default)]
pub enum Fallback {
    /// Only say so (metric, `/readyz`, a comment on the alert or incident).
    #[default]
    None,
    /// Page the same team again with the emergency scenario (`X-S4-AlertingScenario`).
    Emergency,
    /// Page another SIGNL4 team (its team secret).
    Team(SecretString),
}

/// The keys of the tenant's own team that messages outside the configuration name.
pub const KEY_TEAM_SECRET: &str = "tenant.signl4.team_secret";
pub const KEY_API_KEY: &str = "tenant.signl4.api_key";

/// SIGNL4 alerting scenario (`signl4.md` §1.4).
pub const SCENARIOS: [&str; 3] = ["single_ack", "multi_ack", "emergency"];

#[derive(Debug, Clone)]
pub struct Signl4Options {
    pub team_secret: SecretString,
    /// `X-S4-Service` (category); none = the team's default category.
    pub service: Option<String>,
    /// `X-S4-SourceSystem`.
    pub source_system: String,
    /// `X-S4-AlertingScenario` per severity key (`informational`, `low`, `medium`, `high`,
    /// `unknown`).
    pub scenario: BTreeMap<String, String>,
    /// Secret path segment of this team's outbound-webhook URL
    /// (`http://connector/signl4/{inbound_token}`); none = receiver off for this tenant.
    pub inbound_token: Option<SecretString>,
    /// SIGNL4 REST API key (`X-S4-Api-Key`) for the polling fallback; none = off.
    pub api_key: Option<SecretString>,
    pub api_poll_interval: Duration,
    /// SIGNL4 team id, to narrow REST polling to this team.
    pub team_id: Option<String>,
    /// SIGNL4's limits (`signl4.md` §1.7): commercial (default), free, or unlimited.
    pub plan: Signl4Plan,
    /// With an API key: follow each page's event until SIGNL4 says whether anybody was
    /// paged (`GET /v2/events/{id}`, default on).
    pub verify: bool,
    /// When a verified page reached nobody.
    pub fallback: Fallback,
    /// The team's storm budget (`[tenant.signl4.storm]`, default 20 pages per 5 minutes).
    pub storm: StormPolicy,
    /// One page per alert or per Graph incident (`group`; routes inherit the tenant's).
    pub group: GroupBy,
    /// Quiet hours and maintenance windows (`quiet`; routes inherit the tenant's).
    pub quiet: Option<QuietHours>,
}

impl Signl4Options {
    pub fn scenario_for(&self, severity: &Severity) -> Option<&str> {
        self.scenario.get(severity.key()).map(String::as_str)
    }

    /// Validates `<prefix>.signl4` (`prefix` is the tenant's key, e.g. `tenant[0]`).
    pub(super) fn from_raw(prefix: &str, raw: Option<RawSignl4>, env: &dyn Env) -> Result<Signl4Options, ConfigError> {
        let Some(s4) = raw else {
            return Err(err(
                format!("{prefix}.signl4"),
                "missing [tenant.signl4] section",
                "add [tenant.signl4] with team_secret = \"env:SIGNL4_TEAM_SECRET\"",
            ));
        };
        Signl4Options::parse_at(&format!("{prefix}.signl4"), s4, env)
    }

    /// Validates a team's settings whose keys are `<at>.team_secret`, `<at>.api_key`, … (a
    /// tenant's `[tenant.signl4]` or a route with its own team).
    pub(super) fn parse_at(at: &str, s4: RawSignl4, env: &dyn Env) -> Result<Signl4Options, ConfigError> {
        let k = |field: &str| format!("{at}.{field}");
        let team_secret = resolve_secret(&k("team_secret"), s4.team_secret.as_ref(), env)?;
        check_scenarios(at, &s4.scenario)?;
        let inbound_token = match &s4.inbound_token {
            None => None,
            Some(_) => {
                let tok = resolve_secret(&k("inbound_token"), s4.inbound_token.as_ref(), env)?;
                if tok.expose_secret().len() < 16 {
                    return Err(err(
                        k("inbound_token"),
                        "is shorter than 16 characters",
                        "use a long random value, e.g. `openssl rand -hex 24`",
                    ));
                }
                if !tok.expose_secret().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    return Err(err(k("inbound_token"), "must be URL-safe", "use letters, digits, '-' and '_' only"));
                }
                Some(tok)
            }
        };
        let api_key = match &s4.api_key {
            None => None,
            Some(_) => Some(resolve_secret(&k("api_key"), s4.api_key.as_ref(), env)?),
        };
        let plan = match s4.plan.as_deref().unwrap_or("commercial") {
            "commercial" => Signl4Plan::Commercial,
            "free" => Signl4Plan::Free,
            "unlimited" => Signl4Plan::Unlimited,
            other => {
                return Err(err(
                    k("plan"),
                    format!("unknown plan \"{other}\""),
                    "use \"commercial\" (150 events per 15 s, 600 per minute) or \"free\" (10 per 15 s, 240 per minute); \"unlimited\" only for a SIGNL4 that does not limit (the emulator)",
                ));
            }
        };
        let fallback = match s4.fallback.as_deref().unwrap_or("none") {
            "none" => Fallback::None,
            "emergency" => Fallback::Emergency,
            "team" => {
                Fallback::Team(resolve_secret(&k("fallback_team_secret"), s4.fallback_team_secret.as_ref(), env)?)
            }
            other => {
                return Err(err(
                    k("fallback"),
                    format!("unknown fallback \"{other}\""),
                    "use \"none\", \"emergency\" (page the same team again with the emergency scenario) or \"team\" (page the team of signl4.fallback_team_secret)",
                ));
            }
        };
        if !matches!(fallback, Fallback::None) && api_key.is_none() {
            return Err(err(
                k("fallback"),
                format!("needs {}: only the REST API tells whether a page reached anybody", k("api_key")),
                format!("add {} (SIGNL4 → Integrations → API Keys) or remove {}", k("api_key"), k("fallback")),
            ));
        }
        if s4.fallback_team_secret.is_some() && !matches!(fallback, Fallback::Team(_)) {
            return Err(err(
                k("fallback_team_secret"),
                format!("is set but {} is not \"team\"", k("fallback")),
                format!("set {} = \"team\" or remove fallback_team_secret", k("fallback")),
            ));
        }
        let storm = RawStorm::parse_at(at, s4.storm)?;
        let group = GroupBy::parse_at(&k("group"), s4.group.as_deref(), GroupBy::Alert)?;
        let quiet = s4.quiet.map(|q| RawQuiet::parse_at(at, q)).transpose()?;
        Ok(Signl4Options {
            quiet,
            storm,
            group,
            verify: s4.verify.unwrap_or(true),
            fallback,
            plan,
            team_secret,
            service: s4.service.filter(|s| !s.is_empty()),
            source_system: s4.source_system.unwrap_or_else(|| "Microsoft Security (signl4-sentinel)".into()),
            scenario: s4.scenario,
            inbound_token,
            api_key,
            api_poll_interval: duration(
                &k("api_poll_interval"),
                s4.api_poll_interval.as_ref(),
                Duration::from_secs(30),
                Duration::from_millis(100),
            )?,
            team_id: s4.team_id.filter(|s| !s.is_empty()),
        })
    }
}

/// Validates a scenario table `<at>.scenario` (severity key → SIGNL4 alerting scenario).
pub(super) fn check_scenarios(at: &str, scenario: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (sev, scen) in scenario {
        if !["informational", "low", "medium", "high", "unknown"].contains(&sev.as_str()) {
            return Err(err(
                format!("{at}.scenario.{sev}"),
                "unknown severity",
                "use informational, low, medium, high or unknown as keys",
            ));
        }
        if !SCENARIOS.contains(&scen.as_str()) {
            return Err(err(
                format!("{at}.scenario.{sev}"),
                format!("unknown scenario \"{scen}\""),
                "use single_ack, multi_ack or emergency",
            ));
        }
    }
    Ok(())
}

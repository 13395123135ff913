//! What an inbound credential may act on (pure): a SIGNL4 team's outbound-webhook token (or the
//! REST poller of a team's API key) acts only on alerts paged to that team, or that SIGNL4
//! reports as being in that team now (an escalation moves an alert to another team,
//! `signl4.md` §2.4; the escalation event `202` names the team, §3.3).
//!
//! SIGNL4 signs nothing (§3.1): the token in the URL path is the only proof of who sends an
//! event, so it proves *which team's* webhook sent it, nothing more.

use crate::route::DEFAULT_ROUTE;

/// The teams one credential names: their routes (`default` for the tenant's own team) and
/// the SIGNL4 team ids configured for them (`team_id`), for events that name their team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub teams: Vec<String>,
    pub team_ids: Vec<String>,
}

/// The verdict on one event for one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The alert paged one of the credential's teams.
    Allowed,
    /// The alert is not (yet) known to be in the credential's team, but the event says SIGNL4
    /// has it in this team (named by its route) now: accepted, and the team is recorded with
    /// the alert so that its later events (which do not name their team) are accepted too.
    MovedTo(String),
    /// Anything else: refused, nothing changes.
    Refused,
}

impl Grant {
    /// Whether this credential names nothing (a token no team holds).
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty()
    }
}

/// The teams an alert's pages went to, from its stored routes mapped to their teams by
/// `team_of` (a route without its own team secret pages the tenant's own team); none stored
/// means the default route.
pub fn alert_teams<'a>(routes: &'a [String], team_of: impl Fn(&'a str) -> String) -> Vec<String> {
    if routes.is_empty() {
        return vec![team_of(DEFAULT_ROUTE)];
    }
    let mut out: Vec<String> = Vec::new();
    for r in routes {
        let t = team_of(r);
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Decides whether an event presented with `grant` may act on an alert of `alert_teams`;
/// `event_team` is the SIGNL4 team id the event names (`team.id`), if any.
pub fn check(grant: &Grant, alert_teams: &[String], event_team: Option<&str>) -> Verdict {
    if grant.teams.iter().any(|t| alert_teams.contains(t)) {
        return Verdict::Allowed;
    }
    let Some(id) = event_team.map(str::trim).filter(|s| !s.is_empty()) else { return Verdict::Refused };
    // `team_ids[i]` belongs to `teams[i]`; both lists are built together.
    match grant.team_ids.iter().position(|t| t.eq_ignore_ascii_case(id)).and_then(|i| grant.teams.get(i)) {
        Some(route) => Verdict::MovedTo(route.clone()),
        None => Verdict::Refused,
    }
}

/// The routes to store for an alert after it moved to `team` (the stored routes, `default`
/// spelled out when none were stored, and the team's route once).
pub fn routes_after_move(routes: &[String], team: &str) -> Vec<String> {
    let mut out: Vec<String> = if routes.is_empty() { vec![DEFAULT_ROUTE.to_string()] } else { routes.to_vec() };
    if !out.iter().any(|r| r == team) {
        out.push(team.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(teams: &[(&str, &str)]) -> Grant {
        Grant {
            teams: teams.iter().map(|(t, _)| t.to_string()).collect(),
            team_ids: teams.iter().map(|(_, id)| id.to_string()).collect(),
        }
    }

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_token_acts_only_for_the_teams_an_alert_paged() {
        let a = grant(&[("endpoint", "id-a")]);
        assert_eq!(check(&a, &v(&["identity"]), None), Verdict::Refused);
        assert_eq!(check(&a, &v(&["identity", "endpoint"]), None), Verdict::Allowed);
        assert_eq!(check(&Grant::default(), &v(&["default"]), None), Verdict::Refused);
        // An event that names another team (or an empty one) changes nothing.
        assert_eq!(check(&a, &v(&["identity"]), Some("id-b")), Verdict::Refused);
        assert_eq!(check(&a, &v(&["identity"]), Some("  ")), Verdict::Refused);
    }

    #[test]
    fn an_alert_escalated_into_the_tokens_team_is_accepted_and_recorded() {
        let a = grant(&[("default", ""), ("endpoint", "ID-A")]);
        assert_eq!(check(&a, &v(&["identity"]), Some("id-a")), Verdict::MovedTo("endpoint".into()));
        // A team without a configured id is never matched by an empty team field.
        assert_eq!(check(&a, &v(&["identity"]), Some("")), Verdict::Refused);
        assert_eq!(routes_after_move(&v(&["identity"]), "endpoint"), v(&["identity", "endpoint"]));
        assert_eq!(routes_after_move(&[], "endpoint"), v(&["default", "endpoint"]));
        assert_eq!(routes_after_move(&v(&["endpoint"]), "endpoint"), v(&["endpoint"]));
    }

    #[test]
    fn alert_teams_map_routes_to_their_teams() {
        let team_of = |r: &str| if r == "soc" { "default".to_string() } else { r.to_string() };
        assert_eq!(alert_teams(&[], team_of), v(&["default"]));
        assert_eq!(alert_teams(&v(&["identity", "soc", "default"]), team_of), v(&["identity", "default"]));
    }
}

//! `[[tenant.route]]`: routing, validation, redaction; storm budgets and quiet hours.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

const ROUTED: &str = r#"
    [[tenant]]
    name = "contoso"
    tenant_id = "t1"
    client_id = "c1"
    client_secret = "x-secret"
    [tenant.signl4]
    team_secret = "team-default"
    service = "Security"
    scenario = { high = "emergency" }

    [[tenant.route]]
    name = "endpoint-high"
    team_secret = "team-endpoint"
    api_key = "key-endpoint"
    service = "Endpoint"
    [tenant.route.match]
    min_severity = "high"
    product = ["microsoftDefenderForEndpoint"]

    [[tenant.route]]
    name = "identity"
    team_secret = "team-identity"
    continue = true
    [tenant.route.match]
    product = ["microsoftDefenderForIdentity", "azureAdIdentityProtection"]

    [[tenant.route]]
    name = "identity-soc"
    [tenant.route.match]
    source = "graph"
    title = "(?i)sign-in"
"#;

fn routed_alert(sev: &str, src: &str, title: &str) -> crate::alert::GraphAlert {
    crate::alert::GraphAlert::from_json(serde_json::json!({"id": "a", "lastUpdateDateTime": "2026-01-01T00:00:00Z",
        "severity": sev, "serviceSource": src, "title": title}))
    .unwrap()
}

fn routes_of(t: &TenantConfig, a: &crate::alert::GraphAlert) -> Vec<String> {
    crate::routing::select(&t.routes, t.unrouted(), &crate::routing::Facts::graph(a))
        .iter()
        .map(|r| r.name.clone())
        .collect()
}

#[test]
fn routes_send_alerts_to_their_teams_first_match_wins_unless_continue() {
    let c = load(ROUTED, &env(&[])).unwrap();
    let t = &c.tenants[0];
    assert_eq!(t.routes.len(), 3);
    let ep = &t.routes[0];
    assert!(ep.own_team);
    assert_eq!(ep.signl4.team_secret.expose_secret(), "team-endpoint");
    assert_eq!(ep.signl4.service.as_deref(), Some("Endpoint"));
    assert_eq!(ep.signl4.scenario.get("high").map(String::as_str), Some("emergency"), "inherited from the tenant");
    // The third route has no team of its own: the tenant's team with the tenant's settings.
    assert!(!t.routes[2].own_team);
    assert_eq!(t.routes[2].signl4.team_secret.expose_secret(), "team-default");

    assert_eq!(routes_of(t, &routed_alert("high", "microsoftDefenderForEndpoint", "x")), ["endpoint-high"]);
    // Medium endpoint alert: no route → default.
    assert_eq!(routes_of(t, &routed_alert("medium", "microsoftDefenderForEndpoint", "x")), ["default"]);
    // `continue`: identity team, then the SOC route (the tenant's own team).
    assert_eq!(
        routes_of(t, &routed_alert("low", "azureAdIdentityProtection", "Unfamiliar sign-in properties")),
        ["identity", "identity-soc"]
    );
    // Continue, but nothing else matches: only the identity team (not the default as well).
    assert_eq!(routes_of(t, &routed_alert("low", "microsoftDefenderForIdentity", "x")), ["identity"]);
}

#[test]
fn unrouted_alerts_can_be_dropped_and_routes_to_one_team_page_it_once() {
    let text = ROUTED
        .replace("scenario = { high = \"emergency\" }", "scenario = { high = \"emergency\" }\n    unrouted = \"drop\"");
    let c = load(&text, &env(&[])).unwrap();
    let t = &c.tenants[0];
    assert!(routes_of(t, &routed_alert("medium", "microsoftDefenderForEndpoint", "x")).is_empty());
    // Two continuing routes to the same team page it once.
    let text =
        ROUTED.replace("name = \"identity-soc\"", "name = \"identity-soc\"\n    team_secret = \"team-identity\"");
    let c = load(&text, &env(&[])).unwrap();
    assert_eq!(routes_of(&c.tenants[0], &routed_alert("low", "azureAdIdentityProtection", "sign-in")), ["identity"]);
    // Without routes, "drop" would never page: refused.
    let e = load(
        &MINIMAL.replace("file:/run/secrets/team\"", "file:/run/secrets/team\"\n    unrouted = \"drop\""),
        &env(&[("CONTOSO_SECRET", "s")]),
    )
    .unwrap_err();
    assert_eq!(e.key, "tenant[0].signl4.unrouted");
}

#[test]
fn invalid_routes_are_rejected_naming_the_rule_and_the_key() {
    let cases: [(&str, &str, &str); 6] = [
        ("title = \"(?i)sign-in\"", "title = \"(unclosed\"", "tenant[0].route[2].match.title"),
        ("min_severity = \"high\"", "min_severity = \"critical\"", "tenant[0].route[0].match.min_severity"),
        ("source = \"graph\"", "source = \"defender\"", "tenant[0].route[2].match.source"),
        ("name = \"identity-soc\"", "name = \"identity\"", "tenant[0].route[2].name"),
        ("name = \"identity-soc\"", "name = \"identity-soc\"\n    api_key = \"k\"", "tenant[0].route[2].api_key"),
        ("name = \"endpoint-high\"", "name = \"default\"", "tenant[0].route[0].name"),
    ];
    for (from, to, key) in cases {
        let e = load(&ROUTED.replace(from, to), &env(&[])).unwrap_err();
        assert_eq!(e.key, key, "{e}");
        assert!(!e.fix.is_empty(), "{e}");
    }
    let e = load(&ROUTED.replace("product = [\"microsoftDefenderForEndpoint\"]", "colour = \"red\""), &env(&[]))
        .unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    let e = load(&ROUTED.replace("service = \"Endpoint\"", "scenario = { high = \"loud\" }"), &env(&[])).unwrap_err();
    assert_eq!(e.key, "tenant[0].route[0].scenario.high");
}

#[test]
fn route_secrets_are_redacted() {
    let c = load(ROUTED, &env(&[])).unwrap();
    let r = crate::redact::Redactor::from_config(&c);
    let text = r.scrub("team-endpoint key-endpoint team-identity team-default");
    assert!(!text.contains("team-") && !text.contains("key-endpoint"), "{text}");
    assert!(debug_is_redacted(&c));
}

#[test]
fn storm_budget_has_documented_defaults_and_checked_values() {
    let vars = [("CONTOSO_SECRET", "x")];
    let c = load(MINIMAL, &env(&vars)).unwrap();
    let d = &c.tenants[0].signl4.storm;
    assert_eq!((d.budget, d.window, d.high_lane), (20, Duration::from_secs(300), 5));
    assert_eq!(d.high_severity, crate::alert::Severity::High);
    let with = |s: &str| {
        MINIMAL.replace(
            "team_secret = \"file:/run/secrets/team\"",
            &format!("team_secret = \"file:/run/secrets/team\"\n    [tenant.signl4.storm]\n    {s}"),
        )
    };
    let c = load(&with("budget = 0"), &env(&vars)).unwrap();
    assert_eq!(c.tenants[0].signl4.storm.budget, 0, "0 turns the budget off");
    let c = load(
        &with("budget = 50\n    window = \"10m\"\n    high_lane = 0\n    high_severity = \"medium\""),
        &env(&vars),
    )
    .unwrap();
    let s = &c.tenants[0].signl4.storm;
    assert_eq!((s.budget, s.window, s.high_lane), (50, Duration::from_secs(600), 0));
    for (bad, key) in [
        ("window = \"soon\"", "tenant[0].signl4.storm.window"),
        ("high_severity = \"critical\"", "tenant[0].signl4.storm.high_severity"),
    ] {
        let e = load_err(&with(bad), &vars);
        assert_eq!(e.key, key, "{e}");
        assert!(!e.fix.is_empty());
    }
    assert!(load_err(&with("budgett = 3"), &vars).to_string().contains("budgett"));
    // A route paging the tenant's own team shares its budget; only a route's own team has one.
    let e = load(
        &ROUTED.replace("name = \"identity-soc\"", "name = \"identity-soc\"\n    storm = { budget = 3 }"),
        &env(&[]),
    )
    .unwrap_err();
    assert_eq!(e.key, "tenant[0].route[2].storm", "{e}");
    let c = load(
        &ROUTED.replace("name = \"endpoint-high\"", "name = \"endpoint-high\"\n    storm = { budget = 3 }"),
        &env(&[]),
    )
    .unwrap();
    assert_eq!(c.tenants[0].routes[0].signl4.storm.budget, 3);
}

#[test]
fn quiet_hours_load_and_bad_ones_name_the_key() {
    let vars = [("CONTOSO_SECRET", "x")];
    let with = |s: &str| {
        MINIMAL.replace(
            "team_secret = \"file:/run/secrets/team\"",
            &format!("team_secret = \"file:/run/secrets/team\"\n    [tenant.signl4.quiet]\n    {s}"),
        )
    };
    let ok = "time_zone = \"Europe/Berlin\"\n    hours = [\"22:00-06:00\"]\n    days = [\"fri\", \"sat\"]\n    maintenance = [{ start = \"2026-12-24T18:00:00+01:00\", end = \"2026-12-27T08:00:00+01:00\", reason = \"freeze\" }]";
    let c = load(&with(ok), &env(&vars)).unwrap();
    let q = c.tenants[0].signl4.quiet.as_ref().unwrap();
    assert_eq!(q.windows.len(), 2);
    assert!(q.high_pages);
    assert_eq!(q.action, crate::quiet::QuietAction::Hold);
    for (bad, key) in [
        ("time_zone = \"Mars/Olympus\"\n    hours = [\"22:00-06:00\"]", "tenant[0].signl4.quiet.time_zone"),
        ("hours = [\"22-6\"]", "tenant[0].signl4.quiet.hours"),
        ("hours = [\"22:00-06:00\"]\n    days = [\"someday\"]", "tenant[0].signl4.quiet.days"),
        ("hours = [\"22:00-06:00\"]\n    action = \"lower\"", "tenant[0].signl4.quiet.lower_scenario"),
        ("hours = [\"22:00-06:00\"]\n    action = \"snooze\"", "tenant[0].signl4.quiet.action"),
        (
            "maintenance = [{ start = \"tomorrow\", end = \"2026-12-27T08:00:00Z\" }]",
            "tenant[0].signl4.quiet.maintenance[0].start",
        ),
        (
            "maintenance = [{ start = \"2026-12-27T08:00:00Z\", end = \"2026-12-26T08:00:00Z\" }]",
            "tenant[0].signl4.quiet.maintenance[0].end",
        ),
        ("action = \"hold\"", "tenant[0].signl4.quiet.hours"),
    ] {
        let e = load_err(&with(bad), &vars);
        assert_eq!(e.key, key, "{e}");
        assert!(!e.fix.is_empty());
    }
    // Routes inherit the tenant's quiet hours unless they set their own.
    let routed = ROUTED.replace(
        "scenario = { high = \"emergency\" }\n",
        "scenario = { high = \"emergency\" }\n    quiet = { hours = [\"22:00-06:00\"], action = \"lower\", lower_scenario = \"single_ack\" }\n",
    );
    let c = load(&routed, &env(&[])).unwrap();
    assert!(c.tenants[0].routes.iter().all(|r| r.signl4.quiet.is_some()));
}

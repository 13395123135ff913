//! Tests of [`load`] as a whole: defaults, overrides, and errors that name the key and the fix.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

struct FakeEnv(Vec<(String, String)>);
impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
    fn vars(&self) -> Vec<(String, String)> {
        self.0.clone()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        if path == "/run/secrets/team" {
            Ok("team-from-file\n".into())
        } else {
            Err("No such file or directory".into())
        }
    }
}
fn env(pairs: &[(&str, &str)]) -> FakeEnv {
    FakeEnv(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
}

const MINIMAL: &str = r#"
    [[tenant]]
    name = "contoso"
    tenant_id = "t1"
    client_id = "c1"
    client_secret = "env:CONTOSO_SECRET"
    [tenant.signl4]
    team_secret = "file:/run/secrets/team"
"#;

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = load(MINIMAL, &env(&[("CONTOSO_SECRET", "s3cr3t-value")])).unwrap();
    let t = &c.tenants[0];
    assert_eq!(t.poll_interval, Duration::from_secs(10));
    assert_eq!(t.lookback, Duration::from_secs(86400));
    assert_eq!(t.client_secret().map(|s| s.expose_secret()), Some("s3cr3t-value"));
    assert_eq!(t.signl4.team_secret.expose_secret(), "team-from-file");
    assert_eq!(t.endpoints.graph.as_str(), "https://graph.microsoft.com/");
    assert_eq!(t.scopes.graph, "https://graph.microsoft.com/.default");
    assert_eq!(t.filter.statuses, vec!["new"]);
    assert_eq!(c.delivery.dead_letter_after, Duration::from_secs(86400));
    assert!(matches!(c.storage, StorageConfig::Sqlite { .. }));
    assert!(debug_is_redacted(&c));
}

#[test]
fn national_cloud_presets_and_explicit_overrides() {
    let text = MINIMAL.replace(
        "[tenant.signl4]",
        "cloud = \"usgov\"\n[tenant.endpoints]\ngraph = \"http://127.0.0.1:9/graph/\"\n[tenant.signl4]",
    );
    let c = load(&text, &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    let t = &c.tenants[0];
    assert_eq!(t.endpoints.authority.as_str(), "https://login.microsoftonline.us/");
    assert_eq!(t.endpoints.graph.as_str(), "http://127.0.0.1:9/graph");
    assert_eq!(t.scopes.graph, "https://graph.microsoft.us/.default");
}

#[test]
fn env_overrides_replace_file_values() {
    let c = load(
        MINIMAL,
        &env(&[
            ("CONTOSO_SECRET", "x"),
            ("SIGNL4_SENTINEL__TENANT__0__POLL_INTERVAL", "30s"),
            ("SIGNL4_SENTINEL__TENANT__0__FILTER__STATUSES", "new,inProgress"),
            ("SIGNL4_SENTINEL__DELIVERY__CONCURRENCY", "4"),
            ("SIGNL4_SENTINEL__STORAGE__PATH", "/data/s4s.db"),
        ]),
    )
    .unwrap();
    assert_eq!(c.tenants[0].poll_interval, Duration::from_secs(30));
    assert_eq!(c.tenants[0].filter.statuses, vec!["new", "inProgress"]);
    assert_eq!(c.delivery.concurrency, 4);
    assert!(matches!(&c.storage, StorageConfig::Sqlite { path } if path.to_str() == Some("/data/s4s.db")));
}

fn load_err(text: &str, pairs: &[(&str, &str)]) -> ConfigError {
    load(text, &env(pairs)).unwrap_err()
}

#[test]
fn errors_name_the_key_and_the_fix() {
    let e = load_err(
        &MINIMAL.replace("name = \"contoso\"", "name = \"contoso\"\npoll_intervall = \"5s\""),
        &[("CONTOSO_SECRET", "x")],
    );
    assert_eq!(e.key, "tenant[0].poll_intervall");
    assert!(e.problem.contains("unknown field `poll_intervall`"), "{e}");

    let e = load_err(
        &MINIMAL.replace("name = \"contoso\"", "name = \"contoso\"\npoll_interval = \"5 parsecs\""),
        &[("CONTOSO_SECRET", "x")],
    );
    assert_eq!(e.key, "tenant[0].poll_interval");
    assert!(e.fix.contains("24h"));

    let e = load_err(MINIMAL, &[]);
    assert_eq!(e.key, "tenant[0].client_secret");
    assert!(e.to_string().contains("CONTOSO_SECRET is not set"));

    let e = load_err(
        &MINIMAL.replace("[tenant.signl4]", "[tenant.filter]\nmin_severity = \"severe\"\n[tenant.signl4]"),
        &[("CONTOSO_SECRET", "x")],
    );
    assert_eq!(e.key, "tenant[0].filter.min_severity");

    let e = load_err(&MINIMAL.replace("team_secret", "team_secret_x"), &[("CONTOSO_SECRET", "x")]);
    assert!(e.to_string().contains("team_secret_x"));

    let e = load_err("[storage]\nbackend = \"mysql\"\n", &[]);
    assert_eq!(e.key, "storage.backend");

    let e = load_err("", &[]);
    assert_eq!(e.key, "tenant");

    let e = load_err("[server\nlisten=1", &[]);
    assert!(e.problem.starts_with("invalid TOML"));
}

#[test]
fn secrets_never_appear_in_errors() {
    // A literal secret in a config with a later error must not be echoed.
    let text = MINIMAL
        .replace("env:CONTOSO_SECRET", "SUPERSECRET-123")
        .replace("[tenant.signl4]", "cloud = \"mars\"\n[tenant.signl4]");
    let e = load_err(&text, &[]);
    assert!(!e.to_string().contains("SUPERSECRET"));
    assert_eq!(e.key, "tenant[0].cloud");
}

#[test]
fn sync_settings_are_validated() {
    let with = |extra: &str| MINIMAL.replace("[tenant.signl4]", &format!("{extra}\n[tenant.signl4]"));
    let c = load(MINIMAL, &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    assert!(c.tenants[0].sync.enabled);
    assert_eq!(c.tenants[0].sync.incident_tag.as_deref(), Some("SIGNL4"));
    assert!(c.tenants[0].signl4.inbound_token.is_none());
    let e = load_err(&with("[tenant.sync]\nclose_classification = \"bogus\""), &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "tenant[0].sync.close_classification");
    assert!(e.fix.contains("truePositive"));
    let e = load_err(&with("[tenant.sync]\nclose_determination = \"malware\""), &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "tenant[0].sync.close_determination");
    let c = load(&with("[tenant.sync]\nclose_classification = \"truePositive\"\nclose_determination = \"malware\"\nincident_tag = \"\"\n[tenant.sync.user_map]\n\"Rene@SIGNL4.com\" = \"rene@contoso.com\""), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    assert_eq!(c.tenants[0].sync.incident_tag, None);
    assert_eq!(c.tenants[0].sync.options.owner_for("rene@signl4.com"), "rene@contoso.com");
    let short = MINIMAL.replace("[tenant.signl4]", "[tenant.signl4]\ninbound_token = \"short\"");
    assert_eq!(load_err(&short, &[("CONTOSO_SECRET", "x")]).key, "tenant[0].signl4.inbound_token");
}

#[test]
fn sentinel_workspaces_and_classification_pairs() {
    let ws = |extra: &str| {
        MINIMAL.replace(
            "[tenant.signl4]",
            &format!("[[tenant.sentinel]]\nname = \"prod\"\nsubscription_id = \"s\"\nresource_group = \"rg\"\nworkspace_name = \"ws\"\n{extra}\n[tenant.signl4]"),
        )
    };
    let c = load(&ws(""), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    let w = c.tenants[0].sentinel()[0];
    assert_eq!((w.api_version.as_str(), w.page_per, w.enrichment_rows), ("2025-12-01", PagePer::Incident, 10));
    assert_eq!(w.close_classification, "Undetermined");
    assert_eq!(w.statuses, vec!["New"]);
    assert!(
        c.tenants[0].filter.exclude_service_sources.contains(&"microsoftSentinel".to_string()),
        "no double paging via Graph"
    );
    for (cl, reason) in [
        ("TruePositive", Some("SuspiciousActivity")),
        ("BenignPositive", Some("SuspiciousButExpected")),
        ("FalsePositive", Some("IncorrectAlertLogic")),
        ("FalsePositive", Some("InaccurateData")),
        ("Undetermined", None),
    ] {
        let extra = match reason {
            Some(r) => format!("close_classification = \"{cl}\"\nclose_classification_reason = \"{r}\""),
            None => format!("close_classification = \"{cl}\""),
        };
        assert!(load(&ws(&extra), &env(&[("CONTOSO_SECRET", "x")])).is_ok(), "{cl} {reason:?}");
    }
    for bad in [
        "close_classification = \"TruePositive\"",
        "close_classification = \"TruePositive\"\nclose_classification_reason = \"InaccurateData\"",
        "close_classification = \"Undetermined\"\nclose_classification_reason = \"SuspiciousActivity\"",
        "close_classification = \"Maybe\"",
    ] {
        let e = load_err(&ws(bad), &[("CONTOSO_SECRET", "x")]);
        assert_eq!(e.key, "tenant[0].sentinel[0].close_classification");
        assert!(
            e.fix.contains("TruePositive → SuspiciousActivity")
                && e.fix.contains("FalsePositive → IncorrectAlertLogic | InaccurateData")
                && e.fix.contains("Undetermined (no reason)"),
            "{e}"
        );
    }
    assert_eq!(load_err(&ws("page_per = \"team\""), &[("CONTOSO_SECRET", "x")]).key, "tenant[0].sentinel[0].page_per");
    assert_eq!(w.comment_recheck, std::time::Duration::from_secs(300), "portal comments re-read every 5 min");
    let off = load(&ws("comment_recheck = \"0s\""), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    assert!(off.tenants[0].sentinel()[0].comment_recheck.is_zero());
    assert_eq!(
        load_err(&ws("comment_recheck = \"often\""), &[("CONTOSO_SECRET", "x")]).key,
        "tenant[0].sentinel[0].comment_recheck"
    );
    assert_eq!(
        load_err(&ws("statuses = [\"Closed\"]"), &[("CONTOSO_SECRET", "x")]).key,
        "tenant[0].sentinel[0].statuses"
    );
}

#[test]
fn fractional_and_compound_durations_load_and_bad_ones_name_the_key() {
    let with = |v: &str| MINIMAL.replace("name = \"contoso\"", &format!("name = \"contoso\"\npoll_interval = \"{v}\""));
    let c = load(&with("1m30s"), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    assert_eq!(c.tenants[0].poll_interval, Duration::from_secs(90));
    let c = load(&with("2.5s"), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    assert_eq!(c.tenants[0].poll_interval, Duration::from_millis(2500));
    let e = load_err(&with("1.5.2s"), &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "tenant[0].poll_interval");
    assert_eq!(e.problem, "invalid duration \"1.5.2s\"");
    assert!(e.fix.contains("24h") && e.fix.contains("2.5s") && e.fix.contains("1m30s"), "{e}");
    let e = load_err(&with("0.05s"), &[("CONTOSO_SECRET", "x")]);
    assert_eq!((e.key.as_str(), e.problem.as_str()), ("tenant[0].poll_interval", "0.05s is too short"));
}

#[test]
fn the_shipped_example_is_valid() {
    let c = load(example(), &env(&[])).unwrap();
    assert_eq!(c.tenants.len(), 1);
    assert_eq!(c.tenants[0].endpoints.graph.as_str(), "http://127.0.0.1:4010/graph");
}

#[test]
fn request_budgets_and_adaptive_polling_have_documented_defaults_and_checked_values() {
    let c = load(MINIMAL, &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    let t = &c.tenants[0];
    assert_eq!(t.min_poll_interval, Duration::from_secs(2));
    assert_eq!(t.late_window, Duration::from_secs(30));
    assert_eq!(t.limits, LimitsConfig { share: 0.8, graph_requests_per_minute: 150 });
    assert_eq!(t.signl4.plan, crate::budget::Signl4Plan::Commercial);
    let with = |extra: &str| MINIMAL.replace("name = \"contoso\"", &format!("name = \"contoso\"\n{extra}"));
    // A fast poll_interval is also the fastest: fixed interval.
    let c = load(&with("poll_interval = \"500ms\""), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    assert_eq!(c.tenants[0].min_poll_interval, Duration::from_millis(500));
    let tail = |extra: &str| format!("{}\n{extra}", with("late_window = \"0s\""));
    let c =
        load(&tail("[tenant.limits]\nshare = 0.5\ngraph_requests_per_minute = 60"), &env(&[("CONTOSO_SECRET", "x")]))
            .unwrap();
    assert_eq!(c.tenants[0].late_window, Duration::ZERO);
    assert_eq!(c.tenants[0].limits, LimitsConfig { share: 0.5, graph_requests_per_minute: 60 });
    let e = load_err(&tail("[tenant.limits]\nshare = 1.5"), &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "tenant[0].limits.share");
    assert!(e.fix.contains("80 %"), "{e}");
    let e = load_err(&tail("[tenant.limits]\ngraph_requests_per_minute = 0"), &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "tenant[0].limits.graph_requests_per_minute");
    let e = load_err(&tail("[tenant.limits]\nshre = 0.5"), &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "tenant[0].limits.shre");
    let free = MINIMAL.replace(
        "team_secret = \"file:/run/secrets/team\"",
        "team_secret = \"file:/run/secrets/team\"\nplan = \"free\"",
    );
    assert_eq!(
        load(&free, &env(&[("CONTOSO_SECRET", "x")])).unwrap().tenants[0].signl4.plan,
        crate::budget::Signl4Plan::Free
    );
    let bad = MINIMAL.replace(
        "team_secret = \"file:/run/secrets/team\"",
        "team_secret = \"file:/run/secrets/team\"\nplan = \"gold\"",
    );
    let e = load_err(&bad, &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "tenant[0].signl4.plan");
}

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
    crate::routing::select(t, &crate::routing::Facts::graph(a)).iter().map(|r| r.name.clone()).collect()
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

/// A tenant with no credential keys: each test adds its own.
const NO_CREDENTIAL: &str = r#"
    [[tenant]]
    name = "contoso"
    tenant_id = "t1"
    client_id = "c1"
    [tenant.signl4]
    team_secret = "team-x"
"#;

fn with_keys(keys: &str) -> String {
    NO_CREDENTIAL.replace("[tenant.signl4]", &format!("{keys}\n[tenant.signl4]"))
}

#[test]
fn a_certificate_credential_names_its_file_and_keeps_its_password_secret() {
    let text = with_keys(
        "credential = \"certificate\"\ncertificate_path = \"/etc/s4s/app.pfx\"\ncertificate_password = \"env:PFX_PW\"",
    );
    let c = load(&text, &env(&[("PFX_PW", "pfx-pass-123")])).unwrap();
    let Credential::Certificate(cert) = &c.tenants[0].credential else { panic!("{:?}", c.tenants[0].credential) };
    assert_eq!((cert.path.as_str(), cert.key.as_str()), ("/etc/s4s/app.pfx", "tenant[0].certificate_path"));
    assert_eq!(cert.password.as_ref().map(|p| p.expose_secret()), Some("pfx-pass-123"));
    assert_eq!(cert.algorithm, AssertionAlgorithm::Ps256, "PS256 unless told otherwise");
    assert!(!cert.send_chain);
    assert!(c.tenants[0].client_secret().is_none());
    assert!(debug_is_redacted(&c) && !format!("{c:?}").contains("pfx-pass-123"));
    assert!(crate::redact::Redactor::from_config(&c).scrub("pw pfx-pass-123").contains("[redacted]"));
    // The kind follows from certificate_path alone; RS256 on request.
    let c = load(&with_keys("certificate_path = \"/a.pem\"\ncertificate_algorithm = \"RS256\""), &env(&[])).unwrap();
    assert!(
        matches!(&c.tenants[0].credential, Credential::Certificate(x) if x.algorithm == AssertionAlgorithm::Rs256 && x.password.is_none())
    );
}

#[test]
fn the_azure_sdk_environment_names_fill_what_the_file_leaves_out() {
    let bare = NO_CREDENTIAL.replace("tenant_id = \"t1\"\n", "").replace("client_id = \"c1\"\n", "");
    let c = load(
        &bare,
        &env(&[
            ("AZURE_TENANT_ID", "env-tenant"),
            ("AZURE_CLIENT_ID", "env-client"),
            ("AZURE_CLIENT_SECRET", "env:NOT-A-REFERENCE"),
            ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/"),
        ]),
    )
    .unwrap();
    let t = &c.tenants[0];
    assert_eq!((t.tenant_id.as_str(), t.client_id.as_str()), ("env-tenant", "env-client"));
    // From the environment the value is the secret itself.
    assert_eq!(t.client_secret().map(|s| s.expose_secret()), Some("env:NOT-A-REFERENCE"));
    assert_eq!(t.endpoints.authority.as_str(), "https://login.microsoftonline.us/");
    // The file wins over the environment.
    let c = load(
        &with_keys("client_secret = \"file-secret\""),
        &env(&[("AZURE_TENANT_ID", "x"), ("AZURE_CLIENT_SECRET", "y")]),
    )
    .unwrap();
    assert_eq!(c.tenants[0].tenant_id, "t1");
    assert_eq!(c.tenants[0].client_secret().map(|s| s.expose_secret()), Some("file-secret"));
    // A certificate from the environment, with its password and chain setting.
    let c = load(
        NO_CREDENTIAL,
        &env(&[
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/certs/app.pfx"),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pw-from-env"),
            ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true"),
        ]),
    )
    .unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::Certificate(x)
        if x.path == "/certs/app.pfx" && x.send_chain && x.password.as_ref().is_some_and(|p| p.expose_secret() == "pw-from-env")));
    let e = load_err(&bare, &[("AZURE_CLIENT_SECRET", "s")]);
    assert_eq!(e.key, "tenant[0].tenant_id");
    assert!(e.fix.contains("AZURE_TENANT_ID"), "{e}");
}

#[test]
fn managed_identity_uses_imds_or_the_app_service_endpoint() {
    let mi = with_keys("credential = \"managed_identity\"").replace("client_id = \"c1\"\n", "");
    let c = load(&mi, &env(&[])).unwrap();
    let t = &c.tenants[0];
    assert_eq!(t.client_id, "", "system-assigned: no client id");
    assert!(matches!(&t.credential, Credential::ManagedIdentity(ManagedIdentity {
        client_id: None, source: ManagedIdentitySource::Imds { endpoint } }) if endpoint.as_str() == "http://169.254.169.254/"));
    // A user-assigned identity by client id; IMDS elsewhere (the fake cloud).
    let c = load(
        &with_keys("credential = \"managed_identity\"\n[tenant.endpoints]\nimds = \"http://127.0.0.1:9/imds\""),
        &env(&[]),
    )
    .unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::ManagedIdentity(ManagedIdentity {
        client_id: Some(id), source: ManagedIdentitySource::Imds { endpoint } }) if id == "c1" && endpoint.as_str() == "http://127.0.0.1:9/imds"));
    let c = load(&mi, &env(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://10.0.0.1:2000")])).unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::ManagedIdentity(ManagedIdentity {
        source: ManagedIdentitySource::Imds { endpoint }, .. }) if endpoint.as_str() == "http://10.0.0.1:2000/"));
    // App Service / Container Apps: the environment they set is enough, even without `credential`.
    let app_service = [("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/msi/token"), ("IDENTITY_HEADER", "hdr-secret-1")];
    let c = load(&NO_CREDENTIAL.replace("client_id = \"c1\"\n", ""), &env(&app_service)).unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::ManagedIdentity(ManagedIdentity {
        source: ManagedIdentitySource::AppService { endpoint, header }, .. })
        if endpoint.as_str() == "http://127.0.0.1:41741/msi/token" && header.expose_secret() == "hdr-secret-1"));
    assert!(crate::redact::Redactor::from_config(&c).scrub("hdr-secret-1").contains("[redacted]"));
    let e = load_err(&mi, &[("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/msi/token")]);
    assert_eq!(e.key, "tenant[0].identity_header");
    assert!(e.fix.contains("IDENTITY_HEADER"), "{e}");
    let e = load_err(&with_keys("credential = \"managed_identity\"\n[tenant.endpoints]\nimds = \"ftp://x\""), &[]);
    assert_eq!(e.key, "tenant[0].endpoints.imds");
}

#[test]
fn workload_identity_reads_the_federated_token_file() {
    // FakeEnv can read /run/secrets/team; AKS sets AZURE_FEDERATED_TOKEN_FILE and AZURE_CLIENT_ID.
    let bare = NO_CREDENTIAL.replace("client_id = \"c1\"\n", "");
    let c = load(&bare, &env(&[("AZURE_FEDERATED_TOKEN_FILE", "/run/secrets/team"), ("AZURE_CLIENT_ID", "wi-app")]))
        .unwrap();
    assert!(
        matches!(&c.tenants[0].credential, Credential::WorkloadIdentity { token_file } if token_file == "/run/secrets/team")
    );
    assert_eq!(c.tenants[0].client_id, "wi-app");
    let e = load_err(&with_keys("credential = \"workload_identity\"\nfederated_token_file = \"/nope\""), &[]);
    assert_eq!(e.key, "tenant[0].federated_token_file");
    assert!(e.problem.contains("cannot read the federated token file /nope"), "{e}");
    let e = load_err(&with_keys("credential = \"workload_identity\""), &[]);
    assert_eq!(e.key, "tenant[0].federated_token_file");
    assert!(e.fix.contains("azure.workload.identity/use"), "{e}");
    let e = load_err(
        &bare.replace("[tenant.signl4]", "federated_token_file = \"/run/secrets/team\"\n[tenant.signl4]"),
        &[],
    );
    assert_eq!(e.key, "tenant[0].client_id", "workload identity needs the app's client id");
    assert!(e.fix.contains("AZURE_CLIENT_ID"), "{e}");
}

#[test]
fn a_kind_missing_what_it_needs_names_the_key_and_the_fix() {
    let e = load_err(NO_CREDENTIAL, &[]);
    assert_eq!(e.key, "tenant[0].credential");
    assert!(e.problem.contains("no credential configured") && e.fix.contains("certificate_path"), "{e}");
    let e = load_err(&with_keys("credential = \"certificate\""), &[]);
    assert_eq!(e.key, "tenant[0].certificate_path");
    assert!(e.fix.contains("PEM") && e.fix.contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{e}");
    let e = load_err(&with_keys("credential = \"secret\""), &[]);
    assert_eq!((e.key.as_str(), e.problem.as_str()), ("tenant[0].client_secret", "missing secret"));
    let e = load_err(&with_keys("credential = \"kerberos\""), &[]);
    assert_eq!(e.key, "tenant[0].credential");
    assert!(e.fix.contains("workload_identity"), "{e}");
    let e = load_err(&with_keys("client_secret = \"s\"\ncertificate_path = \"/a.pem\""), &[]);
    assert_eq!(e.key, "tenant[0].credential");
    assert!(e.problem.contains("client_secret and certificate_path are both set"), "{e}");
    // An explicit kind settles it: the other key is ignored.
    let c = load(
        &with_keys("credential = \"certificate\"\nclient_secret = \"s\"\ncertificate_path = \"/a.pem\""),
        &env(&[]),
    )
    .unwrap();
    assert_eq!(c.tenants[0].credential.kind(), "certificate");
    let e = load_err(&with_keys("certificate_path = \"/a.pem\"\ncertificate_algorithm = \"ES256\""), &[]);
    assert_eq!(e.key, "tenant[0].certificate_algorithm");
    let e = load_err(&with_keys("certificate_path = \"\""), &[]);
    assert_eq!(e.key, "tenant[0].certificate_path");
}

#[test]
fn a_listener_beyond_loopback_needs_an_admin_token() {
    let open = MINIMAL.replace("[[tenant]]", "[server]\nlisten = \"0.0.0.0:8080\"\n\n[[tenant]]");
    let e = load_err(&open, &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "server.admin_token");
    assert!(e.problem.contains("0.0.0.0:8080") && e.problem.contains("not a loopback"), "{e}");
    assert!(e.fix.contains("openssl rand") && e.fix.contains("127.0.0.1"), "{e}");

    let with = open.replace("listen = \"0.0.0.0:8080\"", "listen = \"0.0.0.0:8080\"\nadmin_token = \"env:S4S_ADMIN\"");
    let c = load(&with, &env(&[("CONTOSO_SECRET", "x"), ("S4S_ADMIN", "admin-token-0123456789")])).unwrap();
    assert_eq!(c.server.admin_token.as_ref().map(|t| t.expose_secret()), Some("admin-token-0123456789"));
    assert!(c.server.requires_login());
    assert!(!format!("{c:?}").contains("admin-token-0123456789"), "Debug shows no admin token");
    assert!(crate::redact::Redactor::from_config(&c).scrub("x admin-token-0123456789 y").contains("[redacted]"));

    let short = with.replace("env:S4S_ADMIN", "short");
    let e = load_err(&short, &[("CONTOSO_SECRET", "x")]);
    assert_eq!(e.key, "server.admin_token");
    assert!(!e.to_string().contains("short\""), "the secret is not echoed: {e}");

    // Loopback (the default, IPv6 too) needs none; an environment override can open it up.
    let c = load(MINIMAL, &env(&[("CONTOSO_SECRET", "x")])).unwrap();
    assert!(c.server.admin_token.is_none() && !c.server.requires_login());
    let v6 = MINIMAL.replace("[[tenant]]", "[server]\nlisten = \"[::1]:8080\"\n\n[[tenant]]");
    assert!(load(&v6, &env(&[("CONTOSO_SECRET", "x")])).is_ok());
    let e = load_err(MINIMAL, &[("CONTOSO_SECRET", "x"), ("SIGNL4_SENTINEL__SERVER__LISTEN", "10.0.0.5:8080")]);
    assert_eq!(e.key, "server.admin_token");
}

#[test]
fn ops_and_secret_expiry_are_validated_with_the_key_named() {
    let ex = example();
    let ok = load(&format!("{ex}\n[ops]\nteam_secret = \"ops-secret\"\nfailing_after = \"5m\"\n"), &env(&[])).unwrap();
    assert_eq!(ok.ops.failing_after, Duration::from_secs(300));
    assert_eq!(ok.ops.team_secret.as_ref().map(|s| s.expose_secret().to_string()).as_deref(), Some("ops-secret"));
    assert!(!format!("{:?}", ok.ops).contains("ops-secret"));
    assert!(load(ex, &env(&[])).unwrap().ops.team_secret.is_none(), "no [ops]: log and /readyz only");
    let e = load_err(&format!("{ex}\n[ops]\nfailing_after = \"soon\"\n"), &[]);
    assert_eq!(e.key, "ops.failing_after");
    let e = load_err(&format!("{ex}\n[ops]\nteam_secret = \"env:NOPE_OPS\"\n"), &[]);
    assert_eq!(e.key, "ops.team_secret");
    let text = ex.replace("# client_secret_expires = \"2027-06-30\"", "client_secret_expires = \"2027-06-30\"");
    let t = load(&text, &env(&[])).unwrap().tenants.remove(0);
    assert_eq!(t.client_secret_expires.map(|d| d.unix_timestamp()), Some(1_814_313_600));
    let bad = ex.replace("# client_secret_expires = \"2027-06-30\"", "client_secret_expires = \"next june\"");
    let e = load_err(&bad, &[]);
    assert_eq!(e.key, "tenant[0].client_secret_expires");
    assert!(e.to_string().contains("Certificates & secrets"), "{e}");
}

#[test]
fn the_audit_trail_is_off_unless_configured_and_its_keys_are_checked() {
    let e = [("CONTOSO_SECRET", "x")];
    let c = load(MINIMAL, &env(&e)).unwrap();
    assert!(c.tenants[0].audit.is_none());
    let with = |section: &str| format!("{MINIMAL}\n[tenant.audit]\n{section}");
    let c = load(
        &with(
            "endpoint = \"https://dce-1.westeurope-1.ingest.monitor.azure.com/\"\ndcr_immutable_id = \"dcr-0123abcd\"",
        ),
        &env(&e),
    )
    .unwrap();
    let a = c.tenants[0].audit.as_ref().unwrap();
    assert_eq!(a.stream, "Custom-SIGNL4_CL");
    assert_eq!((a.batch, a.interval, a.max_request_bytes), (500, Duration::from_secs(5), 1_000_000));
    assert_eq!(
        a.upload_url(),
        "https://dce-1.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123abcd/streams/Custom-SIGNL4_CL?api-version=2023-01-01"
    );
    // The endpoint can come from [tenant.endpoints] logs_ingestion, but not the cloud's audience.
    let missing = load_err(&with("dcr_immutable_id = \"dcr-1\""), &e);
    assert_eq!(missing.key, "tenant[0].audit.endpoint");
    assert!(missing.fix.contains("logsIngestionEndpoint"), "{missing}");
    let from_endpoints = MINIMAL.replace(
        "client_secret = \"env:CONTOSO_SECRET\"",
        "client_secret = \"env:CONTOSO_SECRET\"\n[tenant.endpoints]\nlogs_ingestion = \"http://127.0.0.1:4010/logsingestion\"",
    );
    let c = load(&format!("{from_endpoints}\n[tenant.audit]\ndcr_immutable_id = \"dcr-1\""), &env(&e)).unwrap();
    assert_eq!(c.tenants[0].audit.as_ref().unwrap().endpoint.as_str(), "http://127.0.0.1:4010/logsingestion");
    for (section, key) in [
        ("endpoint = \"https://x\"", "tenant[0].audit.dcr_immutable_id"),
        ("endpoint = \"https://x\"\ndcr_immutable_id = \"dcr 1\"", "tenant[0].audit.dcr_immutable_id"),
        ("endpoint = \"ftp://x\"\ndcr_immutable_id = \"dcr-1\"", "tenant[0].audit.endpoint"),
        ("endpoint = \"https://x\"\ndcr_immutable_id = \"dcr-1\"\nstream = \"SIGNL4_CL\"", "tenant[0].audit.stream"),
        ("endpoint = \"https://x\"\ndcr_immutable_id = \"dcr-1\"\nbatch = 0", "tenant[0].audit.batch"),
        (
            "endpoint = \"https://x\"\ndcr_immutable_id = \"dcr-1\"\nmax_request_bytes = 2000000",
            "tenant[0].audit.max_request_bytes",
        ),
        ("endpoint = \"https://x\"\ndcr_immutable_id = \"dcr-1\"\ninterval = \"soon\"", "tenant[0].audit.interval"),
    ] {
        assert_eq!(load_err(&with(section), &e).key, key, "{section}");
    }
    let off = load(&with("enabled = false\nendpoint = \"https://x\""), &env(&e)).unwrap();
    assert!(off.tenants[0].audit.is_none());
}

#[test]
fn the_examples_audit_section_is_valid_once_uncommented() {
    let mut on = false;
    let text: String = example()
        .lines()
        .map(|l| {
            on = (on || l == "# [tenant.audit]") && !l.is_empty();
            if on { l.strip_prefix("# ").unwrap_or(l).to_string() } else { l.to_string() }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = load(&text, &env(&[])).unwrap();
    let a = c.tenants[0].audit.as_ref().expect("the audit section");
    assert_eq!(a.stream, "Custom-SIGNL4_CL");
    assert_eq!((a.batch, a.interval), (500, Duration::from_secs(5)));
    assert!(a.dcr_immutable_id.starts_with("dcr-"));
}

//! Defaults, national clouds, environment overrides, errors and secrets in them, sync and
//! Sentinel settings, durations, the shipped example, request budgets.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

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

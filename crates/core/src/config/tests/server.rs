//! The listener's admin token, `[ops]` and secret expiry, the `[tenant.audit]` trail.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

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

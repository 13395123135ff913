//! Unit tests of the status page's handlers' helpers and rendering.

use super::*;
use axum::http::HeaderValue;
use secrecy::ExposeSecret;

use crate::tenant::TenantContext;

fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k.clone(), HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn errors_are_shown_with_their_fix_redacted_and_escaped() {
    let cfg =
        crate::testkit::ConfigBuilder::new("http://127.0.0.1:9", std::path::Path::new("/nonexistent/s4s.db")).build();
    let secret = cfg.tenants[0].signl4.team_secret.expose_secret().to_string();
    crate::redactor::install_redactor(&cfg);
    let tc = std::sync::Arc::new(TenantContext::new(
        cfg.tenants[0].clone(),
        &cfg.delivery,
        "test",
        &crate::clients::scheduler::SharedSchedulers::default(),
    ));
    let h = render::errors(std::slice::from_ref(&tc), &[], None).into_string();
    assert!(h.contains("id=\"no-errors\""), "{h}");
    tc.health.with(|s| {
        s.signl4_rejected = Some(format!("SIGNL4: HTTP 404: no team with secret {secret}"));
        s.consecutive_poll_failures = 3;
        s.last_poll_error = Some("Graph: HTTP 403: <script>x</script> Forbidden".into());
    });
    let expiring = s4s_core::selfmon::Condition {
        key: "expiry:contoso".into(),
        tenant: Some("contoso".into()),
        title: "The client secret of contoso expires in 5 days".into(),
        detail: "client_secret_expires = 2027-06-30".into(),
        fix: "create a new secret".into(),
    };
    let h = render::errors(&[tc], &[expiring], Some("database error: connection refused".into())).into_string();
    assert!(h.contains("The client secret of contoso expires in 5 days: create a new secret"), "{h}");
    assert!(h.contains("SIGNL4 rejected the team secret: check tenant.signl4.team_secret"), "{h}");
    assert!(h.contains("Polling fails (3 in a row): Microsoft Graph refused access: grant the app"), "{h}");
    assert!(h.contains("The database does not answer"), "{h}");
    assert!(!h.contains(&secret), "the team secret is redacted: {h}");
    assert!(h.contains("[redacted]"));
    assert!(h.contains("&lt;script&gt;x&lt;/script&gt;") && !h.contains("<script>"), "{h}");
}

#[test]
fn the_template_escapes_what_it_is_given() {
    let h = render::refused("a \"title\" <b>", "why <script>alert(1)</script> & \"more\"");
    assert!(h.contains("<title>a &quot;title&quot; &lt;b&gt;</title>"), "{h}");
    assert!(h.contains("why &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;"), "{h}");
    assert!(!h.contains("<script>"));
    let form = render::login_form(Some("<img src=x onerror=1>"));
    assert!(form.contains("&lt;img src=x onerror=1&gt;") && form.contains("id=\"token\""), "{form}");
}

#[test]
fn cross_site_requests_are_told_apart() {
    let host = (header::HOST, "127.0.0.1:8080");
    assert!(same_origin(&headers(std::slice::from_ref(&host))), "neither Origin nor Referer: the token decides");
    assert!(same_origin(&headers(&[host.clone(), (header::ORIGIN, "http://127.0.0.1:8080")])));
    assert!(same_origin(&headers(&[host.clone(), (header::REFERER, "http://127.0.0.1:8080/?x=1")])));
    assert!(!same_origin(&headers(&[host.clone(), (header::ORIGIN, "https://evil.example")])));
    assert!(!same_origin(&headers(&[host.clone(), (header::ORIGIN, "null")])));
    assert!(!same_origin(&headers(&[(header::ORIGIN, "http://127.0.0.1:8080")])), "no Host to compare");
}

#[test]
fn retry_after_is_whole_seconds_and_at_least_one() {
    let r = throttled(std::time::Duration::from_millis(1500));
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    assert_eq!(throttled(std::time::Duration::ZERO).headers()[header::RETRY_AFTER], "1");
}
